"""The pure logic of app/retrieval.py: rank fusion, coverage and the retriever's term
bookkeeping (BM25 itself: tests/test_index_lexical.py). No model and no store needed."""

from __future__ import annotations

import math

import pytest
from langchain_core.documents import Document

from app.corpus import ChunkInfo
from app.retrieval import (
    RRF_K,
    HybridRetriever,
    cosine,
    mentions,
    name_terms,
    names,
    rrf,
    stem,
    terms,
)

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
    by_id = retriever.get(["a1", "a2", "b1", "b2", "c1"])
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
    assert weights["sourdough"] == max(retriever.idf(t) for t in terms("aes-256 region eu"))
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


def test_a_place_is_a_name_in_any_case():
    assert names("do openai servers sit in canada") == ["canada"]
    assert names("is our data kept in new zealand?") == ["new", "zealand"]
    assert names("can you tell us?") == []


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
