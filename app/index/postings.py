"""The lexical (BM25) index's file and its writer: postings per term in SQLite.

``data_dir/lexical/<collection>.sqlite`` (Python's own sqlite3), one per index generation,
holds

    postings  one row per term: how many chunks hold it, the first of them, and the chunks
              as two packed arrays, their slots (int32, ascending) and how often the term
              occurs in each (uint16)
    chunks    each chunk's slot (a number never reused), id, and distinct terms (so that
              removing it knows which rows to touch)
    meta      one row: a version, the number of chunks, their total length in terms, the
              length of each slot (int32 array) and rank_bm25's average and largest IDF

Ingest (app/index/ingest.py) writes it with :func:`update`: the chunks a run adds and
removes, read-modify-write of the rows of the terms they hold, in one transaction just
before it publishes the manifest. SQLite's rollback journal makes the commit atomic, so a
reader sees the old or the new index, never a mix, and a run killed before the commit
leaves the old one (the next reader rolls the journal back). Not WAL: it needs shared
memory, which network filesystems lack; readers read while an ingest writes and wait only
for the moment of its commit. Reading it: app/index/lexical.py.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from app.config import Settings
from app.index import facts
from app.index.manifest import LEXICAL_DIR, lexical_path
from app.terms import terms

log = logging.getLogger(__name__)

EPSILON = 0.25  # rank_bm25's floor for a negative IDF: EPSILON * the average IDF
SLOT, COUNT = np.int32, np.uint16
_MOST = int(np.iinfo(COUNT).max)  # a count above it (never, in a chunk) is capped
SLICE = 500  # ids per IN (...): SQLite caps the variables of one statement
_SCHEMA = """
CREATE TABLE IF NOT EXISTS postings (
    term TEXT PRIMARY KEY, df INTEGER NOT NULL, first INTEGER NOT NULL,
    slots BLOB NOT NULL, counts BLOB NOT NULL
) WITHOUT ROWID;
-- df and first of every term without reading the postings (rank_bm25's average IDF)
CREATE INDEX IF NOT EXISTS postings_stats ON postings (first, df);
CREATE TABLE IF NOT EXISTS chunks (
    slot INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, terms TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL,
    chunks INTEGER NOT NULL, total INTEGER NOT NULL, lengths BLOB NOT NULL,
    average_idf REAL NOT NULL, rarest_idf REAL NOT NULL
);
"""


def connect(path: Path | str) -> sqlite3.Connection:
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout = 10000")  # a commit in progress: wait for it
    return connection


@dataclass
class Meta:
    """The meta row: what scoring needs besides the postings of the question's terms."""

    version: int = 0
    chunks: int = 0
    total: int = 0
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, SLOT))
    average_idf: float = 0.0
    rarest_idf: float = 0.0

    @classmethod
    def read(cls, connection: sqlite3.Connection) -> Meta:
        row = connection.execute(
            "SELECT version, chunks, total, lengths, average_idf, rarest_idf FROM meta"
        ).fetchone()
        if row is None:
            return cls()
        version, chunks, total, lengths, average, rarest = row
        return cls(version, chunks, total, np.frombuffer(lengths, SLOT), average, rarest)

    def write(self, connection: sqlite3.Connection) -> None:
        connection.execute(
            "INSERT OR REPLACE INTO meta VALUES (1, ?, ?, ?, ?, ?, ?)",
            (self.version, self.chunks, self.total, self.lengths.astype(SLOT).tobytes())
            + (self.average_idf, self.rarest_idf),
        )

    def idf(self, df: int) -> float:
        """rank_bm25's IDF of a term held by ``df`` chunks."""
        value = math.log(self.chunks - df + 0.5) - math.log(df + 0.5)
        return value if value >= 0 else EPSILON * self.average_idf


# ------------------------------------------------------------------------ writing


@dataclass
class LexicalUpdate:
    """What :func:`update` changed, and what it cost."""

    added: int
    removed: int
    terms_rewritten: int
    seconds: float


def update(
    settings: Settings,
    collection: str,
    chunks: list[Document],
    remove: Iterable[str],
    *,
    only: bool,
) -> LexicalUpdate:
    """In one transaction: add the ``chunks`` the index lacks, delete the ids in ``remove``,
    and with ``only`` every chunk not in ``chunks`` (a full pass: ``chunks`` is the corpus)."""
    path = lexical_path(settings, collection)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = connect(path)
    # The whole change stays in memory until the commit: spilling it into the file early
    # would lock readers out for the rest of the transaction.
    connection.execute("PRAGMA cache_size = -262144")  # 256 MB
    try:
        done = write(connection, chunks, remove, only)
    finally:
        connection.close()
    _drop_older_layouts(settings, collection)  # read by no reader of this layout
    log.info(
        "lexical index %s: %d chunks added, %d removed, %d terms rewritten in %.1f s",
        path.name,
        done.added,
        done.removed,
        done.terms_rewritten,
        done.seconds,
    )
    return done


def write(
    connection: sqlite3.Connection,
    chunks: list[Document],
    remove: Iterable[str],
    only: bool,
) -> LexicalUpdate:
    started = time.perf_counter()
    connection.executescript(_SCHEMA + facts.SCHEMA)
    connection.execute("BEGIN IMMEDIATE")
    try:
        meta = Meta.read(connection)
        wanted = {chunk.id: chunk for chunk in chunks}
        present = _slots_of(connection, None if only else [*wanted, *remove])
        gone = {id_ for id_ in remove if id_ in present}
        if only:
            gone |= present.keys() - wanted.keys()
        adding = [c for id_, c in wanted.items() if id_ not in present or id_ in gone]
        lengths = meta.lengths.copy()
        removed_slots = [present[id_] for id_ in gone]
        removals = _remove_chunks(connection, removed_slots, lengths)
        facts.remove(connection, removed_slots)
        added = _add_chunks(connection, adding, len(lengths))
        facts.add(connection, adding, len(lengths))
        new_lengths = added.lengths
        rewritten = _rewrite_postings(connection, removals, added)
        meta.total += int(new_lengths.sum()) - int(meta.lengths.sum() - lengths.sum())
        meta.lengths = np.concatenate([lengths, new_lengths])
        meta.chunks += len(adding) - len(gone)
        meta.version += 1
        meta.average_idf, meta.rarest_idf = _idf_statistics(connection, meta.chunks)
        meta.write(connection)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return LexicalUpdate(len(adding), len(gone), rewritten, time.perf_counter() - started)


def _slots_of(connection: sqlite3.Connection, ids: list[str] | None) -> dict[str, int]:
    """The slot of each of ``ids`` the index holds (of every chunk, if None)."""
    if ids is None:
        return dict(connection.execute("SELECT id, slot FROM chunks"))
    found: dict[str, int] = {}
    for i in range(0, len(ids), SLICE):
        part = ids[i : i + SLICE]
        marks = ",".join("?" * len(part))
        found.update(connection.execute(f"SELECT id, slot FROM chunks WHERE id IN ({marks})", part))
    return found


def _remove_chunks(
    connection: sqlite3.Connection, slots: list[int], lengths: np.ndarray
) -> dict[str, list[int]]:
    """Delete the chunks at ``slots`` (their lengths set to 0); the slots to take out of
    each term's postings."""
    removals: dict[str, list[int]] = {}
    for i in range(0, len(slots), SLICE):
        part = slots[i : i + SLICE]
        marks = ",".join("?" * len(part))
        for slot, held in connection.execute(
            f"SELECT slot, terms FROM chunks WHERE slot IN ({marks})", part
        ).fetchall():
            for term in held.split():
                removals.setdefault(term, []).append(slot)
        connection.execute(f"DELETE FROM chunks WHERE slot IN ({marks})", part)
    lengths[slots] = 0
    return removals


@dataclass
class Added:
    """What :func:`_add_chunks` inserted: each term's new (slots, counts), where it first
    occurs among them (:func:`_first`), and the new chunks' lengths."""

    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    first: dict[str, int]
    lengths: np.ndarray


def _first(slot: int, position: int) -> int:
    """Where a term first occurs: in the chunk at ``slot``, as its ``position``-th distinct
    term. Ordered as rank_bm25 first meets terms (chunk by chunk, word by word)."""
    return (slot << 20) + position  # a chunk holds far fewer than 2**20 distinct terms


def _add_chunks(connection: sqlite3.Connection, chunks: list[Document], first_slot: int) -> Added:
    """Insert ``chunks`` at slots from ``first_slot`` on. Packed arrays, not Python lists:
    at 100k chunks the postings are millions of entries."""
    vocabulary: dict[str, int] = {}
    first: dict[str, int] = {}
    term_of, slot_of, count_of = array("i"), array("i"), array("H")
    lengths = np.zeros(len(chunks), SLOT)
    for n, chunk in enumerate(chunks):
        found = terms(chunk.page_content, joined=True)
        counts = Counter(found)
        slot = first_slot + n
        lengths[n] = len(found)
        for position, (term, count) in enumerate(counts.items()):
            if term not in vocabulary:
                vocabulary[term] = len(vocabulary)
                first[term] = _first(slot, position)
            term_of.append(vocabulary[term])
            slot_of.append(slot)
            count_of.append(min(count, _MOST))
        connection.execute(
            "INSERT INTO chunks (slot, id, terms) VALUES (?, ?, ?)",
            (slot, chunk.id, " ".join(counts)),
        )
    order = np.argsort(np.frombuffer(term_of, np.int32), kind="stable")  # slots stay ascending
    sorted_terms = np.frombuffer(term_of, np.int32)[order]
    slots = np.frombuffer(slot_of, np.int32)[order].astype(SLOT)
    counts = np.frombuffer(count_of, np.uint16)[order].astype(COUNT)
    bounds = np.searchsorted(sorted_terms, np.arange(len(vocabulary) + 1))
    postings = {
        term: (slots[bounds[i] : bounds[i + 1]], counts[bounds[i] : bounds[i + 1]])
        for term, i in vocabulary.items()
    }
    return Added(postings, first, lengths)


def _rewrite_postings(
    connection: sqlite3.Connection, removals: dict[str, list[int]], added: Added
) -> int:
    """Read-modify-write the row of every term touched: its removed slots out, its added
    ones appended (new slots are the largest, so each row stays in slot order)."""
    additions = added.postings
    touched = removals.keys() | additions.keys()
    for term in touched:
        row = connection.execute(
            "SELECT slots, counts, first FROM postings WHERE term = ?", (term,)
        ).fetchone()
        slots = np.frombuffer(row[0], SLOT) if row else np.zeros(0, SLOT)
        counts = np.frombuffer(row[1], COUNT) if row else np.zeros(0, COUNT)
        if term in removals:
            keep = ~np.isin(slots, np.asarray(removals[term], SLOT))
            slots, counts = slots[keep], counts[keep]
        if term in additions:
            slots = np.concatenate([slots, additions[term][0]])
            counts = np.concatenate([counts, additions[term][1]])
        if len(slots):
            first = _first_of(connection, term, int(slots[0]), row, added)
            connection.execute(
                "INSERT OR REPLACE INTO postings VALUES (?, ?, ?, ?, ?)",
                (term, len(slots), first, slots.tobytes(), counts.tobytes()),
            )
        elif row:
            connection.execute("DELETE FROM postings WHERE term = ?", (term,))
    return len(touched)


def _first_of(connection: sqlite3.Connection, term: str, slot: int, row, added: Added) -> int:
    """Where ``term`` first occurs now that its first chunk is at ``slot``: as before if
    that chunk stayed, as added if it is new, else (its first chunk was removed) read from
    the chunk that is first now."""
    if row is not None and row[2] >> 20 == slot:
        return row[2]
    if term in added.first and added.first[term] >> 20 == slot:
        return added.first[term]
    (held,) = connection.execute("SELECT terms FROM chunks WHERE slot = ?", (slot,)).fetchone()
    return _first(slot, held.split().index(term))


def _idf_statistics(connection: sqlite3.Connection, chunks: int) -> tuple[float, float]:
    """rank_bm25's average IDF over every term (its floor for negative IDFs is a quarter
    of it) and the largest IDF after that floor. The average is summed in rank_bm25's
    order, the order in which it first meets each term (chunk by chunk in slot order,
    word by word), so that it is equal to the last bit and exact ties of scores stay ties.
    Read from the index on (first, df), not from the postings."""
    frequencies = [df for (df,) in connection.execute("SELECT df FROM postings ORDER BY first")]
    if not frequencies:
        return 0.0, 0.0
    total = 0.0
    for df in frequencies:  # a plain left-to-right sum, as rank_bm25's
        total += math.log(chunks - df + 0.5) - math.log(df + 0.5)
    average = total / len(frequencies)
    rarest = math.log(chunks - min(frequencies) + 0.5) - math.log(min(frequencies) + 0.5)
    return average, rarest if rarest >= 0 else EPSILON * average


def drop(settings: Settings, collection: str) -> None:
    """Delete the lexical index of a dropped collection (an open reader keeps its file),
    in this layout and in earlier ones."""
    path = lexical_path(settings, collection)
    for part in (path, Path(f"{path}-journal")):
        part.unlink(missing_ok=True)
    _drop_older_layouts(settings, collection)


def _drop_older_layouts(settings: Settings, collection: str) -> None:
    """Delete the file of an earlier layout (``<collection>.sqlite``, layout 1)."""
    path = settings.data_dir / LEXICAL_DIR / f"{collection}.sqlite"
    for part in (path, Path(f"{path}-journal")):
        part.unlink(missing_ok=True)
