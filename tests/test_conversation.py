"""The offline follow-up decision (app/conversation.py): fast tests with a made-up
retrieval signal, and slow ones on the real model and index."""

from __future__ import annotations

import pytest

from app.conversation import Turn, is_small_talk, parse_history, signal, standalone, subject
from app.errors import UserError

HISTORY = [Turn("Can we send PHI through the API?", "Yes, with a BAA.")]


def scores(alone: float, joint: float):
    """A retrieval signal: ``joint`` for a query holding the added subject, else ``alone``."""
    return lambda query: joint if "(" in query else alone


def test_no_history_or_small_talk_is_searched_as_typed():
    assert standalone("and for files?", [], scores(0.1, 0.9)).searched == "and for files?"
    for greeting in ("hi", "Thanks!", "thank you very much", "ok great", "Hello there"):
        assert is_small_talk(greeting)
        decision = standalone(greeting, HISTORY, scores(0.1, 0.9))
        assert not decision.followup and decision.searched == greeting


def test_an_opener_is_rewritten_with_the_previous_subject():
    decision = standalone("And how long is that data kept?", HISTORY, scores(0.5, 0.49))
    assert decision.followup
    assert decision.searched == "And how long is that data kept (send PHI through API)"


def test_an_opener_is_not_rewritten_when_the_subject_makes_retrieval_clearly_worse():
    decision = standalone("And does OpenAI train on API data?", HISTORY, scores(0.66, 0.6))
    assert not decision.followup


def test_a_weak_signal_needs_weak_alone_retrieval_and_a_clear_gain():
    assert standalone("Is it covered?", HISTORY, scores(0.2, 0.5)).followup
    assert not standalone("Is it possible to get a BAA?", HISTORY, scores(0.75, 0.78)).followup
    assert not standalone("GDPR compliance?", HISTORY, scores(0.2, 0.22)).followup


def test_a_question_without_signal_never_calls_retrieval():
    def fail(query):
        raise AssertionError("retrieval asked")

    question = "Which endpoints are eligible for zero data retention?"
    assert standalone(question, HISTORY, fail).searched == question
    assert signal(question) is None


def test_the_subject_reaches_back_over_a_follow_up():
    turns = [Turn("How long is API data retained?", "30 days."), Turn("and for files?", "...")]
    assert subject(turns) == ["long", "API", "data", "retained", "files"]


def test_history_shapes():
    assert parse_history([{"question": "q", "answer": "a"}]) == [Turn("q", "a")]
    for bad in ({"question": "q"}, [{"question": "q"}], ["q"], [{"question": 1, "answer": "a"}]):
        with pytest.raises(UserError, match="history"):
            parse_history(bad)


@pytest.mark.slow
def test_real_retrieval_rewrites_a_follow_up_and_not_a_new_topic(qa):
    history = [Turn("How long does OpenAI retain API inputs and outputs?", "30 days.")]
    followup = qa.ask("and for files?", history)
    assert followup.searched != "and for files?" and "retain" in followup.searched
    assert not followup.abstained
    assert "Until deleted by customer" in " ".join(c.quote for c in followup.citations)
    new = qa.ask("Is OpenAI GDPR compliant?", history)
    assert new.searched == "Is OpenAI GDPR compliant?"
    assert qa.ask("thanks", history).searched == "thanks"
