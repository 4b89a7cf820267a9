"""The one HTTP client through which everything talks to OpenAI (or a compatible server).

Data may go only to endpoints that are eligible for zero data retention (ZDR), and only to
the ones this app needs: ``POST {base}/chat/completions`` with text-only messages and
``POST {base}/embeddings``. A request hook runs the allowlist of :mod:`app.zdr_guard` on
every request, before a byte is sent, and raises :class:`~app.errors.ZDRViolationError`
for anything else (``/responses``, ``/files``, ``GET /models``, image or audio content
parts, stored completions, fields or shapes the app does not send, query strings, a
forged Host header). The openai SDK and langchain-openai receive these clients instead of
building their own, so no other path out exists.

The same clients retry 429, 5xx, timeouts and dropped connections a bounded number of
times with exponential backoff (the SDK's own retries are switched off, so the count and
the waits are ours and configurable), and record which endpoints were called, so
``ask --json`` and the UI can say where data went.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import openai

from app.config import Settings
from app.errors import APIKeyRejectedError, ConfigError, PrivacyQAError, ProviderError
from app.zdr_guard import check_request

# openai>=3 is built on httpx2 (an API-identical fork of httpx) and wants its clients from
# it; older SDKs use httpx. Build ours from whichever the installed SDK uses.
if int(re.match(r"\D*(\d+)", openai.__version__).group(1)) >= 3:  # pragma: no branch
    import httpx2 as httpx
else:  # pragma: no cover - depends on the installed SDK
    import httpx

log = logging.getLogger(__name__)

#: Statuses worth another try: rate limited, or the server failed.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
#: Longest wait between two tries, whatever the backoff or a Retry-After header say.
MAX_BACKOFF_S = 8.0


# --------------------------------------------------------------- which endpoints were called

_recorders = threading.local()


@contextmanager
def capture_endpoints() -> Iterator[list[str]]:
    """Collect ``"POST <url>"`` of every request let through in this thread, in order.

    Used around one question so its answer can say where data went. Nested captures each
    see the calls made while they are open.
    """
    calls: list[str] = []
    stack = _recorders.__dict__.setdefault("stack", [])
    stack.append(calls)
    try:
        yield calls
    finally:
        # By identity: a generator may be closed after other captures opened.
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is calls:
                del stack[i]
                break


def _record(label: str) -> None:
    for calls in getattr(_recorders, "stack", ()):
        calls.append(label)


# -------------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    retries: int  # tries after the first
    backoff_s: float  # wait before the first retry; doubles each time

    def delay(self, attempt: int, response=None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): a server's Retry-After if it
        gives one, else exponential backoff with jitter; never above MAX_BACKOFF_S."""
        hinted = _retry_after(response) if response is not None else None
        if hinted is not None:
            return min(hinted, MAX_BACKOFF_S)
        wait = self.backoff_s * (2**attempt)
        return min(wait * (0.75 + random.random() / 2), MAX_BACKOFF_S)


def _retry_after(response) -> float | None:
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


# Failures of the connection itself that another try may not meet.
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class RetryTransport(httpx.BaseTransport):
    """Sends a request, and again after a backoff while the answer is worth retrying."""

    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy):
        self.inner = inner
        self.policy = policy

    def handle_request(self, request):
        for attempt in range(self.policy.retries + 1):
            last = attempt == self.policy.retries
            try:
                response = self.inner.handle_request(request)
            except _RETRY_ERRORS as exc:
                if last:
                    raise
                wait = self.policy.delay(attempt)
                log.warning("%s %s failed (%r); retrying in %.2f s", *_what(request), exc, wait)
            else:
                if last or response.status_code not in RETRY_STATUSES:
                    return response
                response.read()
                response.close()
                wait = self.policy.delay(attempt, response)
                log.warning(
                    "%s %s answered HTTP %d; retrying in %.2f s",
                    *_what(request),
                    response.status_code,
                    wait,
                )
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RetryTransport` (langchain's ``ainvoke`` paths)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, policy: RetryPolicy):
        self.inner = inner
        self.policy = policy

    async def handle_async_request(self, request):
        for attempt in range(self.policy.retries + 1):
            last = attempt == self.policy.retries
            try:
                response = await self.inner.handle_async_request(request)
            except _RETRY_ERRORS:
                if last:
                    raise
                wait = self.policy.delay(attempt)
            else:
                if last or response.status_code not in RETRY_STATUSES:
                    return response
                await response.aread()
                await response.aclose()
                wait = self.policy.delay(attempt, response)
            log.warning("%s %s failed; retrying in %.2f s", *_what(request), wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self.inner.aclose()


def _what(request) -> tuple[str, str]:
    return request.method, str(request.url.copy_with(query=None))


# ------------------------------------------------------------------------------ the client


class OpenAIHTTP:
    """The guarded sync and async HTTP clients for one API base URL and key.

    ``calls`` lists ``"POST <url>"`` for every request this client let through (retries
    are not counted twice: they happen below the guard).
    """

    def __init__(self, settings: Settings):
        if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
            raise ConfigError(
                "OpenAI is selected (PRIVACY_QA_LLM=openai or PRIVACY_QA_EMBEDDINGS=openai/...) "
                "but OPENAI_API_KEY is not set: set it (any value for a local server that "
                "needs none), or use the offline defaults."
            )
        self.api_key = settings.openai_api_key
        self.base_url = settings.openai_api_base
        self.timeout_s = settings.openai_timeout_s
        self.calls: list[str] = []
        self.policy = RetryPolicy(settings.openai_max_retries, settings.openai_retry_backoff_s)
        self.timeout = httpx.Timeout(settings.openai_timeout_s, connect=10.0)
        self.client = httpx.Client(
            transport=RetryTransport(httpx.HTTPTransport(), self.policy),
            timeout=self.timeout,
            # A redirect could lead anywhere; the guard would check it, but none is expected.
            follow_redirects=False,
            event_hooks={"request": [self._guard]},
        )
        self._async_client = None

    @property
    def async_client(self):
        """Built on first use: only langchain's async paths need it."""
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                transport=AsyncRetryTransport(httpx.AsyncHTTPTransport(), self.policy),
                timeout=self.timeout,
                follow_redirects=False,
                event_hooks={"request": [self._async_guard]},
            )
        return self._async_client

    def _guard(self, request) -> None:
        # Only checks what the request already holds; request.read() loads a body that
        # was given as a stream (a file upload, say) so it can be inspected.
        label = check_request(
            request.method,
            str(request.url),
            _body(request),
            self.base_url,
            request.headers.multi_items(),
        )
        self.calls.append(label)
        _record(label)
        log.info("sending %s", label)

    async def _async_guard(self, request) -> None:
        self._guard(request)

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------- the vendor clients, all built on this one
    # langchain-openai loads only for the model that needs it: the guard and the eval's
    # judge use the SDK alone.

    def _langchain_options(self) -> dict:
        return {
            "api_key": self.api_key.get_secret_value(),
            "base_url": self.base_url,
            "http_client": self.client,
            "http_async_client": self.async_client,
            "max_retries": 0,  # retries happen in our transport, with the configured backoff
            "timeout": self.timeout_s,
        }

    def chat_model(self, model: str, **options):
        """langchain-openai's ``ChatOpenAI`` for ``model`` on Chat Completions only (the
        Responses API stores state, and the guard refuses it anyway); ``options`` are
        ChatOpenAI's (max_tokens, temperature, stream_usage, ...)."""
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=model, use_responses_api=False, **self._langchain_options(), **options
        )

    def embeddings_model(self, model: str, **options):
        """langchain-openai's ``OpenAIEmbeddings`` for ``model``; ``options`` are its own."""
        from langchain_openai import OpenAIEmbeddings

        return OpenAIEmbeddings(model=model, **self._langchain_options(), **options)

    def sdk_client(self) -> openai.OpenAI:
        """The openai SDK's client, for a plain request (the eval's judge)."""
        return openai.OpenAI(
            api_key=self.api_key.get_secret_value(),
            base_url=self.base_url,
            http_client=self.client,
            max_retries=0,  # the guarded client retries
        )


def _body(request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:
        return request.read()


# ------------------------------------------------------------------------- error mapping


def translate_error(exc: BaseException, base_url: str) -> PrivacyQAError:
    """The app's error for an exception raised through the openai SDK or langchain-openai.

    Our own errors (the guard's) come back as they are, even when the SDK wrapped them.
    A rejected key is a :class:`UserError`; everything else is a :class:`ProviderError`.
    """
    seen = exc
    while seen is not None:
        if isinstance(seen, PrivacyQAError):
            return seen
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, openai.AuthenticationError):
        return APIKeyRejectedError(
            f"OpenAI rejected the API key (HTTP 401 from {base_url}): check OPENAI_API_KEY."
        )
    if isinstance(exc, openai.PermissionDeniedError | openai.NotFoundError):
        return ConfigError(
            f"{base_url} refused the request (HTTP {exc.status_code}: {_api_message(exc)}): "
            "check OPENAI_BASE_URL, PRIVACY_QA_LLM_MODEL and PRIVACY_QA_EMBEDDINGS."
        )
    if isinstance(exc, openai.APIStatusError):
        return ProviderError(f"{base_url} answered HTTP {exc.status_code}: {_api_message(exc)}")
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(f"{base_url} did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(f"could not reach {base_url}")
    return ProviderError(f"{base_url} sent a response the app could not read ({exc!r:.200})")


def _api_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if message:
            return str(message)[:200]
    return str(getattr(exc, "message", exc))[:200]
