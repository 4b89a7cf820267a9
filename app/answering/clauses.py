"""Clauses of a chat-model answer, and which passages each one cites (docs/llm.md).

A sentence can hold a true clause and a false one ("OpenAI keeps data 30 days, and sells
it"); checked as one sentence, the true part carries the false one. So the citation check
splits every sentence into clauses: after a marker in mid-sentence, at ``;`` and ``:``,
and at ", and" / ", but" / ", while" (and the like) when what follows has a verb of its
own. A clause cites the markers of the nearest marker group that follows it in its
sentence; a lead-in ending in ``:`` with no marker after it in its sentence cites the next
marker group of the answer (the list it introduces). Also here: whether a clause and the
passage sentence it matches differ in negation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.answering.markers import MARKER, marker_numbers

_MARKER_GROUP = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
# Where a new clause may begin: a semicolon, a colon followed by more text, or a comma and
# a conjunction. Subordinators always open a clause; coordinators only before a verb.
_SEPARATOR = re.compile(
    r";\s*|(?<=:)\s+(?=\S)"
    r"|,\s+(?P<conj>and|but|while|whereas|although|though|yet|so)\b\s*",
    re.IGNORECASE,
)
_CONJUNCTION = re.compile(r"^(?:and|but|while|whereas|although|though|yet|so)\b\s*", re.I)
_ALWAYS_CLAUSE = {"while", "whereas", "although", "though"}
_AUXILIARIES = frozenset(
    """is are was were be been am can cannot could may might must will would shall should
    do does did has have had need needs isn't aren't wasn't weren't don't doesn't didn't
    won't can't""".split()
)
_SUBJECTS = frozenset("it they he she we you this these those there i".split())
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-/@.]*[A-Za-z0-9]|[A-Za-z0-9]|[,;:]")
# Negation cues; "no" directly followed by a comma answers a question ("No, only ...").
_NEGATIONS = frozenset("not never no none nor cannot without neither".split())
NEGATION_SCOPE = 5  # words after a cue that it negates


@dataclass
class Clause:
    """One clause of the answer: its span (clauses of a sentence tile it), its text without
    markers and the sources it cites."""

    start: int
    end: int
    body: str
    cited: list[int]
    lead_in: bool = False  # ends with ":" and cites what follows it


def plain(text: str) -> str:
    """``text`` without markers, whitespace collapsed, no space before punctuation."""
    body = " ".join(MARKER.sub(" ", text).split())
    return re.sub(r"\s+([.!?,;:])", r"\1", body)


def has_own_verb(text: str) -> bool:
    """Whether a conjunct reads as a clause of its own: it has an auxiliary or modal, starts
    with a pronoun subject, or its second word is a finite verb ("OpenAI deletes ...")."""
    words = [w.lower() for w in _WORD.findall(text) if w not in ",;:"]
    if len(words) < 2:
        return False
    if any(w in _AUXILIARIES or w.endswith(("n't", "n’t")) for w in words):
        return True
    return words[0] in _SUBJECTS or re.fullmatch(r"[a-z]+(?:es|s|ed)", words[1]) is not None


def _cuts(answer: str, start: int, end: int) -> list[int]:
    """Offsets inside [start, end) where a new clause of the sentence begins."""
    cuts = set()
    for group in _MARKER_GROUP.finditer(answer, start, end):
        if answer[group.end() : end].strip(" \t.!?,;:"):
            cuts.add(group.end())
    for sep in _SEPARATOR.finditer(answer, start, end):
        conj = (sep.group("conj") or "").lower()
        rest = answer[sep.end() : end]
        if conj and conj not in _ALWAYS_CLAUSE and not has_own_verb(rest):
            continue
        cuts.add(sep.start() if sep.group(0).startswith((",", ";")) else sep.end())
    return sorted(c for c in cuts if start < c < end)


def split_sentence(answer: str, start: int, end: int) -> list[Clause]:
    """The clauses of the sentence ``answer[start:end]``; each cites the nearest marker group
    at or after its end within the sentence (none: an uncited clause, or a lead-in)."""
    bounds = [start, *_cuts(answer, start, end), end]
    clauses: list[Clause] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        body = plain(answer[a:b]).lstrip(" ,;")
        body = _CONJUNCTION.sub("", body, count=1)
        if not re.search(r"\w", body):
            if clauses:  # bare punctuation or markers: part of the clause before
                clauses[-1].end = b
                clauses[-1].cited += marker_numbers(answer[a:b])
            continue
        clauses.append(Clause(a, b, body, marker_numbers(answer[a:b])))
    for i, clause in enumerate(clauses):
        if not clause.cited:
            clause.cited = next((c.cited for c in clauses[i + 1 :] if c.cited), [])
            clause.lead_in = clause.body.endswith(":") and not clause.cited
    return clauses


def negated_near(text: str, shared: set[str], terms_of) -> bool:
    """Whether a negation cue in ``text`` governs one of the ``shared`` terms (within
    NEGATION_SCOPE words after it). ``terms_of`` maps a word to its search terms."""
    words = _WORD.findall(text)
    for i, word in enumerate(words):
        lower = word.lower()
        cue = lower in _NEGATIONS or lower.endswith(("n't", "n’t"))
        if not cue or (lower == "no" and i + 1 < len(words) and words[i + 1] == ","):
            continue
        scope = [w for w in words[i + 1 : i + 1 + NEGATION_SCOPE] if w not in ",;:"]
        if lower.endswith(("n't", "n’t")):
            scope.append(word)  # "doesn't train": the verb is in the cue's own word
        if any(set(terms_of(w)) & shared for w in scope):
            return True
    return False
