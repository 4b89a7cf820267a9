"""Whether a question starts, continues or ends a routine, offline.

The routine serves the person and must not get in the way of a plain question:

- an open request about the routine's topic ("I need a BAA", "how do we get a BAA?")
  whose branch is unknown gets the clarifying question;
- a request (or a report that the request was turned down) that already names a branch
  ("we need a BAA for the API", "our BAA request was rejected") gets that branch;
- a specific question ("which address do I email?", "how long until they reply?", "is
  an enterprise agreement required?") is plain Q&A, even when it names the topic;
- after the clarifying question, a reply naming a branch ("the API", "Enterprise")
  gets that branch; after the closing question, "no, that's all" ends the routine
  (resolved); anything else is plain Q&A again.

Where a conversation stands is read from its history (the answers' text), so every
front end, and a stateless ``ask --jsonl`` caller, gets the same flow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from app.routine.parse import Branch, Routine


class Turn(Protocol):
    question: str
    answer: str


@dataclass(frozen=True)
class Decision:
    """What to do with a question: "plain" (ordinary Q&A), "clarify", "branch" (give
    ``branch``) or "resolve" (end the routine); ``reason`` holds no question text."""

    action: str
    routine: Routine | None = None
    branch: Branch | None = None
    reason: str = ""


PLAIN = Decision("plain", reason="no routine applies")

# A question asking for one fact, not for help with the whole request.
_FACTUAL_START = re.compile(
    r"(?i)^\s*(?:which|where|whom|whose|when|why|is|are|was|were|does|do|did|has|have|"
    # "Who do I contact to get a BAA?" asks where the whole request goes: that depends
    # on the branch, as "how do we get a BAA?" does; "who reviews requests?" is a fact.
    r"who(?!\s+(?:do|should|can|could|would)\s+(?:i|we)\s+(?:contact|talk|speak|reach|ask|go)\b)|"
    r"should|how (?:long|soon|quickly|fast|many|much|often)|"
    r"what(?!\s+(?:do|should|would)\s+(?:i|we)\s+(?:need\s+to\s+)?do\b)"
    r"(?!(?:'s|\s+is|\s+are)\s+the\s+(?:process|steps?|procedure)\b))\b",
)
_FACTUAL_WORDS = re.compile(
    r"(?i)\b(?:address|e-?mail|reply|respond|response|how long|days?|covered|cover|covers|"
    r"eligible|without|enterprise (?:agreement|contract)|cost|costs|price|fee)\b",
)
_REQUEST = re.compile(
    r"(?i)\b(?:need|needs|want|wants|require|requires|get|getting|obtain|sign|signing|"
    r"request|requesting|apply|applying|set up|looking for|like|interested|help|start|"
    r"begin|kick off|arrange|please|contact|talk to|speak to|reach)\b",
)
_REJECTED = re.compile(
    r"(?i)\b(?:rejected|turned down|denied|declined|refused|knocked back|"
    r"(?:not|n't|never)\s+(?:been\s+|get\s+|got\s+|be\s+)?approved|"
    r"(?:didn't|did not|doesn't|does not)\s+pass)\b",
)
_WORD = re.compile(r"[A-Za-z0-9']+")
# The words an acknowledgement is made of, and nothing else: "No, that's all", "nope,
# that's it", "ok thanks", "great, that's all". Said after the closing question, it ends
# the routine; app/conversation.py never rewrites one.
ACK_WORDS = frozenset(
    "no nope nah thanks thank thx you that's thats that all it everything ok okay great "
    "perfect cool nice much very so got cheers bye goodbye good fine nothing else we're "
    "i'm we i am are".split()
)
_POINTING = re.compile(r"(?i)\b(?:that|it|this|those|them|there)\b")
_MARKERS = re.compile(r"(?:\s*\[\d+\])+\s*$")  # the citation markers ending an answer
SHORT_WORDS = 4
# What the page and the CLI offer as the answer to the closing question.
DONE_OPTION = "No, that's all"


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _plural(word: str) -> str:
    return re.escape(word) + r"s?"


def mentions_topic(question: str, routine: Routine) -> bool:
    """Whether the question names what the routine is about ("BAA", "BAAs", "business
    associate agreement")."""
    pattern = r"\b(?:" + "|".join(_plural(t) for t in routine.topic) + r")\b"
    return re.search(pattern, question, re.IGNORECASE) is not None


def named_branches(question: str, routine: Routine, loose: bool = False) -> list[Branch]:
    """The branches the question names: a choice by its label's first word ("API",
    "ChatGPT"), or, ``loose`` (a reply to the clarifying question), by any word of it
    ("Enterprise"); a state such as "Not approved" by saying so ("rejected", "turned
    down")."""
    words = _words(question)
    found = []
    for branch in routine.branches:
        label = [w.lower() for w in _WORD.findall(branch.label)]
        if branch.choice:
            hit = bool(label) and (label[0] in words or (loose and words & set(label)))
        else:
            hit = _REJECTED.search(question) is not None or branch.label.lower() in question.lower()
        if hit:
            found.append(branch)
    return found


def is_factual(question: str) -> bool:
    """A question asking for one fact ("which address do I email?"), not for help with
    the whole request."""
    return bool(_FACTUAL_START.match(question) or _FACTUAL_WORDS.search(question))


def is_request(question: str, routine: Routine) -> bool:
    """An open request about the routine's topic: "I need a BAA", "how do we get a BAA?",
    "BAA for the API please" (a short mention counts as asking)."""
    if not mentions_topic(question, routine) or is_factual(question):
        return False
    return bool(_REQUEST.search(question)) or len(_WORD.findall(question)) <= SHORT_WORDS


def is_acknowledgement(reply: str) -> bool:
    """ "No, that's all", "nope, that's it", "ok thanks": nothing asked, nothing more wanted."""
    words = {w.strip("'") for w in _words(reply.replace("’", "'"))} - {""}
    return bool(words) and words <= ACK_WORDS


def stage(history: Sequence[Turn], routine: Routine) -> str:
    """Where the conversation stands: "clarifying" (the last answer asked which branch),
    "closing" (it gave a branch and asked if there is anything else) or "" (neither)."""
    if not history:
        return ""
    last = _MARKERS.sub("", history[-1].answer).strip()
    if last.endswith(routine.clarify.text):
        return "clarifying"
    if routine.closing is not None and last.endswith(routine.closing.text):
        return "closing"
    return ""


def decide(question: str, history: Sequence[Turn], routine: Routine | None) -> Decision:
    """What to do with ``question`` after ``history`` (earlier turns, oldest first)."""
    if routine is None:
        return PLAIN
    where = stage(history, routine)
    if where == "closing" and is_acknowledgement(question):
        return Decision("resolve", routine, reason="the customer needs nothing else")
    if where == "clarifying" and not is_factual(question):
        named = named_branches(question, routine, loose=True)
        if len(named) == 1:
            return Decision("branch", routine, named[0], reason="the reply names a branch")
    rejected = mentions_topic(question, routine) and _REJECTED.search(question)
    if not (is_request(question, routine) or (rejected and not is_factual(question))):
        return PLAIN
    named = named_branches(question, routine)
    if not named and history and _POINTING.search(question):
        # "How do we get a BAA for that?" after "Can we send PHI through the API?"
        named = [b for b in named_branches(history[-1].question, routine) if b.choice]
    states = [branch for branch in named if not branch.choice]
    if len(states) == 1 or len(named) == 1:  # a reported state outweighs a named choice
        branch = (states or named)[0]
        return Decision("branch", routine, branch, reason="the request names a branch")
    return Decision("clarify", routine, reason="an open request: which branch?")
