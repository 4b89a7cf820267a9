"""The page answers only Host headers naming it, and its server contacts nothing beyond
this machine (app/ui/hosts.py): unit tests of the rule, then `privacy-qa ui` for real, sent
raw requests with forged Host headers, started on 0.0.0.0 with every non-loopback
connect and name look-up recorded (tests/netguard/sitecustomize.py), and chromium resolving
evil.example to 127.0.0.1 (the DNS rebinding of the probe)."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import auth
from app.ui.hosts import AllowedHosts, allowed_hosts, parse_host

from .conftest import CHROMIUM, CHROMIUM_ARGS, copy_corpus, make_settings

NETGUARD = Path(__file__).parent / "netguard"
FORGED = "evil.example"


# ------------------------------------------------------------------------ the rule


def test_parse_host_takes_a_plain_host_with_an_optional_port():
    assert parse_host("127.0.0.1:8501") == ("127.0.0.1", 8501)
    assert parse_host("[::1]:8501") == ("::1", 8501)
    assert parse_host("QA.Example.org") == ("qa.example.org", None)
    for bad in ("", "a@b:1", "x:port", "x/y", "x:1/", "x?y", "[::1", "x:99999"):
        assert parse_host(bad) is None, bad


def test_loopback_names_on_the_port_only(tmp_path):
    hosts = allowed_hosts(make_settings(tmp_path), "127.0.0.1", 8501)
    for header in ("127.0.0.1:8501", "localhost:8501", "[::1]:8501", "LOCALHOST:8501"):
        assert hosts.allows(header), header
    for header in (
        f"{FORGED}:8501",
        FORGED,
        "127.0.0.1:8502",
        "127.0.0.1",  # port 80
        "localhost.:8501",
        "127.0.0.2:8501",
        "0.0.0.0:8501",
        "",
        None,
    ):
        assert not hosts.allows(header), header
    assert hosts.names() == ["127.0.0.1", "::1", "localhost"]


def test_listen_address_and_operator_names_are_allowed(tmp_path):
    settings = make_settings(tmp_path, allowed_hosts="qa.example.org, 10.0.0.5:9000,[fd00::5]")
    hosts = allowed_hosts(settings, "192.168.1.7", 8501)
    assert hosts.allows("192.168.1.7:8501") and not hosts.allows("192.168.1.7:8502")
    assert hosts.allows("qa.example.org") and hosts.allows("qa.example.org:443")
    assert hosts.allows("10.0.0.5:9000") and not hosts.allows("10.0.0.5:8501")
    assert hosts.allows("[fd00::5]:1234")
    assert not hosts.allows("sub.qa.example.org") and not hosts.allows(f"{FORGED}:8501")
    # A wildcard listen address is nobody's Host.
    assert not allowed_hosts(make_settings(tmp_path), "0.0.0.0", 8501).allows("0.0.0.0:8501")


def test_the_oidc_redirect_address_is_allowed(tmp_path):
    settings = make_settings(tmp_path, oidc_redirect_uri="https://qa.example.org/oauth2callback")
    hosts = allowed_hosts(settings, "0.0.0.0", 8501)
    assert hosts.allows("qa.example.org:443") and not hosts.allows("qa.example.org:80")


def test_a_bad_allowed_hosts_setting_names_the_variable(tmp_path):
    from app.errors import ConfigError

    with pytest.raises(ConfigError, match="PRIVACY_QA_ALLOWED_HOSTS.*qa.example.org,10.0.0.5"):
        make_settings(tmp_path, allowed_hosts="http://qa.example.org/")
    assert isinstance(allowed_hosts(make_settings(tmp_path), "::1", 1), AllowedHosts)


# ------------------------------------------------------------------- the real page


def request(port: int, path: str, host: str, headers: dict | None = None):
    """(status, body) of a GET to the page on 127.0.0.1:port with this Host header."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = b"" if response.status == 101 else response.read()
        return response.status, body
    finally:
        connection.close()


def websocket(port: int, host: str, origin: str) -> int:
    """The status of a WebSocket handshake for /_stcore/stream (101: accepted)."""
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Origin": origin,
    }
    return request(port, "/_stcore/stream", host, headers)[0]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """`privacy-qa ui` on a free loopback port (no index needed: the Host check is first)."""
    from .test_ui_browser import serve_page

    tmp = tmp_path_factory.mktemp("hosts")
    (tmp / "corpus").mkdir()
    with serve_page(make_settings(tmp)) as (url, log):
        yield int(url.rsplit(":", 1)[1]), log


@pytest.mark.slow
def test_a_forged_host_gets_403_on_every_path_and_the_page_still_works(page):
    port, _ = page
    status, html = request(port, "/", f"127.0.0.1:{port}")
    assert status == 200
    script = re.search(rb'src="\.?/?(static/[^"]+\.js)"', html)
    assert script, html[:500]
    paths = ["/", "/_stcore/health", "/" + script.group(1).decode(), "/?doc=x.md&line=1"]
    for path in paths:
        for host in (f"{FORGED}:{port}", FORGED, f"127.0.0.1:{port + 1}", f"localhost.:{port}"):
            status, body = request(port, path, host)
            assert status == 403, (path, host, status)
            assert body.startswith(b"403 Forbidden: this page is not served under that host")
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            assert request(port, path, host)[0] == 200, (path, host)
    assert request(port, "/media/x.png", f"{FORGED}:{port}")[0] == 403
    assert request(port, "/media/x.png", f"127.0.0.1:{port}")[0] == 404


@pytest.mark.slow
def test_a_websocket_with_a_forged_host_or_origin_is_refused(page):
    port, _ = page
    own = f"127.0.0.1:{port}"
    assert websocket(port, own, f"http://{own}") == 101
    assert websocket(port, f"{FORGED}:{port}", f"http://{FORGED}:{port}") == 403
    assert websocket(port, f"{FORGED}:{port}", f"http://{own}") == 403
    assert websocket(port, own, f"http://{FORGED}:{port}") == 403  # Streamlit's origin rule


@pytest.mark.slow
@pytest.mark.browser
def test_dns_rebinding_in_chromium_reaches_nothing(page):
    """The probe: chromium resolving evil.example to 127.0.0.1 loads only the refusal."""
    from playwright.sync_api import sync_playwright

    port, _ = page
    rules = f"--host-resolver-rules=MAP {FORGED} 127.0.0.1"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, rules]
        )
        try:
            tab = chromium.new_page()
            response = tab.goto(f"http://{FORGED}:{port}/")
            assert response.status == 403
            assert "not served under that host name" in tab.inner_text("body")
            assert tab.locator('[data-testid="stChatInput"]').count() == 0
        finally:
            chromium.close()


# --------------------------------------------------------------- no external lookups


def guarded_environment(attempts: Path) -> dict:
    """Environment of a subprocess whose non-loopback connects and look-ups are recorded
    in ``attempts`` and fail."""
    path = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "NET_ATTEMPTS_FILE": str(attempts)}


@pytest.mark.slow
def test_the_recorder_catches_streamlits_address_lookups(tmp_path):
    """Control: unpatched, Streamlit's look-ups are what the recorder records."""
    attempts = tmp_path / "attempts.txt"
    code = (
        "from streamlit import net_util\n"
        "print(net_util.get_internal_ip(), net_util.get_external_ip())\n"
    )
    env = {**os.environ, **guarded_environment(attempts)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    recorded = attempts.read_text()
    assert "connect ('8.8.8.8', 1)" in recorded
    assert "getaddrinfo 'checkip.amazonaws.com'" in recorded


@pytest.mark.slow
@pytest.mark.browser
def test_on_0000_a_signed_in_question_and_a_rejected_websocket_contact_nothing_beyond_loopback(
    tmp_path, embeddings, browser
):
    """Start-up on 0.0.0.0, sign-in, a question answered from the index, a cross-origin
    WebSocket refused: no connect or look-up beyond this machine is even tried."""
    from app.index.ingest import ingest

    from .test_ui_browser import ask, serve_page
    from .test_ui_signin_browser import sign_in, sign_in_form

    attempts = tmp_path / "attempts.txt"
    settings = make_settings(tmp_path, copy_corpus(tmp_path / "corpus"))
    ingest(settings, embeddings)
    users = tmp_path / "users.txt"
    auth.add_user(settings.replace(users_file=users), "alice", "correct horse battery")
    environment = {**guarded_environment(attempts), "PRIVACY_QA_USERS_FILE": str(users)}
    with serve_page(settings, environment, host="0.0.0.0") as (url, log):
        port = int(url.rsplit(":", 1)[1])
        own = f"127.0.0.1:{port}"
        statuses = [
            websocket(port, own, f"http://{FORGED}"),  # cross-origin: rejected
            websocket(port, f"{FORGED}:{port}", f"http://{FORGED}"),
            request(port, "/", own)[0],
            websocket(port, own, f"http://{own}"),
        ]
        page = browser.new_page()
        page.goto(url)
        sign_in_form(page)
        sign_in(page, "alice", "correct horse battery")
        ask(page, "How long does OpenAI retain API data?", 0, "30 days")
        page.close()
    assert (tmp_path / "attempts.txt.loaded").exists()  # the recorder was on
    assert not attempts.exists(), attempts.read_text()
    assert statuses == [403, 403, 200, 101]
    text = log.read_text()
    assert "PRIVACY_QA_ALLOWED_HOSTS" in text  # the warning: only loopback names answer
    assert "External URL" not in text and "Network URL" not in text
