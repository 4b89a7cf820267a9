"""Ingest into a real Chroma store in a temp dir, with the real model."""

from __future__ import annotations

import json

import pytest

from app.errors import StoreMismatchError, StoreMissingError, UserError
from app.qa import QA
from app.store import check_store, ingest, load_all_chunks, open_store

from .conftest import copy_corpus, make_settings

pytestmark = pytest.mark.slow


def test_ingest_builds_store_and_manifest(indexed_settings, embeddings):
    manifest = json.loads(indexed_settings.manifest_path.read_text())
    assert manifest["fingerprint"]["embeddings"] == "local/all-MiniLM-L6-v2"
    assert manifest["documents"] == 2
    chunks = load_all_chunks(open_store(indexed_settings, embeddings))
    assert len(chunks) == manifest["chunks"] > 10
    assert len({c.id for c in chunks}) == len(chunks)
    assert {c.metadata["source"] for c in chunks} == set(manifest["sources"])


def test_reingest_of_unchanged_corpus_adds_nothing(tmp_path, embeddings):
    copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    first = ingest(settings, embeddings)
    assert first.chunks_added == first.chunks > 0
    again = ingest(settings, embeddings)
    assert (again.chunks_added, again.chunks_deleted) == (0, 0)
    assert again.chunks_unchanged == first.chunks

    (tmp_path / "corpus" / "openai-baa-help-article.md").unlink()
    after_delete = ingest(settings, embeddings)
    assert after_delete.documents == 1
    assert after_delete.chunks_deleted > 0
    sources = {c.metadata["source"] for c in load_all_chunks(open_store(settings, embeddings))}
    assert sources == {"corpus/openai-api-privacy-explained.md"}


def test_missing_store_says_run_ingest(tmp_path, embeddings):
    with pytest.raises(StoreMissingError, match="run `privacy-qa ingest` first"):
        QA(make_settings(tmp_path), embeddings)


def test_store_built_with_other_settings_is_refused_then_rebuilt(tmp_path, embeddings):
    copy_corpus(tmp_path / "corpus")
    ingest(make_settings(tmp_path), embeddings)
    other = make_settings(tmp_path, chunk_tokens=96)
    with pytest.raises(StoreMismatchError, match="Reindex with `privacy-qa ingest`"):
        check_store(other, embeddings.model_id)
    report = ingest(other, embeddings)
    assert report.rebuilt and "chunking" in report.rebuild_reason
    assert report.chunks_unchanged == 0
    check_store(other, embeddings.model_id)  # now matches
    assert len(load_all_chunks(open_store(other, embeddings))) == report.chunks


def test_empty_corpus_is_an_error_and_keeps_the_index(tmp_path, embeddings):
    copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    built = ingest(settings, embeddings)
    for path in (tmp_path / "corpus").iterdir():
        path.unlink()
    (tmp_path / "corpus" / "empty.md").write_text("")
    with pytest.raises(UserError, match="No readable documents"):
        ingest(settings, embeddings)
    assert len(load_all_chunks(open_store(settings, embeddings))) == built.chunks
