"""The vector store (Chroma) and the ingest that keeps it in step with the corpus dir.

Ingest writes through langchain-chroma, for LangChain's indexing API; readers use the
chromadb collection itself (:func:`open_collection`).

Layout under ``settings.data_dir``::

    chroma/          Chroma's persistent files; one collection per index generation
                     (with ``chroma_url`` set, the collections live in that Chroma server)
    records.sqlite   LangChain record manager: which chunk ids each document produced
                     (or the SQL database at ``record_db_url``)
    manifest.json    the live index: its collection, the store holding it, settings
                     fingerprint, file hashes (app/manifest.py)
    file-hashes.json a cache of the corpus files' hashes by their stat (app/manifest.py)
    ingest.pending   present while an ingest writes (what it writes into); gone when done
    ingest.lock      held (flock) by the running ingest, so two never interleave

How it stays safe:

* Readers only follow ``manifest.json``, which is replaced atomically at the very end of
  an ingest. Until then they keep answering from what was there before.
* An incremental ingest adds the new chunks of changed files before it removes their old
  ones (LangChain's indexing API), so a reader sees the old or the new text, never nothing.
* A rebuild (``--rebuild``, or new embedding/chunking settings) fills a *new* collection
  and switches the manifest to it when complete; the old one is dropped by the next
  ingest. A killed rebuild leaves the live index untouched, and the next ingest resumes it.
* ``ingest.pending`` marks an interrupted run: the next ingest then re-checks every file
  and every stored chunk (``cleanup="full"`` plus a sweep of chunks no record claims)
  instead of trusting the file hashes.
* A no-op ingest only hashes files (or only stats them, once their hashes are cached): no
  model, no Chroma. ``privacy-qa ingest`` answers it from app/manifest.py alone.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.config import Settings
from app.errors import (
    ConfigError,
    IngestLockedError,
    StoreCorruptError,
    StoreMismatchError,
    StoreMissingError,
    StoreUnavailableError,
    UserError,
)
from app.manifest import (
    EMBEDDED,
    MANIFEST_VERSION,
    IngestReport,
    built_in,
    describe,
    fingerprint,
    is_noop,
    noop_report,
    pending_path,
    read_manifest,
    store_location,
    survey,
    write_json_atomically,
)

TYPE_CHECKING = False  # typing costs ~3 ms to import; a no-op ingest needs none of it
if TYPE_CHECKING:
    from typing import Any

    from langchain_core.documents import Document

    from app.embeddings import EmbeddingBackend

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "privacy_qa"
COLLECTION_METADATA = {"hnsw:space": "cosine"}  # similarity by angle, as the model was trained
BATCH_SIZE = 64


def _elsewhere(settings: Settings, manifest: dict[str, Any]) -> StoreMismatchError:
    """The index was built in another store than the one this process uses."""
    built = built_in(manifest)
    here = store_location(settings)
    why = (
        "PRIVACY_QA_CHROMA_URL is set" if settings.chroma_url else "PRIVACY_QA_CHROMA_URL is unset"
    )
    use_built = (
        "unset PRIVACY_QA_CHROMA_URL" if built == EMBEDDED else f"set PRIVACY_QA_CHROMA_URL={built}"
    )
    return StoreMismatchError(
        f"The index in {settings.data_dir} was built in {describe(built, settings)}, but "
        f"this process uses {describe(here, settings)} ({why}). Run `privacy-qa ingest` to "
        f"build the index there, or {use_built} to use the one that was built."
    )


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


# ------------------------------------------------------------------------ opening


def check_store(settings: Settings, model_id: str | None = None) -> dict[str, Any]:
    """Return the manifest if the store exists and matches the settings; raise otherwise."""
    manifest = read_manifest(settings)
    missing = StoreMissingError(
        f"No index found in {settings.data_dir}: run `privacy-qa ingest` first."
    )
    if manifest is None:
        raise missing
    if manifest.get("version") != MANIFEST_VERSION:
        raise StoreMismatchError(
            f"The index in {settings.data_dir} was built by an older privacy-qa. "
            "Reindex with `privacy-qa ingest`."
        )
    # Built in a server, asked without one: the embedded store cannot hold that index. A
    # server under another URL may be the same one by another name (each machine its own
    # host name for it): open_store asks it whether it holds the live collection.
    if built_in(manifest) != EMBEDDED and not settings.chroma_url:
        raise _elsewhere(settings, manifest)
    if not (settings.chroma_url or settings.store_dir.exists()):
        raise missing
    built_with = manifest["fingerprint"]
    wanted = fingerprint(settings, model_id)
    if built_with != wanted:
        differences = ", ".join(
            f"{key} {built_with.get(key)!r} -> {wanted[key]!r}"
            for key in wanted
            if built_with.get(key) != wanted[key]
        )
        raise StoreMismatchError(
            f"The index in {settings.data_dir} was built with other settings ({differences}). "
            "Reindex with `privacy-qa ingest`."
        )
    return manifest


def chroma_client(settings: Settings, *, fresh: bool = False):
    """The Chroma client for the data dir, telemetry off.

    Chroma shares one client per path within a process, and that client keeps its vector
    index in memory: it does not see what another process (an ingest) wrote since.
    ``fresh`` starts a new one that reads the files again.
    """
    import chromadb
    from chromadb.api.client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    if fresh:
        SharedSystemClient.clear_system_cache()  # holders of the old client keep it
    if settings.chroma_url:
        return _http_client(settings)

    try:
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(
            path=str(settings.store_dir),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
    except Exception as exc:  # chromadb raises assorted errors for a foreign/corrupt dir
        raise StoreCorruptError(
            f"Cannot open the vector store in {settings.store_dir} ({exc.__class__.__name__}: "
            f"{exc}). Run `privacy-qa ingest --rebuild` to build it again (the unreadable "
            "files are moved aside, not deleted)."
        ) from exc


def _http_client(settings: Settings):
    """A client of the Chroma server at ``settings.chroma_url``, telemetry off.

    chromadb's HTTP client waits forever (no timeout), so the server's heartbeat is checked
    first with a short one, and later connection attempts get the same connect timeout.
    """
    from urllib.parse import urlsplit

    import chromadb
    import httpx
    from chromadb.config import Settings as ChromaSettings

    url = settings.chroma_url
    timeout = settings.chroma_timeout_s

    def unavailable(exc: Exception) -> StoreUnavailableError:
        return _unavailable(url, exc)

    try:
        httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise unavailable(exc) from exc
    parts = urlsplit(url)
    ssl = parts.scheme == "https"
    try:
        client = chromadb.HttpClient(
            host=parts.hostname,
            port=parts.port or (443 if ssl else 80),
            ssl=ssl,
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
    except Exception as exc:  # the server went away or is not a Chroma server
        raise unavailable(exc) from exc
    # Long reads (a big add or get) may take a while; only connecting must be quick.
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(None, connect=timeout)
    return client


def _unavailable(url: str, exc: Exception) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"Cannot reach the Chroma server at {url} ({exc.__class__.__name__}: {exc}). "
        "Start it (`chroma run --path DIR --host HOST --port PORT`) or check "
        "PRIVACY_QA_CHROMA_URL, then try again."
    )


def _lost_server(settings: Settings, exc: BaseException) -> StoreUnavailableError | None:
    """The error to raise for ``exc`` if it says the Chroma server went away, else None."""
    if not settings.chroma_url:
        return None
    import httpx

    # chromadb's HTTP client lets httpx's errors through as they are: refused or reset
    # connections, connect timeouts, a response cut short by the server dying. (The
    # OpenAI client wraps its own transport errors in openai's exceptions, so an httpx
    # error here comes from Chroma.)
    if isinstance(exc, httpx.TransportError):
        return _unavailable(settings.chroma_url, exc)
    return None


@contextmanager
def server_errors(settings: Settings) -> Iterator[None]:
    """Raise StoreUnavailableError, naming the URL and the fix, when the Chroma server of
    ``settings`` is lost inside the block (it was up when the store was opened)."""
    try:
        yield
    except Exception as exc:
        lost = _lost_server(settings, exc)
        if lost is None:
            raise
        raise lost from exc


def open_collection(
    settings: Settings, collection: str | None = None, *, create: bool = False, fresh: bool = False
):
    """The Chroma collection of the index: the live one unless ``collection``.

    Readers get the chromadb collection itself: they only list chunks and search by a
    vector, and LangChain's wrapper would cost the chat page's start 0.5 s of imports
    (docs/benchmarks.md). Ingest wraps it with :func:`open_store`.

    Only ingest passes ``create=True``; a reader never creates an empty collection.
    ``fresh``: see :func:`chroma_client`; a reader passes it when an ingest changed the index.
    """
    manifest = None
    if collection is None:
        manifest = read_manifest(settings)
        if manifest is None:
            raise StoreMissingError(
                f"No index found in {settings.data_dir}: run `privacy-qa ingest` first."
            )
        collection = manifest["collection"]
    client = chroma_client(settings, fresh=fresh)
    try:
        if create:
            return client.get_or_create_collection(collection, metadata=COLLECTION_METADATA)
        return client.get_collection(collection)
    except Exception as exc:  # chromadb.errors.NotFoundError, or a broken dir
        lost = _lost_server(settings, exc)
        if lost is not None:  # not a broken store: the server went away meanwhile
            raise lost from exc
        if manifest is not None and built_in(manifest) != store_location(settings):
            raise _elsewhere(settings, manifest) from exc  # another store, not a broken one
        if create:
            raise StoreCorruptError(
                f"Cannot open collection {collection!r} in {settings.store_dir} "
                f"({exc.__class__.__name__}: {exc}). Run `privacy-qa ingest --rebuild`."
            ) from exc
        raise StoreCorruptError(
            f"The index in {settings.data_dir} names collection {collection!r}, which the "
            f"vector store does not hold ({exc}). Run `privacy-qa ingest --rebuild`."
        ) from exc


def open_store(settings: Settings, embeddings: EmbeddingBackend, collection):
    """A collection (from :func:`open_collection`) as a LangChain vector store, for the
    indexing API."""
    from langchain_chroma import Chroma

    return Chroma(
        collection_name=collection.name,
        embedding_function=embeddings,
        client=chroma_client(settings),
        collection_metadata=COLLECTION_METADATA,
    )


def search_by_vector(collection, vector: list[float], k: int) -> list[tuple[Document, float]]:
    """The ``k`` chunks nearest to ``vector`` with their cosine distances, nearest first,
    as langchain-chroma's ``similarity_search_by_vector_with_relevance_scores`` gives them:
    a chunk deleted while Chroma searched (its text gone) is left out."""
    from langchain_core.documents import Document

    got = collection.query(
        query_embeddings=[vector], n_results=k, include=["documents", "metadatas", "distances"]
    )
    return [
        (Document(id=id_, page_content=text, metadata=meta or {}), distance)
        for id_, text, meta, distance in zip(
            got["ids"][0],
            got["documents"][0],
            got["metadatas"][0],
            got["distances"][0],
            strict=True,
        )
        if text is not None
    ]


def load_all_chunks(collection) -> list[Document]:
    """Every chunk in the collection, each once, for lexical (BM25) search and index status.

    Read a page at a time (see :func:`_pages`), and pages are offsets, not a snapshot:
    chunks another process deletes meanwhile (an ingest removing stale chunks just after
    publishing, while a reader opens the new index) move the later ones to lower offsets,
    and the next page starts past some of them. The collection's count tells: if it
    changed during the read, the ids are listed again (ids only, cheap) until a listing saw
    no change, the chunks the pages missed are fetched by id and those deleted since are
    left out. (Adds and deletes that cancel out leave the count alone, but only between
    an ingest's adds and its publishing the manifest, and a reader whose read overlaps a
    publish reloads at its next question anyway.)
    """
    from langchain_core.documents import Document

    def read(got) -> None:
        for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            chunks[id_] = Document(id=id_, page_content=text, metadata=meta or {})

    chunks: dict[str, Document] = {}
    before = collection.count()
    for got in _pages(collection, ["documents", "metadatas"]):
        read(got)
    if collection.count() == before:
        return list(chunks.values())
    log.info("the collection changed while it was read; checking which chunks it holds")
    ids = _settled_ids(collection)
    missing = [id_ for id_ in ids if id_ not in chunks]
    for i in range(0, len(missing), GET_PAGE):
        read(collection.get(ids=missing[i : i + GET_PAGE], include=["documents", "metadatas"]))
    return [chunks[id_] for id_ in ids if id_ in chunks]  # one deleted meanwhile is gone


GET_PAGE = 5000
SETTLE_ATTEMPTS = 10


def _settled_ids(collection) -> list[str]:
    """The ids of the collection from a listing during which its count did not change
    (or the last of SETTLE_ATTEMPTS listings, if deletes kept going all along)."""
    for _ in range(SETTLE_ATTEMPTS):
        before = collection.count()
        ids = list(dict.fromkeys(_all_ids(collection)))
        if collection.count() == before:
            return ids
    log.warning(
        "the collection kept changing while it was read; lexical search may miss a few "
        "chunks until the index is reopened"
    )
    return ids


def _pages(collection, include: list[str]) -> Iterator[dict[str, Any]]:
    """The whole collection, a page at a time: one ``get`` of everything fails beyond about
    30k chunks ("too many SQL variables" in Chroma's SQLite)."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=GET_PAGE, offset=offset)
        if not got["ids"]:
            return
        yield got
        offset += len(got["ids"])


def _all_ids(collection) -> list[str]:
    return [id_ for got in _pages(collection, []) for id_ in got["ids"]]


def _record_manager(settings: Settings, collection: str):
    from langchain_classic.indexes import SQLRecordManager

    try:
        manager = SQLRecordManager(namespace=f"chroma/{collection}", db_url=settings.record_db)
        manager.create_schema()
    except Exception as exc:  # a bad URL, a missing driver, an unreachable database
        if not settings.record_db_url:
            raise
        raise ConfigError(
            f"Cannot use the record manager database {settings.record_db_url} "
            f"({exc.__class__.__name__}: {exc}). Check PRIVACY_QA_RECORD_DB_URL (a SQLAlchemy "
            "URL; its driver must be installed) or unset it to use data_dir/records.sqlite."
        ) from exc
    return manager


def _has_records(settings: Settings) -> bool:
    return bool(settings.record_db_url) or settings.record_db_path.exists()


class _CountingEmbeddings:
    """Wraps a backend to report progress as the indexing API embeds batches."""

    def __init__(self, inner: EmbeddingBackend, on_batch: Callable[[int], None]):
        self.inner, self.on_batch = inner, on_batch

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.inner.embed_documents(texts)
        self.on_batch(len(texts))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def _new_collection_name() -> str:
    import secrets  # here and below: a no-op ingest writes nothing, so it needs neither
    from datetime import UTC, datetime

    return f"{COLLECTION_PREFIX}_{datetime.now(UTC):%Y%m%d%H%M%S}_{secrets.token_hex(3)}"


def _chunk(documents, embeddings: EmbeddingBackend, settings: Settings) -> list[Document]:
    from app.corpus import chunk_document

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


def _looks_like_ours(settings: Settings) -> bool:
    """An empty or missing data dir, or one with our manifest: safe to write into."""
    data_dir = settings.data_dir
    if not data_dir.exists() or settings.manifest_path.exists():
        return True
    ours = {"chroma", "records.sqlite", "ingest.lock", "ingest.pending", "tiktoken"}
    ours.add(settings.hash_cache_path.name)
    return all(entry.name in ours or entry.name.endswith(".tmp") for entry in data_dir.iterdir())


def _move_aside(path: Path) -> Path:
    from datetime import UTC, datetime

    aside = path.with_name(f"{path.name}.unreadable-{datetime.now(UTC):%Y%m%d%H%M%S}")
    path.rename(aside)
    log.warning("moved unreadable %s aside to %s", path, aside)
    return aside


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
            report = _plan(settings, embeddings, rebuild)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # A server lost mid-way leaves the pending marker: the next ingest finishes the job.
        with ingest_lock(settings), server_errors(settings):
            report = _run(settings, embeddings, rebuild, on_progress)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _default_embeddings(settings: Settings) -> EmbeddingBackend:
    from app.embeddings import make_embeddings  # only once something must be embedded

    return make_embeddings(settings)


def _plan(settings: Settings, embeddings: EmbeddingBackend | None, rebuild: bool) -> IngestReport:
    """What ``ingest`` would do, counted exactly, without writing anything."""
    from app.corpus import load_corpus

    manifest, files, changes, reason, pending = survey(settings, rebuild, remember=False)
    if is_noop(settings, manifest, reason, changes, pending):
        report = noop_report(manifest, changes)
        report.dry_run = True
        return report
    embeddings = embeddings or _default_embeddings(settings)
    loaded = load_corpus(settings.corpus_dir)
    chunks = _chunk(loaded.documents, embeddings, settings)
    wanted = {chunk.id for chunk in chunks}
    existing: set[str] = set()
    if manifest is not None and not reason and _has_records(settings):
        existing = set(_record_manager(settings, manifest["collection"]).list_keys())
    fresh = manifest is None or bool(reason)
    return IngestReport(
        added=len(loaded.documents) if fresh else len(changes.added),
        updated=0 if fresh else len(changes.updated),
        deleted=0 if fresh else len(changes.deleted),
        unchanged=0 if fresh else len(changes.unchanged),
        documents=len(loaded.documents),
        chunks=len(chunks),
        chunks_added=len(wanted - existing),
        chunks_deleted=len(existing - wanted),
        chunks_unchanged=len(wanted & existing),
        skipped=[{"source": s, "reason": r} for s, r in loaded.skipped],
        rebuilt=bool(reason),
        rebuild_reason=reason,
        recovered=pending is not None,
        dry_run=True,
        changes=changes,
    )


def _run(
    settings: Settings,
    embeddings: EmbeddingBackend | None,
    rebuild: bool,
    on_progress: Callable[[int, int], None] | None,
) -> IngestReport:
    manifest, files, changes, reason, pending = survey(settings, rebuild)
    if is_noop(settings, manifest, reason, changes, pending):
        log.info("nothing changed since %s", manifest.get("indexed_at"))
        return noop_report(manifest, changes)
    # Imported only now: a no-op ingest must not pay for langchain (about a second).
    from datetime import UTC, datetime

    from langchain_core.indexing import index

    from app.corpus import load_corpus

    wanted = fingerprint(settings)
    live = manifest["collection"] if manifest else None
    if live is None or reason:
        # A new generation; resume the one an interrupted rebuild was filling.
        resumable = (
            pending
            and pending.get("fingerprint") == wanted
            and pending.get("store", EMBEDDED) == store_location(settings)
            and pending.get("collection") not in (None, live)
        )
        target = pending["collection"] if resumable else _new_collection_name()
    else:
        target = live
    # After an interruption nothing is trusted: every file is re-read, every stored chunk
    # re-checked. Otherwise only changed files are read.
    full_pass = target != live or pending is not None
    touched = set(changes.added) | set(changes.updated) | set(changes.deleted)
    loaded = load_corpus(settings.corpus_dir, only=None if full_pass else touched)
    documents = loaded.documents
    skipped = []
    if not full_pass:  # files skipped before and untouched since are still skipped
        skipped = [e for e in manifest.get("skipped", []) if e["source"] not in touched]
    skipped += [{"source": s, "reason": r} for s, r in loaded.skipped]
    if len(skipped) == len(files):
        raise UserError(
            f"No readable documents in {settings.corpus_dir} (supported: .md, .txt, .html, "
            ".pdf); the existing index, if any, was left as it was."
        )

    if settings.chroma_url:
        chroma_client(settings)  # a server that is down fails now, before the model loads
    # From here on the store changes: mark the run so a kill is noticed and finished later.
    write_json_atomically(
        pending_path(settings),
        {
            "collection": target,
            "store": store_location(settings),
            "fingerprint": wanted,
            "pid": os.getpid(),
        },
    )
    embeddings = embeddings or _default_embeddings(settings)
    # Shortest first: the model pads each batch to its longest text, so batches of texts of
    # about one length embed fewer padding tokens (about 17% fewer on the synthetic corpus
    # of bench/, where short sections sit between long ones; docs/benchmarks.md).
    chunks = sorted(_chunk(documents, embeddings, settings), key=lambda c: len(c.page_content))

    try:
        client = chroma_client(settings)
    except StoreCorruptError:
        if not rebuild:
            raise
        _move_aside(settings.store_dir)
        # Its records describe the store set aside (a shared record_db_url is left alone).
        if not settings.record_db_url and settings.record_db_path.exists():
            _move_aside(settings.record_db_path)
        client = chroma_client(settings, fresh=True)  # not the cached client of the broken dir
    _drop_stale_collections(settings, client, keep={live, target})
    records = _record_manager(settings, target)
    ids = [chunk.id for chunk in chunks]
    # In slices: SQLite caps the number of variables in one query.
    to_embed = len(ids) - sum(
        sum(records.exists(ids[i : i + 500])) for i in range(0, len(ids), 500)
    )
    done = 0

    def on_batch(count: int) -> None:
        nonlocal done
        done += count
        if on_progress:
            on_progress(done, to_embed)

    collection = open_collection(settings, target, create=True)
    store = open_store(settings, _CountingEmbeddings(embeddings, on_batch), collection)
    if full_pass:
        _forget_missing(collection, records)
    # The indexing API adds what is new and records it, but cleans nothing up here
    # (cleanup=None): its cleanup would delete a changed file's old chunks before readers
    # switch to the new manifest, and a reader whose view predates the new chunks would
    # find neither. Stale chunks go below, once the new manifest is published, by the
    # same record-manager query the API's "scoped_full"/"full" modes use.
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
    # Everything not refreshed by this run, among the files it looked at (all of them on
    # a full pass; otherwise the added, changed and deleted ones) is stale.
    scope = None if full_pass else sorted(touched)
    stale = _stale_keys(records, scope, started_at)
    unrecorded = _unrecorded_ids(collection, records) if full_pass else []

    fresh = live is None or bool(reason)
    documents_now = len(files) - len(skipped)
    chunks_now = collection.count() - len(stale) - len(unrecorded)
    added = result["num_added"] + result["num_updated"]
    report = IngestReport(
        added=documents_now if fresh else len(changes.added),
        updated=0 if fresh else len(changes.updated),
        deleted=0 if fresh else len(changes.deleted),
        unchanged=0 if fresh else len(changes.unchanged),
        documents=documents_now,
        chunks=chunks_now,
        chunks_added=added,
        chunks_deleted=len(stale) + len(unrecorded),
        chunks_unchanged=chunks_now - added,
        skipped=skipped,
        rebuilt=bool(reason),
        rebuild_reason=reason,
        recovered=pending is not None,
        changes=changes,
    )
    # Publish: from here on readers use the new chunks (and may still see stale ones,
    # briefly). A kill from here on leaves the pending marker, so the next run sweeps.
    write_json_atomically(
        settings.manifest_path,
        {
            "version": MANIFEST_VERSION,
            "collection": target,
            "store": store_location(settings),
            "fingerprint": wanted,
            "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "documents": report.documents,
            "chunks": report.chunks,
            "files": files,
            "skipped": skipped,
        },
    )
    for i in range(0, len(stale), 500):  # the vectors first, then their records
        store.delete(ids=stale[i : i + 500])
        records.delete_keys(stale[i : i + 500])
    if unrecorded:
        log.info("removing %d chunks left by an interrupted ingest", len(unrecorded))
        store.delete(ids=unrecorded)
    pending_path(settings).unlink(missing_ok=True)
    return report


def _stale_keys(records, scope: list[str] | None, before: float) -> list[str]:
    """Chunk ids recorded for ``scope`` (all sources if None) and not refreshed since."""
    if scope is None:
        return records.list_keys(before=before)
    keys: list[str] = []
    for i in range(0, len(scope), 500):  # SQLite caps the variables of one query
        keys += records.list_keys(group_ids=scope[i : i + 500], before=before)
    return keys


def _forget_missing(collection, records) -> None:
    """Drop records of chunks the collection lacks (a run killed between deleting vectors and
    their records), so the indexing API embeds them again instead of skipping them."""
    present = set(_all_ids(collection))
    missing = [key for key in records.list_keys() if key not in present]
    if missing:
        log.info("re-adding %d chunks an interrupted ingest deleted", len(missing))
        for i in range(0, len(missing), 500):
            records.delete_keys(missing[i : i + 500])


def _unrecorded_ids(collection, records) -> list[str]:
    """Chunks no record claims: written by a run killed before it recorded them."""
    recorded = set(records.list_keys())
    return [id_ for id_ in _all_ids(collection) if id_ not in recorded]


def _drop_stale_collections(settings: Settings, client, keep: set[str | None]) -> None:
    """Drop earlier generations (and their records) that no reader can be using any more."""
    for name in [c.name for c in client.list_collections()]:
        if name.startswith(COLLECTION_PREFIX) and name not in keep:
            log.info("dropping old index generation %s", name)
            client.delete_collection(name)
            records = _record_manager(settings, name)
            records.delete_keys(records.list_keys())
