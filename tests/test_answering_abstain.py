"""The one abstention decision (app/answering/abstain.py), on hand-made hits: no model."""

from __future__ import annotations

import logging

from langchain_core.documents import Document

from app.answering.abstain import (
    ABSTAIN_TEXT,
    after_answering,
    before_answering,
    declines,
)
from app.answering.types import Citation, Composed
from app.config import load_settings
from app.retrieval import Hit

SETTINGS = load_settings(min_relevance=0.13, min_coverage=0.23)


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


def test_an_answer_that_cites_nothing_abstains_and_only_counts_are_logged(caplog):
    caplog.set_level(logging.DEBUG, logger="app.answering.abstain")
    go = before_answering(hits((0.5, 0.5)), 0, SETTINGS)
    citation = Citation(1, "corpus/a.md", "A", "A", None, "Quoted.", 1)
    assert not after_answering(go, Composed("Quoted. [1]", [citation])).abstain
    assert after_answering(go, Composed("", [])).abstain
    stop = before_answering(hits((0.0, 0.0)), 2, SETTINGS)
    assert after_answering(stop, None) == stop
    assert "unknown names: 2, abstained=True" in caplog.text


def test_a_model_declines_in_the_exact_sentence_or_in_other_words():
    for decline in (ABSTAIN_TEXT, "The provided sources do not mention this.", "  ", ""):
        assert declines(decline, has_markers=False), decline
    assert not declines("Data is kept for 30 days.", has_markers=False)
    assert not declines("The documents do not say more [1].", has_markers=True)
