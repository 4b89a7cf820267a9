"""The citation check of chat-model answers (app/answering/citation_check.py): invented
markers, unsupported and uncited sentences, declines. The real corpus and tokenizer; no
embedding model."""

from __future__ import annotations

from app.answering.abstain import ABSTAIN_TEXT
from app.answering.citation_check import check_citations, split_claims

from .answering_helpers import ENCRYPTION, RETENTION, hits_for
from .conftest import ROOT


def test_citation_check_flags_an_invented_marker_and_an_unsupported_sentence(corpus):
    _, retriever = corpus
    hits = hits_for(corpus, RETENTION, ENCRYPTION)
    sources = dict(enumerate(hits, 1))
    answer = (
        "OpenAI may keep API inputs and outputs for up to 30 days [1]. "
        "Data at rest is encrypted with AES-256 [2]. "
        "OpenAI deletes API data after 90 days [1]. "
        "OpenAI keeps all data on servers in Iceland [9]."
    )
    checked = check_citations(answer, sources, retriever, min_support=0.64)
    assert checked.supported == 2
    assert [c.n for c in checked.citations] == [1, 2]
    assert checked.text.startswith(
        "OpenAI may keep API inputs and outputs for up to 30 days [1]. "
        "Data at rest is encrypted with AES-256 [2]. "
    )
    assert "OpenAI deletes API data after 90 days. (unverified: source 1 does not say this)" in (
        checked.text
    )
    assert "Iceland. (unverified: cites source 9, which does not exist)" in checked.text
    assert "[9]" not in checked.text  # every remaining marker names a citation
    assert len(checked.notices) == 2
    assert any("source 9" in notice for notice in checked.notices)
    # Quotes are verbatim sentences of the cited chunk that support the claims.
    assert checked.citations[0].quote.startswith(RETENTION)
    assert checked.citations[1].quote.startswith(ENCRYPTION)
    for citation in checked.citations:
        text = (ROOT / citation.source).read_text(encoding="utf-8")
        assert citation.quote in text
        assert citation.quote.split("\n")[0] in text.splitlines()[citation.start_line - 1]


def test_a_true_sentence_cited_to_the_wrong_chunk_is_flagged(corpus):
    _, retriever = corpus
    sources = dict(enumerate(hits_for(corpus, RETENTION, ENCRYPTION), 1))
    checked = check_citations(
        "OpenAI encrypts all data at rest with AES-256 [1].", sources, retriever, 0.64
    )
    assert checked.supported == 0 and checked.citations == []
    assert "source 1 does not say this" in checked.text


def test_markers_after_the_full_stop_belong_to_the_sentence_before():
    claims = split_claims("Data is kept 30 days. [1] After that it is removed [2][3]. Done [1, 2].")
    assert [c.cited for c in claims] == [[1], [2, 3], [1, 2]]
    assert [c.body for c in claims] == [
        "Data is kept 30 days.",
        "After that it is removed.",
        "Done.",
    ]


def test_uncited_sentences_are_flagged_and_declines_abstain(corpus):
    _, retriever = corpus
    sources = dict(enumerate(hits_for(corpus, RETENTION), 1))
    checked = check_citations(
        "In short: OpenAI may retain API inputs for up to 30 days [1]. This is very reassuring.",
        sources,
        retriever,
        0.64,
    )
    assert checked.supported == 1
    assert checked.text.endswith("This is very reassuring. (unverified: no source cited)")
    for decline in (ABSTAIN_TEXT, "The provided sources do not mention this.", "  "):
        assert check_citations(decline, sources, retriever, 0.64).abstained


def flags(corpus, answer: str, *passages: str) -> list[tuple[str, bool]]:
    """(clause, flagged) for each clause the check finds in ``answer``."""
    _, retriever = corpus
    sources = dict(enumerate(hits_for(corpus, *passages), 1))
    checked = check_citations(answer, sources, retriever, 0.64)
    return [(v.body, v.flag is not None) for v in checked.clauses]


def test_each_clause_is_checked_so_a_false_clause_cannot_ride_on_a_true_one(corpus):
    true = "OpenAI may retain API inputs and outputs for up to 30 days"
    for answer in (
        f"{true}, and it sells them to advertising partners [1].",  # added false clause
        f"{true}; it also copies them to an archive abroad [1].",
        f"{true} [1], and after that it copies them to an archive abroad.",  # after a marker
    ):
        result = flags(corpus, answer, RETENTION)
        assert result[0] == (true, False), answer
        assert [flagged for _, flagged in result[1:]] == [True], answer


def test_a_false_claim_padded_with_the_sources_words_is_flagged(corpus):
    padded = (
        "OpenAI may securely retain API inputs and outputs for up to 30 days to provide the "
        "services and to identify abuse and to train its public models [1]."
    )
    assert flags(corpus, padded, RETENTION) == [(padded.replace(" [1]", ""), True)]


def test_negation_on_one_side_only_is_flagged_and_on_both_sides_is_not(corpus):
    assert flags(
        corpus, "OpenAI does not retain API inputs and outputs for 30 days [1].", RETENTION
    )[0][1]
    assert flags(corpus, "Data at rest is stored without encryption [1].", ENCRYPTION)[0][1]
    no_training = "API and Playground requests will not be used to train our models."
    assert not flags(
        corpus, "API and Playground requests are not used for training [1].", no_training
    )[0][1]
    assert flags(corpus, "API and Playground requests are used for training [1].", no_training)[0][
        1
    ]


def test_an_uncited_claim_ending_in_a_colon_is_flagged_a_short_lead_in_is_not(corpus):
    assert flags(corpus, "OpenAI reviews every API conversation by hand:", RETENTION) == [
        ("OpenAI reviews every API conversation by hand:", True)
    ]
    claim = (
        "OpenAI keeps backups of deleted API data for years: "
        "API inputs and outputs may be retained for up to 30 days [1]."
    )
    assert [flagged for _, flagged in flags(corpus, claim, RETENTION)] == [True, False]
    lead_in = "In short:\n- OpenAI may retain API inputs and outputs for up to 30 days [1]"
    assert [flagged for _, flagged in flags(corpus, lead_in, RETENTION)] == [False, False]


def test_a_flag_on_a_first_clause_stands_before_its_separator(corpus):
    _, retriever = corpus
    sources = dict(enumerate(hits_for(corpus, RETENTION), 1))
    answer = "OpenAI sells API data to advertisers, and it may retain inputs for up to 30 days [1]."
    checked = check_citations(answer, sources, retriever, 0.64)
    assert checked.text == (
        "OpenAI sells API data to advertisers (unverified: source 1 does not say this), "
        "and it may retain inputs for up to 30 days [1]."
    )
