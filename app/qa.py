"""The one facade the command line and the chat page call for everything: ingest and
index status, the embedding model, asking (:func:`open_qa`) and the eval suite.

Importing it is cheap: a no-op ``privacy-qa ingest`` goes through it and must cost little
more than starting Python (tests/test_startup.py names what it must not import). The heavy
parts (the model, Chroma, LangChain) are imported by the functions that need them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from app.answering.markers import quoted
from app.answering.types import Answer, Citation, Passage, TextDelta
from app.config import Settings
from app.conversation import Turn
from app.index import changes
from app.index.manifest import IndexStatus, IngestReport

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.auth import User
    from app.documents import Change, DocumentInfo, DocumentText, Place
    from app.embeddings import EmbeddingBackend
    from app.evals.report import EvalReport
    from app.feedback import Candidates
    from app.phi import Finding
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
    "Turn",
    "add_document",
    "add_user",
    "audit",
    "audit_answer",
    "check_listen_host",
    "check_password",
    "cookie_secret",
    "delete_document",
    "describe_phi",
    "documents",
    "embedding_backend",
    "feedback_candidates",
    "history",
    "index_status",
    "is_maintainer",
    "ingest",
    "oidc_user",
    "open_qa",
    "place",
    "question_headings",
    "quoted",
    "read_document",
    "record_feedback",
    "redact_phi",
    "remove_user",
    "run_eval",
    "session_token",
    "session_user",
    "sign_in_methods",
    "unchanged_report",
    "user_names",
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
    from app.documents import record_ingest
    from app.index.ingest import ingest as run

    report = run(settings, embeddings, **options)
    record_ingest(settings, report)  # when each document was indexed, for the page
    from app.routine import check_routines

    changed = [*report.changes.added, *report.changes.updated]
    report.routine_problems = check_routines(settings.corpus_dir, changed)
    return report


def index_status(settings: Settings) -> IndexStatus:
    """What the live index holds and which files changed since; cheap."""
    return changes.index_status(settings)


# ------------------------------------------------------------------------------ the model


def embedding_backend(settings: Settings) -> EmbeddingBackend:
    """The embedding backend the settings name (its model loads on first use)."""
    from app.embeddings import make_embeddings

    return make_embeddings(settings)


# -------------------------------------------------------------------------- documents


def documents(settings: Settings, session: QA | None = None) -> list[DocumentInfo]:
    """Every document of the corpus dir and the index: title, publisher, date, chunks
    (counted in ``session``'s index, if given), when indexed, changed since."""
    from app.documents import list_documents

    counts = session.retriever.sources() if session is not None else {}
    return list_documents(settings, (source for source, n in counts.items() for _ in range(n)))


def add_document(
    settings: Settings,
    name: str,
    data: bytes,
    embeddings: EmbeddingBackend | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Change:
    """Put an uploaded file into the corpus dir and run the incremental ingest (waiting
    for one that runs meanwhile). Raises a UserError, having written nothing, for a file
    that is too large, of another type, named to leave the corpus dir, already there or
    unreadable (a broken PDF)."""
    from app.documents import add_document as add

    return add(settings, name, data, lambda: ingest(settings, embeddings, on_progress=on_progress))


def delete_document(
    settings: Settings,
    source: str,
    embeddings: EmbeddingBackend | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Change:
    """Delete a document of the corpus dir, then run the incremental ingest."""
    from app.documents import remove_document

    return remove_document(
        settings, source, lambda: ingest(settings, embeddings, on_progress=on_progress)
    )


def read_document(settings: Settings, source: str) -> DocumentText:
    """A document of the corpus dir as text (what citations quote and count lines of)."""
    from app.documents import read_document as read

    return read(settings, source)


def place(document: DocumentText, line: int) -> Place:
    """Where a cited line is for a reader: for a PDF, its page and line within the page."""
    from app.documents import place as where

    return where(document, line)


def question_headings(settings: Settings, sources: list[str]) -> list[tuple[str, str]]:
    """(source, heading) of the headings of these documents that are questions."""
    from app.documents import question_headings as headings

    return headings(settings, sources)


# -------------------------------------------------------------------------- feedback


def record_feedback(
    settings: Settings,
    answer: Answer,
    rating: str,
    comment: str = "",
    *,
    keep_question: bool = False,
) -> None:
    """Store feedback a user chose to send on ``answer`` (the data dir's feedback.jsonl):
    ``rating`` "up" or "down", an optional comment, the answer and its sources; the
    question only with ``keep_question`` (it may hold PHI)."""
    from app.feedback import Feedback, record

    entry = Feedback(
        rating=rating,
        answer=answer.answer,
        sources=[c.source for c in answer.citations],
        quotes=[c.quote for c in answer.citations],
        abstained=answer.abstained,
        comment=comment,
        question=answer.question if keep_question else None,
    )
    record(settings, entry)


def feedback_candidates(settings: Settings) -> Candidates:
    """Candidate eval items from the stored feedback, for a maintainer to review."""
    from app.feedback import candidates

    return candidates(settings)


# ------------------------------------------------------------------ sign-in and audit


def sign_in_methods(settings: Settings) -> list[str]:
    """How the page's users sign in: "password" (a users file), "oidc" (OpenID Connect
    through Streamlit's st.login); none: the page is open (loopback only)."""
    from app.auth import oidc_configured

    methods = ["password"] if settings.users_file is not None else []
    return methods + (["oidc"] if oidc_configured(settings) else [])


def check_listen_host(settings: Settings, host: str) -> None:
    """Raise a UserError, saying how to configure sign-in, if the page may not be served
    on ``host``: beyond loopback it needs sign-in (a users file with a user, or OIDC)."""
    from app.auth import check_host

    check_host(settings, host)


def check_password(settings: Settings, name: str, password: str) -> User | None:
    """The user if the users file holds ``name`` with this password, else None."""
    from app.auth import check_password as check

    return check(settings, name, password)


def session_token(settings: Settings, name: str) -> str:
    """A signed token (for a cookie) saying ``name`` signed in with a password."""
    from app.auth import session_token as token

    return token(settings, name)


def session_user(settings: Settings, token: str | None) -> User | None:
    """The user a valid, unexpired session token names, else None."""
    from app.auth import session_user as user

    return user(settings, token)


def cookie_secret(settings: Settings) -> str:
    """The secret that signs sign-in cookies (kept in the data dir)."""
    from app.auth import cookie_secret as secret

    return secret(settings)


def add_user(settings: Settings, name: str, password: str) -> bool:
    """Add a user to the users file, or give one a new password; True if new."""
    from app.auth import add_user as add

    return add(settings, name, password)


def remove_user(settings: Settings, name: str) -> None:
    from app.auth import remove_user as remove

    remove(settings, name)


def user_names(settings: Settings) -> list[str]:
    """The names in the users file."""
    from app.auth import read_users, users_file

    return sorted(read_users(users_file(settings)))


def oidc_user(claims: dict) -> User:
    """The user an OpenID Connect sign-in's id token claims name (e-mail, groups)."""
    from app.auth import oidc_user as user

    return user(claims)


def is_maintainer(settings: Settings, user: User) -> bool:
    """Whether ``user`` may Reindex, upload and delete (PRIVACY_QA_MAINTAINERS)."""
    from app.auth import is_maintainer as maintains

    return maintains(settings, user)


def audit(settings: Settings, user: str | None, action: str, **fields: Any) -> None:
    """Append an event to the audit log, if it is on (PRIVACY_QA_AUDIT_LOG): ``action``
    is sign-in, sign-in-refused, read, reindex, upload or delete; ``fields`` those of
    :class:`app.audit.AuditEvent` (documents, detail, source)."""
    from app.audit import AuditEvent, record

    if settings.audit_path is not None:
        record(settings, AuditEvent(user=user, action=action, **fields))


def audit_answer(
    settings: Settings, user: str | None, answer: Answer, source: str = "page"
) -> None:
    """Log an answer shown to ``user`` by ``source`` (page, cli) (passages, endpoints,
    refused; the question only with PRIVACY_QA_AUDIT_QUESTIONS on), if the log is on."""
    from app.audit import answer_event, record

    if settings.audit_path is not None:
        record(settings, answer_event(user, answer, source))


# ---------------------------------------------------------------------------- questions


def open_qa(settings: Settings, embeddings: EmbeddingBackend | None = None) -> QA:
    """A session on the index in ``settings.data_dir``: checks the index (present, built
    with these settings) and loads its chunks; ``ask``/``stream`` answer questions."""
    from app.session import QA

    return QA(settings, embeddings)


def history(value: object, where: str = "history") -> list[Turn]:
    """The earlier turns of a conversation from JSON-like data (a list of
    ``{"question", "answer"}`` objects, oldest first), for ``ask``/``stream``; a UserError
    naming ``where`` and the bad turn otherwise."""
    from app.conversation import parse_history

    return parse_history(value, where)


def describe_phi(findings: list[Finding]) -> str:
    """What the PHI check found (``QA.phi_findings``), by kind, never the values: "a name
    and a date"."""
    from app.phi import describe

    return describe(findings)


def redact_phi(question: str, findings: list[Finding]) -> str:
    """``question`` as ``QA.stream(..., send="redact")`` sends it: each finding replaced by
    its placeholder ("[NAME]")."""
    from app.phi import redact

    return redact(question, findings)


# ------------------------------------------------------------------------------ the eval


def run_eval(settings: Settings, **options: Any) -> EvalReport:
    """Answer the eval questions, score them against the baseline and thresholds, write
    the report (report.json, report.md, report.png) and return it. ``options`` are the
    fields of :class:`app.evals.run.EvalOptions` (dataset, split, check, judge, ...)."""
    from app.evals.run import EvalOptions
    from app.evals.run import run_eval as run

    return run(settings, EvalOptions(**options))
