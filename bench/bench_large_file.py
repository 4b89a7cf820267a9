"""Ingest of one large file (issue 19's probe: 5 MB took 329 s and 1.55 GB, 50 MB was
not chunked after 20 minutes): time and peak memory at 5 MB and 50 MB of text, which
should grow linearly (ratio about 10).

Each size is one markdown file of synthetic policy text (bench/synthetic.py's documents
run together: headings, paragraphs, lists). Two processes per size, each in a fresh data
dir, timed by wall clock with the peak RSS the kernel reports for that child (wait4):

- ``load + chunk``: reading and chunking alone (the part that was quadratic);
- ``privacy-qa ingest``: the whole command, embedding with the bundled model included.

    .venv/bin/python bench/bench_large_file.py [--sizes 5 50] [--chunk-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import document  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

CHUNK_ONLY = """
import sys
from pathlib import Path
from app.corpus import chunk_document, load_corpus
from app.embeddings import LocalMiniLM
model = LocalMiniLM()
loaded = load_corpus(Path(sys.argv[1]), max_bytes=10**9)
chunks = [c for d in loaded.documents
          for c in chunk_document(d, model.count_tokens, model.max_input_tokens, 160, 24)]
print(len(chunks))
"""


def write_file(path: Path, megabytes: float) -> int:
    """One markdown file of at least ``megabytes`` MB; returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target, parts, size, index = int(megabytes * 1_000_000), [], 0, 0
    while size < target:
        _, text = document(index, seed=7, sections=5)
        parts.append(text)
        size += len(text.encode()) + 2
        index += 1
    path.write_text("\n\n".join(parts), encoding="utf-8")
    return path.stat().st_size


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stdout of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if child.returncode != 0:
        raise SystemExit(f"{args} failed with exit code {child.returncode}")
    return seconds, usage.ru_maxrss / 1024, text


def show(step: str, size: int, chunks: int, seconds: float, rss: float) -> tuple:
    """Print one row at once (a long run keeps what it measured), and return it."""
    print(f"{step:<20}{size / 1e6:>7.1f}{chunks:>9}{seconds:>10.1f}{rss:>13.0f}", flush=True)
    return step, size, chunks, seconds, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[5.0, 50.0])
    parser.add_argument("--chunk-only", action="store_true", help="Skip the whole ingest.")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average at start "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    rows = []
    print(f"\n{'step':<20}{'MB':>7}{'chunks':>9}{'seconds':>10}{'peak RSS MB':>13}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for megabytes in args.sizes:
            corpus = Path(tmp, f"corpus-{megabytes:g}")
            size = write_file(corpus / "big.md", megabytes)
            env = {
                **os.environ,
                "PRIVACY_QA_CORPUS_DIR": str(corpus),
                "PRIVACY_QA_DATA_DIR": str(Path(tmp, f"data-{megabytes:g}")),
                "PRIVACY_QA_MAX_FILE_MB": "100",
            }
            seconds, rss, out = measure([sys.executable, "-c", CHUNK_ONLY, str(corpus)], env)
            rows.append(show("load + chunk", size, int(out.strip()), seconds, rss))
            if not args.chunk_only:
                command = [sys.executable, "-m", "app", "ingest", "--json"]
                seconds, rss, out = measure(command, env)
                chunks = json.loads(out)["chunks"]
                rows.append(show("privacy-qa ingest", size, chunks, seconds, rss))
    for step in dict.fromkeys(row[0] for row in rows):
        mine = [row for row in rows if row[0] == step]
        if len(mine) >= 2:
            (_, s0, _, t0, m0), (_, s1, _, t1, m1) = mine[0], mine[-1]
            print(f"{step}: size x{s1 / s0:.1f} -> time x{t1 / t0:.1f}, peak RSS x{m1 / m0:.1f}")


if __name__ == "__main__":
    main()
