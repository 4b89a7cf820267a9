"""Ingest benchmarks (issue 3), each as a ratio within one run:

1. A no-op `privacy-qa ingest` (nothing changed) against `python -c "import app"`,
   whole processes, interleaved (goal: <= 1.5x). `import app.cli` is shown too: it is the
   floor every command pays (argparse, json and the settings). The no-op runs twice: as
   usual, with the file-hash cache (app/index/changes.py) knowing the files, and with the cache
   deleted before each run, so it reads and hashes every file (and writes the cache). The processes
   run with bytecode caching, as an installed copy does (pip compiles at install time;
   PYTHONDONTWRITEBYTECODE is dropped so the warm-up run writes app/'s bytecode). Besides
   wall time each process's CPU time (user + system) is shown, which other jobs on the
   machine disturb less.
2. A one-document change on a 200-document synthetic corpus against a full rebuild of
   the same corpus, in one process with the model loaded (goal: <= 5%). `--noop-only`
   skips it (it takes minutes).

    .venv/bin/python bench/bench_ingest.py [--docs 200] [--runs 10] [--noop-only]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import corpus_paths, edit_one, write_corpus  # noqa: E402

from app.config import load_settings  # noqa: E402
from app.embeddings import make_embeddings  # noqa: E402
from app.index.ingest import ingest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def wall_and_cpu(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of one process, and its CPU seconds (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def noop_vs_import(runs: int, tmp: Path) -> list[tuple[str, float, float]]:
    corpus = tmp / "noop-corpus"
    write_corpus(corpus, 20)
    settings = load_settings(data_dir=tmp / "noop-data", corpus_dir=corpus)
    ingest(settings)
    env = {
        **os.environ,
        "PRIVACY_QA_DATA_DIR": str(settings.data_dir),
        "PRIVACY_QA_CORPUS_DIR": str(corpus),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    commands = {
        'python -c "import app"': [sys.executable, "-c", "import app"],
        'python -c "import app.cli"': [sys.executable, "-c", "import app.cli"],
        "privacy-qa ingest (no-op, 20 docs)": [sys.executable, "-m", "app", "ingest"],
        "  the same, hash cache deleted first": [sys.executable, "-m", "app", "ingest"],
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    # Warm-up: writes app/'s bytecode, and the hash cache (the corpus was written before
    # the model loaded, long enough ago to be cached).
    for args in commands.values():
        wall_and_cpu(args, env)
    for _ in range(runs):  # interleaved, so load on the machine hits all alike
        for name, args in commands.items():
            if name.endswith("deleted first"):
                settings.hash_cache_path.unlink()  # outside the timing; the run writes it
            times[name].append(wall_and_cpu(args, env))
    return [
        (name, statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in times.items()
    ]


def change_vs_rebuild(docs: int, tmp: Path, embeddings) -> list[tuple[str, float, int]]:
    corpus = tmp / "corpus"
    paths = corpus_paths(write_corpus(corpus, docs))
    settings = load_settings(data_dir=tmp / "data", corpus_dir=corpus)
    rebuild = ingest(settings, embeddings, rebuild=True)
    rows = [("full rebuild", rebuild.seconds, rebuild.chunks_added)]
    changes = []
    for path in paths[:: max(1, len(paths) // 3)][:3]:
        edit_one(path)  # one word of its first paragraph
        report = ingest(settings, embeddings)
        assert report.updated == 1, report
        changes.append((report.seconds, report.chunks_added))
    noop = ingest(settings, embeddings)
    rows.append(
        (
            "one document changed (median of 3)",
            statistics.median(s for s, _ in changes),
            max(c for _, c in changes),
        )
    )
    rows.append(("no-op (in process)", noop.seconds, 0))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--noop-only", action="store_true", help="Skip the 200-document part.")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = noop_vs_import(args.runs, tmp)
        base_wall, base_cpu = rows[0][1:]
        title = f"process (median of {args.runs})"
        print(f"\n{title:<40} {'wall s':>8} {'ratio':>7} {'cpu s':>8} {'ratio':>7}")
        for name, wall, cpu in rows:
            print(
                f"{name:<40} {wall:8.3f} {wall / base_wall:6.2f}x {cpu:8.3f} {cpu / base_cpu:6.2f}x"
            )
        if args.noop_only:
            return

        embeddings = make_embeddings(load_settings())
        embeddings.warm_up()
        rows = change_vs_rebuild(args.docs, tmp, embeddings)
        base = rows[0][1]
        title = f"{args.docs}-document corpus"
        print(f"\n{title:<40} {'s':>8} {'chunks':>7} {'share':>7}")
        for name, seconds, chunks in rows:
            print(f"{name:<40} {seconds:8.2f} {chunks:7d} {100 * seconds / base:6.1f}%")


if __name__ == "__main__":
    main()
