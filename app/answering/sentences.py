"""Sentences of a chunk: where they start and end, and which are worth quoting.

Every sentence is an exact substring of its chunk body, with its offset, so a quote can
always be found in its source file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Markdown furniture at the start of a line: quote marks, bullets, "1." / "a." list labels.
_LINE_PREFIX = re.compile(r"^(?:\s*(?:>|[-*+]|\d+\.|[a-z]\.|[ivx]+\.)\s+)+")
# A sentence ends at . ! ? followed by space and something that starts a sentence.
# Common abbreviations ("eg.", "e.g.", "i.e.", "etc.", "vs.") do not end a sentence.
_SENTENCE_END = re.compile(
    r"(?<!\beg\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)"
    r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“(`\[*])"
)
_TRIM = " \t*_"

_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")  # [text](url) and ![alt](src)
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s")  # [1]: https://...


@dataclass(frozen=True)
class Sentence:
    text: str
    offset: int  # in the chunk body


def sentences(body: str) -> list[Sentence]:
    """Split a chunk body into sentences, each an exact substring with its offset.

    Blocks are separated by blank lines and by lines that start with markdown furniture
    (a quote mark, a bullet, a list label); a single line break inside a block is just
    wrapping, so a sentence may span it.
    """
    out: list[Sentence] = []
    for block_start, block in _blocks(body):
        cursor = 0
        for match in [*_SENTENCE_END.finditer(block), None]:
            end = match.end() if match else len(block)
            piece = block[cursor:end]
            stripped = piece.strip(_TRIM + "\n")
            if stripped:
                out.append(Sentence(stripped, block_start + cursor + piece.index(stripped)))
            cursor = end
    return out


def _blocks(body: str) -> list[tuple[int, str]]:
    """(offset, text) of each block of the body, markdown prefixes cut off."""
    blocks: list[tuple[int, str]] = []
    position, current_start, current_end = 0, None, None
    for line in body.splitlines(keepends=True):
        prefix = _LINE_PREFIX.match(line)
        content_start = position + (prefix.end() if prefix else 0)
        blank = not line.strip() or (prefix and not line[prefix.end() :].strip())
        if blank or prefix:
            if current_start is not None:
                blocks.append((current_start, body[current_start:current_end]))
            current_start = None if blank else content_start
        elif current_start is None:
            current_start = content_start
        current_end = position + len(line.rstrip("\n"))
        position += len(line)
    if current_start is not None:
        blocks.append((current_start, body[current_start:current_end]))
    return blocks


def is_quotable(sentence: str) -> bool:
    """Skip what cannot answer anything: questions, attributions, bare links, fragments.

    A sentence that only is a link says nothing, but one that starts with a link
    ("[This](https://trust.openai.com/) is your go-to place ...") does.
    """
    if sentence.endswith("?") or sentence.startswith(("—", "<", "#")):
        return False
    if _LINK_DEFINITION.match(sentence):
        return False
    return len(re.findall(r"[A-Za-z0-9]+", _LINK.sub("", sentence))) >= 3


def leads_in(sentence: str) -> bool:
    """True for a sentence that introduces the next one ("... the default retention is:")."""
    return not sentence.rstrip('`*_)"”’').endswith((".", "!", "?"))


def normalised(text: str) -> str:
    """Lowercase words and numbers only, one space apart: for comparing sentences."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("’", "'")))
