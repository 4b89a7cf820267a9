#!/usr/bin/env bash
# The main job: set up, bring the index up to date with corpus/, then start the chat page
# on http://127.0.0.1:8501 (Ctrl-C stops it; `privacy-qa ui --port N` for another port).
# With arguments it answers on the command line instead: scripts/run.sh "QUESTION".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/privacy-qa ingest
if [ "$#" -gt 0 ]; then
    exec .venv/bin/privacy-qa ask "$@"
fi
echo "privacy-qa: open http://127.0.0.1:8501 in a browser (Ctrl-C stops the page)" >&2
exec .venv/bin/privacy-qa ui --port 8501
