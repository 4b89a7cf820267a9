"""app/index/changes.py: the file hashing and its stat cache, on real files."""

from __future__ import annotations

import hashlib
import json

import pytest

from app.index import changes
from app.index.changes import hash_files


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("alpha", encoding="utf-8")
    (corpus / "b.md").write_text("beta", encoding="utf-8")
    return corpus


@pytest.fixture
def reads(monkeypatch):
    """The paths whose bytes were read."""
    seen: list[str] = []
    read = changes.read_corpus_file

    def counting(path, *args):
        seen.append(path.name)
        return read(path, *args)

    monkeypatch.setattr(changes, "read_corpus_file", counting)
    return seen


def test_hashes_every_file_by_source_name(corpus):
    assert hash_files(corpus) == {"corpus/a.md": sha256("alpha"), "corpus/b.md": sha256("beta")}


def test_cached_files_are_not_read_again(corpus, tmp_path, reads, monkeypatch):
    monkeypatch.setattr(changes, "SETTLE_NS", 0)  # these files count as settled at once
    cache = tmp_path / "file-hashes.json"
    first = hash_files(corpus, cache)
    assert sorted(reads) == ["a.md", "b.md"] and cache.exists()
    reads.clear()
    assert hash_files(corpus, cache) == first
    assert reads == []


def test_a_changed_file_is_read_again(corpus, tmp_path, reads, monkeypatch):
    monkeypatch.setattr(changes, "SETTLE_NS", 0)
    cache = tmp_path / "file-hashes.json"
    hash_files(corpus, cache)
    (corpus / "a.md").write_text("alpha, edited", encoding="utf-8")  # another size
    (corpus / "c.md").write_text("gamma", encoding="utf-8")
    reads.clear()
    hashes = hash_files(corpus, cache)
    assert sorted(reads) == ["a.md", "c.md"]
    assert hashes["corpus/a.md"] == sha256("alpha, edited")
    assert hashes["corpus/c.md"] == sha256("gamma")


def test_recent_files_are_never_cached(corpus, tmp_path):
    """A file rewritten within one timestamp tick, same size, keeps its stat: only not
    caching fresh files keeps the old hash from being taken for the new content."""
    cache = tmp_path / "file-hashes.json"
    hash_files(corpus, cache)
    (corpus / "a.md").write_text("ALPHA", encoding="utf-8")  # same size, at once
    assert hash_files(corpus, cache)["corpus/a.md"] == sha256("ALPHA")
    assert not cache.exists()  # nothing settled, nothing to remember


def test_a_broken_cache_is_ignored_and_replaced(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(changes, "SETTLE_NS", 0)
    cache = tmp_path / "file-hashes.json"
    for broken in ('{"corpus/a.md": [1, 2', "[]", "\x00\xff", '{"corpus/a.md": 5}'):
        cache.write_text(broken, encoding="utf-8")
        assert hash_files(corpus, cache)["corpus/a.md"] == sha256("alpha")
        assert set(json.loads(cache.read_text(encoding="utf-8"))) == {"corpus/a.md", "corpus/b.md"}


def test_a_cache_entry_for_another_file_is_not_trusted(corpus, tmp_path, monkeypatch):
    """An entry whose stat no longer matches (here: an inode reused by a new file with the
    old name would still differ in ctime) is ignored, whatever hash it holds."""
    monkeypatch.setattr(changes, "SETTLE_NS", 0)
    cache = tmp_path / "file-hashes.json"
    hash_files(corpus, cache)
    entries = json.loads(cache.read_text(encoding="utf-8"))
    entries["corpus/a.md"][2] -= 1  # the ctime recorded differs from the file's
    entries["corpus/a.md"][4] = sha256("something else")
    cache.write_text(json.dumps(entries), encoding="utf-8")
    assert hash_files(corpus, cache)["corpus/a.md"] == sha256("alpha")


def test_without_update_the_cache_is_left_alone(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(changes, "SETTLE_NS", 0)
    cache = tmp_path / "file-hashes.json"
    hash_files(corpus, cache, update_cache=False)
    assert not cache.exists()


def test_unreadable_files_hash_to_empty(corpus, tmp_path):
    (corpus / "gone.md").symlink_to(tmp_path / "nowhere.md")  # a dangling link: stat fails
    assert hash_files(corpus, tmp_path / "file-hashes.json")["corpus/gone.md"] == ""
