"""The one abstention decision (app/answering/abstain.py), on hand-made hits: no model."""

from __future__ import annotations

import logging

from langchain_core.documents import Document

from app.answering.abstain import (
    ABSTAIN_TEXT,
    after_answering,
    before_answering,
    declines,
    refusal,
    things,
    unquoted_names,
)
from app.answering.types import Citation, Composed
from app.config import load_settings
from app.retrieval import Hit

# strong_relevance out of reach: the rule before issue 15, where both signals must agree.
SETTINGS = load_settings(min_relevance=0.13, min_coverage=0.23, strong_relevance=2.0)
TWO_THRESHOLDS = load_settings(min_relevance=0.13, min_coverage=0.29, strong_relevance=0.38)


def hits(*signals: tuple[float, float]) -> list[Hit]:
    """Hits with these (dense similarity, coverage) pairs."""
    return [
        Hit(Document(page_content="x"), 1.0, dense, 1.0, coverage) for dense, coverage in signals
    ]


def test_answers_only_when_similarity_coverage_and_names_agree():
    # The best of each signal counts, even from different hits.
    answer = before_answering(hits((0.5, 0.1), (0.1, 0.3)), 0, SETTINGS)
    assert not answer.abstain and answer.reason is None
    assert (answer.best_similarity, answer.coverage) == (0.5, 0.3)
    # The thresholds themselves are enough.
    assert not before_answering(hits((0.13, 0.23)), 0, SETTINGS).abstain
    for signals, unknown, reason in [
        ((0.12, 0.9), 0, "similar"),
        ((0.9, 0.22), 0, "terms"),
        ((0.9, 0.9), 1, "never mention"),
    ]:
        decision = before_answering(hits(signals), unknown, SETTINGS)
        assert decision.abstain and reason in decision.reason
    assert before_answering([], 0, SETTINGS).abstain  # nothing retrieved


def test_a_refusal_says_why_when_the_reader_can_act_on_it():
    """The thing the documents never mention, written whole; the thing the closest
    passages leave out; the kind of value none gives; otherwise the plain sentence."""
    question = "Do AWS Bedrock and Google sign a BAA?"
    names = ["AWS", "Bedrock", "Google", "BAA"]
    stop = before_answering(hits((0.9, 0.9)), 3, SETTINGS)
    assert refusal(stop, question, ["AWS", "Bedrock", "Google"], names) == (
        "The indexed documents don't answer this: they never mention AWS Bedrock and Google."
    )
    quote = Citation(1, "corpus/a.md", "OpenAI API", "OpenAI API", None, "Prompts: 30 days.", 1)
    composed = Composed("Prompts: 30 days. [1]", [quote])
    go = before_answering(hits((0.9, 0.9)), 0, SETTINGS)
    azure = "How long does Azure OpenAI keep prompts?"
    left_out = after_answering(go, composed, azure, ["Azure", "OpenAI"])
    assert left_out.abstain
    assert refusal(left_out, azure, (), ["Azure", "OpenAI"], composed).endswith(
        ": the passages that come closest don't mention Azure OpenAI."
    )
    price = "What do prompts cost?"
    no_price = after_answering(go, composed, price, [])
    assert refusal(no_price, price, (), [], composed).endswith(
        ": the passages that come closest don't give an amount of money."
    )
    far = before_answering(hits((0.01, 0.0)), 0, SETTINGS)
    assert refusal(far, "What is a good sourdough recipe?") == ABSTAIN_TEXT


def test_a_place_typed_in_lowercase_is_named_capitalised():
    stop = before_answering(hits((0.9, 0.9)), 2, SETTINGS)
    question = "is our data kept in new zealand or canada"
    names = ["new", "zealand", "canada"]
    assert refusal(stop, question, names, names).endswith(
        "they never mention New Zealand and Canada."
    )


def test_an_answer_that_cites_nothing_abstains_and_only_counts_are_logged(caplog):
    caplog.set_level(logging.DEBUG, logger="app.answering.abstain")
    go = before_answering(hits((0.5, 0.5)), 0, SETTINGS)
    citation = Citation(1, "corpus/a.md", "A", "A", None, "Quoted.", 1)
    assert not after_answering(go, Composed("Quoted. [1]", [citation])).abstain
    assert after_answering(go, Composed("", [])).abstain
    stop = before_answering(hits((0.0, 0.0)), 2, SETTINGS)
    assert after_answering(stop, None) == stop
    assert "unknown names: 2, values missing: 0, abstained=True" in caplog.text


def test_a_model_declines_in_the_exact_sentence_or_in_other_words():
    for decline in (ABSTAIN_TEXT, "The provided sources do not mention this.", "  ", ""):
        assert declines(decline, has_markers=False), decline
    assert not declines("Data is kept for 30 days.", has_markers=False)
    assert not declines("The documents do not say more [1].", has_markers=True)


def test_a_strong_semantic_match_answers_whatever_the_word_overlap():
    # "Can we send patient data through the OpenAI API?": similar, few shared words.
    strong = before_answering(hits((0.55, 0.19)), 0, TWO_THRESHOLDS)
    assert not strong.abstain and strong.strong
    assert not before_answering(hits((0.38, 0.0)), 0, TWO_THRESHOLDS).abstain
    # A middling match needs the question's words in a chunk.
    middling = before_answering(hits((0.37, 0.28)), 0, TWO_THRESHOLDS)
    assert middling.abstain and not middling.strong and "terms" in middling.reason
    assert not before_answering(hits((0.37, 0.29)), 0, TWO_THRESHOLDS).abstain
    # Below min_relevance nothing answers, and names never mentioned still abstain.
    assert "similar" in before_answering(hits((0.12, 1.0)), 0, TWO_THRESHOLDS).reason
    named = before_answering(hits((0.9, 0.9)), 1, TWO_THRESHOLDS)
    assert named.abstain and "never mention" in named.reason


def test_the_defaults_are_the_two_threshold_rule():
    defaults = load_settings()
    assert defaults.min_relevance < defaults.strong_relevance
    assert not before_answering(hits((defaults.strong_relevance, 0.0)), 0, defaults).abstain


EXPLAINER = "OpenAI API Privacy Policies Explained"
ENCRYPTS = "OpenAI encrypts all data at rest (AES-256) and in transit (TLS 1.2+)."
AZURE = "In another blog post, I will describe Azure OpenAI service."


def cite(
    n: int, quote: str, chunk: str = "", title: str = EXPLAINER, section: str = ""
) -> Citation:
    section = section or f"{title} > OpenAI API"
    return Citation(n, "corpus/a.md", title, section, None, quote, 1, chunk or quote)


def composed(*citations: Citation) -> Composed:
    return Composed(" ".join(f"{c.quote} [{c.n}]" for c in citations), list(citations))


GO = before_answering(hits((0.7, 0.9)), 0, TWO_THRESHOLDS)


def test_a_name_must_be_in_the_passage_that_answers_not_elsewhere_in_the_corpus():
    question = "Is Azure OpenAI data encrypted at rest?"
    names = ["Azure", "OpenAI"]
    # The quote that answers says nothing of Azure; the one that names Azure answers
    # nothing (it shares no word of the question besides the names).
    answer = composed(cite(1, ENCRYPTS), cite(2, AZURE))
    assert unquoted_names(question, names, answer.citations) == ["Azure"]
    decision = after_answering(GO, answer, question, names)
    assert decision.abstain and decision.unquoted_names == 1 and "name" in decision.reason
    # In the same chunk but another paragraph: still not the passage that answers.
    chunk = f"{ENCRYPTS}\n\n{AZURE}"
    assert unquoted_names(question, names, [cite(1, ENCRYPTS, chunk)]) == ["Azure"]
    # The same question about the corpus's own subject is answered.
    question = "Is OpenAI data encrypted at rest?"
    decision = after_answering(GO, composed(cite(1, ENCRYPTS)), question, ["OpenAI"])
    assert not decision.abstain and decision.unquoted_names == 0


def test_a_name_in_the_paragraph_heading_or_title_counts_as_quoted():
    question = "Can we send PHI through the OpenAI API under HIPAA?"
    names = ["PHI", "OpenAI", "API", "HIPAA"]
    paragraph = (
        "HIPAA is a U.S. federal law that protects protected health information (PHI). "
        "To use our API platform, you need a BAA."
    )
    chunk = f"Intro line.\n\n{paragraph}\n\nAnother paragraph."
    quote = "To use our API platform, you need a BAA."
    title = "How can I get a BAA with OpenAI?"  # the article says "we", its title "OpenAI"
    assert unquoted_names(question, names, [cite(1, quote, chunk, title=title)]) == []
    # A heading names what its sentences leave implicit.
    question = "How quickly does the BAA team respond?"
    section = f"{title} > How do I get started with a BAA?"
    quote = "Our team will respond within 1-2 business days."
    assert unquoted_names(question, ["BAA"], [cite(1, quote, title="T", section=section)]) == []
    assert unquoted_names(question, ["BAA"], [cite(1, quote, title="T", section="T")]) == ["BAA"]


def test_names_are_compared_as_retrieval_normalises_terms():
    quote = "Our API Platform has been audited for SOC2 compliance."
    for name in ("SOC 2", "soc2", "SOC2", "API", "OpenAI's"):
        found = unquoted_names(f"Is {name} audited?", [name], [cite(1, quote)])
        assert found == [], name
    assert unquoted_names("Is HITRUST audited?", ["HITRUST"], [cite(1, quote)]) == ["HITRUST"]
    # No names, or nothing cited: nothing to check here (a citeless answer abstains anyway).
    assert not after_answering(GO, composed(cite(1, quote)), "Is it audited?", []).abstain
    assert after_answering(GO, Composed("", []), "Is SOC2 audited?", ["SOC2"]).abstain


def test_quotes_without_the_value_asked_for_do_not_answer():
    question = "What does a BAA cost?"
    quote = cite(1, "An enterprise agreement is not required to sign a BAA.")
    decision = after_answering(GO, composed(quote), question, [])
    assert decision.abstain and decision.missing_values == 1 and "value" in decision.reason
    priced = cite(1, "A BAA is free of charge.")
    assert not after_answering(GO, composed(priced), question, []).abstain


def test_a_quote_that_only_names_the_thing_does_not_answer_for_it():
    # No quote shares a word of "How long does Azure OpenAI keep prompts?" besides its
    # names; the one naming Azure answers nothing, so Azure is not in an answering passage.
    retention = cite(1, "After 30 days, API inputs and outputs are removed from our systems.")
    question = "How long does Azure OpenAI keep prompts?"
    names = ["Azure", "OpenAI"]
    answer = composed(retention, cite(2, AZURE))
    assert unquoted_names(question, names, answer.citations) == ["Azure"]
    assert after_answering(GO, answer, question, names).abstain


def test_names_apart_are_things_each_in_some_answering_passage():
    question = "How do ZDR and the BAA relate for HIPAA customers?"
    names = ["ZDR", "BAA", "HIPAA"]
    assert things(question, names) == [["ZDR"], ["BAA"], ["HIPAA"]]
    assert things("Is Azure OpenAI data encrypted?", ["Azure", "OpenAI"]) == [["Azure", "OpenAI"]]
    zdr = "ZDR is available on eligible endpoints for our HIPAA customers."
    baa = "We sign a BAA for HIPAA customers."
    # Each thing is named by the passage of one of the quotes: answered.
    answer = [cite(1, zdr, section="T > ZDR"), cite(2, baa, section="T > BAA")]
    assert unquoted_names(question, names, answer) == []
    # One of them named by none: that one is missing.
    assert unquoted_names(question, names, answer[:1]) == ["BAA"]
