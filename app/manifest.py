"""The index manifest, and what changed in the corpus since it was written.

``manifest.json`` in the data dir names the live index: its collection, the store holding
it, the settings fingerprint and the hash of every corpus file it was built from
(app/store.py describes the whole layout). Comparing those hashes with the corpus dir's tells
an ingest what to do, and a no-op ``privacy-qa ingest`` needs nothing else. So this module
stays cheap to import: no LangChain, no Chroma and no logging (nothing here logs), and the
command line answers a no-op ingest from it alone (docs/benchmarks.md, issue 3).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from app.config import Settings
from app.corpus import CHUNKER_VERSION, corpus_files
from app.errors import StoreCorruptError

TYPE_CHECKING = False  # typing costs ~3 ms to import; a no-op ingest needs none of it
if TYPE_CHECKING:
    from typing import Any

# Version 2: one collection per generation, file hashes, pending marker.
MANIFEST_VERSION = 2


def fingerprint(settings: Settings, model_id: str | None = None) -> dict[str, Any]:
    """What must match between the store and the current settings for answers to be right."""
    return {
        "embeddings": model_id or settings.embeddings,
        "chunker": CHUNKER_VERSION,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
    }


#: ``store`` of a manifest whose collection is in data_dir/chroma (also what a manifest
#: written before the field existed means).
EMBEDDED = "embedded"


def store_location(settings: Settings) -> str:
    """Which store this process reads and writes: the Chroma server's URL, or "embedded"."""
    return settings.chroma_url or EMBEDDED


def built_in(manifest: dict[str, Any]) -> str:
    """The store holding a manifest's index: "embedded" or a Chroma server's URL."""
    return manifest.get("store") or EMBEDDED


def describe(location: str, settings: Settings) -> str:
    """A store location in words, for messages."""
    if location == EMBEDDED:
        return f"the embedded store in {settings.store_dir}"
    return f"the Chroma server at {location}"


# ------------------------------------------------------------------ manifest and markers


def read_manifest(settings: Settings) -> dict[str, Any] | None:
    """The live index's manifest, or None if there is none. Raises StoreCorruptError."""
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


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    # A temporary name of this process's own: the file-hash cache is written without the
    # ingest lock, possibly by two processes at once.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)  # atomic: readers see the old or the new file, never half of one


def pending_path(settings: Settings) -> Path:
    return settings.data_dir / "ingest.pending"


def read_pending(settings: Settings) -> dict[str, Any] | None:
    try:
        pending = json.loads(pending_path(settings).read_text(encoding="utf-8"))
        return pending if isinstance(pending, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # a marker cut short by a kill still says "interrupted"


# ------------------------------------------------------------------ what changed


# A file changed this recently may change again within the same file-system timestamp
# tick (1 ms to 2 s, by file system) without its stat showing it, so its hash is not cached.
SETTLE_NS = 2_000_000_000


def hash_files(
    corpus_dir: Path, cache: Path | None = None, *, update_cache: bool = True
) -> dict[str, str]:
    """sha256 of every file under the corpus dir, by source name.

    Unsupported and unreadable files are included (an unreadable one hashes to ""), so
    adding, fixing or removing them counts as a change and they are reported as skipped.

    With ``cache`` (a JSON file, rewritten if ``update_cache``), a file whose size, mtime,
    ctime and inode are those the cache recorded with its hash is not read again, as git
    and make trust a file's stat. Any write changes the ctime, which no tool can set back,
    and files changed less than SETTLE_NS before they were looked at are never cached: so a
    cached hash is always the file's. It keeps a no-op ingest from reading every file (and
    from importing hashlib, ~4 ms).
    """
    known = _read_cache(cache) if cache is not None else {}
    remembered: dict[str, list] = {}
    hashes = {}
    for source, path in corpus_files(corpus_dir):
        looked_at = time.time_ns()
        try:
            stat = path.stat()
            signature = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
            entry = known.get(source)
            if isinstance(entry, list) and len(entry) == 5 and entry[:4] == signature:
                hashes[source] = entry[4]
            else:
                hashes[source] = _sha256(path.read_bytes())
        except OSError:
            hashes[source] = ""
            continue
        if looked_at - max(stat.st_mtime_ns, stat.st_ctime_ns) > SETTLE_NS:
            remembered[source] = [*signature, hashes[source]]
    if cache is not None and update_cache and remembered != known and cache.parent.is_dir():
        write_json_atomically(cache, remembered)
    return hashes


def _sha256(data: bytes) -> str:
    import hashlib  # here: with the cache warm, a no-op ingest hashes nothing

    return hashlib.sha256(data).hexdigest()


def _read_cache(path: Path) -> dict[str, list]:
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or cut short: only a cache, hash again
        return {}
    return cache if isinstance(cache, dict) else {}


def _cache(settings: Settings) -> Path | None:
    """The file-hash cache, kept only beside an index (a first ingest creates the dir)."""
    return settings.hash_cache_path if settings.manifest_path.exists() else None


# Plain classes rather than dataclasses here and in app/corpus.py: importing dataclasses
# (and the inspect module it pulls in) costs every no-op ingest ~7 ms (docs/benchmarks.md).


class Changes:
    """Files of the corpus compared with the ones the live index was built from."""

    def __init__(
        self,
        added: list[str] | None = None,
        updated: list[str] | None = None,
        deleted: list[str] | None = None,
        unchanged: list[str] | None = None,
    ) -> None:
        self.added = added or []
        self.updated = updated or []
        self.deleted = deleted or []
        self.unchanged = unchanged or []

    def __repr__(self) -> str:
        return f"Changes({vars(self)})"

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    @classmethod
    def between(cls, before: dict[str, str], now: dict[str, str]) -> Changes:
        return cls(
            added=sorted(now.keys() - before.keys()),
            updated=sorted(s for s in now.keys() & before.keys() if now[s] != before[s]),
            deleted=sorted(before.keys() - now.keys()),
            unchanged=sorted(s for s in now.keys() & before.keys() if now[s] == before[s]),
        )


class IndexStatus:
    """What the live index holds, for the UI's sidebar."""

    def __init__(
        self,
        exists: bool,
        documents: int = 0,
        chunks: int = 0,
        embeddings: str = "",
        indexed_at: str | None = None,
        changes: Changes | None = None,
        interrupted: bool = False,  # an ingest was killed and has not been finished since
        store: str = EMBEDDED,  # where its vectors are: "embedded" or a Chroma server's URL
    ) -> None:
        self.exists, self.documents, self.chunks = exists, documents, chunks
        self.store = store
        self.embeddings, self.indexed_at = embeddings, indexed_at
        self.changes = changes or Changes()
        self.interrupted = interrupted

    def __repr__(self) -> str:
        return f"IndexStatus({vars(self)})"


def index_status(settings: Settings) -> IndexStatus:
    """What the live index holds and which files changed since; cheap (hashes files only)."""
    manifest = read_manifest(settings)
    now = hash_files(settings.corpus_dir, _cache(settings)) if settings.corpus_dir.is_dir() else {}
    interrupted = read_pending(settings) is not None
    if manifest is None or manifest.get("version") != MANIFEST_VERSION:
        return IndexStatus(
            exists=False, changes=Changes(added=sorted(now)), interrupted=interrupted
        )
    return IndexStatus(
        exists=True,
        documents=manifest["documents"],
        chunks=manifest["chunks"],
        embeddings=manifest["fingerprint"]["embeddings"],
        indexed_at=manifest.get("indexed_at"),
        changes=Changes.between(manifest.get("files", {}), now),
        interrupted=interrupted,
        store=built_in(manifest),
    )


class IngestReport:
    """What an ingest changed (with ``dry_run``: would change). ``added`` to ``unchanged``
    count documents (files); ``documents`` and ``chunks`` are the index afterwards."""

    def __init__(
        self,
        *,
        added: int = 0,
        updated: int = 0,
        deleted: int = 0,
        unchanged: int = 0,
        documents: int = 0,
        chunks: int = 0,
        chunks_added: int = 0,
        chunks_deleted: int = 0,
        chunks_unchanged: int = 0,
        skipped: list[dict[str, str]] | None = None,
        rebuilt: bool = False,
        rebuild_reason: str = "",
        recovered: bool = False,  # finished the work of an interrupted ingest
        dry_run: bool = False,
        seconds: float = 0.0,
        changes: Changes | None = None,
    ) -> None:
        self.added, self.updated, self.deleted, self.unchanged = added, updated, deleted, unchanged
        self.documents, self.chunks = documents, chunks
        self.chunks_added, self.chunks_deleted = chunks_added, chunks_deleted
        self.chunks_unchanged = chunks_unchanged
        self.skipped = skipped or []
        self.rebuilt, self.rebuild_reason, self.recovered = rebuilt, rebuild_reason, recovered
        self.dry_run, self.seconds = dry_run, seconds
        self.changes = changes or Changes()

    def __repr__(self) -> str:
        return f"IngestReport({self.to_dict()})"

    def to_dict(self) -> dict[str, Any]:
        """Every field, ``changes`` as a dict of its lists (the ``ingest --json`` object)."""
        return {**vars(self), "changes": dict(vars(self.changes))}


# ------------------------------------------------------------- where an ingest starts


def _previous(settings: Settings, rebuild: bool) -> dict[str, Any] | None:
    try:
        manifest = read_manifest(settings)
    except StoreCorruptError:
        if not rebuild:
            raise
        return None
    if manifest is not None and manifest.get("version") != MANIFEST_VERSION:
        return None  # an older format: rebuilt like a first ingest
    return manifest


def rebuild_reason(settings: Settings, manifest: dict[str, Any] | None, rebuild: bool) -> str:
    if rebuild:
        return "requested with --rebuild"
    if manifest is not None and manifest["fingerprint"] != fingerprint(settings):
        return "embedding model or chunking settings changed"
    if manifest is not None and not _holds_live(settings, manifest):
        before = describe(built_in(manifest), settings)
        now = describe(store_location(settings), settings)
        return f"the vector store changed: {before} -> {now}"
    return ""


def _holds_live(settings: Settings, manifest: dict[str, Any]) -> bool:
    """Whether the store of ``settings`` is the one holding the manifest's collection.

    The same location is trusted without asking (a no-op ingest opens no store). A server
    under another URL is asked: it may be the same server by another host name, or the
    server of a manifest written before the store was recorded.
    """
    here = store_location(settings)
    if built_in(manifest) == here:
        return True
    if here == EMBEDDED:
        return False
    from chromadb.errors import NotFoundError

    from app.store import chroma_client  # a server is asked only in this case

    try:
        chroma_client(settings).get_collection(manifest["collection"])
    except NotFoundError:
        return False
    return True


def survey(settings: Settings, rebuild: bool, *, remember: bool = True):
    """Where ingest starts, for a real run and a dry run alike: the live manifest, the
    corpus file hashes, what changed, why a rebuild is due ("" if not), the pending marker.
    ``remember=False`` (a dry run) leaves the file-hash cache as it is."""
    manifest = _previous(settings, rebuild)
    files = hash_files(settings.corpus_dir, _cache(settings), update_cache=remember)
    changes = Changes.between(manifest.get("files", {}) if manifest else {}, files)
    reason = rebuild_reason(settings, manifest, rebuild)
    return manifest, files, changes, reason, read_pending(settings)


def is_noop(settings, manifest, reason: str, changes: Changes, pending) -> bool:
    """Nothing to do: an index that matches the settings and the files, and no ingest to
    finish."""
    return (
        manifest is not None
        and not reason
        and not changes.changed
        and pending is None
        and (bool(settings.chroma_url) or settings.store_dir.is_dir())
    )


def noop_report(manifest: dict[str, Any], changes: Changes) -> IngestReport:
    return IngestReport(
        unchanged=len(changes.unchanged),
        documents=manifest["documents"],
        chunks=manifest["chunks"],
        chunks_unchanged=manifest["chunks"],
        skipped=manifest.get("skipped", []),
        changes=changes,
    )


def unchanged_report(settings: Settings, *, dry_run: bool = False) -> IngestReport | None:
    """The report of a no-op ingest if nothing changed since the last one, else None.

    ``privacy-qa ingest`` asks this first, so a no-op run imports nothing of a real ingest
    (app/store.py, which repeats the check under the ingest lock before it writes).
    """
    if not settings.corpus_dir.is_dir():
        return None  # app.store.ingest says what is wrong
    manifest = read_manifest(settings)
    if manifest is None or built_in(manifest) != store_location(settings):
        # A first ingest, or a server to ask whether it holds the index: app.store.ingest
        # does that, with its handling of a server that is down.
        return None
    manifest, _files, changes, reason, pending = survey(settings, False, remember=not dry_run)
    if not is_noop(settings, manifest, reason, changes, pending):
        return None
    report = noop_report(manifest, changes)
    report.dry_run = dry_run
    return report
