"""A question-answering session: open the index once, answer many questions.

The front ends reach it through the facade, ``app.qa.open_qa``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext

from app.answering import abstain, make_answerer
from app.answering.questions import asking
from app.answering.types import Answer, Composed, TextDelta
from app.config import Settings
from app.conversation import Rewrite, Turn, standalone
from app.embeddings import EmbeddingBackend, make_embeddings
from app.errors import (
    EmptyQuestionError,
    QuestionTooLongError,
    StoreMissingError,
    UserError,
)
from app.index.chroma import load_all_chunks, open_collection, server_errors
from app.index.lexical import LexicalIndex
from app.index.manifest import check_store
from app.language import check_english
from app.retrieval import Hit, HybridRetriever, StaleIndexError

log = logging.getLogger(__name__)


class QA:
    """Question answering over the index in ``settings.data_dir``.

    Construction checks the index (present, built with these settings) and loads the
    chunks for lexical search; the embedding model loads on the first question, or at
    once with ``warm_up()``. When an ingest replaces the index, the next question picks
    up the new one (see :meth:`refresh`).
    """

    def __init__(self, settings: Settings, embeddings: EmbeddingBackend | None = None):
        self.settings = settings
        self.embeddings = embeddings or make_embeddings(settings)
        self.answerer = make_answerer(settings)
        self._open(fresh=False)

    def _open(self, fresh: bool) -> None:
        # The stamp first: if an ingest lands while we load, the next refresh reloads.
        self._stamp = self._manifest_stamp()
        self.manifest = check_store(self.settings, self.embeddings.model_id)
        with server_errors(self.settings):
            self.collection = open_collection(self.settings, fresh=fresh)
            chunks = load_all_chunks(self.collection)
        if not chunks:
            raise StoreMissingError(
                f"The index in {self.settings.data_dir} is empty: run `privacy-qa ingest` first."
            )
        # BM25 on disk; an index written before the lexical index existed gets one in memory.
        lexical = LexicalIndex.open(self.settings, self.manifest.collection)
        self.retriever = HybridRetriever(self.collection, self.embeddings, chunks, lexical)

    def _manifest_stamp(self) -> tuple[int, int] | None:
        # An ingest replaces manifest.json atomically (a new inode) once the index is
        # complete, so a stat is enough to notice it: no parsing per question.
        try:
            stat = self.settings.manifest_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def refresh(self) -> bool:
        """Reload the index if an ingest changed it since it was opened; say whether."""
        if self._manifest_stamp() == self._stamp:
            return False
        log.info("the index changed on disk; reloading it")
        self._open(fresh=True)
        return True

    @property
    def streams(self) -> bool:
        """Whether :meth:`stream` yields the text in pieces as it is written (a chat model)
        rather than all at once."""
        return self.answerer.streams

    def warm_up(self) -> None:
        self.embeddings.warm_up()

    def validate(self, question: str) -> str:
        """The question, stripped; raise a user error if it is empty, too long or mostly
        not English."""
        question = (question or "").strip()
        if not question:
            raise EmptyQuestionError("The question is empty: type a question about the documents.")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8
            raise UserError("The question holds bytes that are not text: retype it.") from None
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise QuestionTooLongError(
                f"The question is {len(question)} characters long; the limit is {limit}. "
                "Ask something shorter."
            )
        tokens = self.embeddings.count_tokens(question)
        if tokens > self.embeddings.max_input_tokens:
            raise QuestionTooLongError(
                f"The question is {tokens} tokens long and the embedding model reads only "
                f"{self.embeddings.max_input_tokens}: ask something shorter."
            )
        check_english(question)  # else a false "No answer": the documents are English
        return question

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """Answer ``question`` (validated first; raises a UserError for bad input), a
        follow-up of ``history`` (earlier turns, oldest first) if it reads as one."""
        for event in self.stream(question, history):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream() ended without an Answer")  # pragma: no cover

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[TextDelta | Answer]:
        """Yield :class:`TextDelta` pieces as the answer is written, then the final
        :class:`Answer`.

        The final Answer's text is authoritative (it may differ from what was streamed);
        an abstained answer yields only the Answer. Validation errors raise before
        anything is yielded. A follow-up of ``history`` is searched as the standalone
        query :meth:`rewrite` gives (the Answer's ``searched``); its passages are then
        quoted for the question as typed, whose own words say what it asks ("and for
        files?" picks the files sentence of the retention passages).
        """
        question = self.validate(question)
        self.refresh()
        started = time.perf_counter()
        composed = None
        with self._capture_endpoints() as endpoints:
            searches: dict[str, tuple[list[Hit], dict[str, float]]] = {}
            searched = self.rewrite(question, history, searches).searched
            hits, timings = searches.get(searched) or self._search(searched)
            t0 = time.perf_counter()
            # Names are read where the question asks, not in its context sentences.
            asks = asking(question)
            names = self.retriever.names(asks)
            decision = abstain.before_answering(
                hits, len(self.retriever.unknown_names(asks)), self.settings
            )
            if not decision.abstain:
                for event in self.answerer.stream(question, hits, self.retriever):
                    match event:
                        case Composed():
                            composed = event
                        case TextDelta():
                            yield event
        decision = abstain.after_answering(decision, composed, question, names)
        timings["compose"] = (time.perf_counter() - t0) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        yield Answer(
            question=question,
            answer=abstain.ABSTAIN_TEXT if decision.abstain else composed.text,
            abstained=decision.abstain,
            citations=[] if decision.abstain else composed.citations,
            timings_ms=timings,
            hits=hits,
            endpoints=list(dict.fromkeys(endpoints)),
            usage=composed.usage if composed else None,
            notices=composed.notices if composed else [],
            searched=searched,
        )

    def rewrite(
        self,
        question: str,
        history: Sequence[Turn] = (),
        searches: dict[str, tuple[list[Hit], dict[str, float]]] | None = None,
    ) -> Rewrite:
        """Whether ``question`` is a follow-up of ``history`` and the query to search
        (app/conversation.py); retrieval confidence is the best dense similarity. The
        searches it makes are kept in ``searches`` (query -> hits, timings), so the query
        chosen is not searched again."""
        searches = {} if searches is None else searches

        def confidence(query: str) -> float:
            if query not in searches:
                searches[query] = self._search(query)
            hits, _ = searches[query]
            return max((hit.dense for hit in hits), default=0.0)

        rewrite = standalone(question, list(history), confidence)
        log.debug("follow-up decision: %s", rewrite.reason)  # never the question text
        return rewrite

    def _search(self, question: str) -> tuple[list[Hit], dict[str, float]]:
        """The hits for ``question`` and the search's timings."""
        # A Chroma server (PRIVACY_QA_CHROMA_URL) that dies after the index was opened
        # fails the search with a message naming it; the next question tries again.
        with server_errors(self.settings):
            try:
                return self.retriever.search(question, self.settings.top_k)
            except StaleIndexError:
                # An ingest deletes stale chunks only after publishing the new manifest,
                # so a view opened now holds the new text; what may still vanish from
                # it is stale, and the retry leaves that out instead of failing.
                log.info("the index changed during the search; reopening it")
                self._open(fresh=True)
                return self.retriever.search(question, self.settings.top_k, strict=False)

    def _capture_endpoints(self):
        """Records the remote endpoints called while answering (none in the offline default)."""
        if not self.settings.uses_openai:
            return nullcontext([])
        from app.openai_http import capture_endpoints

        return capture_endpoints()
