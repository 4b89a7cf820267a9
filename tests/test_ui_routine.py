"""The support routine in the chat page (AppTest, real index): an open request asks back
with one button per branch; clicking one gives the branch's cited statements and the
closing question; "No, that's all" ends it, marked resolved. Typing works too."""

from __future__ import annotations

import pytest

from app.ui.routine import RESOLVED_LABEL

from .test_ui_page import ask, assert_no_traceback


def buttons(at, prefix: str = "routine-") -> dict[str, object]:
    return {b.label: b for b in at.button if b.key and b.key.startswith(prefix)}


def answer_html(at, turn: int) -> str:
    return "".join(m.value for m in at.chat_message[turn].markdown if "pqa-answer" in m.value)


def resolved(at) -> bool:
    return any(RESOLVED_LABEL in s.value for s in at.success)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("option", "said"),
    [("API", "baa@openai.com"), ("ChatGPT Enterprise", "contact our sales team")],
)
def test_the_routine_by_clicking_each_branch_ends_resolved(page, indexed_settings, option, said):
    at = ask(page(indexed_settings), "I need a BAA")
    assert "Could you please specify" in answer_html(at, 1)
    assert set(buttons(at)) == {"API", "ChatGPT Enterprise"}
    buttons(at)[option].click().run()
    assert not at.exception
    assert len(at.chat_message) == 4 and option in at.chat_message[2].markdown[0].value
    text = answer_html(at, 3)
    assert said in text and "Is there anything else I can assist you with today?" in text
    assert "internal procedure" in "".join(m.value for m in at.chat_message[3].markdown)
    assert set(buttons(at)) == {"No, that's all"}  # the earlier choices are gone
    assert not resolved(at)
    buttons(at)["No, that's all"].click().run()
    assert len(at.chat_message) == 6 and resolved(at) and not buttons(at)
    assert_no_traceback(at)


@pytest.mark.slow
def test_typing_the_branch_and_a_plain_question_in_between(page, indexed_settings):
    at = ask(page(indexed_settings), "How do we get a BAA?")
    at = ask(at, "for the API please")
    assert "baa@openai.com" in answer_html(at, 3) and "/v1/embeddings" in answer_html(at, 3)
    # A specific question is plain Q&A, not the routine; the routine does not come back.
    at = ask(at, "Which address do I email?")
    assert "baa@openai.com" in answer_html(at, 5)
    assert not buttons(at) and not resolved(at)
    assert_no_traceback(at)
