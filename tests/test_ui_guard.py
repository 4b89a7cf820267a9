"""The page guards itself when started by `streamlit run app/ui/page.py` instead of
`privacy-qa ui` (app/ui/guard.py): real Streamlit servers in subprocesses on 127.0.0.1, raw
requests with forged Host headers, chromium resolving evil.example to 127.0.0.1, and every
non-loopback connect or look-up recorded (tests/netguard)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from app.ui.guard import REQUIRED

from .conftest import CHROMIUM, CHROMIUM_ARGS
from .test_ui_browser import free_port, stop, wait_for_health
from .test_ui_hosts import FORGED, guarded_environment, request, websocket

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "app" / "ui" / "page.py"
WAIT_MS = 60_000
# What a careful user passes when starting from elsewhere than the repository's root.
SAFE_FLAGS = (
    "--server.address=127.0.0.1",
    "--server.headless=true",
    "--browser.gatherUsageStats=false",
)


def test_the_repositorys_streamlit_config_sets_what_the_page_requires():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    for name, value in REQUIRED.items():
        section, key = name.split(".")
        assert config[section][key] is value, name
    assert config["server"]["address"] == "127.0.0.1"


@contextlib.contextmanager
def streamlit_run(tmp: Path, cwd: Path, *flags: str):
    """`streamlit run app/ui/page.py` in ``cwd`` on a free port over ``tmp``'s data, with
    network attempts recorded in tmp/attempts.txt; yields (port, log)."""
    port = free_port()
    log = tmp / "streamlit.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_QA_")}
    env |= guarded_environment(tmp / "attempts.txt")
    env |= {"PRIVACY_QA_DATA_DIR": str(tmp / "data"), "PRIVACY_QA_CORPUS_DIR": str(tmp)}
    command = [sys.executable, "-m", "streamlit", "run", str(PAGE), f"--server.port={port}"]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, *flags], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, log)
        yield port, log
    finally:
        stop(process)


def open_tab(browser, url: str):
    tab = browser.new_page()
    tab.goto(url)
    tab.wait_for_selector('[data-testid="stAlert"], [data-testid="stChatInput"]', timeout=WAIT_MS)
    return tab


@pytest.fixture(scope="module")
def rebinding_browser():
    """Chromium resolving evil.example to 127.0.0.1 (the probe's DNS rebinding)."""
    from playwright.sync_api import sync_playwright

    rules = f"--host-resolver-rules=MAP {FORGED} 127.0.0.1"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, rules]
        )
        yield chromium
        chromium.close()


@pytest.mark.slow
@pytest.mark.browser
def test_streamlit_run_without_the_repos_config_refuses_a_forged_host(tmp_path, rebinding_browser):
    """Started elsewhere (no .streamlit/config.toml, so Streamlit checks no Host at all):
    the rebinding browser's session shows only the refusal; from then on the server
    answers other hosts with 403 and a cross-origin WebSocket makes no look-up; under its
    own address the page works."""
    with streamlit_run(tmp_path, tmp_path, *SAFE_FLAGS) as (port, log):
        own = f"127.0.0.1:{port}"
        tab = open_tab(rebinding_browser, f"http://{FORGED}:{port}/")
        assert "not served under that host name" in tab.inner_text("body")
        assert tab.locator('[data-testid="stChatInput"]').count() == 0
        assert tab.locator('[data-testid="stSidebar"]').count() == 0
        tab.close()
        for path in ("/", "/_stcore/health", "/?doc=x.md&line=1"):
            for host in (f"{FORGED}:{port}", f"127.0.0.1:{port + 1}", f"localhost.:{port}"):
                status, body = request(port, path, host)
                assert status == 403, (path, host, status)
                assert body.startswith(b"403 Forbidden: this page is not served under that host")
            assert request(port, path, own)[0] == 200, path
        assert websocket(port, f"{FORGED}:{port}", f"http://{FORGED}:{port}") == 403
        assert websocket(port, own, f"http://{FORGED}") == 403  # cross-origin
        assert websocket(port, own, f"http://{own}") == 101
        tab = open_tab(rebinding_browser, f"http://{own}/")
        tab.wait_for_selector('[data-testid="stChatInput"]', timeout=WAIT_MS)
        assert "not served under that host name" not in tab.inner_text("body")
        tab.close()
        text = log.read_text()
    assert (tmp_path / "attempts.txt.loaded").exists()  # the recorder was on
    assert not (tmp_path / "attempts.txt").exists(), (tmp_path / "attempts.txt").read_text()
    assert "started without `privacy-qa ui`" in text


@pytest.mark.slow
@pytest.mark.browser
def test_streamlit_run_with_usage_statistics_on_shows_only_what_to_do(tmp_path, rebinding_browser):
    with streamlit_run(tmp_path, tmp_path, "--server.address=127.0.0.1") as (port, _):
        tab = open_tab(rebinding_browser, f"http://127.0.0.1:{port}/")
        text = tab.inner_text("body")
        assert "browser.gatherUsageStats = false" in text
        assert "from the repository's root" in text
        assert tab.locator('[data-testid="stChatInput"]').count() == 0
        tab.close()


@pytest.mark.slow
@pytest.mark.browser
def test_streamlit_run_from_the_repository_root_is_private(tmp_path, rebinding_browser):
    """The repository's config keeps the server on 127.0.0.1 with no start-up look-ups, and
    Streamlit itself refuses the forged Host's WebSocket; the page works."""
    with streamlit_run(tmp_path, ROOT) as (port, log):
        own = f"127.0.0.1:{port}"
        assert websocket(port, f"{FORGED}:{port}", f"http://{FORGED}:{port}") == 403
        tab = open_tab(rebinding_browser, f"http://{own}/")
        tab.wait_for_selector('[data-testid="stChatInput"]', timeout=WAIT_MS)
        tab.close()
        assert request(port, "/", f"{FORGED}:{port}")[0] == 403  # guarded since that run
        text = log.read_text()
    assert not (tmp_path / "attempts.txt").exists(), (tmp_path / "attempts.txt").read_text()
    assert "Network URL" not in text and "External URL" not in text
