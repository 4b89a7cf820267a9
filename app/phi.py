"""The PHI check: likely PHI/PII in a question, found before it is sent to a remote model.

Patterns and cues, no model (standard library and the US Census name lists of the small
``names`` package): presidio-analyzer was measured for this and not taken (docs/phi.md:
250 MB with spaCy, 5 s to import, and its e-mail recognizer fetches a suffix list from
the internet). What is found, by ``kind``:

- ``name``: a title and a capitalised word ("Dr. Patel", "Mrs. Elizabeth Clark"); a cue
  ("patient", "client", "colleague", "my name is") and a capitalised name; a capitalised
  pair whose first word is a given name of the census list and is not a common word
  ("John Smith"), unless its second word is a word of the indexed documents ("Will
  OpenAI ...") or a common word.
- ``date``: a calendar date with a day (04/12/1978, 1985-07-22, March 3, 1962, 7 June
  1990): whose date it is cannot be told, so a contract's date counts too; a month and
  year or a year alone ("since March 2023") does not.
- ``ssn``: NNN-NN-NNNN (or with spaces); nine digits after "SSN" / "social security".
- ``phone``: North American and international numbers ((617) 555-0142, +44 20 7946 0958).
- ``email``: an e-mail address.
- ``address``: a house number and a street ("42 Elm Street", "350 Fifth Avenue, Apt 12B").
- ``record_number``: a medical record, member, insurance, policy, subscriber, account or
  chart number after its cue ("MRN 00482917", "member ID XKD482910335"), or any run of
  seven or more digits.

:func:`redact` replaces each finding with a placeholder such as ``[NAME]``. Nothing here
logs: a finding's text is the PHI itself.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from functools import cache

KINDS = ("name", "date", "ssn", "phone", "email", "address", "record_number")
PLACEHOLDERS = {
    "name": "[NAME]",
    "date": "[DATE]",
    "ssn": "[SSN]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "address": "[ADDRESS]",
    "record_number": "[ID]",
}
# How a kind is named to a reader ("a name and a date were found").
LABELS = {
    "name": "a name",
    "date": "a date",
    "ssn": "a social security number",
    "phone": "a phone number",
    "email": "an e-mail address",
    "address": "a street address",
    "record_number": "a record or insurance number",
}


@dataclass(frozen=True)
class Finding:
    """Likely PHI in a text: its kind (one of :data:`KINDS`), where it is (``span``:
    start and end offsets) and the text found there."""

    kind: str
    span: tuple[int, int]
    text: str


# ------------------------------------------------------------------------ the patterns

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|"
    r"Place|Pl|Terrace|Circle|Highway|Hwy|Parkway|Pkwy|Square|Sq)\b\.?"
)
_ID_CUE = (
    r"(?:MRN|medical record(?: number| no\.?)?|chart(?: number| no\.?)|"
    r"(?:member|subscriber|patient|insurance|policy|account|health plan|group|"
    r"beneficiary|Medicare|Medicaid)(?: (?:ID|id|number|no\.?|#))+|policy|Medicare|Medicaid)"
)
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")),
    ("ssn", re.compile(r"(?<![\d-])\d{3}(?P<sep>[- ])\d{2}(?P=sep)\d{4}(?![\d-])")),
    (
        "ssn",
        re.compile(
            r"(?i:\bSSN|social security(?: number| no\.?)?)\b\W{0,3}(?:is\s+)?(?P<v>\d{9})\b"
        ),
    ),
    (
        "date",
        re.compile(
            rf"(?<![\d/.-])(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})|\d{{4}}-\d{{2}}-\d{{2}}|"
            rf"{_MONTH} {_DAY},? \d{{4}}|{_DAY} {_MONTH},? \d{{4}}|{_MONTH} {_DAY}\b)(?![\d/.-]\d)"
        ),
    ),
    (
        "record_number",
        re.compile(
            rf"(?i:\b{_ID_CUE})(?:\s*(?:#|:|is|of)\s*|\s+)(?:[A-Z]{{2,6}}\s+)?"
            r"(?P<v>(?=[\w-]*\d[\w-]*\d)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)"
        ),
    ),
    (
        "phone",
        re.compile(
            r"(?<![\w+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"
            r"|(?<![\w+])\+\d{1,3}(?:[ .-]\d{1,4}){2,4}(?![\w-])"
            r"|(?<![\w-])0\d{2,4} \d{3,4} \d{3,4}(?![\w-])"
        ),
    ),
    (
        "address",
        re.compile(
            rf"(?<![\w-])\d{{1,6}} (?:[A-Z][a-z]+ ){{1,3}}{_STREET}"
            r"(?:,? (?:Apt|Suite|Unit|#)\.? ?\w+)?"
        ),
    ),
    ("record_number", re.compile(r"(?<![\w-])[A-Z]{0,4}\d{7,}(?![\w-])")),
]

_TITLE = r"(?:Dr|Mr|Mrs|Ms|Mx|Prof|Miss)\.?"
# A capitalised word in Latin-1 letters ("Müller", "O'Connor", "Al-Sayed"; not "Müller's").
_CAPITAL = r"[A-ZÀ-Þ][a-zß-ÿ]+(?:['’][A-ZÀ-Þ][a-zß-ÿ]+|-[A-ZÀ-Þ]?[a-zß-ÿ]+)?"
_TITLED = re.compile(rf"\b{_TITLE} (?:{_CAPITAL} ){{0,2}}{_CAPITAL}\b")
_CUED = re.compile(
    rf"(?i:\b(?:patient|client|colleague|resident|member|my name is|named|called))"
    rf" ({_CAPITAL}(?: {_CAPITAL})?)\b"
)
_WORD = re.compile(r"[A-Za-z][a-z]+")
# A lookahead, so pairs overlap: "Nurse Rachel Adams" tries "Rachel Adams" too.
_PAIR = re.compile(rf"\b(?=({_CAPITAL})((?: [A-Z]\.)? {_CAPITAL})\b)")

# Given names of the census list that are common English words (or products, months):
# never a name on their own.
_NOT_GIVEN = frozenset(
    "will may can june april august mark bill grace joy hope faith art chase page my "
    "sunday van le del la young king major rich lane max claude ada alexa gemini "
    "sky rose ray dean gene drew reed early long love an son chance sterling "
    "christian august trust summer autumn winter dell".split()
)
# Words that end no name in these questions: the common words of compliance questions
# (a capitalised "Business Associate", "Privacy Rule", "Security Officer").
_NOT_SURNAME = frozenset(
    "agreement associate associates business care cloud data enterprise health "
    "information officer plan policy privacy rule security service services team "
    "api is does can will the".split()
)


@cache
def _given_names() -> frozenset[str]:
    """The given names of the 1990 US Census lists (lower case)."""
    from importlib.resources import files

    folder = files("names")
    lines = []
    for name in ("dist.male.first", "dist.female.first"):
        lines += (folder / name).read_text(encoding="ascii").splitlines()
    return frozenset(line.split()[0].lower() for line in lines if line.strip())


class PhiDetector:
    """Finds likely PHI in a text. ``vocabulary``: the lower-case words of the indexed
    documents; a capitalised pair ending in one of them is not taken for a name."""

    def __init__(self, vocabulary: Container[str] = frozenset()):
        self.vocabulary = vocabulary

    def find(self, text: str) -> list[Finding]:
        """The findings in ``text``, in order, none overlapping another (the first
        pattern, then the longer finding, wins)."""
        found = [*self._patterns(text), *self._names(text)]
        return _without_overlaps(text, found)

    def _patterns(self, text: str) -> list[Finding]:
        found = []
        for kind, pattern in _PATTERNS:
            for match in pattern.finditer(text):
                # The value alone when the pattern names it (after a cue such as "MRN").
                start, end = match.span("v" if "v" in pattern.groupindex else 0)
                found.append(Finding(kind, (start, end), text[start:end]))
        return found

    def _names(self, text: str) -> list[Finding]:
        found = [Finding("name", m.span(), m.group()) for m in _TITLED.finditer(text)]
        for match in _CUED.finditer(text):
            words = match.group(1).split()
            if words[0].lower() not in self.vocabulary or words[0].lower() in _given_names():
                found.append(Finding("name", match.span(1), match.group(1)))
        for match in _PAIR.finditer(text):
            first, last = match.group(1), match.group(2).split()[-1]
            if self._is_name_pair(first, last):
                start, end = match.start(1), match.end(2)
                found.append(Finding("name", (start, end), text[start:end]))
        return found

    def _is_name_pair(self, first: str, last: str) -> bool:
        given = first.lower()
        if given in _NOT_GIVEN or given not in _given_names():
            return False
        surname = re.split(r"['’]", last.lower())[0]
        return surname not in _NOT_SURNAME and surname not in self.vocabulary


def _without_overlaps(text: str, found: list[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    # Longer first, then earlier, then the more specific kind (a number after "SSN" is an
    # SSN, not a record number): an address's house number is not a record number too.
    for finding in sorted(
        _merged(text, found),
        key=lambda f: (f.span[0] - f.span[1], f.span[0], KINDS.index(f.kind)),
    ):
        start, end = finding.span
        if all(end <= k.span[0] or start >= k.span[1] for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.span)


def _merged(text: str, found: list[Finding]) -> list[Finding]:
    """Overlapping findings of one kind as one ("Ana Lucia" and "Lucia Ferreira")."""
    merged: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.kind, f.span)):
        last = merged[-1] if merged else None
        if last and last.kind == finding.kind and finding.span[0] < last.span[1]:
            start, end = last.span[0], max(last.span[1], finding.span[1])
            merged[-1] = Finding(last.kind, (start, end), text[start:end])
        else:
            merged.append(finding)
    return merged


def redact(text: str, findings: list[Finding]) -> str:
    """``text`` with each finding replaced by its kind's placeholder ("[NAME]")."""
    parts, position = [], 0
    for finding in sorted(findings, key=lambda f: f.span):
        start, end = finding.span
        parts += [text[position:start], PLACEHOLDERS[finding.kind]]
        position = end
    return "".join(parts) + text[position:]


def vocabulary_of(texts) -> frozenset[str]:
    """The lower-case words of ``texts`` (the indexed documents), for :class:`PhiDetector`."""
    words: set[str] = set()
    for text in texts:
        words.update(word.lower() for word in _WORD.findall(text))
    return frozenset(words)


def kinds(findings: list[Finding]) -> list[str]:
    """The kinds found, each once, in :data:`KINDS` order."""
    present = {f.kind for f in findings}
    return [kind for kind in KINDS if kind in present]


def describe(findings: list[Finding]) -> str:
    """What was found, by kind, never the values: "a name and a date"."""
    labels = [LABELS[kind] for kind in kinds(findings)]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]
