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


def asking(question: str) -> str:
    """The sentences of ``question`` that ask (end with "?"), or the whole question if none
    does: what it names and what value it asks for are read there, not in its context."""
    sentences = SENTENCE_BREAK.split(question.strip())
    return " ".join(s for s in sentences if s.endswith("?")) or question
