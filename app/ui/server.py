"""What ``privacy-qa ui`` does once its options are parsed: start the chat page's server.

The server runs in this process, so the page's model and index load in it: Streamlit's
server starts first, with the page's script, and answers only requests naming the page in
their Host header and contacts nothing outside the machine (app/ui/hosts.py); once it
listens, a thread loads the model and opens the index while the browser loads the page.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from app import qa
from app.config import Settings
from app.errors import UserError

SECRETS_FILE = "streamlit-secrets.toml"  # in the data dir: Streamlit's [auth] for st.login
LISTEN_WAIT_S = 10.0  # the preload starts then even if the server does not listen yet
PRELOAD_SWITCH_INTERVAL_S = 0.0005  # while the preload runs (preload_once_listening)


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the chat page on ``host:port`` with these settings until Ctrl-C.

    Raises :class:`UserError` if the port is taken, or ``host`` is beyond loopback and no
    sign-in is configured.
    """
    qa.check_listen_host(settings, host)
    check_port_free(host, port)
    # Imported only now: Streamlit and the page take seconds to import.
    from streamlit.web import bootstrap

    from app.ui import guard, hosts, page, resources

    # The page uses what was resolved here (--data-dir and --corpus-dir included), as
    # absolute paths, instead of reading the environment on each run.
    settings = settings.replace(
        data_dir=settings.data_dir.resolve(), corpus_dir=settings.corpus_dir.resolve()
    )
    resources.hand_over_settings(settings)
    flags = {
        "server.address": host,
        "server.port": port,
        "server.headless": True,  # no browser opened, no e-mail prompt
        "server.fileWatcherType": "none",
        "client.toolbarMode": "minimal",
        # Usage statistics off, XSRF and CORS checks on, no agent API: as in
        # .streamlit/config.toml whatever the cwd, and what the page checks (app/ui/guard.py).
        **guard.REQUIRED,
    }
    # Only Host headers naming the page are answered, and Streamlit looks up no address of
    # this machine on the internet (app/ui/hosts.py); its own WebSocket host list as well.
    allowed = hosts.allowed_hosts(settings, host, port)
    flags["server.allowedHosts"] = allowed.names()
    hosts.install(allowed)
    hosts.warn_if_only_loopback(settings, host)
    auth_secrets = write_auth_secrets(settings, host, port)
    if auth_secrets is not None:  # OpenID Connect through st.login
        flags["secrets.files"] = [str(auth_secrets)]
    # Not before: its imports (chromadb, the model runtime) hold the interpreter's lock and put
    # off the server's start, and with it the browser's, by about 0.6 s (docs/benchmarks.md).
    threading.Thread(
        target=preload_once_listening,
        args=(settings, host, port),
        name="privacy-qa-preload-wait",
        daemon=True,
    ).start()
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(page.__file__, False, [], flags)


def preload_once_listening(
    settings: Settings, host: str, port: int, wait: float = LISTEN_WAIT_S
) -> None:
    """Run the page's preload of the model and index (app/ui/resources.py) once the
    server accepts connections on ``host:port``, or after ``wait`` seconds; return when it
    has ended. A page run that comes first starts it itself.

    Meanwhile the interpreter switches threads every half millisecond instead of every
    5 ms: the preload's imports hold its lock while the server thread serves the browser
    the page's scripts, one request after another (docs/benchmarks.md)."""
    from app.ui import resources

    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # any address: loopback
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            socket.create_connection((target, port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    default = sys.getswitchinterval()
    sys.setswitchinterval(PRELOAD_SWITCH_INTERVAL_S)
    try:
        resources.start_preload(settings).join()
    finally:
        sys.setswitchinterval(default)


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`UserError` if ``host:port`` cannot be listened on."""
    with socket.socket() as probe:
        # As the server will: a port left in TIME_WAIT by a stopped server is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UserError(
                f"Cannot listen on {host}:{port} ({exc.strerror}): another program uses it. "
                "Stop it or pick another port with `privacy-qa ui --port N`."
            ) from exc


def write_auth_secrets(settings: Settings, host: str, port: int) -> Path | None:
    """Write Streamlit's [auth] secrets for st.login from the PRIVACY_QA_OIDC_* settings
    (mode 600, in the data dir); None when OpenID Connect is not configured."""
    if "oidc" not in qa.sign_in_methods(settings):
        return None
    try:
        import authlib  # noqa: F401 - st.login needs it
    except ImportError:
        raise UserError(
            "OpenID Connect sign-in needs Authlib: run `scripts/setup.sh` (or pip install "
            "Authlib) in this environment."
        ) from None
    address = f"[{host}]" if ":" in host else host
    values = {
        "redirect_uri": settings.oidc_redirect_uri or f"http://{address}:{port}/oauth2callback",
        "cookie_secret": qa.cookie_secret(settings),
        "client_id": settings.oidc_client_id,
        "client_secret": settings.oidc_client_secret.get_secret_value(),
        "server_metadata_url": settings.oidc_metadata_url,
        "client_kwargs": {"scope": "openid email profile"},
    }
    # TOML's basic strings take JSON's escapes; an inline table for client_kwargs.
    lines = ["[auth]"] + [f"{key} = {_toml(value)}" for key, value in values.items()]
    path = settings.data_dir / SECRETS_FILE
    _write_private(path, "\n".join(lines) + "\n")
    return path


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
