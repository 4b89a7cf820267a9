"""Shared fixtures: the real bundled model, a real Chroma index built in a temp dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
# The browser tests' Debian chromium (scripts/test.sh installs it) and its options.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_settings(tmp: Path, corpus: Path | None = None, **overrides) -> Settings:
    """Settings whose on-disk state lives under ``tmp`` (never the developer's .data)."""
    return load_settings(data_dir=tmp / "data", corpus_dir=corpus or (tmp / "corpus"), **overrides)


def copy_corpus(target: Path) -> Path:
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def embeddings():
    """The default bundled backend, as settings name it (OpenVINO on CPUs with bfloat16
    units, AMX or AVX-512 BF16; onnxruntime elsewhere: app/config/local.py)."""
    from app.embeddings import make_embeddings

    return make_embeddings(Settings())


@pytest.fixture(scope="session")
def indexed_settings(tmp_path_factory, embeddings) -> Settings:
    """An index of the real corpus, built once per test session."""
    from app.index.ingest import ingest

    tmp = tmp_path_factory.mktemp("index")
    copy_corpus(tmp / "corpus")
    settings = make_settings(tmp)
    ingest(settings, embeddings)
    return settings


@pytest.fixture(scope="session")
def qa(indexed_settings, embeddings):
    from app.session import QA

    return QA(indexed_settings, embeddings)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The real corpus chunked with the real tokenizer, plus a chunk that tries prompt
    injection, and a lexical-only retriever over them (no embedding model)."""
    from .answering_helpers import chunked_corpus

    return chunked_corpus(tmp_path_factory.mktemp("tiktoken"))


@pytest.fixture
def page(monkeypatch):
    """An AppTest for the page with its settings pointed at a given data and corpus dir."""
    from streamlit.testing.v1 import AppTest

    def make(settings):
        monkeypatch.setenv("PRIVACY_QA_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("PRIVACY_QA_CORPUS_DIR", str(settings.corpus_dir))
        at = AppTest.from_file(str(ROOT / "app" / "ui" / "page.py"), default_timeout=300)
        at.run()
        assert not at.exception, at.exception
        return at

    return make


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by Playwright (the browser tests)."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: scripts/test.sh installs it (apt-get).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
