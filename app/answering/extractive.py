"""The default answerer, with no language model: it quotes the few sentences of the
retrieved chunks that best match the question, verbatim, each followed by its marker
``[n]``. A quote is always an exact substring of its source file.

What it quotes must read as an answer to the question asked: no headings or fragments
(:func:`app.answering.sentences.is_quotable`), no "Yes,"/"No," that answers another
question, a list whole, no padding, and the published text rather than an internal
procedure that says the same thing. docs/evals.md ("Sentence choice") has the measurements
behind the weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from app.answering.abstain import paragraph_around, terms_of, things, unquoted_names
from app.answering.answer_type import gives, preferred
from app.answering.markers import quoted
from app.answering.questions import asking, asks_yes_no, question_parts
from app.answering.sentences import (
    Sentence,
    answer_lead,
    enumerates,
    is_internal,
    is_quotable,
    leads_in,
    normalised,
    plain,
    sentences,
    with_list,
)
from app.answering.types import Answerer, Citation, Composed
from app.corpus import ChunkInfo, chunk_body
from app.retrieval import Hit, HybridRetriever, mentions

# "Which endpoints ...", "list the ...": the answer is a list. A plural after "which".
_ASKS_FOR_LIST = re.compile(r"\bwhich\s+(?:\w+\s+)?\w{2,}[^s\W]s\b|\blist\b", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """A sentence that may be quoted, with its score and where it comes from."""

    score: float
    lexical: float  # its share of the question's terms (own and context), IDF-weighted
    rank: int  # of its hit
    index: int  # among its hit's sentences
    hit: Hit
    sentence: Sentence
    internal: bool


class ExtractiveAnswerer(Answerer):
    """Quotes the best-matching sentences of the retrieved chunks, in document order."""

    name = "extractive"

    # Weight of the lexical match of a sentence against the question, versus the dense
    # similarity of the chunk it sits in. Sentences need both: a sentence sharing the
    # question's rare words, inside a chunk that is about the question.
    LEXICAL_WEIGHT = 0.6
    # A further sentence is quoted only if it scores at least this share of the best one
    # (0.7 padded answers to three quotes; 0.9 lost facts on dev).
    KEEP_RATIO = 0.8
    # Another document than the best sentence's is quoted only when it scores this close.
    OTHER_DOCUMENT_RATIO = 0.9
    # Terms of a sentence's context (its heading path, the sentence before it) count
    # this much of its own: "email us at baa@openai.com" answers "How do I get started?".
    CONTEXT_WEIGHT = 0.5
    # Headings of the path used as context: 1 = the last heading only; 0 = all of them.
    HEADING_DEPTH = 1
    # Added to an enumerating sentence's score when the question asks for a list.
    LIST_BONUS = 0.3
    # Added to a sentence that gives the kind of answer the question word asks for: a
    # duration for "how long", an address or link for "where" (answer_type.PREFERRED).
    TYPE_BONUS = 0.3
    # A "Yes,"/"No," lead-in is kept only if the question is this close to the question
    # the sentence answers (its heading); otherwise the quote starts after it.
    OWN_QUESTION_MATCH = 0.6
    # An internal sentence gives way to a published one sharing this share of its terms.
    SAME_THING = 0.7
    # An internal sentence's score counts this much: published text comes first.
    INTERNAL_WEIGHT = 0.9

    def __init__(self, max_quotes: int):
        self.max_quotes = max_quotes
        # The published sentences of each document, for the retriever they were read from
        # (a reopened index brings a new retriever, and they are read again).
        self._published: dict[str, list] = {}
        self._published_from: HybridRetriever | None = None

    def compose(self, question: str, hits: list[Hit], retriever: HybridRetriever) -> Composed:
        candidates = self._candidates(question, hits, retriever)
        if not candidates:
            return Composed("", [])
        candidates = self._prefer_published(question, candidates, retriever)
        composed = self._quote(question, candidates, hits, retriever)
        names = retriever.names(asking(question))
        if names and unquoted_names(question, names, composed.citations):
            # The best quotes leave out a thing the question names (and would be refused):
            # quote instead from the passages that name it, if any answers.
            naming = self._naming(question, names, candidates, retriever)
            if naming:
                composed = self._quote(question, naming, hits, retriever)
        return composed

    def _quote(
        self,
        question: str,
        candidates: list[Candidate],
        hits: list[Hit],
        retriever: HybridRetriever,
    ) -> Composed:
        """The answer quoting the best of ``candidates``, and the best for each part of a
        question that asks two things, grouped by document and in reading order."""
        chosen = self._choose(candidates, hits, retriever)
        for part in question_parts(question):
            # A question that asks two things gets the best quote for each of them.
            found = self._candidates(part, hits, retriever)
            if found:
                found = self._prefer_published(part, found, retriever)
                for sentence, hit in self._choose(found, hits, retriever, limit=1):
                    if not any(_same(sentence, hit, s, h) for s, h in chosen):
                        chosen.append((sentence, hit))

        chosen = _reading_order(chosen)

        citations, parts = [], []
        for n, (sentence, hit) in enumerate(chosen, 1):
            citations.append(Citation.quoting(n, hit, sentence.text, sentence.offset))
            parts.append(f"{quoted(sentence.text)} [{n}]")  # a "[9]" in it is no marker
        return Composed(" ".join(parts), citations)

    # ------------------------------------------------------------------ scoring

    def _candidates(
        self, question: str, hits: list[Hit], retriever: HybridRetriever
    ) -> list[Candidate]:
        """Every quotable sentence of the hits, scored, best first."""
        idf, terms = retriever.idf, retriever.passage_terms
        question_terms = set(retriever.question_terms(question))
        weight_total = sum(idf(t) for t in question_terms) or 1.0
        best_dense = max(hit.dense for hit in hits)
        wants_list = bool(_ASKS_FOR_LIST.search(question))
        wants_kinds = preferred(question)
        yes_no = asks_yes_no(question)

        candidates: list[Candidate] = []
        for rank, hit in enumerate(hits):
            headings = hit.info.section.split(" > ")
            heading_terms = terms(" ".join(headings[-self.HEADING_DEPTH :]))
            own_question = headings[-1] if headings[-1].rstrip().endswith("?") else None
            internal = is_internal(hit.info.section)
            previous_terms = heading_terms
            dense = hit.dense / best_dense if best_dense > 0 else 0.0
            for index, sentence in enumerate(sentences(hit.body)):
                own_terms = terms(plain(sentence.text))
                if sentence.text.rstrip('"”’)*_ ').endswith("?"):
                    own_question = sentence.text
                if is_quotable(sentence):
                    quoted = self._without_foreign_lead(
                        sentence, own_question, question_terms, yes_no, retriever
                    )
                    # Scored on what is quoted: a "No," cut off does not match "says no".
                    said = own_terms if quoted is sentence else terms(plain(quoted.text))
                    own = sum(idf(t) for t in question_terms & said)
                    context = sum(idf(t) for t in (question_terms & previous_terms) - said)
                    lexical = (own + self.CONTEXT_WEIGHT * context) / weight_total
                    score = self.LEXICAL_WEIGHT * lexical + (1 - self.LEXICAL_WEIGHT) * dense
                    if wants_list and enumerates(sentence.text):
                        score += self.LIST_BONUS
                    if gives(wants_kinds, sentence.text):
                        score += self.TYPE_BONUS
                    if internal:
                        score *= self.INTERNAL_WEIGHT
                    candidates.append(Candidate(score, lexical, rank, index, hit, quoted, internal))
                previous_terms = own_terms | heading_terms
        candidates.sort(key=lambda c: (-c.score, c.rank, c.index))
        return candidates

    def _without_foreign_lead(
        self,
        sentence: Sentence,
        own_question: str | None,
        question_terms: set[str],
        yes_no: bool,
        retriever: HybridRetriever,
    ) -> Sentence:
        """``sentence``, or the part after its "Yes,"/"No," when the question asked is not
        the one the sentence answers (its heading's, or the question just before it), or
        asks no yes/no at all (``yes_no``: "Which APIs does the BAA cover?" is not answered
        by "No, ...")."""
        stripped = answer_lead(sentence)
        if stripped is None:
            return sentence
        if own_question is None or not yes_no:
            return stripped
        close = _match(question_terms, retriever.passage_terms(own_question), retriever.idf)
        return sentence if close >= self.OWN_QUESTION_MATCH else stripped

    def _prefer_published(
        self, question: str, candidates: list[Candidate], retriever: HybridRetriever
    ) -> list[Candidate]:
        """Each internal candidate replaced by the published sentence of its document that
        says the same thing, when there is one (it keeps the internal one's score)."""
        question_terms = set(retriever.question_terms(question))
        yes_no = asks_yes_no(question)
        out: list[Candidate] = []
        for candidate in candidates:
            if not candidate.internal:
                out.append(candidate)
                continue
            own = retriever.passage_terms(candidate.sentence.text)
            twins = [
                p
                for p in self._published_sentences(candidate.hit.info.source, retriever)
                if len(own & p[0]) / (min(len(own), len(p[0])) or 1) >= self.SAME_THING
            ]
            if not twins:
                out.append(candidate)
                continue
            _, sentence, hit, own_question = max(twins, key=lambda p: len(own & p[0]))
            sentence = self._without_foreign_lead(
                sentence, own_question, question_terms, yes_no, retriever
            )
            out.append(replace(candidate, sentence=sentence, hit=hit, internal=False))
        return out

    def _naming(
        self,
        question: str,
        names: list[str],
        candidates: list[Candidate],
        retriever: HybridRetriever,
    ) -> list[Candidate]:
        """The candidates whose passage (paragraph, heading path, title) names every thing
        the question names, that share a word of what it asks and that score close to the
        best candidate (``KEEP_RATIO``, as a further quote must). "Are ChatGPT Enterprise
        conversations used for training?" is answered from the passage that names ChatGPT
        Enterprise, not from a closer one that names only the API (app/answering/abstain.py
        refuses an answer whose quotes leave a named thing out)."""
        asks = asking(question)
        groups = things(asks, names)
        asked = set(retriever.question_terms(asks)) - {
            t for name in names for t in retriever.question_terms(name)
        }
        best = candidates[0].score
        naming = [
            c
            for c in candidates
            if c.score >= self.KEEP_RATIO * best
            and asked & retriever.passage_terms(plain(c.sentence.text))
            and all(mentions(n, _passage(c)) for thing in groups for n in thing)
        ]
        return naming

    def _published_sentences(self, source: str, retriever: HybridRetriever) -> list:
        """:func:`_published_sentences`, read once per document and retriever."""
        if retriever is not self._published_from:
            self._published, self._published_from = {}, retriever
        if source not in self._published:
            self._published[source] = _published_sentences(source, retriever)
        return self._published[source]

    # ------------------------------------------------------------------ choosing

    def _choose(
        self,
        candidates: list[Candidate],
        hits: list[Hit],
        retriever: HybridRetriever,
        limit: int | None = None,
    ) -> list[tuple[Sentence, Hit]]:
        """(sentence, hit) of what to quote, best first: the best sentence, and the others
        only while they score close to it (no padding)."""
        chosen: list[tuple[Sentence, Hit]] = []
        seen: set[str] = set()
        best = candidates[0]
        limit = limit or self.max_quotes

        def choose(sentence: Sentence, hit: Hit) -> None:
            key = normalised(sentence.text)
            if not any(key in s or s in key for s in seen):
                seen.add(key)
                chosen.append((sentence, hit))

        for candidate in candidates:
            if len(chosen) >= limit or candidate.score < self.KEEP_RATIO * best.score:
                break
            if candidate is not best and not self._close_enough(candidate, best):
                continue
            sentence, hit = candidate.sentence, candidate.hit
            if leads_in(sentence.text):
                # A lead-in ("the default retention of data is:") means nothing without
                # what it introduces: the list it opens, quoted whole, or the next sentence.
                listed = with_list(hit.body, sentence)
                if listed is not None:
                    choose(listed, hit)
                    continue
                following = _following(sentence, hit, retriever)
                if following is None:
                    continue
                choose(sentence, hit)
                choose(*following)
                continue
            choose(sentence, hit)
        return chosen[: limit + 1]

    def _close_enough(self, candidate: Candidate, best: Candidate) -> bool:
        if candidate.hit.info.source != best.hit.info.source:
            return candidate.score >= self.OTHER_DOCUMENT_RATIO * best.score
        return True


def _reading_order(chosen: list[tuple[Sentence, Hit]]) -> list[tuple[Sentence, Hit]]:
    """``chosen`` (best first) in the order an answer reads: it opens with the best quote
    and what follows it in its document, then that document's quotes before it, then the
    other documents' (in order of relevance), each as written; a lead-in stays before what
    it introduces. Read in document order only, half the answers opened with a quote that
    holds none of the facts asked for (docs/evals.md, "Session 8")."""
    if not chosen:
        return chosen
    doc_order: dict[str, int] = {}
    for position, (_, hit) in enumerate(chosen):
        doc_order.setdefault(hit.info.source, position)
    written = sorted(chosen, key=lambda c: (doc_order[c[1].info.source], _absolute_start(*c)))
    units: list[list[tuple[Sentence, Hit]]] = []
    for quote in written:
        before = units[-1][-1] if units else None
        if before and leads_in(before[0].text) and before[1].info.source == quote[1].info.source:
            units[-1].append(quote)  # "... can execute:" and the item it introduces
        else:
            units.append([quote])
    best = next(i for i, unit in enumerate(units) if chosen[0] in unit)
    source = chosen[0][1].info.source
    own = [i for i, unit in enumerate(units) if unit[0][1].info.source == source]
    order = [i for i in own if i >= best] + [i for i in own if i < best]
    order += [i for i in range(len(units)) if i not in own]
    return [quote for i in order for quote in units[i]]


def _same(sentence: Sentence, hit: Hit, other: Sentence, other_hit: Hit) -> bool:
    """Whether two quotes overlap in the same file."""
    if hit.info.source != other_hit.info.source:
        return False
    start, other_start = _absolute_start(sentence, hit), _absolute_start(other, other_hit)
    return start < other_start + len(other.text) and other_start < start + len(sentence.text)


def _match(question_terms: set[str], other_terms: set[str], idf) -> float:
    """How much two term sets say the same: the geometric mean of the IDF-weighted share
    of each found in the other."""
    shared = sum(idf(t) for t in question_terms & other_terms)
    a = sum(idf(t) for t in question_terms)
    b = sum(idf(t) for t in other_terms)
    return (shared / a * shared / b) ** 0.5 if a and b else 0.0


def _published_sentences(
    source: str, retriever: HybridRetriever
) -> list[tuple[set[str], Sentence, Hit, str | None]]:
    """(terms, sentence, hit, its heading if a question) of the quotable sentences of
    ``source`` outside its internal sections."""
    out = []
    for chunk in retriever.chunks_of(source):
        info = ChunkInfo.of(chunk)
        if info.source != source or is_internal(info.section):
            continue
        hit = Hit(chunk, 0.0, 0.0, 0.0)
        heading = info.section.split(" > ")[-1]
        own_question = heading if heading.rstrip().endswith("?") else None
        for sentence in sentences(chunk_body(chunk)):
            if is_quotable(sentence) and not leads_in(sentence.text):
                out.append((retriever.passage_terms(sentence.text), sentence, hit, own_question))
    return out


def _following(
    sentence: Sentence, hit: Hit, retriever: HybridRetriever
) -> tuple[Sentence, Hit] | None:
    """The quotable sentence after ``sentence`` in its file, looking into the next chunk."""
    after = _absolute_start(sentence, hit) + len(sentence.text)
    for candidate in sentences(hit.body):
        if _absolute_start(candidate, hit) >= after:
            return (candidate, hit) if is_quotable(candidate) else None
    following = retriever.next_chunk(hit.chunk)
    if following is None:
        return None
    neighbour = Hit(following, 0.0, hit.dense, 0.0)
    for candidate in sentences(chunk_body(following)):
        if _absolute_start(candidate, neighbour) >= after:
            return (candidate, neighbour) if is_quotable(candidate) else None
    return None


def _passage(candidate: Candidate) -> frozenset[str]:
    """The terms of a candidate's passage: its paragraph, heading path and title (as the
    names check reads a quote's passage, app/answering/abstain.py)."""
    sentence, info = candidate.sentence, candidate.hit.info
    paragraph = paragraph_around(candidate.hit.body, sentence.offset, len(sentence.text))
    return terms_of(f"{info.title}\n{info.section}\n{paragraph}")


def _absolute_start(sentence: Sentence, hit: Hit) -> int:
    return hit.info.start_char + sentence.offset
