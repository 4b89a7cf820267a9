"""The opt-in audit log of the chat page and ``privacy-qa ask``: one JSON line per event,
appended to the file ``PRIVACY_QA_AUDIT_LOG`` names (``on``: the data dir's audit.jsonl).

Each line says who (the signed-in user on the page, the OS user for the CLI), where from
(``source``: page or cli), when, what: for an answer, the documents and passages shown (the
cited ones, or after a refusal the passages offered to read), the remote endpoints called
and whether it was refused; for the other events (sign-in, a document read, reindex,
upload, delete) the documents concerned. The question's text is kept only with
``PRIVACY_QA_AUDIT_QUESTIONS`` on. Each line is one ``write`` to a file opened with
``O_APPEND`` (mode 600), so the lines of several page processes never interleave.
Standard library only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.config import Settings
from app.errors import UserError

SOURCES = ("page", "cli")
ACTIONS = ("answer", "sign-in", "sign-in-refused", "read", "reindex", "upload", "delete")


@dataclass
class AuditEvent:
    """One line of the audit log."""

    user: str | None  # None: no sign-in configured (a loopback page)
    action: str  # one of ACTIONS
    documents: list[str] = field(default_factory=list)
    passages: list[dict] = field(default_factory=list)  # {"source", "line", "section"}
    endpoints: list[str] = field(default_factory=list)  # remote endpoints called
    refused: bool | None = None  # for an answer: the documents did not answer it
    error: str | None = None  # for an answer: why it was not answered (the error's kind)
    detail: dict = field(default_factory=dict)  # e.g. a reindex's counts
    question: str | None = None  # only with PRIVACY_QA_AUDIT_QUESTIONS on
    source: str = "page"  # one of SOURCES: the chat page or `privacy-qa ask`
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def append_line(path: Path, entry: dict) -> None:
    """Append ``entry`` as one JSON line to ``path`` (mode 600) in a single write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def record(settings: Settings, event: AuditEvent) -> bool:
    """Append ``event`` to the audit log if it is on; say whether it was written. The
    question is dropped unless the settings keep questions."""
    path = settings.audit_path
    if path is None:
        return False
    if event.action not in ACTIONS:
        raise ValueError(f"unknown audit action {event.action!r}")
    if event.source not in SOURCES:
        raise ValueError(f"unknown audit source {event.source!r}")
    if not settings.audit_questions:
        event.question = None
    try:
        append_line(path, asdict(event))
    except OSError as exc:
        raise UserError(
            f"Cannot write the audit log {path} ({exc.strerror}): fix its folder's "
            "permissions or PRIVACY_QA_AUDIT_LOG."
        ) from None
    return True


CLOSEST_PASSAGES = 3  # what the page offers to read after a refusal (app/ui/cards.py)


def answer_event(user: str | None, answer, source: str = "page") -> AuditEvent:
    """The audit event of an :class:`~app.answering.types.Answer` shown to ``user`` (by
    ``source``): the passages cited, or after a refusal those offered to read."""
    shown = answer.closest_passages(CLOSEST_PASSAGES) if answer.abstained else answer.citations
    passages = [{"source": p.source, "line": p.start_line, "section": p.section} for p in shown]
    return AuditEvent(
        user=user,
        action="answer",
        documents=list(dict.fromkeys(p["source"] for p in passages)),
        passages=passages,
        endpoints=list(answer.endpoints),
        refused=answer.abstained,
        question=answer.question,
        source=source,
    )


def read(path: Path) -> list[dict]:
    """The log's entries (a test and a reviewer read it; unreadable lines are left out)."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries
