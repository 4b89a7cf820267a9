"""What changed in the corpus since the index was built, and whether an ingest has
anything to do: :func:`unchanged` is the one "nothing changed?" decision, which the
command line's fast path (:func:`unchanged_report`, through ``app.qa``) and the ingest
under its lock (app/index/ingest.py) both make.

Cheap to import, like app/index/manifest.py: a no-op ``privacy-qa ingest`` imports
nothing else of the index (tests/test_startup.py names what it must not import).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from app.config import Settings
from app.corpus_files import corpus_files, read_corpus_file
from app.errors import StoreCorruptError
from app.index.manifest import (
    EMBEDDED,
    MANIFEST_VERSION,
    CachedHash,
    Changes,
    IndexStatus,
    IngestReport,
    Manifest,
    Survey,
    describe,
    fingerprint,
    lexical_path,
    read_hash_cache,
    read_manifest,
    read_pending,
    store_location,
    write_json_atomically,
)

# A file changed this recently may change again within the same file-system timestamp
# tick (1 ms to 2 s, by file system) without its stat showing it, so its hash is not cached.
SETTLE_NS = 2_000_000_000


def hash_files(
    corpus_dir: Path,
    cache: Path | None = None,
    *,
    update_cache: bool = True,
    max_bytes: int | None = None,
) -> dict[str, str]:
    """sha256 of every file under the corpus dir, by source name.

    Unsupported and unreadable files are included (an unreadable one hashes to "", one
    that must not be read, app/corpus_files.py, to "skipped: <reason>"), so adding,
    fixing or removing them counts as a change and they are reported as skipped. Nothing
    but a regular file inside the corpus dir of at most ``max_bytes`` is read.

    With ``cache`` (a JSON file, rewritten if ``update_cache``), a file whose size, mtime,
    ctime and inode are those the cache recorded with its hash is not read again, as git
    and make trust a file's stat. Any write changes the ctime, which no tool can set back,
    and files changed less than SETTLE_NS before they were looked at are never cached: so a
    cached hash is always the file's. It keeps a no-op ingest from reading every file (and
    from importing hashlib).
    """
    known = read_hash_cache(cache) if cache is not None else {}
    remembered: dict[str, CachedHash] = {}
    hashes = {}
    for source, path in corpus_files(corpus_dir):
        looked_at = time.time_ns()
        try:
            stat = path.stat()
            entry = known.get(source)
            signature = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
            if entry is not None and signature == entry.signature:
                hashes[source] = entry.sha256
            else:
                hashes[source] = _sha256(read_corpus_file(path, corpus_dir, max_bytes))
        except OSError:
            hashes[source] = ""
            continue
        except ValueError as exc:
            hashes[source] = f"skipped: {exc}"
            continue
        if looked_at - max(stat.st_mtime_ns, stat.st_ctime_ns) > SETTLE_NS:
            remembered[source] = CachedHash(*signature, hashes[source])
    if cache is not None and update_cache and remembered != known and cache.parent.is_dir():
        write_json_atomically(cache, {s: e.to_json() for s, e in remembered.items()})
    return hashes


def _sha256(data: bytes) -> str:
    import hashlib  # here: with the cache warm, a no-op ingest hashes nothing

    return hashlib.sha256(data).hexdigest()


def _cache(settings: Settings) -> Path | None:
    """The file-hash cache, kept only beside an index (a first ingest creates the dir)."""
    return settings.hash_cache_path if settings.manifest_path.exists() else None


# ------------------------------------------------------------------ what changed


def index_status(settings: Settings) -> IndexStatus:
    """What the live index holds and which files changed since; cheap (hashes files only)."""
    manifest = read_manifest(settings)
    now = {}
    if settings.corpus_dir.is_dir():
        now = hash_files(settings.corpus_dir, _cache(settings), max_bytes=settings.max_file_bytes)
    interrupted = read_pending(settings) is not None
    if manifest is None or manifest.version != MANIFEST_VERSION:
        return IndexStatus(
            exists=False, changes=Changes(added=sorted(now)), interrupted=interrupted
        )
    return IndexStatus(
        exists=True,
        documents=manifest.documents,
        chunks=manifest.chunks,
        embeddings=manifest.fingerprint["embeddings"],
        indexed_at=manifest.indexed_at,
        changes=Changes.between(manifest.files, now),
        interrupted=interrupted,
        store=manifest.store,
    )


def previous(settings: Settings, rebuild: bool) -> Manifest | None:
    """The manifest an ingest starts from; an unreadable one only with ``rebuild`` (None)."""
    try:
        manifest = read_manifest(settings)
    except StoreCorruptError:
        if not rebuild:
            raise
        return None
    if manifest is not None and manifest.version != MANIFEST_VERSION:
        return None  # an older format: rebuilt like a first ingest
    return manifest


def survey(settings: Settings, manifest: Manifest | None, *, remember: bool = True) -> Survey:
    """``remember=False`` (a dry run) leaves the file-hash cache as it is."""
    files = hash_files(
        settings.corpus_dir,
        _cache(settings),
        update_cache=remember,
        max_bytes=settings.max_file_bytes,
    )
    changes = Changes.between(manifest.files if manifest else {}, files)
    return Survey(manifest, files, changes, read_pending(settings))


def rebuild_reason(
    settings: Settings,
    manifest: Manifest | None,
    rebuild: bool,
    holds_collection: Callable[[str], bool] | None = None,
) -> str:
    """Why the ingest must fill a new generation ("" if it need not).

    The store of ``settings`` holds the manifest's index if it is at the manifest's
    location (trusted without asking: a no-op ingest opens no store), or if it is a
    server under another URL for which ``holds_collection(name)`` says yes (the same
    server by another host name, or that of a manifest written before the store was
    recorded). Without ``holds_collection`` such a server counts as another store.
    """
    if rebuild:
        return "requested with --rebuild"
    if manifest is None:
        return ""
    if manifest.fingerprint != fingerprint(settings):
        return "embedding model or chunking settings changed"
    here = store_location(settings)
    if manifest.store == here:
        return ""
    asked = here != EMBEDDED and holds_collection is not None
    if asked and holds_collection(manifest.collection):
        return ""
    before = describe(manifest.store, settings)
    return f"the vector store changed: {before} -> {describe(here, settings)}"


def unchanged(
    settings: Settings, start: Survey, reason: str, *, dry_run: bool
) -> IngestReport | None:
    """The report of an ingest with nothing to do, else None: an index that matches the
    settings (no rebuild ``reason``) and the files, and no interrupted ingest to finish.
    The one "nothing changed?" decision, for the fast path and under the ingest lock."""
    manifest = start.manifest
    if (
        manifest is None
        or reason
        or start.changes.changed
        or start.pending is not None
        or not (settings.chroma_url or settings.store_dir.is_dir())
        # An index from before the lexical index on disk: the run writes it (a full pass).
        or not lexical_path(settings, manifest.collection).exists()
    ):
        return None
    return IngestReport(
        unchanged=len(start.changes.without({e["source"] for e in manifest.skipped}).unchanged),
        documents=manifest.documents,
        chunks=manifest.chunks,
        chunks_unchanged=manifest.chunks,
        skipped=manifest.skipped,
        dry_run=dry_run,
        changes=start.changes,
    )


def unchanged_report(settings: Settings, *, dry_run: bool = False) -> IngestReport | None:
    """The report of a no-op ingest if nothing changed since the last one, else None.

    Opens no store and imports nothing of a real ingest: ``privacy-qa ingest`` asks this
    first. app.index.ingest repeats :func:`unchanged` under the ingest lock.
    """
    if not settings.corpus_dir.is_dir():
        return None  # app.index.ingest says what is wrong
    manifest = previous(settings, rebuild=False)
    if manifest is None or manifest.store != store_location(settings):
        # A first ingest, or a server to ask whether it holds the index: app.index.ingest
        # does that, with its handling of a server that is down.
        return None
    start = survey(settings, manifest, remember=not dry_run)
    return unchanged(settings, start, rebuild_reason(settings, manifest, False), dry_run=dry_run)
