"""Follow-ups with the chat model (app/condense.py): the condense prompt goes through the
ZDR-guarded client to a real HTTP server on 127.0.0.1 speaking the OpenAI protocol."""

from __future__ import annotations

import json

import pytest

from app.condense import HISTORY_TURNS, SYSTEM, Condenser, transcript
from app.conversation import Turn, parse_history
from app.evals.conversations import load_conversations
from app.openai_http import OpenAIHTTP
from app.zdr_guard import check_request

from .conftest import ROOT, make_settings
from .openai_fake import FakeOpenAI, Scripted

HISTORY = [Turn("How long does OpenAI retain API inputs and outputs?", "Up to 30 days. [1]")]


def never(query: str) -> float:  # retrieval confidence, for the offline fallback
    raise AssertionError("the offline decision was not expected here")


@pytest.fixture
def condenser_for(tmp_path):
    def make(fake):
        settings = make_settings(
            tmp_path,
            llm="openai",
            openai_api_key=fake.api_key,
            openai_base_url=fake.base_url,
            openai_retry_backoff_s=0.01,
            openai_max_retries=0,
        )
        return Condenser(settings, OpenAIHTTP(settings))

    return make


def test_a_follow_up_is_condensed_by_the_model_through_the_guard(condenser_for):
    with FakeOpenAI(reply='"How long are uploaded files kept?"\nextra') as fake:
        rewrite = condenser_for(fake).rewrite("and for files?", HISTORY, never)
    assert rewrite.followup and rewrite.searched == "How long are uploaded files kept?"
    (request,) = fake.received
    assert request.path == "/v1/chat/completions"
    check_request("POST", fake.base_url + "/chat/completions", request.body, fake.base_url)
    body = request.json
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == SYSTEM
    assert "Last question: and for files?" in body["messages"][1]["content"]
    assert "tools" not in body and body.get("max_completion_tokens", body.get("max_tokens")) <= 96


def test_no_request_without_history_or_for_small_talk_and_kept_questions(condenser_for):
    with FakeOpenAI(reply="Is the API SOC 2 compliant") as fake:
        condenser = condenser_for(fake)
        assert not condenser.rewrite("and for files?", [], never).followup
        assert not condenser.rewrite("ok thanks", HISTORY, never).followup
        assert fake.received == []
        kept = condenser.rewrite("Is the API SOC 2 compliant?", HISTORY, never)
    assert not kept.followup and kept.searched == "Is the API SOC 2 compliant?"


def test_a_failed_request_falls_back_to_the_offline_decision(condenser_for):
    with FakeOpenAI() as fake:
        fake.script(Scripted(status=500))
        rewrite = condenser_for(fake).rewrite("and for files?", HISTORY, lambda q: 0.5)
    assert rewrite.followup and rewrite.searched.startswith("and for files (")


def test_only_the_last_turns_are_sent_and_answers_are_cut():
    turns = [Turn(f"question {i}", "x" * 1000) for i in range(5)]
    text = transcript("and?", turns)
    assert "question 0" not in text and f"question {5 - HISTORY_TURNS}" in text
    assert "x" * 400 not in text and text.endswith("Last question: and?")


@pytest.mark.slow
def test_the_conversation_set_through_the_guard(condenser_for):
    """Every history line of evals/conversations.jsonl: one guarded, text-only request
    per question that has history and is not small talk (the fake model echoes it)."""
    rows = [r for r in load_conversations(ROOT / "evals/conversations.jsonl") if "history" in r]

    def echo(body: dict) -> str:
        return body["messages"][1]["content"].rsplit("Last question: ", 1)[1]

    with FakeOpenAI(reply=echo) as fake:
        condenser = condenser_for(fake)
        decisions = [
            condenser.rewrite(r["question"], parse_history(r["history"]), never) for r in rows
        ]
    asked = [r for r, d in zip(rows, decisions, strict=True) if d.reason != "small talk"]
    assert len(fake.received) == len(asked) >= 30
    for request in fake.received:
        check_request("POST", fake.base_url + "/chat/completions", request.body, fake.base_url)
        assert all(isinstance(m["content"], str) for m in json.loads(request.body)["messages"])
    assert not any(d.followup for d in decisions)  # an echo keeps every question


@pytest.mark.slow
def test_the_session_searches_what_the_model_condensed(indexed_settings, embeddings):
    from app.session import QA

    from .openai_fake import quote_first_source

    def model(body: dict) -> str:
        if body["messages"][0]["content"] == SYSTEM:
            return "How long are files uploaded to /v1/files retained?"
        return quote_first_source(body)

    with FakeOpenAI(reply=model) as fake:
        settings = indexed_settings.replace(
            llm="openai", openai_api_key=fake.api_key, openai_base_url=fake.base_url
        )
        answer = QA(settings, embeddings).ask("and for files?", HISTORY)
    assert answer.searched == "How long are files uploaded to /v1/files retained?"
    assert [r.path for r in fake.received] == ["/v1/chat/completions"] * 2
    assert len(answer.endpoints) == 1  # the answer's own request, as before


@pytest.mark.slow
def test_no_condense_request_when_the_conversation_holds_phi(indexed_settings, embeddings):
    """The condense step would send the question and earlier turns as typed: with likely
    PHI in either, the offline decision is used and only the (redacted) answer request
    leaves."""
    from app.session import QA

    from .openai_fake import quote_first_source

    def model(body: dict) -> str:
        assert body["messages"][0]["content"] != SYSTEM, "a condense request was sent"
        return quote_first_source(body)

    with FakeOpenAI(reply=model) as fake:
        settings = indexed_settings.replace(
            llm="openai", openai_api_key=fake.api_key, openai_base_url=fake.base_url
        )
        qa = QA(settings, embeddings)
        named = [Turn("Can we send patient Maria Garcia's PHI through the API?", "Yes [1]")]
        qa.ask("and for files?", named)
        qa.ask("and for Maria Garcia's files?", HISTORY, "redact")
    sent = b"".join(r.body for r in fake.received)
    assert b"Maria" not in sent and b"Garcia" not in sent
    assert fake.received  # answers were asked for; no condense request among them
