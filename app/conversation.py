"""Follow-up questions, offline: is a question a follow-up of the conversation, and if so
what standalone query to search.

No language model: the decision reads the question's own signals (an opener like "and
for files?" or "what about ChatGPT Enterprise?", a pronoun such as "it" or "that", a very
short question) and measured retrieval confidence (the best dense similarity of the
question alone against the question plus the previous turn's subject). A greeting or a
thanks is never rewritten; a question without any signal is searched as typed.
Thresholds measured on evals/conversations.jsonl (docs/evals.md, "Follow-up questions").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.errors import UserError

# A question of at most this many words leans on the conversation ("and GDPR?").
SHORT_WORDS = 4
# An opener (or a lone pronoun) signals a follow-up: rewrite unless the combined query
# retrieves clearly worse than the question alone (by more than this).
STRONG_TOLERANCE = 0.02
# A weaker signal (short, or a pronoun inside): rewrite only when the question alone
# retrieves weakly and the combined query clearly better.
WEAK_ALONE = 0.45
WEAK_GAIN = 0.05

_OPENER = re.compile(
    r"^\s*(?:and|also|but|plus|then|so|ok(?:ay)?,?\s+(?:and|what about)|what about|how about|"
    r"what of|same for|and what about|and for)\b",
    re.IGNORECASE,
)
_PRONOUNS = frozenset(
    "it its it's that those these them they their there this one ones same".split()
)
_SMALL_TALK = re.compile(
    r"^\s*(?:(?:hi|hello|hey)(?: there)?|good (?:morning|afternoon|evening)|"
    r"thanks?(?: you)?(?: (?:very|so) much)?|thx|cheers|ok(?:ay)?|great|ok(?:ay)? great|"
    r"perfect|cool|bye|goodbye|got it|"
    r"that'?s (?:all|helpful|great)|nice)[\s!.,]*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9@./\-]*")
# Words a question is phrased with, not what it is about: never part of a subject.
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how can could do does did is are was were "
    "will would should may might must we our us you your get need want tell know".split()
)


@dataclass(frozen=True)
class Turn:
    """One earlier turn of a conversation."""

    question: str
    answer: str


@dataclass(frozen=True)
class Rewrite:
    """What to search for a question: ``searched`` is the question itself when it is not
    a follow-up; ``reason`` says why (no question text in it: it may be logged)."""

    searched: str
    followup: bool
    reason: str


def parse_history(value: object, where: str = "history") -> list[Turn]:
    """Turns from JSON-like data (a list of {"question", "answer"} objects), or a user
    error saying which item is wrong."""
    shape = '[{"question": "...", "answer": "..."}, ...]'
    if not isinstance(value, list):
        raise UserError(f"{where}: expected a list of turns {shape}")
    turns = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) for key in ("question", "answer")
        ):
            raise UserError(
                f'{where}: turn {i} must be an object with text "question" and "answer" '
                f"(expected {shape})"
            )
        turns.append(Turn(item["question"], item["answer"]))
    return turns


def is_small_talk(question: str) -> bool:
    """A greeting, thanks or acknowledgement: never rewritten."""
    # Imported here: the facade imports this module, and a no-op ingest must stay cheap.
    from app.routine.decide import is_acknowledgement

    return bool(_SMALL_TALK.match(question)) or is_acknowledgement(question)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that say what it is about, as written, in order, once each."""
    # Imported here: the facade imports this module for Turn, and retrieval is heavy.
    from app.retrieval import STOPWORDS

    out: list[str] = []
    for word in _WORD.findall(text):
        word = word.strip(".-/")
        low = word.lower()
        if (
            not word
            or low in STOPWORDS
            or low in _QUESTION_WORDS
            or low in _PRONOUNS
            or (len(word) == 1 and word.isalpha())
        ):
            continue
        if low not in {w.lower() for w in out}:
            out.append(word)
    return out


def signal(question: str) -> str | None:
    """ "opener" or "pronoun" (strong), "short" (weak), or None: what in the question
    itself says it leans on the conversation."""
    if _OPENER.match(question):
        return "opener"
    words = [w.lower() for w in _WORD.findall(question)]
    if words and words[0] in _PRONOUNS - {"this", "one", "ones"}:
        return "pronoun"
    if any(w in _PRONOUNS for w in words):
        return "pronoun-inside"
    if len(words) <= SHORT_WORDS:
        return "short"
    return None


def subject(history: Sequence[Turn]) -> list[str]:
    """The previous turn's subject: its question's content words, and the turn before's
    when that question was itself a follow-up."""
    if not history:
        return []
    words = content_words(history[-1].question)
    if len(history) > 1 and signal(history[-1].question) is not None:
        words = content_words(history[-2].question) + words
    seen: set[str] = set()
    return [w for w in words if not (w.lower() in seen or seen.add(w.lower()))]


def standalone(
    question: str, history: Sequence[Turn], confidence: Callable[[str], float]
) -> Rewrite:
    """Decide whether ``question`` is a follow-up of ``history`` and what to search.

    ``confidence(query)`` is the best dense similarity retrieval finds for a query; it is
    called only when the question carries a follow-up signal.
    """
    if not history:
        return Rewrite(question, False, "no history")
    if is_small_talk(question):
        return Rewrite(question, False, "small talk")
    cue = signal(question)
    if cue is None:
        return Rewrite(question, False, "stands alone")
    own = {w.lower() for w in content_words(question)}
    added = [w for w in subject(history) if w.lower() not in own]
    if not added:
        return Rewrite(question, False, "nothing to add")
    combined = f"{question.rstrip(' ?.!')} ({' '.join(added)})"
    alone, joint = confidence(question), confidence(combined)
    if cue in ("opener", "pronoun"):
        rewrite = joint + STRONG_TOLERANCE >= alone
    else:
        rewrite = alone < WEAK_ALONE and joint - alone >= WEAK_GAIN
    measured = f"({cue}; alone {alone:.3f}, with the subject {joint:.3f})"
    if rewrite:
        return Rewrite(combined, True, f"follow-up {measured}")
    return Rewrite(question, False, f"searched as typed {measured}")
