"""The one place that decides whether to abstain ("The indexed documents don't answer
this.") rather than answer.

Before answering, retrieval must show that the documents are about the question: the best
dense similarity reaches ``min_relevance``, the best coverage of the question's terms
reaches ``min_coverage``, and the question names nothing the documents never mention
(docs/abstention.md). After answering, an answer without a single citation is an
abstention too: the extractive answerer found no sentence to quote, or the chat model
declined (:func:`declines`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from app.answering.sentences import normalised
from app.answering.types import Composed
from app.config import Settings
from app.retrieval import Hit

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "The indexed documents don't answer this."

# A model that does not use the exact abstention sentence may still decline in other
# words: an answer without any marker that speaks of the sources and negates.
_MENTIONS_SOURCES = re.compile(
    r"\b(?:sources?|documents?|context|provided (?:text|information))\b", re.IGNORECASE
)
_NEGATES = re.compile(r"\b(?:not|no|cannot)\b|n[’']t\b", re.IGNORECASE)


@dataclass(frozen=True)
class Decision:
    """Whether to abstain, why, and the signals it was decided on (counts only: the names
    come from the question, which may hold PHI)."""

    abstain: bool
    reason: str | None  # None when answering
    best_similarity: float
    coverage: float
    unknown_names: int


def before_answering(hits: list[Hit], unknown_names: int, settings: Settings) -> Decision:
    """Whether retrieval found enough to try answering.

    All signals must agree: dense alone scores other vendors' near-identical topics high,
    and word overlap alone is fooled by common words; a name the documents never mention
    ("Google Cloud") means they are about something else (see docs/abstention.md).
    """
    best = max((hit.dense for hit in hits), default=0.0)
    coverage = max((hit.coverage for hit in hits), default=0.0)
    reason = None
    if best < settings.min_relevance:
        reason = "no chunk is similar enough to the question"
    elif coverage < settings.min_coverage:
        reason = "no chunk holds enough of the question's terms"
    elif unknown_names:
        reason = "the question names something the documents never mention"
    return Decision(reason is not None, reason, best, coverage, unknown_names)


def after_answering(decision: Decision, composed: Composed | None) -> Decision:
    """The final decision: abstain if retrieval said so (``composed`` is then None) or if
    the answer cites nothing."""
    if not decision.abstain and (composed is None or not composed.citations):
        decision = replace(decision, abstain=True, reason="the answer cites no source")
    log.debug(
        "best similarity %.3f, coverage %.2f, unknown names: %d, abstained=%s",
        decision.best_similarity,
        decision.coverage,
        decision.unknown_names,
        decision.abstain,
    )
    return decision


def declines(answer: str, has_markers: bool) -> bool:
    """Whether a chat model's answer is a refusal: empty, the abstention sentence, or, with
    no marker at all, a sentence that speaks of the sources and negates."""
    if has_markers:
        return False
    text = normalised(answer)
    return (
        not text
        or normalised(ABSTAIN_TEXT) in text
        or bool(_MENTIONS_SOURCES.search(answer) and _NEGATES.search(answer))
    )
