"""Questions over the real index (real model, real Chroma): extractive answers, citations,
abstention and question checks (app/session.py)."""

from __future__ import annotations

import json

import pytest

from app.answering.abstain import ABSTAIN_TEXT
from app.conversation import Turn
from app.errors import EmptyQuestionError, QuestionTooLongError, UserError

from .conftest import ROOT, copy_corpus, make_settings

EVAL_ITEMS = [json.loads(line) for line in (ROOT / "evals/questions.jsonl").open()]


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
def test_a_question_with_a_lone_surrogate_is_a_user_error(qa):
    with pytest.raises(UserError, match="not text"):
        qa.ask("How long is data kept? \ud800")


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
    # As plain Q&A (the support routine would ask back which BAA: tests/test_routine_*).
    answer = qa.ask("How do I get a business associate agreement with OpenAI?", routines=False)
    assert "baa@openai.com" in answer.answer


@pytest.mark.slow
def test_quotes_refused_after_composing_are_never_streamed(qa):
    # Composed from the 30-day sentences, then refused: no quote names Azure OpenAI's
    # retention. Quotes come whole, after the checks: nothing is streamed before.
    events = list(qa.stream("How long does Azure OpenAI keep prompts?"))
    assert len(events) == 1 and events[0].abstained
    answered = list(qa.stream("How long is API data retained?"))
    assert len(answered) == 1 and "30 days" in answered[0].answer


@pytest.mark.slow
def test_a_persons_name_is_the_data_asked_about_not_an_unknown_thing(qa):
    # The PHI check's person names do not count as things the documents never mention;
    # a vendor's name still does.
    question = "Can we send patient Maria Garcia's PHI through the API?"
    assert qa.retriever.unknown_names(question) == ["Maria", "Garcia"]
    answer = qa.ask(question)
    assert not answer.abstained and "protected health information" in answer.answer
    assert qa.ask("Can we send patient Maria Garcia's PHI through Oracle Cloud?").abstained


@pytest.mark.slow
def test_the_support_routine_through_the_real_index(qa):
    clarify = qa.ask("I need a BAA")
    assert clarify.clarify.options == ["API", "ChatGPT Enterprise"] and not clarify.abstained
    history = [Turn(clarify.question, clarify.answer)]
    api = qa.ask("API", history)
    explainer = [c for c in api.citations if c.source.endswith("privacy-explained.md")]
    assert any("/v1/embeddings" in c.quote for c in explainer)  # the function's lookup
    text = (ROOT / "corpus" / "openai-baa-help-article.md").read_text(encoding="utf-8")
    assert all(c.quote in text for c in api.citations if c not in explainer)
    sales = qa.ask("We need a BAA for ChatGPT Enterprise")
    assert sales.branch == "ChatGPT Enterprise" and "no email address" in sales.answer
    done = qa.ask("No, that's all", [Turn(sales.question, sales.answer)])
    assert done.resolved
    assert qa.ask("Which address do I email for a BAA?").clarify is None


@pytest.mark.slow
def test_an_edited_routine_changes_the_flow_after_ingest(tmp_path, embeddings):
    from app.index.ingest import ingest
    from app.session import QA

    corpus = copy_corpus(tmp_path / "corpus")
    baa = corpus / "openai-baa-help-article.md"
    baa.write_text(
        baa.read_text(encoding="utf-8").replace(
            "Our team will respond within 1-2 business days.", "We answer within a week."
        ),
        encoding="utf-8",
    )
    settings = make_settings(tmp_path)
    ingest(settings, embeddings)
    session = QA(settings, embeddings)
    assert "We answer within a week." in session.ask("We need a BAA for the API").answer
    baa.write_text(baa.read_text(encoding="utf-8").split("# Support routine")[0], "utf-8")
    ingest(settings, embeddings)
    session.refresh()
    assert session.routines == [] and session.ask("I need a BAA").clarify is None
