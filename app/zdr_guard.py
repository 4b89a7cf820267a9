"""The ZDR guard: which requests may leave the machine for OpenAI (or a compatible server).

Data may go only to endpoints that are eligible for zero data retention (ZDR), and only to
the ones this app needs. :func:`check_request` is an allowlist, not a list of forbidden
things: a request passes only if it is

- ``POST`` to exactly ``{base}/chat/completions`` or ``{base}/embeddings`` at the
  configured scheme, host and port, with no query string or fragment and no credentials
  in the URL, and with a single ``Host`` header naming that host;
- a JSON object with no key given twice (at any depth) and no ``NaN``/``Infinity``, whose
  fields are the ones the app sends, each of the shape it sends: text-only messages (a
  string, or parts that are exactly ``{"type": "text", "text": ...}``), the sampling and
  streaming options langchain-openai and the SDK write, and tools only as the app defines
  them (:data:`APP_TOOLS`; none today).

Anything else is refused with :class:`~app.errors.ZDRViolationError` naming the field
before a byte is sent (app/openai_http.py calls it from every client's request hook).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from app.config import OPENAI_CHAT, OPENAI_ENDPOINTS
from app.errors import ZDRViolationError

#: The endpoints the app needs, relative to the base URL (the table in app/config/__init__.py).
ALLOWED_ENDPOINTS = tuple(OPENAI_ENDPOINTS)
#: Tool definitions the app itself sends, by function name. A ``tools`` list passes only
#: if every entry equals one of these exactly; none are defined today.
APP_TOOLS: dict[str, dict] = {}

_ZDR_RULE = "privacy-qa sends data only to the zero-data-retention endpoints " + " and ".join(
    f"POST /{path}" + (" (text only)" if path == OPENAI_CHAT else "")
    for path in sorted(ALLOWED_ENDPOINTS)
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Refused(ValueError):
    """What is wrong with a body; becomes the ZDRViolationError's reason."""


def check_request(
    method: str,
    url: str,
    body: bytes,
    base_url: str,
    headers: Iterable[tuple[str, str]] | None = None,
) -> str:
    """Return ``"POST <url>"`` (never with userinfo) if the request may leave; raise
    :class:`ZDRViolationError` otherwise.

    ``base_url`` is the configured API base (``https://api.openai.com/v1`` by default);
    ``headers`` the request's headers as (name, value) pairs, when there are any to check.
    """
    target, base = urlsplit(url), urlsplit(base_url.rstrip("/"))
    label = f"{method} {target.scheme}://{_host(target)}{target.path}"
    if (target.scheme, _host(target)) != (base.scheme, _host(base)) or target.username:
        raise ZDRViolationError(f"Refused {label}: not the configured OPENAI_BASE_URL.")
    if "?" in url or "#" in url:
        raise ZDRViolationError(f"Refused {label}: a query string or fragment is not allowed.")
    endpoint = next((e for e in ALLOWED_ENDPOINTS if target.path == f"{base.path}/{e}"), None)
    if endpoint is None:
        raise ZDRViolationError(f"Refused {label}: {_ZDR_RULE}.")
    if method != "POST":
        raise ZDRViolationError(f"Refused {label}: only POST is allowed; {_ZDR_RULE}.")
    if headers is not None:
        hosts = [value for name, value in headers if name.lower() == "host"]
        if [h.lower() for h in hosts] not in ([_host(target)], [_host(target, default=True)]):
            raise ZDRViolationError(
                f"Refused {label}: the Host header must name the configured host only."
            )
    try:
        payload = _parse(body)
        _check_fields(payload, _CHAT if endpoint == OPENAI_CHAT else _EMBEDDINGS)
    except _Refused as exc:
        raise ZDRViolationError(f"Refused {label}: {exc}; {_ZDR_RULE}.") from None
    return label


def _host(parts: SplitResult, default: bool = False) -> str:
    """``host[:port]`` without userinfo (the port left out when it is the scheme's
    default, and with ``default`` also when it is written out)."""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        return host + ":?"
    if port is None or (default and port == _DEFAULT_PORTS.get(parts.scheme)):
        return host
    return f"{host}:{port}"


# ----------------------------------------------------------------------------- the body


def _parse(body: bytes) -> dict:
    def unique(pairs: list[tuple[str, Any]]) -> dict:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise _Refused(f"the key {key!r} is given twice")
            seen[key] = value
        return seen

    def no_constant(name: str) -> None:
        raise _Refused(f"{name} is not a number the app sends")

    try:
        payload = json.loads(body or b"null", object_pairs_hook=unique, parse_constant=no_constant)
    except _Refused:
        raise
    except (ValueError, RecursionError):
        raise _Refused("the body is not JSON the app sends") from None
    if not isinstance(payload, dict):
        raise _Refused("the body is not a JSON object")
    return payload


def _check_fields(payload: dict, fields: dict[str, Callable], where: str = "") -> None:
    for name, value in payload.items():
        path = f"{where}.{name}" if where else name
        check = fields.get(name)
        if check is None:
            raise _Refused(f"field {path!r} is not one the app sends")
        if not check(value, path):
            raise _Refused(f"field {path!r} does not have the shape the app sends")
    missing = [name for name in fields if name in _REQUIRED and name not in payload]
    if missing:
        raise _Refused(f"field {(where + '.' if where else '') + missing[0]!r} is missing")


def _text(value, path) -> bool:
    return isinstance(value, str)


def _flag(value, path) -> bool:
    return isinstance(value, bool)


def _count(value, path) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _number(value, path) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _false(value, path) -> bool:
    return value is False  # store: only "do not store"


def _object(fields: dict[str, Callable]) -> Callable:
    def check(value, path) -> bool:
        if not isinstance(value, dict):
            return False
        _check_fields(value, fields, path)
        return True

    return check


def _list_of(check: Callable) -> Callable:
    def check_list(value, path) -> bool:
        if not isinstance(value, list) or not value:
            return False
        return all(check(item, f"{path}[{i}]") for i, item in enumerate(value))

    return check_list


def _one_of(*allowed: str) -> Callable:
    return lambda value, path: isinstance(value, str) and value in allowed


def _role(value, path) -> bool:
    return value in ("system", "user", "assistant")


def _content(value, path) -> bool:
    # Text, or text parts only: image, audio and file parts are not covered by ZDR.
    if isinstance(value, str):
        return True
    part = _object({"type": _one_of("text"), "text": _text})
    return _list_of(part)(value, path)


def _app_tool(value, path) -> bool:
    name = value.get("function", {}).get("name") if isinstance(value, dict) else None
    return isinstance(name, str) and APP_TOOLS.get(name) == value


def _tool_choice(value, path) -> bool:
    if not APP_TOOLS:
        return False
    if value in ("none", "auto", "required"):
        return True
    function = value.get("function") if isinstance(value, dict) else None
    return isinstance(function, dict) and function.get("name") in APP_TOOLS


_MESSAGE = _object({"role": _role, "content": _content, "name": _text})
_CHAT = {
    "model": _text,
    "messages": _list_of(_MESSAGE),
    "stream": _flag,
    "stream_options": _object({"include_usage": _flag}),
    "temperature": _number,
    "max_tokens": _count,
    "max_completion_tokens": _count,
    "store": _false,
    "tools": _list_of(_app_tool),
    "tool_choice": _tool_choice,
}
_EMBEDDINGS = {
    "model": _text,
    "input": lambda value, path: _text(value, path) or _list_of(_text)(value, path),
    "encoding_format": _one_of("float", "base64"),
}
# Fields that must be present where they are allowed (a message needs a role and content).
_REQUIRED = frozenset({"model", "messages", "input", "role", "content", "type", "text"})
