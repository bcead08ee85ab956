"""The engine's own pytest suite, run inside Pyodide (CPython for WebAssembly) under Node.

One Pyodide run executes every module of engine_suite.SUITE (two to three
minutes); then each module is one test here, passing when all its tests that
ran in Pyodide passed and at least one did. The tests that cannot run there
are listed with their reasons in engine_suite.EXCLUDED, and a test checks that
each entry still names something. The oracle inside Pyodide is Pyodide's own
sqlite3 module.
"""

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PYODIDE_MJS = REPO / "npm" / "node_modules" / "pyodide" / "pyodide.mjs"
WHEELS = REPO / "build" / "pyodide-wheels"


def _load_plan():
    # --import-mode=importlib puts no test folder on sys.path, so the sibling is loaded by path.
    spec = importlib.util.spec_from_file_location("engine_suite", HERE / "engine_suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plan = _load_plan()
MODULES = sorted(
    str(p.relative_to(REPO)) for d in plan.SUITE for p in (REPO / d).rglob("test_*.py")
    if str(p.relative_to(REPO)) not in plan.EXCLUDED
)


@pytest.fixture(scope="module")
def inner(node, tmp_path_factory):
    assert list(WHEELS.glob("pytest-*.whl")), f"{WHEELS} has no pytest wheel: run scripts/setup.sh"
    proc = subprocess.run(
        [node, str(HERE / "engine_suite.mjs"), PYODIDE_MJS.as_uri(), str(REPO), str(WHEELS)],
        capture_output=True, text=True, timeout=900,
    )
    lines = [l for l in proc.stdout.splitlines() if l.startswith(plan.REPORT_PREFIX)]
    assert proc.returncode == 0 and lines, (proc.stdout[-5000:], proc.stderr[-3000:])
    report = json.loads(lines[-1][len(plan.REPORT_PREFIX):])
    # pytest's own output in Pyodide, with each failure's traceback, for the assertion messages below.
    report["log"] = tmp_path_factory.mktemp("engine_suite") / "pytest-in-pyodide.log"
    report["log"].write_text(proc.stdout.replace(lines[-1], ""))
    return report


def test_the_suite_runs_on_pyodides_python_and_sqlite(inner):
    assert inner["platform"] == "emscripten"
    assert tuple(map(int, inner["python"].split(".")[:2])) >= (3, 13)
    assert inner["sqlite_version"].startswith("3.")
    assert inner["collect_errors"] == [], f"see {inner['log']}"
    assert inner["exit_code"] == 0, f"see {inner['log']}"


def test_every_exclusion_still_names_a_test(inner):
    stale = sorted(set(plan.EXCLUDED) - set(inner["matched_exclusions"]))
    assert stale == []


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_in_pyodide(inner, module):
    mine = {k: v for k, v in inner["outcomes"].items() if k.split("::")[0] == module}
    bad = sorted(k for k, v in mine.items() if v in ("failed", "error"))
    assert bad == [], "\n\n".join(f"{k}:\n{inner['failures'].get(k, '')}" for k in bad[:3])
    assert "passed" in mine.values(), f"no test of {module} ran in Pyodide: {mine}"
