"""The conversation eval's data and counting (no model; the real run is in
tests/test_evals_run.py's slow tests and `privacy-qa eval`)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from app.answering.types import Answer, Clarify
from app.evals.conversations import Tally, load_conversations, routine_outcome
from app.evals.dataset import EvalDataError

from .conftest import ROOT


def test_the_shipped_conversations_load_and_cover_every_branch():
    rows = load_conversations(ROOT / "evals" / "conversations.jsonl")
    assert len(rows) >= 40
    expected = {t.get("routine") for row in rows for t in row.get("turns", [])}
    assert expected >= {"clarify", "API", "ChatGPT Enterprise", "Not approved", "resolved", "plain"}
    assert any(len(row.get("turns", [])) >= 3 for row in rows)


def test_a_bad_line_is_named(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(EvalDataError, match="c.jsonl:1"):
        load_conversations(path)
    path.write_text("not json\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match="not valid JSON"):
        load_conversations(path)


def test_what_the_routine_did_on_a_turn():
    def answer(**kw):
        return Answer("q", "a", False, [], {}, **kw)

    assert routine_outcome(answer()) == "plain"
    assert routine_outcome(answer(clarify=Clarify("Which?", ["A", "B"]))) == "clarify"
    assert routine_outcome(answer(branch="API", clarify=Clarify("More?", ["No"]))) == "API"
    assert routine_outcome(answer(resolved=True)) == "resolved"


def test_the_metrics_are_shares_and_none_when_nothing_counted():
    assert Tally().metrics() == dict.fromkeys(
        ("followup_exact_pass", "rewrite_precision", "routine_branch_accuracy")
    )
    counts = dict(passed=9, followups=10, rewrites=4, right_rewrites=3, routine_right=5)
    tally = Tally(Counter(counts, routine_turns=5))
    assert tally.metrics() == {
        "followup_exact_pass": 0.9,
        "rewrite_precision": 0.75,
        "routine_branch_accuracy": 1.0,
    }
    assert json.dumps(tally.metrics())
