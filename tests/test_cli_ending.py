"""Ending a command's process at once (app/cli/ending.py): nothing that a normal exit
would have written is lost, and the exit status is the command's. Real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ROOT

ENDING = """
import atexit, logging, logging.handlers, sys, threading, time
from app.cli.ending import end_at_once

log_file = sys.argv[1]
target = logging.FileHandler(log_file)
# Holds its records until it is closed: only logging's atexit handler writes them.
logging.getLogger().addHandler(logging.handlers.MemoryHandler(100, target=target))
logging.getLogger().warning("logged")
atexit.register(lambda: sys.stdout.write("atexit ran;"))

def late():
    time.sleep(0.3)
    sys.stdout.write("thread finished;")

threading.Thread(target=late).start()
sys.stdout.write("answer;")  # no newline: still in stdout's buffer
sys.stderr.write("note")
end_at_once(int(sys.argv[2]))
"""


def run_ending(tmp_path, code: int) -> tuple[subprocess.CompletedProcess, str]:
    log_file = tmp_path / "log.txt"
    result = subprocess.run(
        [sys.executable, "-c", ENDING, str(log_file), str(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    return result, log_file.read_text()


def test_output_threads_atexit_handlers_and_logs_are_all_finished(tmp_path):
    result, log = run_ending(tmp_path, 0)
    assert result.returncode == 0, result.stderr
    # The thread is waited for, then the atexit handlers run, then the streams are flushed.
    assert result.stdout == "answer;thread finished;atexit ran;"
    assert result.stderr == "note"
    assert log == "logged\n"


def test_the_exit_status_is_the_commands(tmp_path):
    for code in (2, 1, 130):
        result, _ = run_ending(tmp_path, code)
        assert (result.returncode, result.stdout) == (code, "answer;thread finished;atexit ran;")


def ended(code: str) -> int:
    """The exit status of ``code`` run with stdout into a pipe nobody reads any more
    (buffered, as without PYTHONUNBUFFERED: the failure comes at the end)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    child = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    child.stdout.close()
    return child.wait(timeout=60)


def test_stdout_that_cannot_be_written_fails_the_exit_as_python_does():
    code = "import sys, time\nfrom app.cli.ending import end_at_once\n"
    code += "time.sleep(0.5)\nsys.stdout.write('lost')\n"
    assert ended(code + "end_at_once(0)") == ended(code) == 120
    closed = "import sys\nfrom app.cli.ending import end_at_once\nsys.stdout.close()\n"
    assert ended(closed + "end_at_once(0)") == ended(closed) == 0
