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
