"""Hybrid retrieval: dense (Chroma cosine) and lexical (BM25) rankings fused by RRF.

Exact terms matter in this domain ("/v1/embeddings", "AES-256", "SOC 2", "baa@openai.com")
and a small embedding model blurs them; BM25 catches them. LangChain's BM25Retriever and
EnsembleRetriever return no scores, and abstention needs the dense similarity, so the
two rankings are fused here (reciprocal rank fusion, as EnsembleRetriever does).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from functools import lru_cache

from langchain_core.documents import Document

from app.abbreviations import Abbreviations
from app.corpus import ChunkInfo, chunk_body
from app.embeddings import EmbeddingBackend
from app.index.chroma import search_by_vector
from app.index.lexical import LexicalIndex
from app.terms import STOPWORDS, stem, terms  # noqa: F401 (re-exported: callers import them here)

log = logging.getLogger(__name__)

_COMPOUND = re.compile(r"[@./\-]")
RRF_K = 60  # the constant from the RRF paper, also EnsembleRetriever's default
# BM25 parameters. Length normalisation (b) is weaker than the usual 0.75: chunks here
# differ in length mostly by markdown furniture (attribution lines, links, list labels),
# not by how many topics they cover, and b=0.75 ranked one-line chunks above the longer
# ones that hold the answer (docs/evals.md has the measurements on the dev split).
BM25_K1 = 1.2
BM25_B = 0.35


# A word as written, for spotting names: letters/digits, possibly joined by @ . / -.
_WORD = re.compile(r"[A-Za-z0-9]+(?:[@./\-][A-Za-z0-9]+)*")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


def names(question: str, known: frozenset[str] = frozenset()) -> list[str]:
    """The named things of a question: "Google", "AWS", "GPT-4o", "ChatGPT Enterprise".

    A name is a word capitalised inside a sentence (the first word of a sentence is
    capitalised anyway), a word shaped like a name wherever it stands (an acronym "AWS",
    an inner capital "OpenAI"), or a word whose term is in ``known``: the terms a corpus
    only ever writes as names (:func:`name_terms`), so "is openai soc2 compliant" names
    OpenAI too. In a question written mostly in capitals, capitals say nothing: only
    ``known`` counts there.
    """
    sentences = [_WORD.findall(s) for s in _SENTENCE_SPLIT.split(question.strip())]
    lettered = [w for words in sentences for w in words if any(c.isalpha() for c in w)]
    shouting = len(lettered) > 3 and sum(w.isupper() for w in lettered) > len(lettered) / 2
    found = []
    for words in sentences:
        for position, word in enumerate(words):
            if len(word) < 2 or not any(c.isalpha() for c in word):
                continue
            cased = not shouting and (
                _NAME_SHAPED.fullmatch(word) or (position and any(c.isupper() for c in word))
            )
            if cased or (known and _simple_terms(word) & known):
                found.append(word)
    return found


# Shaped like a name wherever it stands: two capitals in a row ("AWS", "GPT-4o") or a
# capital after a lowercase letter ("OpenAI", "iPhone").
_NAME_SHAPED = re.compile(r"(?=.*(?:[A-Z]{2}|[a-z][A-Z]))[A-Za-z0-9@./\-]+")


def _simple_terms(word: str) -> set[str]:
    """The terms of a word that say which thing it names: its alphabetic parts, not the
    compound ("zdr-eligible" names ZDR by "zdr")."""
    return {p for p in terms(word) if not _COMPOUND.search(p) and any(c.isalpha() for c in p)}


def name_terms(texts: list[str]) -> frozenset[str]:
    """Terms a corpus only ever writes as names: shaped like one ("OpenAI", "BAA", "SOC2")
    and never in lowercase, so a question that writes them in lowercase ("does the baa
    cover...") still names them. Words the corpus merely capitalises ("Azure", "Help
    Center") are left out: lowercase, they are as likely ordinary words."""
    shaped: set[str] = set()
    lower: set[str] = set()
    for text in texts:
        for word in _WORD.findall(text):
            if _COMPOUND.search(word):  # addresses and paths: "baa@openai.com" names nothing
                continue
            if word.islower():
                lower.add(word)
            elif _NAME_SHAPED.fullmatch(word):
                shaped.add(word)
    lower_terms = {t for word in lower for t in _simple_terms(word)}
    return frozenset(t for word in shaped for t in _simple_terms(word) if t not in lower_terms)


def mentions(name: str, text_terms: set[str]) -> bool:
    """Whether a text whose terms are ``text_terms`` mentions ``name``: all of its
    alphabetic parts, normalised as retrieval normalises them ("SOC 2" and "SOC2" meet,
    "OpenAI's" is "openai")."""
    return _simple_terms(name) <= text_terms


@dataclass
class Hit:
    """One retrieved chunk with the evidence for it."""

    chunk: Document
    score: float  # fused RRF score: higher is better
    dense: float  # cosine similarity of chunk and question (-1..1)
    lexical: float  # BM25 score (0 when no term matches)
    coverage: float = 0.0  # IDF-weighted share of the question's terms found in the chunk

    @property
    def info(self) -> ChunkInfo:
        """Where the chunk comes from (document, section, line)."""
        return ChunkInfo.of(self.chunk)

    @property
    def body(self) -> str:
        """The chunk's text as it stands in the document (without the section header)."""
        return chunk_body(self.chunk)


class StaleIndexError(Exception):
    """The store changed under this retriever's view of it: reopen the index and retry."""


class HybridRetriever:
    """Dense + BM25 over all chunks of the store. Build once per process, query many times."""

    def __init__(
        self,
        collection,
        embeddings: EmbeddingBackend,
        chunks: list[Document],
        lexical: LexicalIndex | None = None,
    ):
        """``collection``: the index's chromadb collection (app.index.chroma.open_collection);
        ``lexical``: its BM25 index on disk (app/index/lexical.py), else one is built in
        memory from ``chunks`` (the same scores)."""
        self.collection = collection
        self.embeddings = embeddings
        self.chunks = chunks
        self._by_id = {chunk.id: i for i, chunk in enumerate(chunks)}
        self.lexical = lexical if lexical is not None else LexicalIndex.of_chunks(chunks)
        # What the corpus abbreviates ("zero data retention (ZDR)"): either form matches.
        self.abbreviations = Abbreviations((chunk_body(chunk) for chunk in chunks), terms)
        self._passage_terms = lru_cache(maxsize=100_000)(self._compute_passage_terms)
        self._name_terms = name_terms([chunk_body(chunk) for chunk in chunks])
        # Chunks in reading order, so an answer can continue into the next chunk of a file.
        ordered = sorted(chunks, key=lambda c: (ChunkInfo.of(c).source, ChunkInfo.of(c).start_char))
        self._next = {
            a.id: b
            for a, b in zip(ordered, ordered[1:], strict=False)
            if ChunkInfo.of(a).source == ChunkInfo.of(b).source
        }

    def next_chunk(self, chunk: Document) -> Document | None:
        """The chunk that follows ``chunk`` in its file, if any."""
        return self._next.get(chunk.id)

    def question_terms(self, text: str) -> list[str]:
        """The search terms of a question (:func:`terms`), with what the corpus abbreviates
        folded to its short form: "zero data retention" gives "zdr"."""
        return self.abbreviations.fold(terms(text))

    def passage_terms(self, text: str) -> frozenset[str]:
        """The search terms of a passage: as written, and the short forms of what it
        spells out, so that it matches a question in either form. Cached: the answerer
        asks for the same sentences question after question."""
        return self._passage_terms(text)

    def _compute_passage_terms(self, text: str) -> frozenset[str]:
        written = terms(text, joined=True)
        return frozenset(written) | frozenset(self.abbreviations.fold(written))

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term (0 for unknown terms)."""
        return max(0.0, self.lexical.idf(term) or 0.0)

    def names(self, question: str) -> list[str]:
        """The question's names (:func:`names`), with the terms this corpus only ever
        writes as names counted in lowercase too."""
        return names(question, self._name_terms)

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question (see :meth:`names`) that no indexed chunk contains.

        Documents that never name "Google" or "Anthropic" cannot answer a question about
        them, however close the rest of the question is to what they do say.
        """
        if not self.lexical.size:
            return names(question)
        known = self.lexical.idf
        return [
            name
            for name in self.names(question)
            if any(known(t) is None for t in _simple_terms(name))
        ]

    def term_weights(self, question_terms: set[str]) -> dict[str, float]:
        """IDF weight of each question term for :meth:`coverage`.

        A term the corpus never uses weighs as much as the rarest known term: a question
        about "sourdough" is far from a corpus that never says it.
        """
        if not self.lexical.size:
            return {}
        known = self.lexical.idf
        rarest = self.lexical.rarest_idf
        return {t: (self.idf(t) if known(t) is not None else rarest) for t in question_terms}

    @staticmethod
    def coverage(weights: dict[str, float], chunk_terms: set[str]) -> float:
        """IDF-weighted share of the question's terms that the chunk contains."""
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in chunk_terms) / total if total else 0.0

    def search(
        self, question: str, k: int, *, strict: bool = True
    ) -> tuple[list[Hit], dict[str, float]]:
        """Top-k hits, best first, and timings in ms (embed, search).

        ``strict``: raise :class:`StaleIndexError` when chunks vanish under the search (an
        ingest in another process deleted them). Otherwise leave them out: right after a
        reopen the view holds the new chunks, and only stale ones can still vanish.
        """
        t0 = time.perf_counter()
        vector = self.embeddings.embed_query(question)
        t1 = time.perf_counter()
        pool = min(len(self.chunks), max(4 * k, 20))
        dense_ranked = search_by_vector(self.collection, vector, pool)
        if strict and len(dense_ranked) < pool:
            # Chroma found ids whose text is gone: an ingest in another process deleted
            # chunks after this process loaded its view of the index.
            raise StaleIndexError("chunks vanished from the store during a search")
        # Chroma returns cosine *distance* for a cosine-space collection.
        dense = {doc.id: 1.0 - distance for doc, distance in dense_ranked}
        question_terms = terms(question)
        folded = self.abbreviations.fold(question_terms)
        question_terms += [t for t in folded if t not in question_terms]
        lexical = self.lexical.scores(question_terms, BM25_K1, BM25_B)

        fused = rrf([doc.id for doc, _ in dense_ranked], lexical.top(pool))

        weights = self.term_weights(set(folded))
        docs = {doc.id: doc for doc, _ in dense_ranked}
        hits = []
        for chunk_id, score in fused:
            if len(hits) == k:
                break
            i = self._by_id.get(chunk_id)
            if i is None and chunk_id not in docs:  # the lexical index is newer than our view
                if strict:
                    raise StaleIndexError(f"chunk {chunk_id} is not in this view of the index")
                continue
            chunk = docs.get(chunk_id) or self.chunks[i]
            similarity = dense.get(chunk_id)
            if similarity is None:  # lexical-only hit: compute its similarity for abstention
                stored = self._vector_of(chunk_id)
                if stored is None:
                    if strict:
                        raise StaleIndexError(f"chunk {chunk_id} vanished from the store")
                    continue
                similarity = cosine(vector, stored)
            coverage = self.coverage(weights, self.passage_terms(chunk.page_content))
            hits.append(Hit(chunk, score, similarity, lexical.of(chunk_id), coverage))
        t2 = time.perf_counter()
        return hits, {"embed": (t1 - t0) * 1000, "search": (t2 - t1) * 1000}

    def _vector_of(self, chunk_id: str) -> list[float] | None:
        """The stored vector of a chunk, or None if an ingest deleted it meanwhile."""
        got = self.collection.get(ids=[chunk_id], include=["embeddings"])
        if not len(got["ids"]):
            return None
        return list(got["embeddings"][0])


def rrf(*rankings: list[str]) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of rankings (ids, best first): each id scores the sum of
    ``1 / (RRF_K + rank)`` over the rankings that hold it (rank 1 is the best).

    Best first; equal scores keep the order in which the ids first appear (the first
    ranking's before the second's), so the dense ranking breaks ties.
    """
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, 1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: -item[1])  # stable: ties keep that order


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = (sum(x * x for x in a) ** 0.5) * (sum(y * y for y in b) ** 0.5)
    return dot / norm if norm else 0.0
