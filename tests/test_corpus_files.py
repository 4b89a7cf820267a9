"""Hostile corpus files (the fault probe of 2026-12-01): each is skipped with a reason, never
read past its limit, never waited for, and never stops the rest from loading. Both readers
of the corpus are checked: loading (app/corpus.py) and hashing (app/index/changes.py)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from app.corpus import load_corpus
from app.index.changes import hash_files

GOOD = "# Retention\n\nAPI inputs are kept for 30 days.\n"


def corpus_with(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD)
    return corpus


def finishes(call, seconds: float = 30.0, release=None):
    """``call()``'s result, or a failure if it is still running after ``seconds`` (a hang,
    not a speed limit: ``release`` then unblocks it)."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(value=call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if release is not None:
            release()
        pytest.fail(f"still running after {seconds} s")
    return result["value"]


def skipped(corpus: Path, **options) -> dict[str, str]:
    loaded = finishes(lambda: load_corpus(corpus, **options))
    assert [doc.source for doc in loaded.documents] == ["corpus/good.md"]
    return dict(loaded.skipped)


def test_a_named_pipe_is_skipped_not_waited_for(tmp_path):
    corpus = corpus_with(tmp_path)
    fifo = corpus / "pipe.md"
    os.mkfifo(fifo)

    def release():
        with open(fifo, "w"):
            pass

    reasons = finishes(lambda: skipped(corpus), release=release)
    assert "named pipe" in reasons["corpus/pipe.md"]
    hashes = finishes(lambda: hash_files(corpus), release=release)
    assert "named pipe" in hashes["corpus/pipe.md"]


def test_symlinks_are_followed_only_inside_the_corpus(tmp_path):
    corpus = corpus_with(tmp_path)
    outside = tmp_path / "hostname"
    outside.write_text("db-server-7\n")
    (corpus / "host.txt").symlink_to(outside)
    (corpus / "zero.txt").symlink_to("/dev/zero")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "inner.md").write_text("# Inner\n\nEncryption at rest uses AES-256.\n")
    (corpus / "alias.md").symlink_to(corpus / "sub" / "inner.md")
    (corpus / "etc").symlink_to(tmp_path, target_is_directory=True)  # never walked into

    loaded = finishes(lambda: load_corpus(corpus))
    reasons = dict(loaded.skipped)
    assert "outside the corpus folder" in reasons["corpus/host.txt"]
    assert "outside the corpus folder" in reasons["corpus/zero.txt"]
    assert "corpus/etc" in reasons and not any("hostname" in s for s in reasons)
    assert {doc.source for doc in loaded.documents} == {
        "corpus/good.md",
        "corpus/alias.md",
        "corpus/sub/inner.md",
    }
    hashes = finishes(lambda: hash_files(corpus))
    assert hashes["corpus/host.txt"].startswith("skipped:")
    assert hashes["corpus/zero.txt"].startswith("skipped:")


def test_a_link_to_a_folder_inside_is_listed_not_walked(tmp_path):
    corpus = corpus_with(tmp_path)
    (corpus / "sub").mkdir()
    (corpus / "folder.md").symlink_to(corpus / "sub", target_is_directory=True)
    assert "a folder" in skipped(corpus)["corpus/folder.md"]


def test_files_over_the_size_limit_are_skipped_naming_the_setting(tmp_path):
    corpus = corpus_with(tmp_path)
    (corpus / "big.txt").write_text("retention " * 20_000)  # 200 KB
    reasons = skipped(corpus, max_bytes=100_000)
    assert "PRIVACY_QA_MAX_FILE_MB" in reasons["corpus/big.txt"]
    assert "0.1 MB" in reasons["corpus/big.txt"]
    assert hash_files(corpus, max_bytes=100_000)["corpus/big.txt"].startswith("skipped:")


def test_a_name_that_is_not_utf8_is_reported_and_the_rest_loads(tmp_path):
    corpus = corpus_with(tmp_path)
    bad = os.path.join(os.fsencode(corpus), b"caf\xe9.md")
    with open(bad, "w") as handle:
        handle.write(GOOD)
    reasons = skipped(corpus)
    assert "not valid UTF-8" in reasons["corpus/caf\\xe9.md"]
    assert hash_files(corpus)["corpus/caf\\xe9.md"].startswith("skipped:")


BOMB = """---
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
title: *c
---
# Bomb

Text.
"""


def test_yaml_aliases_in_front_matter_are_refused(tmp_path):
    corpus = corpus_with(tmp_path)
    (corpus / "bomb.md").write_text(BOMB)
    assert "aliases" in skipped(corpus)["corpus/bomb.md"]


def test_front_matter_has_a_size_cap(tmp_path):
    corpus = corpus_with(tmp_path)
    long = "---\ntitle: Long\nnotes: " + "x" * 40_000 + "\n---\n# Long\n\nText.\n"
    (corpus / "long.md").write_text(long)
    assert "front matter longer than" in skipped(corpus)["corpus/long.md"]
