"""What the chat page's server answers and what it never contacts.

**Allowed hosts.** A web page elsewhere can make a browser send requests to the page under
a name the attacker controls that resolves to this machine (DNS rebinding), and the
browser then treats the page as that name's: it can read the documents and ask. So every
request (HTML, static files, /_stcore/health, media, the /_stcore/stream WebSocket) is
answered only when its ``Host`` header names the page as it is served: 127.0.0.1,
localhost or [::1] on its port, ``--host`` when that is an address, and the names the
operator lists in ``PRIVACY_QA_ALLOWED_HOSTS``; anything else gets 403. Streamlit's own
``server.allowedHosts`` covers only the WebSocket and ignores ports, so :func:`install`
adds :class:`HostCheck` as the outermost ASGI middleware of the Starlette app Streamlit
builds (the supported option is set too, as a second line for the WebSocket).

**No external lookups.** Streamlit looks up the machine's "internal" address (a UDP
connect to 8.8.8.8) and its "external" one (an HTTP request to checkip.amazonaws.com)
when it prints the page's URLs for 0.0.0.0 and when it checks a WebSocket from another
origin; no option turns that off, so :func:`install` replaces both look-ups with ones that
find nothing: the URLs printed are then the local one only, and a cross-origin WebSocket
is judged by the same-origin rule and ``server.corsAllowedOrigins`` alone. Usage
statistics are off by option (server.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.config import Settings

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::")  # listen addresses nobody types as the page's address
REFUSAL = (
    b"403 Forbidden: this page is not served under that host name. The operator can add "
    b"it to PRIVACY_QA_ALLOWED_HOSTS.\n"
)


@dataclass(frozen=True)
class AllowedHosts:
    """The Host headers the page answers: (name, port) pairs, and names on any port."""

    exact: frozenset[tuple[str, int]]
    any_port: frozenset[str]

    def allows(self, header: str | None) -> bool:
        """Whether a request with this ``Host`` header value is answered."""
        parsed = parse_host(header) if header else None
        if parsed is None:
            return False
        name, port = parsed
        return name in self.any_port or (name, port if port is not None else 80) in self.exact

    def names(self) -> list[str]:
        """Every allowed name, ports left out (for Streamlit's server.allowedHosts)."""
        return sorted({name for name, _ in self.exact} | self.any_port)


def parse_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a Host header value (IPv6 without brackets, lower case), or
    None when it is not a plain host with an optional port."""
    try:
        parts = urlsplit(f"//{value}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.netloc != value or parts.username or parts.password:
        return None
    return parts.hostname.lower(), port


def allowed_hosts(settings: Settings, host: str, port: int) -> AllowedHosts:
    """The hosts the page served on ``host:port`` answers to (see the module doc)."""
    exact = {(name, port) for name in LOOPBACK_NAMES}
    listen = host.strip().strip("[]").lower()
    if listen not in WILDCARDS:
        exact.add((listen, port))
    any_port: set[str] = set()
    for entry in (settings.allowed_hosts or "").split(","):
        parsed = parse_host(entry) if entry else None
        if parsed is None:
            continue
        if parsed[1] is None:
            any_port.add(parsed[0])
        else:
            exact.add(parsed)
    if settings.oidc_redirect_uri:  # the address users reach the page under
        parts = urlsplit(settings.oidc_redirect_uri)
        default = 443 if parts.scheme == "https" else 80
        exact.add(((parts.hostname or "").lower(), parts.port or default))
    return AllowedHosts(frozenset(exact), frozenset(any_port))


def warn_if_only_loopback(settings: Settings, host: str) -> None:
    """Log a warning when the page listens on every address but answers only as loopback."""
    if host.strip().strip("[]") in WILDCARDS and not settings.allowed_hosts:
        log.warning(
            "Listening on %s, the page answers only as 127.0.0.1, localhost and [::1]: set "
            "PRIVACY_QA_ALLOWED_HOSTS to the names and addresses its users type (e.g. "
            "qa.example.org,10.0.0.5).",
            host,
        )


class HostCheck:
    """ASGI middleware: 403 for an HTTP request or WebSocket handshake whose single
    ``Host`` header the page does not answer to; everything else passes through."""

    def __init__(self, app, hosts: AllowedHosts):
        self.app, self.hosts = app, hosts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket") and not self._allowed(scope):
            if scope["type"] == "websocket":
                # Closing before accepting makes the server answer the handshake with 403.
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _refuse(send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope) -> bool:
        values = [value for key, value in scope.get("headers", ()) if key == b"host"]
        if len(values) != 1:
            return False
        try:
            return self.hosts.allows(values[0].decode("ascii"))
        except UnicodeDecodeError:
            return False


async def _refuse(send) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(REFUSAL)).encode()),
    ]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": REFUSAL})


def install(hosts: AllowedHosts) -> None:
    """Before Streamlit's server starts: wrap the app it builds in :class:`HostCheck`, and
    make its address look-ups find nothing (module doc). Raises RuntimeError if this
    Streamlit no longer has the hooks, rather than serving the page unguarded."""
    from streamlit import net_util
    from streamlit.web.server.starlette import starlette_server

    build = getattr(starlette_server, "create_starlette_app", None)
    if build is None or not hasattr(net_util, "get_external_ip"):
        raise RuntimeError("Streamlit changed: app/ui/hosts.py cannot guard its server")
    build = getattr(build, "unguarded", build)  # installed before: wrap the original

    def create_starlette_app(runtime):
        app = build(runtime)
        app.add_middleware(HostCheck, hosts=hosts)  # outermost: runs first
        return app

    create_starlette_app.unguarded = build
    starlette_server.create_starlette_app = create_starlette_app
    net_util.get_internal_ip = _no_address
    net_util.get_external_ip = _no_address


def guard_running_server(hosts: AllowedHosts) -> bool:
    """For a server started without :func:`install` (``streamlit run``): put
    :class:`HostCheck` in front of the running Starlette app Streamlit built, and make its
    address look-ups find nothing, from now on. Returns whether a guard had to be added
    (False: ``privacy-qa ui`` installed it, or this ran before). Raises RuntimeError if no
    running app is found, rather than serving the page unguarded."""
    import gc

    from starlette.applications import Starlette
    from streamlit import net_util

    apps = [o for o in gc.get_objects() if isinstance(o, Starlette)]
    if not apps:
        raise RuntimeError("Streamlit changed: app/ui/hosts.py finds no server to guard")
    added = False
    for app in apps:
        if any(m.cls is HostCheck for m in app.user_middleware):
            continue  # privacy-qa ui: guarded from the start
        stack = app.middleware_stack or app.build_middleware_stack()
        if not isinstance(stack, HostCheck):
            app.middleware_stack = HostCheck(stack, hosts)  # what the app calls per request
            added = True
    net_util.get_internal_ip = _no_address
    net_util.get_external_ip = _no_address
    return added


def _no_address() -> None:
    """In place of Streamlit's look-ups of this machine's addresses: none is made."""
    return None
