"""Measure the PHI check (app/phi.py) on the labelled questions of evals/phi.jsonl.

    .venv/bin/python scripts/measure_phi.py [--split dev|test|all] [--errors]
        [--dataset evals/phi.jsonl] [--corpus corpus]

Each question's labels are (kind, text) pairs. A finding is a true positive when a label
of the same kind overlaps it; every other finding is a false positive, every label that
no finding of its kind overlaps a false negative. Also per question: does the check stop
it (any finding) when it holds something labelled, and let it through when not. The
vocabulary of the corpus dir's documents is the detector's, as in the app. No model, no
index: it reads the corpus files' words only. ``--errors`` lists the misses by id and kind
(never printed elsewhere: the set is made-up data, but the habit holds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.phi import KINDS, PhiDetector, vocabulary_of  # noqa: E402


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def corpus_vocabulary(corpus: Path) -> frozenset[str]:
    texts = (p.read_text(encoding="utf-8", errors="replace") for p in sorted(corpus.rglob("*.md")))
    return vocabulary_of(texts)


def score(items: list[dict], detector: PhiDetector) -> dict:
    tp, fp, fn = Counter(), Counter(), Counter()
    questions = Counter()
    errors = []
    started = time.perf_counter()
    for item in items:
        question = item["question"]
        found = detector.find(question)
        labels = [_span(question, label) for label in item["findings"]]
        for finding in found:
            hit = any(k == finding.kind and _overlap(finding.span, s) for k, s in labels)
            (tp if hit else fp)[finding.kind] += 1
            if not hit:
                errors.append((item["id"], "false positive", finding.kind))
        for kind, span in labels:
            if not any(f.kind == kind and _overlap(f.span, span) for f in found):
                fn[kind] += 1
                errors.append((item["id"], "missed", kind))
        questions[(bool(labels), bool(found))] += 1
    seconds = time.perf_counter() - started
    return {"tp": tp, "fp": fp, "fn": fn, "questions": questions, "errors": errors,
            "ms_per_question": 1000 * seconds / len(items)}  # fmt: skip


def _span(question: str, label: dict) -> tuple[str, tuple[int, int]]:
    start = question.index(label["text"])
    return label["kind"], (start, start + len(label["text"]))


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def table(result: dict, items: list[dict]) -> str:
    tp, fp, fn = result["tp"], result["fp"], result["fn"]
    rows = ["| kind | labelled | found | precision | recall |", "| --- |" + " ---: |" * 4]
    for kind in [*KINDS, "all"]:
        t, p, n = (
            (sum(tp.values()), sum(fp.values()), sum(fn.values()))
            if kind == "all"
            else (tp[kind], fp[kind], fn[kind])
        )
        name = "**all findings**" if kind == "all" else f"`{kind}`"
        rows.append(f"| {name} | {t + n} | {t + p} | {_ratio(t, t + p)} | {_ratio(t, t + n)} |")
    q = result["questions"]
    stopped, held = q[(True, True)], q[(True, True)] + q[(True, False)]
    flagged = q[(True, True)] + q[(False, True)]
    rows.append(
        f"| **questions** (any finding) | {held} | {flagged} | {_ratio(stopped, flagged)} "
        f"| {_ratio(stopped, held)} |"
    )
    clean = q[(False, False)] + q[(False, True)]
    rows.append("")
    rows.append(
        f"{len(items)} questions ({held} with something labelled, {clean} without); "
        f"{q[(False, True)]} of the {clean} without were stopped; "
        f"{result['ms_per_question']:.2f} ms per question."
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "phi.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument(
        "--split",
        choices=["dev", "test", "all"],
        default="all",
        help="dev: written with the detector; test: written after it, never tuned on.",
    )
    parser.add_argument("--errors", action="store_true", help="List the misses by id.")
    args = parser.parse_args()
    items = [i for i in load(args.dataset) if args.split in ("all", i["split"])]
    detector = PhiDetector(corpus_vocabulary(args.corpus))
    detector.find("warm up")  # the name lists load once
    result = score(items, detector)
    print(table(result, items))
    if args.errors:
        for item_id, what, kind in result["errors"]:
            print(f"{item_id}: {what} {kind}")


if __name__ == "__main__":
    main()
