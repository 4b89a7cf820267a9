"""End to end in a real browser: `privacy-qa ui` in a subprocess, Debian chromium driven by
Playwright. Screenshots go to test-artifacts/ (gitignored) for a person to look at."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, make_settings
from .test_ui_page import HOSTILE_QUESTIONS, make_hostile_corpus

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
WAIT_MS = 180_000  # the model loads in the server process before the first answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"privacy-qa ui exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the page did not come up within {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory, embeddings):
    """`privacy-qa ui` on a free loopback port, over an index of the real corpus plus a
    file full of hostile markup."""
    from app.index.ingest import ingest

    tmp = tmp_path_factory.mktemp("browser")
    settings = make_settings(tmp, make_hostile_corpus(tmp / "corpus"))
    ingest(settings, embeddings)
    with serve_page(settings) as (url, log):
        yield url, log


@contextlib.contextmanager
def serve_page(
    settings, environment: dict | None = None, port: int | None = None, host: str | None = None
):
    """`privacy-qa ui` on loopback (or ``--host host``) over ``settings``' data and corpus
    dirs, with only these PRIVACY_QA_* variables set; yields (its loopback url, its log) and
    stops it after."""
    port = port or free_port()
    tmp = settings.data_dir.parent
    log = tmp / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVACY_QA_")}
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "app"),
                *("--data-dir", str(settings.data_dir), "--corpus-dir", str(settings.corpus_dir)),
                *("ui", "--port", str(port)),
                *(("--host", host) if host else ()),
            ],
            cwd=tmp,  # not the repo: the command itself must keep the page private
            env={**env, **(environment or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, log)
        yield url, log
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Terminate a server started by a test; kill it if it does not end within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ask(page, question: str, turn: int, expected: str):
    """Type ``question`` as the ``turn``-th question (from 0); wait until its reply shows
    ``expected`` and a source card, and the page has finished the run."""
    box = page.locator('[data-testid="stChatInput"] textarea')
    page.wait_for_selector('[data-testid="stChatInput"] textarea:not([disabled])', timeout=WAIT_MS)
    box.fill(question)
    box.press("Enter")
    reply = page.locator('[data-testid="stChatMessage"]').nth(2 * turn + 1)
    expect(reply).to_contain_text(expected, timeout=WAIT_MS)
    reply.locator(".pqa-source").first.wait_for(timeout=WAIT_MS)
    # Streamlit shows its status widget while a run is going on.
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=WAIT_MS)
    return reply


def test_question_in_a_real_browser_gets_a_cited_answer(server, browser):
    url, log = server
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    page.wait_for_selector('[data-testid="stChatInput"] textarea:not([disabled])', timeout=WAIT_MS)
    before_question = len(requests)

    reply = ask(page, "How long does OpenAI retain API data?", 0, "30 days")
    # What the answer and its source cards need (the HTML renderer, the code font) was
    # fetched with the page, while the model loaded, not after the first answer arrived.
    # Only the widgets under an answer (the copy box, the feedback thumbs, the export
    # button) load their own code then: they are drawn after the answer and its cards;
    # and the documents view's upload box, drawn a moment after the page's first run.
    after_answer = (
        *("StreamlitSyntaxHighlighter", "Feedback", "DownloadButton", "DownloadLink"),
        "useBasicWidgetState",  # shared by those widgets
        *("FileUploader", "WidgetLabel"),  # the upload box and its label
    )
    late = [
        r
        for r in requests[before_question:]
        if r.endswith((".js", ".css", ".woff2")) and not any(w in r for w in after_answer)
    ]
    assert not late, late
    text = reply.inner_text()
    assert "30 days" in text and "[1]" in text
    assert "Sources" in text and "corpus/openai-api-privacy-explained.md:" in text
    assert "30 days" in reply.locator("mark").first.inner_text()
    assert "Local only" in page.locator('[data-testid="stSidebar"]').inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-answer.png"), full_page=True)

    # The page talks to its own server only.
    assert requests and all(r.startswith(url) for r in requests), requests
    assert "Traceback" not in log.read_text()
    page.close()


def test_hostile_markup_in_a_document_renders_as_text_in_a_real_browser(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    for turn, (question, expected) in enumerate(HOSTILE_QUESTIONS.items()):
        ask(page, question, turn, expected)
    page.wait_for_timeout(1000)  # give any injected handler the chance to run

    assert page.evaluate("window.__pwned") is None
    main = page.locator('[data-testid="stMainBlockContainer"]')
    text = main.inner_text()
    assert "<script>window.__pwned = 'body'</script>" in text
    assert "<img src=x onerror=" in text
    assert "Acme <b>Bold</b> retention" in text
    # Markdown in a quoted passage is shown clean (the image's alt text), never rendered.
    assert "tracker" in text and "**bold**" not in text and ":red[styled]" in text, text
    assert main.locator("script, img, b, iframe").count() == 0
    hrefs = main.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    # The original (http), the page's own view of a corpus file, anchors on the page.
    assert all(h.startswith(("http://", "https://", "#", "?doc=")) for h in hrefs if h), hrefs
    assert not [r for r in requests if "127.0.0.1:9" in r]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-hostile.png"), full_page=True)
    page.close()


UPLOAD = """---
title: Zebra Logistics Retention Notice
publisher: Zebra Logistics
date: 2025-03-04
---

# Zebra Logistics Retention Notice

## How long are parcel scans kept?

Zebra Logistics keeps parcel scan images for 19 days before they are erased.
"""


def sidebar_upload(page, name: str, data: bytes, mime: str = "text/markdown") -> None:
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
    )


def test_upload_ask_follow_a_citation_and_delete_in_a_real_browser(server, browser):
    url, log = server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.wait_for_selector('[data-testid="stChatInput"] textarea:not([disabled])', timeout=WAIT_MS)
    sidebar = page.locator('[data-testid="stSidebar"]')
    ARTIFACTS.mkdir(exist_ok=True)

    # A bad upload is refused with its reason; the list is unchanged.
    sidebar_upload(page, "tool.exe", b"MZ\x90\x00", "application/octet-stream")
    expect(sidebar).to_contain_text("only .md, .txt, .html, .pdf files", timeout=WAIT_MS)
    page.screenshot(path=str(ARTIFACTS / "ui-upload-refused.png"), full_page=True)

    # A good one is indexed, listed with its publisher and date.
    sidebar_upload(page, "zebra.md", UPLOAD.encode())
    expect(sidebar).to_contain_text("Adding zebra.md: done. 1 added", timeout=WAIT_MS)
    expect(sidebar).to_contain_text("Zebra Logistics · 2025-03-04", timeout=WAIT_MS)
    page.screenshot(path=str(ARTIFACTS / "ui-upload-done.png"), full_page=True)

    reply = ask(page, "How long are Zebra Logistics parcel scans kept?", 0, "19 days")
    link = reply.locator("a.pqa-ref").first
    target = link.get_attribute("href")
    assert target and target.startswith("#pqa-")
    link.click()
    page.wait_for_function(f"location.hash === {target!r}", timeout=10_000)
    anchor = page.locator(target)
    expect(anchor).to_have_count(1)
    card = page.locator(f".pqa-source:has({target})")
    expect(card).to_contain_text("Zebra Logistics Retention Notice")
    expect(card).to_contain_text("corpus/zebra.md:")
    box = anchor.evaluate("e => e.getBoundingClientRect().top")
    assert 0 <= box < 1000, box  # scrolled into view
    page.screenshot(path=str(ARTIFACTS / "ui-citation-followed.png"))

    # The card opens the local file in the page's own view, at the cited line, marked.
    with page.context.expect_page() as opened:
        card.get_by_text("open at this place").click()
    view = opened.value
    expect(view.locator("mark").first).to_contain_text("19 days", timeout=WAIT_MS)
    expect(view.locator("h1")).to_contain_text("Zebra Logistics Retention Notice")
    view.screenshot(path=str(ARTIFACTS / "ui-document-view.png"), full_page=True)
    view.close()

    # Deleted after confirming: gone from the list and from the corpus.
    sidebar.get_by_role("button", name="Delete").last.click()
    expect(sidebar).to_contain_text("Delete corpus/zebra.md", timeout=WAIT_MS)
    sidebar.get_by_role("button", name="Yes, delete").click()
    expect(sidebar).to_contain_text("Deleting: done.", timeout=WAIT_MS)
    expect(sidebar.locator(".pqa-doc-entry", has_text="Zebra Logistics")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "ui-deleted.png"), full_page=True)
    assert "Traceback" not in log.read_text()
    page.close()
