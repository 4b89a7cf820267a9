"""The `privacy-qa` CLI as a user runs it: real subprocesses, real model, real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "app"]


def run(args, settings_dir: Path, corpus: Path | None = None, stdin: str | None = None):
    env = {
        **os.environ,
        "PRIVACY_QA_DATA_DIR": str(settings_dir),
        "PRIVACY_QA_CORPUS_DIR": str(corpus or settings_dir / "no-corpus"),
    }
    return subprocess.run(
        CLI + args, capture_output=True, text=True, env=env, input=stdin, timeout=300
    )


def assert_user_error(result, fragment: str):
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_ask_json_follows_the_contract(indexed_settings):
    result = run(
        ["ask", "--json", "How long does OpenAI retain API data?"], indexed_settings.data_dir
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {
        "question",
        "answer",
        "abstained",
        "citations",
        "timings_ms",
        "endpoints",
        "usage",
        "notices",
    }
    assert answer["abstained"] is False
    # Offline default: nothing was sent anywhere, no model tokens, nothing to note.
    assert answer["endpoints"] == [] and answer["usage"] is None and answer["notices"] == []
    assert "30 days" in answer["answer"]
    citation = answer["citations"][0]
    assert set(citation) >= {"n", "source", "title", "section", "url", "quote"}
    assert citation["source"] == "corpus/openai-api-privacy-explained.md"


def test_ask_prints_answer_then_numbered_sources(indexed_settings):
    result = run(["ask", "Can I get a BAA for ChatGPT Enterprise?"], indexed_settings.data_dir)
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert "[1]" in answer and "sales" in answer
    assert sources.startswith("[1] How can I get a Business Associate Agreement")
    assert "corpus/openai-baa-help-article.md:" in sources
    assert "https://help.openai.com/" in sources


def test_ask_jsonl_answers_each_line_and_reports_bad_ones(indexed_settings):
    lines = "\n".join(
        [
            json.dumps({"id": "a", "question": "Is the API SOC 2 compliant?"}),
            json.dumps({"id": "b", "question": "What is a good sourdough recipe?"}),
            "not json",
            json.dumps({"id": "c", "question": "   "}),
        ]
    )
    result = run(["ask", "--jsonl", "-"], indexed_settings.data_dir, stdin=lines)
    assert result.returncode == 2  # some lines were user errors
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", None, "c"]
    assert "SOC 2" in out[0]["answer"] and not out[0]["abstained"]
    assert out[1]["abstained"]
    assert "not valid JSON" in out[2]["error"]
    assert "empty" in out[3]["error"]


def test_empty_question_exits_2(indexed_settings):
    assert_user_error(run(["ask", "  "], indexed_settings.data_dir), "question is empty")


def test_too_long_question_exits_2(indexed_settings):
    assert_user_error(run(["ask", "why " * 1000], indexed_settings.data_dir), "limit is 2000")


def test_missing_store_exits_2_and_says_ingest(tmp_path):
    assert_user_error(run(["ask", "hello?"], tmp_path / "data"), "run `privacy-qa ingest` first")


def test_ingest_json_reports_counts_and_warns_about_bad_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "policy.md").write_text("# Policy\n\nBackups are encrypted and kept 14 days.\n")
    (corpus / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (corpus / "empty.md").write_text("")
    result = run(["ingest", "--json"], tmp_path / "data", corpus)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["documents"] == 1 and report["chunks_added"] == report["chunks"] >= 1
    assert "skipped corpus/photo.png" in result.stderr
    assert "skipped corpus/empty.md" in result.stderr

    again = run(["ingest"], tmp_path / "data", corpus)
    assert again.returncode == 0
    assert "Nothing changed: 1 documents" in again.stdout
    assert "skipped corpus/photo.png" in again.stderr  # still said, though nothing was read

    (corpus / "policy.md").write_text("# Policy\n\nBackups are encrypted and kept 30 days.\n")
    (corpus / "faq.md").write_text("# FAQ\n\nAsk the security team about key rotation.\n")
    changed = json.loads(run(["ingest", "--json"], tmp_path / "data", corpus).stdout)
    assert (changed["added"], changed["updated"], changed["deleted"]) == (1, 1, 0)
    assert changed["files"]["updated"] == ["corpus/policy.md"]
    assert changed["chunks_added"] == 2 and changed["chunks_deleted"] == 1


def test_ingest_dry_run_reports_and_writes_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "policy.md").write_text("# Policy\n\nBackups are encrypted and kept 14 days.\n")
    result = run(["ingest", "--dry-run"], tmp_path / "data", corpus)
    assert result.returncode == 0, result.stderr
    assert "Would index 1 documents" in result.stdout and "added corpus/policy.md" in result.stdout
    assert not (tmp_path / "data").exists()


def test_ingest_py_at_the_top_runs_the_same_command(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Logs are kept for seven days.\n")
    env = {
        **os.environ,
        "PRIVACY_QA_DATA_DIR": str(tmp_path / "d"),
        "PRIVACY_QA_CORPUS_DIR": str(corpus),
    }
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, str(root / "ingest.py"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] == 1


def test_missing_corpus_dir_is_a_user_error(tmp_path):
    assert_user_error(run(["ingest"], tmp_path / "data", tmp_path / "nope"), "does not exist")


def test_help_lists_the_commands():
    result = subprocess.run(CLI + ["--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "ingest" in result.stdout and "ask" in result.stdout
