"""``privacy-qa ask`` in the audit log: when the log is on (PRIVACY_QA_AUDIT_LOG), each
question answered or refused writes the same event as the page's, through the facade
(``qa.audit_answer``, ``qa.audit``), with ``source`` "cli" and the OS user's name as the
user. The question's text only with PRIVACY_QA_AUDIT_QUESTIONS on, as on the page."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator

from app import qa
from app.config import Settings
from app.errors import PrivacyQAError

SOURCE = "cli"
ERROR_CHARS = 200  # as the page keeps of an error's message


def os_user() -> str:
    """The name of the OS user running this process (its uid when it has none)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        try:
            return getpass.getuser()
        except OSError:
            return f"uid {os.getuid()}"


class AuditedSession:
    """A QA session whose ``ask`` and ``stream`` write an audit event per question;
    everything else is the session's own."""

    def __init__(self, settings: Settings, session, user: str):
        self._settings, self._session, self._user = settings, session, user

    def __getattr__(self, name: str):
        return getattr(self._session, name)

    def ask(self, question: str, *args, **kwargs):
        try:
            answer = self._session.ask(question, *args, **kwargs)
        except PrivacyQAError as exc:
            self._refused(exc)
            raise
        qa.audit_answer(self._settings, self._user, answer, SOURCE)
        return answer

    def stream(self, question: str, *args, **kwargs) -> Iterator:
        events = self._session.stream(question, *args, **kwargs)
        while True:
            try:
                event = next(events)
            except StopIteration:
                return
            except PrivacyQAError as exc:
                self._refused(exc)
                raise
            if not isinstance(event, qa.TextDelta):  # the final Answer
                qa.audit_answer(self._settings, self._user, event, SOURCE)
            yield event

    def _refused(self, exc: PrivacyQAError) -> None:
        message = str(exc)[:ERROR_CHARS]
        qa.audit(self._settings, self._user, "answer", error=message, source=SOURCE)


def audited(settings: Settings, session):
    """``session`` itself when the audit log is off, else an :class:`AuditedSession`."""
    if settings.audit_path is None:
        return session
    return AuditedSession(settings, session, os_user())
