"""Reading a whole collection page by page while another process deletes from it: a real
embedded Chroma store; the deletes happen between the reader's page requests, as an
ingest removing stale chunks right after publishing would make them."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from app.index.chroma import load_all_chunks, open_collection, open_store

from .conftest import make_settings

CHUNKS = 40
PAGE = 7  # so the collection takes six pages


class TinyEmbeddings:
    """Two-dimensional vectors: paging does not care what the vectors are."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(len(text)), 1.0] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(len(text)), 1.0]


@pytest.fixture
def collection(tmp_path, monkeypatch):
    monkeypatch.setattr("app.index.chroma.GET_PAGE", PAGE)
    settings = make_settings(tmp_path)
    collection = open_collection(settings, "privacy_qa_paging", create=True)
    open_store(settings, TinyEmbeddings(), collection).add_documents(
        [
            Document(id=f"c{i:02d}", page_content=f"chunk {i}", metadata={"source": "a.md"})
            for i in range(CHUNKS)
        ]
    )
    return collection


def delete_while_reading(monkeypatch, collection, plan: dict[int, list[str]]) -> list[int]:
    """After the n-th ``get`` of the collection returns, delete ``plan[n]`` (if any)."""
    real_get = collection.get
    calls = [0]

    def get(*args, **kwargs):
        got = real_get(*args, **kwargs)
        calls[0] += 1
        if calls[0] in plan:
            collection.delete(ids=plan[calls[0]])  # the same Chroma files
        return got

    monkeypatch.setattr(collection, "get", get)
    return calls


def ids_of(chunks: list[Document]) -> list[str]:
    return [chunk.id for chunk in chunks]


def test_unchanged_collection_is_read_in_pages_once(monkeypatch, collection):
    calls = delete_while_reading(monkeypatch, collection, {})
    chunks = load_all_chunks(collection)
    assert ids_of(chunks) == [f"c{i:02d}" for i in range(CHUNKS)]
    assert chunks[3].page_content == "chunk 3" and chunks[3].metadata == {"source": "a.md"}
    assert calls[0] == CHUNKS // PAGE + 2  # six pages and the empty one: no second listing


def test_deletes_between_pages_skip_no_chunk(monkeypatch, collection):
    """Deleting three chunks of the first page moves every later chunk three places down:
    read by offset alone, the second page would start three chunks late."""
    deleted = ["c00", "c01", "c02"]
    delete_while_reading(monkeypatch, collection, {1: deleted})
    chunks = load_all_chunks(collection)
    expected = [f"c{i:02d}" for i in range(CHUNKS) if f"c{i:02d}" not in deleted]
    assert ids_of(chunks) == expected  # every chunk left, each once, in store order
    assert all(chunk.page_content == f"chunk {int(chunk.id[1:])}" for chunk in chunks)


def test_deletes_that_go_on_during_the_check_are_waited_out(monkeypatch, collection):
    """One chunk deleted after each of the first nine requests (pages and listings alike),
    from the front and from pages already read: the result is what the store holds once
    the deletes stopped."""
    plan = {n: [f"c{(n - 1) * 4:02d}"] for n in range(1, 10)}
    delete_while_reading(monkeypatch, collection, plan)
    chunks = load_all_chunks(collection)
    monkeypatch.undo()  # the plain get again: this read must not delete anything more
    remaining = collection.get(include=[])["ids"]
    assert len(remaining) == CHUNKS - 9
    assert ids_of(chunks) == remaining


def test_a_chunk_deleted_after_it_was_read_is_left_out(monkeypatch, collection):
    # The last page's chunk c38 is deleted once the pages were read: not in the result.
    delete_while_reading(monkeypatch, collection, {6: ["c38"], 7: ["c01"]})
    chunks = load_all_chunks(collection)
    assert "c38" not in ids_of(chunks) and "c01" not in ids_of(chunks)
    assert len(chunks) == len(set(ids_of(chunks))) == CHUNKS - 2


# ------------------------------------------------------------ the one error translator


def test_a_lost_server_is_unavailable_and_names_the_fix(tmp_path):
    import httpx

    from app.errors import StoreUnavailableError
    from app.index.chroma import store_error

    url = "http://127.0.0.1:9"
    settings = make_settings(tmp_path, chroma_url=url)
    error = store_error(settings, httpx.ConnectError("refused"))
    assert isinstance(error, StoreUnavailableError)
    assert f"Cannot reach the Chroma server at {url}" in str(error)
    assert "chroma run" in str(error) and "PRIVACY_QA_CHROMA_URL" in str(error)
    # Not the server's: left to the caller, as is any error without a server.
    assert store_error(settings, ValueError("a bug")) is None
    assert store_error(make_settings(tmp_path), httpx.ConnectError("refused")) is None


def test_a_collection_that_cannot_be_opened(tmp_path):
    from app.errors import StoreCorruptError, StoreMismatchError
    from app.index.chroma import store_error
    from app.index.manifest import Manifest, fingerprint

    settings = make_settings(tmp_path)
    missing = store_error(settings, KeyError("gone"), collection="privacy_qa_x")
    assert isinstance(missing, StoreCorruptError) and "--rebuild" in str(missing)
    in_a_server = Manifest("privacy_qa_x", fingerprint(settings), store="http://127.0.0.1:9")
    other = store_error(settings, KeyError("gone"), collection="x", manifest=in_a_server)
    assert isinstance(other, StoreMismatchError)
    assert "set PRIVACY_QA_CHROMA_URL=http://127.0.0.1:9" in str(other)
    broken = store_error(settings, OSError("bad file"), connecting=True)
    assert isinstance(broken, StoreCorruptError) and str(settings.store_dir) in str(broken)
