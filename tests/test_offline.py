"""The default mode makes no network connection: ingest and ask run with sockets refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import copy_corpus

pytestmark = pytest.mark.slow

# Loaded by Python at start-up (sitecustomize): any outgoing connection fails loudly and
# leaves a mark on stderr, whether or not the caller swallows the error.
GUARD = """
import socket, sys

def _refuse(*args, **kwargs):
    sys.stderr.write("NETWORK-ATTEMPT %r\\n" % (args[1:] or args,))
    raise OSError("network disabled by test")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
"""


def test_ingest_and_ask_make_no_network_connection(tmp_path):
    guard_dir = tmp_path / "guard"
    guard_dir.mkdir()
    (guard_dir / "sitecustomize.py").write_text(GUARD)
    copy_corpus(tmp_path / "corpus")
    env = {
        **os.environ,
        "PYTHONPATH": str(guard_dir),
        "PRIVACY_QA_DATA_DIR": str(tmp_path / "data"),
        "PRIVACY_QA_CORPUS_DIR": str(tmp_path / "corpus"),
    }
    for args in (["ingest"], ["ask", "--json", "Is data encrypted at rest?"]):
        result = subprocess.run(
            [sys.executable, "-m", "app", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert "NETWORK-ATTEMPT" not in result.stderr
    assert "AES-256" in json.loads(result.stdout)["answer"]

    # The guard really is active in those processes.
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 9))"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "NETWORK-ATTEMPT" in probe.stderr
