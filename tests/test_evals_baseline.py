"""The eval baseline and thresholds files (app/evals/baseline.py)."""

from __future__ import annotations

import pytest

from app.evals.baseline import (
    check_thresholds,
    deltas,
    load_baseline,
    load_thresholds,
    save_baseline,
)
from app.evals.dataset import EvalDataError

from .conftest import ROOT


def test_thresholds_are_minimums_except_latency(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[dev]\nexact_pass = 0.8\nlatency_p95_ms = 100\nmrr = 0.5\n")
    limits = load_thresholds(path, "dev")
    metrics = {"exact_pass": 0.75, "latency_p95_ms": 120.0, "mrr": 0.5}
    failures = check_thresholds(metrics, limits)
    assert len(failures) == 2
    assert failures[0].startswith("exact_pass 0.750 < 0.8")
    assert failures[1].startswith("latency_p95_ms 120.0 > 100")
    assert check_thresholds({"exact_pass": 0.9, "latency_p95_ms": 50.0, "mrr": 0.6}, limits) == []
    assert check_thresholds({"exact_pass": None}, {"exact_pass": 0.1}) == [
        "exact_pass was not measured (threshold 0.1)"
    ]
    with pytest.raises(EvalDataError, match=r"no \[test\] table"):
        load_thresholds(path, "test")
    path.write_text("[dev]\nexact_pas = 0.8\n")
    with pytest.raises(EvalDataError, match="unknown metrics"):
        load_thresholds(path, "dev")
    with pytest.raises(EvalDataError, match="--thresholds"):
        load_thresholds(tmp_path / "missing.toml", "dev")


def test_the_committed_thresholds_and_baseline_cover_every_split():
    baseline = load_baseline(ROOT / "evals/baseline.json")
    for split in ("dev", "test", "all"):
        limits = load_thresholds(ROOT / "evals/thresholds.toml", split)
        assert {"recall_at_5", "key_fact_recall", "exact_pass", "abstention_recall"} <= set(limits)
        # a threshold is below (latency: above) what the baseline measured
        assert check_thresholds(baseline["splits"][split], limits) == [], split


def test_baseline_round_trip_and_deltas(tmp_path):
    path = tmp_path / "baseline.json"
    assert load_baseline(path) is None
    save_baseline(path, "dev", {"mrr": 0.5, "exact_pass": None, "questions": 3}, {})
    save_baseline(path, "test", {"mrr": 0.7}, {})
    saved = load_baseline(path)
    assert saved["splits"] == {"dev": {"mrr": 0.5}, "test": {"mrr": 0.7}}
    assert deltas({"mrr": 0.75, "exact_pass": 0.5}, saved["splits"]["dev"]) == {"mrr": 0.25}
    path.write_text("[]")
    with pytest.raises(EvalDataError, match="splits"):
        load_baseline(path)
