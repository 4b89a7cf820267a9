"""What kind of answer a question asks for, when it asks for a value: an amount of money, a
percentage, a count or limit, a frequency, a country or region. A quote that holds no such
value does not answer it, however close its words are: "What does a BAA cost?" is not
answered by "An enterprise agreement is not required to sign a BAA."

These are the numeric answer types of the usual question taxonomy (Li and Roth, "Learning
Question Classifiers", 2002: NUM:money, NUM:perc, NUM:count, NUM:period, and LOC:country
for where data is kept: "Which data centre region stores our API data?" is not answered by
"API business data stored on our systems"), recognised by the plain English words that ask
for them. Questions of other kinds are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from app.answering.questions import asking
from app.places import names_place

# A number standing on its own: "30 days", "1-2", "TLS 1.2", "AES-256"; not the digits of a
# path or name ("/v1/moderations", "GPT-4o").
_NUMBER = r"(?<![\w/.])\d+(?:[.,]\d+)*(?![\w/])"
_NUMBER_WORD = r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|dozen|hundred|few)\b"


# Where data is kept, for "a country or region": what is kept, the verbs that keep it, and
# what a question about where to read something says instead ("where do I find how ...").
_HELD = r"(?:data|servers?|prompts?|files?|information|records?|inputs?|outputs?|logs?|backups?)"
_KEPT = r"(?:stored|hosted|located|housed|processed|resides?|stores?|hosts?)"
_NOT_READING = r"(?:(?!\b(?:how|whether|if|what|which|find|read|see|learn|check)\b)[^?.])"


@dataclass(frozen=True)
class AnswerType:
    name: str  # what the question asks for, as a user reads it
    asked: re.Pattern[str]  # the question asks for it
    given: Callable[[str], object]  # a quote gives it (truthy)


TYPES = (
    AnswerType(
        "an amount of money",
        re.compile(
            r"\b(?:cost|costs|price|prices|pricing|priced|charge|charges|fee|fees|pay|paying|"
            r"discount|discounts|billing|billed|expensive|cheap|cheaper)\b|[$€£]",
            re.IGNORECASE,
        ),
        re.compile(
            r"[$€£¥]|\b(?:free|costs?|prices?|fees?|charged?|paid|usd|eur|dollars?|euros?)\b",
            re.IGNORECASE,
        ).search,
    ),
    AnswerType(
        "a percentage",
        re.compile(r"\b(?:percent|percentage)\b|%", re.IGNORECASE),
        re.compile(r"%|\bpercent", re.IGNORECASE).search,
    ),
    AnswerType(
        "a number",
        re.compile(
            r"\bhow many\b|\b(?:max|maximum|minimum)\b|\blimits?\b|\bquotas?\b"
            r"|\bper (?:second|minute|hour|day|month|org|organi[sz]ation|user|seat)\b",
            re.IGNORECASE,
        ),
        re.compile(rf"{_NUMBER}|{_NUMBER_WORD}", re.IGNORECASE).search,
    ),
    AnswerType(
        "a frequency",
        re.compile(r"\bhow (?:often|frequently)\b", re.IGNORECASE),
        re.compile(
            r"\b(?:every|annual|annually|yearly|monthly|weekly|daily|once|twice|times|"
            r"per (?:year|month|week|day))\b",
            re.IGNORECASE,
        ).search,
    ),
    AnswerType(
        "a country or region",
        re.compile(
            r"\b(?:which|what)\s+(?:\w+\s+){0,2}?(?:regions?|countr(?:y|ies)"
            r"|data\s*cent(?:er|re)s?|jurisdictions?)\b|\bdata\s+residency\b|\bphysically\b"
            # "where is our data stored", not "where do I read how data is stored"
            rf"|\bwhere\b{_NOT_READING}{{0,40}}?(?:\b{_HELD}\b[^?.]{{0,20}}?\b{_KEPT}\b"
            rf"|\b{_KEPT}\b[^?.]{{0,25}}?\b{_HELD}\b)"
            r"|\b(?:servers?|data\s*cent(?:er|re)s?)\s+(?:\w+\s+){0,2}?(?:in|located)\b",
            re.IGNORECASE,
        ),
        names_place,
    ),
)


def asked_for(question: str) -> list[AnswerType]:
    """The value types ``question`` asks for (usually none). Only its interrogative
    sentences ask: in "We're a small clinic paying as we go. Do we need an enterprise
    agreement?" the first sentence is context."""
    return [kind for kind in TYPES if kind.asked.search(asking(question))]


def missing(question: str, quotes: list[str]) -> list[str]:
    """Names of the value types the question asks for that none of ``quotes`` gives. "How
    many hours ...?" asks for a number of hours: a number of days does not give it."""
    out = [kind.name for kind in asked_for(question) if not any(kind.given(q) for q in quotes)]
    unit = counted(question)
    if unit and not out and not any(counts(unit, q) for q in quotes):
        out.append(f"a number of {unit}s")
    return out


_HOW_MANY = re.compile(r"\bhow many\s+([a-z]{3,})", re.IGNORECASE)


def counted(question: str) -> str | None:
    """What "how many <things>" counts, singular ("hours" -> "hour"), or None."""
    match = _HOW_MANY.search(asking(question))
    if not match:
        return None
    word = match.group(1).lower()
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def counts(unit: str, quote: str) -> bool:
    """Whether ``quote`` gives a number of ``unit``: "1-2 business days" counts days, up to
    two words between the number and the unit."""
    number = rf"(?:{_NUMBER}(?:\s*[-–]\s*{_NUMBER})?|{_NUMBER_WORD})"
    return bool(re.search(rf"{number}(?:[\s-]+\w+){{0,2}}?[\s-]+{unit}", quote, re.IGNORECASE))


# What the other common question words ask for, as a preference rather than a veto (a
# quote may answer "how long?" with "until the customer deletes the files"): a duration
# (NUM:period) and a place to go or write to (LOC, HUM:contact in the same taxonomy).
PREFERRED = (
    AnswerType(
        "a duration",
        re.compile(
            r"\bhow (?:long|soon|quickly|fast)\b|\bwhen will\b|\bfor how long\b", re.IGNORECASE
        ),
        re.compile(
            rf"(?:{_NUMBER}|{_NUMBER_WORD})\s+(?:business\s+)?"
            r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b|\buntil\b",
            re.IGNORECASE,
        ).search,
    ),
    AnswerType(
        "a place or address",
        re.compile(
            r"\bwhere\b|\bwho (?:do|should|can) (?:i|we) (?:contact|email|write|ask|talk)"
            r"|\b(?:link|url|address|contact)\b",
            re.IGNORECASE,
        ),
        re.compile(r"https?://|\b[\w.+-]+@[\w-]+\.[\w.]+\b|\bcontact\b", re.IGNORECASE).search,
    ),
)


def preferred(question: str) -> list[AnswerType]:
    """The kinds of answer the question's words prefer (a duration for "how long", an
    address for "where"), read where it asks."""
    asked = asking(question)
    return [kind for kind in PREFERRED if kind.asked.search(asked)]


def gives(kinds: list[AnswerType], quote: str) -> bool:
    """Whether ``quote`` gives one of ``kinds`` of answer (e.g. :func:`preferred`'s)."""
    return any(kind.given(quote) for kind in kinds)
