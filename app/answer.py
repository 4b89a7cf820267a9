"""Answering: turn retrieved chunks into a short answer whose every claim is cited.

The default :class:`ExtractiveAnswerer` needs no language model: it picks the few
sentences of the retrieved chunks that best match the question and quotes them
verbatim, each followed by its marker ``[n]``. A quote is always an exact substring
of its source file. Other answerers (an LLM, later) implement :class:`Answerer`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from app.config import Settings
from app.corpus import chunk_body
from app.errors import ConfigError
from app.retrieval import Hit, HybridRetriever, terms

ABSTAIN_TEXT = "The indexed documents don't answer this."


@dataclass
class Citation:
    n: int
    source: str  # corpus-relative path, e.g. "corpus/openai-api-privacy-explained.md"
    title: str
    section: str
    url: str | None
    quote: str  # verbatim substring of the source file
    start_line: int  # line of the source file where the quote starts
    chunk_text: str = field(default="", repr=False)  # the whole chunk, for the UI

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("chunk_text")
        return data


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    timings_ms: dict[str, float]
    hits: list[Hit] = field(default_factory=list, repr=False)
    # "POST <url>" of each remote endpoint this answer sent data to; [] = nothing left
    # the machine (the extractive default).
    endpoints: list[str] = field(default_factory=list)
    # Chat model token counts and cost estimate (model, prompt_tokens, completion_tokens,
    # total_tokens, cost_usd, ...); None when no model wrote the answer.
    usage: dict[str, Any] | None = None
    # Things the reader should know: a fallback to quotes, sentences flagged by the
    # citation check.
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "endpoints": list(self.endpoints),
            "usage": self.usage,
            "notices": list(self.notices),
        }


@dataclass
class AnswerNotes:
    """What an answerer reports besides text and citations. :meth:`Answerer.stream` may
    yield one before its final ``(text, citations)`` pair; :class:`~app.session.QA` copies it
    into the :class:`Answer`."""

    usage: dict[str, Any] | None = None
    notices: list[str] = field(default_factory=list)


class Answerer(ABC):
    """Composes an answer from the retrieved hits. Abstention is decided before it runs."""

    name: str
    # Whether stream() yields the text in pieces as it is produced (a chat model), rather
    # than all at once; the chat page streams only what does.
    streams: bool = False

    @abstractmethod
    def compose(
        self, question: str, hits: list[Hit], retriever: HybridRetriever
    ) -> tuple[str, list[Citation]]:
        """Return the answer text (with ``[n]`` markers) and its citations, numbered from 1."""

    def stream(
        self, question: str, hits: list[Hit], retriever: HybridRetriever
    ) -> Iterator[str | tuple[str, list[Citation]]]:
        """Yield pieces of answer text as they are produced, then one final
        ``(text, citations)`` pair. The final text is what counts: an answerer may
        revise what it streamed (a failed citation check, say). Answerers that do not
        stream produce the whole text at once."""
        text, citations = self.compose(question, hits, retriever)
        yield text
        yield text, citations


# ------------------------------------------------------------------ sentence extraction

# Markdown furniture at the start of a line: quote marks, bullets, "1." / "a." list labels.
_LINE_PREFIX = re.compile(r"^(?:\s*(?:>|[-*+]|\d+\.|[a-z]\.|[ivx]+\.)\s+)+")
# A sentence ends at . ! ? followed by space and something that starts a sentence.
# Common abbreviations ("eg.", "e.g.", "i.e.", "etc.", "vs.") do not end a sentence.
_SENTENCE_END = re.compile(
    r"(?<!\beg\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)"
    r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“(`\[*])"
)
_TRIM = " \t*_"


@dataclass(frozen=True)
class Sentence:
    text: str
    offset: int  # in the chunk body


def sentences(body: str) -> list[Sentence]:
    """Split a chunk body into sentences, each an exact substring with its offset.

    Blocks are separated by blank lines and by lines that start with markdown furniture
    (a quote mark, a bullet, a list label); a single line break inside a block is just
    wrapping, so a sentence may span it.
    """
    out: list[Sentence] = []
    for block_start, block in _blocks(body):
        cursor = 0
        for match in [*_SENTENCE_END.finditer(block), None]:
            end = match.end() if match else len(block)
            piece = block[cursor:end]
            stripped = piece.strip(_TRIM + "\n")
            if stripped:
                out.append(Sentence(stripped, block_start + cursor + piece.index(stripped)))
            cursor = end
    return out


def _blocks(body: str) -> list[tuple[int, str]]:
    """(offset, text) of each block of the body, markdown prefixes cut off."""
    blocks: list[tuple[int, str]] = []
    position, current_start, current_end = 0, None, None
    for line in body.splitlines(keepends=True):
        prefix = _LINE_PREFIX.match(line)
        content_start = position + (prefix.end() if prefix else 0)
        blank = not line.strip() or (prefix and not line[prefix.end() :].strip())
        if blank or prefix:
            if current_start is not None:
                blocks.append((current_start, body[current_start:current_end]))
            current_start = None if blank else content_start
        elif current_start is None:
            current_start = content_start
        current_end = position + len(line.rstrip("\n"))
        position += len(line)
    if current_start is not None:
        blocks.append((current_start, body[current_start:current_end]))
    return blocks


_LINK = re.compile(r"!?\[[^\]]*\]\([^)]*\)")  # [text](url) and ![alt](src)
_LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s")  # [1]: https://...


def _is_quotable(sentence: str) -> bool:
    """Skip what cannot answer anything: questions, attributions, bare links, fragments.

    A sentence that only is a link says nothing, but one that starts with a link
    ("[This](https://trust.openai.com/) is your go-to place ...") does.
    """
    if sentence.endswith("?") or sentence.startswith(("—", "<", "#")):
        return False
    if _LINK_DEFINITION.match(sentence):
        return False
    return len(re.findall(r"[A-Za-z0-9]+", _LINK.sub("", sentence))) >= 3


def _leads_in(sentence: str) -> bool:
    """True for a sentence that introduces the next one ("... the default retention is:")."""
    return not sentence.rstrip('`*_)"”’').endswith((".", "!", "?"))


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("’", "'")))


class ExtractiveAnswerer(Answerer):
    """Quotes the best-matching sentences of the retrieved chunks, in document order."""

    name = "extractive"

    # Weight of the lexical match of a sentence against the question, versus the dense
    # similarity of the chunk it sits in. Sentences need both: a sentence sharing the
    # question's rare words, inside a chunk that is about the question.
    LEXICAL_WEIGHT = 0.6
    # A further sentence is quoted only if it scores at least this share of the best one.
    KEEP_RATIO = 0.7

    # Terms of a sentence's context (its section heading, the sentence before it) count
    # this much of its own: "email us at baa@openai.com" answers "How do I get started?".
    CONTEXT_WEIGHT = 0.5

    def __init__(self, max_quotes: int):
        self.max_quotes = max_quotes

    def compose(
        self, question: str, hits: list[Hit], retriever: HybridRetriever
    ) -> tuple[str, list[Citation]]:
        idf = retriever.idf
        question_terms = set(terms(question))
        weight_total = sum(idf(t) for t in question_terms) or 1.0
        best_dense = max(hit.dense for hit in hits)

        candidates = []  # (score, hit rank, sentence index, hit)
        quotable: list[list[Sentence]] = []
        for rank, hit in enumerate(hits):
            heading_terms = set(terms(hit.chunk.metadata["section"].rsplit(" > ", 1)[-1]))
            previous_terms = heading_terms
            quotable.append([])
            dense = hit.dense / best_dense if best_dense > 0 else 0.0
            for sentence in sentences(chunk_body(hit.chunk)):
                own_terms = set(terms(sentence.text))
                if _is_quotable(sentence.text):
                    own = sum(idf(t) for t in question_terms & own_terms)
                    context = sum(idf(t) for t in (question_terms & previous_terms) - own_terms)
                    lexical = (own + self.CONTEXT_WEIGHT * context) / weight_total
                    score = self.LEXICAL_WEIGHT * lexical + (1 - self.LEXICAL_WEIGHT) * dense
                    candidates.append((score, rank, len(quotable[rank]), hit))
                    quotable[rank].append(sentence)
                previous_terms = own_terms | heading_terms
        if not candidates:
            return "", []
        candidates.sort(key=lambda c: (-c[0], c[1], c[2]))

        chosen: list[tuple[int, Sentence, Hit]] = []
        seen: set[str] = set()

        def choose(rank: int, sentence: Sentence, hit: Hit) -> None:
            key = _normalised(sentence.text)
            if key not in seen:
                seen.add(key)
                chosen.append((rank, sentence, hit))

        best = candidates[0][0]
        for score, rank, index, hit in candidates:
            if len(chosen) >= self.max_quotes or score < self.KEEP_RATIO * best:
                break
            sentence = quotable[rank][index]
            choose(rank, sentence, hit)
            # A lead-in ("the default retention of data is:") means nothing without what
            # it introduces, so the next sentence comes with it, from the next chunk if need be.
            if _leads_in(sentence.text):
                following = self._following(sentence, hit, quotable[rank][index + 1 :], retriever)
                if following:
                    choose(rank, *following)

        # Readable order: group by document (in order of relevance), then as written.
        doc_order: dict[str, int] = {}
        for rank, _, hit in sorted(chosen, key=lambda c: c[0]):
            doc_order.setdefault(hit.chunk.metadata["source"], rank)
        chosen.sort(
            key=lambda c: (doc_order[c[2].chunk.metadata["source"]], _absolute_start(c[1], c[2]))
        )

        citations, parts = [], []
        for n, (_, sentence, hit) in enumerate(chosen, 1):
            meta = hit.chunk.metadata
            body = chunk_body(hit.chunk)
            citations.append(
                Citation(
                    n=n,
                    source=meta["source"],
                    title=meta["title"],
                    section=meta["section"],
                    url=meta.get("url") or None,
                    quote=sentence.text,
                    start_line=meta["start_line"] + body.count("\n", 0, sentence.offset),
                    chunk_text=body,
                )
            )
            parts.append(f"{sentence.text} [{n}]")
        return " ".join(parts), citations

    @staticmethod
    def _following(
        sentence: Sentence, hit: Hit, rest: list[Sentence], retriever: HybridRetriever
    ) -> tuple[Sentence, Hit] | None:
        """The quotable sentence after ``sentence`` in its file, looking into the next chunk."""
        if rest:
            return rest[0], hit
        after = _absolute_start(sentence, hit) + len(sentence.text)
        following = retriever.next_chunk(hit.chunk)
        if following is None:
            return None
        neighbour = Hit(following, 0.0, hit.dense, 0.0)
        for candidate in sentences(chunk_body(following)):
            if _is_quotable(candidate.text) and _absolute_start(candidate, neighbour) >= after:
                return candidate, neighbour
        return None


def _absolute_start(sentence: Sentence, hit: Hit) -> int:
    return hit.chunk.metadata["start_char"] + sentence.offset


def make_answerer(settings: Settings) -> Answerer:
    """The answerer ``settings.llm`` names."""
    if settings.llm == "extractive":
        return ExtractiveAnswerer(max_quotes=settings.max_quotes)
    if settings.llm == "openai":
        from app.llm import ChatAnswerer  # the vendor stack loads only when chosen

        return ChatAnswerer(settings)
    raise ConfigError(
        f"The {settings.llm!r} answerer is not available in this version; "
        "set PRIVACY_QA_LLM=extractive."
    )
