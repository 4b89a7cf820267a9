"""The check every chat-model answer goes through before anyone reads it.

Each sentence of the answer is a :class:`Claim` with the sources it cites. A marker must
name a source that was sent; a cited sentence must reach ``min_support`` (the IDF-weighted
share of its terms found in the chunks it cites, 0 if one of its figures is missing) and
each chunk it keeps citing must share a term with it. What fails is flagged in the text
and in a notice (docs/llm.md).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from app.answering.abstain import ABSTAIN_TEXT, declines
from app.answering.sentences import normalised, sentences
from app.answering.types import Citation
from app.corpus import chunk_body
from app.retrieval import Hit, HybridRetriever, terms

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"\s*(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+")


@dataclass
class Claim:
    """One sentence of the model's answer: its span in the answer and the sources it cites."""

    start: int
    end: int
    text: str  # the span, markers included
    body: str  # without markers
    cited: list[int]


def split_claims(answer: str) -> list[Claim]:
    """The answer's sentences; markers written after the full stop belong to the sentence
    before them ("... 30 days. [1] After that ..."), as a reader would take them."""
    spans: list[list[int]] = []
    for sentence in sentences(answer):
        start, end = sentence.offset, sentence.offset + len(sentence.text)
        lead = _LEADING_MARKERS.match(answer, start)
        if lead and lead.end() > start and spans:
            spans[-1][1] = max(spans[-1][1], min(lead.end(), end))
            start = lead.end()
        if start < end:
            spans.append([start, end])
    claims = []
    for start, end in spans:
        text = answer[start:end].rstrip()
        end = start + len(text)
        cited = [int(n) for group in _MARKER.findall(text) for n in re.split(r"[,;]", group)]
        body = " ".join(_MARKER.sub(" ", text).split())
        body = re.sub(r"\s+([.!?,;:])", r"\1", body)
        claims.append(Claim(start, end, text, body, cited))
    return claims


def support(claim_terms: set[str], chunk_terms: set[str], retriever: HybridRetriever) -> float:
    """How well a chunk supports a claim, 0..1: the IDF-weighted share of the claim's terms
    found in the chunk, or 0 if a figure of the claim is not in the chunk.

    Rare terms weigh most, and a term the corpus never uses weighs as much as the rarest
    one. Figures (terms with a digit, an ``@`` or a ``/``: "30", "aes-256", "1-2",
    "baa@openai.com", "v1/embeddings") must occur in the chunk as written: one wrong
    number barely moves a share of many words, but it is the claim (docs/llm.md).
    """
    if any(_is_figure(t) and t not in chunk_terms for t in claim_terms):
        return 0.0
    weights = retriever.term_weights(claim_terms)
    return retriever.coverage(weights, chunk_terms)


def source_terms(chunk) -> set[str]:
    """Terms of a source's text. (Adding its title and section path was measured too and
    did no better: docs/llm.md.)"""
    return set(terms(chunk_body(chunk)))


def _is_figure(term: str) -> bool:
    return any(c.isdigit() or c in "@/" for c in term)


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    notices: list[str] = field(default_factory=list)
    supported: int = 0  # sentences with at least one valid, supporting citation
    abstained: bool = False


@dataclass
class _Verdict:
    """What the check makes of one claim."""

    keep: list[int]  # the markers that stay: valid sources that support it
    flag: str | None  # the note appended to the sentence, if any
    notice: list[str]  # for the reader


def check_citations(
    answer: str, sources: dict[int, Hit], retriever: HybridRetriever, min_support: float
) -> Checked:
    """Check every sentence of ``answer`` against the sources it cites.

    A marker must name a source that was sent; a cited sentence must reach ``min_support``
    against the union of the chunks it cites, and a chunk it cites must share at least one
    of its terms. Markers that fail are removed and the sentence is flagged in the text
    and in a notice. Each cited chunk becomes one :class:`Citation` whose quote is the
    chunk's sentence that best supports the sentences citing it (verbatim).
    """
    claims = split_claims(answer)
    if declines(answer, has_markers=any(claim.cited for claim in claims)):
        return Checked("", [], abstained=True)

    chunk_terms = {n: source_terms(hit.chunk) for n, hit in sources.items()}
    notices: list[str] = []
    support_for: dict[int, list[set[str]]] = {}  # n -> term sets of the claims it supports
    pieces: list[str] = []
    cursor = 0
    supported = 0
    for number, claim in enumerate(claims, 1):
        own = set(terms(claim.body))
        verdict = _judge(number, claim, own, chunk_terms, retriever, min_support)
        notices += verdict.notice
        if verdict.keep:
            supported += 1
            for n in verdict.keep:
                support_for.setdefault(n, []).append(own)
        pieces.append(answer[cursor : claim.start])
        pieces.append(_rewrite(claim, verdict.keep, verdict.flag))
        cursor = claim.end
    pieces.append(answer[cursor:])

    citations = [_citation(n, sources[n], support_for[n], retriever) for n in sorted(support_for)]
    return Checked("".join(pieces).strip(), citations, notices, supported)


def _judge(
    number: int,
    claim: Claim,
    own: set[str],
    chunk_terms: dict[int, set[str]],
    retriever: HybridRetriever,
    min_support: float,
) -> _Verdict:
    """Check one claim (the ``number``-th) whose terms are ``own``."""
    verdict = _Verdict([], None, [])
    invalid = ", ".join(str(n) for n in dict.fromkeys(claim.cited) if n not in chunk_terms)
    valid = [n for n in dict.fromkeys(claim.cited) if n in chunk_terms]
    if invalid:
        verdict.notice.append(f'Cites source {invalid}, which was not given: "{claim.body}"')
        verdict.flag = f"unverified: cites source {invalid}, which does not exist"
    if valid:
        union = set().union(*(chunk_terms[n] for n in valid))
        score = support(own, union, retriever)
        if score >= min_support:
            verdict.keep = [n for n in valid if own & chunk_terms[n]]
        if verdict.keep:
            verdict.flag = None  # supported by a real source; the invented marker just goes
        else:
            cited = ", ".join(str(n) for n in valid)
            verdict.flag = f"unverified: source {cited} does not say this"
            verdict.notice.append(f'Not supported by source {cited}: "{claim.body}"')
            # Numbers only: the sentence may repeat PHI from the question.
            log.info(
                "sentence %d not supported by source %s (%.2f < %.2f)",
                number,
                cited,
                score,
                min_support,
            )
    elif not claim.cited and own and not _is_framing(claim):
        verdict.flag = "unverified: no source cited"
        verdict.notice.append(f'No source cited: "{claim.body}"')
    return verdict


def _is_framing(claim: Claim) -> bool:
    """An uncited lead-in ("In short:") or the abstention sentence: not a claim."""
    return claim.body.endswith(":") or normalised(claim.body) == normalised(ABSTAIN_TEXT)


def _rewrite(claim: Claim, keep: list[int], flag: str | None) -> str:
    """The claim's text with only the markers in ``keep``, and the flag appended."""

    def marker(match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"[,;]", match.group(1)) if int(n) in keep]
        return "".join(f"[{n}]" for n in numbers)

    text = _MARKER.sub(marker, claim.text)
    text = re.sub(r"[ \t]+([.!?,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).rstrip()
    return f"{text} ({flag})" if flag else text


def _citation(n: int, hit: Hit, claims: list[set[str]], retriever: HybridRetriever) -> Citation:
    """The chunk as a Citation; its quote is the sentence that best supports ``claims``."""
    body = chunk_body(hit.chunk)
    best, best_score = None, -1.0
    for sentence in sentences(body):
        sentence_terms = set(terms(sentence.text))
        score = sum(support(claim, sentence_terms, retriever) for claim in claims)
        if score > best_score:
            best, best_score = sentence, score
    if best is None:
        return Citation.quoting(n, hit, body.strip(), 0)
    return Citation.quoting(n, hit, best.text, best.offset)
