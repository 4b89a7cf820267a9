"""Citation markers: the one pattern for ``[n]``, and quoted document text that cannot hold
one.

An answer's markers are the ``[n]`` its answerer wrote after each quote. A document's own
text may hold the same characters (a footnote "[9]", a poisoned file); quoted into an
answer as they are, they would read, link and count as markers. So every quote put into an
answer goes through :func:`quoted`, which writes bracketed numbers with full-width brackets
("［9］"): a reader sees the document's text, nothing takes it for a marker. The citation's
``quote`` stays the verbatim text of the source file.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def marker_numbers(text: str) -> list[int]:
    """The source numbers of the markers in ``text``, in order."""
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"[,;]", group)]


def quoted(text: str) -> str:
    """Document text as an answer quotes it: bracketed numbers are not markers."""
    return MARKER.sub(lambda m: f"［{m.group(1)}］", text)
