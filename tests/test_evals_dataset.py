"""The eval data set (app/evals/dataset.py): the committed set itself, and how a bad one
is reported."""

from __future__ import annotations

import pytest

from app.evals.dataset import ITEM_SPLITS, EvalDataError, load_dataset
from app.evals.scoring import normalise

from .conftest import ROOT
from .eval_cases import BAA, DATASET, EXPLAINER


def test_the_eval_set_covers_the_corpus_with_enough_questions():
    items = load_dataset(DATASET)
    in_scope = [i for i in items if i.in_scope]
    out_of_scope = [i for i in items if not i.in_scope]
    assert len(in_scope) >= 40 and len(out_of_scope) >= 10
    topics = {i.topic for i in in_scope}
    assert topics >= {
        "baa",
        "retention",
        "zdr",
        "training",
        "access",
        "gdpr",
        "soc2",
        "encryption",
        "trust-portal",
    }
    for split in ITEM_SPLITS:
        part = load_dataset(DATASET, split)
        assert {i.split for i in part} == {split}
        assert any(i.in_scope for i in part) and any(not i.in_scope for i in part)
    assert sum(len(load_dataset(DATASET, split)) for split in ITEM_SPLITS) == len(items)
    # near-misses of each kind the issue names, and multi-part questions
    kinds = {i.kind for i in out_of_scope}
    assert kinds >= {"other-vendor-baa", "other-service-retention", "price", "rate-limit"}
    assert sum(len(i.facts) > 1 for i in in_scope) >= 5


def test_every_fact_and_evidence_string_is_really_in_its_sources():
    texts = {p: normalise((ROOT / p).read_text(encoding="utf-8")) for p in (BAA, EXPLAINER)}
    for item in load_dataset(DATASET):
        if not item.in_scope:
            continue
        assert set(item.sources) <= set(texts), item.id
        sources = " ".join(texts[s] for s in item.sources)
        for phrasings in item.facts:
            for phrasing in phrasings:
                assert normalise(phrasing) in sources, (item.id, phrasing)
        for evidence in item.evidence:
            assert any(normalise(evidence) in texts[s] for s in item.sources), (item.id, evidence)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"id": "a", "split": "dev", "topic": "t"}', "missing or empty 'question'"),
        ('{"id": "a", "split": "train", "topic": "t", "question": "q?"}', "split must be"),
        ('{"id": "a", "split": "dev", "topic": "t", "question": "q?"}', "needs 'facts'"),
        (
            '{"id": "a", "split": "dev", "topic": "t", "question": "q?", "facts": [["x"]], '
            '"sources": []}',
            "'sources' must be",
        ),
        (
            '{"id": "a", "split": "dev", "topic": "t", "question": "q?", "abstain": true}\n' * 2,
            "duplicate id 'a'",
        ),
    ],
)
def test_a_bad_eval_set_is_named_with_its_line(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match=message) as error:
        load_dataset(path)
    assert f"{path}:" in str(error.value)


def test_a_missing_eval_set_says_what_to_do(tmp_path):
    with pytest.raises(EvalDataError, match="--dataset"):
        load_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(EvalDataError, match="Unknown split"):
        load_dataset(DATASET, "train")
