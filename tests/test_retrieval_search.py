"""HybridRetriever.search over a real embedded Chroma store, with two-dimensional vectors
(no model): a chunk found by BM25 alone still gets its dense similarity, read from its
stored vector, and the store's vectors are read only when such a chunk is answered from."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from app.corpus import ChunkInfo
from app.index.chroma import open_collection, open_store
from app.retrieval import HybridRetriever

from .conftest import make_settings

RARE = "Zebra crossings are painted white."


class Directions:
    """The question points along x; chunk i a little above it; the rare chunk points the
    other way, so it is the last of 25 by similarity, out of the dense pool of 20."""

    def __init__(self, texts: list[str]):
        self.vectors = {t: [1.0, 0.01 * i] for i, t in enumerate(texts)}
        self.vectors[RARE] = [-1.0, 0.0]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]


@pytest.fixture
def retriever(tmp_path, monkeypatch):
    texts = [f"Backup number {i} is kept for a while." for i in range(24)] + [RARE]
    chunks = [
        Document(
            id=f"c{i:02d}",
            page_content=text,
            metadata=ChunkInfo(
                "a.md", "A", "", "a.md", 100 * i, 100 * i + len(text), 1, 0
            ).as_metadata(),
        )
        for i, text in enumerate(texts)
    ]
    embeddings = Directions(texts)
    collection = open_collection(make_settings(tmp_path), "privacy_qa_search", create=True)
    open_store(make_settings(tmp_path), embeddings, collection).add_documents(chunks)
    retriever = HybridRetriever(collection, embeddings, chunks=chunks)
    reads: list[list[str]] = []
    real_get = collection.get

    def get(*args, **kwargs):
        reads.append(list(kwargs.get("include", [])))
        return real_get(*args, **kwargs)

    monkeypatch.setattr(collection, "get", get)
    return retriever, reads


def test_a_chunk_found_by_bm25_alone_gets_its_stored_vectors_similarity(retriever):
    retriever, reads = retriever
    hits, _ = retriever.search("Where are zebra crossings?", 2)
    rare = [hit for hit in hits if hit.chunk.page_content == RARE]
    assert rare and rare[0].dense == pytest.approx(-1.0)
    assert any("embeddings" in include for include in reads)


def test_vectors_are_not_read_when_every_hit_was_found_by_similarity(retriever):
    retriever, reads = retriever
    hits, _ = retriever.search("How long is a backup kept?", 3)
    assert len(hits) == 3 and all(hit.dense > 0.99 for hit in hits)
    assert reads and not any("embeddings" in include for include in reads)


def test_chunks_a_search_read_are_kept_for_the_next(retriever):
    retriever, reads = retriever
    first, _ = retriever.search("Where are zebra crossings?", 2)
    count = len(reads)
    again, _ = retriever.search("Where are zebra crossings?", 2)
    assert len(reads) == count  # no second read of the store
    assert [h.chunk.id for h in again] == [h.chunk.id for h in first]
    assert [h.dense for h in again] == pytest.approx([h.dense for h in first])


def test_a_kept_chunk_without_its_vector_is_read_again_when_one_is_needed(retriever):
    retriever, reads = retriever
    retriever.search("How long is a backup kept?", 3)  # kept without vectors
    hits, _ = retriever.search("Where are zebra crossings? How long is a backup kept?", 3)
    assert all(hit.dense is not None for hit in hits)
