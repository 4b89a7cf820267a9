"""Benchmark: our pipeline next to the plain LangChain tutorial pipeline, in one run.

    .venv/bin/python bench/tutorial_pipeline.py [--k 5] [--synthetic-docs 0]

The tutorial pipeline (LangChain's RAG tutorial, minus the LLM): the corpus files as
Documents, RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200),
``Chroma.from_documents`` with the same local MiniLM embeddings, ``similarity_search``.
Ours: ``app.index.ingest.ingest`` and ``app.session.QA`` with the default settings. Both build their
index in a temp dir with the model already loaded, then get every question of
evals/questions.jsonl.

Retrieval quality on the in-scope questions (those with ``sources``), over the top k:
  source hit  - a chunk of an expected source file is among them
  fact recall - share of the question's key facts (any alternative, case-insensitive) that
                occur in the retrieved chunks' text: what an answer could quote at best
Latency: the tutorial's ``similarity_search`` (embed + search) next to our search
(embed + dense + BM25 + fusion) and our whole ``ask`` (search + compose).
``--synthetic-docs N`` also times both ingests on N synthetic documents (bench/synthetic.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from app.config import load_settings  # noqa: E402
from app.corpus import corpus_files, load_document  # noqa: E402
from app.embeddings import make_embeddings  # noqa: E402

ROOT = BENCH.parent


def load_items(split: str) -> list[dict]:
    """The eval questions of ``split`` as dicts (id, question, sources, facts, ...)."""
    from dataclasses import asdict

    from app.evals.dataset import DEFAULT_DATASET, load_dataset

    return [asdict(item) for item in load_dataset(ROOT / DEFAULT_DATASET, split)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def tutorial_ingest(corpus: Path, embeddings, persist: Path):
    """The tutorial: load, split 1000/200 characters, Chroma.from_documents."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    docs = []
    for source, path in corpus_files(corpus):
        doc = load_document(path, source)
        docs.append(Document(page_content=doc.text, metadata={"source": source}))
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    splits = splitter.split_documents(docs)
    store = Chroma.from_documents(
        splits,
        embeddings,
        persist_directory=str(persist),
        client_settings=ChromaSettings(anonymized_telemetry=False),
    )
    return store, len(splits)


def quality(items: list[dict], retrieved: dict[str, list]) -> tuple[float, float]:
    """(source hit rate, fact recall) over in-scope items; ``retrieved[id]`` = [(source, text)]."""
    hits, found, total = 0, 0, 0
    for item in items:
        chunks = retrieved[item["id"]]
        hits += any(source in item["sources"] for source, _ in chunks)
        text = "\n".join(t for _, t in chunks).lower()
        for alternatives in item.get("facts", []):
            total += 1
            found += any(alt.lower() in text for alt in alternatives)
    return hits / len(items), (found / total if total else float("nan"))


def _top(retrieved: dict[str, list], n: int) -> dict[str, list]:
    return {key: chunks[:n] for key, chunks in retrieved.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5, help="chunks retrieved per question")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions")
    parser.add_argument(
        "--synthetic-docs", type=int, default=0, help="also time ingest on N synthetic docs"
    )
    args = parser.parse_args()

    from app.index.ingest import ingest
    from app.session import QA

    items = load_items("all")
    in_scope = [item for item in items if item.get("sources")]
    questions = [item["question"] for item in items]
    rows: list[tuple[str, str, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = load_settings(
            data_dir=tmp / "ours", corpus_dir=ROOT / "corpus", top_k=args.k, log_level="ERROR"
        )
        embeddings = make_embeddings(settings)
        embeddings.warm_up()

        t0 = time.perf_counter()
        report = ingest(settings, embeddings)
        ours_ingest = time.perf_counter() - t0
        t0 = time.perf_counter()
        store, tutorial_chunks = tutorial_ingest(ROOT / "corpus", embeddings, tmp / "tutorial")
        tutorial_ingest_s = time.perf_counter() - t0

        qa = QA(settings, embeddings)
        qa.ask(questions[0], routines=False)
        store.similarity_search(questions[0], k=args.k)
        ours_search, ours_ask, tutorial_search = [], [], []
        ours_retrieved, tutorial_retrieved = {}, {}
        for _ in range(args.repeat):
            for item in items:
                question = item["question"]
                t0 = time.perf_counter()
                hits, _ = qa.retriever.search(question, args.k)
                ours_search.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                qa.ask(question, routines=False)
                ours_ask.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                found = store.similarity_search(question, k=args.k)
                tutorial_search.append((time.perf_counter() - t0) * 1000)
                ours_retrieved[item["id"]] = [
                    (h.chunk.metadata["source"], h.chunk.page_content) for h in hits
                ]
                tutorial_retrieved[item["id"]] = [
                    (d.metadata["source"], d.page_content) for d in found
                ]
        # Both rankings are prefix-stable (ours fuses the same pool of 20 for any k <= 5),
        # so the top 1 and 3 are prefixes of the top k.
        at = sorted({1, 3, args.k} & set(range(1, args.k + 1)))
        ours_q = {n: quality(in_scope, _top(ours_retrieved, n)) for n in at}
        tutorial_q = {n: quality(in_scope, _top(tutorial_retrieved, n)) for n in at}

        synthetic = None
        if args.synthetic_docs:
            from synthetic import write_corpus

            corpus = write_corpus(tmp / "synthetic", args.synthetic_docs)
            syn_settings = load_settings(data_dir=tmp / "syn-ours", corpus_dir=corpus)
            t0 = time.perf_counter()
            syn_report = ingest(syn_settings, embeddings)
            syn_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            _, syn_chunks = tutorial_ingest(corpus, embeddings, tmp / "syn-tutorial")
            syn_tutorial = time.perf_counter() - t0
            synthetic = (syn_report.chunks, syn_ours, syn_chunks, syn_tutorial)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"corpus/: {len(items)} questions, {len(in_scope)} in scope, k={args.k}, "
        f"{args.repeat} passes\n"
    )
    rows = [
        ("chunks", f"{report.chunks}", f"{tutorial_chunks}"),
        ("ingest (model loaded), s", f"{ours_ingest:.2f}", f"{tutorial_ingest_s:.2f}"),
        (
            "retrieve p50 / p95, ms",
            f"{percentile(ours_search, 0.5):.1f} / {percentile(ours_search, 0.95):.1f}",
            f"{percentile(tutorial_search, 0.5):.1f} / {percentile(tutorial_search, 0.95):.1f}",
        ),
        (
            "whole ask p50 / p95, ms",
            f"{percentile(ours_ask, 0.5):.1f} / {percentile(ours_ask, 0.95):.1f}",
            "(no answer step)",
        ),
    ]
    for n in at:
        rows.append((f"source hit @{n}", f"{ours_q[n][0]:.0%}", f"{tutorial_q[n][0]:.0%}"))
        rows.append((f"key-fact recall @{n}", f"{ours_q[n][1]:.0%}", f"{tutorial_q[n][1]:.0%}"))
    if synthetic:
        chunks, ours_s, t_chunks, t_s = synthetic
        rows += [
            (f"synthetic {args.synthetic_docs} docs: chunks", f"{chunks}", f"{t_chunks}"),
            ("synthetic ingest, s", f"{ours_s:.1f}", f"{t_s:.1f}"),
            ("synthetic ingest, chunks/s", f"{chunks / ours_s:.1f}", f"{t_chunks / t_s:.1f}"),
        ]
    print(f"{'':<34}{'privacy-qa':>16}{'tutorial':>18}")
    for name, ours, theirs in rows:
        print(f"{name:<34}{ours:>16}{theirs:>18}")
    print(f"\n(mean retrieve ms: ours {statistics.fmean(ours_search):.1f}, ", end="")
    print(f"tutorial {statistics.fmean(tutorial_search):.1f})")


if __name__ == "__main__":
    main()
