"""The engine's own pytest suite, run inside Pyodide (CPython for WebAssembly) under Node by pytest-pyodide.

``_run_suite`` is a ``run_in_pyodide`` function: pytest-pyodide installs
limbodb (the working tree's wheel, see conftest.py), pytest and hypothesis
from build/pyodide-dist into the Pyodide of the module's Node process, and the
function mounts the repository there with NODEFS and runs one pytest session
over every module of engine_suite.SUITE (about two minutes), returning the
report. Then each module is one test here, passing when all its tests that
ran in Pyodide passed and at least one did. The tests that cannot run there
are listed with their reasons in engine_suite.EXCLUDED, and a test checks that
each entry still names something. The oracle inside Pyodide is Pyodide's own
sqlite3 module.

Why one session and not pytest-pyodide's ``--run-in-pyodide``: that flag
applies to the whole host session and runs a separate ``pytest.main`` in
Pyodide for each test item, thousands of them here, each paying pytest's
start-up in WebAssembly; one session keeps the Pyodide part to minutes.
"""

import importlib.util
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _load_plan():
    # --import-mode=importlib puts no test folder on sys.path, so the sibling is loaded by path.
    spec = importlib.util.spec_from_file_location("engine_suite", HERE / "engine_suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plan = _load_plan()
MODULES = [m for m in (str(p.relative_to(REPO)) for p in plan.modules(REPO)) if m not in plan.EXCLUDED]


@run_in_pyodide(packages=["limbodb", "pytest", "hypothesis"])
def _run_suite(selenium, repo):
    import sys

    import pyodide_js

    pyodide_js.FS.mkdirTree("/repo")
    pyodide_js.mountNodeFS("/repo", repo)
    sys.path.insert(0, "/repo/tests/pyodide")
    import engine_suite

    return engine_suite.main("/repo")


@pytest.fixture(scope="module")
def inner(selenium_module_scope, tmp_path_factory):
    report = _run_suite(selenium_module_scope, str(REPO))
    # pytest's own output in Pyodide, with each failure's traceback, for the assertion messages below.
    log = tmp_path_factory.mktemp("engine_suite") / "pytest-in-pyodide.log"
    log.write_text(report.pop("log"))
    return {**report, "log": log}


def test_the_suite_runs_on_pyodides_python_and_sqlite(inner):
    assert inner["platform"] == "emscripten"
    assert tuple(map(int, inner["python"].split(".")[:2])) >= (3, 13)
    assert inner["sqlite_version"].startswith("3.")
    assert inner["limbodb_file"].startswith(inner["site_packages"]), "limbodb is not the installed wheel"
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
