"""Is a question English? A small script and stopword heuristic, standard library only.

The index holds English documents and the answerer matches English words: a question in
another language finds nothing and would get a false "No answer". :func:`check_english`
refuses it instead, saying the index answers in English. Keyword queries, typos and names
(no stopwords of any language) count as English: only evidence of another language refuses
(tests/test_language.py measures it on the eval questions and a few foreign ones).
"""

from __future__ import annotations

import re

from app.errors import UserError

NOT_ENGLISH = "This index answers questions in English: ask again in English."

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

_ENGLISH = set(
    "a an the and or but if of to in on at by for with from about as into is are was were be "
    "been being do does did have has had can could will would should may might must shall "
    "i we you he she it they me us them my our your his her its their this that these those "
    "what which who whom whose when where why how not no yes there here all any some than "
    "then so up out after before over under again only also just more most other such own "
    "same too very get got use used using".split()
)
# Frequent function words of languages written in Latin script, leaving out words that
# English writes too ("a", "in", "is", "die", "on", "son", "have"...).
_OTHERS = {
    "fr": "le la les des du un une est et que qui dans pour pas sur avec sont ce cette "
    "mes nos vos leurs combien pourquoi quand comment quel quelle quels mais ou où je "
    "tu nous vous ils elles être avoir fait peut données",
    "de": "der das und ist nicht ein eine einen zu mit den dem von auf für sich wie "
    "wird werden sind auch ich wir sie es oder aber wann warum welche welcher wo "
    "lange daten werden kann können",
    "es": "el los las del una es y que en por con para como pero más sus se lo al "
    "cuánto cuándo dónde qué cómo cuál está son puedo datos tiempo",
    "it": "il lo gli della delle dei di che è e per con non una sono come ma più "
    "quanto quando dove cosa perché dati tempo",
    "pt": "os das dos um uma é e que em para com não mais como mas seu sua são "
    "quanto quando onde porque dados tempo",
    "nl": "de het een en van dat niet zijn ik je hij wij met voor op aan wat hoe "
    "wanneer waarom lang gegevens worden",
}
_OTHER_WORDS = {lang: set(words.split()) - _ENGLISH for lang, words in _OTHERS.items()}


def latin_share(text: str) -> float:
    """The share of the letters of ``text`` that are Latin (1.0 when there are none),
    a CJK character counted as two letters."""
    latin = other = 0
    for c in text:
        if c.isalpha():
            if ord(c) < 0x250:
                latin += 1
            else:  # a Chinese or Japanese character is worth about two Latin letters
                other += 2 if ord(c) >= 0x2E80 else 1
    return latin / (latin + other) if latin + other else 1.0


def is_english(text: str) -> bool:
    """Whether ``text`` may be English: mostly Latin letters, and not more function words
    of another language than English ones (at least two of them)."""
    if latin_share(text) < 0.5:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    english = sum(1 for w in words if w in _ENGLISH)
    other = max(sum(1 for w in words if w in vocab) for vocab in _OTHER_WORDS.values())
    return not (other >= 2 and other > english)


class NotEnglishError(UserError):
    """The question is mostly not English; the index answers in English."""


def check_english(question: str) -> None:
    """Raise :class:`NotEnglishError` (saying so) if the question is mostly not English."""
    if not is_english(question):
        raise NotEnglishError(NOT_ENGLISH)
