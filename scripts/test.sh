#!/usr/bin/env bash
# Run the test suite after set-up, on both cores (pytest-xdist) and in random order
# (pytest-randomly: the seed is printed; `--randomly-seed=N` or `--randomly-seed=last` repeats an order).
# pytest's exit code is passed on unchanged: 5 (no tests collected) is a failure too.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
exec .venv/bin/python -m pytest -n "${SOHOA_TEST_WORKERS:-2}" "$@"
