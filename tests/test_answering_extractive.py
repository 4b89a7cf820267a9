"""The extractive answerer (app/answering/extractive.py) on the real corpus's chunks, with
lexical statistics only: what it quotes must read as an answer. No model needed."""

from __future__ import annotations

from pathlib import Path

from app.answering.extractive import ExtractiveAnswerer
from tests.answering_helpers import CORPUS, hits_for

ENTERPRISE = "No, an enterprise agreement is not required to sign a BAA."
ZDR_LIST = "We are eligible for it when using API routes:"
ROUTINE_RESPONSE = 'Inform the customer: "Our team will respond within 1-2 business days."'
PUBLISHED_RESPONSE = "Our team will respond within 1-2 business days."
DEFINITIONS = "`provide_list_of_zero_retention_endpoints`:"
ENCRYPTION = "OpenAI encrypts all data at rest (AES-256)"
RETENTION = "OpenAI may securely retain API inputs and outputs for up to 30 days"


def answer(corpus, question, *passages, max_quotes=3):
    _, retriever = corpus
    return ExtractiveAnswerer(max_quotes).compose(question, hits_for(corpus, *passages), retriever)


def assert_literal(citations):
    for c in citations:
        text = (Path(CORPUS).parent / c.source).read_text(encoding="utf-8")
        assert c.quote in text
        assert text.splitlines()[c.start_line - 1].find(c.quote.splitlines()[0]) >= 0


def test_a_no_that_answers_another_heading_is_quoted_after_its_lead_in(corpus):
    composed = answer(corpus, "Will OpenAI sign a business associate agreement?", ENTERPRISE)
    assert composed.citations
    assert not composed.text.startswith(("No,", "Yes,"))
    assert "an enterprise agreement is not required" in composed.text
    assert_literal(composed.citations)


def test_a_no_that_answers_the_question_asked_keeps_its_lead_in(corpus):
    composed = answer(corpus, "Is an enterprise agreement required to sign a BAA?", ENTERPRISE)
    assert composed.text.startswith(ENTERPRISE)


def test_an_enumerating_sentence_answers_a_which_question_whole(corpus):
    composed = answer(corpus, "Which endpoints are ZDR-eligible?", ZDR_LIST, RETENTION, DEFINITIONS)
    assert "`/v1/" in composed.text  # an enumeration of the endpoints, not talk about them
    assert "Purpose" not in composed.text and "provide_list" not in composed.text
    assert_literal(composed.citations)


def test_the_published_sentence_is_quoted_rather_than_the_routine_saying_the_same(corpus):
    composed = answer(corpus, "How soon will the team respond?", ROUTINE_RESPONSE)
    assert [c.quote for c in composed.citations] == [PUBLISHED_RESPONSE]
    assert composed.citations[0].internal is False
    assert "Support routine" not in composed.citations[0].section


def test_a_quote_from_the_routine_is_marked_internal(corpus):
    routine = answer(corpus, "What should the agent ask the customer first?", "1. Thank the")
    assert routine.citations and all(c.internal for c in routine.citations)
    mixed = answer(corpus, "What if the customer is not approved?", "`case_resolution`")
    for c in routine.citations + mixed.citations:
        assert c.internal == ("Support routine" in c.section)
    assert_literal(routine.citations + mixed.citations)


def test_one_right_sentence_is_not_padded_with_loose_ones(corpus):
    composed = answer(
        corpus, "Is our data encrypted at rest and in transit?", ENCRYPTION, RETENTION
    )
    assert len(composed.citations) == 1
    assert composed.citations[0].quote.startswith(ENCRYPTION)


def test_each_part_of_a_two_part_question_gets_its_quote(corpus):
    composed = answer(
        corpus,
        "Which endpoints have ZDR on by default, and which ones can you opt into?",
        ZDR_LIST,
        RETENTION,
    )
    assert "`/v1/embeddings`" in composed.text and "`/v1/moderations`" in composed.text
    assert_literal(composed.citations)


def test_a_lead_in_cut_off_the_quote_does_not_score_for_it(corpus):
    # "says no" shares "no" only with the "No," that is not quoted.
    composed = answer(
        corpus,
        "What happens if OpenAI says no to our BAA?",
        "We are able to approve most customers",
        ENTERPRISE,
    )
    assert composed.citations[0].quote.startswith("We are able to approve most customers")
    assert "enterprise agreement" not in composed.text


def test_quotes_that_leave_out_a_named_thing_give_way_to_a_passage_naming_it(corpus):
    question = "Are ChatGPT Enterprise conversations used to train OpenAI models?"
    fine_tuning = "Your fine-tuned models are for your use alone"
    business = "We do not train on your business data"
    composed = answer(corpus, question, business, fine_tuning)
    assert composed.citations
    assert all("ChatGPT Enterprise" in c.quote for c in composed.citations)
    assert_literal(composed.citations)
    # A passage that names the thing but scores far below the best is not quoted for it.
    azure = answer(corpus, "Is Azure OpenAI data encrypted at rest?", ENCRYPTION)
    assert [c.quote for c in azure.citations][0].startswith(ENCRYPTION)


def test_a_no_is_no_answer_to_a_question_that_asks_which(corpus):
    composed = answer(corpus, "which apis does the baa cover", "No, only endpoints that are")
    assert "only endpoints that are eligible for zero retention" in composed.text
    assert not composed.text.startswith(("No,", "Yes,"))
    assert_literal(composed.citations)


def test_the_answer_opens_with_its_best_quote(corpus):
    composed = answer(
        corpus,
        "do we need an enterprise contract to sign the baa",
        ENTERPRISE,
        "We review each BAA request",
    )
    quotes = [c.quote for c in composed.citations]
    assert quotes[0] == "an enterprise agreement is not required to sign a BAA."
    assert len(quotes) > 1  # the other quote, written earlier in the article, follows
    assert_literal(composed.citations)


def test_a_lead_in_stays_before_what_it_introduces(corpus):
    composed = answer(
        corpus,
        "What compliance attestations can OpenAI show our vendor risk team?",
        "Regarding compliance, for GDPR",
        "Our API Platform has been audited",
    )
    quotes = [c.quote for c in composed.citations]
    lead = next(i for i, q in enumerate(quotes) if q.startswith("Regarding compliance"))
    assert quotes[lead + 1].startswith("Data Processing Addendum")
    assert_literal(composed.citations)
