#!/usr/bin/env bash
# Set up and run the whole test suite (lint included), then the eval quality gate.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check app tests bench ingest.py
.venv/bin/ruff format --check app tests bench ingest.py
.venv/bin/python -m pytest "$@"

# Quality gate: answer evals/questions.jsonl from a fresh index of corpus/ (in a temp dir,
# so a developer's .data is neither used nor touched) and fail when a metric is below
# evals/thresholds.toml. The report lands in test-artifacts/eval-report/.
eval_data=$(mktemp -d)
trap 'rm -rf "$eval_data"' EXIT
PRIVACY_QA_DATA_DIR="$eval_data" .venv/bin/privacy-qa ingest
PRIVACY_QA_DATA_DIR="$eval_data" .venv/bin/privacy-qa eval --check --out test-artifacts/eval-report
