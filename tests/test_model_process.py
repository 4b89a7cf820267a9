"""The embedding model in a child process (app/model_process.py), with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.embeddings import LocalMiniLM
from app.model_process import ModelProcessError

from .conftest import ROOT

pytestmark = pytest.mark.slow

TEXTS = ["How long does OpenAI retain API data?", "Zero data retention endpoints", "x" * 50]


def _gone(pid: int, timeout: float = 30.0) -> bool:
    """Whether the process exits (or is a zombie waiting to be reaped) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def child_backend():
    backend = LocalMiniLM(separate_process=True)
    backend.start_loading()
    yield backend
    backend.process.close()


def test_vectors_from_the_child_equal_the_in_process_ones(child_backend, embeddings):
    assert child_backend.embed_documents(TEXTS) == embeddings.embed_documents(TEXTS)
    assert child_backend.embed_query(TEXTS[0]) == embeddings.embed_query(TEXTS[0])
    # Counting tokens needs only the tokenizer, which stays in this process.
    assert child_backend.count_tokens(TEXTS[0]) == embeddings.count_tokens(TEXTS[0])


def test_a_killed_child_gives_a_clear_error_then_a_new_child(child_backend):
    child_backend.embed_query("warm up")
    pid = child_backend.process.pid
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ModelProcessError, match="stopped .*started again"):
        child_backend.embed_query("after the kill")
    assert len(child_backend.embed_query("and again")) == 384
    assert child_backend.process.pid not in (None, pid)


def test_the_child_exits_when_its_parent_dies(tmp_path):
    script = (
        "from app.embeddings import LocalMiniLM\n"
        "import sys, time\n"
        "b = LocalMiniLM(separate_process=True)\n"
        "b.embed_query('ready')\n"
        "print(b.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        child_pid = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        assert _gone(child_pid), "the model process outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_a_child_whose_parent_left_during_the_load_exits_quietly():
    """Ctrl-C right after `privacy-qa ui` starts: the page stops while the model loads. The
    child finds nobody to tell it is ready, and exits without a traceback."""
    import socket

    parent_end, child_end = socket.socketpair()
    child = subprocess.Popen(
        [sys.executable, "-m", "app.model_process", str(child_end.fileno())],
        pass_fds=(child_end.fileno(),),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    child_end.close()
    parent_end.close()  # gone before the model is loaded
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr
    assert "Traceback" not in stderr
