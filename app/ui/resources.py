"""What the chat page keeps per process: its settings, the embedding model, the QA session.

Streamlit runs the page afresh on every rerun; the model and the index are loaded once per
process (``st.cache_resource``) and shared by every browser session and by Reindex.
``privacy-qa ui`` hands this module its resolved settings (:func:`hand_over_settings`) and
starts :func:`preload` while the server starts; a page run that needs the model meanwhile
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
    return qa.ingest(settings, embedding_backend(settings), on_progress=on_progress)


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

    ``privacy-qa ui`` calls this while the server starts, the page on its first run. A
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
