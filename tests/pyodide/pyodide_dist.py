"""The Pyodide dist folder that pytest-pyodide boots (its ``--dist-dir``, build/pyodide-dist here).

The npm ``pyodide`` package ships the runtime (pyodide.js, pyodide.asm.wasm,
python_stdlib.zip, ...) and a pyodide-lock.json naming some 350 packages, but
none of their wheels. ``assemble`` copies the runtime into a fresh folder,
adds the given pure-Python wheels (scripts/setup.sh downloads them from PyPI
at the versions that lock names) and writes a pyodide-lock.json listing
exactly those wheels, so ``pyodide.loadPackage`` -- what pytest-pyodide's
``run_in_pyodide(packages=[...])`` calls -- installs them offline from the
folder. ``add_wheel`` puts one more wheel in: tests/pyodide/conftest.py adds
limbodb's at the start of a test session (npm/dist's, or one
``build_limbodb_wheel`` makes when the sources are newer than that).

A lock entry's dependencies come from the wheel's own metadata, evaluated for
Pyodide's Python on Emscripten, not from the npm lock: that one describes
Pyodide's own builds (its pytest entry names py and atomicwrites, not
packaging). A dependency the metadata requires but no shipped wheel provides
fails the assembly, so a missing wheel shows here and not as an
ImportError inside Pyodide.

Run by scripts/setup.sh as ``python pyodide_dist.py DIST PYODIDE_PACKAGE WHEEL...``.
It uses ``packaging``, which pytest depends on.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = "pyodide-lock.json"


def _metadata(wheel):
    """The wheel's METADATA headers, its top-level import names and its tags."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")
                    and n.endswith("/METADATA"))
        meta = Parser().parsestr(z.read(f"{info}/METADATA").decode())
        tags = Parser().parsestr(z.read(f"{info}/WHEEL").decode()).get_all("Tag")
        if f"{info}/top_level.txt" in names:
            imports = z.read(f"{info}/top_level.txt").decode().split()
        else:
            tops = {n.split("/")[0] for n in names if "/" in n} | {n for n in names if "/" not in n}
            imports = sorted(t.removesuffix(".py") for t in tops
                             if not t.endswith((".dist-info", ".data")) and (t.endswith(".py") or "." not in t))
    return meta, imports, tags


def _environment(python):
    """Marker values for Pyodide: its Python version on Emscripten (wasm32)."""
    env = default_environment()
    env.update(python_version=".".join(python.split(".")[:2]), python_full_version=python,
               implementation_version=python, sys_platform="emscripten", platform_system="Emscripten",
               platform_machine="wasm32", os_name="posix", implementation_name="cpython",
               platform_python_implementation="CPython")
    return env


def _entry(wheel, python):
    meta, imports, tags = _metadata(wheel)
    if any(not t.endswith("-none-any") for t in tags):
        raise SystemExit(f"{wheel.name}: not a pure-Python wheel ({', '.join(tags)})")
    env = _environment(python)
    depends = []
    for spec in meta.get_all("Requires-Dist") or []:
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate({**env, "extra": ""}):
            depends.append(canonicalize_name(req.name))
    return {
        "name": meta["Name"], "version": meta["Version"], "file_name": wheel.name,
        "install_dir": "site", "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "package_type": "package", "imports": imports, "depends": sorted(depends), "unvendored_tests": False,
    }


def _check(lock):
    """Every dependency of every entry is itself an entry."""
    missing = sorted({f"{key} needs {dep}" for key, e in lock["packages"].items()
                      for dep in e["depends"] if dep not in lock["packages"]})
    if missing:
        raise SystemExit("pyodide dist: no wheel for: " + "; ".join(missing))


def _write_atomically(path, data):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def assemble(dist, pyodide_package, wheels):
    """Makes ``dist`` anew: the npm package's runtime files, ``wheels`` and a lock listing them."""
    dist, pyodide_package = Path(dist), Path(pyodide_package)
    npm_lock = json.loads((pyodide_package / LOCK).read_text())
    python = npm_lock["info"]["python"]
    dist.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dist.name}.", dir=dist.parent))
    try:
        for f in pyodide_package.iterdir():
            if f.is_file() and f.name != LOCK:
                shutil.copy2(f, staging / f.name)
        packages = {}
        for wheel in map(Path, wheels):
            shutil.copy2(wheel, staging / wheel.name)
            entry = _entry(staging / wheel.name, python)
            packages[canonicalize_name(entry["name"])] = entry
        lock = {"info": npm_lock["info"], "packages": dict(sorted(packages.items()))}
        _check(lock)
        (staging / LOCK).write_text(json.dumps(lock, indent=1))
    except BaseException:
        shutil.rmtree(staging)
        raise
    # Swapped in whole, so a half-assembled folder is never what a test session finds.
    if dist.exists():
        shutil.rmtree(dist)
    staging.rename(dist)


def add_wheel(dist, wheel):
    """Puts ``wheel`` into the assembled ``dist`` under its proper file name and lists it in the lock.

    Returns the lock entry. A wheel already there with the same bytes is left alone, so
    concurrent test sessions on one tree do not rewrite the folder under each other.
    """
    dist, wheel = Path(dist), Path(wheel)
    lock = json.loads((dist / LOCK).read_text())
    meta, _, tags = _metadata(wheel)
    target = dist / f"{meta['Name'].replace('-', '_')}-{meta['Version']}-{tags[0]}.whl"
    data = wheel.read_bytes()
    if not target.exists() or target.read_bytes() != data:
        _write_atomically(target, data)
    entry = _entry(target, lock["info"]["python"])
    key = canonicalize_name(entry["name"])
    if lock["packages"].get(key) != entry:
        lock["packages"][key] = entry
        _check(lock)
        _write_atomically(dist / LOCK, json.dumps(lock, indent=1).encode())
    return entry


def build_limbodb_wheel(repo, out):
    """Builds limbodb's wheel from the working tree at ``repo`` into the folder ``out``; returns its path.

    The same build as npm/build.mjs's (a copy of what the wheel packages, pip without build
    isolation, fixed zip timestamps), but into a private folder: npm/dist is rebuilt whole by
    build.mjs, so rebuilding it under concurrent test sessions would pull it from under them.
    """
    repo, out = Path(repo), Path(out)
    tree = out / "src"
    for entry in ("pyproject.toml", "README.md", "engine", "io"):
        if (repo / entry).is_dir():
            shutil.copytree(repo / entry, tree / entry, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            tree.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / entry, tree / entry)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(out), str(tree)],
                   check=True, capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"})
    (wheel,) = out.glob("limbodb-*.whl")
    return wheel


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit("usage: python pyodide_dist.py DIST PYODIDE_PACKAGE WHEEL...")
    assemble(sys.argv[1], sys.argv[2], sys.argv[3:])
