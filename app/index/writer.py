"""Writing one generation of the index: open the client (moving an unreadable store aside
on a rebuild), drop the generations no reader can be using, add the new chunks through
LangChain's indexing API, and remove the stale ones once the new manifest is published.

app/index/ingest.py decides what to write and publishes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.indexing import index

from app.config import Settings
from app.embeddings import EmbeddingBackend
from app.errors import StoreCorruptError
from app.index import postings
from app.index.chroma import COLLECTION_PREFIX, chroma_client, open_collection, open_store
from app.index.records import (
    count_recorded,
    forget_collection,
    forget_missing,
    record_manager,
    slices,
    stale_keys,
    unrecorded_ids,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 64  # chunks per call of the indexing API (one embedding batch)

Progress = Callable[[int, int], None]


def open_client(settings: Settings, rebuild: bool):
    """The Chroma client; with ``rebuild``, an unreadable store is moved aside first."""
    try:
        return chroma_client(settings)
    except StoreCorruptError:
        if not rebuild:
            raise
    _move_aside(settings.store_dir)
    # Its records describe the store set aside (a shared record_db_url is left alone).
    if not settings.record_db_url and settings.record_db_path.exists():
        _move_aside(settings.record_db_path)
    return chroma_client(settings, fresh=True)  # not the cached client of the broken dir


def _move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.unreadable-{datetime.now(UTC):%Y%m%d%H%M%S}")
    path.rename(aside)
    log.warning("moved unreadable %s aside to %s", path, aside)
    return aside


def drop_stale_collections(settings: Settings, client, keep: set[str | None]) -> None:
    """Drop earlier generations (and their records) that no reader can be using any more."""
    for name in [c.name for c in client.list_collections()]:
        if name.startswith(COLLECTION_PREFIX) and name not in keep:
            log.info("dropping old index generation %s", name)
            client.delete_collection(name)
            forget_collection(settings, name)
            postings.drop(settings, name)


class ProgressEmbeddings:
    """Wraps a backend to report ``on_progress(done, total)`` as the indexing API embeds
    batches (``total``: the chunks to embed, set by :func:`write_chunks`)."""

    def __init__(self, inner: EmbeddingBackend, on_progress: Progress | None):
        self.inner, self.on_progress = inner, on_progress
        self.done = self.total = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.inner.embed_documents(texts)
        self.done += len(texts)
        if self.on_progress:
            self.on_progress(self.done, self.total)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@dataclass
class Written:
    """What a run wrote, and the chunks to remove once the new manifest is published."""

    store: object  # the langchain-chroma store
    records: object  # the record manager
    added: int  # chunks embedded and stored
    count: int  # chunks in the collection now
    stale: list[str]  # chunks of the files looked at that this run did not refresh
    unrecorded: list[str]  # chunks no record claims (a full pass only)

    def remove_stale(self) -> None:
        for part in slices(self.stale):  # the vectors first, then their records
            self.store.delete(ids=part)
            self.records.delete_keys(part)
        if self.unrecorded:
            log.info("removing %d chunks left by an interrupted ingest", len(self.unrecorded))
            self.store.delete(ids=self.unrecorded)


def write_chunks(
    settings: Settings,
    collection_name: str,
    chunks: list[Document],
    embeddings: ProgressEmbeddings,
    *,
    full_pass: bool,
    scope: list[str] | None,
) -> Written:
    """Add the new chunks through the indexing API and find the stale ones: those recorded
    for the sources in ``scope`` (all of them if None) that this run did not refresh.
    ``full_pass``: also re-check every stored chunk against the records.

    The API adds what is new and records it, but cleans nothing up here (cleanup=None):
    its cleanup would delete a changed file's old chunks before readers switch to the new
    manifest, and a reader whose view predates the new chunks would find neither. Stale
    chunks go once the new manifest is published, found by the same record-manager query
    the API's "scoped_full"/"full" modes use.
    """
    records = record_manager(settings, collection_name)
    ids = [chunk.id for chunk in chunks]
    embeddings.total = len(ids) - count_recorded(records, ids)
    collection = open_collection(settings, collection_name, create=True)
    store = open_store(settings, embeddings, collection)
    if full_pass:
        forget_missing(collection, records)
    started_at = records.get_time()
    result = index(
        chunks,
        records,
        store,
        cleanup=None,
        source_id_key="source",
        key_encoder=lambda doc: doc.id,
        batch_size=BATCH_SIZE,
    )
    return Written(
        store=store,
        records=records,
        added=result["num_added"] + result["num_updated"],
        count=collection.count(),
        stale=stale_keys(records, scope, started_at),
        unrecorded=unrecorded_ids(collection, records) if full_pass else [],
    )
