"""A support routine's turn in the chat page: the choices of a question asked back (one
button per option; typing the answer works too) and the mark of a resolved case.

The routine itself is the core's (app/routine/, through the facade); this module only
draws what an Answer carries: ``clarify`` (question and options) and ``resolved``.
"""

from __future__ import annotations

import streamlit as st

from app.qa import Answer

# The page's keys (app/ui/page.py): a question to ask on this run (a clicked button), and
# the chat box's value (a typed question).
PENDING = "pending"
TYPED = "question"
RESOLVED_LABEL = "Resolved: this request is closed."


def _choose(option: str) -> None:
    st.session_state[PENDING] = option


def routine_widgets(answer: Answer, turn: int, fresh: bool = False) -> None:
    """Under an answer: its options as buttons while it is the conversation's last turn
    (``fresh``: just given on this run), or the resolved mark."""
    if answer.resolved:
        st.success(RESOLVED_LABEL, icon=":material/task_alt:")
    if answer.clarify is None:
        return
    messages = st.session_state.get("messages", [])
    state = st.session_state
    if not fresh and (turn != len(messages) - 1 or state.get(PENDING) or state.get(TYPED)):
        return  # answered already, or being answered on this run

    st.caption("Choose one, or type your answer:")
    columns = st.columns(max(len(answer.clarify.options), 1))
    for i, option in enumerate(answer.clarify.options):
        columns[i].button(
            option,
            key=f"routine-{turn}-{i}",
            on_click=_choose,
            args=(option,),
            width="stretch",
        )
