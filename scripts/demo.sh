#!/usr/bin/env bash
# Set up, then digitise a few generated sample scans on embedded defaults:
# in-process Prefect, local object store, SQLite catalog, demo signing certificate.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/sohoa demo "$@"
