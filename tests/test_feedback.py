"""Feedback: stored only when sent, the question only when the user said so; candidates."""

from __future__ import annotations

import json

import pytest

from app import qa
from app.errors import UserError
from app.feedback import feedback_path
from app.qa import Answer, Citation

from .conftest import make_settings


def answer(question: str = "Is PHI for patient Jane Roe kept?", abstained: bool = False):
    citation = Citation(1, "corpus/a.md", "A", "A > B", None, "Data is kept 30 days.", 3)
    return Answer(question, "Data is kept 30 days. [1]", abstained, [citation], {})


def test_feedback_without_the_box_ticked_keeps_no_question(tmp_path):
    settings = make_settings(tmp_path)
    qa.record_feedback(settings, answer(), "down", "  wrong period  ")
    qa.record_feedback(settings, answer(), "up", keep_question=True)
    lines = feedback_path(settings).read_text(encoding="utf-8").splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["question"] is None and first["comment"] == "wrong period"
    assert "Jane Roe" not in lines[0]
    assert first["rating"] == "down" and first["sources"] == ["corpus/a.md"]
    assert second["question"] == "Is PHI for patient Jane Roe kept?"
    assert feedback_path(settings).stat().st_mode & 0o077 == 0  # this user's only


def test_a_rating_is_required(tmp_path):
    with pytest.raises(UserError, match="thumbs up or down"):
        qa.record_feedback(make_settings(tmp_path), answer(), "meh")


def test_candidates_come_from_entries_that_kept_their_question(tmp_path):
    settings = make_settings(tmp_path)
    assert qa.feedback_candidates(settings).items == []  # no file yet
    qa.record_feedback(settings, answer(), "down", "missing the 30 days", keep_question=True)
    qa.record_feedback(settings, answer(), "down")  # no question: no candidate
    qa.record_feedback(settings, answer("Sourdough?", abstained=True), "up", keep_question=True)
    qa.record_feedback(settings, answer("How long?"), "up", keep_question=True)
    found = qa.feedback_candidates(settings)
    assert (found.total, found.without_question, len(found.items)) == (4, 1, 3)
    down, refusal, up = found.items
    assert down["facts"] == [] and down["sources"] == ["corpus/a.md"]
    assert "missing the 30 days" in down["review"] and "write the facts" in down["review"]
    assert refusal["abstain"] is True and "facts" not in refusal
    assert up["facts"] == [["Data is kept 30 days."]] and up["topic"] == "feedback"
    assert all(
        item["split"] == "dev" and item["id"].startswith("feedback-") for item in found.items
    )


def test_eval_feedback_prints_the_candidates(tmp_path, capsys, monkeypatch):
    from app.cli import main

    settings = make_settings(tmp_path)
    qa.record_feedback(settings, answer(), "down", keep_question=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main(["--data-dir", str(settings.data_dir), "eval", "--feedback"])
    out, err = capsys.readouterr()
    assert exit.value.code == 0
    assert json.loads(out)["question"] == "Is PHI for patient Jane Roe kept?"
    assert "1 candidate eval items from 1 feedback entries" in err
