"""Document text made safe for the chat page: markdown escaping and the source cards' HTML.

Document text is always rendered as text: it is HTML-escaped (or markdown-escaped) before it
reaches the page, so markup or script in a corpus file shows up as characters and never
runs. Standard library only (no Streamlit), so these are tested without a page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlparse

# CommonMark lets any ASCII punctuation be backslash-escaped; escaping all of it leaves no
# markdown, HTML, link, image, LaTeX ($) or Streamlit directive (:color[...]) syntax intact.
INTERNAL_LABEL = "internal procedure, not the published article"

_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


def escape_markdown(text: str) -> str:
    """``text`` as markdown that renders exactly as these characters, nothing more."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def html_text(text: str) -> str:
    """``text`` as escaped HTML on one line.

    Line breaks become <br> so the result stays one line: markdown treats a line that starts
    with <div> as an HTML block that ends at the first blank line, and nothing in it is
    parsed as markdown.
    """
    return html.escape(text).replace("\r", "").replace("\n", "<br>")


def safe_url(url: str | None) -> str | None:
    """The url if it is a plain http(s) link; ``None`` for javascript:, data: and the like."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    if parsed.scheme.lower() in ("http", "https") and parsed.netloc:
        return url.strip()
    return None


# Markdown syntax shown as clean text: what is deleted (the markers), never what is kept.
_LINE_MARKUP = re.compile(r"^[ \t]{0,3}(?:(?:>[ \t]?)+|#{1,6}[ \t]+|(?:[*_-][ \t]*){3,}$)", re.M)
_LINK = re.compile(r"(!?\[)([^\]\n]*)(\]\([^)\s]*(?:[ \t]+\"[^\"\n]*\")?\))")
_EMPHASIS = (
    re.compile(r"(?<!\\)(\*\*|~~)(?=\S)(.+?)(?<=\S)(\1)"),
    re.compile(r"(?<![\w\\])(__)(?=\S)(.+?)(?<=\S)(__)(?!\w)"),
    re.compile(r"(?<![\w*\\])(\*)(?=[^\s*])([^*\n]+?)(?<=[^\s*])(\*)(?![\w*])"),
    re.compile(r"(?<![\w_\\])(_)(?=[^\s_])([^_\n]+?)(?<=[^\s_])(_)(?![\w_])"),
    re.compile(r"(`+)([^`\n]+?)(\1)"),
)
_ESCAPE = re.compile(r"(\\)[!-/:-@\[-`{-~]")


def markup_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds markdown markers (``**``, ``> ``, ``# ``, ``[`` ``](url)``, a
    backtick...): the character ranges a reader should not see."""
    spans = [m.span() for m in _LINE_MARKUP.finditer(text)]
    spans += [m.span(1) for m in _ESCAPE.finditer(text)]
    for match in _LINK.finditer(text):
        spans += [match.span(1), match.span(3)]
    for pattern in _EMPHASIS:
        for match in pattern.finditer(text):
            spans += [match.span(1), match.span(3)]
    return spans


def clean_text(text: str) -> str:
    """``text`` without its markdown markers (plain text, not escaped)."""
    keep = _kept(text)
    return "".join(c for c, k in zip(text, keep, strict=True) if k)


def _kept(text: str) -> list[bool]:
    keep = [True] * len(text)
    for start, end in markup_spans(text):
        keep[start:end] = [False] * (end - start)
    return keep


def marked_html(
    text: str, quotes: list[str] | tuple[str, ...] = (), context: int | None = None
) -> str:
    """``text`` as clean (markdown markers dropped), escaped HTML with every quote found in
    it wrapped in <mark>; with ``context``, only that many characters either side of the
    quoted part are kept. A quote not found leaves the text unmarked."""
    marks = []
    for quote in quotes:
        start = text.find(quote) if quote else -1
        if start >= 0:
            marks.append((start, start + len(quote)))
    lo, hi = 0, len(text)
    if context is not None:
        if marks:
            lo = max(0, min(s for s, _ in marks) - context)
            hi = min(len(text), max(e for _, e in marks) + context)
        else:
            hi = min(len(text), 2 * context)
    marked = [False] * len(text)
    for start, end in marks:
        marked[start:end] = [True] * (end - start)
    keep = _kept(text)
    out, run, state = [], [], False
    for i in range(lo, hi):
        if marked[i] != state:
            out.append(html_text("".join(run)))
            out.append("<mark>" if marked[i] else "</mark>")
            run, state = [], marked[i]
        if keep[i]:
            run.append(text[i])
    out.append(html_text("".join(run)) + ("</mark>" if state else ""))
    lead = "…" if lo > 0 else ""
    tail = "…" if hi < len(text) else ""
    return f'<div class="pqa-chunk">{lead}{"".join(out)}{tail}</div>'


def highlighted_html(text: str, quote: str, context: int | None = None) -> str:
    """``text`` as clean, escaped HTML with ``quote`` wrapped in <mark> (see marked_html)."""
    return marked_html(text, [quote] if quote else [], context)


def anchor_id(turn: int, n: int) -> str:
    """The HTML id of citation ``n`` of the ``turn``-th message (its card holds it)."""
    return f"pqa-{turn}-{n}"


_MARKER = re.compile(r"\[(\d+)\]")


def answer_html(text: str, turn: int, known: set[int]) -> str:
    """An answer's text as clean, escaped HTML; each ``[n]`` of a known citation links to
    its card (#pqa-TURN-N)."""
    escaped = html_text(clean_text(text))

    def link(match: re.Match) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return f'<a class="pqa-ref" href="#{anchor_id(turn, n)}" target="_self">[{n}]</a>'

    return f'<div class="pqa-answer">{_MARKER.sub(link, escaped)}</div>'


@dataclass(frozen=True)
class Heading:
    """What a source card's header says (every field is escaped when drawn)."""

    title: str
    section: str
    location: str  # "corpus/a.md:38" or "corpus/b.pdf, page 3, line 5"
    url: str | None = None  # the original (http(s) only), opened in a new tab
    viewer: str | None = None  # the page's own view of the local file at the cited place
    publisher: str = ""
    date: str = ""
    internal: bool = False


def source_header_html(markers: list[int], heading: Heading, turn: int | None = None) -> str:
    """Markers, title, publisher and date, section path, location and links, all escaped;
    an ``internal`` source (a support routine, not the published text) is labelled so.
    With ``turn``, the header holds the anchors ``[n]`` in the answer link to."""
    title = heading.title
    marker = "".join(f"[{n}]" for n in markers) + " " if markers else ""
    anchors = (
        "".join(f'<span id="{anchor_id(turn, n)}"></span>' for n in markers)
        if turn is not None
        else ""
    )
    links = []
    link = safe_url(heading.url)
    if link:
        links.append(
            f'<a href="{html.escape(link, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">original ↗</a>'
        )
    if heading.viewer:
        links.append(
            f'<a href="{html.escape(heading.viewer, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">open at this place ↗</a>'
        )
    link_html = "".join(f" · {a}" for a in links)
    byline = " · ".join(x for x in (heading.publisher, heading.date) if x)
    # The section path repeats the title first; show only the part under it.
    parts = heading.section.split(" > ")
    path = " › ".join(parts[1:] if len(parts) > 1 and parts[0] == title else parts)
    return (
        f'<div class="pqa-source">{anchors}<strong>{html.escape(marker + title)}</strong>'
        + (f"<br><small>{html.escape(byline)}</small>" if byline else "")
        + f"<br><small>{html.escape(path)}</small><br>"
        + (f"<small><em>{INTERNAL_LABEL}</em></small><br>" if heading.internal else "")
        + f"<small><code>{html.escape(heading.location)}</code>{link_html}</small></div>"
    )


def index_facts_html(embeddings: str, store: str, store_dir: str, indexed_at: str | None) -> str:
    """The sidebar's index facts, escaped: the embedding model, the vector store (``store``
    is "embedded", in ``store_dir``, or the Chroma server's url) and when it was indexed."""
    where = (
        f"embedded, in <code>{html.escape(store_dir)}</code>"
        if store == "embedded"
        else f"the Chroma server at <code>{html.escape(store)}</code>"
    )
    return (
        f'<small class="pqa-status">Embedding model: <code>{html.escape(embeddings)}'
        f"</code><br>Vector store: {where}<br>"
        f"Indexed: {html.escape(indexed_at or 'unknown')}</small>"
    )


def lines_html(text: str, marked: set[int], first: int = 1) -> str:
    """A document's lines from ``first`` on, numbered and escaped; ``marked`` ones in <mark>."""
    rows = []
    for number, line in enumerate(text.splitlines()[first - 1 :], first):
        body = html.escape(line.replace("\r", "")) or "&nbsp;"
        if number in marked:
            body = f"<mark>{body}</mark>"
        rows.append(f'<span id="L{number}"><code>{number:>4}</code> {body}</span>')
    return '<div class="pqa-doc">' + "<br>".join(rows) + "</div>"


def document_entry_html(
    title: str, facts: list[str], source: str, viewer: str, state: str = ""
) -> str:
    """A document of the documents view: title, facts (publisher, date, chunks, when
    indexed), source and a link to read it; all escaped."""
    warn = f' <em class="pqa-state">{html.escape(state)}</em>' if state else ""
    return (
        f'<div class="pqa-doc-entry"><strong>{html.escape(title)}</strong>{warn}<br>'
        f"<small>{html.escape(' · '.join(f for f in facts if f))}</small><br>"
        f"<small><code>{html.escape(source)}</code> · "
        f'<a href="{html.escape(viewer, quote=True)}" target="_blank" '
        f'rel="noopener noreferrer">read ↗</a></small></div>'
    )
