"""A question-answering session: open the index once, answer many questions.

The front ends reach it through the facade, ``app.qa.open_qa``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext

from app.answering import abstain, make_answerer
from app.answering.questions import asking
from app.answering.sentences import is_internal
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
from app.outgoing import Outgoing
from app.phi import Finding
from app.retrieval import Hit, HybridRetriever, StaleIndexError
from app.routine import Decision, decide, find_routines, routine_answer

log = logging.getLogger(__name__)


class QA:
    """Question answering over the index in ``settings.data_dir``.

    Construction checks the index (present, built with these settings) and opens it
    without reading its chunks (see HybridRetriever); the embedding model loads on the
    first question, or at once with ``warm_up()``. When an ingest replaces the index, the
    next question picks up the new one (see :meth:`refresh`).
    """

    def __init__(self, settings: Settings, embeddings: EmbeddingBackend | None = None):
        self.settings = settings
        self.embeddings = embeddings or make_embeddings(settings)
        self.answerer = make_answerer(settings)
        self.condenser = None  # with the chat model, it rewrites follow-ups (app/condense.py)
        if settings.llm == "openai":
            from app.condense import Condenser

            self.condenser = Condenser(settings, getattr(self.answerer, "http", None))
        # The model loads while the index opens, each on a core of its own: a one-shot
        # `ask` waits for the longer of the two, not their sum (docs/benchmarks.md). Not a
        # daemon: a process that exits early (a bad question, no index) waits for the load
        # to end, as onnxruntime aborts the process if the interpreter exits mid-load.
        threading.Thread(target=self._preload, name="model-preload").start()
        self._open(fresh=False)

    def _preload(self) -> None:
        try:
            self.embeddings.preload()
        except Exception:  # the first question loads it again and reports the error
            log.debug("preloading the embedding model failed", exc_info=True)

    def _open(self, fresh: bool) -> None:
        # The stamp first: if an ingest lands while we load, the next refresh reloads.
        self._stamp = self._manifest_stamp()
        self.manifest = check_store(self.settings, self.embeddings.model_id)
        with server_errors(self.settings):
            self.collection = open_collection(self.settings, fresh=fresh)
            # BM25 and the corpus's tables on disk; an index written before them (or
            # before their current layout) gets them in memory from every chunk.
            lexical = LexicalIndex.open(self.settings, self.manifest.collection)
            chunks = load_all_chunks(self.collection) if lexical is None else None
            self.retriever = HybridRetriever(self.collection, self.embeddings, chunks, lexical)
        if not self.retriever.size:
            raise StoreMissingError(
                f"The index in {self.settings.data_dir} is empty: run `privacy-qa ingest` first."
            )
        # The PHI check; the chunks' words (no one's name) are looked up when needed.
        self.phi = Outgoing(self.settings, self.retriever.words)
        with server_errors(self.settings):
            self.routines, problems = find_routines(self._routine_chunks())
        for problem in problems:  # the document is answered from as plain text
            log.warning("support routine ignored: %s", problem)

    def _routine_chunks(self) -> list:
        """The chunks of the documents that have internal sections (a support routine's).
        The headings first (few), then only the sections holding an internal one."""
        internal = [h for h in self.retriever.headings() if is_internal(f" > {h}")]
        sections = {s for heading in internal for s in self.retriever.sections(heading)}
        sources = sorted({source for source, section in sections if is_internal(section)})
        return [chunk for source in sources for chunk in self.retriever.chunks_of(source)]

    def routine(self, question: str, history: Sequence[Turn] = ()) -> Decision:
        """Whether ``question`` starts, continues or ends a support routine of the index
        (app/routine/), or is plain Q&A. A question naming something the index does not
        know ("a BAA from AWS") is plain Q&A: the routine is this index's vendor's."""
        decision = Decision("plain", reason="no routine in the index")
        for routine in self.routines:
            decision = decide(question, history, routine)
            if decision.action != "plain":
                break
        if decision.action in ("clarify", "branch") and self.retriever.unknown_names(question):
            decision = Decision("plain", reason="names something the index does not know")
        log.debug("routine decision: %s %s", decision.action, decision.reason)
        return decision

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

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        send: str = "check",
        routines: bool = True,
    ) -> Answer:
        """Answer ``question`` (validated first; raises a UserError for bad input), a
        follow-up of ``history`` (earlier turns, oldest first) if it reads as one;
        ``send`` and ``routines`` as for :meth:`stream`."""
        for event in self.stream(question, history, send, routines):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream() ended without an Answer")  # pragma: no cover

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        send: str = "check",
        routines: bool = True,
    ) -> Iterator[TextDelta | Answer]:
        """Yield :class:`TextDelta` pieces as the answer is written, then the final
        :class:`Answer`.

        The final Answer's text is authoritative (it may differ from what was streamed).
        Only an answerer that writes in pieces (a chat model) streams; quotes, composed
        at once, come only in the Answer, after the checks, so an answer abstained after
        composing ("How long does Azure OpenAI keep prompts?") never shows its quotes.
        Validation errors raise before anything is yielded. A follow-up of ``history``
        is searched as the standalone query :meth:`rewrite` gives (the Answer's
        ``searched``); its passages are then quoted for the question as typed, whose own
        words say what it asks ("and for files?" picks the files sentence of the
        retention passages). A question a support routine covers gets the routine's turn
        instead (:meth:`routine`), unless ``routines`` is False.

        ``send`` (one of :data:`app.outgoing.SEND_MODES`) says what happens when the
        chat model would send a question in which the PHI check finds something
        (:meth:`outgoing`); the search always runs here on the question as typed.
        """
        question = self.validate(question)
        self.refresh()
        started = time.perf_counter()
        if routines and (followed := self._follow_routine(question, history)) is not None:
            followed.timings_ms["total"] = (time.perf_counter() - started) * 1000
            yield followed  # offline: the question is not sent anywhere
            return
        remote, notices = self.outgoing(question, send)
        answerer = self._offline() if send == "offline" else self.answerer
        # The chat model's condense step would send the question and earlier turns as
        # typed: with any PHI found, or offline, the offline decision is used instead.
        private = send == "offline" or bool(notices) or self._holds_phi(history)
        composed = None
        with self._capture_endpoints() as endpoints:
            searches: dict[str, tuple[list[Hit], dict[str, float]]] = {}
            searched = self.rewrite(question, history, searches, private).searched
            hits, timings = searches.get(searched) or self._search(searched)
            t0 = time.perf_counter()
            # Names are read where the question asks, not in its context sentences.
            names, unknown = self._names(asking(question))
            decision = abstain.before_answering(hits, len(unknown), self.settings)
            if not decision.abstain:
                for event in answerer.stream(remote, hits, self.retriever):
                    match event:
                        case Composed():
                            composed = event
                        case TextDelta() if answerer.streams:
                            # All at once (quotes) is checked before it is shown: the
                            # quotes of an answer refused after composing never print.
                            yield event
        decision = abstain.after_answering(decision, composed, question, names)
        timings["compose"] = (time.perf_counter() - t0) * 1000
        timings["total"] = (time.perf_counter() - started) * 1000
        yield Answer(
            question=question,
            answer=(
                abstain.refusal(decision, question, unknown, names, composed)
                if decision.abstain
                else composed.text
            ),
            abstained=decision.abstain,
            citations=[] if decision.abstain else composed.citations,
            timings_ms=timings,
            hits=hits,
            endpoints=list(dict.fromkeys(endpoints)),
            usage=composed.usage if composed else None,
            notices=notices + (composed.notices if composed else []),
            searched=searched,
        )

    def _names(self, asks: str) -> tuple[list[str], list[str]]:
        """The names of the question's asking sentences, and those of them the documents
        never mention. A person's name (the PHI check's) is not one: in "Can we send
        patient Maria Garcia's lab results through the API?" it is the data asked about,
        not a thing the documents should name."""
        names, unknown = self.retriever.names(asks), self.retriever.unknown_names(asks)
        if unknown:
            people = {
                word
                for finding in self.phi.detector().find(asks)
                if finding.kind == "name"
                for word in finding.text.split()
            }
            names = [name for name in names if name not in people]
            unknown = [name for name in unknown if name not in people]
        return names, unknown

    def _holds_phi(self, history: Sequence[Turn]) -> bool:
        """Whether an earlier turn that the condense step would send holds likely PHI."""
        return self.condenser is not None and self.phi.in_history(history)

    def phi_findings(self, question: str) -> list[Finding]:
        """Likely PHI in ``question`` when the chat model would send it (app/outgoing.py)."""
        return self.phi.findings(question)

    def outgoing(self, question: str, send: str = "check") -> tuple[str, list[str]]:
        """The text the answerer gets for ``question`` and the notices saying what was
        done with it, by ``send`` (:meth:`app.outgoing.Outgoing.check`)."""
        return self.phi.check(question, send)

    def _offline(self):
        """The offline answerer (quotes), for a question that must not leave."""
        if self.answerer.name == "extractive":
            return self.answerer
        return make_answerer(self.settings.replace(llm="extractive"))

    def _follow_routine(self, question: str, history: Sequence[Turn]) -> Answer | None:
        """The routine's answer to ``question``, or None for plain Q&A. Its functions
        are looked up in the index as plain questions (their purpose text)."""
        decision = self.routine(question, history)
        return routine_answer(question, decision, self.lookup)

    def lookup(self, query: str) -> Answer:
        """Plain Q&A over the published text only (no internal procedure): how a routine's
        function finds what it provides, its purpose being the query."""
        hits, timings = self._search(query)
        hits = [hit for hit in hits if not is_internal(hit.info.section)]
        decision = abstain.before_answering(hits, 0, self.settings)
        composed = None if decision.abstain else self.answerer.compose(query, hits, self.retriever)
        decision = abstain.after_answering(decision, composed, query, [])
        found = composed is not None and not decision.abstain
        return Answer(
            question=query,
            answer=composed.text if found else abstain.ABSTAIN_TEXT,
            abstained=not found,
            citations=composed.citations if found else [],
            timings_ms=timings,
            hits=hits,
        )

    def rewrite(
        self,
        question: str,
        history: Sequence[Turn] = (),
        searches: dict[str, tuple[list[Hit], dict[str, float]]] | None = None,
        private: bool = False,
    ) -> Rewrite:
        """Whether ``question`` is a follow-up of ``history`` and the query to search
        (app/conversation.py, or the chat model's condense step unless ``private``);
        retrieval confidence is the best dense similarity. The searches it makes are kept
        in ``searches`` (query -> hits, timings), so the query chosen is not searched
        again."""
        searches = {} if searches is None else searches

        def confidence(query: str) -> float:
            if query not in searches:
                searches[query] = self._search(query)
            hits, _ = searches[query]
            return max((hit.dense for hit in hits), default=0.0)

        remote = self.condenser is not None and not private
        choose = self.condenser.rewrite if remote else standalone
        rewrite = choose(question, list(history), confidence)
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
