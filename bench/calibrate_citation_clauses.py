"""Measure the citation check per clause on labelled answers, and tune its thresholds.

    .venv/bin/python bench/calibrate_citation_clauses.py --split dev [--tune]
    .venv/bin/python bench/calibrate_citation_clauses.py --split test

evals/citation_clauses.jsonl holds hand-written chat-model answers over the corpus (true
sentences, false clauses added to true ones, false claims padded with the source's words,
negations, false clauses after a mid-sentence marker, uncited claims ending in ":", ...),
each with the passages its markers cite (verbatim, which locates the cited chunk) and a
label for every clause. The whole answer goes through ``check_citations``; a labelled clause
counts as flagged when the check's clause covering most of it is flagged. Reported: precision
and recall of the flags on the clauses that are not supported (invented claims), per split
and per kind, for the per-clause check and the old per-sentence one. ``--tune`` searches
max_missing on the split (use dev only): F1 on invented claims for each value, and how
many sentences of evals/citation_check.jsonl's dev split the check then gets right.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_citation_check import ROOT, lexical_setup, load_pairs, split_parser  # noqa: E402

from app.answering.citation_check import Limits, check_citations  # noqa: E402
from app.corpus import chunk_body  # noqa: E402
from app.retrieval import Hit, HybridRetriever  # noqa: E402


def load_items(split: str) -> list[dict]:
    with (ROOT / "evals/citation_clauses.jsonl").open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return [item for item in items if split in ("all", item["split"])]


def flagged_clauses(item: dict, chunks: list, retriever: HybridRetriever, limits: Limits):
    """(label, flagged, kind, text) for each labelled clause of one answer."""
    sources = {
        int(n): Hit(next(c for c in chunks if passage in chunk_body(c)), 0.0, 0.0, 0.0)
        for n, passage in item["sources"].items()
    }
    checked = check_citations(item["answer"], sources, retriever, limits)
    rows = []
    for clause in item["clauses"]:
        start = item["answer"].index(clause["text"])
        end = start + len(clause["text"])
        best = max(
            checked.clauses,
            key=lambda v: min(end, v.end) - max(start, v.start),
        )
        rows.append((clause["supported"], best.flag is not None, item["kind"], clause["text"]))
    return rows


def scores(rows) -> tuple[float, float, int, int]:
    """Precision and recall of the flags on unsupported clauses; flagged, unsupported."""
    flagged = [r for r in rows if r[1]]
    invented = [r for r in rows if not r[0]]
    caught = sum(1 for r in invented if r[1])
    precision = caught / len(flagged) if flagged else 1.0
    recall = caught / len(invented) if invented else 1.0
    return precision, recall, len(flagged), len(invented)


def measure(items, chunks, retriever, limits: Limits) -> list:
    return [row for item in items for row in flagged_clauses(item, chunks, retriever, limits)]


def tune(items, chunks, retriever, min_support: float) -> None:
    """F1 on invented claims for each max_missing at ``min_support`` (that one is tuned on
    evals/citation_check.jsonl's dev split: bench/calibrate_citation_check.py)."""
    pairs = load_pairs("dev")
    print(f"max_missing at min_support {min_support}: precision recall F1 | sentences right")
    for missing in [x / 4 for x in range(2, 21)]:
        limits = Limits(min_support, missing)
        precision, recall, _, _ = scores(measure(items, chunks, retriever, limits))
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        right = sum(sentence_flagged(p, chunks, retriever, limits) != p["supported"] for p in pairs)
        print(f"  {missing:5.2f}  {precision:.3f}  {recall:.3f}  {f1:.3f} | {right}/{len(pairs)}")


def sentence_flagged(pair: dict, chunks: list, retriever: HybridRetriever, limits: Limits) -> bool:
    """Whether the check flags a sentence of evals/citation_check.jsonl citing its chunk."""
    hit = Hit(next(c for c in chunks if pair["cites"] in chunk_body(c)), 0.0, 0.0, 0.0)
    answer = pair["sentence"].rstrip(".") + " [1]."
    return any(v.flag for v in check_citations(answer, {1: hit}, retriever, limits).clauses)


def main() -> None:
    parser = split_parser(__doc__)
    parser.add_argument("--tune", action="store_true", help="search the thresholds (dev only)")
    args = parser.parse_args()
    settings, _, chunks, retriever = lexical_setup()
    items = load_items(args.split)
    if args.tune:
        tune(items, chunks, retriever, settings.citation_min_support)
    current = Limits(settings.citation_min_support)
    for name, limits in (
        ("per sentence (before issue 19)", Limits(current.min_support, 1e9, per_clause=False)),
        (f"per clause (max_missing {current.max_missing})", current),
    ):
        rows = measure(items, chunks, retriever, limits)
        precision, recall, flagged, invented = scores(rows)
        print(f"\n{args.split}, {name}, min_support {current.min_support}:")
        print(f"  {len(rows)} clauses, {invented} invented, {flagged} flagged")
        print(f"  precision {precision:.3f}, recall {recall:.3f} on invented claims")
        for kind in sorted({r[2] for r in rows}):
            of_kind = [r for r in rows if r[2] == kind]
            right = sum(1 for r in of_kind if r[0] != r[1])
            print(f"    {kind:<32} {right}/{len(of_kind)} clauses right")
        for label, flagged_, _, text in rows:
            if label == flagged_:
                print(f"    wrong: {'flagged' if flagged_ else 'passed'}: {text}")


if __name__ == "__main__":
    main()
