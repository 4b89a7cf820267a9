"""What ``privacy-qa ui`` does once its options are parsed: start the chat page's server.

The server runs in this process, so the page's model and index load while it starts: the
preload thread first, then Streamlit's server with the page's script.
"""

from __future__ import annotations

import socket

from app.config import Settings
from app.errors import UserError


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the chat page on ``host:port`` with these settings until Ctrl-C.

    Raises :class:`UserError` if the port is taken.
    """
    check_port_free(host, port)
    # Imported only now: Streamlit and the page take seconds to import.
    from streamlit.web import bootstrap

    from app.ui import page, resources

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
        "browser.gatherUsageStats": False,  # as in .streamlit/config.toml, whatever the cwd
        "server.fileWatcherType": "none",
        "client.toolbarMode": "minimal",
    }
    resources.start_preload(settings)
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(page.__file__, False, [], flags)


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
