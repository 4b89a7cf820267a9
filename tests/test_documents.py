"""The documents the page manages: uploads refused with a reason (nothing written), added
and deleted through the same incremental ingest, listed, read, located in a PDF."""

from __future__ import annotations

import threading
import time

import pytest

from app import qa
from app.errors import UserError

from .conftest import copy_corpus, make_settings
from .pdf_helpers import make_pdf

GOOD_MD = (
    b"---\ntitle: Acme Policy\npublisher: Acme Inc\ndate: 2025-01-02\n---\n\n# Acme Policy\n\n"
    b"## How long does Acme keep logs?\n\nAcme keeps telemetry logs for 45 days.\n"
)


def never_ingest():
    raise AssertionError("a refused upload must not ingest")


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, copy_corpus(tmp_path / "corpus"), max_upload_bytes=5000)


def corpus_state(settings) -> list[str]:
    return sorted(p.name for p in settings.corpus_dir.iterdir())


BAD_UPLOADS = [
    ("../escape.md", GOOD_MD, "would leave the corpus folder"),
    ("/tmp/absolute.md", GOOD_MD, "would leave the corpus folder"),
    ("sub/dir.md", GOOD_MD, "would leave the corpus folder"),
    (".hidden.md", GOOD_MD, "would leave the corpus folder"),
    ("tool.exe", b"MZ\x90\x00", "only .md, .txt, .html, .pdf files"),
    ("big.md", b"# Big\n\n" + b"word " * 2000, "the limit is 5,000 bytes"),
    ("broken.pdf", b"%PDF-1.4\nthis is not a pdf", "cannot be indexed: cannot read PDF"),
    ("empty.txt", b"   \n", "cannot be indexed: file is empty"),
    ("latin1.txt", "caf\xe9 policy".encode("latin-1"), "not valid UTF-8"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_UPLOADS)
def test_a_bad_upload_is_refused_with_a_reason_and_changes_nothing(settings, name, data, message):
    before = corpus_state(settings)
    from app.documents import add_document

    with pytest.raises(UserError, match=message) as refused:
        add_document(settings, name, data, never_ingest)
    assert "Nothing was added" in str(refused.value)
    assert corpus_state(settings) == before
    assert not (settings.corpus_dir.parent / "escape.md").exists()


def test_a_file_already_present_is_refused_by_content_or_name(settings):
    from app.documents import add_document

    existing = (settings.corpus_dir / "openai-baa-help-article.md").read_bytes()
    with pytest.raises(UserError, match="already in the corpus as corpus/openai-baa-help"):
        add_document(settings, "copy.md", existing, never_ingest)
    with pytest.raises(UserError, match="A different file named openai-baa-help-article.md"):
        add_document(settings, "openai-baa-help-article.md", GOOD_MD, never_ingest)
    assert not (settings.corpus_dir / "copy.md").exists()


def test_the_documents_list_before_indexing_and_reading_one(settings):
    (settings.corpus_dir / "acme.md").write_bytes(GOOD_MD)
    listed = {d.source: d for d in qa.documents(settings)}
    acme = listed["corpus/acme.md"]
    assert (acme.title, acme.publisher, acme.date, acme.state) == (
        "Acme Policy",
        "Acme Inc",
        "2025-01-02",
        "new",
    )
    assert acme.indexed_at is None and acme.chunks == 0
    assert (
        listed["corpus/openai-api-privacy-explained.md"].publisher == "a company engineering blog"
    )
    text = qa.read_document(settings, "corpus/acme.md")
    assert "45 days" in text.text and not text.pdf
    assert qa.question_headings(settings, ["corpus/acme.md"]) == [
        ("corpus/acme.md", "How long does Acme keep logs?")
    ]
    for outside in ("../corpus/acme.md", "corpus/../corpus/acme.md", "/etc/passwd", "corpus"):
        with pytest.raises(UserError, match="no document"):
            qa.read_document(settings, outside)


def test_a_pdf_citation_names_its_page_and_the_line_on_it(settings):
    pdf = make_pdf([["Cover", "Second line"], ["Retention", "Acme keeps logs 45 days."]])
    (settings.corpus_dir / "acme.pdf").write_bytes(pdf)
    document = qa.read_document(settings, "corpus/acme.pdf")
    line = document.text.splitlines().index("Acme keeps logs 45 days.") + 1
    where = qa.place(document, line)
    assert (where.page, where.page_line) == (2, 2)
    assert where.describe("corpus/acme.pdf") == "corpus/acme.pdf, page 2, line 2"
    assert (
        qa.place(
            qa.read_document(settings, "corpus/acme.md" if False else "corpus/acme.pdf"), 3
        ).page
        == 1
    )


@pytest.mark.slow
def test_upload_then_delete_runs_the_incremental_ingest(settings, embeddings):
    qa.ingest(settings, embeddings)
    change = qa.add_document(settings, "acme.md", GOOD_MD, embeddings)
    assert change.source == "corpus/acme.md"
    assert (change.report.added, change.report.documents) == (1, 3)
    session = qa.open_qa(settings, embeddings)
    acme = {d.source: d for d in qa.documents(settings, session)}["corpus/acme.md"]
    assert acme.state == "indexed" and acme.chunks >= 1 and acme.indexed_at
    assert "45 days" in session.ask("How long does Acme keep telemetry logs?").answer

    pdf = make_pdf([["Cover"], ["Zebrafish cipher seals the Acme archive."]])
    assert qa.add_document(settings, "acme.pdf", pdf, embeddings).report.added == 1

    change = qa.delete_document(settings, "corpus/acme.md", embeddings)
    assert change.report.deleted == 1 and change.report.documents == 3
    assert "corpus/acme.md" not in {d.source for d in qa.documents(settings)}
    with pytest.raises(UserError, match="no document"):
        qa.delete_document(settings, "corpus/acme.md", embeddings)


@pytest.mark.slow
def test_uploads_at_the_same_time_are_serialised_by_the_ingest_lock(settings, embeddings):
    from app.index.ingest import ingest_lock

    qa.ingest(settings, embeddings)
    results, errors = {}, []

    def upload(name: str, text: str) -> None:
        try:
            results[name] = qa.add_document(settings, name, text.encode(), embeddings)
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=upload, args=(f"doc{i}.md", f"# Doc {i}\n\nFact number {i}.\n"))
        for i in range(2)
    ]
    with ingest_lock(settings):  # another ingest is running: the uploads wait for it
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        assert not results and not errors
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert set(results) == {"doc0.md", "doc1.md"}
    listed = {d.source: d.state for d in qa.documents(settings)}
    assert listed["corpus/doc0.md"] == listed["corpus/doc1.md"] == "indexed"


def test_the_page_records_do_not_make_a_data_dir_look_foreign(tmp_path):
    from app.index.ingest import ingest

    settings = make_settings(tmp_path, copy_corpus(tmp_path / "corpus"))
    settings.data_dir.mkdir()
    (settings.data_dir / "feedback.jsonl").write_text("{}\n")
    (settings.data_dir / "document-times.json").write_text("{}\n")
    report = ingest(settings, dry_run=True)  # no "not ours" refusal
    assert report.added == 2
