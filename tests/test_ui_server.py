"""`privacy-qa ui` (app/ui/server.py) before the page: the port it is asked for."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_ui_command_refuses_a_busy_port_with_a_clear_message(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(tmp_path), "ui", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2, result.stderr
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_ui_command_refuses_a_host_beyond_loopback_without_sign_in(tmp_path, host):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_QA_")}
    command = [sys.executable, "-m", "app", "--data-dir", str(tmp_path), "ui", "--host", host]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2, result.stderr
    assert f"Listening on {host} lets anyone on the network" in result.stderr
    assert "PRIVACY_QA_USERS_FILE" in result.stderr and "privacy-qa users add NAME" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""

    # A users file without a user lets nobody in: refused too, saying what to do.
    env["PRIVACY_QA_USERS_FILE"] = str(tmp_path / "users.txt")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2, result.stderr
    assert "holds no users" in result.stderr and "privacy-qa users add NAME" in result.stderr


@pytest.fixture
def preloads(monkeypatch):
    """The preloads started (resources.start_preload recorded, nothing loaded): when each
    started and the interpreter's switch interval it ran with."""
    import sys
    import threading
    import time

    from app.ui import resources

    runs: list[tuple[float, float]] = []

    def start_preload(settings):
        started = time.monotonic()
        thread = threading.Thread(target=lambda: runs.append((started, sys.getswitchinterval())))
        thread.start()
        return thread

    monkeypatch.setattr(resources, "start_preload", start_preload)
    return runs


def test_the_preload_starts_once_the_server_listens(tmp_path, preloads):
    import socket
    import sys
    import time

    from app.ui import server

    from .conftest import make_settings

    default = sys.getswitchinterval()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        begun = time.monotonic()
        server.preload_once_listening(
            make_settings(tmp_path), "127.0.0.1", listening.getsockname()[1]
        )
    # Threads switch more often while the preload runs, as before once it has ended.
    assert [(round(at - begun), switch) for at, switch in preloads] == [
        (0, server.PRELOAD_SWITCH_INTERVAL_S)
    ]
    assert sys.getswitchinterval() == default


def test_the_preload_starts_anyway_when_the_server_does_not_listen(tmp_path, preloads):
    import socket
    import sys
    import time

    from app.ui import server

    from .conftest import make_settings

    default = sys.getswitchinterval()
    with socket.socket() as closed:  # bound, not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        begun = time.monotonic()
        server.preload_once_listening(
            make_settings(tmp_path), "127.0.0.1", closed.getsockname()[1], wait=0.3
        )
    assert len(preloads) == 1 and 0.3 <= preloads[0][0] - begun < 5
    assert sys.getswitchinterval() == default
