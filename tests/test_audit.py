"""The opt-in audit log (app/audit.py): off by default, one JSON line per event, no
question text unless the operator turns it on, whole lines from several processes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

import pytest

from app import audit, qa
from app.answering.types import Answer, Citation
from app.config import Settings
from app.errors import UserError

QUESTION = "Does OpenAI sign a BAA for my patient Zebulon Quackenbush?"


def an_answer(**more) -> Answer:
    citation = Citation(
        n=1,
        source="corpus/openai-baa-help-article.md",
        title="BAA",
        section="BAA > How do I get one?",
        url=None,
        quote="Email baa@openai.com",
        start_line=12,
    )
    values = {
        "question": QUESTION,
        "answer": "Email baa@openai.com [1]",
        "abstained": False,
        "citations": [citation],
        "timings_ms": {},
        "endpoints": ["POST http://127.0.0.1:9/v1/chat/completions"],
    }
    return Answer(**{**values, **more})


def test_the_audit_log_is_off_by_default(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.audit_path is None
    assert audit.record(settings, audit.AuditEvent("alice", "sign-in")) is False
    qa.audit_answer(settings, "alice", an_answer())
    assert list(tmp_path.iterdir()) == []


def test_an_answer_line_says_who_when_what_was_shown_and_sent_without_the_question(tmp_path):
    settings = Settings(data_dir=tmp_path, audit_log="on")
    assert settings.audit_path == tmp_path / "audit.jsonl"
    qa.audit_answer(settings, "alice", an_answer())
    qa.audit(settings, "bob", "upload", documents=["corpus/new.md"])
    path = settings.audit_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "Zebulon" not in text and "Quackenbush" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["user"] == "alice" and first["action"] == "answer"
    assert first["at"].endswith("+00:00")
    assert first["documents"] == ["corpus/openai-baa-help-article.md"]
    assert first["passages"] == [
        {
            "source": "corpus/openai-baa-help-article.md",
            "line": 12,
            "section": "BAA > How do I get one?",
        }
    ]
    assert first["endpoints"] == ["POST http://127.0.0.1:9/v1/chat/completions"]
    assert first["refused"] is False and first["question"] is None
    assert second["user"] == "bob" and second["action"] == "upload"
    assert second["documents"] == ["corpus/new.md"] and second["refused"] is None


def test_a_refused_answer_is_logged_as_refused(tmp_path):
    settings = Settings(data_dir=tmp_path, audit_log=str(tmp_path / "logs" / "audit.jsonl"))
    qa.audit_answer(settings, None, an_answer(abstained=True, citations=[], endpoints=[]))
    (entry,) = audit.read(tmp_path / "logs" / "audit.jsonl")
    assert entry["refused"] is True and entry["user"] is None
    assert entry["passages"] == [] and entry["endpoints"] == []


def test_the_question_is_kept_only_when_the_operator_turns_it_on(tmp_path):
    settings = Settings(data_dir=tmp_path, audit_log="on", audit_questions="on")
    qa.audit_answer(settings, "alice", an_answer())
    (entry,) = audit.read(settings.audit_path)
    assert entry["question"] == QUESTION
    # An event that is not an answer never carries one.
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(settings, audit.AuditEvent("alice", "export"))


def test_an_unwritable_log_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = Settings(data_dir=tmp_path, audit_log=str(blocker / "audit.jsonl"))
    with pytest.raises(UserError, match="PRIVACY_QA_AUDIT_LOG"):
        qa.audit(settings, "alice", "sign-in")


WRITER = """
import sys
from app.audit import AuditEvent, append_line
from dataclasses import asdict
path, who = sys.argv[1], sys.argv[2]
for i in range(300):
    event = AuditEvent(who, "read", documents=[f"corpus/{who}-{i}.md" + "x" * 3000])
    append_line(__import__("pathlib").Path(path), asdict(event))
"""


@pytest.mark.slow
def test_lines_of_several_processes_never_interleave(tmp_path):
    path = tmp_path / "audit.jsonl"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{n}"]) for n in range(4)
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 1200
    entries = [json.loads(line) for line in lines]  # every line whole
    for n in range(4):
        assert sum(e["user"] == f"w{n}" for e in entries) == 300
