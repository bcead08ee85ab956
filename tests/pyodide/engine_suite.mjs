// Runs the engine's own pytest suite inside Pyodide under Node (see engine_suite.py).
//
// usage: node engine_suite.mjs PYODIDE_MJS_URL REPO WHEELS_DIR [pytest args...]
// The npm `pyodide` package ships no wheels, so pytest, hypothesis and their
// dependencies come from WHEELS_DIR (scripts/setup.sh downloads them from PyPI
// at the versions pyodide-lock.json names). The repository is mounted with
// NODEFS at /repo and limbodb's sources are copied from it into site-packages
// as pyproject.toml maps them, so the run always tests the working tree.

import fs from "node:fs";
import path from "node:path";

const [pyodideUrl, repo, wheels, ...pytestArgs] = process.argv.slice(2);
const { loadPyodide } = await import(pyodideUrl);
const pyodide = await loadPyodide();

// Without extractDir, unpackArchive extracts into the current directory, not site-packages.
const site = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const name of fs.readdirSync(wheels).filter((f) => f.endsWith(".whl"))) {
  const bytes = fs.readFileSync(path.join(wheels, name));
  pyodide.unpackArchive(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), "wheel", { extractDir: site });
}
pyodide.FS.mkdirTree("/repo");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.resolve(repo) }, "/repo");

pyodide.globals.set("pytest_args", pyodide.toPy(pytestArgs));
pyodide.runPython(`
import importlib, os, shutil, site, sys

site_packages = site.getsitepackages()[0]
skip = shutil.ignore_patterns("__pycache__")
shutil.copytree("/repo/engine", site_packages + "/limbodb", ignore=skip)
shutil.copytree("/repo/io", site_packages + "/limbodb/io", ignore=skip)
# The wheels were unpacked after the interpreter started: forget its cached directory listings.
importlib.invalidate_caches()
# Relative paths (hypothesis' example database) land in memory, not in the host's repository.
os.chdir("/tmp")
sys.path.insert(0, "/repo/tests/pyodide")
import engine_suite
engine_suite.main("/repo", list(pytest_args))
`);
