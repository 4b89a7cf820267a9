"""Chroma server mode: a real `chroma run` subprocess on 127.0.0.1, the real model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.config import load_settings
from app.errors import ConfigError, StoreUnavailableError
from tests.conftest import copy_corpus, make_settings

CHROMA = Path(sys.executable).parent / "chroma"
EDITED = "corpus/openai-api-privacy-explained.md"
DELETED = "corpus/openai-baa-help-article.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChromaServer:
    """`chroma run` on a free port of 127.0.0.1, persisting into ``path``."""

    def __init__(self, path: Path):
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = path.with_suffix(".log")
        self.process: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [CHROMA, "run", "--path", str(self.path), "--host", "127.0.0.1"]
                + ["--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited: {self.log.read_text()[-2000:]}")
            try:
                httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"chroma run did not answer: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def chroma_server(tmp_path):
    server = ChromaServer(tmp_path / "chroma-server").start()
    yield server
    server.stop()


def server_collection(url: str, name: str):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    port = int(url.rsplit(":", 1)[1])
    client = chromadb.HttpClient(
        host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    return client.get_collection(name)


# ----------------------------------------------------------------------- settings


def test_chroma_url_must_be_http_host_port():
    assert load_settings(chroma_url="http://127.0.0.1:8000/").chroma_url == (
        "http://127.0.0.1:8000"
    )
    assert load_settings(chroma_url="").chroma_url is None
    for bad in ("127.0.0.1:8000", "ftp://host:1", "http://host:port", "http://host:1/chroma"):
        with pytest.raises(ConfigError, match="PRIVACY_QA_CHROMA_URL"):
            load_settings(chroma_url=bad)


def test_record_db_defaults_to_the_sqlite_file_in_the_data_dir(tmp_path):
    settings = make_settings(tmp_path)
    assert settings.record_db == f"sqlite:///{tmp_path / 'data' / 'records.sqlite'}"
    other = make_settings(tmp_path, record_db_url="sqlite:////srv/records.sqlite")
    assert other.record_db == "sqlite:////srv/records.sqlite"


def test_a_server_that_never_answers_fails_within_the_timeout(tmp_path):
    """A port that accepts connections but never replies (a hung server): no hang."""
    from app.index.chroma import chroma_client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # never accepted: the heartbeat request gets no answer
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = make_settings(tmp_path, chroma_url=url, chroma_timeout_s=0.5)
        with pytest.raises(StoreUnavailableError, match=url.replace(".", r"\.")):
            chroma_client(settings)


# ---------------------------------------------------------------- against a server


@pytest.mark.slow
def test_ingest_change_and_ask_against_a_chroma_server(
    tmp_path, chroma_server, embeddings, monkeypatch
):
    from app.index.chroma import load_all_chunks, open_collection
    from app.index.ingest import ingest
    from app.index.manifest import read_manifest
    from app.session import QA

    # Reads of the whole collection go page by page (one get fails beyond ~30k chunks in
    # Chroma's SQLite); small pages make this corpus take several.
    monkeypatch.setattr("app.index.chroma.GET_PAGE", 7)

    corpus = copy_corpus(tmp_path / "corpus")
    records = tmp_path / "shared" / "records.sqlite"
    records.parent.mkdir()
    settings = make_settings(
        tmp_path, corpus, chroma_url=chroma_server.url, record_db_url=f"sqlite:///{records}"
    )

    first = ingest(settings, embeddings)
    assert first.documents == 2 and first.chunks > 10
    # Everything went to the server and the chosen record database, nothing local.
    assert not settings.store_dir.exists() and not settings.record_db_path.exists()
    assert records.exists()
    live = read_manifest(settings).collection
    assert server_collection(chroma_server.url, live).count() == first.chunks
    chunks = load_all_chunks(open_collection(settings))
    assert len({chunk.id for chunk in chunks}) == len(chunks) == first.chunks

    qa = QA(settings, embeddings)
    answer = qa.ask("How long does OpenAI retain API data?")
    assert not answer.abstained
    assert any("30 days" in c.quote for c in answer.citations)

    # An incremental change: one file edited, one deleted.
    edited = corpus / Path(EDITED).name
    edited.write_text(
        edited.read_text(encoding="utf-8")
        + "\n## Quokka logs\n\nQuokka telemetry logs are kept for 41 days, then erased.\n",
        encoding="utf-8",
    )
    (corpus / Path(DELETED).name).unlink()
    second = ingest(settings, embeddings)
    assert (second.updated, second.deleted, second.rebuilt) == (1, 1, False)
    assert 1 <= second.chunks_added < first.chunks
    assert read_manifest(settings).collection == live  # same generation, updated in place
    collection = server_collection(chroma_server.url, live)
    assert collection.count() == second.chunks
    sources = {m["source"] for m in collection.get(include=["metadatas"])["metadatas"]}
    assert sources == {EDITED}

    # The reader opened before the change answers from the new index.
    answer = qa.ask("How long are quokka telemetry logs kept?")
    assert not answer.abstained
    assert any("41 days" in c.quote for c in answer.citations)
    assert all(hit.chunk.metadata["source"] == EDITED for hit in answer.hits)

    again = ingest(settings, embeddings)
    assert again.chunks_added == 0 and again.chunks_deleted == 0


@pytest.mark.slow
def test_cli_says_clearly_when_the_server_is_down(tmp_path, chroma_server, embeddings):
    from app.index.ingest import ingest

    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path, corpus, chroma_url=chroma_server.url)
    ingest(settings, embeddings)
    chroma_server.stop()
    (corpus / Path(DELETED).name).unlink()  # so that ingest has work to do

    env = {
        **os.environ,
        "PRIVACY_QA_DATA_DIR": str(settings.data_dir),
        "PRIVACY_QA_CORPUS_DIR": str(corpus),
        "PRIVACY_QA_CHROMA_URL": chroma_server.url,
    }
    for args in (["ask", "How long does OpenAI retain API data?"], ["ingest"]):
        # The timeout only guards against a hang; the call itself fails at once.
        result = subprocess.run(
            [sys.executable, "-m", "app", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 2, result.stderr
        assert f"Cannot reach the Chroma server at {chroma_server.url}" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout
    # The failed ingest changed nothing: the manifest still lists the deleted file.
    from app.index.manifest import read_manifest

    assert DELETED in read_manifest(settings).files


@pytest.mark.slow
def test_a_server_lost_after_the_index_was_opened(tmp_path, chroma_server, embeddings):
    """The server dies while a reader has the index open: each question fails at once with
    StoreUnavailableError naming the URL, and the same reader answers again once the
    server is back."""
    from app.index.ingest import ingest
    from app.session import QA

    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path, corpus, chroma_url=chroma_server.url, chroma_timeout_s=2)
    ingest(settings, embeddings)
    qa = QA(settings, embeddings)
    question = "How long does OpenAI retain API data?"
    assert not qa.ask(question).abstained

    chroma_server.process.kill()  # no shutdown: the connections just go
    chroma_server.process.wait()
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        qa.ask(question)
    assert time.monotonic() - started < settings.chroma_timeout_s
    message = str(caught.value)
    assert f"Cannot reach the Chroma server at {chroma_server.url}" in message
    assert "chroma run" in message and "PRIVACY_QA_CHROMA_URL" in message

    chroma_server.start()  # the same port and files
    answer = qa.ask(question)
    assert not answer.abstained and any("30 days" in c.quote for c in answer.citations)


@pytest.mark.slow
def test_a_server_lost_during_an_ingest_is_finished_by_the_next(
    tmp_path, chroma_server, embeddings
):
    from app.index.ingest import ingest
    from app.index.manifest import read_manifest

    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path, corpus, chroma_url=chroma_server.url, chroma_timeout_s=2)

    def kill_the_server(done: int, total: int) -> None:
        # Called once a batch is embedded, before it is written to the server.
        if chroma_server.process.poll() is None:
            chroma_server.process.kill()
            chroma_server.process.wait()

    with pytest.raises(StoreUnavailableError, match=chroma_server.url.replace(".", r"\.")):
        ingest(settings, embeddings, on_progress=kill_the_server)
    assert read_manifest(settings) is None  # nothing published
    assert (settings.data_dir / "ingest.pending").exists()

    chroma_server.start()
    report = ingest(settings, embeddings)
    assert report.recovered and report.documents == 2 and report.chunks > 10
    live = read_manifest(settings).collection
    assert server_collection(chroma_server.url, live).count() == report.chunks


@pytest.mark.slow
def test_cli_ask_says_clearly_when_the_server_dies_mid_session(tmp_path, chroma_server, embeddings):
    """`privacy-qa ask --jsonl -` keeps one QA open over many questions: the questions
    after the server died get the message, and the exit code is 2."""
    from app.index.ingest import ingest

    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path, corpus, chroma_url=chroma_server.url)
    ingest(settings, embeddings)
    env = {
        **os.environ,
        "PRIVACY_QA_DATA_DIR": str(settings.data_dir),
        "PRIVACY_QA_CORPUS_DIR": str(corpus),
        "PRIVACY_QA_CHROMA_URL": chroma_server.url,
        "PRIVACY_QA_CHROMA_TIMEOUT_S": "2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "ask", "--jsonl", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        question = "How long does OpenAI retain API data?"
        process.stdin.write(json.dumps({"id": "before", "question": question}) + "\n")
        process.stdin.flush()
        first = json.loads(process.stdout.readline())  # the index is open, the model loaded
        assert first["id"] == "before" and not first["abstained"], first

        chroma_server.process.kill()
        chroma_server.process.wait()
        process.stdin.write(json.dumps({"id": "after", "question": question}) + "\n")
        started = time.monotonic()
        out, err = process.communicate(timeout=120)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 2, err
    (second,) = [json.loads(line) for line in out.splitlines()]
    assert second["id"] == "after"
    assert f"Cannot reach the Chroma server at {chroma_server.url}" in second["error"]
    assert "Traceback" not in out + err and "internal error" not in out + err
    assert elapsed < 30  # the answer came at once, not after a hang (the process exits too)


# ------------------------------------------------------------ which store holds the index


def ask_cli(settings, question: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PRIVACY_QA_DATA_DIR": str(settings.data_dir),
        "PRIVACY_QA_CORPUS_DIR": str(settings.corpus_dir),
    }
    env.pop("PRIVACY_QA_CHROMA_URL", None)
    if settings.chroma_url:
        env["PRIVACY_QA_CHROMA_URL"] = settings.chroma_url
    return subprocess.run(
        [sys.executable, "-m", "app", "ask", question],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_switching_between_the_embedded_store_and_a_server(tmp_path, chroma_server, embeddings):
    """The manifest names the store holding the index. A reader of another store is told
    to ingest (or to point at the right one); ingest into another store rebuilds there and
    says so, without --rebuild."""
    from app.errors import StoreMismatchError
    from app.index.ingest import ingest
    from app.index.manifest import read_manifest
    from app.session import QA

    corpus = copy_corpus(tmp_path / "corpus")
    embedded = make_settings(tmp_path, corpus)
    server = make_settings(tmp_path, corpus, chroma_url=chroma_server.url)
    question = "How long does OpenAI retain API data?"

    first = ingest(embedded, embeddings)
    assert read_manifest(embedded).store == "embedded"

    # Asked through the server, which does not hold the index.
    with pytest.raises(StoreMismatchError) as caught:
        QA(server, embeddings)
    message = str(caught.value)
    assert f"built in the embedded store in {embedded.store_dir}" in message
    assert f"uses the Chroma server at {chroma_server.url}" in message
    assert "Run `privacy-qa ingest`" in message and "unset PRIVACY_QA_CHROMA_URL" in message

    plan = ingest(server, embeddings, dry_run=True)
    assert plan.rebuilt and plan.chunks_added == first.chunks
    assert plan.rebuild_reason == (
        f"the vector store changed: the embedded store in {embedded.store_dir} -> "
        f"the Chroma server at {chroma_server.url}"
    )
    moved = ingest(server, embeddings)
    assert moved.rebuilt and moved.rebuild_reason == plan.rebuild_reason
    assert (moved.added, moved.chunks_added, moved.chunks) == (2, first.chunks, first.chunks)
    manifest = read_manifest(server)
    assert manifest.store == chroma_server.url
    assert server_collection(chroma_server.url, manifest.collection).count() == first.chunks
    assert not QA(server, embeddings).ask(question).abstained
    assert not ingest(server, embeddings).rebuilt  # and now it stays there

    # Back without the server: the embedded store holds an older generation only.
    with pytest.raises(StoreMismatchError, match=f"PRIVACY_QA_CHROMA_URL={chroma_server.url}"):
        QA(embedded, embeddings)
    result = ask_cli(embedded, question)
    assert result.returncode == 2, result.stderr
    assert "was built in the Chroma server at" in result.stderr
    assert "Run `privacy-qa ingest` to build the index there" in result.stderr
    back = ingest(embedded, embeddings)
    assert back.rebuilt and "-> the embedded store" in back.rebuild_reason
    assert read_manifest(embedded).store == "embedded"
    assert not QA(embedded, embeddings).ask(question).abstained


@pytest.mark.slow
def test_switching_between_two_servers(tmp_path, chroma_server, embeddings):
    from app.errors import StoreMismatchError
    from app.index.ingest import ingest
    from app.index.manifest import read_manifest
    from app.session import QA

    other = ChromaServer(tmp_path / "other-server").start()
    try:
        corpus = copy_corpus(tmp_path / "corpus")
        first = make_settings(tmp_path, corpus, chroma_url=chroma_server.url)
        second = make_settings(tmp_path, corpus, chroma_url=other.url)
        ingest(first, embeddings)

        with pytest.raises(StoreMismatchError, match=f"the Chroma server at {chroma_server.url}"):
            QA(second, embeddings)
        report = ingest(second, embeddings)
        assert report.rebuilt and report.rebuild_reason == (
            f"the vector store changed: the Chroma server at {chroma_server.url} -> "
            f"the Chroma server at {other.url}"
        )
        assert read_manifest(second).store == other.url
        assert not QA(second, embeddings).ask("What is SOC 2?").abstained
        # The first server still holds the old generation, not the live one.
        with pytest.raises(StoreMismatchError, match=f"PRIVACY_QA_CHROMA_URL={other.url}"):
            QA(first, embeddings)
    finally:
        other.stop()


@pytest.mark.slow
def test_the_same_server_by_another_name_and_manifests_without_a_store(
    tmp_path, chroma_server, embeddings
):
    """Machines may name one server differently (localhost, 127.0.0.1, a DNS name): a
    server that holds the live collection is the index's store whatever its URL. A manifest
    written before the store was recorded means the embedded store, or the server that
    holds its collection."""
    from app.index.ingest import ingest
    from app.session import QA

    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path, corpus, chroma_url=chroma_server.url)
    alias = make_settings(tmp_path, corpus, chroma_url=f"http://localhost:{chroma_server.port}")
    first = ingest(settings, embeddings)
    assert not QA(alias, embeddings).ask("What is SOC 2?").abstained
    again = ingest(alias, embeddings)
    assert not again.rebuilt and again.chunks_added == again.chunks_deleted == 0

    # An older manifest (no "store") of an index in a server keeps working there.
    manifest = json.loads(settings.manifest_path.read_text(encoding="utf-8"))
    del manifest["store"]
    settings.manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert not QA(settings, embeddings).ask("What is SOC 2?").abstained
    report = ingest(settings, embeddings)
    assert not report.rebuilt and report.chunks == first.chunks
