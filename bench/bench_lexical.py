"""Benchmark: the lexical (BM25) index on disk at 1k and 100k chunks.

    .venv/bin/python bench/bench_lexical.py --small DATA_DIR_1K --large DATA_DIR_110K

Each DATA_DIR is an index (e.g. bench_scale.py's WORK/latency-100 and WORK/latency-10000):
its chunks are read from its Chroma collection once, then, in a scratch dir,

- **build**: the lexical index of all of them written as ingest writes it (one
  transaction), its time and file size;
- **open**: a fresh process opens it (``LexicalIndex.open``) and scores one question: the
  seconds, and that process's peak RSS over the same process that only imports;
- **score**: the same seeded questions (bench_scale's) on both sizes, interleaved in one
  process, the lexical step alone (BM25 from the postings of the question's terms and the
  ids of the best 20), p50/p95;
- **update**: incremental ingests at the large size: one document's chunks (about 11)
  replaced by changed ones, then 100 documents'; time and the term rows rewritten;
- **the rest of opening**: what a serving process (app.session.QA) still spends on opening
  besides the lexical index: reading every chunk from Chroma (``load_all_chunks``) and the
  retriever's own tables over them (abbreviations, name terms, reading order), timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_scale import machine, peak_rss_mb, percentile, questions  # noqa: E402

from app.config import load_settings  # noqa: E402

# Peak RSS from /proc (VmHWM): ru_maxrss would carry over the parent's peak through exec.
OPEN = """
import json, re, sys, time
import numpy, langchain_core.documents, app.index.lexical, app.retrieval
from app.config import load_settings
def hwm():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) / 1024
base = hwm()
t0 = time.perf_counter()
index = app.index.lexical.LexicalIndex.open(load_settings(data_dir=sys.argv[1]), sys.argv[2])
opened = time.perf_counter() - t0
index.scores(app.retrieval.terms(sys.argv[3]), 1.2, 0.35).top(20)
first = time.perf_counter() - t0 - opened
peak = hwm()
print(json.dumps({"open_s": opened, "first_question_s": first, "rss_after_imports_mb": base,
                  "rss_peak_mb": peak}))
"""


def read_chunks(data_dir: Path) -> tuple[list, float]:
    from app.index.chroma import load_all_chunks, open_collection

    settings = load_settings(data_dir=data_dir)
    t0 = time.perf_counter()
    chunks = load_all_chunks(open_collection(settings))
    return chunks, time.perf_counter() - t0


def retriever_tables_s(chunks, lexical) -> float:
    """Seconds to build the retriever over ``chunks`` given its lexical index on disk."""
    from app.retrieval import HybridRetriever

    t0 = time.perf_counter()
    HybridRetriever(None, None, chunks, lexical)
    return time.perf_counter() - t0


def build(chunks, scratch: Path, name: str) -> dict:
    from app.index import postings

    settings = load_settings(data_dir=scratch)
    postings.drop(settings, name)
    done = postings.update(settings, name, chunks, [], only=True)
    size = (scratch / "lexical" / f"{name}.sqlite").stat().st_size
    return {"chunks": len(chunks), "build_s": round(done.seconds, 2), "file_mb": size / 1e6}


def open_in_a_fresh_process(scratch: Path, name: str, question: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", OPEN, str(scratch), name, question],
        capture_output=True,
        text=True,
        check=True,
        cwd=BENCH.parent,
    )
    return {k: round(v, 4) for k, v in json.loads(out.stdout).items()}


def score(indexes: dict, asked: list[str]) -> dict:
    from app.retrieval import BM25_B, BM25_K1, terms

    times: dict[str, list[float]] = {size: [] for size in indexes}
    for question in asked:
        query = terms(question)
        for size, index in indexes.items():
            t0 = time.perf_counter()
            index.scores(query, BM25_K1, BM25_B).top(20)
            times[size].append((time.perf_counter() - t0) * 1000)
    return {
        size: {
            "p50_ms": round(percentile(values, 0.5), 3),
            "p95_ms": round(percentile(values, 0.95), 3),
        }
        for size, values in times.items()
    }


def update(chunks, scratch: Path, name: str, documents: int) -> dict:
    """Replace the chunks of ``documents`` files by changed ones, as an incremental ingest."""
    from langchain_core.documents import Document

    from app.index import postings

    sources = sorted({c.metadata.get("source") for c in chunks})[:documents]
    old = [c for c in chunks if c.metadata.get("source") in sources]
    new = [
        Document(id=f"{c.id}-v2", page_content=c.page_content + " amended", metadata=c.metadata)
        for c in old
    ]
    settings = load_settings(data_dir=scratch)
    done = postings.update(settings, name, new, [c.id for c in old], only=False)
    postings.update(settings, name, old, [c.id for c in new], only=False)  # and back
    return {
        "documents": documents,
        "chunks_replaced": len(old),
        "update_s": round(done.seconds, 3),
        "terms_rewritten": done.terms_rewritten,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=Path, required=True, help="data dir of the 1k index")
    parser.add_argument("--large", type=Path, required=True, help="data dir of the 110k index")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/bench-lexical"))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    from app.index.lexical import LexicalIndex

    result: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    asked = questions(args.questions)
    indexes = {}
    for size, data_dir in (("small", args.small), ("large", args.large)):
        chunks, read_s = read_chunks(data_dir)
        scratch = args.scratch / size
        shutil.rmtree(scratch, ignore_errors=True)
        result[size] = build(chunks, scratch, "bench")
        result[size]["open"] = open_in_a_fresh_process(scratch, "bench", asked[0])
        indexes[size] = LexicalIndex.open(load_settings(data_dir=scratch), "bench")
        result[size]["rest_of_opening"] = {
            "load_all_chunks_s": round(read_s, 2),
            "retriever_tables_s": round(retriever_tables_s(chunks, indexes[size]), 2),
        }
        if size == "large":
            result["updates"] = [update(chunks, scratch, "bench", n) for n in (1, 100)]
        del chunks
    result["score"] = score(indexes, asked)
    result["score_p95_large_over_small"] = round(
        result["score"]["large"]["p95_ms"] / result["score"]["small"]["p95_ms"], 2
    )
    result["bench_peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["load_average_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
