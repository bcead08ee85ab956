"""Fixtures for the tests that run limbodb inside Pyodide: pytest-pyodide on its Node runtime.

pytest-pyodide (a pytest plugin from the test extra) provides ``run_in_pyodide``
and the ``selenium`` fixtures. On its ``node`` runtime, the default and the one
used here, ``selenium`` drives a Node process running the plugin's
node_test_driver.js, which ``require``s pyodide.js from the ``--dist-dir``
folder and installs packages from the pyodide-lock.json there. That works as
it is with Node 20 and the npm pyodide package (314.0.7, Python 3.14): the
driver needs only ``require``, ``fetch`` and ``vm``. This conftest:

- points ``--dist-dir`` at build/pyodide-dist (scripts/setup.sh assembles it with
  tests/pyodide/pyodide_dist.py) unless the command line names another. It is
  set here, not in pyproject.toml's addopts, because the engine suite's pytest
  inside Pyodide reads that same pyproject.toml and has no pytest-pyodide to
  understand the option;
- adds limbodb's wheel to that folder, so ``packages=["limbodb"]`` installs the
  working tree: npm/dist/limbodb.whl (scripts/test.sh builds it just before),
  or, when engine/, io/ or pyproject.toml changed since, one built afresh;
- overrides ``selenium_module_scope`` (one Node process and Pyodide per test
  module) to skip when node is absent and to lift one limit of the plugin's
  NodeRunner: it waits for each script's result with pexpect's default timeout
  of 60 seconds (its ``script_timeout`` and the ``driver_timeout`` mark bound
  only the wait for the script's start marker), and the engine suite's run in
  Pyodide takes minutes.

``node`` and ``dist`` also serve test_browser.py and test_npm_package.py.
"""

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NPM = REPO / "npm"
DIST = NPM / "dist"
PYODIDE_DIST = REPO / "build" / "pyodide-dist"
NODE = shutil.which("node")
# What the wheel packages, but README.md (its long description only): a wheel older than any of
# these is stale.
_WHEEL_SOURCES = ("engine", "io", "pyproject.toml")
# Seconds one script may run in the Node runtime (the engine suite takes about two minutes).
SCRIPT_TIMEOUT = 900


def _load(name):
    # --import-mode=importlib puts no test folder on sys.path, so siblings are loaded by path.
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    # This conftest is also loaded by the engine suite's pytest inside Pyodide, without the plugin.
    if not config.pluginmanager.hasplugin("pytest_pyodide"):
        return
    from pytest_pyodide.hook import pytest_wrapper

    # The plugin resolves its default, "pyodide", against the working directory.
    if Path(config.option.dist_dir).resolve() == Path("pyodide").resolve():
        config.option.dist_dir = PYODIDE_DIST
        # The plugin copies the option in its own pytest_configure, which may already have run.
        pytest_wrapper.pyodide_dist_dir = PYODIDE_DIST


@pytest.fixture(scope="session")
def node():
    if NODE is None:
        pytest.skip("node is not installed")
    assert (NPM / "node_modules" / "pyodide" / "pyodide.mjs").exists(), \
        "npm/node_modules is missing: run scripts/setup.sh"
    return NODE


def _newest_source_mtime():
    paths = (REPO / p for p in _WHEEL_SOURCES)
    return max(f.stat().st_mtime for p in paths for f in ([p] if p.is_file() else p.rglob("*.py")))


@pytest.fixture(scope="session")
def dist(node):
    """npm/dist, built now if scripts/test.sh has not built it."""
    if not (DIST / "limbodb.whl").exists():
        subprocess.run([node, str(NPM / "build.mjs")], check=True, capture_output=True)
    return DIST


@pytest.fixture(scope="session")
def pyodide_dist(request, dist, tmp_path_factory):
    """The --dist-dir folder, with the working tree's limbodb wheel in it."""
    folder = Path(request.config.option.dist_dir)
    assert (folder / "pyodide-lock.json").exists(), f"{folder} is not assembled: run scripts/setup.sh"
    tool = _load("pyodide_dist")
    wheel = dist / "limbodb.whl"
    if wheel.stat().st_mtime < _newest_source_mtime():
        wheel = tool.build_limbodb_wheel(REPO, tmp_path_factory.mktemp("limbodb-wheel"))
    tool.add_wheel(folder, wheel)
    return folder


@pytest.fixture(scope="module")
def selenium_module_scope(node, pyodide_dist, runtime, selenium_module_scope):
    """pytest-pyodide's fixture of the same name, on Node, allowed SCRIPT_TIMEOUT per script."""
    if runtime != "node":
        pytest.skip("these tests use Node's file system from Pyodide: --runtime node only")
    selenium_module_scope.set_script_timeout(SCRIPT_TIMEOUT)
    selenium_module_scope.p.timeout = SCRIPT_TIMEOUT
    return selenium_module_scope
