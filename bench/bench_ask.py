"""Benchmark: ingest time of corpus/ and warm `ask` latency, split into its stages.

    .venv/bin/python bench/bench_ask.py [--repeat 3]

Builds a fresh index of corpus/ in a temp dir (the developer's .data is not touched), then
asks every question of evals/questions.jsonl --repeat times with the model loaded.
The figure to reach: warm end-to-end answer time <= 2x the time to embed the question
alone, both measured in this run (ratios, because these machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from app.config import load_settings
from app.embeddings import make_embeddings
from app.evals.dataset import load_dataset
from app.index.ingest import ingest
from app.session import QA

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions")
    args = parser.parse_args()
    questions = [item.question for item in load_dataset(ROOT / "evals/questions.jsonl")]

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data", corpus_dir=ROOT / "corpus")
        embeddings = make_embeddings(settings)
        t0 = time.perf_counter()
        embeddings.warm_up()
        model_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = ingest(settings, embeddings)
        ingest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        noop = ingest(settings, embeddings)
        noop_s = time.perf_counter() - t0
        assert noop.chunks_added == 0

        qa = QA(settings, embeddings)
        qa.ask(questions[0], routines=False)  # warm caches
        stages: dict[str, list[float]] = {"embed": [], "search": [], "compose": [], "total": []}
        embed_alone: list[float] = []
        for _ in range(args.repeat):
            for question in questions:
                t0 = time.perf_counter()
                embeddings.embed_query(question)
                embed_alone.append((time.perf_counter() - t0) * 1000)
                answer = qa.ask(question, routines=False)
                for stage in stages:
                    stages[stage].append(answer.timings_ms[stage])

    print(
        f"machine: {platform.machine()}, {platform.processor() or '?'}, "
        f"python {platform.python_version()}, {os.cpu_count()} cores"
    )
    print(f"corpus: {report.documents} documents, {report.chunks} chunks")
    print(f"model load (warm-up): {model_load * 1000:8.0f} ms")
    print(f"full ingest:          {ingest_s * 1000:8.0f} ms  (model already loaded)")
    print(f"no-op ingest:         {noop_s * 1000:8.0f} ms")
    print()
    n = len(stages["total"])
    print(f"warm ask over {n} questions ({len(questions)} x {args.repeat}), ms")
    print(f"{'stage':<22}{'p50':>8}{'p95':>8}{'mean':>8}")
    rows = [("embed question alone", embed_alone)] + [(f"ask: {k}", v) for k, v in stages.items()]
    for name, values in rows:
        print(
            f"{name:<22}{percentile(values, 0.5):8.2f}{percentile(values, 0.95):8.2f}"
            f"{statistics.fmean(values):8.2f}"
        )
    ratio50 = percentile(stages["total"], 0.5) / percentile(embed_alone, 0.5)
    ratio95 = percentile(stages["total"], 0.95) / percentile(embed_alone, 0.95)
    print(f"\nend-to-end / embed-alone: p50 {ratio50:.2f}x, p95 {ratio95:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main()
