#!/usr/bin/env bash
# Sets everything up and runs the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# npm/dist (the wheel and the JS) is rebuilt so the Pyodide and JS tests see this tree.
if command -v node >/dev/null; then
  node npm/build.mjs
fi
status=0
.venv/bin/python -m pytest -q "$@" || status=$?
# The JavaScript API's tests (node:test), on a full run.
if [ $# -eq 0 ] && command -v node >/dev/null; then
  node --test bindings/js/test/*.test.js || status=$?
fi
exit $status
