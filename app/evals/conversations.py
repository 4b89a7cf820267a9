"""The conversation eval (evals/conversations.jsonl): follow-up questions and the support
routine, measured alongside the single questions by ``privacy-qa eval``.

Two kinds of lines:

- ``{"id", "history": [{"question", "answer"}], "question", "followup": bool}``: is the
  last question a follow-up of the earlier turns (their answers are placeholders)?
- ``{"id", "turns": [{"question", "facts"?, "followup"?, "routine"?}, ...]}``: a whole
  conversation asked turn by turn with the real answers as its history. ``facts``: the
  any-of groups the turn's answer must hold; ``followup``: whether the question must be
  rewritten; ``routine``: what the support routine must do on that turn, one of
  "clarify", a branch label ("API"), "resolved" or "plain" (it must stay out of the way).

Metrics: ``followup_exact_pass`` (turns after the first with facts: all found),
``rewrite_precision`` (rewritten questions that were follow-ups) and
``routine_branch_accuracy`` (turns with a routine expectation that got it).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.conversation import Turn, parse_history
from app.evals.dataset import EvalDataError
from app.evals.scoring import Metrics, normalise
from app.session import QA

CONVERSATIONS = "conversations.jsonl"  # beside the questions' data set


@dataclass
class Tally:
    """Counts behind the conversation metrics (``counts``: passed, followups, rewrites,
    right_rewrites, routine_right, routine_turns) and the turns that failed (by id)."""

    counts: Counter[str] = field(default_factory=Counter)
    failing: list[str] = field(default_factory=list)

    def metrics(self) -> Metrics:
        def share(part: str, whole: str) -> float | None:
            n = self.counts[whole]
            return round(self.counts[part] / n, 3) if n else None

        return {
            "followup_exact_pass": share("passed", "followups"),
            "rewrite_precision": share("right_rewrites", "rewrites"),
            "routine_branch_accuracy": share("routine_right", "routine_turns"),
        }


def load_conversations(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalDataError(f"Cannot read {path}: {exc.strerror}.") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise EvalDataError(f"{path}:{number}: not valid JSON") from None
        if not isinstance(row, dict) or not ("turns" in row or "history" in row):
            raise EvalDataError(f'{path}:{number}: expected "history" and "question", or "turns"')
        rows.append(row)
    return rows


def routine_outcome(answer) -> str:
    """What the routine did on a turn: "resolved", a branch label, "clarify" or "plain"."""
    if answer.resolved:
        return "resolved"
    if answer.branch:
        return answer.branch
    return "clarify" if answer.clarify is not None else "plain"


def _has_facts(text: str, facts: list[list[str]]) -> bool:
    said = normalise(text)
    return all(any(normalise(option) in said for option in group) for group in facts)


def _score_turns(qa: QA, row: dict[str, Any], tally: Tally) -> None:
    history: list[Turn] = []
    for i, turn in enumerate(row["turns"]):
        answer = qa.ask(turn["question"], history)
        tag = f"{row['id']}/{i + 1}"
        rewritten = answer.searched != answer.question
        counts = tally.counts
        if rewritten:
            counts["rewrites"] += 1
            counts["right_rewrites"] += bool(turn.get("followup"))
        if "routine" in turn:
            counts["routine_turns"] += 1
            if routine_outcome(answer) == turn["routine"]:
                counts["routine_right"] += 1
            else:
                tally.failing.append(f"{tag}: routine {routine_outcome(answer)!r}")
        if i and turn.get("facts"):
            counts["followups"] += 1
            if _has_facts(answer.answer, turn["facts"]):
                counts["passed"] += 1
            else:
                tally.failing.append(f"{tag}: missing facts")
        history.append(Turn(answer.question, answer.answer))


def score_conversations(qa: QA, path: Path) -> Tally:
    """Ask every conversation of ``path`` through ``qa`` and count."""
    tally = Tally()
    for row in load_conversations(path):
        if "turns" in row:
            _score_turns(qa, row, tally)
            continue
        decision = qa.rewrite(row["question"], parse_history(row["history"]))
        if decision.followup:
            tally.counts["rewrites"] += 1
            tally.counts["right_rewrites"] += bool(row["followup"])
    return tally
