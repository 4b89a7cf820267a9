"""The Chroma store: the client (embedded, or a Chroma server over HTTP), the collections of
the index, paged reads, search by vector, and the one translation of Chroma's failures
into the app's errors (:func:`store_error`).

Readers use the chromadb collection itself; ingest wraps it with :func:`open_store`
(langchain-chroma) for LangChain's indexing API.

chromadb, httpx and langchain-chroma are imported by the functions that use them:
app.retrieval imports this module, and the chat page imports app.retrieval as it starts.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.documents import Document

from app.config import Settings
from app.errors import StoreCorruptError, StoreMissingError, StoreUnavailableError, UserError
from app.index.manifest import Manifest, read_manifest, store_location, store_mismatch

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "privacy_qa"
COLLECTION_METADATA = {"hnsw:space": "cosine"}  # similarity by angle, as the model was trained
GET_PAGE = 5000  # chunks per request of a whole-collection read
SETTLE_ATTEMPTS = 10


# ------------------------------------------------------------------------ errors


def store_error(
    settings: Settings,
    exc: BaseException,
    *,
    connecting: bool = False,
    collection: str | None = None,
    manifest: Manifest | None = None,
    create: bool = False,
) -> UserError | None:
    """What a failure of Chroma means for the user, or None if it is not the store's.

    - The server of ``settings.chroma_url`` cannot be reached (``connecting``), or went
      away since (chromadb's HTTP client lets httpx's transport errors through as they are;
      the OpenAI client wraps its own, so such an error here comes from Chroma):
      StoreUnavailableError, naming the URL and how to start a server.
    - ``connecting`` to the embedded store failed: its directory is foreign or broken.
    - Opening ``collection`` failed: the index is in another store than the ``manifest``
      says (StoreMismatchError), else the store is broken or lacks it (StoreCorruptError).
    """
    url = settings.chroma_url
    if url and not connecting and _timed_out(exc):
        return StoreUnavailableError(
            f"The Chroma server at {url} did not answer within "
            f"{settings.chroma_read_timeout_s:g} s (PRIVACY_QA_CHROMA_READ_TIMEOUT_S): it "
            "may be hung or overloaded. Check it (restart it if it is stuck), or raise "
            "PRIVACY_QA_CHROMA_READ_TIMEOUT_S for a slow server, then try again."
        )
    if url and (connecting or _transport_error(exc)):
        return StoreUnavailableError(
            f"Cannot reach the Chroma server at {url} ({exc.__class__.__name__}: {exc}). "
            "Start it (`chroma run --path DIR --host HOST --port PORT`) or check "
            "PRIVACY_QA_CHROMA_URL, then try again."
        )
    if connecting:
        return StoreCorruptError(
            f"Cannot open the vector store in {settings.store_dir} ({exc.__class__.__name__}: "
            f"{exc}). Run `privacy-qa ingest --rebuild` to build it again (the unreadable "
            "files are moved aside, not deleted)."
        )
    if collection is None:
        return None
    if manifest is not None and manifest.store != store_location(settings):
        return store_mismatch(settings, manifest)  # another store, not a broken one
    if create:
        return StoreCorruptError(
            f"Cannot open collection {collection!r} in {settings.store_dir} "
            f"({exc.__class__.__name__}: {exc}). Run `privacy-qa ingest --rebuild`."
        )
    return StoreCorruptError(
        f"The index in {settings.data_dir} names collection {collection!r}, which the "
        f"vector store does not hold ({exc}). Run `privacy-qa ingest --rebuild`."
    )


def _timed_out(exc: BaseException) -> bool:
    """A request to the server got no (complete) answer in time; not a failed connect."""
    import httpx

    return isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout)


def _transport_error(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TransportError)


@contextmanager
def server_errors(settings: Settings) -> Iterator[None]:
    """Raise StoreUnavailableError, naming the URL and the fix, when the Chroma server of
    ``settings`` is lost inside the block (it was up when the store was opened)."""
    try:
        yield
    except Exception as exc:
        error = store_error(settings, exc)
        if error is None:
            raise
        raise error from exc


# ------------------------------------------------------------------------ opening

_OVERRIDES_LOCK = threading.Lock()


@contextmanager
def _unchecked_overrides() -> Iterator[None]:
    """chromadb marks its overriding methods with the ``overrides`` package's ``@override``,
    which checks each against its base class as the class is created (disassembling the
    caller's bytecode, comparing the signatures' type hints): about a fifth of the CPU of
    importing chromadb and making its client, 0.1-0.2 s of every cold ``ask``
    (docs/benchmarks.md). These are checks for chromadb's own developers, which a released
    chromadb passes. Within the block ``@override`` only marks the method, as the real one
    does (``EnforceOverrides`` looks for that mark); it is restored after."""
    import overrides  # noqa: F401 (chromadb's dependency; loads overrides.overrides)

    module = sys.modules.get("overrides.overrides")
    if module is None or not callable(getattr(module, "_overrides", None)):
        yield  # another version of the package: its checks run, as without this
        return
    with _OVERRIDES_LOCK:
        checked = module._overrides
        module._overrides = _mark_override
        try:
            yield
        finally:
            module._overrides = checked


def _mark_override(method, check_signature: bool, check_at_runtime: bool):
    method.__override__ = True
    return method


def chroma_client(settings: Settings, *, fresh: bool = False):
    """The Chroma client for the data dir, telemetry off.

    Chroma shares one client per path within a process, and that client keeps its vector
    index in memory: it does not see what another process (an ingest) wrote since.
    ``fresh`` starts a new one that reads the files again.
    """
    with _unchecked_overrides():  # chromadb's modules load here and as the client starts
        return _client(settings, fresh)


def _client(settings: Settings, fresh: bool):
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
        raise store_error(settings, exc, connecting=True) from exc


def _http_client(settings: Settings):
    """A client of the Chroma server at ``settings.chroma_url``, telemetry off.

    chromadb's HTTP client waits forever (no timeout, and no setting for one in chromadb
    1.5), so the server's heartbeat is checked first with a short one, later connection
    attempts get the same connect timeout, and each request then waits at most
    ``chroma_read_timeout_s`` for the server to take it and for each part of the reply
    (httpx's write, read and pool timeouts): a hung server fails, it does not block.
    """
    from urllib.parse import urlsplit

    import chromadb
    import httpx
    from chromadb.config import Settings as ChromaSettings

    url = settings.chroma_url
    timeout = settings.chroma_timeout_s
    parts = urlsplit(url)
    ssl = parts.scheme == "https"
    try:
        httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout).raise_for_status()
        client = chromadb.HttpClient(
            host=parts.hostname,
            port=parts.port or (443 if ssl else 80),
            ssl=ssl,
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
    except Exception as exc:  # no answer, or not a Chroma server
        raise store_error(settings, exc, connecting=True) from exc
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(settings.chroma_read_timeout_s, connect=timeout)
    return client


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
        collection = manifest.collection
    client = chroma_client(settings, fresh=fresh)
    try:
        if create:
            return client.get_or_create_collection(collection, metadata=COLLECTION_METADATA)
        return client.get_collection(collection)
    except Exception as exc:  # chromadb.errors.NotFoundError, a broken dir, a lost server
        raise store_error(
            settings, exc, collection=collection, manifest=manifest, create=create
        ) from exc


def holds_collection(settings: Settings, name: str) -> bool:
    """Whether the store of ``settings`` holds the collection ``name``."""
    from chromadb.errors import NotFoundError

    try:
        chroma_client(settings).get_collection(name)
    except NotFoundError:
        return False
    return True


def open_store(settings: Settings, embeddings, collection):
    """A collection (from :func:`open_collection`) as a LangChain vector store, for the
    indexing API. ``embeddings``: what LangChain's ``Embeddings`` has (``embed_documents``,
    ``embed_query``), e.g. app/index/writer.py's ``ProgressEmbeddings``."""
    from langchain_chroma import Chroma

    return Chroma(
        collection_name=collection.name,
        embedding_function=embeddings,
        client=chroma_client(settings),
        collection_metadata=COLLECTION_METADATA,
    )


# ------------------------------------------------------------------------ reading


def nearest(collection, vector: list[float], k: int) -> list[tuple[str, float]]:
    """The ids of the ``k`` chunks nearest to ``vector`` with their cosine distances,
    nearest first. Only ids: reading every candidate's text and metadata tripled a
    query's cost (2.5 against 0.8 ms for 20 of 30 chunks); :func:`get_chunks` reads the
    few that are answered from."""
    got = collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
    return list(zip(got["ids"][0], got["distances"][0], strict=True))


def get_chunks(collection, ids: list[str]) -> dict[str, Document]:
    """The chunks of ``ids`` still in the collection, by id."""
    found: dict[str, Document] = {}
    for i in range(0, len(ids), GET_PAGE):
        got = collection.get(ids=ids[i : i + GET_PAGE], include=["documents", "metadatas"])
        found.update((chunk.id, chunk) for chunk in _documents(got))
    return found


def get_with_vectors(
    collection, ids: list[str], vectors: bool = True
) -> dict[str, tuple[Document, list[float] | None]]:
    """The chunks of ``ids`` still stored, with their stored vectors (None unless
    ``vectors``: reading them costs a third of the read), by id (one read)."""
    include = ["documents", "metadatas"] + (["embeddings"] if vectors else [])
    got = collection.get(ids=ids, include=include)
    if not vectors:
        return {chunk.id: (chunk, None) for chunk in _documents(got)}
    stored = dict(zip(got["ids"], got["embeddings"], strict=True))
    return {chunk.id: (chunk, list(stored[chunk.id])) for chunk in _documents(got)}


def chunks_of_source(collection, source: str) -> list[Document]:
    """Every chunk of one document, in the collection's order, a page at a time."""
    out: list[Document] = []
    offset = 0
    while True:
        got = collection.get(
            where={"source": source},
            include=["documents", "metadatas"],
            limit=GET_PAGE,
            offset=offset,
        )
        if not got["ids"]:
            return out
        out.extend(_documents(got))
        offset += len(got["ids"])


def _documents(got) -> Iterator[Document]:
    """The chunks of a Chroma ``get`` result, as Documents (an id without text left out)."""
    for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
        if text is not None:
            yield Document(id=id_, page_content=text, metadata=meta or {})


def load_all_chunks(collection) -> list[Document]:
    """Every chunk in the collection, each once, for lexical (BM25) search and index status.

    Read a page at a time (see :func:`pages`), and pages are offsets, not a snapshot:
    chunks another process deletes meanwhile (an ingest removing stale chunks just after
    publishing, while a reader opens the new index) move the later ones to lower offsets,
    and the next page starts past some of them. The collection's count tells: if it
    changed during the read, the ids are listed again (ids only, cheap) until a listing saw
    no change, the chunks the pages missed are fetched by id and those deleted since are
    left out. (Adds and deletes that cancel out leave the count alone, but only between
    an ingest's adds and its publishing the manifest, and a reader whose read overlaps a
    publish reloads at its next question anyway.)
    """

    def read(got) -> None:
        for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            chunks[id_] = Document(id=id_, page_content=text, metadata=meta or {})

    chunks: dict[str, Document] = {}
    before = collection.count()
    for got in pages(collection, ["documents", "metadatas"]):
        read(got)
    if collection.count() == before:
        return list(chunks.values())
    log.info("the collection changed while it was read; checking which chunks it holds")
    ids = _settled_ids(collection)
    missing = [id_ for id_ in ids if id_ not in chunks]
    for i in range(0, len(missing), GET_PAGE):
        read(collection.get(ids=missing[i : i + GET_PAGE], include=["documents", "metadatas"]))
    return [chunks[id_] for id_ in ids if id_ in chunks]  # one deleted meanwhile is gone


def _settled_ids(collection) -> list[str]:
    """The ids of the collection from a listing during which its count did not change
    (or the last of SETTLE_ATTEMPTS listings, if deletes kept going all along)."""
    for _ in range(SETTLE_ATTEMPTS):
        before = collection.count()
        ids = list(dict.fromkeys(all_ids(collection)))
        if collection.count() == before:
            return ids
    log.warning(
        "the collection kept changing while it was read; lexical search may miss a few "
        "chunks until the index is reopened"
    )
    return ids


def pages(collection, include: list[str]) -> Iterator[dict]:
    """The whole collection, a page at a time: one ``get`` of everything fails beyond about
    30k chunks ("too many SQL variables" in Chroma's SQLite)."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=GET_PAGE, offset=offset)
        if not got["ids"]:
            return
        yield got
        offset += len(got["ids"])


def all_ids(collection) -> list[str]:
    """Every chunk id of the collection, read a page at a time."""
    return [id_ for got in pages(collection, []) for id_ in got["ids"]]
