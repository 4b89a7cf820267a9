"""A real ingest in a child process that SIGKILLs (or SIGSTOPs) itself at a chosen point.

Used by test_index_ingest_faults.py. The ingest code runs unmodified; only the library calls
around the chosen point are wrapped so the signal lands exactly there:

    python -m tests.ingest_child DATA_DIR CORPUS_DIR POINT [--rebuild] [--stop]

POINT is one of
    embed:N       while the N-th batch is being embedded (earlier batches are stored)
    record:N      after the N-th batch of vectors is written, before it is recorded
    delete:N      after the N-th delete of old chunks, before the records are updated
    lexical:N     while the N-th new chunk is cut into terms for the lexical index (its
                  transaction open: earlier chunks and the deletions are written in it)
    manifest      just before the new manifest is written (the lexical index committed)
    after-manifest  after the manifest is written, before the pending marker goes
    none          no signal: a normal ingest

With --stop the process stops itself (SIGSTOP) instead, so a test can act while it is
paused mid-write and resume it with SIGCONT.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def main() -> None:
    data_dir, corpus_dir, point, *flags = sys.argv[1:]
    sig = signal.SIGSTOP if "--stop" in flags else signal.SIGKILL
    name, _, count = point.partition(":")
    target = int(count or 1)
    calls = {"n": 0}

    def hit() -> None:
        calls["n"] += 1
        if calls["n"] == target:
            print(f"signal at {point}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), sig)

    from langchain_chroma import Chroma
    from langchain_classic.indexes import SQLRecordManager

    import app.index.ingest
    import app.index.manifest
    import app.index.postings
    import app.index.writer
    from app.config import load_settings
    from app.embeddings import LocalMiniLM

    app.index.writer.BATCH_SIZE = 4  # many small batches, so there is a "middle" to land in

    if name == "embed":
        original_embed = LocalMiniLM.embed_documents

        def embed(self, texts):
            hit()
            return original_embed(self, texts)

        LocalMiniLM.embed_documents = embed
    elif name == "record":
        original_update = SQLRecordManager.update

        def update(self, *args, **kwargs):
            hit()
            return original_update(self, *args, **kwargs)

        SQLRecordManager.update = update
    elif name == "delete":
        original_delete = Chroma.delete

        def delete(self, *args, **kwargs):
            result = original_delete(self, *args, **kwargs)
            hit()
            return result

        Chroma.delete = delete
    elif name == "lexical":
        original_terms = app.index.postings.terms

        def terms(text, joined=False):
            hit()
            return original_terms(text, joined)

        app.index.postings.terms = terms
    elif name in ("manifest", "after-manifest"):
        original_write = app.index.manifest.write_json_atomically

        def write(path, data):
            if path.name == "manifest.json" and name == "manifest":
                hit()
            original_write(path, data)
            if path.name == "manifest.json" and name == "after-manifest":
                hit()

        app.index.manifest.write_json_atomically = write

    settings = load_settings(data_dir=data_dir, corpus_dir=corpus_dir)
    report = app.index.ingest.ingest(settings, rebuild="--rebuild" in flags)
    print(json.dumps(report.to_dict(), default=str))


if __name__ == "__main__":
    main()
