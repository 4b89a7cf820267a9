"""Loading and chunking, with the real tokenizers (no model weights needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.corpus import (
    ChunkInfo,
    chunk_body,
    chunk_document,
    load_corpus,
    load_document,
    split_sections,
    web_url,
)
from app.embeddings import LocalMiniLM, OpenAIEmbeddingBackend

from .conftest import CORPUS, copy_corpus, make_settings

LOCAL = LocalMiniLM()  # tokenizer only: the weights load lazily and are not touched here


def chunks_of(corpus: Path, backend=LOCAL, chunk_tokens=160, overlap=24):
    loaded = load_corpus(corpus)
    return loaded, [
        chunk
        for doc in loaded.documents
        for chunk in chunk_document(
            doc, backend.count_tokens, backend.max_input_tokens, chunk_tokens, overlap
        )
    ]


def test_real_corpus_loads_both_documents_with_front_matter():
    loaded = load_corpus(CORPUS)
    assert loaded.skipped == []
    by_source = {doc.source: doc for doc in loaded.documents}
    assert set(by_source) == {
        "corpus/openai-baa-help-article.md",
        "corpus/openai-api-privacy-explained.md",
    }
    baa = by_source["corpus/openai-baa-help-article.md"]
    assert baa.title == "How can I get a Business Associate Agreement (BAA) with OpenAI?"
    assert baa.url.startswith("https://help.openai.com/")
    explainer = by_source["corpus/openai-api-privacy-explained.md"]
    assert explainer.meta["author"] == "rafal h"
    assert explainer.url == ""


@pytest.mark.parametrize("chunk_tokens", [64, 160, 400])
def test_no_chunk_exceeds_the_local_model_limit(chunk_tokens):
    _, chunks = chunks_of(CORPUS, chunk_tokens=chunk_tokens)
    sizes = [LOCAL.count_tokens(chunk.page_content) for chunk in chunks]
    assert max(sizes) <= LOCAL.max_input_tokens == 256
    if chunk_tokens < 256:
        assert max(sizes) <= chunk_tokens


def test_an_unbroken_run_longer_than_the_limit_is_still_cut(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "long.md").write_text("# Long\n\n" + "x" * 5000 + "\n" + "word " * 900)
    _, chunks = chunks_of(corpus, chunk_tokens=400)
    assert chunks
    assert all(LOCAL.count_tokens(c.page_content) <= 256 for c in chunks)
    text = (corpus / "long.md").read_text()
    assert all(chunk_body(c) in text for c in chunks)


def test_chunks_fit_openai_limit_counted_with_real_tiktoken(tmp_path):
    settings = make_settings(tmp_path, openai_api_key="sk-test")
    backend = OpenAIEmbeddingBackend("text-embedding-3-small", settings)
    _, chunks = chunks_of(CORPUS, backend=backend, chunk_tokens=20000)
    assert all(backend.count_tokens(c.page_content) <= 8191 for c in chunks)
    # cl100k_base counts differ from word pieces: the tokenizer in use really is tiktoken.
    assert backend.count_tokens("baa@openai.com") != LOCAL.count_tokens("baa@openai.com")


def test_chunk_metadata_points_at_the_exact_place_in_the_file():
    loaded, chunks = chunks_of(CORPUS)
    texts = {doc.source: doc.text for doc in loaded.documents}
    for chunk in chunks:
        meta = chunk.metadata
        text = texts[meta["source"]]
        body = chunk_body(chunk)
        assert text[meta["start_char"] : meta["end_char"]] == body
        assert text.count("\n", 0, meta["start_char"]) + 1 == meta["start_line"]
        assert chunk.page_content.startswith(meta["section"] + "\n\n")
    sections = {c.metadata["section"] for c in chunks}
    assert "OpenAI API Privacy Policies Explained > OpenAI API" in sections
    assert (
        "How can I get a Business Associate Agreement (BAA) with OpenAI? > How do I get started?"
        in sections
    )
    assert any("Support routine for this article > Routine" in s for s in sections)


def test_sections_ignore_hashes_inside_code_fences(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Doc\n\n```\n# not a heading\n```\n\n## Real\n\ntext here\n")
    doc = load_corpus(corpus).documents[0]
    assert [s.path for s in split_sections(doc)] == [("Doc",), ("Doc", "Real")]


def test_chunk_ids_are_stable_and_change_only_with_content(tmp_path):
    corpus = copy_corpus(tmp_path / "corpus")
    _, first = chunks_of(corpus)
    _, again = chunks_of(corpus)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)

    path = corpus / "openai-api-privacy-explained.md"
    path.write_text(path.read_text().replace("Stay tuned!", "Stay tuned for more!"))
    _, edited = chunks_of(corpus)
    changed = {c.id for c in edited} - {c.id for c in first}
    assert changed, "an edit must change the id of the edited chunk"
    baa_ids = lambda chunks: [  # noqa: E731
        c.id for c in chunks if c.metadata["source"].endswith("baa-help-article.md")
    ]
    assert baa_ids(edited) == baa_ids(first)


def test_bad_files_are_skipped_by_name_and_the_rest_loads(tmp_path):
    corpus = copy_corpus(tmp_path / "corpus")
    (corpus / "empty.md").write_text("")
    (corpus / "blank.txt").write_text("  \n\n")
    (corpus / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (corpus / "notes.docx").write_bytes(b"PK\x03\x04")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    os.symlink(tmp_path / "missing-target.md", corpus / "dangling.md")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "extra.txt").write_text("A nested plain text file about retention.\n")

    loaded = load_corpus(corpus)
    skipped = dict(loaded.skipped)
    assert "empty" in skipped["corpus/empty.md"]
    assert "empty" in skipped["corpus/blank.txt"]
    assert "binary" in skipped["corpus/image.md"]
    assert "UTF-8" in skipped["corpus/latin1.txt"]
    assert "unsupported" in skipped["corpus/notes.docx"]
    assert "PDF" in skipped["corpus/broken.pdf"]
    assert "corpus/dangling.md" in skipped
    sources = {doc.source for doc in loaded.documents}
    assert "corpus/sub/extra.txt" in sources
    assert "corpus/openai-api-privacy-explained.md" in sources


def test_html_loads_as_text_with_headings_and_without_scripts(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "page.html").write_text(
        "<html><head><title>Policy page</title><script>alert(1)</script></head>"
        "<body><h1>Retention</h1><p>Logs are kept for 7 days.</p>"
        '<img src=x onerror="alert(2)"></body></html>'
    )
    doc = load_corpus(corpus).documents[0]
    assert doc.title == "Policy page"
    assert "alert" not in doc.text
    assert "# Retention" in doc.text
    assert "Logs are kept for 7 days." in doc.text


def test_pdf_text_is_indexed_per_page(tmp_path):
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 20 100 Td (Audit reports are kept for 7 years.) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(stream)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with open(corpus / "audit.pdf", "wb") as handle:
        writer.write(handle)
    loaded, chunks = chunks_of(corpus)
    assert loaded.skipped == []
    assert "Audit reports are kept for 7 years." in chunk_body(chunks[0])
    assert chunks[0].metadata["section"] == "audit > Page 1"


def test_chunk_info_is_what_chunking_writes_and_reads_back(tmp_path):
    """The chunk metadata's keys are ChunkInfo's fields: written once, read back whole."""
    (tmp_path / "a.md").write_text("# Title\n\nSome text here.\n", encoding="utf-8")
    doc = load_document(tmp_path / "a.md", "corpus/a.md")
    [chunk] = chunk_document(doc, lambda text: len(text.split()), 256, 64, 8)
    info = ChunkInfo.of(chunk)
    assert chunk.metadata == info.as_metadata()
    assert (info.source, info.title, info.section, info.start_line) == (
        "corpus/a.md",
        "Title",
        "Title",
        3,
    )
    assert chunk_body(chunk) == "Some text here.\n"[: info.end_char - info.start_char]


def run_within(call, seconds: float = 30.0):
    """``call()``'s result; a failure if it still runs after ``seconds`` (a hang guard, not
    a speed limit: speed is measured in bench/bench_hostile_ingest.py)."""
    import threading

    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(value=call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return result["value"]


def test_a_200_kb_heading_line_is_parsed_in_linear_time(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    heading = "# a" + " #" * 100_000 + "b"  # quadratic for a lazy title before "[ \t#]*$"
    (corpus / "h.md").write_text(f"{heading}\n\nText under it.\n\n## Next ##\n\nMore text.\n")
    loaded, chunks = run_within(lambda: chunks_of(corpus))
    doc = loaded.documents[0]
    assert doc.title == heading[2:201] + "…"  # titles are cut to 200 characters
    assert chunks[-1].metadata["section"].endswith(" > Next")


def test_a_1_mb_line_without_spaces_becomes_bounded_chunks(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    line = "x" * 1_000_000
    (corpus / "long.txt").write_text(f"Before it.\n{line}\nAfter it.\n")
    _, chunks = run_within(lambda: chunks_of(corpus))
    bodies = [chunk_body(chunk) for chunk in chunks]
    assert max(len(body) for body in bodies) <= 2_000
    assert sum(len(body) for body in bodies if body.startswith("x")) >= len(line)
    text = (corpus / "long.txt").read_text()
    for chunk, body in zip(chunks, bodies, strict=True):
        info = ChunkInfo.of(chunk)
        assert text[info.start_char : info.end_char] == body
        assert info.start_line == text.count("\n", 0, info.start_char) + 1


def test_only_http_urls_from_front_matter_reach_citations(tmp_path):
    poisoned = tmp_path / "poisoned.md"
    poisoned.write_text("---\ntitle: T\nurl: javascript:alert(1)\n---\n\nSome text here.\n")
    assert load_document(poisoned, "corpus/poisoned.md").url == ""
    assert web_url(" https://example.com/a ") == "https://example.com/a"
    assert web_url("HTTP://example.com") == "HTTP://example.com"
    for bad in ("file:///etc/passwd", "data:text/html,x", "//example.com", None, 3):
        assert web_url(bad) == "", bad
