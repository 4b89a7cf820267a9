"""What the app sends to OpenAI (or an OpenAI-compatible server): the endpoints it calls,
what each is sent, and the list prices it estimates costs with. app/zdr_guard.py refuses
every other request."""

from __future__ import annotations

DEFAULT_OPENAI_MODEL = "openai/text-embedding-3-small"

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
# The only OpenAI endpoints the app calls, relative to the API base, with what each is sent.
# Both are eligible for zero data retention; app/openai_http.py refuses every other request.
OPENAI_EMBEDDINGS = "embeddings"
OPENAI_CHAT = "chat/completions"
OPENAI_ENDPOINTS = {
    OPENAI_EMBEDDINGS: "document chunks and questions",
    OPENAI_CHAT: "question and retrieved chunks",
}
# USD per million prompt and completion tokens (OpenAI list prices, standard tier, 2025).
DEFAULT_LLM_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}


def endpoints_used(base: str, embeddings: bool, chat: bool) -> list[str]:
    """ "POST <base>/<path> (what is sent)" of the endpoints in use: the embeddings one when
    ``embeddings`` are remote, the chat one when ``chat`` is."""
    used = {OPENAI_EMBEDDINGS: embeddings, OPENAI_CHAT: chat}
    return [f"POST {base}/{path} ({sent})" for path, sent in OPENAI_ENDPOINTS.items() if used[path]]
