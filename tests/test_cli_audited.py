"""`privacy-qa ask` in the audit log (app/cli/audited.py): with the log on, every question
(single, --json, each --jsonl line) writes the page's event with the OS user and source
"cli", never the question's text unless PRIVACY_QA_AUDIT_QUESTIONS is on. Real
subprocesses over a real index (slow), and the off switch in process."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from app import audit, qa
from app.cli.audited import audited, os_user
from app.config import Settings

from .test_audit import an_answer
from .test_cli import run

RETENTION = "How long does OpenAI retain API data?"
SOC2 = "Is the OpenAI API SOC 2 compliant?"
TOO_LONG = "why " * 1000


def test_off_the_session_is_the_facades_own(tmp_path):
    session = object()
    assert audited(Settings(data_dir=tmp_path), session) is session
    assert os_user() == pwd.getpwuid(os.getuid()).pw_name


def page_fields(tmp_path) -> set[str]:
    """The fields of the event the page writes for an answer."""
    settings = Settings(data_dir=tmp_path / "page", audit_log="on")
    qa.audit_answer(settings, "alice", an_answer())
    (entry,) = audit.read(settings.audit_path)
    assert entry["source"] == "page"
    return set(entry)


@pytest.fixture
def ask(indexed_settings, monkeypatch):
    """Run `privacy-qa ask ARGS` over the real index with the audit log at ``log``."""

    def invoke(args, log, stdin=None, questions: bool = False):
        monkeypatch.setenv("PRIVACY_QA_AUDIT_LOG", str(log))
        monkeypatch.setenv("PRIVACY_QA_AUDIT_QUESTIONS", "on" if questions else "off")
        return run(["ask", *args], indexed_settings.data_dir, stdin=stdin)

    return invoke


@pytest.mark.slow
def test_every_ask_writes_the_pages_event_without_the_question(ask, tmp_path):
    log = tmp_path / "audit.jsonl"
    assert ask([RETENTION], log).returncode == 0
    assert ask(["--json", SOC2], log).returncode == 0
    lines = "\n".join(json.dumps({"id": i, "question": q}) for i, q in enumerate([SOC2, TOO_LONG]))
    assert ask(["--jsonl", "-"], log, stdin=lines).returncode == 2
    entries = audit.read(log)
    assert len(entries) == 4, entries
    fields = page_fields(tmp_path)
    for entry in entries:
        assert set(entry) == fields
        assert entry["user"] == os_user() and entry["source"] == "cli"
        assert entry["action"] == "answer" and entry["question"] is None
    answered, refused = entries[:3], entries[3]
    for entry in answered:
        assert entry["refused"] is False and entry["error"] is None
        assert entry["passages"] and entry["documents"] and entry["endpoints"] == []
        assert {p["source"] for p in entry["passages"]} == set(entry["documents"])
    assert "limit is 2000" in refused["error"] and refused["passages"] == []
    text = log.read_text()
    assert "retain API data" not in text and "SOC 2 compliant" not in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
def test_the_question_is_kept_only_when_the_operator_turns_it_on(
    ask, indexed_settings, tmp_path, monkeypatch
):
    log = tmp_path / "audit.jsonl"
    assert ask(["--json", RETENTION], log, questions=True).returncode == 0
    (entry,) = audit.read(log)
    assert entry["question"] == RETENTION and entry["source"] == "cli"
    monkeypatch.delenv("PRIVACY_QA_AUDIT_LOG")  # off by default: nothing written anywhere
    result = run(["ask", "--json", RETENTION], indexed_settings.data_dir)
    assert result.returncode == 0 and len(audit.read(log)) == 1
    assert not (indexed_settings.data_dir / "audit.jsonl").exists()  # off by default
