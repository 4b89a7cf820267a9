"""The page's PHI check: when the chat model would send a question in which the check
found likely PHI, say what was found (kinds, never the values) and offer three ways on:
send it redacted, send it as typed (only if the operator allows it), or answer it
offline with quotes. Nothing is sent until one is chosen.

The held question stays in the conversation (the browser session's memory) with its
notice; a choice takes both out and asks the question again with that choice
(:func:`chosen` gives it to :func:`app.ui.page._ask`).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app import qa
from app.config import Settings
from app.ui.markup import escape_markdown

CHOICE = "phi-choice"  # session state: (question, send) picked by a button of the notice
CHOICES = (
    ("redact", "Send redacted", "Send the question with each finding replaced (as shown)."),
    ("as_is", "Send as is", "Send the question as typed, with what was found in it."),
    ("offline", "Answer offline with quotes", "Answer from the documents here: nothing is sent."),
)


def chosen(question: str) -> str:
    """How to send ``question``: the choice made for it on its notice, else "check"."""
    picked = st.session_state.get(CHOICE)
    if picked is not None and picked[0] == question:
        del st.session_state[CHOICE]
        return picked[1]
    return "check"


def hold(settings: Settings, question: str, findings: list, keep: Callable[[dict], None]) -> None:
    """Keep ``question`` back: keep its notice in the conversation and draw it."""
    message = {
        "role": "assistant",
        "phi": qa.describe_phi(findings),
        "question": question,
        "redacted": qa.redact_phi(question, findings),
    }
    keep(message)
    notice(settings, message, latest=True)


def notice(settings: Settings, message: dict, latest: bool) -> None:
    """What was found and, on the latest message, the choices."""
    st.warning(
        f"This question seems to hold {message['phi']}, and the chat model would send it to "
        f"{settings.openai_api_base}. Nothing was sent."
    )
    if not latest:
        return
    st.caption("Redacted, it reads:")
    st.markdown(f"> {escape_markdown(message['redacted'])}")
    allowed = [c for c in CHOICES if c[0] != "as_is" or settings.phi_allow_send]
    columns = st.columns(len(allowed))
    for column, (send, label, help_text) in zip(columns, allowed, strict=True):
        column.button(
            label,
            key=f"phi-{send}",
            help=help_text,
            on_click=_choose,
            args=(message["question"], send),
            width="stretch",
        )
    if not settings.phi_allow_send:
        st.caption("Sending it as typed is turned off here (PRIVACY_QA_PHI_ALLOW_SEND).")


def _choose(question: str, send: str) -> None:
    """Take the held question and its notice out of the conversation and ask it again."""
    messages = st.session_state.get("messages", [])
    if messages and messages[-1].get("question") == question:
        del messages[-2:]
    st.session_state[CHOICE] = (question, send)
    st.session_state["pending"] = question
