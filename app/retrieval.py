"""Hybrid retrieval: dense (Chroma cosine) and lexical (BM25) rankings fused by RRF.

Exact terms matter in this domain ("/v1/embeddings", "AES-256", "SOC 2", "baa@openai.com")
and a small embedding model blurs them; BM25 catches them. LangChain's BM25Retriever and
EnsembleRetriever return no scores, and abstention needs the dense similarity, so the
two rankings are fused here (reciprocal rank fusion, as EnsembleRetriever does).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from langchain_core.documents import Document

from app.abbreviations import Abbreviations
from app.corpus import ChunkInfo, chunk_body
from app.embeddings import EmbeddingBackend
from app.index.chroma import chunks_of_source, get_chunks, get_with_vectors, nearest
from app.index.lexical import LexicalIndex
from app.places import places_in
from app.terms import NAME_SHAPED as _NAME_SHAPED
from app.terms import NAME_WORD as _WORD
from app.terms import SENTENCE_BREAK, STOPWORDS, name_words, stem, terms  # noqa: F401 (re-exported: callers import them here)
from app.terms import simple_terms as _simple_terms

log = logging.getLogger(__name__)

SOURCES_KEPT = 32  # documents whose chunks a retriever keeps (chunks_of)
# Chunks a retriever keeps after a search read them (their ids hash their text, so a kept
# one is what the store holds for this view); a store read was 1.4 ms of an 8 ms warm answer.
CHUNKS_KEPT = 2048
RRF_K = 60  # the constant from the RRF paper, also EnsembleRetriever's default
# BM25 parameters. Length normalisation (b) is weaker than the usual 0.75: chunks here
# differ in length mostly by markdown furniture (attribution lines, links, list labels),
# not by how many topics they cover, and b=0.75 ranked one-line chunks above the longer
# ones that hold the answer (docs/evals.md has the measurements on the dev split).
BM25_K1 = 1.2
BM25_B = 0.35


def names(question: str, known: frozenset[str] = frozenset()) -> list[str]:
    """The named things of a question: "Google", "AWS", "GPT-4o", "ChatGPT Enterprise".

    A name is a word capitalised inside a sentence (the first word of a sentence is
    capitalised anyway), a word shaped like a name wherever it stands (an acronym "AWS",
    an inner capital "OpenAI"), a word of a place (:func:`app.places.places_in`: "do
    openai servers sit in canada" names Canada), or a word whose term is in ``known``: the
    terms a corpus only ever writes as names (:func:`name_terms`), so "is openai soc2
    compliant" names OpenAI too. In a question written mostly in capitals, capitals say
    nothing: only ``known`` counts there.
    """
    sentences = [_WORD.findall(s) for s in SENTENCE_BREAK.split(question.strip())]
    lettered = [w for words in sentences for w in words if any(c.isalpha() for c in w)]
    shouting = len(lettered) > 3 and sum(w.isupper() for w in lettered) > len(lettered) / 2
    place_words = {w.lower() for place in places_in(question) for w in _WORD.findall(place)}
    found = []
    for words in sentences:
        for position, word in enumerate(words):
            if len(word) < 2 or not any(c.isalpha() for c in word):
                continue
            cased = not shouting and (
                _NAME_SHAPED.fullmatch(word) or (position and any(c.isupper() for c in word))
            )
            if cased or word.lower() in place_words or (known and _simple_terms(word) & known):
                found.append(word)
    return found


def name_terms(texts: list[str]) -> frozenset[str]:
    """Terms a corpus only ever writes as names: shaped like one ("OpenAI", "BAA", "SOC2")
    and never in lowercase, so a question that writes them in lowercase ("does the baa
    cover...") still names them. Words the corpus merely capitalises ("Azure", "Help
    Center") are left out: lowercase, they are as likely ordinary words."""
    shaped: set[str] = set()
    lower: set[str] = set()
    for text in texts:
        more, less = name_words(text)
        shaped |= more
        lower |= less
    return frozenset(shaped - lower)


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

    @cached_property
    def info(self) -> ChunkInfo:
        """Where the chunk comes from (document, section, line); read once (the answerer
        asks for it for every sentence)."""
        return ChunkInfo.of(self.chunk)

    @cached_property
    def body(self) -> str:
        """The chunk's text as it stands in the document (without the section header)."""
        return chunk_body(self.chunk)


class StaleIndexError(Exception):
    """The store changed under this retriever's view of it: reopen the index and retry."""


class HybridRetriever:
    """Dense + BM25 over all chunks of the store. Build once per process, query many times.

    Nothing here holds every chunk: what the answer side needs about the whole corpus
    (its abbreviations, name terms, words, reading order, documents and sections) is read
    from the lexical index's tables (app/index/facts.py), and chunk texts from the store
    when a question needs them.
    """

    def __init__(
        self,
        collection,
        embeddings: EmbeddingBackend,
        chunks: list[Document] | None = None,
        lexical: LexicalIndex | None = None,
    ):
        """``collection``: the index's chromadb collection (app.index.chroma.open_collection);
        ``lexical``: its BM25 index on disk (app/index/lexical.py). Without it, ``chunks``
        (every chunk: an index from before it, and tests) are indexed and kept in memory,
        with the same scores and tables."""
        self.collection = collection
        self.embeddings = embeddings
        self._memory = None if lexical is not None else {c.id: c for c in chunks or []}
        self.lexical = lexical if lexical is not None else LexicalIndex.of_chunks(chunks or [])
        self.size = self.lexical.size  # chunks (Chroma's count takes 0.7 s at 110k)
        # What the corpus abbreviates ("zero data retention (ZDR)"): either form matches.
        self.abbreviations = Abbreviations.of_pairs(self.lexical.abbreviation_pairs(), terms)
        self._passage_terms = lru_cache(maxsize=100_000)(self._compute_passage_terms)
        self._name_terms = self.lexical.name_terms()
        # The answer reads a question's names three times (session, answerer, names check).
        self._names = lru_cache(maxsize=64)(lambda q: tuple(names(q, self._name_terms)))
        self._of_source: OrderedDict[str, list[Document]] = OrderedDict()
        self._of_source_lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[Document, np.ndarray | None]] = OrderedDict()
        self._kept_lock = threading.Lock()

    def next_chunk(self, chunk: Document) -> Document | None:
        """The chunk that follows ``chunk`` in its file, if any."""
        info = ChunkInfo.of(chunk)
        following = self.lexical.next_id(chunk.id, info.source, info.start_char)
        return None if following is None else self.get([following]).get(following)

    def get(self, ids: list[str]) -> dict[str, Document]:
        """The chunks of ``ids`` still stored, by id."""
        if self._memory is not None:
            return {id_: self._memory[id_] for id_ in ids if id_ in self._memory}
        return get_chunks(self.collection, ids)

    def _stored(
        self, ids: list[str], dense: dict[str, float]
    ) -> dict[str, tuple[Document, np.ndarray | None]]:
        """The chunks of ``ids`` still stored, by id, with their vectors where the dense
        search did not score them (abstention needs every hit's similarity): kept ones
        from memory, the others in one read, and kept for the next search."""
        with self._kept_lock:
            found = {
                i: self._kept[i]
                for i in ids
                if i in self._kept and (i in dense or self._kept[i][1] is not None)
            }
            for i in found:
                self._kept.move_to_end(i)
        missing = [i for i in ids if i not in found]
        if missing:
            read = {
                i: (chunk, None if vector is None else np.asarray(vector, dtype=np.float32))
                for i, (chunk, vector) in get_with_vectors(
                    self.collection, missing, any(i not in dense for i in missing)
                ).items()
            }
            found.update(read)
            with self._kept_lock:
                self._kept.update(read)
                while len(self._kept) > CHUNKS_KEPT:
                    self._kept.popitem(last=False)
        return found

    def chunks_of(self, source: str) -> list[Document]:
        """Every chunk of one document, in the store's order; the last few documents asked
        for are kept."""
        with self._of_source_lock:  # the page asks from several threads
            found = self._of_source.get(source)
            if found is not None:
                self._of_source.move_to_end(source)
                return found
        if self._memory is not None:
            found = [c for c in self._memory.values() if ChunkInfo.of(c).source == source]
        else:
            found = chunks_of_source(self.collection, source)
        with self._of_source_lock:
            self._of_source[source] = found
            while len(self._of_source) > SOURCES_KEPT:
                self._of_source.popitem(last=False)
        return found

    def sources(self) -> dict[str, int]:
        """How many chunks each document has in the index."""
        return self.lexical.sources()

    def sections(self, holding: str = "") -> list[tuple[str, str]]:
        """Every (source, section) of the index whose section's text holds ``holding``."""
        return self.lexical.sections(holding)

    def headings(self) -> list[str]:
        """Every heading of the index's sections (not the documents' titles), once."""
        return self.lexical.headings()

    def words(self):
        """The lower-case words of the chunks, as a set to test words against (the PHI
        check's vocabulary: app.phi.vocabulary_of)."""
        return self.lexical.words()

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
        return list(self._names(question))

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
        pool = min(self.size, max(4 * k, 20))
        ranked = nearest(self.collection, vector, pool)
        # Chroma returns cosine *distance* for a cosine-space collection.
        dense = {chunk_id: 1.0 - distance for chunk_id, distance in ranked}
        question_terms = terms(question)
        folded = self.abbreviations.fold(question_terms)
        question_terms += [t for t in folded if t not in question_terms]
        lexical = self.lexical.scores(question_terms, BM25_K1, BM25_B)

        fused = rrf([chunk_id for chunk_id, _ in ranked], lexical.top(pool))

        weights = self.term_weights(set(folded))
        hits: list[Hit] = []
        position = 0
        while len(hits) < k and position < len(fused):
            wanted = fused[position : position + k - len(hits)]
            position += len(wanted)
            # One read for their texts, with the vectors only if some were found by BM25
            # alone (abstention needs every hit's dense similarity).
            stored = self._stored([c for c, _ in wanted], dense)
            for chunk_id, score in wanted:
                chunk, similarity = None, dense.get(chunk_id)
                if chunk_id in stored:
                    chunk, chunk_vector = stored[chunk_id]
                    if similarity is None and chunk_vector is not None:
                        similarity = cosine(vector, chunk_vector)
                if chunk is None:
                    # An ingest in another process deleted it after this process opened
                    # its view of the index (or the lexical index is newer than the view).
                    if strict:
                        raise StaleIndexError(f"chunk {chunk_id} vanished from the store")
                    continue
                coverage = self.coverage(weights, self.passage_terms(chunk.page_content))
                hits.append(Hit(chunk, score, similarity, lexical.of(chunk_id), coverage))
        t2 = time.perf_counter()
        return hits, {"embed": (t1 - t0) * 1000, "search": (t2 - t1) * 1000}


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


def cosine(a, b) -> float:
    """Cosine similarity of two vectors (lists or arrays of the same length)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"vectors of different lengths: {a.shape} and {b.shape}")
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0
