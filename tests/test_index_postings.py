"""The lexical index's file and its writer (app/index/postings.py): updates in place, in
one transaction, that score as a fresh index of the same chunks. A real file, no model."""

from __future__ import annotations

import random
import sqlite3

import pytest
from langchain_core.documents import Document

from app.index import postings
from app.index.lexical import LexicalIndex
from app.index.manifest import lexical_path
from app.retrieval import BM25_B, BM25_K1

from .conftest import make_settings
from .test_index_lexical import assert_same_scores, documents, random_corpus, random_queries


def chunk(id_: str, text: str) -> Document:
    return Document(page_content=text, id=id_)


def test_update_adds_changes_and_deletes_in_place(tmp_path):
    settings = make_settings(tmp_path)
    first = [chunk("a", "retention days"), chunk("b", "encryption at rest")]
    assert postings.update(settings, "gen", first, [], only=True).added == 2
    # An incremental run: "b" changed into "c", "d" is new.
    new = [chunk("c", "encryption in transit"), chunk("d", "zero data retention")]
    done = postings.update(settings, "gen", new, ["b"], only=False)
    assert (done.added, done.removed) == (2, 1)
    index = LexicalIndex.open(settings, "gen")
    assert index.ids() == {"a", "c", "d"}
    assert index.scores(["encrypt"], BM25_K1, BM25_B).top(5) == ["c"]
    assert index.idf("rest") is None  # only "b" held it
    index.close()
    # A full pass: the corpus is exactly these chunks.
    postings.update(settings, "gen", [chunk("d", "zero data retention")], [], only=True)
    assert LexicalIndex.open(settings, "gen").ids() == {"d"}
    postings.drop(settings, "gen")
    assert LexicalIndex.open(settings, "gen") is None


@pytest.mark.parametrize("seed", range(4))
def test_incremental_updates_score_as_a_fresh_index_of_the_same_chunks(tmp_path, seed):
    rng = random.Random(seed)
    settings = make_settings(tmp_path)
    live = {c.id: c for c in documents(random_corpus(rng, 120, 60), "a")}
    postings.update(settings, "gen", list(live.values()), [], only=True)
    for round_ in range(4):  # files edited, added, deleted
        removed = rng.sample(sorted(live), 15)
        added = documents(random_corpus(rng, rng.randint(0, 30), 60), f"r{round_}-")
        for id_ in removed:
            del live[id_]
        live.update({c.id: c for c in added})
        postings.update(settings, "gen", added, removed, only=False)
    index = LexicalIndex.open(settings, "gen")
    assert index.ids() == live.keys()
    # rank_bm25 over the live chunks in the order they were added: the same scores.
    assert_same_scores(index, list(live.values()), random_queries(rng, 60))


def test_a_reader_follows_an_update_of_its_file(tmp_path):
    settings = make_settings(tmp_path)
    first = [chunk("a", "retention"), chunk("b", "backup"), chunk("e", "erase")]
    postings.update(settings, "gen", first, [], only=True)
    reader = LexicalIndex.open(settings, "gen")
    assert reader.scores(["backup"], BM25_K1, BM25_B).top(5) == ["b"]
    postings.update(settings, "gen", [chunk("c", "backup backup")], ["b"], only=False)
    assert reader.scores(["backup"], BM25_K1, BM25_B).top(5) == ["c"]
    assert reader.size == 3


def test_a_failed_update_changes_nothing(tmp_path, monkeypatch):
    """The update is one transaction: a failure half-way (here: cutting the second new
    chunk into terms) leaves the index as it was, "a" not deleted and "b" not added."""
    settings = make_settings(tmp_path)
    postings.update(settings, "gen", [chunk("a", "retention")], [], only=True)
    before = lexical_path(settings, "gen").read_bytes()
    cut = postings.terms

    def failing(text: str, joined: bool = False) -> list[str]:
        if text == "boom":
            raise OSError("disk full")
        return cut(text, joined)

    monkeypatch.setattr(postings, "terms", failing)
    with pytest.raises(OSError, match="disk full"):
        postings.update(settings, "gen", [chunk("b", "x"), chunk("c", "boom")], ["a"], only=False)
    assert LexicalIndex.open(settings, "gen").ids() == {"a"}
    assert lexical_path(settings, "gen").read_bytes() == before


def test_a_file_created_but_never_committed_is_no_index(tmp_path):
    settings = make_settings(tmp_path)
    path = lexical_path(settings, "gen")
    path.parent.mkdir(parents=True)
    sqlite3.connect(path).close()  # an update killed right after creating the file
    assert LexicalIndex.open(settings, "gen") is None
