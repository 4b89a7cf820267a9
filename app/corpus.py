"""Corpus loading and chunking.

Loading turns each supported file under the corpus dir into a :class:`SourceDocument`
(its text, title, url); files that cannot or must not be read (app/corpus_files.py) are
skipped with a reason, never fatal.

Chunking is heading-aware and token-aware: each chunk knows its section path and where
it starts in the file, its size is counted with the embedding model's own tokenizer and
never exceeds the model's input limit, and its id is derived from source path, position
and content, so an unchanged chunk keeps its id across runs.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.corpus_files import (
    corpus_files,
    decode_text,
    front_matter,
    html_to_text,
    pdf_text,
    read_corpus_file,
)

if TYPE_CHECKING:
    from langchain_core.documents import Document


SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
# Bump when chunking changes in a way that must invalidate existing stores.
CHUNKER_VERSION = "2"  # 2: runs of 2,000+ characters without whitespace are cut
#: A run without whitespace at least this long is cut into pieces of LONG_RUN_PIECE
#: characters before splitting (the tokenizer counts such a "word" as one token).
LONG_RUN, LONG_RUN_PIECE = 2_000, 1_000
#: A title or heading longer than this is cut (with "…") where it names a document or section.
MAX_TITLE_CHARS = 200

# Linear time: the title's trailing " #" are stripped in Python (a lazy group followed by
# "[ \t#]*$" was quadratic on a long heading line).
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+)$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


@dataclass
class SourceDocument:
    """One file of the corpus, as text."""

    source: str  # path relative to the corpus dir's parent, e.g. "corpus/a.md"
    path: Path = field(repr=False)
    text: str = field(repr=False)  # the text quotes are taken from (the file itself for .md)
    title: str
    url: str = ""
    meta: dict[str, Any] = field(default_factory=dict, repr=False)  # the front matter
    body_start: int = field(default=0, repr=False)  # where the text after front matter begins
    markdown: bool = field(default=True, repr=False)  # whether '#' lines are headings


@dataclass
class LoadResult:
    documents: list[SourceDocument]
    skipped: list[tuple[str, str]]  # (source, reason)


@dataclass(frozen=True)
class ChunkInfo:
    """Where a chunk comes from: the metadata every chunk carries, in Chroma too. Its keys
    are written by :func:`chunk_document` and read through :meth:`of`, nowhere else."""

    source: str  # the document, as SourceDocument.source
    title: str  # the document's title
    url: str  # the original's address ("" if none)
    section: str  # the heading path, "Title > Heading > Subheading"
    start_char: int  # where the chunk's body starts in the document's text
    end_char: int
    start_line: int  # the line of the document's text where the body starts (1-based)
    body_start: int  # where the body starts in the chunk's text (after the section header)

    @classmethod
    def of(cls, chunk: Document) -> ChunkInfo:
        return cls(**{f.name: chunk.metadata[f.name] for f in fields(cls)})

    def as_metadata(self) -> dict[str, str | int]:
        return asdict(self)


# --------------------------------------------------------------------------- loading


def _heading_title(heading: re.Match) -> str:
    """A heading's title without the closing "#"s (one character at least, as before)."""
    raw = heading.group(2)
    return _short((raw.rstrip(" \t#") or raw[:1]).strip())


def _short(title: str) -> str:
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def load_document(path: Path, source: str, data: bytes | None = None) -> SourceDocument:
    """Read one file (``data``: its bytes, already read). Raises ``ValueError`` (with a
    readable reason) or ``OSError``."""
    if data is None:
        data = read_corpus_file(path, path.parent, max_bytes=None)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = pdf_text(data)
        return SourceDocument(source, path, text, title=path.stem)
    raw = decode_text(data)
    if suffix in (".html", ".htm"):
        text, title = html_to_text(raw)
        if not text.strip():
            raise ValueError("HTML has no visible text")
        return SourceDocument(source, path, text, title=title or path.stem)
    meta, body_start = front_matter(raw)
    title = _short(str(meta.get("title") or "").strip())
    if not title:
        first_heading = _HEADING.search(raw, body_start)
        title = _heading_title(first_heading) if first_heading else path.stem
    if not raw[body_start:].strip():
        raise ValueError("file has front matter but no text")
    return SourceDocument(
        source,
        path,
        raw,
        title=title,
        url=web_url(meta.get("url")),
        meta=meta,
        body_start=body_start,
        markdown=suffix != ".txt",
    )


def web_url(value: object) -> str:
    """A front matter's ``url`` if it is an http(s) address, else "": a document's own
    text must not put a ``javascript:`` or ``file:`` link into citations."""
    url = str(value or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def load_corpus(
    corpus_dir: Path, only: set[str] | None = None, max_bytes: int | None = None
) -> LoadResult:
    """Load every file under ``corpus_dir`` (or just the sources in ``only``); files that
    cannot be read, must not be read (app/corpus_files.py: not a regular file, a symlink
    out of the folder, over ``max_bytes``) or are of an unsupported type are skipped with
    a reason, never fatal.

    Nothing is logged here: the callers report the skipped files (the command line warns,
    the page's Reindex lists them, the manifest records them), and this module stays free
    of logging for a no-op ingest.
    """
    documents: list[SourceDocument] = []
    skipped: list[tuple[str, str]] = []
    for source, path in corpus_files(corpus_dir):
        if only is not None and source not in only:
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            reason = f"unsupported file type {path.suffix or '(none)'!r}"
        else:
            try:
                data = read_corpus_file(path, corpus_dir, max_bytes)
                documents.append(load_document(path, source, data))
                continue
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        skipped.append((source, reason))
    return LoadResult(documents, skipped)


# -------------------------------------------------------------------------- chunking


@dataclass
class Section:
    path: tuple[str, ...]  # heading titles, the document's first
    start: int  # char offset of the section body in the document text
    end: int


def split_sections(doc: SourceDocument) -> list[Section]:
    """Cut the document at markdown headings; each piece knows its heading path."""
    text, start = doc.text, doc.body_start
    headings = []
    if doc.markdown:
        fences = [m.start() for m in _FENCE.finditer(text)]

        def in_fence(pos: int) -> bool:
            return bisect.bisect_left(fences, pos) % 2 == 1

        headings = [m for m in _HEADING.finditer(text, start) if not in_fence(m.start())]
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    cursor, current = start, (doc.title,)
    for heading in headings:
        sections.append(Section(current, cursor, heading.start()))
        level = len(heading.group(1))
        stack = [(lvl, name) for lvl, name in stack if lvl < level]
        stack.append((level, _heading_title(heading)))
        current = tuple(name for _, name in stack)
        if current[0] != doc.title:  # always lead with the document, for context
            current = (doc.title, *current)
        cursor = heading.end()
    sections.append(Section(current, cursor, len(text)))
    return [s for s in sections if text[s.start : s.end].strip()]


def chunk_id(source: str, start: int, content: str) -> str:
    """Stable id: same file, same place, same content -> same id."""
    import hashlib  # here, not at the top: a no-op ingest imports this module, not hashlib

    return hashlib.sha256(f"{source}\x00{start}\x00{content}".encode()).hexdigest()[:32]


def chunk_body(chunk: Document) -> str:
    """The chunk's text as it stands in the source file (without the section header)."""
    return chunk.page_content[ChunkInfo.of(chunk).body_start :]


def chunk_document(
    doc: SourceDocument,
    count_tokens: Callable[[str], int],
    max_input_tokens: int,
    chunk_tokens: int,
    overlap_tokens: int,
) -> list[Document]:
    """Split a document into chunks whose embedded text fits the model's input limit.

    The embedded text is ``"<section path>\\n\\n<body>"``: the header gives the model the
    context a bare paragraph lacks. ``body`` is an exact substring of the source text.
    """
    chunks: list[Document] = []
    lines = _LineCounter(doc.text)
    limit = min(chunk_tokens, max_input_tokens)
    for section in split_sections(doc):
        header = _header(section.path, count_tokens, limit)
        # Both counts include the model's special tokens, so this leaves a small margin.
        budget = max(16, limit - count_tokens(header))
        pending = deque(_pieces(doc.text, section.start, section.end, count_tokens, budget))
        while pending:
            offset, text, fitted = pending.popleft()
            split = [(0, text)] if fitted else _split(text, budget, overlap_tokens, count_tokens)
            for found, piece in split:
                start, content = offset + found, header + piece
                if count_tokens(content) > max_input_tokens:
                    # A separator-free run the splitter could not cut small enough.
                    budget = max(8, budget // 2)
                    pending.appendleft((start, piece, False))
                    continue
                line = lines.line_at(start)
                chunks.append(_make_chunk(doc, section, header, piece, (start, line), content))
    return chunks


def _header(path: tuple[str, ...], count_tokens: Callable[[str], int], limit: int) -> str:
    """``"Title > Heading\n\n"``, cut to at most half the chunk's tokens."""
    header = " > ".join(path)
    while len(header) > 1 and count_tokens(header) > limit // 2:
        header = header[: len(header) // 2] + "…"
    return header + "\n\n"


def _split(
    text: str, budget: int, overlap_tokens: int, count_tokens: Callable[[str], int]
) -> Iterator[tuple[int, str]]:
    """(offset in ``text``, piece) of at most ``budget`` tokens each, as the splitter cuts."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=budget,
        chunk_overlap=min(overlap_tokens, budget // 4),
        length_function=count_tokens,
        separators=["\n\n", "\n", r"(?<=[.!?:;])\s+", r"\s+", ""],
        is_separator_regex=True,
    )
    cursor = 0
    for piece in splitter.split_text(text):
        found = text.find(piece, cursor)
        if found < 0:  # not expected: the splitter only cuts and strips
            found = text.find(piece)
        cursor = found + 1
        yield found, piece


# A run without whitespace, tried only from its first character: linear time.
_NO_SPACE = re.compile(rf"(?<!\S)\S{{{LONG_RUN},}}")


def _pieces(
    text: str, start: int, end: int, count_tokens: Callable[[str], int], budget: int
) -> Iterator[tuple[int, str, bool]]:
    """``text[start:end]`` as (offset, piece, fitted)s: whole for the splitter, except
    that a run of LONG_RUN or more characters without whitespace is cut here into pieces
    of at most LONG_RUN_PIECE characters and ``budget`` tokens, each a chunk as it is
    (the splitter would count its tokens a character at a time, and the tokenizer may
    count a whole run as one unknown token)."""
    cursor = start
    for run in _NO_SPACE.finditer(text, start, end):
        if run.start() > cursor:
            yield cursor, text[cursor : run.start()], False
        cut, size = run.start(), LONG_RUN_PIECE
        while cut < run.end():
            piece = text[cut : min(cut + size, run.end())]
            if size > 1 and count_tokens(piece) > budget:
                size //= 2
                continue
            yield cut, piece, True
            cut += len(piece)
        cursor = run.end()
    if cursor < end:
        yield cursor, text[cursor:end], False


class _LineCounter:
    """The line of a position in ``text``, counted from the previous position asked (so
    a document's chunks, asked in about increasing order, cost one pass, not one each)."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def line_at(self, pos: int) -> int:
        if pos >= self.pos:
            self.line += self.text.count("\n", self.pos, pos)
        else:
            self.line -= self.text.count("\n", pos, self.pos)
        self.pos = pos
        return self.line


def _make_chunk(
    doc: SourceDocument,
    section: Section,
    header: str,
    body: str,
    where: tuple[int, int],
    content: str,
) -> Document:
    start, line = where
    metadata = ChunkInfo(
        source=doc.source,
        title=doc.title,
        url=doc.url,
        section=" > ".join(section.path),
        start_char=start,
        end_char=start + len(body),
        start_line=line,
        body_start=len(header),
    ).as_metadata()
    from langchain_core.documents import Document

    return Document(
        id=chunk_id(doc.source, start, content), page_content=content, metadata=metadata
    )
