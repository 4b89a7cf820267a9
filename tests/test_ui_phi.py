"""The page's PHI check (app/ui/phi.py), run by Streamlit's AppTest with the chat model
pointed at a real HTTP server on 127.0.0.1 speaking the OpenAI protocol
(tests/openai_fake.py): what was found is shown (kinds, never sent), and each of the three
choices sends what it says: the redacted question, the question as typed (only when the
operator allows it), or nothing at all (an offline answer with quotes)."""

from __future__ import annotations

import pytest

from .openai_fake import FakeOpenAI, quote_first_source
from .test_ui_markup import plain
from .test_ui_page import ask

QUESTION = "How long does OpenAI retain API data? Ask Dr. Patel at 617-555-0142."
SECRETS = ("Patel", "617-555-0142")


@pytest.fixture
def chat_page(page, indexed_settings, monkeypatch):
    """The page with the chat model on a loopback server; yields (open, server)."""
    with FakeOpenAI(reply=quote_first_source) as fake:
        monkeypatch.setenv("PRIVACY_QA_LLM", "openai")
        monkeypatch.setenv("OPENAI_API_KEY", fake.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        yield (lambda: page(indexed_settings)), fake


def buttons(at) -> dict:
    return {b.key: b for b in at.button if b.key and b.key.startswith("phi-")}


def held(at, fake):
    """Ask the question; check it is held with its notice and nothing was sent."""
    ask(at, QUESTION)
    assert fake.received == []
    notice = [plain(w.value) for w in at.warning if "seems to hold" in w.value]
    assert notice == [
        f"This question seems to hold a name and a phone number, and the chat model would "
        f"send it to {fake.base_url}. Nothing was sent."
    ]
    assert any("[NAME] at [PHONE]" in plain(m.value) for m in at.markdown)  # the preview
    return buttons(at)


@pytest.mark.slow
def test_send_redacted_sends_placeholders_only(chat_page):
    open_page, fake = chat_page
    at = open_page()
    choices = held(at, fake)
    assert set(choices) == {"phi-redact", "phi-offline"}  # as is: the operator did not allow
    assert any("PRIVACY_QA_PHI_ALLOW_SEND" in c.value for c in at.caption)
    choices["phi-redact"].click().run()
    assert not at.exception, at.exception
    assert fake.paths() == ["POST /v1/chat/completions"]
    sent = fake.received[0].json["messages"][-1]["content"]
    assert "[NAME] at [PHONE]" in sent and not any(s in sent for s in SECRETS)
    assert not buttons(at)  # the notice is gone with its question, answered now
    assert len(at.chat_message) == 2  # the question, asked once, and its answer
    assert plain(at.chat_message[0].markdown[0].value) == QUESTION
    reply = at.chat_message[1]
    shown = [plain(e.value) for e in (*reply.caption, *reply.warning, *reply.info)]
    assert any("replaced by [NAME], [PHONE]" in text for text in shown)
    assert any(f"Sent to POST {fake.base_url}" in plain(c.value) for c in reply.caption)


@pytest.mark.slow
def test_answer_offline_sends_nothing(chat_page):
    open_page, fake = chat_page
    at = open_page()
    held(at, fake)["phi-offline"].click().run()
    assert not at.exception, at.exception
    assert fake.received == []
    reply = at.chat_message[1]
    assert any("30 days" in m.value for m in reply.markdown)
    assert not any("Sent to" in plain(c.value) for c in reply.caption)


@pytest.mark.slow
def test_send_as_is_only_when_the_operator_allows_it(chat_page, monkeypatch):
    open_page, fake = chat_page
    monkeypatch.setenv("PRIVACY_QA_PHI_ALLOW_SEND", "true")
    at = open_page()
    choices = held(at, fake)
    assert set(choices) == {"phi-redact", "phi-as_is", "phi-offline"}
    choices["phi-as_is"].click().run()
    assert not at.exception, at.exception
    assert fake.paths() == ["POST /v1/chat/completions"]
    assert "Dr. Patel at 617-555-0142" in fake.received[0].json["messages"][-1]["content"]
