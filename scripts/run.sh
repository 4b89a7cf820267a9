#!/usr/bin/env bash
# The main job: set up, bring the index up to date with corpus/, then ask questions.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/privacy-qa ingest
exec .venv/bin/privacy-qa ask "$@"
