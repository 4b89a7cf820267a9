"""The eval questions, for the bench scripts (until `privacy-qa eval` has its own loader)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_items(split: str) -> list[dict]:
    """Items of evals/questions.jsonl in ``split`` ("dev", "test" or "all")."""
    with (ROOT / "evals/questions.jsonl").open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return [item for item in items if split in ("all", item["split"])]
