"""app/outgoing.py: what the PHI check does with a finding, by send mode. No index and no
model: the check reads only the question and the settings."""

from __future__ import annotations

import logging

import pytest

from app.config import Settings
from app.errors import PhiFoundError
from app.outgoing import SEND_MODES, Outgoing

ASKED = "How long does OpenAI retain API data? Ask Dr. Patel at 617-555-0142 or patel@example.org."
SECRETS = ("Patel", "617-555-0142", "patel@example.org")
CHAT = Settings(llm="openai", openai_api_key="sk-x")


def test_the_log_names_kinds_only(caplog):
    """What is logged about a finding: its kinds, never its text."""
    with caplog.at_level(logging.DEBUG, logger="app"):
        text, notices = Outgoing(CHAT, lambda: ()).check(ASKED, "redact")
    assert "[NAME]" in text
    assert "name, phone, email" in caplog.text
    for value in SECRETS:
        assert value not in text and value not in caplog.text and value not in notices[0]


def test_a_finding_is_refused_unless_redacted_allowed_or_offline():
    outgoing = Outgoing(CHAT, lambda: ())
    with pytest.raises(PhiFoundError, match="--redact") as refused:
        outgoing.check(ASKED)
    assert refused.value.kinds == ["name", "phone", "email"]
    with pytest.raises(PhiFoundError, match="PRIVACY_QA_PHI_ALLOW_SEND"):
        outgoing.check(ASKED, "as_is")  # the operator's setting is off
    allowed = Outgoing(CHAT.replace(phi_allow_send=True), lambda: ())
    assert allowed.check(ASKED, "as_is")[0] == ASKED
    assert outgoing.check(ASKED, "offline") == (ASKED, [])
    assert set(SEND_MODES) == {"check", "redact", "as_is", "offline"}
    with pytest.raises(ValueError, match="send must be one of"):
        outgoing.check(ASKED, "maybe")


def test_nothing_is_checked_when_answers_are_written_offline():
    offline = Outgoing(Settings(), lambda: ())
    assert offline.findings(ASKED) == [] and offline.check(ASKED) == (ASKED, [])


def test_a_word_of_the_documents_is_no_name_and_is_read_once():
    """ "John Smith" is a name, unless "Smith" is a word of the indexed documents."""
    reads = []

    def words():
        reads.append(1)
        return {"smith"}

    question = "Can John Smith see our prompts?"
    assert [f.kind for f in Outgoing(CHAT, lambda: ()).findings(question)] == ["name"]
    outgoing = Outgoing(CHAT, words)
    assert outgoing.findings(question) == [] and outgoing.findings(question) == []
    assert reads == [1]
