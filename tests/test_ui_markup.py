"""Escaping for the chat page: document text reaches the page as text, never as markup."""

from __future__ import annotations

import re

from app.ui.markup import escape_markdown, highlighted_html, safe_url, source_header_html


def plain(markdown: str) -> str:
    """Markdown escapes removed: the text a reader sees."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_escape_markdown_leaves_no_markup():
    text = "**b** [l](javascript:x) ![i](http://x/t.png) <script>a</script> :red[s] $x$ `c`"
    escaped = escape_markdown(text)
    assert plain(escaped) == text
    # Every ASCII punctuation character is escaped, so no markdown construct can start.
    assert not re.search(r"(?<!\\)[\[\]()!<>*:$`]", escaped.replace("\\\\", ""))


def test_highlighted_html_escapes_and_marks_the_quote():
    chunk = "Intro <b>x</b>.\n\nThe <script>alert(1)</script> quote here. After & more."
    out = highlighted_html(chunk, "The <script>alert(1)</script> quote here.")
    assert "<script>" not in out and "<b>" not in out
    assert "<mark>The &lt;script&gt;alert(1)&lt;/script&gt; quote here.</mark>" in out
    assert "&amp; more" in out
    assert "\n" not in out  # one line: markdown reads it as a single HTML block
    short = highlighted_html("a" * 500 + "QUOTE" + "b" * 500, "QUOTE", context=10)
    assert short == '<div class="pqa-chunk">…aaaaaaaaaa<mark>QUOTE</mark>bbbbbbbbbb…</div>'
    assert "<mark>" not in highlighted_html("no quote in here", "missing")


def test_only_http_links_are_rendered():
    assert safe_url("https://help.openai.com/x") == "https://help.openai.com/x"
    for bad in ("javascript:alert(1)", "data:text/html,x", "", None, "//evil", "file:///etc"):
        assert safe_url(bad) is None
    header = source_header_html(1, "T", "T > S", "corpus/a.md", 3, "javascript:alert(1)")
    assert "href" not in header
    header = source_header_html(2, "T", "T > S", "corpus/a.md", 3, 'https://x.org/"><b>')
    assert 'href="https://x.org/&quot;&gt;&lt;b&gt;"' in header
