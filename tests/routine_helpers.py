"""Chunks of a document for the routine's unit tests: chunked as ingest does, with a
word count as the tokenizer (no model) and small chunks, so a routine spans several."""

from __future__ import annotations

from pathlib import Path

from app.corpus import chunk_document, load_document
from app.routine import Routine, find_routines

from .conftest import CORPUS

BAA = CORPUS / "openai-baa-help-article.md"


def chunks_of(path: Path, source: str | None = None) -> list:
    doc = load_document(path, source or f"corpus/{path.name}")
    return chunk_document(doc, lambda text: len(text.split()), 512, 60, 8)


def routines_of(text: str, tmp_path: Path, name: str = "doc.md") -> tuple[list[Routine], list]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return find_routines(chunks_of(path))


def baa_routine() -> Routine:
    routines, problems = find_routines(chunks_of(BAA))
    assert not problems and len(routines) == 1
    return routines[0]
