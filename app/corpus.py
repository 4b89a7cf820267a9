"""Corpus loading and chunking.

Loading turns each supported file under the corpus dir into a :class:`SourceDocument`
(its text, title, url); files that cannot be read are skipped with a reason, never fatal.

Chunking is heading-aware and token-aware: each chunk knows its section path and where
it starts in the file, its size is counted with the embedding model's own tokenizer and
never exceeds the model's input limit, and its id is derived from source path, position
and content, so an unchanged chunk keeps its id across runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.documents import Document


SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
# Bump when chunking changes in a way that must invalidate existing stores.
CHUNKER_VERSION = "1"

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)


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


def _html_to_text(raw: str) -> tuple[str, str]:
    """The text and title of an HTML page: headings become markdown headings, scripts and
    styles vanish. html.parser is imported here: a no-op ingest reads no file."""
    from html.parser import HTMLParser

    class HTMLToText(HTMLParser):
        _BLOCK = {"p", "div", "li", "tr", "br", "section", "article", "blockquote", "pre", "table"}
        _SKIP = {"script", "style", "noscript", "template"}

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.title = ""
            self._skip_depth = 0
            self._in_title = False

        def handle_starttag(self, tag, attrs):
            if tag in self._SKIP:
                self._skip_depth += 1
            elif tag == "title":
                self._in_title = True
            elif re.fullmatch(r"h[1-6]", tag):
                self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
            elif tag in self._BLOCK:
                self.parts.append("\n\n")

        def handle_endtag(self, tag):
            if tag in self._SKIP:
                self._skip_depth = max(0, self._skip_depth - 1)
            elif tag == "title":
                self._in_title = False
            elif re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCK:
                self.parts.append("\n\n")

        def handle_data(self, data):
            if self._skip_depth:
                return
            if self._in_title:
                self.title += data
                return
            self.parts.append(re.sub(r"\s+", " ", data))

        def text(self) -> str:
            joined = "".join(self.parts)
            joined = re.sub(r"[ \t]*\n[ \t]*", "\n", joined)
            return re.sub(r"\n{3,}", "\n\n", joined).strip() + "\n"

    parser = HTMLToText()
    parser.feed(raw)
    return parser.text(), parser.title.strip()


def _read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError("file is empty")
    if b"\x00" in raw[:8192]:
        raise ValueError("looks like a binary file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start}); save it as UTF-8") from exc


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many kinds for broken files
        raise ValueError(f"cannot read PDF ({exc.__class__.__name__}: {exc})") from exc
    # Each page becomes a section so citations can name the page.
    text = "\n\n".join(f"# Page {n}\n\n{page.strip()}" for n, page in enumerate(pages, 1))
    if not any(page.strip() for page in pages):
        raise ValueError("PDF has no extractable text (scanned images need OCR first)")
    return text + "\n"


def _front_matter(text: str) -> tuple[dict, int]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    import yaml  # here, not at the top: a no-op ingest never parses a file

    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        return {}, 0
    return (meta if isinstance(meta, dict) else {}), match.end()


def load_document(path: Path, source: str) -> SourceDocument:
    """Read one file. Raises ``ValueError`` (with a readable reason) or ``OSError``."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text = _read_pdf(path)
        return SourceDocument(source, path, text, title=path.stem)
    raw = _read_text_file(path)
    if suffix in (".html", ".htm"):
        text, title = _html_to_text(raw)
        if not text.strip():
            raise ValueError("HTML has no visible text")
        return SourceDocument(source, path, text, title=title or path.stem)
    meta, body_start = _front_matter(raw)
    title = str(meta.get("title") or "").strip()
    if not title:
        first_heading = _HEADING.search(raw, body_start)
        title = first_heading.group(2).strip() if first_heading else path.stem
    if not raw[body_start:].strip():
        raise ValueError("file has front matter but no text")
    return SourceDocument(
        source,
        path,
        raw,
        title=title,
        url=str(meta.get("url") or ""),
        meta=meta,
        body_start=body_start,
        markdown=suffix != ".txt",
    )


def corpus_files(corpus_dir: Path) -> list[tuple[str, Path]]:
    """Every file under ``corpus_dir`` (hidden ones excluded) as ``(source, path)``, sorted.

    The source is the name a citation shows, ``corpus/<relative path>``: a file is named
    by where it sits in the corpus, even when it is a symlink.
    """
    corpus_dir = corpus_dir.resolve()
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts) or path.is_dir():
            continue
        files.append(((Path(corpus_dir.name) / relative).as_posix(), path))
    return files


def load_corpus(corpus_dir: Path, only: set[str] | None = None) -> LoadResult:
    """Load every file under ``corpus_dir`` (or just the sources in ``only``); files that
    cannot be read or are of an unsupported type are skipped with a reason, never fatal.

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
                documents.append(load_document(path, source))
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
            return sum(1 for f in fences if f < pos) % 2 == 1

        headings = [m for m in _HEADING.finditer(text, start) if not in_fence(m.start())]
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    cursor, current = start, (doc.title,)
    for heading in headings:
        sections.append(Section(current, cursor, heading.start()))
        level = len(heading.group(1))
        stack = [(lvl, name) for lvl, name in stack if lvl < level]
        stack.append((level, heading.group(2).strip()))
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
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    chunks: list[Document] = []
    for section in split_sections(doc):
        header = " > ".join(section.path) + "\n\n"
        limit = min(chunk_tokens, max_input_tokens)
        # Both counts include the model's special tokens, so this leaves a small margin.
        budget = max(16, limit - count_tokens(header))
        pending = [(section.start, doc.text[section.start : section.end])]
        while pending:
            offset, text = pending.pop(0)
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
                start = offset + found
                content = header + piece
                if count_tokens(content) > max_input_tokens:
                    # A separator-free run the splitter could not cut small enough.
                    budget = max(8, budget // 2)
                    pending.insert(0, (start, piece))
                    continue
                chunks.append(_make_chunk(doc, section, header, piece, start, content))
    return chunks


def _make_chunk(
    doc: SourceDocument, section: Section, header: str, body: str, start: int, content: str
) -> Document:
    metadata = ChunkInfo(
        source=doc.source,
        title=doc.title,
        url=doc.url,
        section=" > ".join(section.path),
        start_char=start,
        end_char=start + len(body),
        start_line=doc.text.count("\n", 0, start) + 1,
        body_start=len(header),
    ).as_metadata()
    from langchain_core.documents import Document

    return Document(
        id=chunk_id(doc.source, start, content), page_content=content, metadata=metadata
    )
