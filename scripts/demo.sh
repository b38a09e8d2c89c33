#!/usr/bin/env bash
# Set up PSTT and run the main job on the embedded default: SQLite demo data → CSV file.
# Usage: bash scripts/demo.sh [home directory, default ./demo-home]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${PSTT_VENV:-.venv}"
HOME_DIR="${1:-demo-home}"
if [ -e "$VENV" ] && [ ! -d "$VENV" ]; then
  echo "$VENV is a file, not a virtual environment (a PEP 832 redirect left by another tool?);" \
       "remove it or choose another directory with PSTT_VENV=..." >&2
  exit 2
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e .
"$VENV/bin/pstt" --home "$HOME_DIR" init --demo
"$VENV/bin/pstt" --home "$HOME_DIR" run demo-orders-csv
ls -l "$HOME_DIR"/exports/demo/
