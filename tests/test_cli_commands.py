"""`privacy-qa ask` against hostile input, as a user runs it (the real CLI in a subprocess).

Lines that fail before a question reaches the model need no index and no model: those
tests are fast (under a second each); the batch that answers around bad lines is slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "app"]
GOOD = {"id": "good", "question": "Is the API SOC 2 compliant?"}


def run(args: list, data_dir: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRIVACY_QA_DATA_DIR": str(data_dir)}
    env.pop("PRIVACY_QA_CHROMA_URL", None)
    return subprocess.run(CLI + args, capture_output=True, env=env, input=stdin, timeout=300)


def hostile_lines() -> list[bytes]:
    """One line of each kind that used to end the whole batch or print non-JSON."""
    return [
        b'{"id": "surrogate", "question": "\\ud800 retention?"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": "bytes", "question": "caf\xe9 \xff?"}',
        b'{"id": 1e400, "question": "Is the API SOC 2 compliant?"}',
        b'{"id": NaN, "question": "Is the API SOC 2 compliant?"}',
        b'{"id": -Infinity, "question": "Is the API SOC 2 compliant?"}',
        b'{"id": 1' + b"0" * 5000 + b', "question": "Is the API SOC 2 compliant?"}',
    ]


def strict_json(line: str):
    """Parse as a strict JSON reader would: no NaN, no Infinity."""

    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(line, parse_constant=refuse)


def check_error_lines(out: list[dict], numbers: list[int]) -> None:
    """``out`` are the outputs of hostile_lines(), which were input lines ``numbers``."""
    assert [o.get("id") for o in out[:3]] == ["surrogate", None, None]
    assert all(set(o) == {"id", "error"} for o in out), out
    assert all(f"line {n}:" in o["error"] for o, n in zip(out, numbers, strict=True)), out
    assert "not valid Unicode" in out[0]["error"]
    assert "nested too deeply" in out[1]["error"]
    assert "not valid UTF-8" in out[2]["error"]
    assert all(o["id"] is None and "id" in o["error"] for o in out[3:]), out


def test_each_hostile_jsonl_line_gets_an_error_line_and_valid_json(tmp_path):
    lines = hostile_lines()
    result = run(["ask", "--jsonl", "-"], tmp_path / "no-index", b"\n".join(lines) + b"\n")
    stdout = result.stdout.decode("utf-8")  # every output byte is UTF-8
    out = [strict_json(line) for line in stdout.splitlines()]
    assert len(out) == len(lines), result.stderr
    check_error_lines(out, list(range(1, 8)))
    assert result.returncode == 2  # as for any batch with a bad line
    assert b"Traceback" not in result.stderr


def test_invalid_utf8_in_the_question_argument_is_a_user_error(tmp_path):
    result = run(["ask", b"caf\xe9 retention?"], tmp_path / "no-index")
    assert result.returncode == 2, result.stderr
    err = result.stderr.decode()
    assert err.startswith("error: The question is not valid UTF-8"), err
    assert "internal error" not in err and "Traceback" not in err


@pytest.mark.slow
def test_a_batch_goes_on_around_hostile_lines(indexed_settings):
    lines = [json.dumps(GOOD).encode()]
    for bad in hostile_lines():
        lines += [bad, json.dumps({**GOOD, "id": len(lines)}).encode()]
    result = run(["ask", "--jsonl", "-"], indexed_settings.data_dir, b"\n".join(lines))
    assert result.returncode == 2, result.stderr
    out = [strict_json(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert len(out) == len(lines) == 15
    check_error_lines(out[1::2], list(range(2, 16, 2)))
    answers = out[0::2]
    assert [o["id"] for o in answers] == ["good", 1, 3, 5, 7, 9, 11, 13]
    assert all("SOC 2" in o["answer"] and not o["abstained"] for o in answers)


# ------------------------------------------------------------------------------- users


@pytest.mark.slow
def test_users_add_list_remove_through_the_command_line(tmp_path):
    users = tmp_path / "users.txt"
    env = {**os.environ, "PRIVACY_QA_USERS_FILE": str(users), "PRIVACY_QA_DATA_DIR": str(tmp_path)}

    def users_command(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [*CLI, "users", *args], capture_output=True, text=True, env=env, input=stdin, timeout=60
        )

    added = users_command("add", "alice", "--password-stdin", stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    assert f"Added alice in {users}" in added.stderr
    assert "correct horse" not in users.read_text() + added.stdout + added.stderr
    assert users_command("list").stdout == "alice\n"
    # No terminal and no --password-stdin: a clear error, not a hang.
    refused = users_command("add", "bob")
    assert refused.returncode == 2 and "--password-stdin" in refused.stderr
    short = users_command("add", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    assert users_command("remove", "alice").returncode == 0
    assert users_command("list").stdout == ""
    gone = users_command("remove", "alice")
    assert gone.returncode == 2 and "no user 'alice'" in gone.stderr
    del env["PRIVACY_QA_USERS_FILE"]
    unset = users_command("list")
    assert unset.returncode == 2 and "set PRIVACY_QA_USERS_FILE" in unset.stderr
    assert "Traceback" not in unset.stderr
