"""The check every chat-model answer goes through before anyone reads it.

Each sentence of the answer is split into clauses (app/answering/clauses.py), each with the
sources it cites. A marker must name a source that was sent; a cited clause must reach
``min_support`` (the IDF-weighted share of its terms found in the chunks it cites, 0 if one
of its figures is missing), leave at most ``max_missing`` of its weight unfound, agree on
negation with the cited sentence it matches best, and each chunk it keeps citing must share
a term with it. What fails is flagged in the text and in a notice (docs/llm.md).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from app.answering.abstain import ABSTAIN_TEXT, declines
from app.answering.clauses import Clause, negated_near, plain, split_sentence
from app.answering.markers import MARKER, marker_numbers
from app.answering.sentences import normalised, sentences
from app.answering.types import Citation
from app.corpus import chunk_body
from app.retrieval import Hit, HybridRetriever, terms

log = logging.getLogger(__name__)

_LEADING_MARKERS = re.compile(r"\s*(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+")
# Measured on evals/citation_clauses.jsonl, dev split (docs/llm.md): the weight of a
# clause's terms that its cited chunks lack, in units of the rarest term's weight. A false
# claim padded with the source's own words keeps a high share but still lacks its claim.
MAX_MISSING = 1.8
# An uncited lead-in ending in ":" with at most this many terms frames ("In short:"); one
# with more is a claim.
FRAMING_TERMS = 3


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
        claims.append(Claim(start, end, text, plain(text), marker_numbers(text)))
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


def missing_weight(
    claim_terms: set[str], chunk_terms: set[str], retriever: HybridRetriever
) -> float:
    """The weight of the claim's terms the chunk lacks, in units of the rarest term's weight
    (the weight of a term the corpus never uses): 2.0 is two rare words unaccounted for."""
    weights = retriever.term_weights(claim_terms)
    rarest = max(retriever.term_weights({""}).values(), default=1.0) or 1.0  # "" is no term
    return sum(w for t, w in weights.items() if t not in chunk_terms) / rarest


def source_terms(chunk) -> set[str]:
    """Terms of a source's text. (Adding its title and section path was measured too and
    did no better: docs/llm.md.)"""
    return set(terms(chunk_body(chunk)))


def _is_figure(term: str) -> bool:
    return any(c.isdigit() or c in "@/" for c in term)


@dataclass
class ClauseVerdict:
    """What the check made of one clause: its span in the answer and its flag, if any."""

    start: int
    end: int
    body: str
    flag: str | None


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    notices: list[str] = field(default_factory=list)
    supported: int = 0  # clauses with at least one valid, supporting citation
    abstained: bool = False
    clauses: list[ClauseVerdict] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """The check's thresholds (docs/llm.md has how they were measured)."""

    min_support: float
    max_missing: float = MAX_MISSING
    per_clause: bool = True  # False: whole sentences, no negation check (the old check)


@dataclass
class _Verdict:
    """What the check makes of one clause."""

    keep: list[int]  # the markers that stay: valid sources that support it
    flag: str | None  # the note appended to the clause, if any
    notice: list[str]  # for the reader


def split_clauses(answer: str, per_clause: bool = True) -> list[Clause]:
    """The answer's clauses (app/answering/clauses.py), in order; a lead-in ending in ":"
    with no marker after it in its sentence cites the next marker group of the answer."""
    out: list[Clause] = []
    for claim in split_claims(answer):
        if per_clause:
            out += split_sentence(answer, claim.start, claim.end)
        else:
            out.append(Clause(claim.start, claim.end, claim.body, claim.cited))
    for i, clause in enumerate(out):
        if clause.lead_in:
            clause.cited = next((c.cited for c in out[i + 1 :] if c.cited), [])
    return out


def check_citations(
    answer: str,
    sources: dict[int, Hit],
    retriever: HybridRetriever,
    min_support: float | Limits,
) -> Checked:
    """Check every clause of ``answer`` against the sources it cites.

    A marker must name a source that was sent; a cited clause must reach ``min_support``
    against the union of the chunks it cites, leave at most ``max_missing`` of its weight
    unfound there, agree with the best matching sentence of those chunks on negation, and
    a chunk it cites must share at least one of its terms. Markers that fail are removed
    and the clause is flagged in the text and in a notice. Each cited chunk becomes one
    :class:`Citation` whose quote is the chunk's sentence that best supports the clauses
    citing it (verbatim).
    """
    limits = min_support if isinstance(min_support, Limits) else Limits(min_support)
    clauses = split_clauses(answer, limits.per_clause)
    if declines(answer, has_markers=any(clause.cited for clause in clauses)):
        return Checked("", [], abstained=True)

    context = _Context(sources, {n: source_terms(h.chunk) for n, h in sources.items()}, retriever)
    checked = Checked("", [])
    support_for: dict[int, list[set[str]]] = {}  # n -> term sets of the clauses it supports
    verdicts = []
    for number, clause in enumerate(clauses, 1):
        own = set(terms(clause.body))
        verdict = _judge(number, clause, own, context, limits)
        verdicts.append(verdict)
        checked.notices += verdict.notice
        checked.clauses.append(ClauseVerdict(clause.start, clause.end, clause.body, verdict.flag))
        if verdict.keep:
            checked.supported += 1
            for n in verdict.keep:
                support_for.setdefault(n, []).append(own)
    checked.text = _rewritten(answer, clauses, verdicts)
    checked.citations = [
        _citation(n, sources[n], support_for[n], retriever) for n in sorted(support_for)
    ]
    return checked


@dataclass
class _Context:
    sources: dict[int, Hit]
    chunk_terms: dict[int, set[str]]
    retriever: HybridRetriever


def _judge(number: int, clause: Clause, own: set[str], context: _Context, limits: Limits):
    """Check one clause (the ``number``-th) whose terms are ``own``."""
    chunk_terms = context.chunk_terms
    verdict = _Verdict([], None, [])
    if _is_framing(clause, own, limits.per_clause):
        return verdict  # says nothing to check, whatever follows it
    invalid = ", ".join(str(n) for n in dict.fromkeys(clause.cited) if n not in chunk_terms)
    valid = [n for n in dict.fromkeys(clause.cited) if n in chunk_terms]
    if invalid:
        verdict.notice.append(f'Cites source {invalid}, which was not given: "{clause.body}"')
        verdict.flag = f"unverified: cites source {invalid}, which does not exist"
    if valid:
        union = set().union(*(chunk_terms[n] for n in valid))
        score = support(own, union, context.retriever)
        missing = missing_weight(own, union, context.retriever)
        opposite = limits.per_clause and _negation_differs(clause, own, valid, context)
        if score >= limits.min_support and missing <= limits.max_missing and not opposite:
            verdict.keep = [n for n in valid if own & chunk_terms[n]]
        if verdict.keep:
            verdict.flag = None  # supported by a real source; the invented marker just goes
        else:
            cited = ", ".join(str(n) for n in valid)
            verdict.flag = f"unverified: source {cited} does not say this"
            why = "Contradicts" if opposite else "Not supported by"
            verdict.notice.append(f'{why} source {cited}: "{clause.body}"')
            # Numbers only: the clause may repeat PHI from the question.
            log.info(
                "clause %d not supported by source %s (%.2f, missing %.2f, negation %s)",
                number,
                cited,
                score,
                missing,
                opposite,
            )
    elif not clause.cited and own:
        verdict.flag = "unverified: no source cited"
        verdict.notice.append(f'No source cited: "{clause.body}"')
    return verdict


def _negation_differs(clause: Clause, own: set[str], cited: list[int], context: _Context) -> bool:
    """Whether the clause negates what the best matching sentence of its cited chunks
    asserts, or asserts what it negates (a cue on one side only, near a shared term)."""
    best, best_score = None, -1.0
    for n in cited:
        for sentence in sentences(chunk_body(context.sources[n].chunk)):
            score = support(own, set(terms(sentence.text)), context.retriever)
            if score > best_score:
                best, best_score = sentence.text, score
    if best is None:
        return False
    shared = own & set(terms(best))
    return negated_near(clause.body, shared, terms) != negated_near(best, shared, terms)


def _is_framing(clause: Clause, own: set[str], per_clause: bool) -> bool:
    """An uncited lead-in ("In short:") or the abstention sentence: not a claim. Per
    clause, a lead-in is framing only if it says next to nothing (FRAMING_TERMS terms):
    one that says more is a claim, checked against the list it introduces."""
    if normalised(clause.body) == normalised(ABSTAIN_TEXT):
        return True
    if not clause.body.endswith(":"):
        return False
    return len(own) <= FRAMING_TERMS if per_clause else not clause.cited


def _rewritten(answer: str, clauses: list[Clause], verdicts: list[_Verdict]) -> str:
    """The answer with only the kept markers and each flagged clause's note: after the
    sentence's full stop for its last clause, before the separator for the others."""
    pieces: list[str] = []
    cursor = 0
    borrowed: set[int] = set()  # kept by clauses before that cite this clause's markers
    for i, (clause, verdict) in enumerate(zip(clauses, verdicts, strict=True)):
        text = answer[clause.start : clause.end]
        keep = set(verdict.keep)
        if not MARKER.search(text):
            borrowed |= keep
        else:
            keep, borrowed = keep | borrowed, set()
        last = i + 1 == len(clauses) or clauses[i + 1].start != clause.end
        pieces.append(answer[cursor : clause.start])
        pieces.append(_rewrite(text, keep, verdict.flag, last))
        cursor = clause.end
    pieces.append(answer[cursor:])
    return "".join(pieces).strip()


def _rewrite(text: str, keep: set[int], flag: str | None, last: bool) -> str:
    """A clause's text with only the markers in ``keep``, and the flag added."""

    def marker(match: re.Match) -> str:
        numbers = [int(n) for n in re.split(r"[,;]", match.group(1)) if int(n) in keep]
        return "".join(f"[{n}]" for n in numbers)

    lead = text[: len(text) - len(text.lstrip())]
    text = MARKER.sub(marker, text)
    text = re.sub(r"[ \t]+([.!?,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
    if not flag:
        return lead + text
    if last:
        return f"{lead}{text} ({flag})"
    body = text.rstrip(":,; ")
    return f"{lead}{body} ({flag}){text[len(body) :]}"


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
