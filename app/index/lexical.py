"""The lexical (BM25) index on disk, read: a question reads only its terms' rows.

The file and how ingest writes it: app/index/postings.py. A question's terms' rows are
read in one read transaction and scored with numpy exactly as rank_bm25's ``BM25Okapi``
with the eval's k1 and b would score them (its IDF, its floor for negative IDFs, the same
arithmetic in the same order: equal to the last bit, tests/test_index_lexical.py).
Opening reads the one meta row, whatever the size of the index; a reader notices an
ingest's commit by the meta row's version and reads the new state from then on.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from langchain_core.documents import Document

from app.config import Settings
from app.index import facts
from app.index.manifest import lexical_path
from app.index.postings import COUNT, SLICE, SLOT, Meta, connect, write


class LexicalIndex:
    """A reader of one lexical index: BM25 scores of a question's terms, and the IDF of
    the terms it knows. Safe to share between threads (one statement at a time)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection
        self._lock = threading.Lock()
        self._meta = Meta(version=-1)
        self._idf: dict[str, float | None] = {}  # of the terms looked up, this version
        self._norms: dict[tuple[float, float], np.ndarray] = {}
        self._parts = _Parts()
        with self._reading():
            pass

    @classmethod
    def open(cls, settings: Settings, collection: str) -> LexicalIndex | None:
        """The index of ``collection``, or None if none was written (an older index, or a
        first write killed before its commit)."""
        path = lexical_path(settings, collection)
        if not path.exists():
            return None
        index = cls(connect(path))
        if index._meta.version <= 0:
            index.close()
            return None
        return index

    @classmethod
    def of_chunks(cls, chunks: list[Document]) -> LexicalIndex:
        """An index of ``chunks`` in memory (an index from before this one, and tests)."""
        connection = connect(":memory:")
        write(connection, chunks, [], only=True)
        return cls(connection)

    @property
    def size(self) -> int:
        """How many chunks the index holds."""
        return self._meta.chunks

    @property
    def rarest_idf(self) -> float:
        """The largest IDF of any term (1.0 for an empty index)."""
        return self._meta.rarest_idf if self._meta.chunks else 1.0

    @contextmanager
    def _reading(self) -> Iterator[Meta]:
        """One read transaction (one state of the file), the meta row current."""
        with self._lock:
            self.connection.execute("BEGIN")
            try:
                try:
                    version = self.connection.execute("SELECT version FROM meta").fetchone()
                except sqlite3.OperationalError:  # created, never written: nothing yet
                    version = None
                if version is None or version[0] != self._meta.version:
                    self._meta = Meta.read(self.connection) if version else Meta()
                    self._idf, self._norms, self._parts = {}, {}, _Parts()
                yield self._meta
            finally:
                self.connection.execute("COMMIT")

    def idf(self, term: str) -> float | None:
        """rank_bm25's IDF of ``term``, or None if no chunk holds it. Kept per term: the
        answerer asks for the same terms again and again."""
        if term in self._idf:
            return self._idf[term]
        with self._reading() as meta:
            row = self.connection.execute(
                "SELECT df FROM postings WHERE term = ?", (term,)
            ).fetchone()
            value = self._idf[term] = meta.idf(row[0]) if row else None
        return value

    def scores(self, query: list[str], k1: float, b: float) -> LexicalScores:
        """BM25 (``k1``, ``b``) of every chunk for the query terms, a repeated term counted
        as often as it is repeated (as rank_bm25's ``get_scores``)."""
        with self._reading() as meta:
            score = np.zeros(len(meta.lengths))
            if not meta.chunks:
                return LexicalScores(self, score)
            for term in query:
                part = self._part(meta, term, k1, b)
                if part is not None:
                    slots, gain = part
                    score[slots] += meta.idf(len(slots)) * gain
        return LexicalScores(self, score)

    def _part(self, meta: Meta, term: str, k1: float, b: float):
        """The chunks holding ``term`` and its BM25 gain in each before the IDF,
        ``tf * (k1 + 1) / (tf + norm)`` (rank_bm25's arithmetic, so ``idf * gain`` is its
        number to the last bit), or None. Kept for the terms asked most recently."""
        key = (term, k1, b)
        found = self._parts.get(key)
        if found is None:
            row = self.connection.execute(
                "SELECT slots, counts FROM postings WHERE term = ?", (term,)
            ).fetchone()
            if row is None:
                return None
            slots = np.frombuffer(row[0], SLOT).astype(np.intp)
            tf = np.frombuffer(row[1], COUNT).astype(np.float64)
            found = (slots, tf * (k1 + 1) / (tf + self._norm(meta, k1, b)[slots]))
            self._parts.put(key, found)
        return found

    def _norm(self, meta: Meta, k1: float, b: float) -> np.ndarray:
        norm = self._norms.get((k1, b))
        if norm is None:
            lengths = meta.lengths.astype(np.float64)
            norm = self._norms[(k1, b)] = k1 * (1 - b + b * lengths / (meta.total / meta.chunks))
        return norm

    def ids_of(self, slots: list[int]) -> dict[int, str]:
        """The chunk id at each of ``slots`` still in the index."""
        found: dict[int, str] = {}
        with self._lock:
            for i in range(0, len(slots), SLICE):
                part = slots[i : i + SLICE]
                marks = ",".join("?" * len(part))
                query = f"SELECT slot, id FROM chunks WHERE slot IN ({marks})"
                found.update(self.connection.execute(query, part))
        return found

    def slot_of(self, chunk_id: str) -> int | None:
        """The slot of a chunk, or None if the index does not hold it."""
        with self._lock:
            row = self.connection.execute(
                "SELECT slot FROM chunks WHERE id = ?", (chunk_id,)
            ).fetchone()
        return row[0] if row else None

    def ids(self) -> set[str]:
        """Every chunk id in the index."""
        with self._lock:
            return {row[0] for row in self.connection.execute("SELECT id FROM chunks")}

    # -------------------------------------------------- the corpus (app/index/facts.py)

    def _read(self, query, *args):
        with self._lock:
            return query(self.connection, *args)

    def abbreviation_pairs(self) -> list[tuple[tuple[str, ...], str]]:
        """Every chunk's abbreviation definitions, in slot order (app.abbreviations)."""
        return self._read(facts.abbreviation_pairs)

    def name_terms(self) -> frozenset[str]:
        """The terms the corpus only ever writes as names (app.retrieval.name_terms)."""
        return self._read(facts.name_terms)

    def words(self) -> Words:
        """The lower-case words of the chunks (app.phi.vocabulary_of), looked up one by one."""
        return Words(self)

    def sections(self, holding: str = "") -> list[tuple[str, str]]:
        """Every (source, section) of the chunks whose section's text holds ``holding``."""
        return self._read(facts.sections, holding)

    def headings(self) -> list[str]:
        """Every heading of the chunks' sections (not their documents' titles), once."""
        return self._read(facts.headings)

    def sources(self) -> dict[str, int]:
        """How many chunks each document has."""
        return self._read(facts.sources)

    def next_id(self, chunk_id: str, source: str, start: int) -> str | None:
        """The id of the chunk after ``chunk_id`` (at ``start`` in ``source``) in its
        file's reading order, chunks at the same place in the order they were added."""
        slot = self.slot_of(chunk_id)
        after = self._read(facts.next_slot, source, start, -1 if slot is None else slot)
        return None if after is None else self.ids_of([after]).get(after)

    def close(self) -> None:
        self.connection.close()


class Words:
    """The lower-case words of an index's chunks, as a set to test words against
    (app.phi.PhiDetector's vocabulary); each word is looked up once."""

    def __init__(self, index: LexicalIndex):
        self.index = index
        self._known: dict[str, bool] = {}

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        if word not in self._known:
            self._known[word] = self.index._read(facts.has_word, word)
        return self._known[word]


class _Parts(OrderedDict):
    """The postings of the terms asked most recently, ready to score, up to BUDGET bytes:
    common terms hold tens of thousands of chunks at 100k, and reading and converting
    them again for every question was most of a question's lexical time."""

    BUDGET = 48 * 2**20

    def __init__(self):
        super().__init__()
        self.bytes = 0

    def get(self, key):
        found = super().get(key)
        if found is not None:
            self.move_to_end(key)
        return found

    def put(self, key, value) -> None:
        size = value[0].nbytes + value[1].nbytes
        if size > self.BUDGET:
            return
        self[key] = value
        self.bytes += size
        while self.bytes > self.BUDGET:
            _, (slots, gain) = self.popitem(last=False)
            self.bytes -= slots.nbytes + gain.nbytes


@dataclass
class LexicalScores:
    """The BM25 score of every slot for one question (:meth:`LexicalIndex.scores`)."""

    index: LexicalIndex
    by_slot: np.ndarray

    def top(self, n: int) -> list[str]:
        """The ids of the ``n`` best chunks with a positive score, best first, ties in the
        order the chunks were added."""
        scores = self.by_slot
        positive = np.flatnonzero(scores > 0)
        if len(positive) > n > 0:
            # Only candidates at or above the n-th best score need sorting.
            cut = np.partition(scores[positive], len(positive) - n)[len(positive) - n]
            positive = positive[scores[positive] >= cut]
        best = positive[np.argsort(-scores[positive], kind="stable")][:n].tolist()
        ids = self.index.ids_of(best)
        return [ids[slot] for slot in best if slot in ids]

    def of(self, chunk_id: str) -> float:
        """The score of one chunk (0.0 for a chunk the index does not hold)."""
        slot = self.index.slot_of(chunk_id)
        return float(self.by_slot[slot]) if slot is not None and slot < len(self.by_slot) else 0.0
