"""Password sign-in end to end in a real browser: `privacy-qa ui` in a subprocess with a
users file, a maintainers' group and the audit log on; Debian chromium driven by
Playwright. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import json
import stat
import urllib.request

import pytest
from playwright.sync_api import expect

from app import auth

from .conftest import copy_corpus, make_settings
from .test_ui_browser import ARTIFACTS, WAIT_MS, ask, free_port, serve_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORDS = {"alice": "correct horse battery", "admin": "maintainer staple 42"}
MARKER = "zebra-unicorn-7731"  # in the question: it must reach no file
QUESTION = f"Is data encrypted at rest for {MARKER}?"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embeddings):
    """Settings of an index of the real corpus, for the servers below."""
    from app.index.ingest import ingest

    tmp = tmp_path_factory.mktemp("signin")
    settings = make_settings(tmp, copy_corpus(tmp / "corpus"))
    ingest(settings, embeddings)
    return settings


@pytest.fixture(scope="module")
def team_server(indexed):
    """`privacy-qa ui` on a free loopback port with sign-in: alice and admin (the only
    maintainer) in a users file, the audit log on."""
    users = indexed.data_dir.parent / "users.txt"
    for name, password in PASSWORDS.items():
        auth.add_user(indexed.replace(users_file=users), name, password)
    environment = {
        "PRIVACY_QA_USERS_FILE": str(users),
        "PRIVACY_QA_MAINTAINERS": "admin",
        "PRIVACY_QA_AUDIT_LOG": "on",
    }
    with serve_page(indexed, environment) as (url, log):
        yield url, log, indexed.data_dir / "audit.jsonl"


def sign_in_form(page):
    """Wait until the sign-in form is drawn and the page's run has ended."""
    page.get_by_role("textbox", name="Password").wait_for(timeout=WAIT_MS)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=WAIT_MS)


def sign_in(page, name: str, password: str) -> None:
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def signed_in_page(browser, url: str, name: str):
    """A tab on the page in a browser context of its own, signed in as ``name``."""
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    page.goto(url)
    sign_in_form(page)
    sign_in(page, name, PASSWORDS[name])
    return page


def test_before_sign_in_only_the_form_and_a_wrong_password_is_refused(team_server, browser):
    url, log, _ = team_server
    # The HTML the server sends holds nothing of the app, whatever the URL asks for.
    with urllib.request.urlopen(f"{url}/?doc=corpus/openai-baa-help-article.md") as response:
        html = response.read().decode()
    assert "Business Associate" not in html and "Reindex" not in html

    for address in (url, f"{url}/?doc=corpus%2Fopenai-baa-help-article.md&line=3"):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(address)
        sign_in_form(page)
        page.wait_for_timeout(1000)  # anything drawn late would show by now
        body = page.locator("body").inner_text()
        assert "Sign in to privacy-qa" in body
        for hidden in ("Business Associate", "Ask the privacy documents", "Reindex", "Documents"):
            assert hidden not in body, hidden
        assert page.locator('[data-testid="stChatInput"]').count() == 0
        assert page.locator('[data-testid="stSidebar"]').count() == 0
        page.close()

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    sign_in_form(page)
    sign_in(page, "alice", "not her password")
    expect(page.get_by_text("Wrong name or password.")).to_be_visible(timeout=WAIT_MS)
    assert page.locator('[data-testid="stChatInput"]').count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-sign-in-refused.png"), full_page=True)
    assert "Traceback" not in log.read_text()
    page.close()


def test_a_user_signs_in_asks_and_sees_no_maintenance(team_server, browser):
    url, log, audit_log = team_server
    page = signed_in_page(browser, url, "alice")
    reply = ask(page, QUESTION, 0, "AES")
    assert "[1]" in reply.inner_text()
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text("Signed in as alice")
    # The documents are listed for reading, but alice is no maintainer.
    expect(sidebar).to_contain_text("OpenAI API Privacy Policies Explained", timeout=WAIT_MS)
    assert sidebar.get_by_role("button", name="Reindex").count() == 0
    assert sidebar.get_by_role("button", name="Delete").count() == 0
    assert sidebar.locator('input[type="file"]').count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-signed-in.png"), full_page=True)

    # The sign-in holds for this browser: the cited place opens in a new tab, and a new
    # tab on the page needs no new sign-in (a signed cookie, SameSite=Strict).
    with page.context.expect_page() as opened:
        reply.get_by_text("open at this place").first.click()
    view = opened.value
    expect(view.locator("mark").first).to_contain_text("AES-256", timeout=WAIT_MS)
    view.close()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "privacy_qa_session"]
    assert cookie["sameSite"] == "Strict" and PASSWORDS["alice"] not in cookie["value"]
    other = page.context.new_page()
    other.goto(url)
    expect(other.locator('[data-testid="stSidebar"]')).to_contain_text(
        "Signed in as alice", timeout=WAIT_MS
    )
    other.close()

    # Sign out: back to the form, the conversation gone, and so is the cookie.
    sidebar.get_by_role("button", name="Sign out").click()
    sign_in_form(page)
    assert page.locator('[data-testid="stChatMessage"]').count() == 0
    page.wait_for_function("!document.cookie.includes('privacy_qa_session=')", timeout=10_000)
    other = page.context.new_page()
    other.goto(url)
    sign_in_form(other)
    assert other.locator('[data-testid="stChatInput"]').count() == 0
    other.close()
    page.context.close()

    entries = [json.loads(line) for line in audit_log.read_text().splitlines()]
    answers = [e for e in entries if e["action"] == "answer"]
    assert [(e["user"], e["refused"]) for e in answers] == [("alice", False)]
    assert answers[0]["passages"] and answers[0]["endpoints"] == []
    assert ("alice", "sign-in") in [(e["user"], e["action"]) for e in entries]
    text = audit_log.read_text()
    assert MARKER not in text and "encrypted at rest" not in text
    assert PASSWORDS["alice"] not in text
    assert MARKER not in log.read_text()


def test_a_maintainer_gets_reindex_upload_and_delete(team_server, browser):
    url, log, audit_log = team_server
    page = signed_in_page(browser, url, "admin")
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_role("button", name="Reindex")).to_be_visible(timeout=WAIT_MS)
    expect(sidebar.get_by_role("button", name="Delete")).to_have_count(2, timeout=WAIT_MS)
    expect(sidebar.locator('input[type="file"]')).to_have_count(1, timeout=WAIT_MS)
    sidebar.get_by_role("button", name="Reindex").click()
    expect(sidebar).to_contain_text("Nothing changed", timeout=WAIT_MS)
    page.context.close()
    entries = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert ("admin", "reindex") in [(e["user"], e["action"]) for e in entries]
    assert "Traceback" not in log.read_text()


# ---------------------------------------------------------------- OpenID Connect


def test_oidc_sign_in_through_a_real_provider_on_loopback(indexed, browser):
    from .oidc_provider import Provider

    carol = {"sub": "u-42", "email": "carol@example.org", "groups": ["privacy-team"]}
    audit_log = indexed.data_dir.parent / "oidc-audit.jsonl"
    port = free_port()
    with Provider("privacy-qa-page", "s3cret-of-the-page", carol) as provider:
        environment = {
            "PRIVACY_QA_OIDC_METADATA_URL": provider.metadata_url,
            "PRIVACY_QA_OIDC_CLIENT_ID": "privacy-qa-page",
            "PRIVACY_QA_OIDC_CLIENT_SECRET": "s3cret-of-the-page",
            "PRIVACY_QA_MAINTAINERS": "group:privacy-team",
            "PRIVACY_QA_AUDIT_LOG": str(audit_log),
        }
        with serve_page(indexed, environment, port) as (url, log):
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.goto(url)
            button = page.get_by_role("button", name="Sign in with your organisation's account")
            button.wait_for(timeout=WAIT_MS)
            body = page.locator("body").inner_text()
            assert "Ask the privacy documents" not in body and "Reindex" not in body
            assert page.locator('[data-testid="stChatInput"]').count() == 0
            button.click()
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar).to_contain_text("Signed in as carol@example.org", timeout=WAIT_MS)
            # carol's group is the maintainers'.
            expect(sidebar.get_by_role("button", name="Reindex")).to_be_visible(timeout=WAIT_MS)
            ask(page, QUESTION, 0, "AES")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "ui-oidc-signed-in.png"), full_page=True)
            page.close()
            assert "Traceback" not in log.read_text()
    assert provider.requests[:2] == ["GET /.well-known/openid-configuration", "GET /authorize"]
    assert "POST /token" in provider.requests and "GET /jwks" in provider.requests
    secrets_file = indexed.data_dir / "streamlit-secrets.toml"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    entries = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert [(e["user"], e["action"]) for e in entries] == [
        ("carol@example.org", "sign-in"),
        ("carol@example.org", "answer"),
    ]
