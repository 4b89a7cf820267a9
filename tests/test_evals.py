"""The eval suite: the data set itself, the metric functions on small hand-made cases, the
judge against a real HTTP server on 127.0.0.1, and `privacy-qa eval` as a subprocess on a
real index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from app import evals
from app.config import load_settings
from app.evals import (
    CitationResult,
    EvalDataError,
    EvalItem,
    ItemResult,
    abstention_scores,
    check_thresholds,
    chunk_is_relevant,
    compute_metrics,
    facts_stated,
    first_relevant_rank,
    load_dataset,
    load_thresholds,
    mean_reciprocal_rank,
    normalise,
    percentile,
    recall_at_k,
)

from .conftest import ROOT

DATASET = ROOT / "evals/questions.jsonl"
BAA = "corpus/openai-baa-help-article.md"
EXPLAINER = "corpus/openai-api-privacy-explained.md"

# ----------------------------------------------------------------------------- data set


def test_the_eval_set_covers_the_corpus_with_enough_questions():
    items = load_dataset(DATASET)
    in_scope = [i for i in items if i.in_scope]
    out_of_scope = [i for i in items if not i.in_scope]
    assert len(in_scope) >= 40 and len(out_of_scope) >= 10
    topics = {i.topic for i in in_scope}
    assert topics >= {
        "baa",
        "retention",
        "zdr",
        "training",
        "access",
        "gdpr",
        "soc2",
        "encryption",
        "trust-portal",
    }
    for split in ("dev", "test"):
        part = load_dataset(DATASET, split)
        assert {i.split for i in part} == {split}
        assert any(i.in_scope for i in part) and any(not i.in_scope for i in part)
    assert len(load_dataset(DATASET, "dev")) + len(load_dataset(DATASET, "test")) == len(items)
    # near-misses of each kind the issue names, and multi-part questions
    kinds = {i.kind for i in out_of_scope}
    assert kinds >= {"other-vendor-baa", "other-service-retention", "price", "rate-limit"}
    assert sum(len(i.facts) > 1 for i in in_scope) >= 5


def test_every_fact_and_evidence_string_is_really_in_its_sources():
    texts = {p: normalise((ROOT / p).read_text(encoding="utf-8")) for p in (BAA, EXPLAINER)}
    for item in load_dataset(DATASET):
        if not item.in_scope:
            continue
        assert set(item.sources) <= set(texts), item.id
        sources = " ".join(texts[s] for s in item.sources)
        for phrasings in item.facts:
            for phrasing in phrasings:
                assert normalise(phrasing) in sources, (item.id, phrasing)
        for evidence in item.evidence:
            assert any(normalise(evidence) in texts[s] for s in item.sources), (item.id, evidence)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"id": "a", "split": "dev", "topic": "t"}', "missing or empty 'question'"),
        ('{"id": "a", "split": "train", "topic": "t", "question": "q?"}', "split must be"),
        ('{"id": "a", "split": "dev", "topic": "t", "question": "q?"}', "needs 'facts'"),
        (
            '{"id": "a", "split": "dev", "topic": "t", "question": "q?", "facts": [["x"]], '
            '"sources": []}',
            "'sources' must be",
        ),
        (
            '{"id": "a", "split": "dev", "topic": "t", "question": "q?", "abstain": true}\n' * 2,
            "duplicate id 'a'",
        ),
    ],
)
def test_a_bad_eval_set_is_named_with_its_line(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match=message) as error:
        load_dataset(path)
    assert f"{path}:" in str(error.value)


def test_a_missing_eval_set_says_what_to_do(tmp_path):
    with pytest.raises(EvalDataError, match="--dataset"):
        load_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(EvalDataError, match="Unknown split"):
        load_dataset(DATASET, "train")


# ------------------------------------------------------------------------------ metrics


def item(**fields) -> EvalItem:
    base = {
        "id": "x-1",
        "split": "dev",
        "topic": "retention",
        "question": "How long is data kept?",
        "facts": (("30 days", "thirty days"),),
        "sources": (EXPLAINER,),
    }
    return EvalItem(**{**base, **fields})


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


def result(it: EvalItem, answer: str, citations, abstained=False, rank=1, latency=10.0):
    return ItemResult(
        item=it,
        answer=answer,
        abstained=abstained,
        citations=citations,
        rank=rank,
        retrieved=[],
        facts=[False] * len(it.facts) if abstained else facts_stated(it.facts, answer),
        latency_ms=latency,
    )


def cite(n, source, correct, quote="q"):
    return CitationResult(n, source, "S", 1, quote, correct)


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
    assert (m["in_scope"], m["out_of_scope"]) == (4, 1)
    assert [r.passed for r in results] == [True, False, False, False, False]
    assert results[1].reasons() == ["missing facts: 'abuse'", "citations off-source: [2]"]
    assert results[3].reasons() == ["abstained"]
    assert results[4].reasons()[0].startswith("answered instead of abstaining")


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
    baseline = evals.load_baseline(ROOT / "evals/baseline.json")
    for split in ("dev", "test", "all"):
        limits = load_thresholds(ROOT / "evals/thresholds.toml", split)
        assert {"recall_at_5", "key_fact_recall", "exact_pass", "abstention_recall"} <= set(limits)
        # a threshold is below (latency: above) what the baseline measured
        assert check_thresholds(baseline["splits"][split], limits) == [], split


def test_baseline_round_trip_and_deltas(tmp_path):
    path = tmp_path / "baseline.json"
    assert evals.load_baseline(path) is None
    evals.save_baseline(path, "dev", {"mrr": 0.5, "exact_pass": None, "questions": 3}, {})
    evals.save_baseline(path, "test", {"mrr": 0.7}, {})
    saved = evals.load_baseline(path)
    assert saved["splits"] == {"dev": {"mrr": 0.5}, "test": {"mrr": 0.7}}
    assert evals.deltas({"mrr": 0.75, "exact_pass": 0.5}, saved["splits"]["dev"]) == {"mrr": 0.25}
    path.write_text("[]")
    with pytest.raises(EvalDataError, match="splits"):
        evals.load_baseline(path)


def test_report_files_are_written(tmp_path):
    results = [result(item(), "Kept 30 days. [1]", [cite(1, EXPLAINER, True)])]
    report = evals.EvalReport("dev", "q.jsonl", {"top_k": 5}, results, 1.0)
    report.baseline = {"exact_pass": 0.5}
    report.thresholds = {"exact_pass": 0.9}
    report.finish()
    paths = evals.write_report(report, tmp_path / "out")
    data = json.loads(paths[0].read_text())
    assert data["metrics"]["exact_pass"] == 1.0 and data["deltas"]["exact_pass"] == 0.5
    assert data["items"][0]["passed"] is True
    markdown = paths[1].read_text()
    assert "| exact_pass | 1.000 | 0.500 | +0.500 | ≥ 0.9 |" in markdown
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -------------------------------------------------------------------------------- judge


class _ChatServer:
    """A real HTTP server on 127.0.0.1 answering /v1/chat/completions like OpenAI does."""

    def __init__(self, reply: str):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body})
                payload = json.dumps(
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat_server():
    server = _ChatServer('Sure: {"faithfulness": 0.9, "relevancy": 1.4}')
    yield server
    server.close()


def test_the_judge_grades_answered_questions_through_the_openai_protocol(chat_server):
    settings = load_settings(openai_api_key="sk-test", openai_base_url=chat_server.url)
    answered = result(item(), "Kept 30 days. [1]", [cite(1, EXPLAINER, True, quote="30 days")])
    skipped = result(item(id="x-9"), "", [], abstained=True)
    assert evals.judge_results(settings, [answered, skipped]) == 1
    assert answered.judge == {"faithfulness": 0.9, "relevancy": 1.0}  # clamped to 0..1
    assert skipped.judge is None
    (request,) = chat_server.requests
    assert request["path"] == "/v1/chat/completions"
    prompt = request["body"]["messages"][0]["content"]
    assert "How long is data kept?" in prompt and "Kept 30 days." in prompt
    metrics = compute_metrics([answered, skipped])
    assert metrics["judge_faithfulness"] == 0.9


def test_a_judge_reply_without_scores_is_a_clear_error():
    from app.errors import ProviderError

    with pytest.raises(ProviderError, match="no usable scores"):
        evals.parse_judgement("I think it is fine.")


# ---------------------------------------------------------------------------------- CLI

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
