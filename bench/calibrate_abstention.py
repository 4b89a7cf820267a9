"""Measure the abstention signal on the eval questions of one split and suggest a threshold.

    .venv/bin/python bench/calibrate_abstention.py [--split dev]

For each question it prints the best dense (cosine) similarity among the retrieved chunks,
which app/answering/abstain.py compares with ``PRIVACY_QA_MIN_RELEVANCE``, the best term coverage
(``PRIVACY_QA_MIN_COVERAGE``) and the names the documents never mention (which abstain
whatever the thresholds). The suggested thresholds are the pair that separates in-scope
from out-of-scope questions of the split best (most questions on the right side), placed
midway in the gaps. Tune on dev only; report test separately.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.answering.abstain import before_answering
from app.config import load_settings
from app.evals.dataset import load_dataset
from app.session import QA

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    args = parser.parse_args()
    items = load_dataset(ROOT / "evals/questions.jsonl", args.split)
    defaults = load_settings()
    # Never abstain here: we want the raw signals for every question.
    qa = QA(load_settings(min_relevance=-1.0, min_coverage=0.0))
    qa.settings = defaults
    rows = []
    named: dict[str, list[str]] = {}
    for item in items:
        hits = qa.ask(item.question).hits
        named[item.id] = qa.retriever.unknown_names(item.question)
        # The signals the session decides on (app/answering/abstain.py).
        signals = before_answering(hits, len(named[item.id]), defaults)
        rows.append(
            (signals.best_similarity, item.abstain, item.id, item.question, signals.coverage)
        )
    rows.sort()
    print(f"{'best cosine':>11} {'coverage':>8}  {'expect':<8} id        question")
    for best, abstain, id_, question, coverage in rows:
        expect = "abstain" if abstain else "answer"
        unknown = f"  [unknown names: {', '.join(named[id_])}]" if named[id_] else ""
        print(f"{best:11.3f} {coverage:8.2f}  {expect:<8} {id_:<9} {question}{unknown}")

    # Questions naming something the documents never mention abstain anyway; the
    # thresholds are fitted on the rest (and counted right or wrong with them).
    by_names = [r for r in rows if named[r[2]]]
    rows = [r for r in rows if not named[r[2]]]
    names_right = sum(r[1] for r in by_names)

    # Answer only when both signals clear their threshold: the dense similarity (is the
    # chunk about this at all?) and the coverage (does it contain the question's words?).
    # Try every pair of midpoints; keep the pair that puts most questions on the right
    # side, and among those the one with the widest margins.
    def midpoints(values: list[float]) -> list[float]:
        values = sorted(set(values))
        return [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)] or values

    def margin(threshold: float, values: list[float]) -> float:
        return min((abs(v - threshold) for v in values), default=0.0)

    best = None
    for dense_t in midpoints([r[0] for r in rows]):
        for cover_t in midpoints([r[4] for r in rows]):
            correct = sum(((r[0] >= dense_t) and (r[4] >= cover_t)) != r[1] for r in rows)
            key = (
                correct,
                margin(dense_t, [r[0] for r in rows]) + margin(cover_t, [r[4] for r in rows]),
            )
            if best is None or key > best[0]:
                best = (key, dense_t, cover_t)
    (correct, _), dense_t, cover_t = best
    with_current = sum(
        ((r[0] >= qa.settings.min_relevance) and (r[4] >= qa.settings.min_coverage)) != r[1]
        for r in rows
    )
    total = len(rows) + len(by_names)
    print(
        f"\nunknown names: {len(by_names)} questions abstain whatever the thresholds, "
        f"{names_right} of them rightly"
    )
    print(
        f"current defaults (min_relevance {qa.settings.min_relevance}, min_coverage "
        f"{qa.settings.min_coverage}): {with_current + names_right}/{total} on the right side"
    )
    print(
        f"suggested min_relevance {dense_t:.3f} and min_coverage {cover_t:.3f}: "
        f"{correct + names_right}/{total} on the right side"
    )


if __name__ == "__main__":
    main()
