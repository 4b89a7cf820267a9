"""The eval data set (``evals/questions.jsonl``, one JSON object per line) and its checks.

It has two kinds of items:

- in scope: ``question``, ``facts`` (each fact a list of acceptable phrasings, one of which
  the answer must contain), ``sources`` (documents that support the answer, any of them),
  optional ``section`` (heading or ``"Parent > Heading"`` path, any of them) and optional
  ``evidence`` (literal strings of the source; a retrieved chunk counts as relevant only
  if it contains one);
- out of scope: ``abstain: true`` (and an optional ``kind``): the answer must abstain.

Every item has an ``id``, a ``split`` and a ``topic``. Splits: ``dev`` for tuning, ``test``
for reporting, ``paraphrase`` for generalisation: questions written from the documents
alone, phrased the way people ask (keywords, typos, words the documents don't use), never
tuned on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import UserError

DEFAULT_DATASET = Path("evals/questions.jsonl")
# The splits an item may belong to, and the ones a run may ask for ("all": every split).
ITEM_SPLITS = ("dev", "test", "paraphrase")
SPLITS = (*ITEM_SPLITS, "all")


class EvalDataError(UserError):
    """The eval data set, baseline or thresholds file is missing or malformed."""


@dataclass(frozen=True)
class EvalItem:
    """One question of the eval set."""

    id: str
    split: str
    topic: str
    question: str
    facts: tuple[tuple[str, ...], ...] = ()
    sources: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    abstain: bool = False
    kind: str = ""

    @property
    def in_scope(self) -> bool:
        return not self.abstain


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    """A string or a list of non-empty strings, as a tuple."""
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise EvalDataError(f"{where}: {what} must be a string or a list of non-empty strings")
    return tuple(value)


def parse_item(data: Any, where: str) -> EvalItem:
    """Validate one decoded line of the data set (``where`` names it in errors)."""
    if not isinstance(data, dict):
        raise EvalDataError(f"{where}: expected a JSON object")
    for key in ("id", "split", "topic", "question"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise EvalDataError(f"{where}: missing or empty {key!r}")
    if data["split"] not in ITEM_SPLITS:
        raise EvalDataError(
            f"{where}: split must be one of {', '.join(ITEM_SPLITS)}, not {data['split']!r}"
        )
    common = {k: data[k].strip() for k in ("id", "split", "topic", "question")}
    if data.get("abstain"):
        if data.get("facts"):
            raise EvalDataError(f"{where}: an item that must abstain has no facts")
        return EvalItem(**common, abstain=True, kind=str(data.get("kind") or ""))
    facts = data.get("facts")
    if not isinstance(facts, list) or not facts:
        raise EvalDataError(f"{where}: an in-scope item needs 'facts' (a list of phrasing lists)")
    return EvalItem(
        **common,
        facts=tuple(_strings(fact, "each fact", where) for fact in facts),
        sources=_strings(data.get("sources"), "'sources'", where),
        sections=_strings(data["section"], "'section'", where) if "section" in data else (),
        evidence=_strings(data["evidence"], "'evidence'", where) if "evidence" in data else (),
    )


def load_dataset(path: Path = DEFAULT_DATASET, split: str = "all") -> list[EvalItem]:
    """Items of the eval set at ``path`` in ``split`` (one of :data:`SPLITS`)."""
    if split not in SPLITS:
        raise EvalDataError(f"Unknown split {split!r}: use one of {', '.join(SPLITS)}.")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise EvalDataError(
            f"No eval set at {path}: run from the repository root or pass --dataset."
        ) from exc
    items: list[EvalItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalDataError(f"{where}: not valid JSON ({exc.msg})") from exc
        item = parse_item(data, where)
        if item.id in seen:
            raise EvalDataError(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise EvalDataError(f"The eval set {path} has no questions.")
    return [item for item in items if split in ("all", item.split)]
