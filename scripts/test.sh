#!/usr/bin/env bash
# Run the test suite after set-up. Exit code 5 (no tests collected) is reported, not hidden.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "sohoa: pytest collected no tests" >&2
  exit 0
fi
exit "$rc"
