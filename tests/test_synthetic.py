"""bench/synthetic.py, the benchmarks' corpus generator: its output must not drift, since
the scale figures in docs/benchmarks.md were measured on it."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from app.index.changes import hash_files
from app.index.manifest import Changes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import synthetic  # noqa: E402

# sha256 over (relative path, bytes) of every file, recorded with bench/synthetic_scale.py
# before it became bench/synthetic.py (the generator of the recorded scale figures).
RECORDED = {
    (250, 5, 7): "d7d977d5e2dc582f329de896c90ffddb100408c65eb31aa8e1a1128f26fcf809",
    (120, 3, 11): "138c3735b892976ff3e7d88ad345bbebee77514259a6b4d29fa01385ffd11f93",
    (30, 25, 7): "fb6250d1cd2f6cf4a6728b7bea1373f7f6597a04b93406001c29aea0d0e8c756",
}


def tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize(("docs", "sections", "seed"), sorted(RECORDED))
def test_same_arguments_write_the_same_bytes_as_when_the_figures_were_measured(
    tmp_path, docs, sections, seed
):
    out = synthetic.write_corpus(tmp_path / "corpus", docs, sections, seed)
    assert tree_hash(out) == RECORDED[(docs, sections, seed)]


def test_edit_one_changes_exactly_one_document(tmp_path):
    """What bench/bench_ingest.py relies on for its one-document change."""
    out = synthetic.write_corpus(tmp_path / "corpus", 120)
    paths = synthetic.corpus_paths(out)
    assert [p.stem[-5:] for p in paths] == [f"{i:05d}" for i in range(120)]
    assert all(p.read_text(encoding="utf-8").count(synthetic.EDITABLE) == 1 for p in paths)
    before = hash_files(out)
    synthetic.edit_one(paths[101])
    changes = Changes.between(before, hash_files(out))
    assert changes.updated == [f"corpus/{paths[101].relative_to(out).as_posix()}"]
    assert not (changes.added or changes.deleted)
    with pytest.raises(ValueError, match="not a document of this generator"):
        synthetic.edit_one(paths[101])  # its one "Effective " is gone
