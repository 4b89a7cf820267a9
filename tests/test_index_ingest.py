"""Ingest into a real Chroma store in a temp dir, with the real model: incremental updates,
rebuilds, dry runs, bad data dirs. Crashes and concurrency are in
test_index_ingest_faults.py."""

from __future__ import annotations

import json

import pytest

from app.config import DEFAULT_LOCAL_MODEL
from app.corpus import load_corpus
from app.errors import StoreCorruptError, StoreMismatchError, StoreMissingError, UserError
from app.index import changes
from app.index.changes import index_status
from app.index.chroma import load_all_chunks, open_collection
from app.index.ingest import ingest
from app.index.lexical import LexicalIndex
from app.index.manifest import check_store, fingerprint, lexical_path, read_manifest
from app.session import QA

from .conftest import copy_corpus, make_settings

pytestmark = pytest.mark.slow

BAA = "corpus/openai-baa-help-article.md"
EXPLAINER = "corpus/openai-api-privacy-explained.md"


class CountingEmbeddings:
    """The real model, counting what it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.embedded = inner, 0
        self.model_id, self.max_input_tokens = inner.model_id, inner.max_input_tokens
        self.count_tokens = inner.count_tokens

    def embed_documents(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def stored(settings, embeddings):
    chunks = load_all_chunks(open_collection(settings))
    # The lexical index on disk always holds exactly the stored chunks.
    lexical = LexicalIndex.open(settings, read_manifest(settings).collection)
    assert lexical.ids() == {c.id for c in chunks}
    lexical.close()
    return chunks


def test_ingest_builds_store_and_manifest(indexed_settings, embeddings):
    manifest = json.loads(indexed_settings.manifest_path.read_text())
    assert manifest["fingerprint"]["embeddings"] == DEFAULT_LOCAL_MODEL
    assert manifest["documents"] == 2
    chunks = stored(indexed_settings, embeddings)
    assert len(chunks) == manifest["chunks"] > 10
    assert len({c.id for c in chunks}) == len(chunks)
    assert {c.metadata["source"] for c in chunks} == set(manifest["files"])


def test_edit_add_delete_and_rename_touch_only_what_changed(tmp_path, embeddings):
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    counting = CountingEmbeddings(embeddings)
    first = ingest(settings, counting)
    assert (first.added, first.chunks_added) == (2, first.chunks)
    assert counting.embedded == first.chunks

    # Edit one sentence of one document: only the chunk holding it is embedded again.
    baa = corpus / "openai-baa-help-article.md"
    baa.write_text(baa.read_text().replace("baa@openai.com", "compliance@example.org"))
    counting.embedded = 0
    edited = ingest(settings, counting)
    assert (edited.added, edited.updated, edited.deleted, edited.unchanged) == (0, 1, 0, 1)
    assert edited.chunks_added == counting.embedded == edited.chunks_deleted >= 1
    assert edited.chunks == first.chunks
    texts = " ".join(c.page_content for c in stored(settings, embeddings))
    assert "compliance@example.org" in texts and "baa@openai.com" not in texts

    # Add one, delete one, rename one (old path gone, new path present).
    (corpus / "extra.md").write_text("# Extra\n\nBackups are kept for 14 days.\n")
    (corpus / "openai-api-privacy-explained.md").rename(corpus / "explainer.md")
    baa.unlink()
    counting.embedded = 0
    moved = ingest(settings, counting)
    assert (moved.added, moved.updated, moved.deleted, moved.unchanged) == (2, 0, 2, 0)
    chunks = stored(settings, embeddings)
    assert {c.metadata["source"] for c in chunks} == {"corpus/extra.md", "corpus/explainer.md"}
    assert len({c.id for c in chunks}) == len(chunks) == moved.chunks
    assert counting.embedded == moved.chunks_added == moved.chunks


def test_an_index_without_its_lexical_index_gets_one_without_embedding(tmp_path, embeddings):
    """An index written before the lexical index on disk, or with a file of its first
    layout (``<collection>.sqlite``, without the corpus's tables): readers build BM25 and
    the tables in memory, and the next ingest (nothing changed) writes this layout's file
    in a full pass, embedding nothing, and deletes the old one."""
    copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    first = ingest(settings, embeddings)
    path = lexical_path(settings, read_manifest(settings).collection)
    older = path.parent / f"{read_manifest(settings).collection}.sqlite"
    path.rename(older)
    qa = QA(settings, embeddings)
    assert qa.retriever.sources() and not qa.ask("How long is API data retained?").abstained
    counting = CountingEmbeddings(embeddings)
    report = ingest(settings, counting)
    assert counting.embedded == 0 and report.chunks == first.chunks and path.exists()
    assert not older.exists()
    assert len(stored(settings, embeddings)) == first.chunks
    path.unlink()  # none at all: the same
    assert not QA(settings, embeddings).ask("How long is API data retained?").abstained
    assert ingest(settings, counting).chunks == first.chunks and path.exists()
    assert counting.embedded == 0


def test_a_changed_file_that_becomes_unreadable_loses_its_chunks(tmp_path, embeddings):
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    ingest(settings, embeddings)
    (corpus / "openai-baa-help-article.md").write_bytes(b"\x00\x01binary\xff" * 50)
    report = ingest(settings, embeddings)
    assert report.updated == 1 and report.documents == 1
    assert [s["source"] for s in report.skipped] == [BAA]
    assert {c.metadata["source"] for c in stored(settings, embeddings)} == {EXPLAINER}
    # Still reported on a no-op run, which reads no file.
    assert [s["source"] for s in ingest(settings, embeddings).skipped] == [BAA]


def test_noop_dry_run_leaves_the_hash_cache_alone(indexed_settings, monkeypatch):
    monkeypatch.setattr(changes, "SETTLE_NS", 0)  # cache the files at once
    cache = indexed_settings.hash_cache_path
    cache.unlink(missing_ok=True)  # only a cache: the next run writes it again
    report = changes.unchanged_report(indexed_settings, dry_run=True)
    assert report is not None and report.dry_run and report.unchanged == 2
    assert not cache.exists()
    assert changes.unchanged_report(indexed_settings) is not None
    assert cache.exists()


def test_dry_run_counts_exactly_and_writes_nothing(tmp_path, embeddings):
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    plan = ingest(settings, embeddings, dry_run=True)
    assert plan.dry_run and not settings.data_dir.exists()
    assert plan.added == 2 and plan.chunks_added == plan.chunks > 10

    ingest(settings, embeddings)
    (corpus / "openai-baa-help-article.md").unlink()
    before = {p: p.stat().st_mtime_ns for p in settings.data_dir.rglob("*") if p.is_file()}
    plan = ingest(settings, embeddings, dry_run=True)
    after = {p: p.stat().st_mtime_ns for p in settings.data_dir.rglob("*") if p.is_file()}
    assert before == after
    assert (plan.deleted, plan.unchanged, plan.chunks_added) == (1, 1, 0)
    real = ingest(settings, embeddings)
    assert (real.deleted, real.chunks_deleted, real.chunks) == (1, plan.chunks_deleted, plan.chunks)


def test_index_status_lists_files_changed_since_indexing(tmp_path, embeddings):
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    assert not index_status(settings).exists
    report = ingest(settings, embeddings)
    status = index_status(settings)
    assert (status.exists, status.documents, status.chunks) == (True, 2, report.chunks)
    assert status.embeddings == DEFAULT_LOCAL_MODEL and status.indexed_at
    assert not status.changes.changed
    (corpus / "new.txt").write_text("Logs are kept for seven days.\n")
    (corpus / "openai-baa-help-article.md").unlink()
    changes = index_status(settings).changes
    assert (changes.added, changes.deleted) == (["corpus/new.txt"], [BAA])


def test_missing_store_says_run_ingest(tmp_path, embeddings):
    with pytest.raises(StoreMissingError, match="run `privacy-qa ingest` first"):
        QA(make_settings(tmp_path), embeddings)


def test_other_settings_are_refused_then_rebuilt_into_a_new_generation(tmp_path, embeddings):
    copy_corpus(tmp_path / "corpus")
    first = ingest(make_settings(tmp_path), embeddings)
    old_collection = json.loads(make_settings(tmp_path).manifest_path.read_text())["collection"]
    other = make_settings(tmp_path, chunk_tokens=96)
    with pytest.raises(StoreMismatchError, match="Reindex with `privacy-qa ingest`") as caught:
        check_store(other, embeddings.model_id)
    assert "PRIVACY_QA_EMBEDDINGS" not in str(caught.value)  # the chunking differs too
    # An index from a machine whose default model runs on the other runtime: either way out.
    with pytest.raises(StoreMismatchError) as caught:
        check_store(make_settings(tmp_path), "local/all-MiniLM-L6-v2-int8-other")
    assert str(caught.value).endswith(
        f"Reindex with `privacy-qa ingest`, or set PRIVACY_QA_EMBEDDINGS={embeddings.model_id}"
        " to use it as it is."
    )
    report = ingest(other, embeddings)
    assert report.rebuilt and "chunking" in report.rebuild_reason
    assert report.chunks_unchanged == 0 and report.chunks > first.chunks
    manifest = check_store(other, embeddings.model_id)  # now matches
    assert manifest.collection != old_collection
    assert len(stored(other, embeddings)) == report.chunks
    # The previous generation is dropped by the next ingest, not while readers may use it.
    ingest(other, embeddings, rebuild=True)
    with pytest.raises(StoreCorruptError):
        open_collection(other, old_collection)


def test_empty_corpus_is_an_error_and_keeps_the_index(tmp_path, embeddings):
    copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    built = ingest(settings, embeddings)
    for path in (tmp_path / "corpus").iterdir():
        path.unlink()
    (tmp_path / "corpus" / "empty.md").write_text("")
    with pytest.raises(UserError, match="No readable documents"):
        ingest(settings, embeddings)
    assert len(stored(settings, embeddings)) == built.chunks
    assert not index_status(settings).interrupted


def test_foreign_data_dir_is_refused_and_left_alone(tmp_path, embeddings):
    copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir()
    (settings.data_dir / "thesis.docx").write_text("years of work")
    with pytest.raises(StoreCorruptError, match=f"{settings.data_dir}.*--rebuild"):
        ingest(settings, embeddings)
    assert [p.name for p in settings.data_dir.iterdir()] == ["thesis.docx"]
    ingest(settings, embeddings, rebuild=True)  # asked for: builds beside it
    assert (settings.data_dir / "thesis.docx").read_text() == "years of work"


def test_corrupt_manifest_and_store_need_rebuild_and_nothing_is_deleted(tmp_path, embeddings):
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    ingest(settings, embeddings)
    good_manifest = settings.manifest_path.read_text()
    settings.manifest_path.write_text("{not json")
    for attempt in (lambda: ingest(settings, embeddings), lambda: QA(settings, embeddings)):
        with pytest.raises(StoreCorruptError, match="manifest.json is unreadable.*--rebuild"):
            attempt()
    assert (settings.store_dir / "chroma.sqlite3").exists()

    settings.manifest_path.write_text(good_manifest)
    sqlite = settings.store_dir / "chroma.sqlite3"
    sqlite.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreCorruptError, match=f"{settings.store_dir}.*--rebuild"):
        QA(settings, embeddings)
    (corpus / "new.txt").write_text("Logs are kept for seven days.\n")  # so ingest must write
    with pytest.raises(StoreCorruptError, match=f"{settings.store_dir}.*--rebuild"):
        ingest(settings, embeddings)
    assert sqlite.read_bytes().startswith(b"this is not a database")
    report = ingest(settings, embeddings, rebuild=True)
    assert report.rebuilt and report.documents == 3
    aside = [p for p in settings.data_dir.iterdir() if p.name.startswith("chroma.unreadable-")]
    assert len(aside) == 1 and (aside[0] / "chroma.sqlite3").exists()
    assert QA(settings, embeddings).ask("How long is API data retained?").citations


def test_reloads_when_the_index_changes_under_a_running_qa(tmp_path, embeddings):
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    ingest(settings, embeddings)
    qa = QA(settings, embeddings)
    assert not qa.refresh()
    (corpus / "backups.md").write_text(
        "# Backup policy\n\nNightly backups of the ticket database are kept for 14 days.\n"
    )
    ingest(settings, embeddings)
    answer = qa.ask("How long are nightly backups of the ticket database kept?")
    assert any(c.source == "corpus/backups.md" for c in answer.citations)
    assert {d.source for d in load_corpus(corpus).documents} == set(qa.retriever.sources())


def test_an_older_manifest_without_a_store_means_the_embedded_one(tmp_path, embeddings):
    settings = make_settings(tmp_path, copy_corpus(tmp_path / "corpus"))
    first = ingest(settings, embeddings)
    assert read_manifest(settings).store == "embedded"
    manifest = json.loads(settings.manifest_path.read_text(encoding="utf-8"))
    assert manifest["store"] == "embedded"
    del manifest["store"]
    settings.manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    assert not QA(settings, embeddings).ask("What is SOC 2?").abstained
    report = ingest(settings, embeddings)  # a no-op, not a rebuild
    assert not report.rebuilt and report.chunks_unchanged == first.chunks


def test_an_interrupted_rebuild_is_resumed_only_in_the_store_it_was_filling(tmp_path, embeddings):
    """A pending marker names the collection and the store it was being filled in; after
    a switch of store the new ingest starts its own generation instead."""
    settings = make_settings(tmp_path, copy_corpus(tmp_path / "corpus"))
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "ingest.pending").write_text(
        json.dumps(
            {
                "collection": "privacy_qa_20000101000000_abcdef",
                "store": "http://127.0.0.1:9",
                "fingerprint": fingerprint(settings),
                "pid": 1,
            }
        ),
        encoding="utf-8",
    )
    report = ingest(settings, embeddings)
    assert report.recovered and report.documents == 2
    assert read_manifest(settings).collection != "privacy_qa_20000101000000_abcdef"


def test_hostile_files_are_skipped_not_counted_and_not_fatal(tmp_path, embeddings):
    """A file name that is not UTF-8 aborted the whole ingest (UnicodeEncodeError), and
    skipped files were counted as added documents."""
    import os

    corpus = copy_corpus(tmp_path / "corpus")
    with open(os.path.join(os.fsencode(corpus), b"caf\xe9.md"), "w") as handle:
        handle.write("# Cafe\n\nA document with a Latin-1 name.\n")
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")
    outside = tmp_path / "hostname"
    outside.write_text("db-server-7\n")
    (corpus / "host.md").symlink_to(outside)
    settings = make_settings(tmp_path)

    report = ingest(settings, embeddings)
    assert report.documents == report.added == 2
    assert {e["source"] for e in report.skipped} == {
        "corpus/caf\\xe9.md",
        "corpus/notes.docx",
        "corpus/host.md",
    }
    assert report.changes.added == sorted([BAA, EXPLAINER])
    assert "db-server-7" not in json.dumps([c.page_content for c in stored(settings, embeddings)])

    (corpus / "other.docx").write_bytes(b"PK\x03\x04")
    again = ingest(settings, embeddings)
    assert again.added == 0 and again.changes.added == []
    assert "corpus/other.docx" in {e["source"] for e in again.skipped}
    assert read_manifest(settings).documents == 2
