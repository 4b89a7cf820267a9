#!/usr/bin/env bash
# Create .venv at the repo root and install privacy-qa into it. Idempotent and quick when
# nothing changed (a stamp records the hash of pyproject.toml and the mode).
#
#   scripts/setup.sh         the app alone (what scripts/run.sh needs): no torch; OpenVINO
#                            only on a CPU with Intel AMX (the default runtime there)
#   scripts/setup.sh --dev   plus the dev extra (tests, linters, browser driver, and torch
#                            for the reference vectors of the parity test and the benches)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=app
if [ "${1:-}" = "--dev" ]; then
    mode=dev
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    "$PYTHON" -m venv .venv
fi

stamp=.venv/.privacy-qa-installed
hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
read -r have_hash have_mode 2>/dev/null < "$stamp" || true
# A dev install serves the app too; an app install needs the dev extra added for --dev.
if [ "${have_hash:-}" != "$hash" ] || { [ "$mode" = dev ] && [ "${have_mode:-}" != dev ]; }; then
    echo "setup: installing packages into .venv ($mode; the first run takes a while)" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    if [ "$mode" = dev ]; then
        # The CPU build of torch that lies on these machines; an unpinned torch would pull
        # several GB of CUDA packages. Installed first so nothing else picks another build.
        .venv/bin/python -m pip install --quiet torch==2.13.0
        .venv/bin/python -m pip install --quiet -e '.[dev]'
    elif grep -qwE 'amx_bf16|avx512_bf16' /proc/cpuinfo 2>/dev/null; then
        # OpenVINO runs the model in bfloat16 on AMX or AVX-512 BF16: the default runtime
        # there (app/config/local.py, BFLOAT16_FLAGS).
        .venv/bin/python -m pip install --quiet -e '.[openvino]'
    else
        .venv/bin/python -m pip install --quiet -e .
    fi
    echo "$hash $mode" > "$stamp"
fi
