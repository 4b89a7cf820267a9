"""The index's records on disk, typed: the manifest, the pending marker, the file-hash
cache; and what an ingest reports (:class:`Changes`, :class:`IndexStatus`,
:class:`IngestReport`).

``manifest.json`` in the data dir names the live index (:class:`Manifest`): its collection,
the store holding it, the settings fingerprint and the hash of every corpus file it was
built from (app/index/__init__.py describes the whole layout). Reading and writing keep the
JSON files as they were (same keys). :func:`check_store` tells a reader whether the index
matches its settings.

Cheap to import: no LangChain, no Chroma and no logging (nothing here logs), since a no-op
``privacy-qa ingest`` is answered from this module and app/index/changes.py alone
(tests/test_startup.py names what it must not import).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypedDict

from app.config import Settings
from app.corpus import CHUNKER_VERSION
from app.errors import StoreCorruptError, StoreMismatchError, StoreMissingError

# Version 2: one collection per generation, file hashes, pending marker.
MANIFEST_VERSION = 2

#: The ``store`` of an index in data_dir/chroma (also what a manifest written before the
#: field existed means).
EMBEDDED = "embedded"


class Fingerprint(TypedDict):
    """What must match between the store and the current settings for answers to be right."""

    embeddings: str
    chunker: str
    chunk_tokens: int
    chunk_overlap_tokens: int


class Skipped(TypedDict):
    """A corpus file that is not indexed, and why."""

    source: str
    reason: str


def fingerprint(settings: Settings, model_id: str | None = None) -> Fingerprint:
    return {
        "embeddings": model_id or settings.embeddings,
        "chunker": CHUNKER_VERSION,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
    }


def store_location(settings: Settings) -> str:
    """Which store this process reads and writes: the Chroma server's URL, or "embedded"."""
    return settings.chroma_url or EMBEDDED


def describe(location: str, settings: Settings) -> str:
    """A store location in words, for messages."""
    if location == EMBEDDED:
        return f"the embedded store in {settings.store_dir}"
    return f"the Chroma server at {location}"


# ------------------------------------------------------------------ manifest and marker


@dataclass
class Manifest:
    """``manifest.json``: the live index."""

    collection: str
    fingerprint: Fingerprint
    documents: int = 0
    chunks: int = 0
    files: dict[str, str] = field(default_factory=dict)  # sha256 by source name
    skipped: list[Skipped] = field(default_factory=list)
    indexed_at: str | None = None
    store: str = EMBEDDED  # where its vectors are: "embedded" or a Chroma server's URL
    version: int = MANIFEST_VERSION

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        """Raises KeyError or TypeError for a manifest of this version that lacks a field;
        one of an older version keeps what it has (it only says "older")."""
        current = data.get("version") == MANIFEST_VERSION
        return cls(
            collection=data["collection"] if current else data.get("collection", ""),
            fingerprint=data["fingerprint"],
            documents=data["documents"] if current else 0,
            chunks=data["chunks"] if current else 0,
            files=dict(data.get("files", {})),
            skipped=list(data.get("skipped", [])),
            indexed_at=data.get("indexed_at"),
            store=data.get("store") or EMBEDDED,
            version=data.get("version"),
        )

    def to_json(self) -> dict:
        return asdict(self)


def read_manifest(settings: Settings) -> Manifest | None:
    """The live index's manifest, or None if there is none. Raises StoreCorruptError."""
    path = settings.manifest_path
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "fingerprint" not in data:
            raise ValueError("no fingerprint")
        return Manifest.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreCorruptError(
            f"The index manifest {path} is unreadable ({exc}). "
            "Run `privacy-qa ingest --rebuild` to build the index again."
        ) from exc


def write_manifest(settings: Settings, manifest: Manifest) -> None:
    """Publish ``manifest``: from now on readers use the index it names."""
    write_json_atomically(settings.manifest_path, manifest.to_json())


def write_json_atomically(path: Path, data: dict) -> None:
    # A temporary name of this process's own: the file-hash cache is written without the
    # ingest lock, possibly by two processes at once.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)  # atomic: readers see the old or the new file, never half of one


@dataclass
class Pending:
    """``ingest.pending``: an ingest is writing (or was killed while writing) into
    ``collection`` of ``store``. A marker cut short by a kill has no fields but still
    says "interrupted"."""

    collection: str | None = None
    store: str = EMBEDDED
    fingerprint: Fingerprint | None = None
    pid: int | None = None


LEXICAL_DIR = "lexical"
# The lexical index's layout: 2 added the corpus's tables for the answer side
# (app/index/facts.py). A file of an earlier layout is not read: readers build the index
# in memory, and the next ingest writes this layout's file (a full pass, embedding nothing).
LEXICAL_LAYOUT = 2


def lexical_path(settings: Settings, collection: str) -> Path:
    """Where the lexical (BM25) index of ``collection`` lives (app/index/lexical.py)."""
    return settings.data_dir / LEXICAL_DIR / f"{collection}.v{LEXICAL_LAYOUT}.sqlite"


def pending_path(settings: Settings) -> Path:
    return settings.data_dir / "ingest.pending"


def read_pending(settings: Settings) -> Pending | None:
    try:
        data = json.loads(pending_path(settings).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return Pending()
    if not isinstance(data, dict):
        return Pending()
    return Pending(
        collection=data.get("collection"),
        store=data.get("store", EMBEDDED),
        fingerprint=data.get("fingerprint"),
        pid=data.get("pid"),
    )


def write_pending(settings: Settings, pending: Pending) -> None:
    write_json_atomically(pending_path(settings), asdict(pending))


def store_mismatch(settings: Settings, manifest: Manifest) -> StoreMismatchError:
    """The error for an index built in another store than the one this process uses."""
    here = store_location(settings)
    why = (
        "PRIVACY_QA_CHROMA_URL is set" if settings.chroma_url else "PRIVACY_QA_CHROMA_URL is unset"
    )
    built = manifest.store
    use_built = (
        "unset PRIVACY_QA_CHROMA_URL" if built == EMBEDDED else f"set PRIVACY_QA_CHROMA_URL={built}"
    )
    return StoreMismatchError(
        f"The index in {settings.data_dir} was built in {describe(built, settings)}, but "
        f"this process uses {describe(here, settings)} ({why}). Run `privacy-qa ingest` to "
        f"build the index there, or {use_built} to use the one that was built."
    )


def check_store(settings: Settings, model_id: str | None = None) -> Manifest:
    """The manifest if the index exists and matches the settings; raise a UserError saying
    what to do otherwise. Opens no store (a server under another URL is asked by
    :func:`app.index.chroma.open_collection`)."""
    manifest = read_manifest(settings)
    missing = StoreMissingError(
        f"No index found in {settings.data_dir}: run `privacy-qa ingest` first."
    )
    if manifest is None:
        raise missing
    if manifest.version != MANIFEST_VERSION:
        raise StoreMismatchError(
            f"The index in {settings.data_dir} was built by an older privacy-qa. "
            "Reindex with `privacy-qa ingest`."
        )
    # Built in a server, asked without one: the embedded store cannot hold that index. A
    # server under another URL may be the same one by another name (each machine its own
    # host name for it): open_collection asks it whether it holds the live collection.
    if manifest.store != EMBEDDED and not settings.chroma_url:
        raise store_mismatch(settings, manifest)
    if not (settings.chroma_url or settings.store_dir.exists()):
        raise missing
    built_with = manifest.fingerprint
    wanted = fingerprint(settings, model_id)
    if built_with != wanted:
        differences = ", ".join(
            f"{key} {built_with.get(key)!r} -> {value!r}"
            for key, value in wanted.items()
            if built_with.get(key) != value
        )
        keep = ""
        if all(
            built_with.get(key) == value for key, value in wanted.items() if key != "embeddings"
        ):
            # Only the embedding model differs: the default one follows the CPU
            # (app/config/local.py), so an index may come from another kind of machine.
            keep = (
                f", or set PRIVACY_QA_EMBEDDINGS={built_with.get('embeddings')} to use it as it is"
            )
        raise StoreMismatchError(
            f"The index in {settings.data_dir} was built with other settings ({differences}). "
            f"Reindex with `privacy-qa ingest`{keep}."
        )
    return manifest


# ------------------------------------------------------------------ file hashes


@dataclass(frozen=True)
class CachedHash:
    """An entry of ``file-hashes.json``: a file's stat when it had this sha256."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    sha256: str

    @classmethod
    def from_json(cls, entry: object) -> CachedHash | None:
        if not isinstance(entry, list) or len(entry) != 5:
            return None
        return cls(*entry)

    def to_json(self) -> list:
        return [*self.signature, self.sha256]

    @property
    def signature(self) -> tuple[int, int, int, int]:
        return self.size, self.mtime_ns, self.ctime_ns, self.inode


def read_hash_cache(path: Path) -> dict[str, CachedHash]:
    """The entries of a file-hash cache; a missing, cut short or foreign one is empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or cut short: only a cache, hash again
        return {}
    if not isinstance(data, dict):
        return {}
    entries = {source: CachedHash.from_json(entry) for source, entry in data.items()}
    return {source: entry for source, entry in entries.items() if entry is not None}


# ------------------------------------------------------------------ what changed


@dataclass
class Changes:
    """Files of the corpus compared with the ones the live index was built from."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    @property
    def touched(self) -> set[str]:
        """The files added, updated or deleted."""
        return {*self.added, *self.updated, *self.deleted}

    def without(self, sources: set[str]) -> Changes:
        """The same changes, with ``sources`` (skipped files) neither added nor unchanged
        documents. An indexed file that became unreadable stays "updated": its chunks go."""
        return Changes(
            added=[s for s in self.added if s not in sources],
            updated=self.updated,
            deleted=self.deleted,
            unchanged=[s for s in self.unchanged if s not in sources],
        )

    @classmethod
    def between(cls, before: dict[str, str], now: dict[str, str]) -> Changes:
        return cls(
            added=sorted(now.keys() - before.keys()),
            updated=sorted(s for s in now.keys() & before.keys() if now[s] != before[s]),
            deleted=sorted(before.keys() - now.keys()),
            unchanged=sorted(s for s in now.keys() & before.keys() if now[s] == before[s]),
        )


@dataclass
class IndexStatus:
    """What the live index holds, for the UI's sidebar."""

    exists: bool
    documents: int = 0
    chunks: int = 0
    embeddings: str = ""
    indexed_at: str | None = None
    changes: Changes = field(default_factory=Changes)
    interrupted: bool = False  # an ingest was killed and has not been finished since
    store: str = EMBEDDED  # where its vectors are: "embedded" or a Chroma server's URL


@dataclass(kw_only=True)
class IngestReport:
    """What an ingest changed (with ``dry_run``: would change). ``added`` to ``unchanged``
    count documents (files); ``documents`` and ``chunks`` are the index afterwards."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    documents: int = 0
    chunks: int = 0
    chunks_added: int = 0
    chunks_deleted: int = 0
    chunks_unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    # a support routine that cannot be followed, by document (app/routine/; the facade
    # fills it): the document is indexed and answered from, the routine ignored
    routine_problems: list[str] = field(default_factory=list)
    rebuilt: bool = False
    rebuild_reason: str = ""
    recovered: bool = False  # finished the work of an interrupted ingest
    dry_run: bool = False
    seconds: float = 0.0
    changes: Changes = field(default_factory=Changes)

    def to_dict(self) -> dict:
        """Every field, ``changes`` as a dict of its lists (the ``ingest --json`` object)."""
        return asdict(self)


# ------------------------------------------------------------- where an ingest starts


@dataclass
class Survey:
    """Where an ingest starts: the live manifest (None for a first ingest or one of an
    older format), the corpus file hashes, what changed, the pending marker."""

    manifest: Manifest | None
    files: dict[str, str]
    changes: Changes
    pending: Pending | None
