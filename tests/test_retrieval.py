"""The pure logic of app/retrieval.py: BM25 from postings, top-n selection, rank fusion,
coverage and the retriever's term bookkeeping. No model and no store needed."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from langchain_core.documents import Document
from rank_bm25 import BM25Okapi

from app.corpus import ChunkInfo
from app.retrieval import (
    BM25_B,
    BM25_K1,
    RRF_K,
    HybridRetriever,
    SparseBM25,
    cosine,
    mentions,
    name_terms,
    names,
    rrf,
    stem,
    terms,
)

# ------------------------------------------------------------------------ SparseBM25


def random_corpus(rng: random.Random, docs: int, vocabulary: int) -> list[list[str]]:
    """Documents of 0-40 terms drawn from a small vocabulary (Zipf-like, so terms repeat
    within a document and some occur in most documents, giving negative IDFs)."""
    words = [f"w{i}" for i in range(vocabulary)]
    weights = [1 / (rank + 1) for rank in range(vocabulary)]
    return [rng.choices(words, weights, k=rng.randint(0, 40)) for _ in range(docs)]


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


def assert_same_scores(corpus: list[list[str]], queries: list[list[str]], **params) -> None:
    reference = BM25Okapi(corpus, **params)
    sparse = SparseBM25(reference)
    for query in queries:
        expected = reference.get_scores(query)
        got = sparse.get_scores(query)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9, err_msg=str(query))


@pytest.mark.parametrize("seed", range(8))
def test_sparse_bm25_scores_equal_rank_bm25_on_random_corpora(seed):
    rng = random.Random(seed)
    vocabulary = rng.choice([5, 30, 200])
    corpus = random_corpus(rng, rng.randint(2, 300), vocabulary)
    corpus[0] = corpus[0] or ["w0"]  # rank_bm25 divides by the average length
    assert_same_scores(corpus, random_queries(rng, vocabulary), k1=BM25_K1, b=BM25_B)


@pytest.mark.parametrize(("k1", "b"), [(1.5, 0.75), (0.3, 0.0), (2.0, 0.99), (1.2, 0.35)])
def test_sparse_bm25_takes_k1_and_b_from_the_bm25_object(k1, b):
    rng = random.Random(f"{k1}-{b}")
    corpus = random_corpus(rng, 120, 40)
    corpus[0] = corpus[0] or ["w0"]
    assert_same_scores(corpus, random_queries(rng, 40), k1=k1, b=b)


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_where_rank_bm25_divides_zero_by_zero_a_chunk_without_the_term_scores_zero():
    """With k1 = 0, or b = 1 and an empty chunk, rank_bm25 computes 0/0 = nan for chunks
    that lack a query term; from postings they are never touched and stay at 0. Elsewhere
    the scores are equal (the app's k1 and b are neither, and chunks are never empty)."""
    for corpus, k1, b in ([[["a", "b"], ["b"]], 0.0, 0.5], [[["a", "b"], []], 1.2, 1.0]):
        reference = BM25Okapi(corpus, k1=k1, b=b).get_scores(["a"])
        got = SparseBM25(BM25Okapi(corpus, k1=k1, b=b)).get_scores(["a"])
        assert math.isnan(reference[1]) and got[1] == 0.0
        assert got[0] == pytest.approx(reference[0])


def test_sparse_bm25_single_document_corpus():
    corpus = [["retention", "days", "retention", "api"]]
    queries = [["retention"], ["retention", "retention"], ["days", "api"], ["other"], []]
    assert_same_scores(corpus, queries, k1=BM25_K1, b=BM25_B)


def test_sparse_bm25_terms_in_every_document_and_empty_documents():
    # A term in every document has a negative IDF, floored by rank_bm25 at
    # epsilon * average IDF; documents without terms only ever score 0.
    corpus = [["data", "kept"], [], ["data", "deleted", "data"], ["data"], []]
    queries = [["data"], ["data", "kept"], ["deleted", "deleted"], ["missing"]]
    assert_same_scores(corpus, queries, k1=BM25_K1, b=BM25_B)
    scores = SparseBM25(BM25Okapi(corpus, k1=BM25_K1, b=BM25_B)).get_scores(["data", "kept"])
    assert scores[1] == scores[4] == 0.0


def test_empty_query_scores_zero_everywhere():
    bm25 = BM25Okapi([["a", "b"], ["b", "c"]])
    assert SparseBM25(bm25).get_scores([]).tolist() == [0.0, 0.0]


def reference_top(scores: list[float], n: int) -> list[int]:
    """The obvious definition: positive scores, best first, ties by index, at most n."""
    positive = [i for i, score in enumerate(scores) if score > 0]
    return sorted(positive, key=lambda i: (-scores[i], i))[:n]


@pytest.mark.parametrize("seed", range(20))
def test_top_is_the_n_best_positive_scores_ties_in_chunk_order(seed):
    rng = random.Random(seed)
    # Few distinct values, so ties (also across the n-th place) are common.
    scores = [rng.choice([-1.0, 0.0, 0.0, 0.5, 1.0, 2.0, 3.5]) for _ in range(rng.randint(0, 60))]
    for n in (0, 1, 2, 5, 20, 100):
        assert SparseBM25.top(np.asarray(scores), n) == reference_top(scores, n), (scores, n)


def test_top_examples():
    scores = np.asarray([0.0, 2.0, -1.0, 2.0, 5.0, 1.0])
    assert SparseBM25.top(scores, 3) == [4, 1, 3]
    assert SparseBM25.top(scores, 10) == [4, 1, 3, 5]  # never a zero or negative score
    assert SparseBM25.top(scores, 0) == []
    assert SparseBM25.top(np.zeros(4), 2) == []


# ------------------------------------------------------------------------------ fusion


def test_rrf_sums_reciprocal_ranks_over_the_rankings():
    fused = dict(rrf(["a", "b", "c"], ["c", "d"]))
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1))
    assert fused["b"] == pytest.approx(1 / (RRF_K + 2))
    assert fused["c"] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert fused["d"] == pytest.approx(1 / (RRF_K + 2))


def test_rrf_orders_best_first_and_breaks_ties_by_first_appearance():
    # "c" is in both rankings and wins; "a" and "x" tie (both first once), as do "b" and
    # "y": the first ranking's id comes first.
    assert [key for key, _ in rrf(["a", "b", "c"], ["x", "y", "c"])] == [
        "c",
        "a",
        "x",
        "b",
        "y",
    ]
    assert rrf() == [] and rrf([], []) == []
    assert [key for key, _ in rrf(["only"])] == ["only"]


def test_rrf_scores_are_strictly_decreasing_with_rank_in_one_ranking():
    ranking = [f"id{i}" for i in range(50)]
    scores = [score for _, score in rrf(ranking)]
    assert all(a > b for a, b in zip(scores, scores[1:], strict=False))
    assert [key for key, _ in rrf(ranking)] == ranking


# ----------------------------------------------------------- coverage, cosine, names


def test_coverage_is_the_idf_weighted_share_of_terms_found():
    weights = {"retain": 3.0, "data": 1.0}
    assert HybridRetriever.coverage(weights, {"retain", "data", "other"}) == 1.0
    assert HybridRetriever.coverage(weights, {"data"}) == 0.25
    assert HybridRetriever.coverage(weights, set()) == 0.0
    assert HybridRetriever.coverage({}, {"data"}) == 0.0  # no question terms: no coverage


def testcosine():
    assert cosine([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [0.0, 3.0]) == pytest.approx(0.0)
    assert cosine([1.0, 1.0], [-1.0, -1.0]) == pytest.approx(-1.0)
    assert cosine([0.0, 0.0], [1.0, 2.0]) == 0.0  # a zero vector is similar to nothing
    with pytest.raises(ValueError):
        cosine([1.0], [1.0, 2.0])


def chunk(id_: str, source: str, start: int, text: str) -> Document:
    info = ChunkInfo(source, source, "", source, start, start + len(text), 1, 0)
    return Document(id=id_, page_content=text, metadata=info.as_metadata())


@pytest.fixture
def retriever() -> HybridRetriever:
    chunks = [
        chunk("b2", "b.md", 500, "Backups are encrypted with AES-256."),
        chunk("a1", "a.md", 0, "OpenAI retains API data for 30 days."),
        chunk("b1", "b.md", 0, "Backups are kept in the EU region."),
        chunk("a2", "a.md", 200, "Data sent to the API is not used for training."),
        chunk("c1", "c.md", 0, "SOC 2 Type II report from OpenAI."),
    ]
    # Neither collection nor embeddings is touched by what is tested here.
    return HybridRetriever(collection=None, embeddings=None, chunks=chunks)


def test_next_chunk_follows_reading_order_within_a_file(retriever):
    by_id = {c.id: c for c in retriever.chunks}
    assert retriever.next_chunk(by_id["a1"]).id == "a2"
    assert retriever.next_chunk(by_id["b1"]).id == "b2"
    assert retriever.next_chunk(by_id["a2"]) is None  # the last of a.md, not c.md's first
    assert retriever.next_chunk(by_id["c1"]) is None


def test_idf_and_term_weights(retriever):
    assert retriever.idf("never") == 0.0
    assert retriever.idf("backup") > 0  # "Backups" in 2 of 5 chunks
    assert retriever.idf("aes-256") > retriever.idf("backup")  # rarer
    weights = retriever.term_weights({"aes-256", "sourdough"})
    # A term the corpus never uses weighs as much as the rarest known one.
    assert weights["sourdough"] == max(retriever.bm25.idf.values())
    assert weights["aes-256"] == retriever.idf("aes-256")


def test_unknown_names_are_names_no_chunk_contains(retriever):
    assert retriever.unknown_names("Does Google keep API data?") == ["Google"]
    assert retriever.unknown_names("Is OpenAI SOC 2 compliant?") == []
    assert retriever.unknown_names("How long is data kept?") == []


def test_an_empty_retriever_has_no_terms():
    empty = HybridRetriever(collection=None, embeddings=None, chunks=[])
    assert empty.idf("data") == 0.0
    assert empty.term_weights({"data"}) == {}
    assert empty.unknown_names("Does Google keep data?") == ["Google"]
    assert math.isclose(empty.coverage({}, set()), 0.0)


# ------------------------------------------------------------------ terms and names


def test_names_are_words_capitalised_inside_a_sentence():
    assert names("How do I get a BAA from Amazon Web Services?") == [
        "BAA",
        "Amazon",
        "Web",
        "Services",
    ]
    assert names("Does GPT-4o cost much? And OpenAI's API?") == ["GPT-4o", "OpenAI", "API"]
    assert names("Which endpoints are ZDR-eligible?") == ["ZDR-eligible"]
    assert names("HOW LONG DOES OPENAI KEEP DATA?") == []  # shouting, not naming
    assert names("Is data kept for 30 days?") == []


def test_names_shaped_like_names_count_at_the_start_and_known_ones_in_lowercase():
    assert names("AWS Bedrock: does it keep prompts?") == ["AWS", "Bedrock"]
    assert names("OpenAI keeps data how long?") == ["OpenAI"]
    assert names("Does it keep data?") == []  # a capitalised first word is no name
    known = name_terms(["OpenAI signs a BAA (HIPAA); see baa@openai.com.", "The API is ours."])
    assert {"openai", "baa", "hipaa", "api"} <= known
    assert "see" not in known and "the" not in known
    assert names("does the baa cover the openai api?", known) == ["baa", "openai", "api"]
    assert names("HOW LONG DOES OPENAI KEEP DATA?", known) == ["OPENAI"]
    # A word the corpus also writes in lowercase is no name in lowercase.
    assert "data" not in name_terms(["Data is kept.", "We keep DATA and data."])


def test_the_retriever_knows_the_names_its_corpus_writes(retriever):
    assert retriever.names("is openai soc 2 compliant?") == ["openai", "soc"]
    assert retriever.unknown_names("does hitrust apply?") == []  # unknown, but no name
    assert retriever.unknown_names("Does HITRUST apply?") == ["HITRUST"]


def test_mentions_compares_normalised_terms():
    assert mentions("SOC 2", set(terms("audited for SOC2")))
    assert mentions("OpenAI's", set(terms("OpenAI encrypts")))
    assert not mentions("Azure OpenAI", set(terms("OpenAI encrypts")))


def test_terms_keep_exact_compounds_and_fold_inflections():
    assert {"v1/" + stem("embeddings"), "v1"} <= set(terms("/v1/embeddings"))
    assert stem("embeddings") in terms("/v1/embeddings")
    # a compound's words fold like the same words on their own
    assert terms("fine-tuning")[0] == terms("fine-tune")[0] == "fin-tun"
    assert stem("tuning") == stem("tune")
    # an acronym with a number matches however it is spaced; a version number is left alone
    assert {"soc2", "soc", "2"} <= set(terms("SOC 2")) & set(terms("SOC2"))
    assert "tls1" not in terms("TLS 1.2+")
    # single letters ("s" of "OpenAI's") are no terms
    assert terms("OpenAI's policy") == ["openai", "policy"]
    assert stem("embeddings") == stem("embedding")
    assert {"aes-256", "256"} <= set(terms("AES-256"))
    assert "baa@openai.com" in terms("email baa@openai.com")
    assert stem("encrypts") == stem("encrypted") == stem("encryption") == "encrypt"
    assert "the" not in terms("the data")


def test_a_passages_hyphenated_word_also_matches_it_written_together():
    assert "finetun" in terms("Data submitted to fine-tune a model", joined=True)
    assert "finetun" in terms("our finetune files")
    # A question's own compound adds no joined term no passage has.
    assert "zdreligible" not in terms("Which endpoints are ZDR-eligible?")


def test_a_spelled_out_abbreviation_matches_its_short_form():
    chunks = [chunk("a1", "a.md", 0, "You may request zero data retention (ZDR) for endpoints.")]
    retriever = HybridRetriever(collection=None, embeddings=None, chunks=chunks)
    assert retriever.question_terms("is zero data retention on?") == ["zdr"]
    assert {"zdr", "zero", "retent"} <= retriever.passage_terms("zero data retention applies")
