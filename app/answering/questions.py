"""What a question asks: the parts of a question that asks several things, and the
sentences that ask (a question may open with context: "We're a clinic in Europe. Can
OpenAI sign a DPA?")."""

from __future__ import annotations

import re

from app.terms import SENTENCE_BREAK

# Where a question asking two things splits: a second question, or ", and" / "and" before
# a question word ("Who do I contact about a BAA, and how soon will I hear back?").
_QUESTION_WORD = (
    r"(?:how|what|when|where|who|whom|which|why|is|are|do|does|did|can|could|will|would"
    r"|should|must)\b"
)
_PART_BREAK = re.compile(
    rf"\?\s+(?=\S)|[,;]\s*(?:and|or|but|also|plus)\s+|\s+(?:and|or|but)\s+(?={_QUESTION_WORD})",
    re.IGNORECASE,
)


def question_parts(question: str) -> list[str]:
    """The parts of a question that asks several things, or ``[]`` if it asks one."""
    parts = [p.strip() for p in _PART_BREAK.split(question) if len(re.findall(r"\w{3,}", p)) >= 2]
    return parts if len(parts) > 1 else []


# The auxiliary a yes/no question opens with ("Is ...?", "Can we ...?", "Does ...?").
_YES_NO = re.compile(
    r"(?:is|are|am|was|were|do|does|did|can|could|will|would|should|shall|may|might|must"
    r"|has|have|had)\b",
    re.IGNORECASE,
)


def asks_yes_no(question: str) -> bool:
    """Whether ``question`` asks for a yes or a no: one of the sentences that ask opens with
    an auxiliary ("Are all API services covered?"), not a question word ("Which APIs does the
    BAA cover?")."""
    return any(_YES_NO.match(s.strip()) for s in SENTENCE_BREAK.split(asking(question)))


def asking(question: str) -> str:
    """The sentences of ``question`` that ask (end with "?"), or the whole question if none
    does: what it names and what value it asks for are read there, not in its context."""
    sentences = SENTENCE_BREAK.split(question.strip())
    return " ".join(s for s in sentences if s.endswith("?")) or question
