#!/usr/bin/env bash
# Set up and run the whole test suite (lint included), then the eval quality gate.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
# The browser tests drive Debian's chromium (Playwright's own browser download does not
# work on these machines).
if [ ! -x /usr/bin/chromium ]; then
    echo "test: installing chromium (apt-get)" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check app tests bench scripts ingest.py
.venv/bin/ruff format --check app tests bench scripts ingest.py
.venv/bin/python -m pytest "$@"

# Quality gate: answer evals/questions.jsonl from a fresh index of corpus/ (in a temp dir,
# so a developer's .data is neither used nor touched) and fail when a metric is below
# evals/thresholds.toml. The report lands in test-artifacts/eval-report/.
eval_data=$(mktemp -d)
trap 'rm -rf "$eval_data"' EXIT
PRIVACY_QA_DATA_DIR="$eval_data" .venv/bin/privacy-qa ingest
PRIVACY_QA_DATA_DIR="$eval_data" .venv/bin/privacy-qa eval --check --out test-artifacts/eval-report
