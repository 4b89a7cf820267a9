"""The one facade the command line and the chat page call for everything: ingest and
index status, the embedding model, asking (:func:`open_qa`) and the eval suite.

Importing it is cheap: a no-op ``privacy-qa ingest`` goes through it and must cost little
more than starting Python (tests/test_startup.py names what it must not import). The heavy
parts (the model, Chroma, LangChain) are imported by the functions that need them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.config import Settings
from app.index import changes
from app.index.manifest import IndexStatus, IngestReport

if TYPE_CHECKING:
    from app.embeddings import EmbeddingBackend
    from app.session import QA


# ------------------------------------------------------------------------------ the index


def unchanged_report(settings: Settings, *, dry_run: bool = False) -> IngestReport | None:
    """The report of a no-op ingest if nothing changed since the last one, else None.

    Cheap (the files are only hashed, or stat'ed once their hashes are cached): the
    command line asks it before it configures logging or loads anything.
    """
    started = time.perf_counter()
    report = changes.unchanged_report(settings, dry_run=dry_run)
    if report is not None:
        report.seconds = round(time.perf_counter() - started, 3)
    return report


def ingest(
    settings: Settings,
    embeddings: EmbeddingBackend | None = None,
    *,
    rebuild: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Make the index match the corpus dir (incremental, crash-safe); return what changed.

    ``embeddings``: a loaded backend to share (the page's); made from the settings only
    if something must be embedded. ``on_progress(done, total)`` follows the embedding.
    """
    if not rebuild:
        report = unchanged_report(settings, dry_run=dry_run)
        if report is not None:
            return report
    from app.index.ingest import ingest as run

    return run(settings, embeddings, rebuild=rebuild, dry_run=dry_run, on_progress=on_progress)


def index_status(settings: Settings) -> IndexStatus:
    """What the live index holds and which files changed since; cheap."""
    return changes.index_status(settings)


# ------------------------------------------------------------------------------ the model


def embedding_backend(settings: Settings, *, separate_process: bool = False) -> EmbeddingBackend:
    """The embedding backend the settings name; ``separate_process`` runs the bundled
    model in a child process (the page does, so it loads while the page starts)."""
    from app.embeddings import make_embeddings

    return make_embeddings(settings, separate_process=separate_process)


def start_model_process(settings: Settings) -> None:
    """Start loading the bundled model in the page's child process now, if the settings use
    it: ``privacy-qa ui`` calls this before importing Streamlit, so the model loads on the
    other core while the server starts (app/model_process.py)."""
    from app import minilm, model_process

    if settings.embeddings == minilm.MODEL_ID:
        model_process.shared().start()


# ---------------------------------------------------------------------------- questions


def open_qa(settings: Settings, embeddings: EmbeddingBackend | None = None) -> QA:
    """A session on the index in ``settings.data_dir``: checks the index (present, built
    with these settings) and loads its chunks; ``ask``/``stream`` answer questions."""
    from app.session import QA

    return QA(settings, embeddings)
