"""Answering: turn retrieved chunks into a short answer whose every claim is cited.

- ``types``: Citation, Answer, the stream events (TextDelta, Composed), the Answerer interface
- ``abstain``: the one place that decides whether to abstain
- ``sentences``: sentence splitting and which sentences are worth quoting
- ``extractive``: the offline default, which quotes verbatim sentences
- ``prompt``, ``citation_check``, ``chat``: the chat-model answerer (docs/llm.md)

:func:`make_answerer` builds the answerer the settings name.
"""

from __future__ import annotations

from app.answering.types import Answerer
from app.config import Settings
from app.errors import ConfigError


def make_answerer(settings: Settings) -> Answerer:
    """The answerer ``settings.llm`` names."""
    # Each answerer's module loads what it needs (retrieval and Chroma, or the chat stack)
    # only when it is chosen: the page and the facade import this package's types alone.
    if settings.llm == "extractive":
        from app.answering.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(max_quotes=settings.max_quotes)
    if settings.llm == "openai":
        from app.answering.chat import ChatAnswerer

        return ChatAnswerer(settings)
    raise ConfigError(
        f"The {settings.llm!r} answerer is not available in this version; "
        "set PRIVACY_QA_LLM=extractive."
    )
