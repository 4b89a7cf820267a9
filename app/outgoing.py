"""What may leave for the chat model: the PHI check on a question, and on the earlier
turns the condense step would send, and what is done with a finding by the ``send`` mode
the front end chose: refuse (the default), redact, send as typed (only if the operator's
setting allows it), or answer offline. With the offline answerer nothing leaves, and
nothing is checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from app.config import Settings
from app.conversation import Turn
from app.errors import PhiFoundError
from app.phi import PLACEHOLDERS, Finding, PhiDetector, describe, kinds, redact

log = logging.getLogger(__name__)

# What to do with a question in which the PHI check found something, when the chat model
# would send it away: refuse it (the default), send it redacted, send it as typed (only
# if the operator's setting allows it), or answer it offline with quotes.
SEND_MODES = ("check", "redact", "as_is", "offline")


class Outgoing:
    """The PHI check of one session. ``words`` gives the indexed chunks' words (a word of
    the documents is no person's name); they are read on the first check."""

    def __init__(self, settings: Settings, words: Callable[[], Iterable[str]]):
        self.settings = settings
        self._words = words
        self._detector: PhiDetector | None = None

    def detector(self) -> PhiDetector:
        if self._detector is None:
            self._detector = PhiDetector(self._words())
        return self._detector

    def findings(self, text: str) -> list[Finding]:
        """Likely PHI in ``text`` (app/phi.py) when the chat model would send it away;
        none when answers are written offline."""
        if self.settings.llm != "openai":
            return []
        return self.detector().find(text)

    def in_history(self, history: Sequence[Turn]) -> bool:
        """Whether an earlier turn, as the condense step would send it, holds likely PHI."""
        return any(self.findings(f"{t.question}\n{t.answer}") for t in history)

    def check(self, question: str, send: str = "check") -> tuple[str, list[str]]:
        """The text the answerer gets for ``question`` and the notices saying what was
        done with it, by ``send``: with findings, "check" raises PhiFoundError, "redact"
        gives the question with each finding replaced by a placeholder ("[NAME]"),
        "as_is" the question as typed if ``phi_allow_send`` allows it (else
        PhiFoundError); "offline" is answered by the offline answerer, so nothing leaves."""
        if send not in SEND_MODES:
            raise ValueError(f"send must be one of {SEND_MODES}, not {send!r}")
        findings = [] if send == "offline" else self.findings(question)
        if not findings:
            return question, []
        found = describe(findings)
        log.info("PHI check: found %s; %s", ", ".join(kinds(findings)), send)  # kinds only
        if send == "redact":
            placeholders = ", ".join(PLACEHOLDERS[kind] for kind in kinds(findings))
            return redact(question, findings), [
                f"PHI check: sent to the chat model with {found} replaced by {placeholders}."
            ]
        if send == "as_is" and self.settings.phi_allow_send:
            return question, [f"PHI check: sent to the chat model as typed, with {found} in it."]
        raise PhiFoundError(self._refusal(found, send), kinds(findings))

    def _refusal(self, found: str, send: str) -> str:
        where = self.settings.openai_api_base
        if send == "as_is":
            return (
                f"The question seems to hold {found}, and sending such a question to the chat "
                f"model ({where}) as typed is turned off (PRIVACY_QA_PHI_ALLOW_SEND): ask "
                "with --redact to send it with placeholders instead."
            )
        return (
            f"The question seems to hold {found}, and the chat model would send it to "
            f"{where}: nothing was sent. Ask again with --redact to send it with each of "
            "them replaced by a placeholder ([NAME], [DATE], ...), or with --allow-phi to "
            "send it as typed (only if PRIVACY_QA_PHI_ALLOW_SEND is on)."
        )
