"""A Chroma server that hangs (SIGSTOP: connections are accepted, nothing answers) while a
reader or an ingest uses it: each fails within PRIVACY_QA_CHROMA_READ_TIMEOUT_S with a
message naming the setting, and works again once the server continues."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from app.errors import StoreUnavailableError
from tests.conftest import copy_corpus, make_settings
from tests.test_index_server import ChromaServer

READ_TIMEOUT = 2.0
GIVE_UP = 60  # seconds: longer means the call hung (the test then fails, not hangs)


@pytest.fixture
def hung_server(tmp_path):
    """A real `chroma run`; the test stops it with :meth:`hang`; it is continued and
    stopped at teardown whatever happened."""
    server = ChromaServer(tmp_path / "chroma-server").start()

    def hang() -> None:
        server.process.send_signal(signal.SIGSTOP)

    server.hang = hang
    yield server
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


def settings_for(tmp_path, server):
    corpus = copy_corpus(tmp_path / "corpus")
    return make_settings(
        tmp_path,
        corpus,
        chroma_url=server.url,
        chroma_timeout_s=2,
        chroma_read_timeout_s=READ_TIMEOUT,
    )


def call_with_deadline(server, call):
    """``call()``'s error (or None) and its duration; SIGCONT the server if it hangs past
    GIVE_UP so the test fails instead of hanging."""
    outcome: dict = {}

    def target() -> None:
        started = time.monotonic()
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(GIVE_UP)
    if thread.is_alive():
        server.process.send_signal(signal.SIGCONT)
        thread.join(GIVE_UP)
        pytest.fail(f"the call waited more than {GIVE_UP} s for the hung server")
    return outcome.get("error"), outcome["seconds"]


def assert_names_the_setting(error, server) -> None:
    assert isinstance(error, StoreUnavailableError), repr(error)
    message = str(error)
    assert server.url in message and "PRIVACY_QA_CHROMA_READ_TIMEOUT_S" in message, message


@pytest.mark.slow
def test_a_reader_of_a_hung_server_fails_within_the_read_timeout(tmp_path, hung_server, embeddings):
    from app.index.ingest import ingest
    from app.session import QA

    settings = settings_for(tmp_path, hung_server)
    ingest(settings, embeddings)
    qa = QA(settings, embeddings)
    question = "How long does OpenAI retain API data?"
    assert not qa.ask(question).abstained

    hung_server.hang()
    error, seconds = call_with_deadline(hung_server, lambda: qa.ask(question))
    assert_names_the_setting(error, hung_server)
    assert seconds < READ_TIMEOUT * 4

    hung_server.process.send_signal(signal.SIGCONT)  # the same reader answers again
    assert not qa.ask(question).abstained


@pytest.mark.slow
def test_an_ingest_into_a_hung_server_fails_within_the_read_timeout(
    tmp_path, hung_server, embeddings
):
    from app.index.ingest import ingest
    from app.index.manifest import read_manifest

    settings = settings_for(tmp_path, hung_server)

    def hang_the_server(done: int, total: int) -> None:
        # Called once a batch is embedded, before it is written to the server.
        if done and not getattr(hang_the_server, "hung", False):
            hang_the_server.hung = True
            hung_server.hang()

    error, seconds = call_with_deadline(
        hung_server, lambda: ingest(settings, embeddings, on_progress=hang_the_server)
    )
    assert_names_the_setting(error, hung_server)
    assert read_manifest(settings) is None  # nothing published

    hung_server.process.send_signal(signal.SIGCONT)
    report = ingest(settings, embeddings)
    assert report.recovered and report.documents == 2 and report.chunks > 10
