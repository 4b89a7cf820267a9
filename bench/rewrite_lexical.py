"""Rewrite the lexical index (and the corpus's tables) of a data dir from its stored chunks.

What an ingest's full pass writes into a new layout's file (app/index/postings.py), for an
index whose corpus is not at hand: bench_scale's latency indexes (borrowed vectors), after
a change of the file's layout. Reads every chunk from Chroma once, writes in one
transaction, prints the seconds and the file's size.

    .venv/bin/python bench/rewrite_lexical.py --data W/latency-10000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from app.config import load_settings
from app.index import postings
from app.index.chroma import load_all_chunks, open_collection
from app.index.manifest import lexical_path, read_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the data dir")
    args = parser.parse_args()
    settings = load_settings(data_dir=args.data)
    name = read_manifest(settings).collection
    t0 = time.perf_counter()
    chunks = load_all_chunks(open_collection(settings))
    read_s = time.perf_counter() - t0
    path = lexical_path(settings, name)
    path.unlink(missing_ok=True)
    done = postings.update(settings, name, chunks, [], only=True)
    size_mb = path.stat().st_size / 2**20
    print(
        f"{len(chunks)} chunks read in {read_s:.1f} s; {path.name} written in "
        f"{done.seconds:.1f} s, {size_mb:.1f} MB"
    )


if __name__ == "__main__":
    main()
