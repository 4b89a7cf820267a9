"""The one facade the command line and the chat page call for everything: ingest and
index status, the embedding model, asking (:func:`open_qa`) and the eval suite.

Importing it is cheap: a no-op ``privacy-qa ingest`` goes through it and must cost little
more than starting Python (tests/test_startup.py names what it must not import). The heavy
parts (the model, Chroma, LangChain) are imported by the functions that need them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from app.answering.types import Answer, Citation, Passage, TextDelta
from app.config import Settings
from app.index import changes
from app.index.manifest import IndexStatus, IngestReport

if TYPE_CHECKING:
    from app.embeddings import EmbeddingBackend
    from app.evals.report import EvalReport
    from app.session import QA

# What the front ends get back: a session's stream yields TextDelta pieces, then the
# Answer with its Citations; ingest gives an IngestReport, index_status an IndexStatus.
__all__ = [
    "Answer",
    "Citation",
    "IndexStatus",
    "IngestReport",
    "Passage",
    "TextDelta",
    "embedding_backend",
    "index_status",
    "ingest",
    "open_qa",
    "run_eval",
    "unchanged_report",
]


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
    settings: Settings, embeddings: EmbeddingBackend | None = None, **options: Any
) -> IngestReport:
    """Make the index match the corpus dir (incremental, crash-safe); return what changed.

    ``embeddings``: a loaded backend to share (the page's); made from the settings only
    if something must be embedded. ``options``: ``rebuild``, ``dry_run`` and
    ``on_progress(done, total)`` (:func:`app.index.ingest.ingest`). Takes the ingest lock
    first (IngestLockedError if another ingest holds it), so it does not answer from
    :func:`unchanged_report`; the command line asks that first itself.
    """
    from app.index.ingest import ingest as run

    return run(settings, embeddings, **options)


def index_status(settings: Settings) -> IndexStatus:
    """What the live index holds and which files changed since; cheap."""
    return changes.index_status(settings)


# ------------------------------------------------------------------------------ the model


def embedding_backend(settings: Settings) -> EmbeddingBackend:
    """The embedding backend the settings name (its model loads on first use)."""
    from app.embeddings import make_embeddings

    return make_embeddings(settings)


# ---------------------------------------------------------------------------- questions


def open_qa(settings: Settings, embeddings: EmbeddingBackend | None = None) -> QA:
    """A session on the index in ``settings.data_dir``: checks the index (present, built
    with these settings) and loads its chunks; ``ask``/``stream`` answer questions."""
    from app.session import QA

    return QA(settings, embeddings)


# ------------------------------------------------------------------------------ the eval


def run_eval(settings: Settings, **options: Any) -> EvalReport:
    """Answer the eval questions, score them against the baseline and thresholds, write
    the report (report.json, report.md, report.png) and return it. ``options`` are the
    fields of :class:`app.evals.run.EvalOptions` (dataset, split, check, judge, ...)."""
    from app.evals.run import EvalOptions
    from app.evals.run import run_eval as run

    return run(settings, EvalOptions(**options))
