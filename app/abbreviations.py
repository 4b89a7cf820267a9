"""Abbreviations a corpus defines ("zero data retention (ZDR)"), so that a question that
spells a term out matches a sentence that abbreviates it, and the other way round.

The definitions are found with the algorithm of Schwartz and Hearst (2003), "A simple
algorithm for identifying abbreviation definitions in biomedical text": a short form in
parentheses after a long form whose words hold the short form's letters in order, the first
letter starting a word. Nothing is written by hand: what the documents define is all there
is, and a corpus that defines nothing changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# A short form: 2-10 letters or digits, starting with a capital, with at least two
# capitals ("BAA", "PHI", "SOC2"); "(1)" or "(except image inputs)" are not.
_SHORT_FORM = re.compile(r"\(([A-Z][A-Za-z0-9]{1,9})\)")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


def definitions(text: str) -> dict[str, str]:
    """Short form -> long form for each definition "long form (SF)" in ``text``."""
    found: dict[str, str] = {}
    for match in _SHORT_FORM.finditer(text):
        short = match.group(1)
        if sum(c.isupper() for c in short) < 2:
            continue
        limit = min(len(short) + 5, 2 * len(short))
        # The long form stands in the same clause: after the last line break, parenthesis
        # or sentence end before the short form.
        start = max(text.rfind(mark, 0, match.start()) for mark in ("\n", "(", ")", ". "))
        words = _WORD.findall(text[start + 1 : match.start()])[-limit:]
        long = best_long_form(short, " ".join(words))
        if long and long.lower() != short.lower():
            found.setdefault(short, long)
    return found


def best_long_form(short: str, candidate: str) -> str | None:
    """Schwartz and Hearst's match: the shortest end of ``candidate`` whose characters hold
    the letters and digits of ``short`` in order, its first one starting a word."""
    s, position = len(short) - 1, len(candidate) - 1
    while s >= 0:
        char = short[s].lower()
        if not char.isalnum():
            s -= 1
            continue
        while position >= 0 and (
            candidate[position].lower() != char
            or (s == 0 and position > 0 and candidate[position - 1].isalnum())
        ):
            position -= 1
        if position < 0:
            return None
        position -= 1
        s -= 1
    start = candidate.rfind(" ", 0, position + 1) + 1
    return candidate[start:]


def pairs_of(text: str, terms: Callable[[str], list[str]]) -> list[tuple[tuple[str, ...], str]]:
    """(the long form's terms, the short form's term) of each definition in ``text`` that
    folds: a one-term short form for a long form of several terms."""
    out = []
    for short, long in definitions(text).items():
        short_terms, long_terms = terms(short), tuple(terms(long))
        if len(short_terms) == 1 and len(long_terms) > 1:
            out.append((long_terms, short_terms[0]))
    return out


class Abbreviations:
    """The definitions of a corpus, as term sequences: a text's terms with every spelled-out
    long form replaced by its short form's term (:meth:`fold`)."""

    def __init__(self, texts: Iterable[str], terms: Callable[[str], list[str]]):
        self._terms = terms
        pairs: dict[tuple[str, ...], str] = {}
        for text in texts:
            for long_terms, short_term in pairs_of(text, terms):
                pairs.setdefault(long_terms, short_term)
        self._use(pairs)

    @classmethod
    def of_pairs(
        cls, pairs: Iterable[tuple[tuple[str, ...], str]], terms: Callable[[str], list[str]]
    ) -> Abbreviations:
        """The definitions given as :func:`pairs_of` found them, text by text in order
        (kept with the index: app/index/facts.py)."""
        self = cls((), terms)
        found: dict[tuple[str, ...], str] = {}
        for long_terms, short_term in pairs:
            found.setdefault(long_terms, short_term)
        self._use(found)
        return self

    def _use(self, pairs: dict[tuple[str, ...], str]) -> None:
        # long form's terms -> the short form's term, longest long forms first.
        self.pairs = dict(sorted(pairs.items(), key=lambda item: -len(item[0])))

    def fold(self, text_terms: list[str]) -> list[str]:
        """``text_terms`` with each run of a long form's terms replaced by its short form's
        term: "zero data retention" and "ZDR" give the same term."""
        if not self.pairs:
            return text_terms
        out, i = [], 0
        while i < len(text_terms):
            for long, short in self.pairs.items():
                if tuple(text_terms[i : i + len(long)]) == long:
                    out.append(short)
                    i += len(long)
                    break
            else:
                out.append(text_terms[i])
                i += 1
        return out

    def terms(self, text: str) -> list[str]:
        """The folded terms of ``text``."""
        return self.fold(self._terms(text))
