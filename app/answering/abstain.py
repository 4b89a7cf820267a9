"""The one place that decides whether to abstain ("The indexed documents don't answer
this.") rather than answer.

Before answering, retrieval must show that the documents are about the question: the best
dense similarity reaches ``strong_relevance``, or it reaches ``min_relevance`` and a chunk
holds ``min_coverage`` of the question's terms; and the question names nothing the
documents never mention (docs/abstention.md). Word overlap supports a middling semantic
match; it never vetoes a strong one.

After answering: an answer without a single citation is an abstention (the extractive
answerer found no sentence to quote, or the chat model declined, :func:`declines`), and so
is one whose quotes do not name what the question names: a quote that answers must sit in
a passage (its paragraph, section path or document title) that mentions every named thing
of the question. "Azure OpenAI" is not answered by a passage about the OpenAI API because
another paragraph of the corpus mentions Azure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from app.answering import answer_type
from app.answering.sentences import normalised
from app.answering.types import Citation, Composed
from app.config import Settings
from app.places import places_in
from app.retrieval import Hit, mentions, terms

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
    # Whether the similarity alone carried the decision (at least strong_relevance).
    strong: bool = False
    # Names of the question that no answering quote's passage mentions (after answering).
    unquoted_names: int = 0
    # Kinds of value the question asks for (a price, a number) that no quote gives.
    missing_values: int = 0


def before_answering(hits: list[Hit], unknown_names: int, settings: Settings) -> Decision:
    """Whether retrieval found enough to try answering.

    A strong semantic match answers on its own; a middling one needs the question's words
    in a chunk too (dense alone scores other topics of the same vocabulary high, overlap
    alone is fooled by common words); a name the documents never mention ("Google Cloud")
    means they are about something else (see docs/abstention.md).
    """
    best = max((hit.dense for hit in hits), default=0.0)
    coverage = max((hit.coverage for hit in hits), default=0.0)
    strong = bool(hits) and best >= settings.strong_relevance
    reason = None
    if not hits or best < settings.min_relevance:
        reason = "no chunk is similar enough to the question"
    elif not strong and coverage < settings.min_coverage:
        reason = "no chunk is similar enough, or holds enough of the question's terms"
    elif unknown_names:
        reason = "the question names something the documents never mention"
    return Decision(reason is not None, reason, best, coverage, unknown_names, strong)


def after_answering(
    decision: Decision,
    composed: Composed | None,
    question: str = "",
    names: Sequence[str] = (),
) -> Decision:
    """The final decision: abstain if retrieval said so (``composed`` is then None), if the
    answer cites nothing, or if its quotes do not name what the question (``question``,
    whose ``names`` are retrieval's :meth:`~app.retrieval.HybridRetriever.names`) names."""
    if not decision.abstain and (composed is None or not composed.citations):
        decision = replace(decision, abstain=True, reason="the answer cites no source")
    elif not decision.abstain:
        missing = unquoted_names(question, names, composed.citations) if names else []
        values = answer_type.missing(question, [c.quote for c in composed.citations])
        decision = replace(decision, unquoted_names=len(missing), missing_values=len(values))
        if missing:
            decision = replace(
                decision,
                abstain=True,
                reason="the quoted passages do not name what the question names",
            )
        elif values:
            decision = replace(
                decision, abstain=True, reason="the quotes do not give the value asked for"
            )
    log.debug(
        "best similarity %.3f (strong: %s), coverage %.2f, unquoted names: %d, "
        "unknown names: %d, values missing: %d, abstained=%s",
        decision.best_similarity,
        decision.strong,
        decision.coverage,
        decision.unquoted_names,
        decision.unknown_names,
        decision.missing_values,
        decision.abstain,
    )
    return decision


def refusal(
    decision: Decision,
    question: str = "",
    unknown: Sequence[str] = (),
    names: Sequence[str] = (),
    composed: Composed | None = None,
) -> str:
    """What a refused answer says: :data:`ABSTAIN_TEXT`, and why when the reason is one the
    reader can act on: a thing the question names that the documents never mention ("they
    never mention AWS Bedrock"), one the closest passages leave out, or the kind of value
    asked for that none of them gives (a price). For the reader only: it repeats words of
    the question, so it is never logged."""
    why = ""
    if unknown:
        why = f"they never mention {_listing(_whole(question, unknown, unknown))}"
    elif decision.unquoted_names and composed is not None:
        missing = _whole(question, names, unquoted_names(question, names, composed.citations))
        why = f"the passages that come closest don't mention {_listing(missing)}"
    elif decision.missing_values and composed is not None:
        values = answer_type.missing(question, [c.quote for c in composed.citations])
        why = f"the passages that come closest don't give {_listing(values, 'or')}"
    return f"{ABSTAIN_TEXT[:-1]}: {why}." if why else ABSTAIN_TEXT


def _whole(question: str, names: Sequence[str], parts: Sequence[str]) -> list[str]:
    """The things of ``question`` (:func:`things` of ``names``) that hold one of ``parts``,
    written whole: "AWS Bedrock", not "AWS and Bedrock"; "Azure OpenAI", not "Azure"; a
    place typed in lowercase is capitalised ("canada" is "Canada")."""
    places = {place.lower() for place in places_in(question)}
    return [
        " ".join(thing).title() if " ".join(thing).lower() in places else " ".join(thing)
        for thing in things(question, names)
        if set(thing) & set(parts)
    ]


def _listing(items: Sequence[str], conjunction: str = "and") -> str:
    """ "A", "A and B", "A, B and C" (each item once, in order)."""
    items = list(dict.fromkeys(items))
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def unquoted_names(question: str, names: Sequence[str], citations: list[Citation]) -> list[str]:
    """The question's ``names`` that the answer's quotes leave out.

    The quotes that answer are those sharing a term of the question besides its names (a
    quote that shares only a name, "I will describe Azure OpenAI service in another post",
    mentions the thing without saying anything about it); when none does, the quotes that
    name nothing of the question count (all of them if each names something). Each thing
    the question names must be mentioned by the passage of an answering quote: its
    paragraph, its section path or its document's title ("OpenAI" is in the title of a help
    article that says "we"). Names written next to each other are one thing ("Azure
    OpenAI"), mentioned whole in one passage; names apart are several things ("the link
    between ZDR and the BAA"), each in the passage of some answering quote. Returns the
    names of the things no answering passage mentions.
    """
    name_terms = {t for name in names for t in terms(name)}
    asked = set(terms(question)) - name_terms
    answering = (
        [c for c in citations if asked & terms_of(c.quote)]
        # None shares one: a quote that only names the thing still answers nothing.
        or [c for c in citations if not name_terms & terms_of(c.quote)]
        or citations
    )
    passages = [terms_of(f"{c.title}\n{c.section}\n{paragraph(c)}") for c in answering]
    missing: list[str] = []
    for thing in things(question, names):
        left_out = [[n for n in thing if not mentions(n, passage)] for passage in passages]
        missing.extend(min(left_out, key=len, default=thing))
    return missing


@lru_cache(maxsize=4096)
def terms_of(passage: str) -> frozenset[str]:
    """The terms of a passage or quote (cached: the same ones answer question after
    question)."""
    return frozenset(terms(passage))


def things(question: str, names: Sequence[str]) -> list[list[str]]:
    """``names`` grouped into the things they name: names written next to each other in
    ``question`` (only spaces between them) are one thing, "Azure OpenAI"."""
    groups: list[list[str]] = []
    position = 0
    for name in names:
        at = question.find(name, position)
        if groups and at >= 0 and not question[position:at].strip():
            groups[-1].append(name)
        else:
            groups.append([name])
        if at >= 0:
            position = at + len(name)
    return groups


def paragraph(citation: Citation) -> str:
    """The paragraph of the cited chunk that holds the quote (the whole chunk if the quote
    is not found in it verbatim)."""
    body, quote = citation.chunk_text, citation.quote
    at = body.find(quote)
    if at < 0 or not quote:
        return body or quote
    return paragraph_around(body, at, len(quote))


def paragraph_around(body: str, at: int, length: int) -> str:
    """The paragraph of ``body`` (blank-line separated) holding ``body[at : at + length]``."""
    start = body.rfind("\n\n", 0, at)
    end = body.find("\n\n", at + length)
    return body[start + 2 if start >= 0 else 0 : end if end >= 0 else len(body)]


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
