"""The vector store (Chroma, through langchain-chroma) and the ingest that fills it.

Layout under ``settings.data_dir``::

    chroma/          Chroma's persistent files (collection "privacy_qa", cosine space)
    records.sqlite   LangChain record manager: which chunk ids each document produced
    manifest.json    what built the store: embedding model, chunking settings, counts

Ingest goes through LangChain's indexing API so unchanged chunks (same id) are not
re-embedded and chunks of changed or deleted files are removed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from langchain_core.documents import Document

from app.config import Settings
from app.corpus import CHUNKER_VERSION, chunk_document, load_corpus
from app.embeddings import EmbeddingBackend
from app.errors import StoreCorruptError, StoreMismatchError, StoreMissingError, UserError

log = logging.getLogger(__name__)

COLLECTION = "privacy_qa"
MANIFEST_VERSION = 1


def fingerprint(settings: Settings, model_id: str) -> dict[str, Any]:
    """What must match between the store and the current settings for answers to be right."""
    return {
        "embeddings": model_id,
        "chunker": CHUNKER_VERSION,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
    }


def read_manifest(settings: Settings) -> dict[str, Any] | None:
    path = settings.manifest_path
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or "fingerprint" not in manifest:
            raise ValueError("no fingerprint")
    except (OSError, ValueError) as exc:
        raise StoreCorruptError(
            f"The index manifest {path} is unreadable ({exc}). "
            "Run `privacy-qa ingest --rebuild` to build the index again."
        ) from exc
    return manifest


def _write_manifest(settings: Settings, manifest: dict[str, Any]) -> None:
    tmp = settings.manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(settings.manifest_path)  # atomic: readers see the old or the new manifest


def check_store(settings: Settings, model_id: str) -> dict[str, Any]:
    """Return the manifest if the store exists and matches the settings; raise otherwise."""
    manifest = read_manifest(settings)
    if manifest is None or not settings.store_dir.exists():
        raise StoreMissingError(
            f"No index found in {settings.data_dir}: run `privacy-qa ingest` first."
        )
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


def open_store(settings: Settings, embeddings: EmbeddingBackend):
    """Open (creating if needed) the Chroma collection, telemetry off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    settings.store_dir.mkdir(parents=True, exist_ok=True)
    try:
        client = chromadb.PersistentClient(
            path=str(settings.store_dir),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
        return Chroma(
            collection_name=COLLECTION,
            embedding_function=embeddings,
            client=client,
            collection_metadata={"hnsw:space": "cosine"},
        )
    except Exception as exc:  # chromadb raises assorted errors for a foreign/corrupt dir
        raise StoreCorruptError(
            f"Cannot open the vector store in {settings.store_dir} ({exc.__class__.__name__}: "
            f"{exc}). Run `privacy-qa ingest --rebuild` to build it again."
        ) from exc


def load_all_chunks(store) -> list[Document]:
    """Every chunk in the store, for lexical (BM25) search and index status."""
    got = store.get(include=["documents", "metadatas"])
    return [
        Document(id=id_, page_content=text, metadata=meta or {})
        for id_, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    ]


def _record_manager(settings: Settings):
    from langchain_classic.indexes import SQLRecordManager

    manager = SQLRecordManager(
        namespace=f"chroma/{COLLECTION}", db_url=f"sqlite:///{settings.record_db_path}"
    )
    manager.create_schema()
    return manager


@dataclass
class IngestReport:
    documents: int
    chunks: int
    chunks_added: int
    chunks_deleted: int
    chunks_unchanged: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    rebuilt: bool = False
    rebuild_reason: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _CountingEmbeddings(EmbeddingBackend):
    """Wraps a backend to report progress as the indexing API embeds batches."""

    def __init__(self, inner: EmbeddingBackend, on_batch: Callable[[int], None]):
        self.inner, self.on_batch = inner, on_batch
        self.model_id, self.max_input_tokens = inner.model_id, inner.max_input_tokens

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.inner.embed_documents(texts)
        self.on_batch(len(texts))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def ingest(
    settings: Settings,
    embeddings: EmbeddingBackend,
    *,
    rebuild: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Make the store match the corpus dir. ``on_progress(done, total)`` follows embedding."""
    from langchain_core.indexing import index

    started = time.perf_counter()
    if not settings.corpus_dir.is_dir():
        raise UserError(
            f"Corpus dir {settings.corpus_dir} does not exist: create it and add documents, "
            "or set PRIVACY_QA_CORPUS_DIR."
        )
    loaded = load_corpus(settings.corpus_dir)
    if not loaded.documents:
        raise UserError(
            f"No readable documents in {settings.corpus_dir} (supported: .md, .txt, .html, .pdf); "
            "the existing index, if any, was left as it was."
        )
    chunks = [
        chunk
        for doc in loaded.documents
        for chunk in chunk_document(
            doc,
            embeddings.count_tokens,
            embeddings.max_input_tokens,
            settings.chunk_tokens,
            settings.chunk_overlap_tokens,
        )
    ]

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    wanted = fingerprint(settings, embeddings.model_id)
    reason = "requested with --rebuild" if rebuild else ""
    try:
        previous = read_manifest(settings)
    except StoreCorruptError:
        if not rebuild:
            raise
        previous = None
    if previous is not None and previous["fingerprint"] != wanted and not reason:
        reason = "embedding model or chunking settings changed"

    done = 0

    def on_batch(count: int) -> None:
        nonlocal done
        done += count
        if on_progress:
            on_progress(done, len(chunks))

    store = open_store(settings, _CountingEmbeddings(embeddings, on_batch))
    records = _record_manager(settings)
    if reason:
        log.warning("rebuilding the index: %s", reason)
        store.reset_collection()
        records.delete_keys(records.list_keys())

    result = index(
        chunks,
        records,
        store,
        cleanup="full",
        source_id_key="source",
        key_encoder=lambda doc: doc.id,
        batch_size=64,
    )
    report = IngestReport(
        documents=len(loaded.documents),
        chunks=len(chunks),
        chunks_added=result["num_added"] + result["num_updated"],
        chunks_deleted=result["num_deleted"],
        chunks_unchanged=result["num_skipped"],
        skipped=[{"source": s, "reason": r} for s, r in loaded.skipped],
        rebuilt=bool(reason),
        rebuild_reason=reason,
    )
    report.seconds = round(time.perf_counter() - started, 3)
    _write_manifest(
        settings,
        {
            "version": MANIFEST_VERSION,
            "fingerprint": wanted,
            "indexed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "documents": report.documents,
            "chunks": report.chunks,
            "sources": sorted(doc.source for doc in loaded.documents),
        },
    )
    return report
