"""The lexical index on disk (app/index/lexical.py): postings per term in SQLite, scored as
rank_bm25 scores. No model and no store: the parity tests compare with rank_bm25's
BM25Okapi (the in-memory BM25 the app used before, through SparseBM25, which gave its
scores; dev extra) on random corpora and on the real corpus with every eval question; the
update tests use a real file."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from langchain_core.documents import Document

from app.index.lexical import LexicalIndex
from app.retrieval import BM25_B, BM25_K1
from app.terms import terms

from .conftest import ROOT

BM25Okapi = pytest.importorskip("rank_bm25", reason="the reference, in the dev extra").BM25Okapi


def random_corpus(rng: random.Random, docs: int, vocabulary: int) -> list[str]:
    """Documents of 0-40 words from a small vocabulary (Zipf-like, so words repeat within a
    document and some are in most documents, giving negative IDFs)."""
    words = [f"w{i}" for i in range(vocabulary)]
    weights = [1 / (rank + 1) for rank in range(vocabulary)]
    return [" ".join(rng.choices(words, weights, k=rng.randint(0, 40))) for _ in range(docs)]


def random_queries(rng: random.Random, vocabulary: int) -> list[list[str]]:
    words = [f"w{i}" for i in range(vocabulary)]
    queries = [rng.choices(words, k=rng.randint(1, 8)) for _ in range(20)]
    queries += [
        [],  # empty query
        ["unknown"],  # a term no document holds
        ["w0", "w0", "w0"],  # a repeated term counts once per occurrence
        ["w1", "unknown", "w1", "w2"],
        [words[-1], "nowhere", words[-1]],
    ]
    return queries


def documents(texts: list[str], prefix: str = "c") -> list[Document]:
    return [Document(page_content=text, id=f"{prefix}{i}") for i, text in enumerate(texts)]


def reference_of(chunks: list[Document], k1: float = BM25_K1, b: float = BM25_B):
    return BM25Okapi([terms(c.page_content, joined=True) for c in chunks], k1=k1, b=b)


def reference_top(scores, n: int) -> list[int]:
    """The obvious definition: positive scores, best first, ties by index, at most n."""
    positive = [i for i, score in enumerate(scores) if score > 0]
    return sorted(positive, key=lambda i: (-scores[i], i))[:n]


def assert_same_scores(index: LexicalIndex, chunks, queries, k1=BM25_K1, b=BM25_B) -> None:
    """Every chunk's score equal to rank_bm25's to the last bit, and the same ranking."""
    reference = reference_of(chunks, k1, b)
    slots = {id_: slot for slot, id_ in index.ids_of(list(range(4 * len(chunks) + 1))).items()}
    for query in queries:
        want = reference.get_scores(query)
        got = index.scores(query, k1, b)
        by_chunk = np.asarray([got.by_slot[slots[c.id]] for c in chunks])
        np.testing.assert_array_equal(by_chunk, want, err_msg=str(query))
        for n in (1, 5, len(chunks)):
            assert got.top(n) == [chunks[i].id for i in reference_top(want, n)], (query, n)


@pytest.mark.parametrize("seed", range(8))
def test_scores_equal_rank_bm25_on_random_corpora(seed):
    rng = random.Random(seed)
    vocabulary = rng.choice([5, 30, 200])
    texts = random_corpus(rng, rng.randint(2, 300), vocabulary)
    texts[0] = texts[0] or "w0"  # rank_bm25 divides by the average length
    chunks = documents(texts)
    assert_same_scores(LexicalIndex.of_chunks(chunks), chunks, random_queries(rng, vocabulary))


@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (0.3, 0.0), (2.0, 0.99), (1.2, 0.35)])
def test_k1_and_b_are_the_callers(k1, b):
    rng = random.Random(f"{k1}-{b}")
    texts = random_corpus(rng, 120, 40)
    texts[0] = texts[0] or "w0"
    chunks = documents(texts)
    assert_same_scores(LexicalIndex.of_chunks(chunks), chunks, random_queries(rng, 40), k1, b)


def test_terms_in_every_chunk_empty_chunks_and_idf():
    # A term in every chunk has a negative IDF, floored by rank_bm25 at epsilon * the
    # average IDF; chunks without terms never score.
    chunks = documents(["data kept", "", "data deleted data", "data", ""])
    index = LexicalIndex.of_chunks(chunks)
    assert_same_scores(index, chunks, [["data"], ["data", "kept"], ["delet", "delet"], []])
    reference = reference_of(chunks)
    for term, value in reference.idf.items():
        assert index.idf(term) == value
    assert index.idf("missing") is None
    assert index.rarest_idf == max(reference.idf.values())


def test_an_empty_index_scores_nothing():
    index = LexicalIndex.of_chunks([])
    assert index.size == 0 and index.rarest_idf == 1.0
    assert index.scores(["data"], BM25_K1, BM25_B).top(5) == []
    assert index.idf("data") is None


def test_top_and_of():
    texts = ["retention days", "retention", "encryption", "retention retention", "a", "b", "c"]
    chunks = documents(texts)
    scores = LexicalIndex.of_chunks(chunks).scores(terms("retention"), BM25_K1, BM25_B)
    assert scores.top(2) == ["c3", "c1"]  # the shortest with one occurrence beats "c0"
    assert scores.top(0) == []
    assert scores.of("c2") == 0.0 and scores.of("gone") == 0.0  # not holding it, not there
    assert scores.of("c3") > scores.of("c1") > scores.of("c0") > 0


def test_every_eval_question_scores_as_rank_bm25_on_the_real_corpus(corpus):
    """The real corpus chunked as ingest does, each eval question's terms as the retriever
    searches them (with the corpus's abbreviations folded in): the same scores and ranking."""
    chunks, retriever = corpus
    lines = (ROOT / "evals" / "questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    queries = []
    for question in questions:
        query = terms(question)
        query += [t for t in retriever.abbreviations.fold(query) if t not in query]
        queries.append(query)
    assert len(queries) > 300
    assert_same_scores(LexicalIndex.of_chunks(chunks), chunks, queries)
