#!/usr/bin/env bash
# Set up and run the whole test suite (lint included). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The browser tests drive Debian's chromium (Playwright's own browser download does not
# work on these machines).
if [ ! -x /usr/bin/chromium ]; then
    echo "test: installing chromium (apt-get)" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check app tests bench ingest.py
.venv/bin/ruff format --check app tests bench ingest.py
exec .venv/bin/python -m pytest "$@"
