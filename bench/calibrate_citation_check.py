"""Measure the citation check's support scores on labelled sentences and suggest a threshold.

    .venv/bin/python bench/calibrate_citation_check.py [--split dev] [--embeddings]

evals/citation_check.jsonl holds hand-written answer sentences of the kind a chat model
writes, each with the corpus passage it cites (``cites``, verbatim) and whether that
passage really supports it: paraphrases and quotes (supported); wrong figures, invented
facts, negations and true sentences cited to the wrong chunk (not supported). The cited
chunk is the chunk of the corpus (chunked with the current settings) holding the passage.

For each sentence it prints the lexical support score the check uses (IDF-weighted share
of the sentence's terms found in the cited chunk, 0 if a figure is missing; see
app/answering/citation_check.py ``support``) and, with
``--embeddings``, the best cosine similarity between the sentence and a sentence of the
chunk (local MiniLM), for comparison. The suggested threshold is the one that puts most
sentences of the split on the right side, midway in the widest gap. Tune on dev, report test.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.answering.citation_check import source_terms, support
from app.answering.sentences import sentences
from app.config import load_settings
from app.corpus import chunk_body, load_corpus
from app.embeddings import LocalMiniLM
from app.index.ingest import chunk_documents
from app.retrieval import HybridRetriever, terms

ROOT = Path(__file__).resolve().parent.parent


def load_pairs(split: str) -> list[dict]:
    with (ROOT / "evals/citation_check.jsonl").open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return [item for item in items if split in ("all", item["split"])]


def split_parser(doc: str) -> argparse.ArgumentParser:
    """The command line of a calibration script: which split of its labelled file."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    return parser


def lexical_setup():
    """The settings, the corpus chunked as ingest chunks it, and a retriever over the chunks
    with lexical statistics only (all the check needs)."""
    settings = load_settings(corpus_dir=ROOT / "corpus")
    model = LocalMiniLM()
    chunks = chunk_documents(load_corpus(settings.corpus_dir).documents, model, settings)
    return settings, model, chunks, HybridRetriever(None, model, chunks)


def best_threshold(rows: list[tuple[float, bool]]) -> tuple[float, int]:
    """(threshold, sentences on the right side): supported iff score >= threshold."""
    scores = sorted({score for score, _ in rows})
    gaps = [(a + b) / 2 for a, b in zip(scores, scores[1:], strict=False)]
    candidates = [scores[0] - 1e-6, *gaps, scores[-1] + 1e-6]

    def right(t: float) -> int:
        return sum((score >= t) == label for score, label in rows)

    def margin(t: float) -> float:
        return min(abs(score - t) for score, _ in rows)

    return max(((t, right(t)) for t in candidates), key=lambda c: (c[1], margin(c[0])))


def main() -> None:
    parser = split_parser(__doc__)
    parser.add_argument("--embeddings", action="store_true", help="also score by MiniLM cosine")
    args = parser.parse_args()
    settings, model, chunks, retriever = lexical_setup()

    rows = []
    for item in load_pairs(args.split):
        chunk = next(c for c in chunks if item["cites"] in chunk_body(c))
        body = chunk_body(chunk)
        lexical = support(set(terms(item["sentence"])), source_terms(chunk), retriever)
        dense = None
        if args.embeddings:
            candidates = [s.text for s in sentences(body)]
            vectors = model.embed_documents([item["sentence"], *candidates])
            dense = max(sum(a * b for a, b in zip(vectors[0], v, strict=True)) for v in vectors[1:])
        rows.append((lexical, dense, item))
    rows.sort(key=lambda row: row[0])

    print(f"{'lexical':>7} {'cosine':>6}  {'label':<11} {'kind':<12} sentence")
    for lexical, dense, item in rows:
        label = "supported" if item["supported"] else "unsupported"
        cosine = f"{dense:6.3f}" if dense is not None else "     -"
        print(f"{lexical:7.3f} {cosine}  {label:<11} {item['kind']:<12} {item['sentence']}")

    total = len(rows)
    current = settings.citation_min_support
    right = sum((lexical >= current) == item["supported"] for lexical, _, item in rows)
    print(f"\n{args.split}: {total} sentences")
    print(f"current citation_min_support {current}: {right}/{total} on the right side")
    threshold, right = best_threshold([(lexical, item["supported"]) for lexical, _, item in rows])
    print(f"suggested lexical threshold {threshold:.3f}: {right}/{total} on the right side")
    if args.embeddings:
        threshold, right = best_threshold([(dense, item["supported"]) for _, dense, item in rows])
        print(f"best cosine threshold {threshold:.3f}: {right}/{total} on the right side")
    for kind in sorted({item["kind"] for _, _, item in rows}):
        of_kind = [(lexical, item) for lexical, _, item in rows if item["kind"] == kind]
        ok = sum((lexical >= current) == item["supported"] for lexical, item in of_kind)
        print(f"  {kind:<12} {ok}/{len(of_kind)} right at {current}")


if __name__ == "__main__":
    main()
