"""The eval metrics (app/evals/scoring.py) on small hand-made cases."""

from __future__ import annotations

import pytest

from app.evals.scoring import (
    abstention_scores,
    answer_words,
    chunk_is_relevant,
    compute_metrics,
    facts_stated,
    first_relevant_rank,
    mean_reciprocal_rank,
    median_answer_words,
    opens_with_lead_in,
    percentile,
    recall_at_k,
    split_metrics,
)

from .eval_cases import BAA, EXPLAINER, cite, item, result


def test_facts_are_matched_on_any_phrasing_ignoring_case_quotes_and_spacing():
    facts = [["30 days", "thirty days"], ["removed from our systems"], ["we’d be happy"]]
    text = "Data is kept for Thirty\n days, then REMOVED  from our systems. We'd be happy."
    assert facts_stated(facts, text) == [True, True, True]
    assert facts_stated([["30 days"], ["abuse"]], "kept for 3 days") == [False, False]


def test_a_chunk_is_relevant_only_in_the_right_document_section_and_evidence():
    wanted = item(sections=("How do I get started?",), evidence=("baa@openai.com",), sources=(BAA,))
    started = "How can I get a BAA? > How do I get started?"
    assert chunk_is_relevant(wanted, BAA, started, "email us at baa@openai.com today")
    assert not chunk_is_relevant(wanted, EXPLAINER, started, "email baa@openai.com")
    assert not chunk_is_relevant(wanted, BAA, "How can I get a BAA? > Routine", "baa@openai.com")
    assert not chunk_is_relevant(wanted, BAA, started, "our team will respond")
    # a section may be given as the end of its path, with curly or straight quotes
    nested = item(sources=(BAA,), sections=("What happens if I'm not approved?",))
    assert chunk_is_relevant(nested, BAA, "T > What happens if I’m not approved?", "")


def test_recall_at_k_and_mrr_on_hand_made_ranks():
    ranks = [1, 3, None, 2]
    assert recall_at_k(ranks, 1) == 0.25
    assert recall_at_k(ranks, 3) == 0.75
    assert recall_at_k(ranks, 5) == 0.75
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert recall_at_k([], 5) is None and mean_reciprocal_rank([]) is None
    wanted = item(evidence=("30 days",))
    retrieved = [
        (BAA, "T", "30 days"),  # right words, wrong document
        (EXPLAINER, "T", "no"),
        (EXPLAINER, "T", "for up to 30 days"),
    ]
    assert first_relevant_rank(wanted, retrieved) == 3
    assert first_relevant_rank(wanted, retrieved[:2]) is None


def test_abstention_precision_and_recall():
    # (should abstain, did abstain)
    pairs = [(True, True), (True, False), (False, True), (False, False), (True, True)]
    precision, recall = abstention_scores(pairs)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 3)
    assert abstention_scores([(False, False)]) == (None, None)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.5) is None


def test_metrics_over_hand_made_results():
    two_facts = item(id="x-2", facts=(("30 days",), ("abuse",)))
    out = item(id="o-1", topic="out-of-scope", facts=(), sources=(), abstain=True)
    results = [
        # passes: every fact and a correct citation
        result(item(), "Kept 30 days. [1]", [cite(1, EXPLAINER, True)], latency=10),
        # one fact of two; a wrong citation next to a right one
        result(
            two_facts,
            "Kept 30 days. [1] [2]",
            [cite(1, EXPLAINER, True), cite(2, BAA, False)],
            rank=3,
            latency=20,
        ),
        # every fact, but no citation into an expected source: no exact pass
        result(item(id="x-3"), "30 days [1]", [cite(1, BAA, False)], rank=None, latency=30),
        # abstained on an in-scope question
        result(item(id="x-4"), "", [], abstained=True, rank=2, latency=40),
        # answered an out-of-scope question
        result(out, "Something [1]", [cite(1, BAA, False)], rank=None, latency=50),
    ]
    m = compute_metrics(results)
    assert m["recall_at_1"] == 0.25
    assert m["recall_at_3"] == 0.75
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert m["key_fact_recall"] == pytest.approx(3 / 5)  # 1 + 1 + 1 + 0 of 1 + 2 + 1 + 1
    assert m["exact_pass"] == 0.25
    assert m["citation_precision"] == pytest.approx(2 / 4)  # out-of-scope citations excluded
    assert m["abstention_precision"] == 0.0  # its one abstention was on an in-scope question
    assert m["abstention_recall"] == 0.0
    assert m["latency_p50_ms"] == 30 and m["latency_p95_ms"] == 50
    # answered questions only (not x-4): 3, 3, 2 and 1 words
    assert m["answer_words_p50"] == 2.5 and m["lead_ins"] == 0
    assert (m["in_scope"], m["out_of_scope"]) == (4, 1)
    assert [r.passed for r in results] == [True, False, False, False, False]
    assert results[1].reasons() == ["missing facts: 'abuse'", "citations off-source: [2]"]
    assert results[3].reasons() == ["abstained"]
    assert results[4].reasons()[0].startswith("answered instead of abstaining")


def test_answer_words_leave_out_citation_marks_and_lone_punctuation():
    assert answer_words("Kept for 30 days. [1] Then removed - unless required. [2]") == 8
    assert answer_words("[1] [2]") == 0 and answer_words("") == 0
    assert answer_words("Email baa@openai.com (1-2 business days).") == 5


def test_median_answer_words():
    assert median_answer_words(["one two [1]", "one two three four [1]", "x"]) == 2
    assert median_answer_words(["a b", "a b c d"]) == 3
    assert median_answer_words([]) is None


@pytest.mark.parametrize(
    ("answer", "lead_in"),
    [
        ("No, an enterprise agreement is not required to sign a BAA. [1]", True),
        ("Yes, you can adapt certain models to specific tasks. [1]", True),
        ('"No, only endpoints that are eligible for zero retention are covered." [1]', True),
        ("> yes. That is right. [1]", True),
        ("NO; never. [1]", True),
        ("Now, only endpoints that are eligible are covered. [1]", False),
        ("Not required. [1]", False),
        ("No answer was found here. [1]", False),  # "No" that is not a bare answer
        ("Yesterday we changed it. [1]", False),
        ("OpenAI will not train on your data; no, never. [1]", False),
        ("", False),
    ],
)
def test_a_lead_in_is_a_bare_yes_or_no_opening_the_answer(answer, lead_in):
    assert opens_with_lead_in(answer) is lead_in


def test_metrics_per_split_and_answer_figures():
    dev = item(id="d-1", split="dev")
    para = item(id="p-1", split="paraphrase")
    para_out = item(id="p-2", split="paraphrase", facts=(), sources=(), abstain=True)
    results = [
        result(dev, "Kept 30 days. [1]", [cite(1, EXPLAINER, True)]),
        result(para, "No, it is kept 30 days at most. [1]", [cite(1, EXPLAINER, True)]),
        result(para_out, "Yes, we do. [1]", [cite(1, BAA, False)]),  # answered, should not
    ]
    splits = split_metrics(results)
    assert list(splits) == ["dev", "paraphrase"]
    assert splits["dev"]["exact_pass"] == 1.0 and splits["dev"]["lead_ins"] == 0
    assert splits["dev"]["answer_words_p50"] == 3
    assert splits["paraphrase"]["questions"] == 2 and splits["paraphrase"]["lead_ins"] == 2
    assert splits["paraphrase"]["answer_words_p50"] == pytest.approx((8 + 3) / 2)
    assert splits["paraphrase"]["abstention_recall"] == 0.0
    everything = compute_metrics(results)
    assert everything["lead_ins"] == 2 and everything["answer_words_p50"] == 3
    # nothing answered: no median, no lead-ins
    quiet = compute_metrics([result(dev, "", [], abstained=True)])
    assert quiet["answer_words_p50"] is None and quiet["lead_ins"] == 0


def test_first_quote_facts_is_the_share_of_answers_opening_with_a_fact():
    kept = item(id="x-5", facts=(("30 days",), ("abuse",)))
    results = [
        result(item(), "Kept 30 days. [1]", [cite(1, EXPLAINER, True, "Kept 30 days.")]),
        # the fact comes second: the answer does not open with it
        result(
            kept,
            "Stored. [1] Kept 30 days. [2]",
            [cite(1, EXPLAINER, True, "Stored."), cite(2, EXPLAINER, True, "Kept 30 days.")],
        ),
        result(item(id="x-6"), "", [], abstained=True),  # no answer: not counted
    ]
    assert compute_metrics(results)["first_quote_facts"] == 0.5
    assert compute_metrics(results[2:])["first_quote_facts"] is None
