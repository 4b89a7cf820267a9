"""The answer-or-refuse decision of the app against the simplest semantic gate: answer when
the best chunk's similarity reaches a threshold and the question names nothing the
documents never mention (issue 15's outside trial), per split of an eval report.

    .venv/bin/python scripts/measure_cosine_gate.py REPORT [--data-dir DIR]

REPORT is the report.json of `privacy-qa eval --split all --out DIR` (its items say what
the app decided); the index in the data dir must be the one the report was made on. Prints
decision accuracy and abstention precision / recall of the app, then of the gate at
thresholds 0.30 to 0.50. No question text is printed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app import qa
from app.answering.questions import asking
from app.config import load_settings

SPLITS = ("dev", "test", "paraphrase")


def figures(rows: list[tuple[bool, bool]]) -> str:
    """``rows``: (expected an answer, answered). Accuracy, abstention precision, recall."""
    right = sum(expected == answered for expected, answered in rows)
    refused = [expected for expected, answered in rows if not answered]
    out_of_scope = sum(not expected for expected, _ in rows)
    precision = refused.count(False) / len(refused) if refused else 0.0
    recall = refused.count(False) / out_of_scope if out_of_scope else 0.0
    return f"acc {right / len(rows):.3f}  abst P {precision:.3f}  R {recall:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("report", type=Path)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    session = qa.open_qa(settings)
    items = json.loads(args.report.read_text())["items"]
    rows = []  # (split, expected an answer, the app answered, best similarity, unknown names)
    for item in items:
        hits, _ = session.retriever.search(item["question"], settings.top_k)
        unknown = session.retriever.unknown_names(asking(item["question"]))
        best = max((hit.dense for hit in hits), default=0.0)
        expected = item["expected"] == "answer"
        rows.append((item["split"], expected, not item["abstained"], best, unknown))
    for split in SPLITS:
        mine = [(e, a) for s, e, a, _, _ in rows if s == split]
        print(f"{split:<11} app:        {figures(mine)}")
    for tenth in range(30, 52, 2):
        threshold = tenth / 100
        line = []
        for split in SPLITS:
            gate = [(e, b >= threshold and not u) for s, e, _, b, u in rows if s == split]
            line.append(f"{split} {figures(gate)}")
        print(f"cos >= {threshold:.2f}  " + " | ".join(line))


if __name__ == "__main__":
    main()
