#!/usr/bin/env bash
# Set up a virtual environment with every extra and run the whole test suite.
# Usage: bash scripts/test.sh [pytest args]     (--setup-only: install, do not run)
# On Debian as root it installs Chromium for the browser tests if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${PSTT_VENV:-.venv}"
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if [ -e "$VENV" ] && [ ! -d "$VENV" ]; then
  echo "$VENV is a file, not a virtual environment (a PEP 832 redirect left by another tool?);" \
       "remove it or choose another directory with PSTT_VENV=..." >&2
  exit 2
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[dev]"
[ "${1:-}" = "--setup-only" ] && exit 0
"$VENV/bin/python" -m pytest "$@"
