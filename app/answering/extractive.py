"""The default answerer, with no language model: it quotes the few sentences of the
retrieved chunks that best match the question, verbatim, each followed by its marker
``[n]``. A quote is always an exact substring of its source file."""

from __future__ import annotations

from app.answering.sentences import Sentence, is_quotable, leads_in, normalised, sentences
from app.answering.types import Answerer, Citation, Composed
from app.corpus import chunk_body
from app.retrieval import Hit, HybridRetriever, terms

# (score, hit rank, index among the hit's quotable sentences, hit)
Candidate = tuple[float, int, int, Hit]


class ExtractiveAnswerer(Answerer):
    """Quotes the best-matching sentences of the retrieved chunks, in document order."""

    name = "extractive"

    # Weight of the lexical match of a sentence against the question, versus the dense
    # similarity of the chunk it sits in. Sentences need both: a sentence sharing the
    # question's rare words, inside a chunk that is about the question.
    LEXICAL_WEIGHT = 0.6
    # A further sentence is quoted only if it scores at least this share of the best one.
    KEEP_RATIO = 0.7

    # Terms of a sentence's context (its section heading, the sentence before it) count
    # this much of its own: "email us at baa@openai.com" answers "How do I get started?".
    CONTEXT_WEIGHT = 0.5

    def __init__(self, max_quotes: int):
        self.max_quotes = max_quotes

    def compose(self, question: str, hits: list[Hit], retriever: HybridRetriever) -> Composed:
        candidates, quotable = self._candidates(question, hits, retriever)
        if not candidates:
            return Composed("", [])
        chosen = self._choose(candidates, quotable, retriever)

        # Readable order: group by document (in order of relevance), then as written.
        doc_order: dict[str, int] = {}
        for rank, _, hit in sorted(chosen, key=lambda c: c[0]):
            doc_order.setdefault(hit.info.source, rank)
        chosen.sort(key=lambda c: (doc_order[c[2].info.source], _absolute_start(c[1], c[2])))

        citations, parts = [], []
        for n, (_, sentence, hit) in enumerate(chosen, 1):
            citations.append(Citation.quoting(n, hit, sentence.text, sentence.offset))
            parts.append(f"{sentence.text} [{n}]")
        return Composed(" ".join(parts), citations)

    def _candidates(
        self, question: str, hits: list[Hit], retriever: HybridRetriever
    ) -> tuple[list[Candidate], list[list[Sentence]]]:
        """Every quotable sentence scored, best first, and the quotable sentences per hit."""
        idf = retriever.idf
        question_terms = set(terms(question))
        weight_total = sum(idf(t) for t in question_terms) or 1.0
        best_dense = max(hit.dense for hit in hits)

        candidates: list[Candidate] = []
        quotable: list[list[Sentence]] = []
        for rank, hit in enumerate(hits):
            heading_terms = set(terms(hit.info.section.rsplit(" > ", 1)[-1]))
            previous_terms = heading_terms
            quotable.append([])
            dense = hit.dense / best_dense if best_dense > 0 else 0.0
            for sentence in sentences(chunk_body(hit.chunk)):
                own_terms = set(terms(sentence.text))
                if is_quotable(sentence.text):
                    own = sum(idf(t) for t in question_terms & own_terms)
                    context = sum(idf(t) for t in (question_terms & previous_terms) - own_terms)
                    lexical = (own + self.CONTEXT_WEIGHT * context) / weight_total
                    score = self.LEXICAL_WEIGHT * lexical + (1 - self.LEXICAL_WEIGHT) * dense
                    candidates.append((score, rank, len(quotable[rank]), hit))
                    quotable[rank].append(sentence)
                previous_terms = own_terms | heading_terms
        candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
        return candidates, quotable

    def _choose(
        self,
        candidates: list[Candidate],
        quotable: list[list[Sentence]],
        retriever: HybridRetriever,
    ) -> list[tuple[int, Sentence, Hit]]:
        """(hit rank, sentence, hit) of the sentences to quote, best first."""
        chosen: list[tuple[int, Sentence, Hit]] = []
        seen: set[str] = set()

        def choose(rank: int, sentence: Sentence, hit: Hit) -> None:
            key = normalised(sentence.text)
            if key not in seen:
                seen.add(key)
                chosen.append((rank, sentence, hit))

        best = candidates[0][0]
        for score, rank, index, hit in candidates:
            if len(chosen) >= self.max_quotes or score < self.KEEP_RATIO * best:
                break
            sentence = quotable[rank][index]
            choose(rank, sentence, hit)
            # A lead-in ("the default retention of data is:") means nothing without what
            # it introduces, so the next sentence comes with it, from the next chunk if need be.
            if leads_in(sentence.text):
                following = _following(sentence, hit, quotable[rank][index + 1 :], retriever)
                if following:
                    choose(rank, *following)
        return chosen


def _following(
    sentence: Sentence, hit: Hit, rest: list[Sentence], retriever: HybridRetriever
) -> tuple[Sentence, Hit] | None:
    """The quotable sentence after ``sentence`` in its file, looking into the next chunk."""
    if rest:
        return rest[0], hit
    after = _absolute_start(sentence, hit) + len(sentence.text)
    following = retriever.next_chunk(hit.chunk)
    if following is None:
        return None
    neighbour = Hit(following, 0.0, hit.dense, 0.0)
    for candidate in sentences(chunk_body(following)):
        if is_quotable(candidate.text) and _absolute_start(candidate, neighbour) >= after:
            return candidate, neighbour
    return None


def _absolute_start(sentence: Sentence, hit: Hit) -> int:
    return hit.info.start_char + sentence.offset
