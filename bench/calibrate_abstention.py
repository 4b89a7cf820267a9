"""Measure the abstention signals on the eval questions, fit the thresholds on dev and
draw the reliability curve.

    .venv/bin/python bench/calibrate_abstention.py [--split dev] [--validate test ...]

For each question it prints the best dense (cosine) similarity among the retrieved chunks,
the best term coverage, whether the dense and lexical rankings agree on the best chunk,
and what the names checks say: names the documents never mention, and names the answer's
quotes leave out (both abstain whatever the thresholds; app/answering/abstain.py).

The rule (app/answering/abstain.py): answer when similarity >= strong_relevance, or when
similarity >= min_relevance and coverage >= min_coverage. The fit tries every triple of
thresholds from a grid and keeps the one that puts most questions of the split on the
right side, and among those the one with the widest margin: the smallest distance, over
all questions, from the rule's boundary (margin of a question = how far it could move in
similarity or coverage before changing sides). Then the reliability curve: answered
accuracy (share of answered questions that are in scope) and abstention precision and
recall against strong_relevance, the others held at the fit. ``--validate`` prints the
curve of other splits with the fitted thresholds (never fit on them). Tune on dev only.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.answering import answer_type
from app.answering.abstain import unquoted_names
from app.answering.questions import asking
from app.config import load_settings
from app.evals.dataset import load_dataset
from app.session import QA

ROOT = Path(__file__).resolve().parent.parent
GRID = np.round(np.arange(-0.10, 1.0001, 0.005), 3)


@dataclass
class Signals:
    id: str
    question: str
    out_of_scope: bool
    similarity: float
    coverage: float
    agree: bool  # the best dense chunk is the best lexical one too
    unknown: list[str]  # names no chunk contains
    unquoted: list[str]  # names the answer's quotes leave out
    cites: bool  # the answer (composed whatever the thresholds) cites something
    values: list[str]  # kinds of value asked for (a price, a number) that no quote gives

    @property
    def vetoed(self) -> bool:
        """Abstains whatever the thresholds."""
        return bool(self.unknown or self.unquoted or self.values or not self.cites)


def measure(qa: QA, split: str, dataset: Path) -> list[Signals]:
    """The signals of every question of ``split``, answered whatever the thresholds (the
    answerer runs on every question, so the names its quotes leave out are known)."""
    rows = []
    for item in load_dataset(dataset, split):
        hits, _ = qa.retriever.search(item.question, qa.settings.top_k)
        composed = qa.answerer.compose(item.question, hits, qa.retriever)
        asks = asking(item.question)  # names are read where the question asks (session.py)
        names = qa.retriever.names(asks)
        by_dense = max(hits, key=lambda h: h.dense)
        by_lexical = max(hits, key=lambda h: h.lexical)
        rows.append(
            Signals(
                item.id,
                item.question,
                item.abstain,
                by_dense.dense,
                max(h.coverage for h in hits),
                by_dense is by_lexical,
                qa.retriever.unknown_names(asks),
                unquoted_names(item.question, names, composed.citations),
                bool(composed.citations),
                answer_type.missing(item.question, [c.quote for c in composed.citations]),
            )
        )
    return rows


def answers(rows: list[Signals], relevance, coverage, strong) -> np.ndarray:
    """Whether each question is answered (threshold arrays broadcast against questions)."""
    sim = np.array([r.similarity for r in rows])
    cov = np.array([r.coverage for r in rows])
    free = np.array([not r.vetoed for r in rows])
    return free & (sim >= relevance) & ((sim >= strong) | (cov >= coverage))


def margins(rows: list[Signals], relevance, coverage, strong) -> np.ndarray:
    """Signed distance of each question from the boundary (positive: right side)."""
    sim = np.array([r.similarity for r in rows])
    cov = np.array([r.coverage for r in rows])
    f = np.maximum(sim - strong, np.minimum(sim - relevance, cov - coverage))
    sign = np.array([-1.0 if r.out_of_scope else 1.0 for r in rows])
    return np.where([r.vetoed for r in rows], np.inf, sign * f)


def fit(rows: list[Signals], relevance: float) -> tuple[float, float]:
    """(min_coverage, strong_relevance) with ``relevance`` held: most questions right, then
    the widest margin; among equally good pairs, the middle of their range."""
    expect = np.array([not r.out_of_scope for r in rows])
    c, s = np.meshgrid(GRID[GRID >= 0], GRID, indexing="ij")
    right = (answers(rows, relevance, c[..., None], s[..., None]) == expect).sum(axis=-1)
    margin = margins(rows, relevance, c[..., None], s[..., None]).min(axis=-1)
    key = right * 10.0 + np.round(np.clip(margin, -1, 1), 3)  # right first, then margin
    best = key == key.max()
    return float(np.round(c[best].mean(), 3)), float(np.round(s[best].mean(), 3))


def scores(rows: list[Signals], relevance, coverage, strong) -> tuple[float, ...]:
    """(answered accuracy, abstention precision, abstention recall, right)."""
    answered = answers(rows, relevance, coverage, strong)
    oos = np.array([r.out_of_scope for r in rows])
    n_answered, n_abstained = answered.sum(), (~answered).sum()
    accuracy = (answered & ~oos).sum() / n_answered if n_answered else float("nan")
    precision = (~answered & oos).sum() / n_abstained if n_abstained else float("nan")
    recall = (~answered & oos).sum() / oos.sum() if oos.any() else float("nan")
    right = int((answered != oos).sum())
    return accuracy, precision, recall, right


def print_signals(rows: list[Signals]) -> None:
    print(f"{'cosine':>6} {'cover':>5} agree {'expect':<7} id        question")
    for r in sorted(rows, key=lambda r: r.similarity):
        notes = []
        if r.unknown:
            notes.append(f"names the documents never mention: {', '.join(r.unknown)}")
        if r.unquoted:
            notes.append(f"names the quotes leave out: {', '.join(r.unquoted)}")
        if r.values:
            notes.append(f"no quote gives {', '.join(r.values)}")
        note = f"  [{'; '.join(notes)}]" if notes else ""
        expect = "abstain" if r.out_of_scope else "answer"
        agree = "yes" if r.agree else "no"
        print(
            f"{r.similarity:6.3f} {r.coverage:5.2f} {agree:>5} {expect:<7} {r.id:<9} "
            f"{r.question}{note}"
        )


def print_curve(rows: list[Signals], relevance: float, coverage: float, strong: float) -> None:
    """Answered accuracy and abstention precision/recall against strong_relevance."""
    print(
        f"\nreliability curve (min_relevance {relevance}, min_coverage {coverage}; "
        "'off' = similarity never answers on its own):"
    )
    print(f"{'strong':>6} {'answered acc':>12} {'abst. P':>7} {'abst. R':>7} {'right':>7}")
    grid = [float(s) for s in np.round(np.arange(0.25, 0.80, 0.05), 2)]
    for s in sorted({*grid, strong}) + [2.0]:
        accuracy, precision, recall, right = scores(rows, relevance, coverage, s)
        label = "off" if s > 1 else f"{s:.3f}" if s == strong else f"{s:.2f}"
        mark = "  <- chosen" if s == strong else ""
        print(
            f"{label:>6} {accuracy:12.3f} {precision:7.3f} {recall:7.3f} "
            f"{right:>3}/{len(rows):<3}{mark}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", help="split to fit on (dev)")
    parser.add_argument("--validate", nargs="*", default=[], help="splits to validate on")
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals/questions.jsonl")
    args = parser.parse_args()
    defaults = load_settings()
    # Never abstain on the thresholds here: we want the raw signals for every question.
    qa = QA(load_settings(min_relevance=-1.0, min_coverage=0.0, strong_relevance=-1.0))
    current = (defaults.min_relevance, defaults.min_coverage, defaults.strong_relevance)

    rows = measure(qa, args.split, args.dataset)
    print(f"split {args.split}: {len(rows)} questions")
    print_signals(rows)
    vetoed = [r for r in rows if r.vetoed]
    print(
        f"\nnames and value checks: {len(vetoed)} questions abstain whatever the thresholds, "
        f"{sum(r.out_of_scope for r in vetoed)} of them rightly"
    )
    # min_relevance only stops questions nothing in the documents resembles; on dev no
    # question of either kind lies near it, so it is held at its setting and only the
    # two thresholds that separate dev questions are fitted.
    fitted = (current[0], *fit(rows, current[0]))
    for label, (rel, cov, strong) in (("current settings", current), ("fit", fitted)):
        accuracy, precision, recall, right = scores(rows, rel, cov, strong)
        margin = margins(rows, rel, cov, strong).min()
        print(
            f"{label}: min_relevance {rel}, min_coverage {cov}, strong_relevance {strong}: "
            f"{right}/{len(rows)} right, margin {margin:.3f}, answered accuracy "
            f"{accuracy:.3f}, abstention precision {precision:.3f}, recall {recall:.3f}"
        )
    print_curve(rows, *current)
    for split in args.validate:
        rows = measure(qa, split, args.dataset)
        print(f"\n\nvalidation split {split} (not fitted on): {len(rows)} questions")
        print_signals(rows)
        print_curve(rows, *current)


if __name__ == "__main__":
    main()
