"""Answers written by a chat model (OpenAI or an OpenAI-compatible server), then checked.

The model sees the retrieved chunks as numbered, delimited sources and must answer only
from them, ending each sentence with ``[n]`` (app/answering/prompt.py). Nothing it writes
is trusted as it stands: every sentence is checked against the chunk it cites
(app/answering/citation_check.py). Sentences that fail are flagged in the text; if no
sentence passes, the answer falls back to the extractive one with a notice. A request that
fails (429/5xx/timeouts after the retries, an unreadable response) falls back the same
way; a rejected key is a user error.

All traffic goes through :mod:`app.openai_http`, which allows only the ZDR-eligible
``POST /chat/completions`` (text only) and ``POST /embeddings``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import tiktoken
from langchain_core.messages import HumanMessage, SystemMessage
from langsmith.run_helpers import tracing_context

from app.answering.citation_check import check_citations
from app.answering.extractive import ExtractiveAnswerer
from app.answering.prompt import build_messages, context_window, encoding_name, estimate_cost
from app.answering.types import Answerer, Composed, TextDelta
from app.config import Settings
from app.embeddings import prepare_offline_tiktoken
from app.errors import ProviderError, UserError, ZDRViolationError
from app.openai_http import OpenAIHTTP, translate_error
from app.retrieval import Hit, HybridRetriever

log = logging.getLogger(__name__)

# Notices shown with the answer.
FALLBACK_NOTICE = (
    "The language model's answer could not be used ({reason}), so this answer quotes the "
    "documents instead."
)


@contextmanager
def _untraced():
    """No LangSmith tracing of our calls, whatever the environment says: a trace would
    send the prompt (the documents) somewhere the ZDR guard does not cover."""
    with tracing_context(enabled=False):
        yield


class ChatAnswerer(Answerer):
    """A chat model through langchain-openai's ``ChatOpenAI`` on Chat Completions only."""

    name = "openai"
    streams = True

    def __init__(self, settings: Settings, http: OpenAIHTTP | None = None):
        self.settings = settings
        self.http = http or OpenAIHTTP(settings)  # raises ConfigError without a key
        self.model = settings.llm_model
        prepare_offline_tiktoken(settings.tiktoken_cache_dir)
        self.encoding = tiktoken.get_encoding(encoding_name(self.model))
        self.window = settings.llm_context_tokens or context_window(self.model)
        self.prompt_budget = self.window - settings.llm_answer_tokens
        self.fallback = ExtractiveAnswerer(max_quotes=settings.max_quotes)
        self.chat = self.http.chat_model(
            self.model,
            max_tokens=settings.llm_answer_tokens,
            temperature=settings.llm_temperature,
            stream_usage=True,
        )

    def compose(self, question: str, hits: list[Hit], retriever: HybridRetriever) -> Composed:
        for event in self._answer(question, hits, retriever, streaming=False):
            if isinstance(event, Composed):
                return event
        raise AssertionError("the answerer ended without a Composed")  # pragma: no cover

    def stream(
        self, question: str, hits: list[Hit], retriever: HybridRetriever
    ) -> Iterator[TextDelta | Composed]:
        yield from self._answer(question, hits, retriever, streaming=True)

    def _answer(
        self, question: str, hits: list[Hit], retriever: HybridRetriever, streaming: bool
    ) -> Iterator[TextDelta | Composed]:
        messages, sources, prompt_estimate = build_messages(
            question, hits, self.encoding, self.prompt_budget
        )
        system, user = messages
        chat_messages = [SystemMessage(system["content"]), HumanMessage(user["content"])]
        pieces: list[str] = []
        try:
            usage_metadata = yield from self._generate(chat_messages, pieces, streaming)
        except Exception as exc:  # noqa: BLE001 - any failure of the remote side falls back
            error = translate_error(exc, self.http.base_url)
            if isinstance(error, UserError | ZDRViolationError):
                raise error from exc
            # The kind of failure, not its message: a server's error text may echo the
            # prompt (question and chunks); the notice shows it to the reader instead.
            log.info("chat model failed (%s); answering with quotes", _failure_kind(exc))
            yield self._fall_back(question, hits, retriever, str(error))
            return

        text = "".join(pieces)
        usage = self._usage(usage_metadata, prompt_estimate, text)
        if not text.strip():
            yield self._fall_back(question, hits, retriever, "it was empty", usage)
            return
        checked = check_citations(text, sources, retriever, self.settings.citation_min_support)
        if checked.abstained:
            yield Composed("", [], usage)
        elif not checked.supported:
            reason = "no sentence of it is supported by the source it cites"
            yield self._fall_back(question, hits, retriever, reason, usage, checked.notices)
        else:
            yield Composed(checked.text, checked.citations, usage, checked.notices)

    def _generate(self, chat_messages, pieces: list[str], streaming: bool):
        """Ask the model; yield the text as it arrives (collected into ``pieces``) and
        return the usage metadata the server sent."""
        if not streaming:
            with _untraced():
                message = self.chat.invoke(chat_messages)
            pieces.append(_text(message.content))
            return message.usage_metadata
        usage_metadata = None
        chunks = self.chat.stream(chat_messages)
        while True:
            with _untraced():
                chunk = next(chunks, None)
            if chunk is None:
                return usage_metadata
            piece = _text(chunk.content)
            if piece:
                pieces.append(piece)
                yield TextDelta(piece)
            usage_metadata = chunk.usage_metadata or usage_metadata

    def _fall_back(self, question, hits, retriever, reason, usage=None, details=()) -> Composed:
        quoted = self.fallback.compose(question, hits, retriever)
        notices = [FALLBACK_NOTICE.format(reason=reason.rstrip(".")), *details]
        return Composed(quoted.text, quoted.citations, usage, notices)

    def _usage(self, metadata, prompt_estimate: int, text: str) -> dict[str, Any]:
        """Token counts as the server reported them (counted here if it did not), and cost."""
        if metadata and metadata.get("input_tokens") is not None:
            prompt = int(metadata["input_tokens"])
            completion = int(metadata.get("output_tokens") or 0)
            counted_by = "server"
        else:
            prompt = prompt_estimate
            completion = len(self.encoding.encode(text, disallowed_special=()))
            counted_by = "tiktoken"
        return {
            "model": self.model,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_estimated": prompt_estimate,
            "counted_by": counted_by,
            "cost_usd": estimate_cost(self.settings.llm_prices, self.model, prompt, completion),
        }


def _failure_kind(exc: BaseException) -> str:
    """What failed, for the log: the exception's class and HTTP status, never its text."""
    status = getattr(exc, "status_code", None)
    return exc.__class__.__name__ + (f", HTTP {status}" if isinstance(status, int) else "")


def _text(content) -> str:
    """Text of a model message; anything else (tool calls, parts) is a malformed answer."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, str) or (isinstance(part, dict) and part.get("type") == "text")
        for part in content
    ):
        return "".join(part if isinstance(part, str) else part.get("text", "") for part in content)
    raise ProviderError(f"the model sent a non-text answer ({type(content).__name__})")
