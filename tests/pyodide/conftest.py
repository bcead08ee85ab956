"""Running limbodb inside Pyodide under Node from pytest.

``run_in_pyodide(code, host=...)`` boots Pyodide (the npm ``pyodide`` package
in npm/node_modules), unpacks the wheel npm/build.mjs put in npm/dist, exposes
Node's ``fs`` and ``process`` and the ``host`` dict to Python as the JS module
``host``, runs ``code`` and returns what it printed last, parsed as JSON.
Tests are skipped only when node is absent; a missing npm install fails.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NPM = REPO / "npm"
DIST = NPM / "dist"
PYODIDE_MJS = NPM / "node_modules" / "pyodide" / "pyodide.mjs"

_RUNNER = """
import fs from "node:fs";
import process from "node:process";
const [pyodideUrl, wheelPath, codePath, hostJson] = process.argv.slice(2);
const { loadPyodide } = await import(pyodideUrl);
const t0 = performance.now();
const pyodide = await loadPyodide();
const wheel = fs.readFileSync(wheelPath);
pyodide.unpackArchive(new Uint8Array(wheel.buffer, wheel.byteOffset, wheel.byteLength), "wheel");
pyodide.registerJsModule("host", { fs, process, startupMs: performance.now() - t0, ...JSON.parse(hostJson) });
pyodide.runPython(fs.readFileSync(codePath, "utf8"));
"""

NODE = shutil.which("node")


@pytest.fixture(scope="session")
def node():
    if NODE is None:
        pytest.skip("node is not installed")
    assert PYODIDE_MJS.exists(), "npm/node_modules is missing: run scripts/setup.sh"
    return NODE


@pytest.fixture(scope="session")
def dist(node):
    """npm/dist, built now if scripts/test.sh has not built it."""
    if not (DIST / "limbodb.whl").exists():
        subprocess.run([node, str(NPM / "build.mjs")], check=True, capture_output=True)
    return DIST


@pytest.fixture(scope="module")
def run_in_pyodide(node, dist, tmp_path_factory):
    def run(code, host=None, timeout=120):
        work = tmp_path_factory.mktemp("pyodide")
        code_path = work / "main.py"
        code_path.write_text(code)
        runner = work / "runner.mjs"
        runner.write_text(_RUNNER)
        proc = subprocess.run(
            [node, str(runner), PYODIDE_MJS.as_uri(), str(dist / "limbodb.whl"), str(code_path),
             json.dumps(host or {})],
            capture_output=True, text=True, timeout=timeout,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])
    return run
