"""Which files of the corpus folder are read, and how: only what is safe to read.

A corpus folder may hold anything (the page's Reindex reads it too): symlinks to
``/dev/zero`` or to files outside the folder, named pipes, devices, huge files, names
that are not UTF-8. :func:`corpus_files` lists every entry (so each can be reported);
:func:`read_corpus_file` reads one only if it is a regular file inside the folder (a
symlink is followed only when it resolves inside it) and no larger than the limit, and
otherwise raises ``ValueError`` with the reason, which ingest reports as a skipped file.
The bytes then become text here: UTF-8 (:func:`decode_text`), HTML, PDF, and markdown
front matter (at most FRONT_MATTER_MAX_CHARS, YAML without aliases: no alias bombs).

Cheap to import (yaml, html.parser and pypdf load only when a file is parsed): a no-op
ingest lists the corpus through here.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

#: Longest front matter read (YAML between the first two "---" lines), in characters.
FRONT_MATTER_MAX_CHARS = 16_384
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def corpus_files(corpus_dir: Path) -> list[tuple[str, Path]]:
    """Every entry under ``corpus_dir`` but folders and hidden ones, as ``(source,
    path)``, sorted by path.

    The source is the name a citation shows, ``corpus/<relative path>``: a file is named
    by where it sits in the corpus, even when it is a symlink. A name that is not valid
    UTF-8 gets a printable source (``\\xff`` for the byte); reading it is refused. Symlinks
    to folders are listed as entries, never walked into (no loops, nothing outside).
    """
    corpus_dir = corpus_dir.resolve()
    files = []
    for folder, dirs, names in os.walk(corpus_dir, followlinks=False):
        linked = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in linked)
        for name in names + linked:
            if not name.startswith("."):
                files.append(Path(folder, name))
    return [(printable(Path(corpus_dir.name, p.relative_to(corpus_dir))), p) for p in sorted(files)]


def printable(path: Path) -> str:
    """``path`` as text that can be written anywhere (bytes that are not UTF-8 escaped)."""
    return path.as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_corpus_file(path: Path, corpus_dir: Path, max_bytes: int | None) -> bytes:
    """The bytes of the corpus file ``path``; ``ValueError`` (the reason) when it must not
    be read, ``OSError`` when it cannot be."""
    try:
        os.fsdecode(path).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the file name is not valid UTF-8: rename the file") from None
    if path.is_symlink():
        target = path.resolve(strict=True)  # a dangling link: FileNotFoundError
        if not target.is_relative_to(corpus_dir.resolve()):
            raise ValueError("a symlink to a file outside the corpus folder (not followed)")
    _check(os.stat(path), max_bytes)  # before opening: opening a device can act
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _check(os.fstat(fd), max_bytes)  # the same file still (not swapped since)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(max_bytes + 1 if max_bytes is not None else -1)
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:
        raise ValueError(_too_large(max_bytes))
    return data


def _check(info: os.stat_result, max_bytes: int | None) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise ValueError(f"{kind}, not a regular file (only regular files are read)")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ValueError(_too_large(max_bytes))


def _too_large(max_bytes: int) -> str:
    return (
        f"larger than the limit of {max_bytes / 1_000_000:g} MB per file: split it, or "
        "raise PRIVACY_QA_MAX_FILE_MB"
    )


# ------------------------------------------------------------------ bytes to text


def html_to_text(raw: str) -> tuple[str, str]:
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


def decode_text(raw: bytes) -> str:
    if not raw.strip():
        raise ValueError("file is empty")
    if b"\x00" in raw[:8192]:
        raise ValueError("looks like a binary file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start}); save it as UTF-8") from exc


def pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many kinds for broken files
        raise ValueError(f"cannot read PDF ({exc.__class__.__name__}: {exc})") from exc
    # Each page becomes a section so citations can name the page.
    text = "\n\n".join(f"# Page {n}\n\n{page.strip()}" for n, page in enumerate(pages, 1))
    if not any(page.strip() for page in pages):
        raise ValueError("PDF has no extractable text (scanned images need OCR first)")
    return text + "\n"


def front_matter(text: str) -> tuple[dict, int]:
    """The front matter's fields and where the body starts; ``ValueError`` for front
    matter longer than FRONT_MATTER_MAX_CHARS or using YAML aliases (an alias bomb)."""
    if not text.startswith("---"):
        return {}, 0
    match = _FRONT_MATTER.match(text[: FRONT_MATTER_MAX_CHARS + 16])
    if not match:
        if _FRONT_MATTER.match(text):
            raise ValueError(
                f"front matter longer than {FRONT_MATTER_MAX_CHARS:,} characters: shorten it"
            )
        return {}, 0
    import yaml  # here, not at the top: a no-op ingest never parses a file

    try:
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(match.group(1), yaml.SafeLoader)):
            raise ValueError("front matter uses YAML aliases (*name): write the values out")
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        return {}, 0
    return (meta if isinstance(meta, dict) else {}), match.end()
