"""The documents of the corpus as the chat page manages them: what is indexed (title,
publisher, date, chunks, when indexed, changed since), adding an upload, deleting a file,
reading one as text, and the questions its headings ask.

Adding and deleting change the corpus folder, then run the same incremental ingest as
``privacy-qa ingest``; a second ingest running meanwhile is waited for (the ingest lock
serialises them), not failed. The front ends reach this through the facade ``app.qa``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from app.config import Settings
from app.corpus import SUPPORTED_SUFFIXES, corpus_files, load_document, split_sections
from app.errors import IngestLockedError, UserError
from app.index.changes import hash_files
from app.index.manifest import IngestReport, read_manifest, write_json_atomically

log = logging.getLogger(__name__)

LOCK_WAIT_S = 120.0  # how long an upload or a deletion waits for another ingest to finish
UPLOAD_TYPES = (".md", ".txt", ".html", ".pdf")  # what the page offers (aliases accepted)


class UploadError(UserError):
    """An uploaded file was refused; nothing was written."""


class DocumentNotFoundError(UserError):
    """No such document in the corpus folder."""


@dataclass(frozen=True)
class DocumentInfo:
    """One file of the corpus, as the documents view lists it."""

    source: str  # "corpus/a.md"
    title: str
    publisher: str = ""
    date: str = ""
    url: str = ""
    chunks: int = 0
    indexed_at: str | None = None  # when its current text was indexed (None: not yet)
    state: str = "indexed"  # indexed, changed (since indexed), new (not indexed), deleted
    problem: str = ""  # why it cannot be indexed, if so
    sha256: str = ""  # of the file in the corpus dir now ("" if gone)


@dataclass(frozen=True)
class DocumentText:
    """A document as text, for reading it: the text quotes are taken from."""

    source: str
    title: str
    text: str
    pdf: bool = False


@dataclass(frozen=True)
class Place:
    """Where a line of a document's text is, as a reader finds it: a page of a PDF."""

    line: int  # the line of the document's text (what citations carry)
    page: int | None = None  # PDF only
    page_line: int | None = None  # the line within that page

    def describe(self, source: str) -> str:
        if self.page is None:
            return f"{source}:{self.line}"
        return f"{source}, page {self.page}, line {self.page_line}"


@dataclass
class Change:
    """What an upload or a deletion did: the file, and the ingest that followed."""

    source: str
    report: IngestReport
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ listing


def _times_path(settings: Settings) -> Path:
    return settings.data_dir / "document-times.json"


def record_ingest(settings: Settings, report: IngestReport) -> None:
    """Remember when each added or updated file was indexed (the documents view shows it)."""
    if report.dry_run or not settings.manifest_path.exists():
        return
    times = _read_times(settings)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    changed = report.changes.added + report.changes.updated
    if report.rebuilt:
        changed += report.changes.unchanged
    times.update(dict.fromkeys(changed, now))
    for source in report.changes.deleted:
        times.pop(source, None)
    write_json_atomically(_times_path(settings), times)


def _read_times(settings: Settings) -> dict[str, str]:
    try:
        data = json.loads(_times_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


@lru_cache(maxsize=256)
def _described(path: str, source: str, sha256: str) -> tuple[str, str, str, str, str]:
    """(title, publisher, date, url, problem) of a file with this content."""
    try:
        doc = load_document(Path(path), source)
    except (OSError, ValueError) as exc:
        return Path(path).name, "", "", "", str(exc)
    meta = doc.meta
    publisher = str(meta.get("publisher") or meta.get("author") or "")
    return doc.title, publisher, str(meta.get("date") or ""), doc.url, ""


def list_documents(settings: Settings, chunk_sources: Iterable[str] = ()) -> list[DocumentInfo]:
    """Every document of the corpus folder and of the index, sorted by source.
    ``chunk_sources``: the source of each indexed chunk (counted per document)."""
    counts: dict[str, int] = {}
    for source in chunk_sources:
        counts[source] = counts.get(source, 0) + 1
    manifest = read_manifest(settings)
    indexed = manifest.files if manifest else {}
    times = _read_times(settings)
    skipped = {s["source"]: s["reason"] for s in (manifest.skipped if manifest else [])}
    now = _hashes(settings) if settings.corpus_dir.is_dir() else {}
    paths = dict(corpus_files(settings.corpus_dir)) if settings.corpus_dir.is_dir() else {}
    out = []
    for source in sorted(indexed.keys() | now.keys()):
        if source not in now:
            state = "deleted"
        elif source not in indexed:
            state = "new"
        else:
            state = "indexed" if indexed[source] == now[source] else "changed"
        if source in paths and now.get(source):
            title, publisher, date, url, problem = _described(
                str(paths[source]), source, now[source]
            )
        else:
            title, publisher, date, url, problem = Path(source).name, "", "", "", ""
        problem = skipped.get(source, problem) if state == "indexed" else problem
        at = times.get(source) or (manifest.indexed_at if manifest and state != "new" else None)
        out.append(
            DocumentInfo(
                source,
                title,
                publisher,
                date,
                url,
                counts.get(source, 0),
                at,
                state,
                problem,
                now.get(source, ""),
            )
        )
    return out


def _hashes(settings: Settings) -> dict[str, str]:
    """The corpus files' sha256, read through the ingest's file-hash cache (not updated)."""
    return hash_files(settings.corpus_dir, settings.hash_cache_path, update_cache=False)


# ------------------------------------------------------------------ reading


def _path_of(settings: Settings, source: str) -> Path:
    """The file of ``source``, found among the corpus folder's own files only (a name
    from outside, ``../x`` or an absolute path, is never opened)."""
    if settings.corpus_dir.is_dir():
        for name, path in corpus_files(settings.corpus_dir):
            if name == source:
                return path
    raise DocumentNotFoundError(
        f"There is no document {source!r} in the corpus folder: pick one from the documents list."
    )


def read_document(settings: Settings, source: str) -> DocumentText:
    """The document's text (a PDF's extracted text, page by page)."""
    path = _path_of(settings, source)
    try:
        doc = load_document(path, source)
    except (OSError, ValueError) as exc:
        raise DocumentNotFoundError(f"{source} cannot be read ({exc}).") from exc
    return DocumentText(source, doc.title, doc.text, path.suffix.lower() == ".pdf")


def place(document: DocumentText, line: int) -> Place:
    """Where ``line`` of the document's text is: for a PDF, its page and line there."""
    if not document.pdf:
        return Place(line)
    page, page_start = None, 0
    for number, text in enumerate(document.text.splitlines()[:line], 1):
        if text.startswith("# Page ") and text[7:].strip().isdigit():
            page, page_start = int(text[7:]), number + 1  # a blank line follows the heading
    if page is None:
        return Place(line)
    return Place(line, page, max(1, line - page_start))


def question_headings(settings: Settings, sources: Iterable[str]) -> list[tuple[str, str]]:
    """(source, heading) for each heading or title of these documents that is a question."""
    out = []
    for source in sources:
        try:
            doc = load_document(_path_of(settings, source), source)
        except (UserError, OSError, ValueError):
            continue
        seen = set()
        for section in split_sections(doc):
            for heading in section.path:
                if heading.endswith("?") and heading not in seen:
                    seen.add(heading)
                    out.append((source, heading))
    return out


# ------------------------------------------------------------------ adding and deleting


def check_upload(settings: Settings, name: str, data: bytes) -> str:
    """The source an upload would become; raise UploadError if it must be refused."""
    if (
        not name.strip()
        or name != name.strip()
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith(".")
        or os.path.isabs(name)
    ):
        raise UploadError(
            f"The file name {name!r} would leave the corpus folder or hide the file: "
            "upload it under a plain name such as policy.md. Nothing was added."
        )
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(
            f"{name} is a {suffix or 'file without an extension'}: only "
            f"{', '.join(UPLOAD_TYPES)} files can be added. Nothing was added."
        )
    limit = settings.max_upload_bytes
    if len(data) > limit:
        raise UploadError(
            f"{name} is {_size(len(data))}; the limit is {_size(limit)} "
            "(PRIVACY_QA_MAX_UPLOAD_BYTES). Nothing was added."
        )
    source = f"{settings.corpus_dir.resolve().name}/{name}"
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    for existing, sha in _hashes(settings).items():
        if sha == digest:
            raise UploadError(f"{name} is already in the corpus as {existing} (same content).")
        if existing == source:
            raise UploadError(
                f"A different file named {name} is already in the corpus: delete it first, "
                "or rename the upload. Nothing was added."
            )
    return source


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def add_document(
    settings: Settings,
    name: str,
    data: bytes,
    run_ingest: Callable[[], IngestReport],
) -> Change:
    """Put an upload into the corpus folder and index it; refuse (UploadError, nothing
    written) what cannot be indexed. ``run_ingest`` is the incremental ingest."""
    source = check_upload(settings, name, data)
    folder = settings.corpus_dir
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".upload-{os.getpid()}-{time.monotonic_ns()}{Path(name).suffix}"
    staged.write_bytes(data)  # hidden: no ingest sees it
    try:
        try:
            load_document(staged, source)
        except (OSError, ValueError) as exc:
            raise UploadError(f"{name} cannot be indexed: {exc}. Nothing was added.") from exc
        try:
            os.link(staged, folder / name)  # fails if another upload took the name meanwhile
        except FileExistsError:
            raise UploadError(
                f"A file named {name} was added meanwhile: delete it first, or rename the "
                "upload. Nothing was added."
            ) from None
    finally:
        staged.unlink(missing_ok=True)
    log.info("added %s to the corpus", source)
    return Change(source, waiting_for_lock(run_ingest))


def remove_document(
    settings: Settings, source: str, run_ingest: Callable[[], IngestReport]
) -> Change:
    """Delete ``source`` from the corpus folder and from the index."""
    _path_of(settings, source).unlink()
    log.info("deleted %s from the corpus", source)
    return Change(source, waiting_for_lock(run_ingest))


def waiting_for_lock(
    run_ingest: Callable[[], IngestReport], wait_s: float = LOCK_WAIT_S
) -> IngestReport:
    """Run the ingest; while another one holds the lock, wait for it (up to ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return run_ingest()
        except IngestLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)
