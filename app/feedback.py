"""Feedback on answers, kept only when a user sends it: a local JSONL file in the data dir.

A question may hold PHI, so an entry holds it only when the user ticked the box saying
so; without it, only the rating, the comment, the answer and its sources are kept.
``privacy-qa eval --feedback`` turns the entries into candidate eval items (the format of
evals/questions.jsonl, flagged for review) for a maintainer to check before adding them.
Standard library only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.config import Settings
from app.errors import UserError

MAX_COMMENT_CHARS = 2000


@dataclass
class Feedback:
    """One entry of feedback.jsonl."""

    rating: str  # "up" or "down"
    answer: str
    sources: list[str]  # the cited documents
    quotes: list[str]
    abstained: bool
    comment: str = ""
    question: str | None = None  # only if the user said it may be kept
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def feedback_path(settings: Settings) -> Path:
    return settings.data_dir / "feedback.jsonl"


def record(settings: Settings, entry: Feedback) -> Path:
    """Append ``entry`` to the data dir's feedback.jsonl; return the file."""
    if entry.rating not in ("up", "down"):
        raise UserError("Feedback needs a thumbs up or down: pick one, then send it.")
    entry.comment = entry.comment.strip()[:MAX_COMMENT_CHARS]
    path = feedback_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
    # One write of one line in append mode: entries of two sessions never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return path


def read(settings: Settings) -> list[dict]:
    """The stored entries (unreadable lines are left out)."""
    path = feedback_path(settings)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


@dataclass
class Candidates:
    """Candidate eval items made from feedback, and how many entries gave none."""

    items: list[dict]
    without_question: int
    total: int


def candidates(settings: Settings) -> Candidates:
    """One candidate eval item per entry that kept its question: a thumbs-down on an
    answer proposes an in-scope item for its sources (facts to be written by the
    reviewer), a thumbs-down on a refusal too; a thumbs-up proposes a regression item
    whose facts are the quotes of the answer. Each is marked ``"review"``."""
    entries = read(settings)
    items = []
    for number, entry in enumerate(entries, 1):
        question = entry.get("question")
        if not question:
            continue
        up = entry.get("rating") == "up"
        item = {
            "id": f"feedback-{number:03d}",
            "split": "dev",
            "topic": "feedback",
            "question": question,
        }
        if up and entry.get("abstained"):
            item["abstain"] = True
        else:
            item["facts"] = [[q] for q in entry.get("quotes", [])[:2]] if up else []
            item["sources"] = sorted(set(entry.get("sources", [])))
        item["review"] = (
            f"thumbs {entry.get('rating')} on {entry.get('at', '?')}"
            + (f": {entry['comment']}" if entry.get("comment") else "")
            + ("" if up else "; write the facts a right answer states")
        )
        items.append(item)
    return Candidates(items, len(entries) - len(items), len(entries))
