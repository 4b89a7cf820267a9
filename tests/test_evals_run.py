"""A whole eval run (app/evals/run.py, through app.qa.run_eval): `privacy-qa eval` as a
subprocess on a real index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.evals.dataset import load_dataset

from .conftest import ROOT
from .eval_cases import DATASET, ChatServer


@pytest.fixture
def chat_server():
    server = ChatServer('Sure: {"faithfulness": 0.9, "relevancy": 1.4}')
    yield server
    server.close()


CLI = [sys.executable, "-m", "app"]


def run_cli(args, data_dir: Path, corpus: Path, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PRIVACY_QA_"))}
    env.update(
        {"PRIVACY_QA_DATA_DIR": str(data_dir), "PRIVACY_QA_CORPUS_DIR": str(corpus)},
        **(env_extra or {}),
    )
    return subprocess.run(
        CLI + ["eval", "--dataset", str(DATASET), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


@pytest.mark.slow
def test_eval_writes_the_three_reports_with_the_judge_on_a_local_server(
    indexed_settings, tmp_path, chat_server
):
    out = tmp_path / "report"
    result_ = run_cli(
        ["--split", "dev", "--out", str(out), "--judge"],
        indexed_settings.data_dir,
        indexed_settings.corpus_dir,
        {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": chat_server.url},
    )
    assert result_.returncode == 0, result_.stderr
    assert "Traceback" not in result_.stderr
    for name in ("report.json", "report.md", "report.png"):
        assert (out / name).stat().st_size > 0
    report = json.loads((out / "report.json").read_text())
    dev = load_dataset(DATASET, "dev")
    assert len(report["items"]) == len(dev)
    assert set(report["metrics"]) >= {
        "recall_at_1",
        "recall_at_3",
        "recall_at_5",
        "mrr",
        "key_fact_recall",
        "exact_pass",
        "citation_precision",
        "abstention_precision",
        "abstention_recall",
        "latency_p50_ms",
        "latency_p95_ms",
        "judge_faithfulness",
        "judge_relevancy",
    }
    assert set(report["topics"]) >= {"baa", "retention", "out-of-scope"}
    answered = [i for i in report["items"] if i["expected"] == "answer" and not i["abstained"]]
    assert len(chat_server.requests) == len(answered) > 0
    assert report["metrics"]["judge_faithfulness"] == pytest.approx(0.9)
    # the printed table: metrics with baseline deltas, topics, failing questions
    assert "metric" in result_.stdout and "per topic:" in result_.stdout
    assert "report.png" in result_.stdout


@pytest.mark.slow
def test_eval_check_fails_naming_the_metrics_below_impossible_thresholds(tmp_path):
    corpus = tmp_path / "corpus"
    from .conftest import copy_corpus

    copy_corpus(corpus)
    thresholds = tmp_path / "impossible.toml"
    thresholds.write_text("[test]\nexact_pass = 1.01\nmrr = 0.1\nlatency_p50_ms = 0.001\n")
    out = tmp_path / "report"
    result_ = run_cli(
        ["--split", "test", "--check", "--thresholds", str(thresholds), "--out", str(out)]
        + ["--fresh-index", "--judge"],
        tmp_path / "no-index-here",
        corpus,
    )
    assert result_.returncode == 3, result_.stderr
    assert "check FAILED" in result_.stderr
    assert "exact_pass" in result_.stderr and "latency_p50_ms" in result_.stderr
    assert "mrr" not in result_.stderr.split("check FAILED")[1]  # that one passed
    skip_lines = [line for line in result_.stderr.splitlines() if "judge: skipped" in line]
    assert len(skip_lines) == 1 and "OPENAI_API_KEY" in skip_lines[0]
    assert (out / "report.json").exists()  # the report is written even when the check fails
    assert not (tmp_path / "no-index-here").exists()  # --fresh-index left the data dir alone


@pytest.mark.slow
def test_eval_without_an_index_says_to_ingest(tmp_path):
    result_ = run_cli(["--split", "dev"], tmp_path / "data", tmp_path / "corpus")
    assert result_.returncode == 2
    assert "privacy-qa ingest" in result_.stderr
    assert "Traceback" not in result_.stderr
    assert not (tmp_path / "data").exists()  # no empty DATA_DIR/eval-report left behind


def test_eval_with_an_out_dir_that_cannot_be_made_fails_at_once(tmp_path):
    (tmp_path / "file").write_text("")
    result_ = run_cli(
        ["--out", str(tmp_path / "file" / "report")], tmp_path / "data", tmp_path / "corpus"
    )
    assert result_.returncode == 2
    assert "Cannot create the report dir" in result_.stderr and "is a file" in result_.stderr
    assert not (tmp_path / "data").exists()


def test_eval_with_a_broken_thresholds_file_is_a_user_error(tmp_path):
    thresholds = tmp_path / "t.toml"
    thresholds.write_text("[dev\n")
    result_ = run_cli(
        ["--check", "--thresholds", str(thresholds)], tmp_path / "data", tmp_path / "corpus"
    )
    assert result_.returncode == 2
    assert "not valid TOML" in result_.stderr
