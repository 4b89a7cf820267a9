"""A support routine read from the indexed documents: its clarifying question, branches,
closing question and the functions it calls (with each function's purpose).

The format is the one of the BAA article's internal section (corpus/openai-baa-help-
article.md): under an internal heading ("Support routine ...", app.answering.sentences.
is_internal), a section "Routine" of numbered steps whose sub-items say what to tell the
customer (``Inform the customer: "..."`` or a bare ``"..."``) or which function to call
(``Call the `name` function.``), and a section "Function definitions" listing each
function with its ``**Purpose**``. A step "If the customer ..., then:" is a branch; the
first step that only asks is the clarifying question, a later one the closing question.

Nothing of the answer is written here: every statement is read from the chunks, with its
place in the source (for a citation), so an edited routine changes the flow after
``ingest``. A document without a routine gives none; a malformed one raises
:class:`RoutineError` naming the document and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from app.answering.sentences import is_internal
from app.corpus import ChunkInfo, chunk_body, chunk_document, load_corpus
from app.errors import PrivacyQAError

_STEP = re.compile(r"^\s{0,3}(\d{1,2})\.\s+(.+)$")
_ITEM = re.compile(r"^\s*[-*]\s+(?:(?:[a-z]|[ivx]+)\.\s+)?(.+)$")
_QUOTED = re.compile(r"\"(.+)\"")
_CALL = re.compile(r"\bCall the `([A-Za-z_]\w*)` function\b")
_BRANCH = re.compile(r"^If (.+?),? then:?\s*$", re.IGNORECASE)
_ROUTINE_HEADING = re.compile(r"\b(?:routines?|procedures?|runbooks?|playbooks?)\b", re.I)
_FUNCTIONS_HEADING = re.compile(r"\bfunction definitions?\b", re.IGNORECASE)
_FUNCTION = re.compile(r"^\s*[-*]\s+`([A-Za-z_]\w*)`:?\s*$")
_PURPOSE = re.compile(r"^\s+[-*]\s+\*\*Purpose\*\*:\s*(.+?)\s*$")
# "the customer requires a BAA for the API" -> "API"; "the customer is not approved" ->
# "not approved" (a state, not a choice).
_FOR_OBJECT = re.compile(r"\bfor (?:the |our |an? )?(.+)$", re.IGNORECASE)
_SUBJECT = re.compile(r"^(?:the )?(?:customer|user|requester)\s+(?:is |was |has been )?", re.I)
_TOPIC = re.compile(r"([A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)+) \(([A-Z]{2,})\)")


class RoutineError(PrivacyQAError):
    """A routine section that cannot be followed; the message names the document."""


@dataclass(frozen=True)
class Quote:
    """A sentence of the routine to say, verbatim, with where it stands in the source."""

    text: str
    source: str
    title: str
    section: str
    url: str
    start_line: int
    chunk_text: str


class Call(NamedTuple):
    """A call of one of the routine's functions, with the purpose its definition gives."""

    name: str
    purpose: str


@dataclass(frozen=True)
class Branch:
    """A step "If the customer ..., then:": its label ("API", "Not approved"), whether the
    customer chooses it (a "for X" branch, offered as an option) or it is a state the
    customer reports, and what to say and call, in order."""

    label: str
    choice: bool
    items: tuple[Quote | Call, ...]


@dataclass(frozen=True)
class Routine:
    """A routine as the document gives it."""

    source: str
    title: str
    topic: tuple[str, ...]  # what the routine is about: "BAA", "Business Associate Agreement"
    clarify: Quote
    branches: tuple[Branch, ...]
    closing: Quote | None
    finish: Call | None  # the function called last (marks the case resolved)
    functions: dict[str, str] = field(default_factory=dict)  # name -> purpose

    @property
    def options(self) -> list[str]:
        """The branches the clarifying question offers."""
        return [branch.label for branch in self.branches if branch.choice]


@dataclass(frozen=True)
class _Text:
    """A section's text stitched from its chunks, and each chunk's (start, line, body)."""

    text: str
    start: int
    pieces: list[tuple[int, int, str]]
    info: ChunkInfo

    def quote(self, text: str, at: int) -> Quote:
        """``text`` found at offset ``at`` of the stitched text, as a Quote of its chunk."""
        absolute = self.start + at
        for start, line, body in self.pieces:
            offset = absolute - start
            if offset >= 0 and body[offset : offset + len(text)] == text:
                info = self.info
                return Quote(
                    text,
                    info.source,
                    info.title,
                    info.section,
                    info.url,
                    line + body.count("\n", 0, offset),
                    body,
                )
        raise RoutineError(f"{self.info.source}: a routine line is split between two chunks")


def _stitch(infos_bodies: list[tuple[ChunkInfo, str]]) -> _Text:
    """One section's text from its (overlapping) chunks; gaps between them are blank."""
    ordered = sorted(infos_bodies, key=lambda pair: pair[0].start_char)
    start = ordered[0][0].start_char
    end = max(info.start_char + len(body) for info, body in ordered)
    buffer = ["\n"] * (end - start)
    for info, body in ordered:
        offset = info.start_char - start
        buffer[offset : offset + len(body)] = body
    pieces = [(info.start_char, info.start_line, body) for info, body in ordered]
    return _Text("".join(buffer), start, pieces, ordered[0][0])


def find_routines(chunks: Iterable) -> tuple[list[Routine], list[str]]:
    """The routines of the indexed chunks, and a message per malformed one (named by its
    document). Reads chunk metadata and text only: no model, no search."""
    sections: dict[tuple[str, str], list[tuple[ChunkInfo, str]]] = {}
    for chunk in chunks:
        info = ChunkInfo.of(chunk)
        if is_internal(info.section):
            sections.setdefault((info.source, info.section), []).append((info, chunk_body(chunk)))
    routines, problems = [], []
    for (source, section), parts in sorted(sections.items()):
        heading = section.split(" > ")[-1]
        if not _ROUTINE_HEADING.search(heading) or _FUNCTIONS_HEADING.search(heading):
            continue
        parent = section.rsplit(" > ", 1)[0]
        definitions = [
            parts
            for (src, sec), parts in sections.items()
            if src == source and sec.startswith(parent + " > ")
            if _FUNCTIONS_HEADING.search(sec.split(" > ")[-1])
        ]
        try:
            functions = parse_functions(_stitch(definitions[0]).text) if definitions else {}
            routine = parse_routine(_stitch(parts), functions)
            if routine is not None:
                routines.append(routine)
        except RoutineError as exc:
            problems.append(str(exc))
    return routines, problems


def check_routines(corpus_dir, sources: Iterable[str]) -> list[str]:
    """A message per malformed routine among these documents of ``corpus_dir`` (what an
    ingest reports by name). Each section is one piece here: no tokenizer, no model."""
    wanted = set(sources)
    if not wanted:
        return []
    problems: list[str] = []
    whole = 10**9  # tokens: a section is never split

    def words(text: str) -> int:
        return len(text.split())

    for doc in load_corpus(corpus_dir, only=wanted).documents:
        problems += find_routines(chunk_document(doc, words, whole, whole, 0))[1]
    return problems


def parse_functions(text: str) -> dict[str, str]:
    """name -> purpose, from a "Function definitions" list."""
    functions: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if match := _FUNCTION.match(line):
            name = match.group(1)
            functions[name] = ""
        elif (match := _PURPOSE.match(line)) and name:
            functions[name] = match.group(1)
    return functions


def _steps(text: str) -> list[tuple[int, str, list[tuple[int, str]]]]:
    """(offset, step text, [(offset, item text)]) of each numbered step."""
    steps: list[tuple[int, str, list[tuple[int, str]]]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        if match := _STEP.match(line.rstrip("\n")):
            steps.append((offset + match.start(2), match.group(2).strip(), []))
        elif (match := _ITEM.match(line.rstrip("\n"))) and steps:
            steps[-1][2].append((offset + match.start(1), match.group(1).strip()))
        offset += len(line)
    return steps


def _item(section: _Text, at: int, text: str, functions: dict[str, str]) -> Quote | Call | None:
    """A sub-item as something to say (its quoted sentence) or a function to call."""
    if match := _CALL.search(text):
        name = match.group(1)
        if name not in functions:
            raise RoutineError(
                f"{section.info.source}: the routine calls `{name}`, which its function "
                "definitions do not define"
            )
        return Call(name, functions[name])
    if match := _QUOTED.search(text):
        return section.quote(match.group(1), at + match.start(1))
    return None


def _label(condition: str) -> tuple[str, bool]:
    """A branch's label and whether it is a choice ("for X") or a reported state."""
    if match := _FOR_OBJECT.search(condition):
        return match.group(1).strip(), True
    state = _SUBJECT.sub("", condition).strip()
    return state[:1].upper() + state[1:], False


def parse_routine(section: _Text, functions: dict[str, str]) -> Routine | None:
    """The routine of a stitched "Routine" section; RoutineError when it cannot be
    followed (no numbered steps, no clarifying question, a branch saying nothing, a call
    of an undefined function)."""
    source = section.info.source
    clarify = closing = finish = None
    branches: list[Branch] = []
    steps = _steps(section.text)
    if not steps:
        return None  # a section about the routine, not its steps
    for at, text, subitems in steps:
        items = [_item(section, pos, item, functions) for pos, item in subitems]
        items = [item for item in items if item is not None]
        if match := _BRANCH.match(text):
            label, choice = _label(match.group(1))
            if not items:
                raise RoutineError(f"{source}: the routine's branch '{label}' says nothing")
            branches.append(Branch(label, choice, tuple(items)))
        elif own := _CALL.search(text):
            finish = _item(section, at, own.group(0), functions)
        elif quotes := [item for item in items if isinstance(item, Quote)]:
            if not branches and clarify is None:
                clarify = quotes[0]
            elif branches:
                closing = quotes[0]
    if clarify is None or not [b for b in branches if b.choice]:
        raise RoutineError(
            f"{source}: the routine has no numbered clarifying question with branches to "
            "choose from ('1. ... \"question?\"', '2. If the customer ... for X, then:')"
        )
    return Routine(
        source=source,
        title=section.info.title,
        topic=_topic(section.info.title),
        clarify=clarify,
        branches=tuple(branches),
        closing=closing,
        finish=finish,
        functions=dict(functions),
    )


def _topic(title: str) -> tuple[str, ...]:
    """What the routine is about, from its document's title: a name with its acronym
    ("Business Associate Agreement (BAA)") gives both; otherwise the title itself."""
    if match := _TOPIC.search(title):
        return match.group(2), match.group(1)
    return (title,)
