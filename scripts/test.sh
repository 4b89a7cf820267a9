#!/usr/bin/env bash
# Set up and run the whole test suite (lint included). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check app tests bench ingest.py
.venv/bin/ruff format --check app tests bench ingest.py
exec .venv/bin/python -m pytest "$@"
