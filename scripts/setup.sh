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
# The JavaScript package (Pyodide from the npm registry), where node is installed.
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ ! -d npm/node_modules/pyodide ] || [ npm/package-lock.json -nt npm/node_modules/.package-lock.json ]; then
    (cd npm && npm ci --no-audit --no-fund --silent)
  fi
fi
# Headless Chromium for tests/pyodide/test_browser.py: Debian's package, installed only as root;
# without it that test is skipped.
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >/dev/null \
    || echo "setup: could not install chromium; the browser test will be skipped" >&2
fi
