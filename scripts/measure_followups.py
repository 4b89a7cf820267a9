"""How well the offline follow-up decision (app/conversation.py) does on a conversation set.

    .venv/bin/python scripts/measure_followups.py [--data-dir DIR] [evals/conversations.jsonl]

Each line: {"id", "history": [{"question", "answer"}], "question", "followup": bool}.
Prints per conversation the signal, the best dense similarity of the question alone and
combined with the previous turn's subject, the decision, then the accuracy, the rewrite
precision (rewrites that were follow-ups) and recall. No question text is logged; the
conversations are the maintainers' own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app import qa
from app.config import load_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=Path("evals/conversations.jsonl"))
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = load_settings(**overrides)
    session = qa.open_qa(settings)
    lines = args.dataset.read_text().splitlines()
    # Only the single-decision lines; whole conversations ("turns") are `privacy-qa eval`'s.
    rows = [row for line in lines if line.strip() and "history" in (row := json.loads(line))]
    right = rewrites = true_rewrites = followups = 0
    for row in rows:
        decision = session.rewrite(row["question"], qa.history(row["history"]))
        want = row["followup"]
        right += decision.followup == want
        rewrites += decision.followup
        true_rewrites += decision.followup and want
        followups += want
        mark = "ok " if decision.followup == want else "BAD"
        print(f"{mark} {row['id']} want={want!s:5} got={decision.followup!s:5} {decision.reason}")
    print(
        f"\n{len(rows)} conversations: accuracy {right / len(rows):.3f}, rewrite precision "
        f"{true_rewrites / max(rewrites, 1):.3f} ({true_rewrites}/{rewrites}), recall "
        f"{true_rewrites / max(followups, 1):.3f} ({true_rewrites}/{followups})"
    )


if __name__ == "__main__":
    main()
