"""What answering hands to the rest of the app: citations, the answer, the events of an
answer being written, and the interface every answerer implements.

Light on purpose (dataclasses only): the facade (app/qa.py) and the chat page import these
types without loading retrieval or a model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from app.answering.sentences import is_internal

if TYPE_CHECKING:  # retrieval loads Chroma and LangChain; these names are for annotations
    from app.retrieval import Hit, HybridRetriever


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
    # The quote comes from a section that is internal procedure (a support routine), not
    # the published text: the front ends label it so (sentences.is_internal).
    internal: bool = False

    @classmethod
    def quoting(cls, n: int, hit: Hit, quote: str, offset: int) -> Citation:
        """Citation ``n`` of ``hit``'s chunk, quoting ``quote``, which starts at ``offset``
        of the chunk's body."""
        info, body = hit.info, hit.body
        return cls(
            n=n,
            source=info.source,
            title=info.title,
            section=info.section,
            url=info.url or None,
            quote=quote,
            start_line=info.start_line + body.count("\n", 0, offset),
            chunk_text=body,
            internal=is_internal(info.section),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("chunk_text")
        return data


@dataclass(frozen=True)
class Passage:
    """A retrieved passage offered to read (not quoted as an answer): where it is and its
    text."""

    title: str
    section: str
    source: str
    start_line: int
    url: str | None
    text: str
    internal: bool  # from an internal-procedure section (see Citation.internal)

    @classmethod
    def of(cls, hit: Hit) -> Passage:
        info = hit.info
        return cls(
            info.title,
            info.section,
            info.source,
            info.start_line,
            info.url or None,
            hit.body,
            is_internal(info.section),
        )


@dataclass(frozen=True)
class Clarify:
    """A question back to the person, with the replies to choose from (a support
    routine's clarifying or closing question: app/routine/)."""

    question: str
    options: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "options": list(self.options)}


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
    # The query retrieval searched: the question itself, or the standalone query a
    # follow-up was rewritten to (app/conversation.py); "" means the question.
    searched: str = ""
    # A support routine's turn (app/routine/): the question it asks back with its
    # options, the branch it gave ("API"), and whether this turn ended it (resolved).
    clarify: Clarify | None = None
    branch: str | None = None
    resolved: bool = False

    def __post_init__(self):
        if not self.searched:
            self.searched = self.question

    def closest_passages(self, limit: int = 3) -> list[Passage]:
        """The best retrieved passages, one per section, published text first: what the
        page and the command line offer as "You may want to read" after abstaining."""
        seen, out = set(), []
        ranked = sorted(self.hits, key=lambda h: (is_internal(h.info.section), -h.score))
        for hit in ranked:
            key = (hit.info.source, hit.info.section)
            if key not in seen:
                seen.add(key)
                out.append(Passage.of(hit))
            if len(out) >= limit:
                break
        return out

    def to_dict(self) -> dict[str, Any]:
        """The object ``privacy-qa ask --json`` prints."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "endpoints": list(self.endpoints),
            "usage": self.usage,
            "notices": list(self.notices),
            "searched": self.searched,
            "clarify": self.clarify.to_dict() if self.clarify else None,
            "branch": self.branch,
            "resolved": self.resolved,
        }


# ------------------------------------------------------------------ events of a stream


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text, as it is written."""

    text: str


@dataclass(frozen=True)
class Composed:
    """What an answerer ends with: the final text (with ``[n]`` markers), its citations
    numbered from 1, and what the reader should know besides. The final text is what
    counts: it may differ from the pieces streamed before it (a failed citation check)."""

    text: str
    citations: list[Citation]
    usage: dict[str, Any] | None = None  # see Answer.usage
    notices: list[str] = field(default_factory=list)


class Answerer(ABC):
    """Composes an answer from the retrieved hits. Whether retrieval found enough to try
    is decided before it runs (app/answering/abstain.py)."""

    name: str
    # Whether stream() yields the text in pieces as it is produced (a chat model), rather
    # than all at once; the chat page streams only what does.
    streams: bool = False

    @abstractmethod
    def compose(self, question: str, hits: list[Hit], retriever: HybridRetriever) -> Composed:
        """The whole answer at once."""

    def stream(
        self, question: str, hits: list[Hit], retriever: HybridRetriever
    ) -> Iterator[TextDelta | Composed]:
        """Yield :class:`TextDelta` pieces as they are produced, then one :class:`Composed`.
        Answerers that do not stream produce the whole text as one piece."""
        composed = self.compose(question, hits, retriever)
        yield TextDelta(composed.text)
        yield composed
