"""app/index/manifest.py: the records on disk keep their JSON as it was (same keys), and
what an ingest reports keeps the ``ingest --json`` object."""

from __future__ import annotations

import json

import pytest

from app.errors import StoreCorruptError
from app.index.manifest import (
    EMBEDDED,
    CachedHash,
    Changes,
    IngestReport,
    Manifest,
    Pending,
    fingerprint,
    read_hash_cache,
    read_manifest,
    read_pending,
    write_manifest,
    write_pending,
)

from .conftest import make_settings

MANIFEST_KEYS = {
    "version",
    "collection",
    "store",
    "fingerprint",
    "indexed_at",
    "documents",
    "chunks",
    "files",
    "skipped",
}


@pytest.fixture
def settings(tmp_path):
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir()
    return settings


def test_a_manifest_is_written_with_its_keys_and_read_back(settings):
    manifest = Manifest(
        collection="privacy_qa_20000101000000_abcdef",
        fingerprint=fingerprint(settings),
        documents=2,
        chunks=30,
        files={"corpus/a.md": "ab12"},
        skipped=[{"source": "corpus/b.bin", "reason": "unsupported file type"}],
        indexed_at="2000-01-01T00:00:00+00:00",
    )
    write_manifest(settings, manifest)
    text = settings.manifest_path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert set(data) == MANIFEST_KEYS
    assert (data["version"], data["store"]) == (2, "embedded")
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert read_manifest(settings) == manifest


def test_a_manifest_without_a_store_means_the_embedded_one(settings):
    data = Manifest(collection="c", fingerprint=fingerprint(settings)).to_json()
    del data["store"]
    settings.manifest_path.write_text(json.dumps(data), encoding="utf-8")
    assert read_manifest(settings).store == EMBEDDED


def test_an_older_manifest_is_read_as_older(settings):
    settings.manifest_path.write_text(json.dumps({"fingerprint": {}}), encoding="utf-8")
    assert read_manifest(settings).version is None


@pytest.mark.parametrize(
    "text", ["{not json", "[]", '{"version": 2}', '{"version": 2, "fingerprint": {}}']
)
def test_an_unreadable_manifest_says_rebuild(settings, text):
    settings.manifest_path.write_text(text, encoding="utf-8")
    with pytest.raises(StoreCorruptError, match="unreadable.*--rebuild"):
        read_manifest(settings)


def test_no_manifest_is_none(settings):
    assert read_manifest(settings) is None


def test_the_pending_marker_keeps_its_keys(settings):
    assert read_pending(settings) is None
    pending = Pending("privacy_qa_x", "http://127.0.0.1:8000", fingerprint(settings), 42)
    write_pending(settings, pending)
    data = json.loads((settings.data_dir / "ingest.pending").read_text(encoding="utf-8"))
    assert set(data) == {"collection", "store", "fingerprint", "pid"}
    assert read_pending(settings) == pending


@pytest.mark.parametrize("text", ['{"collec', "[1, 2]"])
def test_a_pending_marker_cut_short_still_says_interrupted(settings, text):
    (settings.data_dir / "ingest.pending").write_text(text, encoding="utf-8")
    assert read_pending(settings) == Pending()


def test_hash_cache_entries_are_five_item_lists(tmp_path):
    cache = tmp_path / "file-hashes.json"
    entry = CachedHash(5, 10, 11, 99, "ab12")
    cache.write_text(json.dumps({"corpus/a.md": entry.to_json(), "corpus/b.md": 5}), "utf-8")
    assert entry.to_json() == [5, 10, 11, 99, "ab12"]
    assert read_hash_cache(cache) == {"corpus/a.md": entry}


def test_the_ingest_report_is_the_ingest_json_object():
    report = IngestReport(added=1, documents=1, chunks=3, chunks_added=3)
    report.changes = Changes(added=["corpus/a.md"])
    data = report.to_dict()
    assert list(data) == [
        "added",
        "updated",
        "deleted",
        "unchanged",
        "documents",
        "chunks",
        "chunks_added",
        "chunks_deleted",
        "chunks_unchanged",
        "skipped",
        "routine_problems",
        "rebuilt",
        "rebuild_reason",
        "recovered",
        "dry_run",
        "seconds",
        "changes",
    ]
    assert data["changes"] == {
        "added": ["corpus/a.md"],
        "updated": [],
        "deleted": [],
        "unchanged": [],
    }
    assert json.loads(json.dumps(data)) == data
