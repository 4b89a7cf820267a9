"""A routine's turns as answers: the clarifying question with its options, a branch's
statements (each quoted verbatim and cited to the routine's lines) with what its
functions find in the index, and the end of the routine (resolved).

A function is resolved through the index: its purpose, from the function definitions,
is asked as a question (``lookup``, plain Q&A) and the answer's quotes are given with
their own citations. A function about contact details says plainly when the documents
give no address.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from app.answering.markers import quoted
from app.answering.types import Answer, Citation, Clarify
from app.routine.decide import DONE_OPTION, Decision
from app.routine.parse import Call, Quote

# What the front ends show when the routine's last function marks the case resolved.
RESOLVED_TEXT = "Marked as resolved."
NOT_FOUND = "The indexed documents do not give this ({purpose})."
NO_ADDRESS = "The indexed documents give no email address, phone number or link for this contact."
_CONTACT = re.compile(r"\bcontact\b", re.IGNORECASE)
_ADDRESS = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.]+|https?://\S+|\bwww\.\S+|\+?\d[\d ()-]{7,}\d", re.IGNORECASE
)
_MARKER = re.compile(r"\[(\d+)\]")
# "Provides the customer with a list of ..." -> "a list of ...": what the function gives.
_LEAD_IN = re.compile(
    r"^(?:provides?|gives?|returns?|lists?|shares?|sends?)\s+(?:the\s+)?"
    r"(?:customer|user|requester)?\s*(?:with\s+)?",
    re.IGNORECASE,
)


def clarify_answer(question: str, decision: Decision) -> Answer:
    """The clarifying question, quoted from the routine (cited), with one option per
    branch to choose."""
    routine = decision.routine
    assert routine is not None
    text = routine.clarify.text
    return Answer(
        question=question,
        answer=f"{text} [1]",
        abstained=False,
        citations=[_citation(1, routine.clarify)],
        timings_ms={},
        clarify=Clarify(text, routine.options),
    )


def _citation(n: int, quote: Quote) -> Citation:
    """Citation ``n`` of a routine's sentence (internal procedure, not published text)."""
    where = {name: getattr(quote, name) for name in ("source", "title", "section")}
    return Citation(
        n,
        **where,
        url=quote.url or None,
        quote=quote.text,
        start_line=quote.start_line,
        chunk_text=quote.chunk_text,
        internal=True,
    )


def query(purpose: str) -> str:
    """What to search for a function: its purpose without the "Provides the customer
    with" lead-in (measured: with it, the endpoints list is not quoted)."""
    return _LEAD_IN.sub("", purpose).rstrip(" .") or purpose


def _called(call: Call, first: int, lookup: Callable[[str], Answer]) -> tuple[str, list]:
    """The text and citations (numbered from ``first``) a function call gives."""
    found = lookup(query(call.purpose))
    if found.abstained or not found.citations:
        return NOT_FOUND.format(purpose=call.purpose.rstrip(".")), []
    shift = first - 1
    text = _MARKER.sub(lambda m: f"[{int(m.group(1)) + shift}]", found.answer)
    citations = [replace(c, n=c.n + shift) for c in found.citations]
    if _CONTACT.search(call.purpose) and not any(_ADDRESS.search(c.quote) for c in citations):
        text = f"{text}\n\n{NO_ADDRESS}"
    return text, citations


def branch_answer(question: str, decision: Decision, lookup: Callable[[str], Answer]) -> Answer:
    """The branch's statements and function results in the routine's order, then its
    closing question (with the option to end); resolved at once if there is none."""
    routine, branch = decision.routine, decision.branch
    assert routine is not None and branch is not None
    paragraphs: list[str] = []
    citations: list[Citation] = []
    for item in branch.items:
        if isinstance(item, Quote):
            citations.append(_citation(len(citations) + 1, item))
            paragraphs.append(f"{quoted(item.text)} [{len(citations)}]")
        else:
            text, found = _called(item, len(citations) + 1, lookup)
            citations.extend(found)
            paragraphs.append(text)
    closing = routine.closing
    if closing is not None:
        paragraphs.append(closing.text)
    return Answer(
        question=question,
        answer="\n\n".join(paragraphs),
        abstained=False,
        citations=citations,
        timings_ms={},
        clarify=Clarify(closing.text, [DONE_OPTION]) if closing is not None else None,
        branch=branch.label,
        resolved=closing is None,
    )


def resolved_answer(question: str, decision: Decision) -> Answer:
    """The routine's end: its last function marks the case resolved."""
    return Answer(
        question=question,
        answer=RESOLVED_TEXT,
        abstained=False,
        citations=[],
        timings_ms={},
        resolved=True,
    )


def routine_answer(
    question: str, decision: Decision, lookup: Callable[[str], Answer]
) -> Answer | None:
    """The answer a routine decision gives, or None for plain Q&A."""
    if decision.action == "clarify":
        return clarify_answer(question, decision)
    if decision.action == "branch":
        return branch_answer(question, decision, lookup)
    if decision.action == "resolve":
        return resolved_answer(question, decision)
    return None
