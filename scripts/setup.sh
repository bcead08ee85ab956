#!/usr/bin/env bash
# Creates .venv (if missing) and installs limbodb editable with its test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  touch .venv/.installed
fi
# The npm package's build makes the wheel offline (no build isolation), which needs setuptools>=77.
if ! .venv/bin/python -c 'import setuptools, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 77)' 2>/dev/null; then
  .venv/bin/python -m pip install -q 'setuptools>=77'
fi
# The shell needs only the Python side (scripts/run.sh passes --python).
if [ "${1:-}" = "--python" ]; then
  exit 0
fi
# The JavaScript package (Pyodide from the npm registry), where node is installed.
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ ! -d npm/node_modules/pyodide ] || [ npm/package-lock.json -nt npm/node_modules/.package-lock.json ]; then
    (cd npm && npm ci --no-audit --no-fund --silent)
  fi
  # The Pyodide dist folder pytest-pyodide boots (tests/pyodide: --dist-dir build/pyodide-dist).
  # The npm pyodide package ships no wheels, so pip fetches the pure-Python ones pytest and the
  # engine's suite need from PyPI, at the versions pyodide-lock.json names (hypothesis is not in
  # it: pinned here; tblib carries tracebacks out of run_in_pyodide), and
  # tests/pyodide/pyodide_dist.py copies them with the runtime into the gitignored build/ under
  # a lock that lists them; limbodb's own wheel is added by the tests (tests/pyodide/conftest.py).
  wheels=build/pyodide-wheels
  pyodide=npm/node_modules/pyodide
  lock=$pyodide/pyodide-lock.json
  reqs=$(.venv/bin/python - "$lock" <<'EOF'
import json, sys
packages = json.load(open(sys.argv[1]))["packages"]
names = ["pytest", "pluggy", "iniconfig", "packaging", "pygments", "sortedcontainers", "tblib"]
print(" ".join(f"{n}=={packages[n]['version']}" for n in names), "hypothesis==6.155.7")
EOF
)
  # .complete holds the requirements fetched, so a changed list or version fetches anew.
  if [ "$(cat "$wheels/.complete" 2>/dev/null)" != "$reqs" ]; then
    rm -rf "$wheels"
    pyver=$(.venv/bin/python -c 'import json, sys; print(json.load(open(sys.argv[1]))["info"]["python"])' "$lock")
    # shellcheck disable=SC2086  # $reqs is a list of requirements
    .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --implementation py --platform any \
      --python-version "$pyver" -d "$wheels" $reqs
    echo "$reqs" >"$wheels/.complete"
  fi
  dist=build/pyodide-dist
  if [ ! -f "$dist/.complete" ] || [ "$wheels/.complete" -nt "$dist/.complete" ] \
    || [ "$lock" -nt "$dist/.complete" ] || [ tests/pyodide/pyodide_dist.py -nt "$dist/.complete" ]; then
    .venv/bin/python tests/pyodide/pyodide_dist.py "$dist" "$pyodide" "$wheels"/*.whl
    touch "$dist/.complete"
  fi
fi
# Headless Chromium for tests/pyodide/test_browser.py: Debian's package, installed only as root;
# without it that test is skipped.
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >/dev/null \
    || echo "setup: could not install chromium; the browser test will be skipped" >&2
fi
