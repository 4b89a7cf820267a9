"""What the chat page keeps per process: its settings, the embedding model, the QA session.

Streamlit runs the page afresh on every rerun; the model and the index are loaded once per
process (``st.cache_resource``) and shared by every browser session and by Reindex.
``privacy-qa ui`` hands this module its resolved settings (:func:`hand_over_settings`) and
starts :func:`preload` once its server listens; a page run that needs the model meanwhile
waits for that load instead of starting another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

# Chroma (in the loading thread) and Streamlit (in the server's) both import numpy, and
# numpy's import can fail half-way when two threads run it at once: import it here, before
# the loading thread exists.
import numpy  # noqa: F401
import streamlit as st

from app import qa
from app.config import Settings, load_settings
from app.errors import PrivacyQAError

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- settings


# The settings `privacy-qa ui` resolved (its command-line options included), if any.
_handed_settings: Settings | None = None


def hand_over_settings(settings: Settings) -> None:
    """Give the page these settings instead of reading the environment on each run."""
    global _handed_settings
    _handed_settings = settings


def page_settings() -> Settings:
    """The settings handed over by ``privacy-qa ui``; else (``streamlit run``, AppTest) read
    from the environment now. Raises :class:`UserError` for invalid settings."""
    return _handed_settings if _handed_settings is not None else load_settings()


def settings_key(settings: Settings) -> str:
    """The cache key of these settings; it holds no secret (a set API key is masked)."""
    return settings.cache_key()


def _embeddings_key(settings: Settings) -> str:
    return f"{settings.embeddings}|{settings.openai_base_url}"


# ---------------------------------------------------------------- cached resources


@st.cache_resource(show_spinner=False)
def _embedding_backend(key: str, _settings: Settings):
    # The model loads on first use (load_model), in this process: the bundled one takes
    # well under a second (docs/benchmarks.md, where the separate model process went).
    return qa.embedding_backend(_settings)


def embedding_backend(settings: Settings):
    """One embedding backend per process and model, shared by every session and Reindex."""
    return _embedding_backend(_embeddings_key(settings), settings)


@st.cache_resource(show_spinner=False)
def _loaded_model(key: str, _settings: Settings):
    backend = embedding_backend(_settings)
    backend.warm_up()
    return backend


def load_model(settings: Settings):
    """The backend with its model loaded: once per process, never per question."""
    return _loaded_model(_embeddings_key(settings), settings)


@st.cache_resource(show_spinner=False)
def _qa(key: str, _settings: Settings):
    return qa.open_qa(_settings, embedding_backend(_settings))


def open_qa(settings: Settings):
    """The QA session for these settings. Opening the index needs the model object but not
    its weights, so it can run while the model loads. A failure (no index yet) is not
    cached: the next run tries again."""
    return _qa(settings_key(settings), settings)


def load(settings: Settings):
    """The QA session with its model loaded, from the cache or loaded now.

    The index opens, then the model loads. :func:`preload` runs this in the background; a
    page run that calls it meanwhile waits for the same cached results and never imports
    the same packages at the same time.
    """
    embedding_backend(settings)
    session = open_qa(settings)
    load_model(settings)
    return session


def run_ingest(settings: Settings, on_progress: Callable[[int, int], None]):
    """The same incremental ingest as ``privacy-qa ingest``, sharing the loaded model."""
    try:
        return qa.ingest(settings, embedding_backend(settings), on_progress=on_progress)
    finally:
        _document_infos.clear()


# ---------------------------------------------------------------- preloading


def preload(settings: Settings) -> None:
    """Load the model, then open the index if there is one, into the page's cache."""
    try:
        load(settings)
    except PrivacyQAError as exc:  # no index yet, say: the page explains it to the visitor
        log.info("preload: %s", exc)


_preloads: dict[str, threading.Thread] = {}
_preloads_lock = threading.Lock()


def start_preload(settings: Settings) -> threading.Thread:
    """Start :func:`preload` in a background thread, once per process and settings.

    ``privacy-qa ui`` calls this once its server listens, the page on its first run. A
    page that needs the model meanwhile waits for this load instead of starting another.
    """
    key = settings_key(settings)
    with _preloads_lock:
        thread = _preloads.get(key)
        if thread is None:
            thread = threading.Thread(
                target=preload, args=(settings,), name="privacy-qa-preload", daemon=True
            )
            _preloads[key] = thread
            thread.start()
    return thread


# ---------------------------------------------------------------- documents


def model_loading(settings: Settings) -> bool:
    """Whether the background load of the model and index (:func:`start_preload`) runs."""
    thread = _preloads.get(settings_key(settings))
    return thread is not None and thread.is_alive()


def loaded_session(settings: Settings):
    """The QA session if it is loaded already (never waits for the load); else None."""
    thread = _preloads.get(settings_key(settings))
    if thread is None or thread.is_alive():
        return None
    try:
        return open_qa(settings)
    except PrivacyQAError:
        return None


@st.cache_data(ttl=30, show_spinner=False)
def _document_infos(key: str, _settings: Settings, counted: bool, stamp: int) -> dict:
    session = loaded_session(_settings) if counted else None
    return {info.source: info for info in qa.documents(_settings, session)}


def document_infos(settings: Settings) -> dict:
    """The documents of the corpus dir and the index by source (qa.DocumentInfo), for
    this run; chunks are counted once the index is loaded."""
    counted = loaded_session(settings) is not None
    try:  # an ingest (a new manifest) lists them again; else at most 30 s old
        stamp = settings.manifest_path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _document_infos(settings_key(settings), settings, counted, stamp)


@st.cache_data(ttl=30, show_spinner=False)
def _document_text(key: str, _settings: Settings, source: str, stamp: str):
    return qa.read_document(_settings, source)


def document_text(settings: Settings, source: str):
    """A corpus document as text (qa.DocumentText), or None if it cannot be read."""
    info = document_infos(settings).get(source)
    try:
        stamp = info.sha256 if info else ""
        return _document_text(settings_key(settings), settings, source, stamp)
    except PrivacyQAError:
        return None


def add_document(settings: Settings, name: str, data: bytes, on_progress):
    """Add an upload to the corpus dir and index it (qa.add_document), sharing the model."""
    try:
        return qa.add_document(settings, name, data, embedding_backend(settings), on_progress)
    finally:
        _document_infos.clear()


def delete_document(settings: Settings, source: str, on_progress):
    """Delete a document and bring the index up to date (qa.delete_document)."""
    try:
        return qa.delete_document(settings, source, embedding_backend(settings), on_progress)
    finally:
        _document_infos.clear()


@st.cache_data(ttl=30, show_spinner=False)
def _question_headings(key: str, _settings: Settings, stamp: tuple) -> list:
    return qa.question_headings(_settings, [source for source, _ in stamp])


def question_headings(settings: Settings, sources: list[str]) -> list[tuple[str, str]]:
    """(source, heading) of the question headings of these documents (qa.question_headings)."""
    infos = document_infos(settings)
    stamp = tuple((s, infos[s].sha256 if s in infos else "") for s in sources)
    return _question_headings(settings_key(settings), settings, stamp)
