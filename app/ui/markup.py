"""Document text made safe for the chat page: markdown escaping and the source cards' HTML.

Document text is always rendered as text: it is HTML-escaped (or markdown-escaped) before it
reaches the page, so markup or script in a corpus file shows up as characters and never
runs. Standard library only (no Streamlit), so these are tested without a page.
"""

from __future__ import annotations

import html
import re
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


def highlighted_html(text: str, quote: str, context: int | None = None) -> str:
    """``text`` as escaped HTML with ``quote`` wrapped in <mark>.

    With ``context``, only that many characters either side of the quote are kept. A quote
    that is not found in the text (it always is for the extractive answerer) leaves the
    text unmarked.
    """
    start = text.find(quote) if quote else -1
    if start < 0:
        shown = text if context is None else text[: 2 * context]
        cut = "…" if len(shown) < len(text) else ""
        return f'<div class="pqa-chunk">{html_text(shown)}{cut}</div>'
    before, after = text[:start], text[start + len(quote) :]
    lead = tail = ""
    if context is not None:
        if len(before) > context:
            before, lead = before[-context:], "…"
        if len(after) > context:
            after, tail = after[:context], "…"
    return (
        f'<div class="pqa-chunk">{lead}{html_text(before)}'
        f"<mark>{html_text(quote)}</mark>{html_text(after)}{tail}</div>"
    )


def source_header_html(
    n: int | None,
    title: str,
    section: str,
    source: str,
    line: int,
    url: str | None,
    *,
    internal: bool = False,
) -> str:
    """Title, section path, file:line and a link to the original, all escaped; an
    ``internal`` source (a support routine, not the published text) is labelled so."""
    marker = f"[{n}] " if n is not None else ""
    link = safe_url(url)
    link_html = (
        f' · <a href="{html.escape(link, quote=True)}" target="_blank" '
        f'rel="noopener noreferrer">original ↗</a>'
        if link
        else ""
    )
    # The section path repeats the title first; show only the part under it.
    parts = section.split(" > ")
    path = " › ".join(parts[1:] if len(parts) > 1 and parts[0] == title else parts)
    return (
        f'<div class="pqa-source"><strong>{html.escape(marker + title)}</strong><br>'
        f"<small>{html.escape(path)}</small><br>"
        + (f"<small><em>{INTERNAL_LABEL}</em></small><br>" if internal else "")
        + f"<small><code>{html.escape(source)}:{line}</code>{link_html}</small></div>"
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
