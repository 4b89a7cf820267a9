"""Retrieval and extractive answers over the real index (real model, real Chroma)."""

from __future__ import annotations

import json

import pytest

from app.answer import ABSTAIN_TEXT, _is_quotable, sentences
from app.errors import EmptyQuestionError, QuestionTooLongError
from app.retrieval import names, stem, terms

from .conftest import ROOT

EVAL_ITEMS = [json.loads(line) for line in (ROOT / "evals/questions.jsonl").open()]


def test_sentences_are_exact_substrings_with_offsets():
    body = (
        "So what about data storage?\n\n> OpenAI may retain data for up to 30 days. After 30\n"
        "days, data is removed.\n>\n> — [Portal](https://x)\n- a. Inform the customer: "
        '"Our team will respond within 1-2 business days."\nWe use eg. Langchain here.'
    )
    found = sentences(body)
    for sentence in found:
        assert body[sentence.offset : sentence.offset + len(sentence.text)] == sentence.text
    texts = [s.text for s in found]
    assert "After 30\ndays, data is removed." in texts
    assert "We use eg. Langchain here." in texts
    assert any(t.startswith("Inform the customer:") for t in texts)


def test_a_sentence_may_start_with_a_link_but_not_only_be_one():
    assert _is_quotable("[This]( https://trust.openai.com/) is your go-to place for privacy.")
    assert not _is_quotable("[Enterprise Privacy portal](https://openai.com/enterprise-privacy)")
    assert not _is_quotable("— [Enterprise Privacy portal](https://openai.com/enterprise-privacy)")
    assert not _is_quotable("[1]: https://example.com/a long reference")
    assert not _is_quotable("Who can store the data if it is retained?")
    assert _is_quotable("For full list please refer to [OpenAI docs](https://platform.openai.com)")


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


@pytest.mark.slow
def test_retention_question_answers_30_days_cited_to_the_explainer(qa):
    answer = qa.ask("How long does OpenAI retain API data?")
    assert not answer.abstained
    assert "30 days" in answer.answer
    cited = [c for c in answer.citations if "30 days" in c.quote]
    assert cited and cited[0].source == "corpus/openai-api-privacy-explained.md"
    assert f"[{cited[0].n}]" in answer.answer
    assert set(answer.timings_ms) >= {"embed", "search", "compose", "total"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "question", ["What is a good recipe for sourdough bread?", "How do I bake a chocolate cake?"]
)
def test_unrelated_question_abstains(qa, question):
    answer = qa.ask(question)
    assert answer.abstained
    assert answer.answer == ABSTAIN_TEXT
    assert answer.citations == []


@pytest.mark.slow
def test_every_citation_quote_is_a_literal_substring_of_its_source_file(qa):
    checked = 0
    for item in EVAL_ITEMS:
        answer = qa.ask(item["question"])
        for citation in answer.citations:
            text = (ROOT / citation.source).read_text(encoding="utf-8")
            assert citation.quote in text, (item["id"], citation.quote)
            line = text.splitlines()[citation.start_line - 1]
            assert citation.quote.split("\n")[0] in line
            assert f"[{citation.n}]" in answer.answer
            checked += 1
    assert checked > len(EVAL_ITEMS)  # the check really ran over many quotes


@pytest.mark.slow
def test_exact_terms_are_found(qa):
    answer = qa.ask("Which email address handles BAA requests?")
    assert "baa@openai.com" in answer.answer
    answer = qa.ask("What does AES-256 protect?")
    assert "AES-256" in answer.answer


@pytest.mark.slow
@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_rejected(qa, question):
    with pytest.raises(EmptyQuestionError):
        qa.ask(question)


@pytest.mark.slow
def test_huge_question_is_rejected_with_the_limit(qa):
    with pytest.raises(QuestionTooLongError, match="limit is 2000"):
        qa.ask("retention " * 400)
    with pytest.raises(QuestionTooLongError, match="reads only 256"):
        qa.ask("How long is data retained? " * 50)


@pytest.mark.slow
def test_a_question_naming_something_the_documents_never_mention_abstains(qa):
    assert qa.retriever.unknown_names("Can I get a BAA from Oracle Cloud?") == ["Oracle", "Cloud"]
    assert qa.retriever.unknown_names("Is the OpenAI API SOC 2 and HIPAA ready?") == []
    for question in ("Can I get a BAA from Oracle Cloud?", "Does Salesforce keep API data?"):
        assert qa.ask(question).abstained, question
    answer = qa.ask("How do I get a business associate agreement with OpenAI?")
    assert "baa@openai.com" in answer.answer
