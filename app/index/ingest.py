"""The ingest that keeps the index in step with the corpus dir: plan (a dry run), lock, run,
publish. app/index/__init__.py describes the layout on disk and how it stays safe;
docs/ingest.md walks through one run.

The facade (``app.qa.ingest``) imports this module only when there is work: a no-op is
answered by :func:`app.index.changes.unchanged_report`, and repeated here under the lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from langchain_core.documents import Document

from app.config import Settings
from app.corpus import SourceDocument, chunk_document, load_corpus
from app.embeddings import EmbeddingBackend, make_embeddings
from app.errors import IngestLockedError, StoreCorruptError, UserError
from app.index import postings
from app.index.changes import previous, rebuild_reason, survey, unchanged
from app.index.chroma import (
    COLLECTION_PREFIX,
    chroma_client,
    holds_collection,
    server_errors,
)
from app.index.manifest import (
    LEXICAL_DIR,
    IngestReport,
    Manifest,
    Pending,
    Skipped,
    Survey,
    fingerprint,
    lexical_path,
    pending_path,
    store_location,
    write_manifest,
    write_pending,
)
from app.index.records import has_records, record_manager
from app.index.writer import ProgressEmbeddings, drop_stale_collections, open_client, write_chunks

log = logging.getLogger(__name__)


def ingest(
    settings: Settings,
    embeddings: EmbeddingBackend | None = None,
    *,
    rebuild: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Make the live index match the corpus dir; return what changed.

    ``embeddings`` is created from the settings only if something must be embedded.
    ``on_progress(done, total)`` follows the embedding of new chunks. ``dry_run`` reports
    what would change and writes nothing. Raises IngestLockedError if another ingest
    holds the data dir, StoreCorruptError for an unreadable or foreign data dir (unless
    ``rebuild``), UserError for a corpus with no readable document.
    """
    started = time.perf_counter()
    if not settings.corpus_dir.is_dir():
        raise UserError(
            f"Corpus dir {settings.corpus_dir} does not exist: create it and add documents, "
            "or set PRIVACY_QA_CORPUS_DIR."
        )
    if not _looks_like_ours(settings) and not rebuild:
        raise StoreCorruptError(
            f"{settings.data_dir} is not empty and holds no privacy-qa index (no manifest.json). "
            "Choose another --data-dir, or run `privacy-qa ingest --rebuild` to create an index "
            "there (existing files are left alone)."
        )
    if dry_run:
        with server_errors(settings):
            report = plan(settings, embeddings, rebuild)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # A server lost mid-way leaves the pending marker: the next ingest finishes the job.
        with ingest_lock(settings), server_errors(settings):
            report = run(settings, embeddings, rebuild, on_progress)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """Hold the data dir's ingest lock, or raise IngestLockedError if another ingest has it.

    flock is released by the kernel when the holder dies, so a killed ingest never
    leaves a stale lock behind.
    """
    path = settings.data_dir / "ingest.lock"
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise IngestLockedError(
                f"Another ingest (pid {holder}) is writing to {settings.data_dir}. "
                "Wait for it to finish, then run `privacy-qa ingest` again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def chunk_documents(
    documents: list[SourceDocument], embeddings: EmbeddingBackend, settings: Settings
) -> list[Document]:
    """The chunks of ``documents``, sized by the model's tokenizer, as ingest stores them."""
    return [
        chunk
        for doc in documents
        for chunk in chunk_document(
            doc,
            embeddings.count_tokens,
            embeddings.max_input_tokens,
            settings.chunk_tokens,
            settings.chunk_overlap_tokens,
        )
    ]


# ------------------------------------------------------------------------ where to write


def _start(settings: Settings, rebuild: bool, *, remember: bool) -> tuple[Survey, str]:
    """Where the ingest starts, and why it must rebuild ("" if it need not)."""
    start = survey(settings, previous(settings, rebuild), remember=remember)
    reason = rebuild_reason(
        settings, start.manifest, rebuild, lambda name: holds_collection(settings, name)
    )
    return start, reason


@dataclass
class Target:
    """The collection a run writes into, and how much of the corpus it re-checks."""

    live: str | None  # the collection of the live index, if any
    collection: str
    full_pass: bool  # every file re-read, every stored chunk re-checked

    @classmethod
    def choose(cls, settings: Settings, start: Survey, reason: str) -> Target:
        live = start.manifest.collection if start.manifest else None
        pending = start.pending
        collection = live
        if live is None or reason:
            # A new generation; resume the one an interrupted rebuild was filling.
            resumable = (
                pending is not None
                and pending.fingerprint == fingerprint(settings)
                and pending.store == store_location(settings)
                and pending.collection not in (None, live)
            )
            collection = pending.collection if resumable else new_collection_name()
        # After an interruption nothing is trusted: every file is re-read, every stored
        # chunk re-checked. Otherwise only changed files are read. An index from before
        # the lexical index on disk gets one from a full pass (which embeds nothing new).
        missing = not lexical_path(settings, collection).exists()
        return cls(live, collection, collection != live or pending is not None or missing)


def new_collection_name() -> str:
    return f"{COLLECTION_PREFIX}_{datetime.now(UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"


def _looks_like_ours(settings: Settings) -> bool:
    """An empty or missing data dir, or one with our manifest: safe to write into."""
    data_dir = settings.data_dir
    if not data_dir.exists() or settings.manifest_path.exists():
        return True
    ours = {"chroma", "records.sqlite", "ingest.lock", "ingest.pending", "tiktoken"}
    ours |= {"document-times.json", "feedback.jsonl"}  # app/documents.py, app/feedback.py
    ours.add(LEXICAL_DIR)
    ours.add(settings.hash_cache_path.name)
    return all(entry.name in ours or entry.name.endswith(".tmp") for entry in data_dir.iterdir())


def _default_embeddings(settings: Settings) -> EmbeddingBackend:
    return make_embeddings(settings)  # only once something must be embedded


# ------------------------------------------------------------------------ dry run


def plan(settings: Settings, embeddings: EmbeddingBackend | None, rebuild: bool) -> IngestReport:
    """What :func:`ingest` would do, counted exactly, without writing anything."""
    start, reason = _start(settings, rebuild, remember=False)
    report = unchanged(settings, start, reason, dry_run=True)
    if report is not None:
        return report
    embeddings = embeddings or _default_embeddings(settings)
    loaded = load_corpus(settings.corpus_dir, max_bytes=settings.max_file_bytes)
    chunks = chunk_documents(loaded.documents, embeddings, settings)
    wanted = {chunk.id for chunk in chunks}
    existing: set[str] = set()
    if start.manifest is not None and not reason and has_records(settings):
        existing = set(record_manager(settings, start.manifest.collection).list_keys())
    return _report(
        start,
        reason,
        documents=len(loaded.documents),
        chunks=len(chunks),
        chunks_added=len(wanted - existing),
        chunks_deleted=len(existing - wanted),
        chunks_unchanged=len(wanted & existing),
        skipped=[{"source": s, "reason": r} for s, r in loaded.skipped],
        dry_run=True,
    )


def _report(
    start: Survey,
    reason: str,
    *,
    documents: int,
    chunks: int,
    chunks_added: int,
    chunks_deleted: int,
    chunks_unchanged: int,
    skipped: list[Skipped],
    dry_run: bool = False,
) -> IngestReport:
    """The report of a run (or a plan) from ``start``: the files counted as changed, or,
    when the whole index is new, every document as added."""
    fresh = start.manifest is None or bool(reason)
    changes = start.changes.without({entry["source"] for entry in skipped})
    return IngestReport(
        added=documents if fresh else len(changes.added),
        updated=0 if fresh else len(changes.updated),
        deleted=0 if fresh else len(changes.deleted),
        unchanged=0 if fresh else len(changes.unchanged),
        documents=documents,
        chunks=chunks,
        chunks_added=chunks_added,
        chunks_deleted=chunks_deleted,
        chunks_unchanged=chunks_unchanged,
        skipped=skipped,
        rebuilt=bool(reason),
        rebuild_reason=reason,
        recovered=start.pending is not None,
        dry_run=dry_run,
        changes=changes,
    )


# ------------------------------------------------------------------------ a real run


def run(
    settings: Settings,
    embeddings: EmbeddingBackend | None,
    rebuild: bool,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """The ingest itself; the caller holds the ingest lock."""
    start, reason = _start(settings, rebuild, remember=True)
    report = unchanged(settings, start, reason, dry_run=False)
    if report is not None:
        log.info("nothing changed since %s", start.manifest.indexed_at)
        return report
    target = Target.choose(settings, start, reason)
    here = store_location(settings)
    documents, skipped = _read_corpus(settings, start, target)
    if settings.chroma_url:
        chroma_client(settings)  # a server that is down fails now, before the model loads
    # From here on the store changes: mark the run so a kill is noticed and finished later.
    write_pending(settings, Pending(target.collection, here, fingerprint(settings), os.getpid()))
    embeddings = embeddings or _default_embeddings(settings)
    # Shortest first: the model pads each batch to its longest text, so batches of texts of
    # about one length embed fewer padding tokens (about 17% fewer on the synthetic corpus
    # of bench/, where short sections sit between long ones; docs/benchmarks.md).
    chunks = sorted(
        chunk_documents(documents, embeddings, settings), key=lambda c: len(c.page_content)
    )
    client = open_client(settings, rebuild)
    drop_stale_collections(settings, client, keep={target.live, target.collection})
    # Everything not refreshed by this run, among the files it looked at (all of them on
    # a full pass; otherwise the added, changed and deleted ones) is stale.
    written = write_chunks(
        settings,
        target.collection,
        chunks,
        ProgressEmbeddings(embeddings, on_progress),
        full_pass=target.full_pass,
        scope=None if target.full_pass else sorted(start.changes.touched),
    )
    documents_now = len(start.files) - len(skipped)
    chunks_now = written.count - len(written.stale) - len(written.unrecorded)
    report = _report(
        start,
        reason,
        documents=documents_now,
        chunks=chunks_now,
        chunks_added=written.added,
        chunks_deleted=len(written.stale) + len(written.unrecorded),
        chunks_unchanged=chunks_now - written.added,
        skipped=skipped,
    )
    # The lexical index in one transaction: readers see its old or its new state.
    removed = written.stale + written.unrecorded
    postings.update(settings, target.collection, chunks, removed, only=target.full_pass)
    # Publish: from here on readers use the new chunks (and may still see stale ones,
    # briefly). A kill from here on leaves the pending marker, so the next run sweeps.
    _publish(settings, start, target, report)
    written.remove_stale()
    pending_path(settings).unlink(missing_ok=True)
    return report


def _read_corpus(
    settings: Settings, start: Survey, target: Target
) -> tuple[list[SourceDocument], list[Skipped]]:
    """The documents to (re)index, and every file of the corpus that is not indexed."""
    touched = start.changes.touched
    only = None if target.full_pass else touched
    loaded = load_corpus(settings.corpus_dir, only, settings.max_file_bytes)
    skipped: list[Skipped] = []
    if not target.full_pass:  # files skipped before and untouched since are still skipped
        skipped = [e for e in start.manifest.skipped if e["source"] not in touched]
    skipped += [{"source": s, "reason": r} for s, r in loaded.skipped]
    if len(skipped) == len(start.files):
        raise UserError(
            f"No readable documents in {settings.corpus_dir} (supported: .md, .txt, .html, "
            ".pdf); the existing index, if any, was left as it was."
        )
    return loaded.documents, skipped


def _publish(settings: Settings, start: Survey, target: Target, report: IngestReport) -> None:
    """Replace manifest.json (atomically): readers switch to the index it names."""
    write_manifest(
        settings,
        Manifest(
            collection=target.collection,
            fingerprint=fingerprint(settings),
            documents=report.documents,
            chunks=report.chunks,
            files=start.files,
            skipped=report.skipped,
            indexed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            store=store_location(settings),
        ),
    )
