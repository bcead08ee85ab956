#!/usr/bin/env bash
# Sets everything up and starts the limbodb shell (an in-memory database unless a file is named).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --python
exec .venv/bin/limbodb "$@"
