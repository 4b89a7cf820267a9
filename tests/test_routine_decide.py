"""The routine's decisions (no model): who gets the clarifying question, a branch, plain
Q&A, and when the routine ends."""

from __future__ import annotations

import pytest

from app.conversation import Turn
from app.routine import decide

from .routine_helpers import baa_routine

ROUTINE = baa_routine()
CLARIFIED = [Turn("I need a BAA", ROUTINE.clarify.text + " [1]")]
CLOSED = [Turn("the API", "To obtain a BAA ... [1]\n\n" + ROUTINE.closing.text)]


@pytest.mark.parametrize(
    "question",
    [
        "I need a BAA",
        "how do we get a BAA?",
        "How can I get a Business Associate Agreement (BAA) with OpenAI?",
        "We'd like to sign a business associate agreement with you",
        "BAA please",
        "What do we need to do to get a BAA?",
        "Who do I contact to get a BAA?",  # two contacts, one per branch
        "who should we talk to about a BAA",
    ],
)
def test_an_open_request_asks_which_branch(question):
    assert decide(question, [], ROUTINE).action == "clarify"


@pytest.mark.parametrize(
    ("question", "branch"),
    [
        ("We need a BAA for the API", "API"),
        ("can I get a BAA for ChatGPT?", "ChatGPT Enterprise"),
        ("Hi, we want a BAA for ChatGPT Enterprise for our clinic", "ChatGPT Enterprise"),
        ("Our BAA request was turned down. What now?", "Not approved"),
        ("openai rejected our BAA application for the API", "Not approved"),
        ("Who do we contact about a BAA for ChatGPT Enterprise?", "ChatGPT Enterprise"),
    ],
)
def test_a_request_naming_its_branch_gets_it(question, branch):
    decision = decide(question, [], ROUTINE)
    assert (decision.action, decision.branch.label) == ("branch", branch)


@pytest.mark.parametrize(
    "question",
    [
        "which address do I email?",
        "how long until they reply?",
        "Which email address handles BAA requests?",
        "How long does the BAA process take?",
        "Is an enterprise agreement required to sign a BAA?",
        "Can we sign a BAA without an enterprise contract?",
        "Are all API services covered by the BAA?",
        "Do you sign BAAs?",
        "Who reviews BAA requests?",
        "Who do I email for a BAA?",
        "How long does OpenAI retain API data?",
        "thanks",
    ],
)
def test_a_specific_question_is_plain_qa(question):
    assert decide(question, [], ROUTINE).action == "plain"
    assert decide(question, CLARIFIED, ROUTINE).action == "plain"


@pytest.mark.parametrize(
    ("reply", "branch"),
    [("API", "API"), ("the api please", "API"), ("Enterprise", "ChatGPT Enterprise")],
)
def test_a_reply_to_the_clarifying_question_picks_its_branch(reply, branch):
    decision = decide(reply, CLARIFIED, ROUTINE)
    assert (decision.action, decision.branch.label) == ("branch", branch)
    assert decide(reply, [], ROUTINE).action == "plain"  # alone it asks nothing


@pytest.mark.parametrize("reply", ["No, that's all", "no thanks", "nope", "that's all, thanks"])
def test_nothing_else_after_the_closing_question_resolves(reply):
    assert decide(reply, CLOSED, ROUTINE).action == "resolve"
    assert decide(reply, CLARIFIED, ROUTINE).action == "plain"


def test_no_routine_means_plain_qa():
    assert decide("I need a BAA", [], None).action == "plain"
