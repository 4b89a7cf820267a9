"""Faults with real processes: an ingest SIGKILLed mid-write, a reader asking while an
ingest replaces a document, two ingests at once. Real model, real Chroma, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.corpus import load_corpus
from app.index.chroma import load_all_chunks, open_collection
from app.index.ingest import chunk_documents, ingest
from app.index.lexical import LexicalIndex
from app.index.manifest import read_manifest
from app.index.records import record_manager
from app.session import QA

from .conftest import ROOT, copy_corpus, make_settings

pytestmark = pytest.mark.slow

EXPLAINER = "openai-api-privacy-explained.md"
OLD_RETENTION = "retain API inputs and outputs for up to 30 days"
NEW_RETENTION = "retain API inputs and outputs for up to 45 days"


def synthetic(title: str, paragraphs: int) -> str:
    """A policy-like document long enough to need several embedding batches."""
    body = "\n\n".join(
        f"## {title} clause {i}\n\nClause {i} of the {title.lower()} says that records of "
        f"kind {i} are reviewed every {i + 2} weeks by the {title.lower()} committee, and "
        f"that exceptions to clause {i} need written approval from the data protection officer."
        for i in range(paragraphs)
    )
    return f"# {title}\n\n{body}\n"


def answerable(qa: QA) -> set[str]:
    """The dev and test eval questions this index answers (does not abstain on).

    Not the paraphrase split: it holds questions on the edge of answerable, which the
    corpus change of these tests (a section added, a document deleted, one added) may
    legitimately tip either way; whether a kill loses text is what is tested here.
    """
    lines = (ROOT / "evals" / "questions.jsonl").read_text().splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    questions = [
        item["question"]
        for item in items
        if item.get("split") in ("dev", "test") and not item.get("abstain")
    ]
    return {q for q in questions if not qa.ask(q).abstained}


def expected_ids(settings, embeddings) -> set[str]:
    """The chunk ids that chunking the current corpus gives (what ingest should store)."""
    documents = load_corpus(settings.corpus_dir).documents
    return {c.id for c in chunk_documents(documents, embeddings, settings)}


def assert_store_matches_corpus(settings, embeddings) -> None:
    chunks = load_all_chunks(open_collection(settings))
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunks"
    assert set(ids) == expected_ids(settings, embeddings)
    assert not any(c.metadata["source"] == "corpus/old-policy.md" for c in chunks)
    records = record_manager(settings, read_manifest(settings).collection)
    assert set(records.list_keys()) == set(ids)
    assert lexical_ids(settings) == set(ids)


def lexical_ids(settings) -> set[str]:
    """The chunks in the lexical index of the live collection."""
    index = LexicalIndex.open(settings, read_manifest(settings).collection)
    try:
        return index.ids()
    finally:
        index.close()


def wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def run_child(settings, point: str, *flags: str, wait: bool = True):
    args = [sys.executable, "-m", "tests.ingest_child"]
    args += [str(settings.data_dir), str(settings.corpus_dir), point, *flags]
    process = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if wait:
        process.wait(timeout=600)
    return process


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, embeddings):
    """An index of the real corpus plus a document that the change will delete."""
    tmp = tmp_path_factory.mktemp("baseline")
    corpus = copy_corpus(tmp / "corpus")
    (corpus / "old-policy.md").write_text(synthetic("Retired policy", 4))
    settings = make_settings(tmp)
    ingest(settings, embeddings)
    return tmp, answerable(QA(settings, embeddings))


def changed_copy(baseline, tmp_path):
    """A copy of the baseline index whose corpus then changes: one file edited, one deleted,
    one added."""
    import shutil

    source, _ = baseline
    shutil.copytree(source / "corpus", tmp_path / "corpus")
    shutil.copytree(source / "data", tmp_path / "data")
    corpus = tmp_path / "corpus"
    baa = corpus / "openai-baa-help-article.md"
    baa.write_text(baa.read_text() + "\n## Audit trail\n\nEvery BAA request is logged.\n")
    (corpus / "old-policy.md").unlink()
    (corpus / "records-policy.md").write_text(synthetic("Records retention", 12))
    return make_settings(tmp_path)


@pytest.mark.parametrize(
    "point", ["embed:3", "record:2", "lexical:3", "manifest", "delete:1", "after-manifest"]
)
def test_killed_ingest_loses_nothing_and_the_next_one_finishes(
    point, baseline, tmp_path, embeddings
):
    settings = changed_copy(baseline, tmp_path)
    old = lexical_ids(settings)
    child = run_child(settings, point)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    # The lexical index is the old one until its transaction commits, then the new one.
    committed = point in ("manifest", "delete:1", "after-manifest")
    assert lexical_ids(settings) == (expected_ids(settings, embeddings) if committed else old)

    # Everything answerable before the kill still is.
    qa = QA(settings, embeddings)
    assert {q for q in baseline[1] if qa.ask(q).abstained} == set()

    report = ingest(settings, embeddings)
    assert report.recovered
    assert_store_matches_corpus(settings, embeddings)
    assert not (settings.data_dir / "ingest.pending").exists()
    assert ingest(settings, embeddings).chunks_added == 0  # and now it is a no-op


def test_a_reader_sees_the_old_lexical_index_while_an_ingest_writes_it(tmp_path, embeddings):
    """The ingest stopped half-way through writing the lexical index: a reader sees the old
    index whole (and can search it), and the new one whole once the ingest commits."""
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    ingest(settings, embeddings)
    old = lexical_ids(settings)
    (corpus / "records-policy.md").write_text(synthetic("Records retention", 6))
    writer = run_child(settings, "lexical:3", "--stop", wait=False)
    try:
        wait_for(lambda: Path(f"/proc/{writer.pid}/stat").read_text().split()[2] == "T", "pause")
        assert lexical_ids(settings) == old
        qa = QA(settings, embeddings)
        assert not qa.ask("How long does OpenAI retain API data?").abstained
    finally:
        writer.send_signal(signal.SIGCONT)
        _, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err
    assert lexical_ids(settings) == expected_ids(settings, embeddings) > old


def test_killed_rebuild_leaves_the_live_index_and_is_finished_later(baseline, tmp_path, embeddings):
    settings = changed_copy(baseline, tmp_path)
    live = read_manifest(settings).collection
    child = run_child(settings, "embed:5", "--rebuild")
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    assert read_manifest(settings).collection == live
    qa = QA(settings, embeddings)
    assert {q for q in baseline[1] if qa.ask(q).abstained} == set()

    report = ingest(settings, embeddings, rebuild=True)
    assert report.recovered and report.rebuilt
    assert read_manifest(settings).collection != live
    assert_store_matches_corpus(settings, embeddings)


def test_reader_sees_old_or_new_text_never_an_error(tmp_path, embeddings):
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    ingest(settings, embeddings)
    old_text = (corpus / EXPLAINER).read_text()
    assert OLD_RETENTION in old_text
    new_text = old_text.replace(OLD_RETENTION, NEW_RETENTION)
    versions = {
        "corpus/openai-baa-help-article.md": [(corpus / "openai-baa-help-article.md").read_text()],
        f"corpus/{EXPLAINER}": [old_text, new_text],
    }

    stop, log = tmp_path / "stop", tmp_path / "answers.jsonl"
    with open(log, "w") as out:  # a file, not a pipe: a full pipe would pause the reader
        reader = subprocess.Popen(
            [sys.executable, "-m", "tests.reader_child", str(settings.data_dir), str(corpus)]
            + [str(stop), "How long does OpenAI retain API inputs and outputs?"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )

    def answers() -> list[dict]:
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def saw_new_text() -> bool:
        lines = answers()
        return any(NEW_RETENTION in quote for _, quote in lines[-1].get("quotes", []))

    def during(windows: list[tuple[float, float]]) -> list[dict]:
        """Answers whose question was being asked while an ingest ran."""
        return [
            line
            for line in answers()[1:]
            if any(line["t0"] <= end and start <= line["t"] for start, end in windows)
        ]

    try:
        wait_for(lambda: answers() and answers()[-1] != {"ready": True}, "the reader to start")
        windows = []
        # New, old, new, ... until at least three questions overlapped an ingest (on a
        # loaded machine a question can take longer than an ingest); always ends on new.
        for round_ in range(15):
            (corpus / EXPLAINER).write_text(new_text if round_ % 2 == 0 else old_text)
            started = time.time()
            report = ingest(settings, embeddings)
            windows.append((started, time.time()))
            assert report.updated == 1
            if round_ % 2 == 0 and round_ >= 2 and len(during(windows)) >= 3:
                break
        wait_for(saw_new_text, "the reader to pick up the final version by itself")
    finally:
        stop.touch()
        _, err = reader.communicate(timeout=60)
    lines = answers()[1:]
    assert len(during(windows)) >= 3, "the reader was not asking while the ingests ran"
    assert [line for line in lines if "error" in line] == [], err
    assert [line for line in lines if line["abstained"]] == []
    for line in lines:
        for source, quote in line["quotes"]:
            assert any(quote in version for version in versions[source])


def test_second_ingest_is_refused_while_one_runs_then_the_first_finishes(tmp_path, embeddings):
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    ingest(settings, embeddings)
    (corpus / "records-policy.md").write_text(synthetic("Records retention", 6))

    first = run_child(settings, "embed:2", "--stop", wait=False)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # wait until it is paused mid-write
            state = Path(f"/proc/{first.pid}/stat").read_text().split()[2]
            if state == "T":
                break
            time.sleep(0.1)
        else:
            pytest.fail("the first ingest never reached the pause point")

        env = {
            **os.environ,
            "PRIVACY_QA_DATA_DIR": str(settings.data_dir),
            "PRIVACY_QA_CORPUS_DIR": str(corpus),
        }
        second = subprocess.run(
            [sys.executable, "-m", "app", "ingest"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert second.returncode == 2
        assert f"Another ingest (pid {first.pid}) is writing to {settings.data_dir}" in (
            second.stderr
        )
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert json.loads(out)["added"] == 1
    assert_store_matches_corpus(settings, embeddings)
