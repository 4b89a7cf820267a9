"""The page guards itself, however its server was started.

``privacy-qa ui`` guards the server before it starts (app/ui/hosts.py: every request's Host
checked, no address look-ups, usage statistics off). ``streamlit run app/ui/page.py`` does
none of that, so every run of the page's script first calls :func:`check`:

- The first time, the running server gets the same guard as under ``privacy-qa ui``
  (:func:`app.ui.hosts.guard_running_server`): from then on HTTP requests naming another
  host get 403 and Streamlit looks up no address of this machine. (Before the page's
  first run Streamlit serves its empty page shell to any host; documents and answers only
  ever travel through a script run, which this check stops.)
- The request that opened this session must name the page in its ``Host`` header (the
  hosts :func:`app.ui.hosts.allowed_hosts` computes for the served address and port);
  otherwise the page shows the refusal and nothing else.
- Streamlit's options must be the safe ones (:data:`REQUIRED`: no usage statistics, XSRF
  and CORS checks on, no agent API); ``.streamlit/config.toml`` sets them when
  ``streamlit run`` starts in the repository's root. Otherwise the page shows which option
  is wrong and what to do, and nothing else.

(That the address Streamlit listens on passes the rule of ``privacy-qa ui --host``, beyond
loopback only with sign-in, app/ui/signin.py checks next.)
"""

from __future__ import annotations

import logging

import streamlit as st

from app.config import Settings
from app.ui import hosts

log = logging.getLogger(__name__)

# Streamlit's options the page needs, with the value each must have.
REQUIRED = {
    "browser.gatherUsageStats": False,  # nothing phones home
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,  # a WebSocket from another site's page is refused
    "server.enableAgentApi": False,  # no second way in, beside the page
}
START_HINT = (
    "Start the page with `privacy-qa ui`, or with `streamlit run app/ui/page.py` from the "
    "repository's root, where .streamlit/config.toml sets these options."
)


def unsafe_options() -> list[str]:
    """``name = value`` of each :data:`REQUIRED` option Streamlit does not have as needed."""
    wrong = []
    for name, value in REQUIRED.items():
        if st.get_option(name) != value:
            wrong.append(f"{name} = {str(value).lower()}")
    return wrong


def served_address() -> tuple[str, int]:
    """(address, port) Streamlit's server listens on (no address: every interface)."""
    return st.get_option("server.address") or "0.0.0.0", int(st.get_option("server.port"))


def request_allowed(allowed: hosts.AllowedHosts) -> bool:
    """Whether the request that opened this session named the page in its single Host."""
    values = st.context.headers.get_all("host")
    return len(values) == 1 and allowed.allows(values[0])


def check(settings: Settings) -> None:
    """Stop this run of the page (``st.stop``) unless it is served safely (module doc)."""
    if not _served():
        return  # Streamlit's AppTest: no server, no request
    address, port = served_address()
    allowed = hosts.allowed_hosts(settings, address, port)
    _guard_server(allowed)
    if not request_allowed(allowed):
        st.error(hosts.REFUSAL.decode())
        st.stop()
    if wrong := unsafe_options():
        st.error(
            "This page will not run with Streamlit's options as they are: set "
            + ", ".join(wrong)
            + ". "
            + START_HINT
        )
        st.stop()


_guarded: list[bool] = []  # once per process


def _guard_server(allowed: hosts.AllowedHosts) -> None:
    """Once per process: the running server's own guard (module doc)."""
    if _guarded:
        return
    try:
        added = hosts.guard_running_server(allowed)
    except RuntimeError as exc:
        log.error("%s", exc)
        st.error(f"This page cannot guard its server ({exc}). {START_HINT}")
        st.stop()
    _guarded.append(True)
    if added:
        log.warning(
            "The page was started without `privacy-qa ui`: its server now refuses other "
            "Host headers and makes no address look-ups (app/ui/guard.py)."
        )


def _served() -> bool:
    from streamlit import config

    # None only without a server (AppTest); a Streamlit without the attribute is served.
    return getattr(config, "_server_mode", "unknown") is not None
