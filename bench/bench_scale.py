"""Benchmark: how ingest and query cost grow with the corpus (synthetic, up to 100k chunks).

    .venv/bin/python bench/bench_scale.py run --work /tmp/scale --docs 100,1000
    .venv/bin/python bench/bench_scale.py ingest --work /tmp/scale --docs 10000   # long
    .venv/bin/python bench/bench_scale.py serve --work /tmp/scale --docs 10000
    .venv/bin/python bench/bench_scale.py report --work /tmp/scale --plot docs/scale.png

Every measurement runs in a child process of its own, so its peak memory (ru_maxrss) is
its own. ``ingest`` writes a synthetic corpus (bench/synthetic.py) of N documents into
WORK/corpus-N, ingests it into WORK/data-N with the default settings and then, in the
same process, times the pure embedding of the same chunks (``embed_documents`` in the
ingest's batch size): the ratio of the two is what chunking, hashing, the record manager
and Chroma add. ``serve`` opens the index like `privacy-qa ask` does (app.session.QA), asks
seeded synthetic questions and records embed/search/compose latency and peak memory.
Results are JSON files in WORK/results; ``report`` prints the tables and draws the plot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from synthetic import DATA, PREFIXES, SUFFIXES, write_corpus  # noqa: E402

from app.config import load_settings  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def _paths(work: Path, docs: int) -> tuple[Path, Path, Path]:
    results = work / "results"
    results.mkdir(parents=True, exist_ok=True)
    return work / f"corpus-{docs}", work / f"data-{docs}", results


def _corpus(work: Path, docs: int) -> Path:
    corpus, _, _ = _paths(work, docs)
    done = corpus / ".complete"
    if not done.exists():
        write_corpus(corpus, docs)
        done.write_text("ok\n")  # hidden: not part of the corpus
    return corpus


def _save(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(data), flush=True)


# --------------------------------------------------------------------------- ingest


def cmd_ingest(args) -> None:
    from app.corpus import load_corpus
    from app.embeddings import make_embeddings
    from app.index.ingest import chunk_documents, ingest
    from app.index.writer import BATCH_SIZE

    corpus = _corpus(args.work, args.docs)
    _, data, results = _paths(args.work, args.docs)
    settings = load_settings(data_dir=data, corpus_dir=corpus)
    embeddings = make_embeddings(settings)
    t0 = time.perf_counter()
    embeddings.warm_up()
    model_load_s = time.perf_counter() - t0
    started = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter() - started
        if now - last[0] >= 30 or done == total:
            last[0] = now
            print(
                f"[{time.strftime('%H:%M:%S')}] embedded {done}/{total} chunks, "
                f"{now:.0f} s, {done / max(now, 1e-9):.1f} chunks/s",
                flush=True,
            )

    report = ingest(settings, embeddings, rebuild=args.rebuild, on_progress=progress)
    ingest_s = time.perf_counter() - started
    ingest_rss = peak_rss_mb()
    result = {
        "docs": args.docs,
        "chunks": report.chunks,
        "chunks_added": report.chunks_added,
        "recovered": report.recovered,
        "model_load_s": round(model_load_s, 2),
        "ingest_s": round(ingest_s, 2),
        "ingest_chunks_per_s": round(report.chunks_added / ingest_s, 2),
        "ingest_peak_rss_mb": round(ingest_rss, 1),
        "load_average": os.getloadavg()[0],
        "machine": machine(),
    }
    if args.embed_sample != 0 and report.chunks_added:
        # The same chunks, embedded alone, in the ingest's batches: what the model costs.
        chunks = chunk_documents(load_corpus(corpus).documents, embeddings, settings)
        texts = [chunk.page_content for chunk in chunks]
        if 0 < args.embed_sample < len(texts):
            texts = random.Random(1).sample(texts, args.embed_sample)
        texts.sort(key=len)  # in the ingest's order (app/index/ingest.py embeds shortest first)
        t0 = time.perf_counter()
        for i in range(0, len(texts), BATCH_SIZE):
            embeddings.embed_documents(texts[i : i + BATCH_SIZE])
        embed_s = time.perf_counter() - t0
        per_chunk = embed_s / len(texts)
        result.update(
            embed_chunks=len(texts),
            embed_s=round(embed_s, 2),
            embed_chunks_per_s=round(len(texts) / embed_s, 2),
            # ingest time per added chunk over pure embedding time per chunk
            ingest_over_embed=round((ingest_s / report.chunks_added) / per_chunk, 3),
        )
    _save(results / f"ingest-{args.docs}.json", result)


# ------------------------------------------------------------------- latency index


def cmd_latency_index(args) -> None:
    """An index of the real chunks of corpus-N whose vectors are borrowed, for latency only.

    Embedding 100k chunks takes hours on a shared 2-core machine, and what a question costs
    depends on how many chunks there are, not on which vectors they hold. So chunk i gets
    the real model's vector of chunk i mod P of the really ingested pool index (data-POOL),
    plus a little noise so that no two vectors are equal (HNSW dislikes duplicates). The
    chunk texts, BM25 and composing are real; the dense ranking is meaningless beyond the
    pool, which is why this index serves latency and memory figures only.
    """
    import numpy as np

    from app.corpus import load_corpus
    from app.embeddings import make_embeddings
    from app.index import postings
    from app.index.changes import hash_files
    from app.index.chroma import COLLECTION_METADATA, chroma_client
    from app.index.ingest import chunk_documents
    from app.index.manifest import Manifest, fingerprint, read_manifest, write_manifest

    _, pool_data, _ = _paths(args.work, args.pool)
    pool_settings = load_settings(data_dir=pool_data, corpus_dir=_corpus(args.work, args.pool))
    pool_manifest = read_manifest(pool_settings)
    got = (
        chroma_client(pool_settings)
        .get_collection(pool_manifest.collection)
        .get(include=["embeddings"])
    )
    pool = np.asarray(got["embeddings"], dtype=np.float32)

    corpus = _corpus(args.work, args.docs)
    data = args.work / f"latency-{args.docs}"
    settings = load_settings(data_dir=data, corpus_dir=corpus)
    embeddings = make_embeddings(settings)
    t0 = time.perf_counter()
    loaded = load_corpus(corpus)
    chunks = chunk_documents(loaded.documents, embeddings, settings)
    print(f"chunked {len(chunks)} chunks in {time.perf_counter() - t0:.0f} s", flush=True)
    rng = np.random.default_rng(5)
    vectors = pool[np.arange(len(chunks)) % len(pool)]
    vectors = vectors + rng.normal(0, 0.01, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    data.mkdir(parents=True, exist_ok=True)
    client = chroma_client(settings)
    name = f"privacy_qa_latency_{args.docs}"
    if name in [c.name for c in client.list_collections()]:
        client.delete_collection(name)
    collection = client.create_collection(name, metadata=COLLECTION_METADATA)
    t0 = time.perf_counter()
    step = 2000
    for i in range(0, len(chunks), step):
        part = chunks[i : i + step]
        collection.add(
            ids=[c.id for c in part],
            embeddings=vectors[i : i + step],
            documents=[c.page_content for c in part],
            metadatas=[c.metadata for c in part],
        )
    print(f"stored {len(chunks)} chunks in {time.perf_counter() - t0:.0f} s", flush=True)
    postings.drop(settings, name)
    done = postings.update(settings, name, chunks, [], only=True)  # as ingest writes it
    print(f"wrote the lexical index in {done.seconds:.1f} s", flush=True)
    write_manifest(
        settings,
        Manifest(
            collection=name,
            fingerprint=fingerprint(settings),
            indexed_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
            documents=len(loaded.documents),
            chunks=len(chunks),
            files=hash_files(corpus),
        ),
    )


# ---------------------------------------------------------------------------- serve


def questions(count: int, seed: int = 11) -> list[str]:
    """Seeded questions in the synthetic corpus's vocabulary (like a user's)."""
    rng = random.Random(seed)
    shapes = [
        "How long does {v} keep {d}?",
        "Does {v} use {d} to train models?",
        "How is {d} encrypted at {v}?",
        "Where do I send questions about {d} to {v}?",
        "Which role does {v} have for {d} under GDPR?",
        "How are {d} transferred out of the EU by {v}?",
    ]
    return [
        rng.choice(shapes).format(
            v=f"{rng.choice(PREFIXES)} {rng.choice(SUFFIXES)}", d=rng.choice(DATA)
        )
        for _ in range(count)
    ]


def cmd_serve(args) -> None:
    from app.embeddings import make_embeddings
    from app.session import QA

    corpus, data, results = _paths(args.work, args.docs)
    kind = "serve"
    if args.latency_index:
        data, kind = args.work / f"latency-{args.docs}", "latency"
    settings = load_settings(data_dir=data, corpus_dir=corpus)
    embeddings = make_embeddings(settings)
    embeddings.warm_up()
    lexical_open_s = _time_lexical_open(settings)
    t0 = time.perf_counter()
    qa = QA(settings, embeddings)
    open_s = time.perf_counter() - t0
    asked = questions(args.questions)
    qa.ask(asked[0], routines=False)  # warm caches
    stages: dict[str, list[float]] = {"embed": [], "search": [], "compose": [], "total": []}
    abstained = 0
    for question in asked:
        answer = qa.ask(question, routines=False)
        abstained += answer.abstained
        for stage in stages:
            stages[stage].append(answer.timings_ms[stage])
    lexical_ms = [_time_lexical(qa, q) for q in asked[: args.compare_bm25]]
    result = {
        "docs": args.docs,
        "chunks": qa.retriever.size,
        "questions": len(asked),
        "abstained": abstained,
        "open_s": round(open_s, 2),
        "lexical_open_s": round(lexical_open_s, 4),
        "serve_peak_rss_mb": round(peak_rss_mb(), 1),
        "load_average": os.getloadavg()[0],
        "machine": machine(),
    }
    for stage, values in stages.items():
        result[f"{stage}_p50_ms"] = round(percentile(values, 0.5), 2)
        result[f"{stage}_p95_ms"] = round(percentile(values, 0.95), 2)
    if lexical_ms:
        result["lexical_p50_ms"] = round(percentile(lexical_ms, 0.5), 2)
        result["lexical_p95_ms"] = round(percentile(lexical_ms, 0.95), 2)
    result["index"] = "borrowed vectors (latency only)" if args.latency_index else "real"
    _save(results / f"{kind}-{args.docs}.json", result)


def _time_lexical_open(settings) -> float:
    """Seconds to open the live index's lexical index on disk (app/index/lexical.py)."""
    from app.index.lexical import LexicalIndex
    from app.index.manifest import read_manifest

    t0 = time.perf_counter()
    index = LexicalIndex.open(settings, read_manifest(settings).collection)
    seconds = time.perf_counter() - t0
    assert index is not None, "no lexical index: ingest again"
    index.close()
    return seconds


def _time_lexical(qa, question: str) -> float:
    """Milliseconds of the lexical step of a search alone: BM25 from the postings of the
    question's terms, and the ids of the best pool."""
    from app.retrieval import BM25_B, BM25_K1, terms

    query = terms(question)
    t0 = time.perf_counter()
    qa.retriever.lexical.scores(query, BM25_K1, BM25_B).top(20)
    return (time.perf_counter() - t0) * 1000


def cmd_compare(args) -> None:
    """All sizes open in one process, questions interleaved: the fair latency comparison on
    a shared machine (load changes hit every size alike)."""
    from app.embeddings import make_embeddings
    from app.session import QA

    _, _, results = _paths(args.work, args.sizes[0])
    opened = {}
    embeddings = None
    index = "data" if args.real else "latency"
    for docs in args.sizes:
        settings = load_settings(
            data_dir=args.work / f"{index}-{docs}", corpus_dir=_corpus(args.work, docs)
        )
        embeddings = embeddings or make_embeddings(settings)
        opened[docs] = QA(settings, embeddings)
    embeddings.warm_up()
    asked = questions(args.questions)
    stages = ("embed", "search", "compose", "total", "lexical")
    timings = {docs: {stage: [] for stage in stages} for docs in opened}
    for qa in opened.values():
        qa.ask(asked[0], routines=False)  # warm caches
    for question in asked:
        for docs, qa in opened.items():
            answer = qa.ask(question, routines=False)
            for stage in stages[:-1]:
                timings[docs][stage].append(answer.timings_ms[stage])
            timings[docs]["lexical"].append(_time_lexical(qa, question))
    result = {
        "questions": len(asked),
        "machine": machine(),
        "index": "real" if args.real else "borrowed vectors (latency only)",
        "sizes": {},
    }
    for docs, qa in opened.items():
        row = {"chunks": qa.retriever.size}
        for stage in stages:
            row[f"{stage}_p50_ms"] = round(percentile(timings[docs][stage], 0.5), 2)
            row[f"{stage}_p95_ms"] = round(percentile(timings[docs][stage], 0.95), 2)
        # What grows with the index: everything after embedding the question.
        total, embed = timings[docs]["total"], timings[docs]["embed"]
        after_embed = [t - e for t, e in zip(total, embed, strict=True)]
        row["after_embed_p50_ms"] = round(percentile(after_embed, 0.5), 2)
        row["after_embed_p95_ms"] = round(percentile(after_embed, 0.95), 2)
        result["sizes"][docs] = row
    _save(results / ("compare-real.json" if args.real else "compare.json"), result)


# --------------------------------------------------------------------- run and report


def _child(command: str, args, docs: int, *extra: str) -> None:
    cmd = [sys.executable, __file__, command, "--work", str(args.work), "--docs", str(docs)]
    subprocess.run([*cmd, *extra], check=True)


def cmd_run(args) -> None:
    for docs in args.sizes:
        _child("ingest", args, docs)
        _child("serve", args, docs, "--questions", str(args.questions))
    cmd_report(args)


def _load(results: Path, kind: str) -> dict[int, dict]:
    found = {}
    for path in results.glob(f"{kind}-*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["docs"]] = data
    return dict(sorted(found.items()))


def _latency_table(title: str, rows: dict[int, dict]) -> None:
    print(f"\n{title}")
    print(
        f"{'chunks':>8}{'embed p50':>10}{'search p50':>11}{'search p95':>11}{'compose p95':>12}"
        f"{'total p50':>10}{'total p95':>10}{'abstain':>8}{'open s':>7}{'peak MB':>8}"
        f"{'bm25 old/new ms':>17}"
    )
    for r in rows.values():
        bm25 = (
            f"{r['rank_bm25_p50_ms']:.1f}/{r['sparse_bm25_p50_ms']:.2f}"
            if "rank_bm25_p50_ms" in r
            else "-"
        )
        print(
            f"{r['chunks']:>8}{r['embed_p50_ms']:>10.1f}{r['search_p50_ms']:>11.1f}"
            f"{r['search_p95_ms']:>11.1f}{r['compose_p95_ms']:>12.1f}{r['total_p50_ms']:>10.1f}"
            f"{r['total_p95_ms']:>10.1f}{r['abstained']:>4}/{r['questions']:<3}"
            f"{r['open_s']:>7.1f}{r['serve_peak_rss_mb']:>8.0f}{bm25:>17}"
        )
    if len(rows) >= 2:
        first, last = list(rows.values())[0], list(rows.values())[-1]
        print(
            f"p95 total at {last['chunks']} chunks / at {first['chunks']} chunks: "
            f"{last['total_p95_ms'] / first['total_p95_ms']:.2f}x (goal <= 2x)"
        )


def cmd_report(args) -> None:
    results = args.work / "results"
    ingests = _load(results, "ingest")
    serves, latencies = _load(results, "serve"), _load(results, "latency")
    print(f"machine now: {machine()}")
    print("\ningest (fresh index, model loaded; load average at the end of each run)")
    print(
        f"{'docs':>7}{'chunks':>8}{'seconds':>9}{'chunks/s':>10}{'embed/s':>9}"
        f"{'ingest/embed':>13}{'peak MB':>9}{'load':>6}"
    )
    for docs, r in ingests.items():
        print(
            f"{docs:>7}{r['chunks']:>8}{r['ingest_s']:>9.0f}{r['ingest_chunks_per_s']:>10.1f}"
            f"{r.get('embed_chunks_per_s', float('nan')):>9.1f}"
            f"{r.get('ingest_over_embed', float('nan')):>12.2f}x{r['ingest_peak_rss_mb']:>9.0f}"
            f"{r['load_average']:>6.1f}"
        )
    if serves:
        _latency_table("warm ask (ms) on really ingested indexes", serves)
    if latencies:
        _latency_table("warm ask (ms), latency indexes (real chunks, borrowed vectors)", latencies)
    rows = {}
    for name in ("compare.json", "compare-real.json"):  # the real indexes' rows win the plot
        compare = results / name
        if not compare.exists():
            continue
        data = json.loads(compare.read_text(encoding="utf-8"))
        rows = {int(k): v for k, v in data["sizes"].items()}
        print(
            f"\none process, questions interleaved over sizes ({data['questions']} each), ms; "
            f"{data.get('index', 'borrowed vectors (latency only)')}"
        )
        print(
            f"{'chunks':>8}{'embed p50':>10}{'search p50':>11}{'search p95':>11}"
            f"{'after-embed p95':>16}{'total p50':>10}{'total p95':>10}"
        )
        for r in rows.values():
            print(
                f"{r['chunks']:>8}{r['embed_p50_ms']:>10.1f}{r['search_p50_ms']:>11.1f}"
                f"{r['search_p95_ms']:>11.1f}{r['after_embed_p95_ms']:>16.1f}"
                f"{r['total_p50_ms']:>10.1f}{r['total_p95_ms']:>10.1f}"
            )
        first, last = list(rows.values())[0], list(rows.values())[-1]
        for key in ("total_p95_ms", "after_embed_p95_ms"):
            print(
                f"{key[:-3]} at {last['chunks']} / at {first['chunks']} chunks: "
                f"{last[key] / first[key]:.2f}x (goal for total: <= 2x)"
            )
    progress = _progress(args.work / "ingest-10000.log")
    if progress:
        chunks, seconds, total = progress[-1]
        print(
            f"\n100k ingest (bench_scale.py ingest --docs 10000): {chunks}/{total} chunks "
            f"embedded after {seconds:.0f} s ({chunks / seconds:.1f} chunks/s overall)"
        )
    if args.plot and (rows or latencies or serves):
        _plot(rows or latencies or serves, latencies or serves, progress, args.plot)


def _progress(log: Path) -> list[tuple[int, float, int]]:
    """(chunks embedded, seconds, total) from an ingest's progress lines."""
    import re

    if not log.exists():
        return []
    found = re.findall(r"embedded (\d+)/(\d+) chunks, (\d+) s", log.read_text())
    return [(int(done), float(sec), int(total)) for done, total, sec in found]


def _plot(latency: dict, bm25: dict, progress: list, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4))
    chunks = [r["chunks"] for r in latency.values()]
    for key, label in [
        ("total_p95_ms", "ask p95 (total)"),
        ("embed_p95_ms", "embed question p95"),
        ("after_embed_p95_ms", "after embedding p95 (search + compose)"),
        ("search_p95_ms", "search p95"),
    ]:
        if all(key in r for r in latency.values()):
            left.plot(chunks, [r[key] for r in latency.values()], marker="o", label=label)
    left.set(
        xscale="log",
        yscale="log",
        xlabel="chunks in the index",
        ylabel="ms",
        title="Warm ask latency",
    )
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    rows = [r for r in bm25.values() if "rank_bm25_p50_ms" in r]
    if rows:
        sizes = [r["chunks"] for r in rows]
        middle.plot(sizes, [r["rank_bm25_p50_ms"] for r in rows], "o-", label="rank_bm25")
        middle.plot(sizes, [r["sparse_bm25_p50_ms"] for r in rows], "s-", label="postings (ours)")
        middle.set(
            xscale="log",
            yscale="log",
            xlabel="chunks",
            ylabel="ms per question (p50)",
            title="BM25 scoring of one question",
        )
        middle.legend(fontsize=8)
        middle.grid(alpha=0.3)
    if progress:
        right.plot([sec / 60 for _, sec, _ in progress], [done for done, _, _ in progress])
        right.set(
            xlabel="minutes",
            ylabel="chunks embedded and stored",
            title=f"Ingest of {progress[-1][2]} chunks on 2 cores"
            + ("" if progress[-1][0] == progress[-1][2] else " (stopped)"),
        )
        right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"plot written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("ingest", "latency-index", "serve", "compare", "run", "report"):
        p = sub.add_parser(name)
        p.add_argument("--work", type=Path, required=True, help="dir for corpora, indexes, results")
        if name in ("ingest", "serve", "latency-index"):
            p.add_argument("--docs", type=int, required=True, help="synthetic documents")
        if name == "latency-index":
            p.add_argument("--pool", type=int, default=100, help="docs of the real index to borrow")
        if name == "serve":
            p.add_argument(
                "--compare-bm25",
                type=int,
                default=10,
                help="questions to time the lexical step alone on (0: skip)",
            )
            p.add_argument(
                "--latency-index",
                action="store_true",
                help="serve WORK/latency-N (see latency-index) instead of WORK/data-N",
            )
        if name in ("run", "compare"):
            p.add_argument(
                "--docs",
                dest="sizes",
                type=lambda s: [int(x) for x in s.split(",")],
                default=[100, 1000],
                help="comma-separated corpus sizes in documents (about 11 chunks each)",
            )
        if name == "compare":
            p.add_argument(
                "--real",
                action="store_true",
                help="compare the really ingested indexes WORK/data-N, not WORK/latency-N",
            )
        if name in ("serve", "run", "compare"):
            p.add_argument("--questions", type=int, default=60, help="questions to time")
        if name in ("run", "report"):
            p.add_argument("--plot", type=Path, default=None, help="write a PNG plot here")
        if name == "ingest":
            p.add_argument("--rebuild", action="store_true", help="ingest from scratch")
            p.add_argument(
                "--embed-sample",
                type=int,
                default=-1,
                help="chunks to time pure embedding on (-1: all, 0: skip)",
            )
    args = parser.parse_args()
    commands = {
        "ingest": cmd_ingest,
        "latency-index": cmd_latency_index,
        "serve": cmd_serve,
        "compare": cmd_compare,
        "run": cmd_run,
        "report": cmd_report,
    }
    commands[args.command](args)


if __name__ == "__main__":
    main()
