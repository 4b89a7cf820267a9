"""The page's documents view (AppTest, real model, real Chroma): the list, an upload
ingested with its result, a bad upload of each kind refused with nothing changed, a
deletion after its confirmation, a document read as text with its cited lines marked,
and starter questions drawn from what is indexed."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import copy_corpus, make_settings
from .pdf_helpers import make_pdf
from .test_documents import GOOD_MD
from .test_ui_markup import plain
from .test_ui_page import TIMEOUT, UI, ask, assert_no_traceback, html_blocks

pytestmark = pytest.mark.slow


@pytest.fixture
def own_index(tmp_path, embeddings, monkeypatch):
    """A fresh index of the real corpus, with a small upload limit for the tests."""
    from app import qa

    monkeypatch.setenv("PRIVACY_QA_MAX_UPLOAD_BYTES", "20000")
    settings = make_settings(tmp_path, copy_corpus(tmp_path / "corpus"))
    qa.ingest(settings, embeddings)
    return settings


def sidebar_entries(at) -> list[str]:
    return [m.value for m in at.sidebar.markdown if 'class="pqa-doc-entry"' in m.value]


def upload(at, name: str, data: bytes, mime: str = "text/markdown"):
    if not at.sidebar.get("file_uploader"):  # the documents view follows the first run
        at.run()
    at.sidebar.file_uploader[0].set_value((name, data, mime)).run()
    assert not at.exception, at.exception
    return at


def test_the_documents_view_lists_every_document_with_its_facts(page, own_index):
    at = page(own_index)
    for _ in range(120):  # chunks are counted once the page has loaded the index
        at.run()
        if " chunks" in "".join(sidebar_entries(at)):
            break
        time.sleep(0.5)
    entries = sidebar_entries(at)
    assert len(entries) == 2
    blog = [e for e in entries if "OpenAI API Privacy Policies Explained" in e][0]
    assert "a company engineering blog · 2024-02-02 ·" in blog
    assert re.search(r" \d+ chunks · indexed 20\d\d-\d\d-\d\d \d\d:\d\d UTC", blog), blog
    assert 'href="?doc=corpus%2Fopenai-api-privacy-explained.md"' in blog
    assert [b.label for b in at.sidebar.button].count("Delete") == 2


def test_an_upload_is_indexed_then_answered_then_deleted_after_confirming(page, own_index):
    at = upload(page(own_index), "acme.md", GOOD_MD)
    assert_no_traceback(at)
    assert any("Adding acme.md: done. 1 added" in plain(c.value) for c in at.sidebar.success)
    assert any("Acme Policy" in e and "Acme Inc · 2025-01-02" in e for e in sidebar_entries(at))
    assert (own_index.corpus_dir / "acme.md").read_bytes() == GOOD_MD
    # Its question heading is now a starter, and the placeholder names what is indexed.
    assert "How long does Acme keep logs?" in [b.label for b in at.button if b.key == "starter-0"]
    assert at.chat_input[0].placeholder.startswith("Ask about Acme Policy")
    # Headings that name nothing make no sense out of their document.
    labels = [b.label for b in at.button if (b.key or "").startswith("starter-")]
    assert "Can I get a BAA for ChatGPT?" in labels and "How do I get started?" not in labels

    ask(at, "How long does Acme keep telemetry logs?")
    assert any("45 days" in b and "pqa-answer" in b for b in html_blocks(at))

    at.sidebar.button(key="delete-corpus/acme.md").click().run()
    assert any("Delete corpus/acme.md" in plain(w.value) for w in at.sidebar.warning)
    at.sidebar.button(key="delete-no-corpus/acme.md").click().run()  # cancelled: still there
    assert (own_index.corpus_dir / "acme.md").exists()
    at.sidebar.button(key="delete-corpus/acme.md").click().run()
    at.sidebar.button(key="delete-yes-corpus/acme.md").click().run()
    assert_no_traceback(at)
    assert not (own_index.corpus_dir / "acme.md").exists()
    assert not any("Acme Policy" in e for e in sidebar_entries(at))
    assert any(
        "Deleting: done. 0 added, 0 updated, 1 deleted" in plain(c.value)
        for c in at.sidebar.success
    )


BAD = [
    ("tool.exe", b"MZ\x90\x00", "only .md, .txt, .html, .pdf files"),
    ("big.md", b"# Big\n\n" + b"word " * 5000, "the limit is 20,000 bytes"),
    ("broken.pdf", b"%PDF-1.4\nnot really", "cannot read PDF"),
    ("copy.md", None, "already in the corpus as corpus/openai-baa-help-article.md"),
    ("../escape.md", GOOD_MD, "would leave the corpus folder"),
    ("/tmp/abs.md", GOOD_MD, "would leave the corpus folder"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD)
def test_a_bad_upload_says_why_and_changes_nothing(page, own_index, name, data, message):
    data = data or (own_index.corpus_dir / "openai-baa-help-article.md").read_bytes()
    before = sorted(p.name for p in own_index.corpus_dir.iterdir())
    manifest = own_index.manifest_path.read_bytes()
    at = upload(page(own_index), name, data)
    assert_no_traceback(at)
    errors = [plain(c.value) for c in at.sidebar.error]
    assert any(message in c for c in errors), errors
    assert sorted(p.name for p in own_index.corpus_dir.iterdir()) == before
    assert own_index.manifest_path.read_bytes() == manifest
    assert not (own_index.corpus_dir.parent / "escape.md").exists()


def test_a_document_opens_as_text_at_its_cited_lines(page, own_index):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(UI, default_timeout=TIMEOUT)
    at.query_params["doc"] = "corpus/openai-baa-help-article.md"
    at.query_params["line"] = "14"
    at.query_params["end"] = "15"
    at.run()
    assert_no_traceback(at)
    assert at.title[0].value.startswith("How can I get a Business Associate Agreement")
    text = [m.value for m in at.markdown if 'class="pqa-doc"' in m.value]
    assert '<span id="L14"><code>  14</code> <mark>' in text[-1]
    assert '<span id="L11">' in text[-1] and '<span id="L10">' not in text[-1]  # opens there
    assert [e.label for e in at.expander] == ["Lines 1-10"]
    assert not at.chat_input  # the document alone, not the chat

    at.query_params["doc"] = "../corpus/openai-baa-help-article.md"
    at.run()
    assert any("no document" in e.value for e in at.error)


def test_a_pdf_citation_gives_its_page_and_line(page, own_index, embeddings):
    from app import qa

    pdf = make_pdf([["Cover page"], ["Retention", "Zebrafish archives are kept for 77 days."]])
    qa.add_document(own_index, "zebra.pdf", pdf, embeddings)
    at = ask(page(own_index), "How long are zebrafish archives kept?")
    headers = [h for h in html_blocks(at) if 'class="pqa-source"' in h]
    # The quote starts on the page's first line ("Retention" joins the sentence).
    assert any("<code>corpus/zebra.pdf, page 2, line 1</code>" in h for h in headers), headers
