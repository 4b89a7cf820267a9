"""The checks of settings whose values need more than a type and limits: each takes the
converted value and returns it normalised, or raises ValueError saying what is wrong (the
error message puts it after the variable's name)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def known_llm(value: str) -> str:
    value = value.strip().lower()
    if value not in ("extractive", "openai"):
        raise ValueError(f"must be 'extractive' or 'openai', not {value!r}")
    return value


def log_level(value: str) -> str:
    value = value.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {value!r}")
    return value


def no_credentials(parts) -> None:
    # The URL itself is never repeated: its password would land in the message.
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not hold a user name or password (user:pass@); remove them from the URL "
            "(the OpenAI key goes in OPENAI_API_KEY)"
        )


def openai_base_url(value: str) -> str:
    parts = urlsplit(value.strip())
    no_credentials(parts)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must look like https://HOST/v1 or http://HOST:PORT/v1")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query string or fragment")
    return value.strip()


def chroma_url(value: str) -> str:
    parts = urlsplit(value.strip())
    no_credentials(parts)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must look like http://HOST:PORT")
    if parts.path.strip("/") or parts.query:
        raise ValueError("must be http://HOST:PORT, without a path")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"has a bad port ({exc})") from None
    return value.strip().rstrip("/")


def user_names(value: str) -> str:
    """A comma-separated list of user names, e-mail addresses or ``group:NAME`` entries."""
    names = [name.strip() for name in value.split(",")]
    bad = [name for name in names if not re.fullmatch(r"[^\s,:]+|group:[^\s,]+", name)]
    if bad or not any(names):
        raise ValueError(
            f"must be names separated by commas (alice,bob@example.org,group:admins), not {value!r}"
        )
    return ",".join(names)


def oidc_metadata_url(value: str) -> str:
    """The OpenID Connect discovery document's URL."""
    parts = urlsplit(value.strip())
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold a user name or password (user:pass@)")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "must look like https://ISSUER/.well-known/openid-configuration "
            "(http only for a provider on this machine)"
        )
    return value.strip()


def oidc_redirect_uri(value: str) -> str:
    """Where the provider sends the browser back: Streamlit serves it at /oauth2callback."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must look like https://ADDRESS/oauth2callback")
    if not parts.path.endswith("/oauth2callback") or parts.query or parts.fragment:
        raise ValueError("must end with /oauth2callback (Streamlit's sign-in callback)")
    return value.strip()


def host_names(value: str) -> str:
    """Names and addresses the chat page may be reached under, separated by commas:
    ``qa.example.org``, ``10.0.0.5:8501``, ``[fd00::5]``; normalised to lower case."""
    names = [name.strip().lower() for name in value.split(",")]
    bad = [name for name in names if not _is_host_name(name)]
    if bad or not any(names):
        raise ValueError(
            "must be host names or addresses, each optionally with :PORT, separated by "
            f"commas (qa.example.org,10.0.0.5:8501,[fd00::5]), not {value!r}"
        )
    return ",".join(names)


def _is_host_name(name: str) -> bool:
    try:
        parts = urlsplit(f"//{name}")
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    if not parts.hostname or parts.netloc != name or parts.username or parts.password:
        return False
    return bool(re.fullmatch(r"[a-z0-9.-]+|[0-9a-f:.]+", parts.hostname))
