"""Follow-up questions with the chat model: a condense-question prompt (as chat-langchain
and PrivateGPT do) through the ZDR-guarded client, used instead of the offline decision
(app/conversation.py) when ``PRIVACY_QA_LLM=openai``.

What leaves the machine: one ``POST {OPENAI_BASE_URL}/chat/completions`` per question that
has earlier turns (not for a first question, nor for a greeting or thanks), holding the
last :data:`HISTORY_TURNS` turns (each answer cut to :data:`ANSWER_CHARS` characters) and
the question; text only, no tools, through app/openai_http.py, whose guard refuses
anything else. If the request fails, the offline decision is used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from app.config import Settings
from app.conversation import Rewrite, Turn, is_small_talk, standalone
from app.errors import ProviderError
from app.openai_http import OpenAIHTTP, translate_error

log = logging.getLogger(__name__)

HISTORY_TURNS = 3
ANSWER_CHARS = 400
CONDENSE_TOKENS = 96  # a search query, not an answer
SYSTEM = (
    "You rewrite the last question of a conversation into a standalone search query for a "
    "document index. Use the earlier turns only to resolve what the question leaves out "
    "(pronouns such as 'it' or 'that', ellipsis such as 'and for files?'). If the question "
    "already stands alone, starts a new topic, or is a greeting or thanks, return it "
    "unchanged. Reply with the query only: one line, no quotes, no explanation."
)


def transcript(question: str, history: Sequence[Turn]) -> str:
    """The user message: the last turns, then the question to rewrite."""
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        answer = " ".join(turn.answer.split())
        if len(answer) > ANSWER_CHARS:
            answer = answer[: ANSWER_CHARS - 1] + "…"
        lines += [f"User: {turn.question}", f"Assistant: {answer}"]
    return "\n".join(["Conversation:", *lines, "", f"Last question: {question}"])


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().strip(" ?.!").split()) == " ".join(b.lower().strip(" ?.!").split())


class Condenser:
    """Rewrites follow-ups with the chat model; one per session."""

    def __init__(self, settings: Settings, http: OpenAIHTTP | None = None):
        self.settings = settings
        self.http = http or OpenAIHTTP(settings)
        self.chat = self.http.chat_model(
            settings.llm_model, max_tokens=CONDENSE_TOKENS, temperature=0.0
        )

    def ask_model(self, question: str, history: Sequence[Turn]) -> str:
        """The model's standalone query (its first line, unquoted)."""
        from langchain_core.messages import HumanMessage, SystemMessage
        from langsmith.run_helpers import tracing_context

        messages = [SystemMessage(SYSTEM), HumanMessage(transcript(question, history))]
        with tracing_context(enabled=False):  # a trace would send the turns elsewhere
            message = self.chat.invoke(messages)
        text = message.content if isinstance(message.content, str) else ""
        lines = [line.strip().strip("\"'“”") for line in text.strip().splitlines()]
        return next((line for line in lines if line), "")

    def rewrite(
        self, question: str, history: Sequence[Turn], confidence: Callable[[str], float]
    ) -> Rewrite:
        """What to search for ``question``; the offline decision (``confidence`` is
        retrieval's, as for :func:`app.conversation.standalone`) when the model fails or
        answers something unusable (empty, or far longer than a query)."""
        if not history:
            return Rewrite(question, False, "no history")
        if is_small_talk(question):
            return Rewrite(question, False, "small talk")
        try:
            query = self.ask_model(question, history)
        except Exception as exc:  # whatever the client raised: mapped to the app's errors
            error = translate_error(exc, self.settings.openai_base_url)
            if not isinstance(error, ProviderError):
                raise error from exc  # a refused request or a rejected key: say so
            log.warning("condense request failed (%s); deciding offline", type(error).__name__)
            return standalone(question, history, confidence)
        if not query or len(query) > 4 * len(question) + 200:
            return standalone(question, history, confidence)
        if _same(query, question):
            return Rewrite(question, False, "the chat model kept it")
        return Rewrite(query, True, "condensed by the chat model")
