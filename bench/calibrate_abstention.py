"""Measure the abstention signal on the eval questions of one split and suggest a threshold.

    .venv/bin/python bench/calibrate_abstention.py [--split dev]

For each question it prints the best dense (cosine) similarity among the retrieved chunks,
which ``QA.ask`` compares with ``PRIVACY_QA_MIN_RELEVANCE``. The suggested threshold is the
one that separates in-scope from out-of-scope questions of the split best (most questions
on the right side), placed midway in the gap. Tune on dev only; report test separately.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.config import load_settings
from app.qa import QA

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    args = parser.parse_args()
    items = [json.loads(line) for line in (ROOT / "evals/questions.jsonl").open()]
    items = [i for i in items if args.split in ("all", i["split"])]
    qa = QA(load_settings(min_relevance=-1.0))  # never abstain: we want the raw signal
    rows = []
    for item in items:
        hits = qa.ask(item["question"]).hits
        best = max(h.dense for h in hits)
        rows.append((best, bool(item.get("abstain")), item["id"], item["question"]))
    rows.sort()
    print(f"{'best cosine':>11}  {'expect':<8} id        question")
    for best, abstain, id_, question in rows:
        print(f"{best:11.3f}  {'abstain' if abstain else 'answer':<8} {id_:<9} {question}")

    candidates = sorted({round(r[0], 3) for r in rows})
    scored = []
    for low, high in zip(candidates, candidates[1:], strict=False):
        threshold = (low + high) / 2
        correct = sum((best >= threshold) != abstain for best, abstain, *_ in rows)
        scored.append((correct, high - low, threshold))
    correct, gap, threshold = max(scored)
    print(f"\nsuggested min_relevance {threshold:.3f}: {correct}/{len(rows)} on the right side")


if __name__ == "__main__":
    main()
