"""What the answer side needs to know about the whole corpus, kept in the lexical index's
file (app/index/postings.py) and written in the same transaction, so that a serving
process reads it instead of loading every chunk (issue 17):

    facts          each chunk's slot, document (``source``) and ``start_char``: reading
                   order, so an answer can continue into the next chunk of a file
    abbreviations  the definitions each chunk makes ("zero data retention (ZDR)"), as
                   (the long form's terms, the short form's term), in slot order
    vocabulary     counts per (kind, word) over the chunks: the terms of words shaped like
                   a name and those of lowercase words (a corpus's name terms are the first
                   never in the second), the PHI check's lower-case words, each document's
                   sections, the sections' headings and each document's chunks
    contributions  each chunk's (kind, word) pairs (zlib), so that removing a chunk lowers
                   the counts without its text

Every table changes only with the chunks a run adds and removes, as the postings do.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections import Counter

from langchain_core.documents import Document

from app.abbreviations import pairs_of
from app.corpus import ChunkInfo, chunk_body
from app.phi import vocabulary_of
from app.terms import name_words, terms

SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    slot INTEGER PRIMARY KEY, source TEXT NOT NULL, start INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_order ON facts (source, start, slot);
CREATE TABLE IF NOT EXISTS abbreviations (
    slot INTEGER NOT NULL, position INTEGER NOT NULL, long TEXT NOT NULL, short TEXT NOT NULL,
    PRIMARY KEY (slot, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vocabulary (
    kind INTEGER NOT NULL, word TEXT NOT NULL, chunks INTEGER NOT NULL,
    PRIMARY KEY (kind, word)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contributions (slot INTEGER PRIMARY KEY, pairs BLOB NOT NULL);
"""
SHAPED, LOWER, WORD, SECTION, SOURCE, HEADING = range(6)  # the kinds of the vocabulary
_SEP = "\x1e"  # between a section's source and its heading path
_PAIRS = "\n"  # between the packed pairs of a chunk (no word, path or heading holds one)
SLICE = 500  # slots per IN (...)


def _place(chunk: Document) -> tuple[str, int, str, str]:
    """(source, start_char, section, body) of a chunk; one without the corpus's metadata
    (tests of the scores alone) is all body."""
    if "source" not in chunk.metadata:
        return "", 0, "", chunk.page_content
    info = ChunkInfo.of(chunk)
    return info.source, info.start_char, info.section, chunk_body(chunk)


def contributions(chunk: Document) -> set[tuple[int, str]]:
    """The (kind, word) pairs one chunk adds to the vocabulary."""
    source, _, section, body = _place(chunk)
    shaped, lower = name_words(body)
    out = {(SHAPED, t) for t in shaped} | {(LOWER, t) for t in lower}
    out |= {(WORD, w) for w in vocabulary_of([chunk.page_content])}
    out |= {(SECTION, f"{source}{_SEP}{section}"), (SOURCE, source)}
    out |= {(HEADING, heading) for heading in section.split(" > ")[1:]}  # not the title
    return out


def add(connection: sqlite3.Connection, chunks: list[Document], first_slot: int) -> None:
    """Record ``chunks`` at slots from ``first_slot`` on (inside the caller's transaction)."""
    counts: Counter[tuple[int, str]] = Counter()
    for n, chunk in enumerate(chunks):
        slot = first_slot + n
        source, start, _, body = _place(chunk)
        connection.execute("INSERT INTO facts VALUES (?, ?, ?)", (slot, source, start))
        connection.executemany(
            "INSERT INTO abbreviations VALUES (?, ?, ?, ?)",
            [
                (slot, i, " ".join(long), short)
                for i, (long, short) in enumerate(pairs_of(body, terms))
            ],
        )
        pairs = contributions(chunk)
        counts.update(pairs)
        packed = _PAIRS.join(f"{kind}{word}" for kind, word in sorted(pairs))
        connection.execute(
            "INSERT INTO contributions VALUES (?, ?)", (slot, zlib.compress(packed.encode(), 1))
        )
    connection.executemany(
        "INSERT INTO vocabulary VALUES (?, ?, ?) ON CONFLICT (kind, word) "
        "DO UPDATE SET chunks = chunks + excluded.chunks",
        [(kind, word, n) for (kind, word), n in counts.items()],
    )


def remove(connection: sqlite3.Connection, slots: list[int]) -> None:
    """Forget the chunks at ``slots`` (inside the caller's transaction)."""
    counts: Counter[tuple[int, str]] = Counter()
    for i in range(0, len(slots), SLICE):
        part = slots[i : i + SLICE]
        marks = ",".join("?" * len(part))
        for (packed,) in connection.execute(
            f"SELECT pairs FROM contributions WHERE slot IN ({marks})", part
        ):
            for pair in zlib.decompress(packed).decode().split(_PAIRS):
                counts[(int(pair[0]), pair[1:])] += 1
        for table in ("facts", "abbreviations", "contributions"):
            connection.execute(f"DELETE FROM {table} WHERE slot IN ({marks})", part)
    rows = [(n, kind, word) for (kind, word), n in counts.items()]
    connection.executemany(
        "UPDATE vocabulary SET chunks = chunks - ? WHERE kind = ? AND word = ?", rows
    )
    connection.executemany(
        "DELETE FROM vocabulary WHERE kind = ? AND word = ? AND chunks <= 0",
        [(kind, word) for _, kind, word in rows],
    )


# ------------------------------------------------------------------------ reading


def abbreviation_pairs(connection: sqlite3.Connection) -> list[tuple[tuple[str, ...], str]]:
    """Every chunk's definitions, chunk by chunk in slot order."""
    rows = connection.execute("SELECT long, short FROM abbreviations ORDER BY slot, position")
    return [(tuple(long.split(" ")), short) for long, short in rows]


def name_terms(connection: sqlite3.Connection) -> frozenset[str]:
    """Terms of words shaped like a name that no lowercase word of the corpus gives."""
    rows = connection.execute(
        "SELECT word FROM vocabulary AS v WHERE kind = ? AND NOT EXISTS "
        "(SELECT 1 FROM vocabulary WHERE kind = ? AND word = v.word)",
        (SHAPED, LOWER),
    )
    return frozenset(word for (word,) in rows)


def has_word(connection: sqlite3.Connection, word: str) -> bool:
    """Whether a chunk holds the lower-case word ``word`` (app.phi.vocabulary_of)."""
    found = connection.execute(
        "SELECT 1 FROM vocabulary WHERE kind = ? AND word = ?", (WORD, word)
    ).fetchone()
    return found is not None


def sections(connection: sqlite3.Connection, holding: str = "") -> list[tuple[str, str]]:
    """Every (source, section) of the chunks whose section's text holds ``holding``."""
    rows = connection.execute(
        "SELECT word FROM vocabulary WHERE kind = ? AND instr(word, ?) > 0", (SECTION, holding)
    )
    return [tuple(word.split(_SEP, 1)) for (word,) in rows]


def headings(connection: sqlite3.Connection) -> list[str]:
    """Every heading of the chunks' sections (their title aside), each once."""
    rows = connection.execute("SELECT word FROM vocabulary WHERE kind = ?", (HEADING,))
    return [word for (word,) in rows]


def sources(connection: sqlite3.Connection) -> dict[str, int]:
    """How many chunks each document has."""
    return dict(connection.execute("SELECT word, chunks FROM vocabulary WHERE kind = ?", (SOURCE,)))


def next_slot(connection: sqlite3.Connection, source: str, start: int, slot: int) -> int | None:
    """The slot of the chunk after (``start``, ``slot``) in ``source``'s reading order."""
    row = connection.execute(
        "SELECT slot FROM facts WHERE source = ? AND (start > ? OR (start = ? AND slot > ?)) "
        "ORDER BY start, slot LIMIT 1",
        (source, start, start, slot),
    ).fetchone()
    return row[0] if row else None
