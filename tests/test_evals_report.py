"""The eval report files (app/evals/report.py)."""

from __future__ import annotations

import json

from app.evals.report import EvalReport, write_report

from .eval_cases import EXPLAINER, cite, item, result


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
