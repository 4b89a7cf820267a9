"""The eval report files (app/evals/report.py)."""

from __future__ import annotations

import json

from app.evals.report import EvalReport, format_summary, write_report

from .eval_cases import BAA, EXPLAINER, cite, item, result


def test_report_files_are_written(tmp_path):
    results = [result(item(), "Kept 30 days. [1]", [cite(1, EXPLAINER, True)])]
    report = EvalReport("dev", "q.jsonl", {"top_k": 5}, results, 1.0)
    report.baseline = {"exact_pass": 0.5}
    report.thresholds = {"exact_pass": 0.9}
    report.finish()
    paths = write_report(report, tmp_path / "out")
    data = json.loads(paths[0].read_text())
    assert data["metrics"]["exact_pass"] == 1.0 and data["deltas"]["exact_pass"] == 0.5
    assert data["items"][0]["passed"] is True
    markdown = paths[1].read_text()
    assert "| exact_pass | 1.000 | 0.500 | +0.500 | ≥ 0.9 |" in markdown
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_run_on_every_split_shows_the_splits_side_by_side(tmp_path):
    out = item(id="p-2", split="paraphrase", facts=(), sources=(), abstain=True)
    results = [
        result(item(id="d-1", split="dev"), "Kept 30 days. [1]", [cite(1, EXPLAINER, True)]),
        result(item(id="t-1", split="test"), "", [], abstained=True),
        result(item(id="p-1", split="paraphrase"), "No. [1]", [cite(1, BAA, False)]),
        result(out, "", [], abstained=True),
    ]
    report = EvalReport("all", "q.jsonl", {"top_k": 5}, results, 1.0).finish()
    assert list(report.splits) == ["dev", "test", "paraphrase"]
    summary = format_summary(report).splitlines()
    at = summary.index("per split:")
    assert summary[at + 1].split() == [
        "split", "n", "R@5", "facts", "pass", "cite", "abst.P", "abst.R", "words", "lead-ins",
        "1st",
    ]  # fmt: skip
    assert summary[at + 2].split() == [
        "dev", "1", "1.00", "1.00", "1.00", "1.00", "3.0", "0", "0.00"
    ]  # fmt: skip
    assert summary[at + 4].split()[0] == "paraphrase" and summary[at + 4].split()[-3:] == [
        "1.0",
        "1",
        "0.00",
    ]
    assert any(line.startswith("answer_words_p50") for line in summary)
    assert any(line.split()[:2] == ["lead_ins", "1"] for line in summary)
    paths = write_report(report, tmp_path / "out")
    data = json.loads(paths[0].read_text())
    assert data["splits"]["paraphrase"]["lead_ins"] == 1
    assert data["splits"]["test"]["abstention_precision"] == 0.0
    assert data["metrics"]["answer_words_p50"] == 2  # "Kept 30 days." and "No."
    markdown = paths[1].read_text()
    assert "## Per split" in markdown and "| paraphrase | 2 |" in markdown


def test_a_run_on_one_split_has_no_split_table():
    results = [result(item(), "Kept 30 days. [1]", [cite(1, EXPLAINER, True)])]
    report = EvalReport("dev", "q.jsonl", {"top_k": 5}, results, 1.0).finish()
    assert report.splits == {} and "per split:" not in format_summary(report)
