"""A routine's turns as answers (no model: the index lookup is a stand-in)."""

from __future__ import annotations

from app.answering.types import Answer, Citation
from app.routine import RESOLVED_TEXT, decide, routine_answer
from app.routine.compose import NO_ADDRESS, query

from .routine_helpers import BAA, baa_routine

ROUTINE = baa_routine()
TEXT = BAA.read_text(encoding="utf-8")


def found(text: str, quotes: list[str]):
    """A lookup that answers every query with these quotes, recording the queries."""
    asked = []

    def lookup(q: str) -> Answer:
        asked.append(q)
        cites = [
            Citation(i, "corpus/x.md", "X", "X", None, quote, 1)
            for i, quote in enumerate(quotes, 1)
        ]
        return Answer(q, text, not quotes, cites, {})

    return lookup, asked


def test_the_clarifying_turn_quotes_the_routine_and_offers_the_branches():
    answer = routine_answer("I need a BAA", decide("I need a BAA", [], ROUTINE), found("", [])[0])
    assert answer.clarify.options == ["API", "ChatGPT Enterprise"]
    assert answer.answer == ROUTINE.clarify.text + " [1]" and not answer.abstained
    assert answer.citations[0].internal and answer.citations[0].quote in TEXT
    assert answer.to_dict()["clarify"]["question"] == ROUTINE.clarify.text


def test_a_branch_quotes_its_statements_then_what_its_function_finds():
    lookup, asked = found("ZDR: `/v1/embeddings`. [1] And more. [2]", ["`/v1/embeddings`", "more"])
    answer = routine_answer("the API", decide("We need a BAA for the API", [], ROUTINE), lookup)
    assert answer.branch == "API" and not answer.resolved
    assert asked == [
        "a list of API endpoints that are eligible for zero data retention under the BAA"
    ]
    n = [c.n for c in answer.citations]
    assert n == list(range(1, len(n) + 1))  # one numbering, the function's quotes renumbered
    assert "ZDR: `/v1/embeddings`. [6] And more. [7]" in answer.answer
    for citation in answer.citations:
        assert f"[{citation.n}]" in answer.answer
        assert citation.source != "corpus/openai-baa-help-article.md" or citation.quote in TEXT
    assert answer.answer.endswith(ROUTINE.closing.text)
    assert answer.clarify.options == ["No, that's all"]


def test_a_contact_function_says_plainly_when_no_address_is_given():
    decision = decide("BAA for ChatGPT Enterprise please", [], ROUTINE)
    answer = routine_answer("q", decision, found("Please contact sales. [1]", ["contact sales"])[0])
    assert NO_ADDRESS in answer.answer
    with_mail = found("Write to sales@example.com. [1]", ["sales@example.com"])[0]
    assert NO_ADDRESS not in routine_answer("q", decision, with_mail).answer
    nothing = routine_answer("q", decision, found("", [])[0])
    assert "do not give this" in nothing.answer


def test_nothing_else_resolves():
    closed = [type("T", (), {"question": "API", "answer": ROUTINE.closing.text})()]
    answer = routine_answer("no thanks", decide("no thanks", closed, ROUTINE), found("", [])[0])
    assert answer.resolved and answer.answer == RESOLVED_TEXT and answer.to_dict()["resolved"]


def test_a_function_query_is_its_purpose_without_the_lead_in():
    assert query("Provides the customer with contact information to reach sales.") == (
        "contact information to reach sales"
    )
    assert query("Finalizes the case.") == "Finalizes the case"
