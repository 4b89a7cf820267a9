"""Search terms: how retrieval and the lexical index on disk cut text into words.

One function for both sides: the lexical index (app/index/lexical.py) stores the terms of
each chunk, and retrieval (app/retrieval.py, which re-exports these names) searches it
with the terms of the question, so the two must cut text alike. Moved out of
app/retrieval.py (issue 17) because the index layer cannot import retrieval.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Words too common to say anything about relevance. Kept short on purpose: domain words
# such as "data", "api" or "not" stay searchable.
STOPWORDS = frozenset(
    """a an and are as at be by can could do does for from has have how i if in into is it
    its me my of on or our so than that the their them then there these they this those to
    us was we what when where which who whom why will with would you your yours""".split()
)
# Where one sentence of a question ends and the next begins (for reading only the sentences
# that ask: app/answering/questions.py, and names: app/retrieval.py).
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_TOKEN = re.compile(r"[a-z0-9]+(?:[@./\-][a-z0-9]+)*")
_ACRONYM_NUMBER = re.compile(r"\b([A-Z]{2,})( ?)(\d{1,3})\b(?!\.\d)")


def terms(text: str, joined: bool = False) -> list[str]:
    """Lowercased search terms: compounds like 'v1/embeddings' and 'aes-256' plus their parts.

    ``joined``: a hyphenated word also gives its parts written together, so that a passage's
    "fine-tune" matches a question's "finetune" (passages only: a question's "ZDR-eligible"
    would otherwise add a term no passage has).

    Single letters ("s" of "OpenAI's") are dropped, and an acronym with a number is
    found however it is spaced: "SOC 2" and "SOC2" both give "soc2", "soc" and "2".
    """
    out: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        parts = re.split(r"[@./\-]", token)
        if len(parts) > 1:  # the compound, its words folded as they are on their own
            out.append(_ALPHA_RUN.sub(lambda m: stem(m.group()), token))
            if joined and "-" in token and token.replace("-", "").isalpha():
                out.append(stem(token.replace("-", "")))
        out.extend(
            stem(part)
            for part in parts
            if part and part not in STOPWORDS and not (len(part) == 1 and part.isalpha())
        )
    for match in _ACRONYM_NUMBER.finditer(text):
        letters, space, digits = match.groups()
        if space:
            out.append(letters.lower() + digits)
        else:
            out.extend([stem(letters.lower()), digits])
    return out


_SUFFIXES = ("ing", "ed", "ion")
_ALPHA_RUN = re.compile(r"[a-z]+")


def stem(word: str) -> str:
    """Crude suffix folding so 'encrypts', 'encrypted', 'encryption' meet at 'encrypt'.

    Deliberately small (no dictionary, no vendor): it only needs to make inflected forms
    of the same word match each other, not to produce real words.
    """
    if word.isalpha() and len(word) > 3:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        if word.endswith("e") and len(word) > 3:
            word = word[:-1]
    return word


# ------------------------------------------------------------------------ names

# A word as written, for spotting names: letters/digits, possibly joined by @ . / -.
NAME_WORD = re.compile(r"[A-Za-z0-9]+(?:[@./\-][A-Za-z0-9]+)*")
COMPOUND = re.compile(r"[@./\-]")
# Shaped like a name wherever it stands: two capitals in a row ("AWS", "GPT-4o") or a
# capital after a lowercase letter ("OpenAI", "iPhone").
NAME_SHAPED = re.compile(r"(?=.*(?:[A-Z]{2}|[a-z][A-Z]))[A-Za-z0-9@./\-]+")


@lru_cache(maxsize=2**16)
def simple_terms(word: str) -> frozenset[str]:
    """The terms of a word that say which thing it names: its alphabetic parts, not the
    compound ("zdr-eligible" names ZDR by "zdr"). Kept for the words met most recently:
    ingest asks for every word of every chunk (app/index/facts.py)."""
    return frozenset(
        p for p in terms(word) if not COMPOUND.search(p) and any(c.isalpha() for c in p)
    )


def name_words(text: str) -> tuple[set[str], set[str]]:
    """The terms of ``text``'s words shaped like a name ("OpenAI", "BAA", "SOC2") and
    those of its lowercase words; addresses and paths ("baa@openai.com") give neither.
    A corpus's name terms are the first of all its texts less the second
    (app.retrieval.name_terms)."""
    shaped: set[str] = set()
    lower: set[str] = set()
    for word in set(NAME_WORD.findall(text)):
        if COMPOUND.search(word):
            continue
        if word.islower():
            lower |= simple_terms(word)
        elif NAME_SHAPED.fullmatch(word):
            shaped |= simple_terms(word)
    return shaped, lower
