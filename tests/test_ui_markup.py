"""Escaping for the chat page: document text reaches the page as text, never as markup."""

from __future__ import annotations

import re

from app.ui.markup import (
    Heading,
    answer_html,
    clean_text,
    document_entry_html,
    escape_markdown,
    highlighted_html,
    lines_html,
    marked_html,
    safe_url,
    source_header_html,
)


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
    header = source_header_html([1], Heading("T", "T > S", "corpus/a.md:3", "javascript:alert(1)"))
    assert "href" not in header
    bad = Heading("T", "T > S", "corpus/a.md:3", 'https://x.org/"><b>')
    assert 'href="https://x.org/&quot;&gt;&lt;b&gt;"' in source_header_html([2], bad)


def test_markdown_in_a_passage_is_shown_as_clean_text():
    text = '> **Note:** see [the docs](https://x.org/d "t") and ![logo](a.png), `code`, *it*.\n'
    assert clean_text(text) == "Note: see the docs and logo, code, it.\n"
    # What is not a marker stays: snake_case, 2*3*4, an escaped star, a lone '>' inside.
    assert clean_text("snake_case_name 2*3*4 a > b \\*x\\*") == "snake_case_name 2*3*4 a > b *x*"
    assert clean_text("# Heading\n---\n- item") == "Heading\n\n- item"


def test_a_card_marks_every_quote_of_its_passage_in_clean_escaped_text():
    chunk = "First **bold** quote here. Middle <b>text</b>. Second quote [link](http://x)."
    out = marked_html(chunk, ["First **bold** quote here.", "Second quote [link](http://x)."])
    assert out == (
        '<div class="pqa-chunk"><mark>First bold quote here.</mark> Middle &lt;b&gt;text'
        "&lt;/b&gt;. <mark>Second quote link.</mark></div>"
    )
    assert "**" not in out and "](" not in out


def test_answer_markers_link_to_their_cards():
    out = answer_html("Kept 30 days **only** <i>x</i> [1] and [2]; not [9].", 4, {1, 2})
    assert '<a class="pqa-ref" href="#pqa-4-1" target="_self">[1]</a>' in out
    assert 'href="#pqa-4-2"' in out and "[9]" in out and "pqa-4-9" not in out
    assert "&lt;i&gt;x&lt;/i&gt;" in out and "**" not in out
    header = source_header_html([1, 3], Heading("T", "T > S", "corpus/a.md:3"), turn=4)
    assert '<span id="pqa-4-1"></span><span id="pqa-4-3"></span>' in header
    assert "[1][3] T" in header


def test_a_card_header_names_publisher_date_internal_and_links_to_both_originals():
    heading = Heading(
        "Title <x>",
        "Title <x> > Support routine",
        "corpus/b.pdf, page 2, line 5",
        url="https://example.org/a",
        viewer="?doc=corpus%2Fb.pdf&line=9&end=9",
        publisher="Acme <Inc>",
        date="2024-02-02",
        internal=True,
    )
    out = source_header_html([1], heading)
    assert "Acme &lt;Inc&gt; · 2024-02-02" in out
    assert "internal procedure" in out and "page 2, line 5" in out
    assert 'href="https://example.org/a"' in out
    assert 'href="?doc=corpus%2Fb.pdf&amp;line=9&amp;end=9"' in out


def test_a_document_is_shown_as_numbered_escaped_lines_with_cited_lines_marked():
    out = lines_html("one\n<script>two</script>\nthree", {2}, first=2)
    assert "one" not in out
    assert (
        '<span id="L2"><code>   2</code> <mark>&lt;script&gt;two&lt;/script&gt;</mark></span>'
        in out
    )
    entry = document_entry_html("<b>T</b>", ["Pub", "", "3 chunks"], "corpus/a.md", '?doc="x')
    assert "&lt;b&gt;T&lt;/b&gt;" in entry and "Pub · 3 chunks" in entry
    assert 'href="?doc=&quot;x"' in entry
