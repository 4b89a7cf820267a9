"""Sentences of a chunk: where they start and end, and which are worth quoting.

Every sentence is an exact substring of its chunk body, with its offset, so a quote can
always be found in its source file. Also here: the spans an answer may quote besides a
sentence (a sentence without its "Yes,"/"No," lead-in, a lead-in with the list it
introduces) and which sections are internal procedure rather than published text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Markdown furniture at the start of a line: quote marks, bullets, "1." / "a." list labels.
_LINE_PREFIX = re.compile(r"^(?:\s*(?:>|[-*+]|\d+\.|[a-z]\.|[ivx]+\.)\s+)+")
_ITEM_PREFIX = re.compile(r"^\s*(?:[-*+]|\d+\.|[a-z]\.|[ivx]+\.)\s+")
# A sentence ends at . ! ? followed by space and something that starts a sentence.
# Common abbreviations ("eg.", "e.g.", "i.e.", "etc.", "vs.") do not end a sentence.
_SENTENCE_END = re.compile(
    r"(?<!\beg\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)"
    r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“(`\[*])"
)
_TRIM = " \t*_"
# A bold label before a colon, as definition lists write it: "**Purpose**: ...".
_LABEL = re.compile(r"\s*\*\*[^*\n]{1,40}\*\*\s*:\s+")
_CLOSERS = "\"'”’)]*_` "

_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")  # [text](url) and ![alt](src)
_LINK_TEXT = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s")  # [1]: https://...
_FRONT_MATTER = re.compile(r"^(?:-{3,}|[a-z_]+:\s)")  # "---", "title: ..."
# A code identifier that names a function: snake_case or a call "name()".
_FUNCTION_NAME = r"`[A-Za-z_]\w*(?:_\w+|\(\))`"
_FUNCTION_LINE = re.compile(
    rf"^{_FUNCTION_NAME}\s*:?$|{_FUNCTION_NAME}\s+(?:function|method)\b"
    rf"|\b(?:function|method)\s+{_FUNCTION_NAME}",
    re.IGNORECASE,
)
# Words that open a sentence answering a yes/no question: "No, an enterprise agreement is
# not required ..." answers its own heading's question, not necessarily the one asked.
_ANSWER_LEAD = re.compile(
    r"^(?:yes|no|yep|nope|correct|indeed|absolutely|certainly|sure|of course)"
    r"\s*[,.;:!—–-]\s*",
    re.IGNORECASE,
)
# Headings that mark a section as internal procedure (a support agent's routine, the
# functions it calls), not the published text: general words, not a document's headings.
_INTERNAL_HEADING = re.compile(
    r"\b(?:internal|routines?|procedures?|runbooks?|playbooks?|function definitions?|"
    r"agent instructions?|system prompts?)\b",
    re.IGNORECASE,
)
# Words after which a line is unfinished: "... what is also important to mention is that".
# A sentence that only sends the reader elsewhere in the document ("You can read more about
# it in the next paragraphs.", "See below.") states nothing by itself.
_POINTER = re.compile(
    r"\b(?:read more|see (?:below|above)|(?:next|following|previous) (?:paragraph|section)s?"
    r"|(?:described|explained|shown) (?:below|above)|as follows)\b",
    re.IGNORECASE,
)
# A sentence that offers a list or page it does not give, and links nothing: "You can see a
# list of those endpoints." (the link was lost when the page was copied).
_MISSING_TARGET = re.compile(
    r"\b(?:see|find|view|check)\s+(?:a|the)\s+(?:full\s+|complete\s+)?(?:list|overview)\s+of"
    r"\s+(?:those|these|them|the\s+\w+\s+here)\b",
    re.IGNORECASE,
)
_POINTER_MAX_WORDS = 2  # words of four letters or more besides the pointer itself
_OPEN_ENDINGS = frozenset("that is are was were the a an to of and or as for with by".split())
MAX_LIST_CHARS = 800  # a lead-in's list is quoted whole only up to this length


@dataclass(frozen=True)
class Sentence:
    text: str
    offset: int  # in the chunk body
    kind: str = "text"  # "text", "quote" (a > line), "item" (a list item)
    line: bool = False  # the sentence is a whole line of its own (no wrapping, no others)


@lru_cache(maxsize=20_000)
def sentences(body: str) -> tuple[Sentence, ...]:
    """Split a chunk body into sentences, each an exact substring with its offset (cached:
    the same chunks come back question after question).

    Blocks are separated by blank lines and by lines that start with markdown furniture
    (a quote mark, a bullet, a list label); a single line break inside a block is just
    wrapping, so a sentence may span it.
    """
    out: list[Sentence] = []
    for block_start, block, kind in _blocks(body):
        cursor = 0
        pieces = []
        for match in [*_SENTENCE_END.finditer(block), None]:
            end = match.end() if match else len(block)
            label = _LABEL.match(block, cursor, end)
            if label:  # "**Purpose**: Provides ...": the claim starts after its label
                cursor = label.end()
            piece = block[cursor:end]
            stripped = piece.strip(_TRIM + "\n")
            if stripped:
                pieces.append(
                    Sentence(stripped, block_start + cursor + piece.index(stripped), kind)
                )
            cursor = end
        if len(pieces) == 1 and "\n" not in block:
            pieces = [Sentence(pieces[0].text, pieces[0].offset, kind, line=True)]
        out.extend(pieces)
    return tuple(out)


def _blocks(body: str) -> list[tuple[int, str, str]]:
    """(offset, text, kind) of each block of the body, markdown prefixes cut off."""
    blocks: list[tuple[int, str, str]] = []
    position, current_start, current_end, kind = 0, None, None, "text"
    for line in body.splitlines(keepends=True):
        prefix = _LINE_PREFIX.match(line)
        content_start = position + (prefix.end() if prefix else 0)
        blank = not line.strip() or (prefix and not line[prefix.end() :].strip())
        if blank or prefix:
            if current_start is not None:
                blocks.append((current_start, body[current_start:current_end], kind))
            current_start = None if blank else content_start
            if prefix and not blank:
                kind = "quote" if prefix.group().lstrip().startswith(">") else "item"
        elif current_start is None:
            current_start, kind = content_start, "text"
        current_end = position + len(line.rstrip("\n"))
        position += len(line)
    if current_start is not None:
        blocks.append((current_start, body[current_start:current_end], kind))
    return blocks


@lru_cache(maxsize=20_000)
def is_quotable(sentence: str | Sentence) -> bool:
    """Skip what cannot answer anything: questions, attributions, bare links, fragments,
    headings and titles, front matter, markup fragments, function definitions and calls,
    and short sentences that only point elsewhere in the document ("see below").

    A sentence that only is a link says nothing, but one that starts with a link
    ("[This](https://trust.openai.com/) is your go-to place ...") does. A line of plain
    text that ends without punctuation and introduces nothing is a heading or a title
    ("Information about HIPAA compliance for healthcare companies"); inside a quotation
    such a line is a claim ("> Until deleted by customer").
    """
    text = sentence.text if isinstance(sentence, Sentence) else sentence
    if text.rstrip(_CLOSERS).endswith("?") or text.startswith(("—", "<", "#")):
        return False
    if _LINK_DEFINITION.match(text) or _FRONT_MATTER.match(text):
        return False
    if text.count("**") % 2 or text.count("`") % 2:  # "Purpose**: ...": a cut-off label
        return False
    if _FUNCTION_LINE.search(text):
        return False
    if _MISSING_TARGET.search(text) and not _LINK.search(text) and "://" not in text:
        return False
    if _POINTER.search(text) and not leads_in(text):
        rest = re.findall(r"[A-Za-z]{4,}", _POINTER.sub("", _LINK.sub("", text)))
        if len(rest) <= _POINTER_MAX_WORDS:
            return False
    words = re.findall(r"[A-Za-z0-9]+", _LINK.sub("", text))
    if (
        isinstance(sentence, Sentence)
        and sentence.line
        and sentence.kind == "text"
        and not text.rstrip(_CLOSERS).endswith((".", "!", ":"))
        and not leads_in(text)
    ):
        return False
    return len(words) >= 3


def leads_in(sentence: str) -> bool:
    """True for a sentence that introduces the next one: it ends with a colon ("... the
    default retention of data is:") or in the middle of a clause ("... is that")."""
    text = sentence.rstrip(_CLOSERS)
    if text.endswith(":"):
        return True
    words = re.findall(r"[A-Za-z]+", text)
    return bool(words) and text[-1:].isalpha() and words[-1].lower() in _OPEN_ENDINGS


def answer_lead(sentence: Sentence) -> Sentence | None:
    """The sentence without its opening "Yes,"/"No," (still an exact substring of the
    body), or None if it has no such lead-in."""
    match = _ANSWER_LEAD.match(sentence.text)
    if not match or match.end() >= len(sentence.text):
        return None
    return Sentence(
        sentence.text[match.end() :], sentence.offset + match.end(), sentence.kind, sentence.line
    )


def with_list(body: str, sentence: Sentence) -> Sentence | None:
    """A lead-in sentence together with the list items that follow it in ``body``, as one
    exact substring (the items' markdown included), or None if no list follows it."""
    end = sentence.offset + len(sentence.text)
    line_end = body.find("\n", end)
    if line_end < 0 or body[end:line_end].strip():
        return None
    position, last = line_end + 1, None
    for line in body[line_end + 1 :].splitlines(keepends=True):
        if _ITEM_PREFIX.match(line):
            last = position + len(line.rstrip())
        elif line.strip() and last is not None and line[:1].isspace():
            last = position + len(line.rstrip())  # an item's wrapped continuation
        else:
            break
        position += len(line)
    if last is None or last - sentence.offset > MAX_LIST_CHARS:
        return None
    return Sentence(body[sentence.offset : last], sentence.offset, sentence.kind)


def enumerates(sentence: str) -> bool:
    """True for a sentence that lists things: three or more code spans, or items joined by
    commas and a final "and"/"or" ("`/v1/chat/completions`, `/v1/embeddings` and ...")."""
    if sentence.count("`") >= 6:
        return True
    if "\n-" in sentence or "\n  -" in sentence:
        return True
    return sentence.count(",") >= 2 and bool(re.search(r",[^,]*\b(?:and|or)\b", sentence))


def is_internal(section: str) -> bool:
    """True for a section whose heading path marks it as internal procedure (a support
    routine, function definitions), not published text. The document's title (the
    path's first part) does not count."""
    headings = section.split(" > ")[1:]
    return any(_INTERNAL_HEADING.search(heading) for heading in headings)


def plain(text: str) -> str:
    """``text`` with each markdown link replaced by its text: what a reader reads (a link's
    address is no word of the sentence)."""
    return _LINK_TEXT.sub(r"\1", text)


def normalised(text: str) -> str:
    """Lowercase words and numbers only, one space apart: for comparing sentences."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("’", "'")))
