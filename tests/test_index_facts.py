"""The corpus's tables in the lexical index's file (app/index/facts.py): after any run of
incremental updates they say what the same computations over every live chunk say (what a
reader computed from all chunks before). A real file, no model."""

from __future__ import annotations

import random

from langchain_core.documents import Document

from app.abbreviations import Abbreviations
from app.corpus import ChunkInfo, chunk_body
from app.index import postings
from app.index.lexical import LexicalIndex
from app.phi import vocabulary_of
from app.retrieval import HybridRetriever, name_terms
from app.terms import terms

from .conftest import make_settings

WORDS = (
    "OpenAI signs a Business Associate Agreement (BAA) for the API . zero data retention "
    "(ZDR) endpoints keep nothing ; the openai team reviews requests , SOC2 reports and "
    "Data Processing Addendum (DPA) terms . Maria Garcia asked about Azure and azure "
    "encryption at rest (EAR) with AES-256 , baa@openai.com answers"
).split()
DEFINITIONS = (
    "",
    "",
    "a Business Associate Agreement (BAA) is signed.",
    "zero data retention (ZDR) applies.",
    "zero data rules (ZDR) differ.",
    "the Data Processing Addendum (DPA) holds.",
)
SECTIONS = ("Doc > Intro", "Doc > Internal > Support routine", "Doc > FAQ")


def chunk(rng: random.Random, source: str, start: int) -> Document:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25)))
    text += " " + rng.choice(DEFINITIONS)  # two long forms of one short form
    header = f"{source} section\n\n"
    info = ChunkInfo(
        source, source, rng.choice(SECTIONS), source, start, start + len(text), 1, len(header)
    )
    return Document(
        id=f"{source}@{start}:{rng.random()}",
        page_content=header + text,
        metadata=info.as_metadata(),
    )


def document(rng: random.Random, source: str) -> list[Document]:
    return [chunk(rng, source, 100 * n) for n in range(rng.randint(1, 6))]


def expected(chunks: list[Document]) -> dict:
    """What a reader computed from every chunk before the tables."""
    order = sorted(chunks, key=lambda c: (ChunkInfo.of(c).source, ChunkInfo.of(c).start_char))
    sources: dict[str, int] = {}
    for c in chunks:
        sources[ChunkInfo.of(c).source] = sources.get(ChunkInfo.of(c).source, 0) + 1
    return {
        "pairs": Abbreviations((chunk_body(c) for c in chunks), terms).pairs,
        "names": name_terms([chunk_body(c) for c in chunks]),
        "words": vocabulary_of(c.page_content for c in chunks),
        "sources": sources,
        "sections": {(ChunkInfo.of(c).source, ChunkInfo.of(c).section) for c in chunks},
        "headings": {h for c in chunks for h in ChunkInfo.of(c).section.split(" > ")[1:]},
        "internal": {
            (ChunkInfo.of(c).source, ChunkInfo.of(c).section)
            for c in chunks
            if "Internal" in ChunkInfo.of(c).section
        },
        "next": {
            a.id: b.id
            for a, b in zip(order, order[1:], strict=False)
            if ChunkInfo.of(a).source == ChunkInfo.of(b).source
        },
    }


def found(index: LexicalIndex, chunks: list[Document]) -> dict:
    words = index.words()
    vocabulary = {w for c in chunks for w in vocabulary_of([c.page_content]) if w in words}
    assert "sourdough" not in words
    nexts = {}
    for c in chunks:
        info = ChunkInfo.of(c)
        following = index.next_id(c.id, info.source, info.start_char)
        if following is not None:
            nexts[c.id] = following
    return {
        "pairs": Abbreviations.of_pairs(index.abbreviation_pairs(), terms).pairs,
        "names": index.name_terms(),
        "words": vocabulary,
        "sources": index.sources(),
        "sections": set(index.sections()),
        "headings": set(index.headings()),
        "internal": set(index.sections("Internal")),
        "next": nexts,
    }


def test_the_tables_after_incremental_updates_equal_those_of_every_live_chunk(tmp_path):
    rng = random.Random(3)
    settings = make_settings(tmp_path)
    live = {f"d{n}.md": document(rng, f"d{n}.md") for n in range(12)}
    postings.update(settings, "gen", [c for cs in live.values() for c in cs], [], only=True)
    for round_ in range(5):  # documents changed, added, deleted
        changed = rng.sample(sorted(live), 4)
        removed = [c.id for source in changed for c in live.pop(source)]
        added = []
        for source in changed[:3] + [f"new{round_}.md"]:
            live[source] = document(rng, source)
            added += live[source]
        postings.update(settings, "gen", added, removed, only=False)
        chunks = [c for cs in live.values() for c in cs]
        index = LexicalIndex.open(settings, "gen")
        want = expected(chunks)
        assert want["pairs"] and want["names"] and want["next"]  # something to compare
        assert found(index, chunks) == want
        index.close()


def test_a_retriever_of_chunks_in_memory_reads_the_same_tables():
    rng = random.Random(5)
    chunks = [c for n in range(6) for c in document(rng, f"d{n}.md")]
    retriever = HybridRetriever(collection=None, embeddings=None, chunks=chunks)
    want = expected(chunks)
    assert retriever.abbreviations.pairs == want["pairs"]
    assert retriever.sources() == want["sources"]
    assert set(retriever.sections()) == want["sections"]
    assert all("sourdough" not in retriever.words() for _ in range(2))
    for c in chunks:
        following = retriever.next_chunk(c)
        assert (following.id if following else None) == want["next"].get(c.id)
    source = ChunkInfo.of(chunks[0]).source
    assert retriever.chunks_of(source) == [c for c in chunks if ChunkInfo.of(c).source == source]
