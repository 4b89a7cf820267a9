"""The support routine in the chat page (AppTest, real index): an open request asks back
with one button per branch; clicking one gives the branch's cited statements and the
closing question; "No, that's all" ends it, marked resolved. Typing works too."""

from __future__ import annotations

import pytest

from app.ui.routine import RESOLVED_LABEL

from .test_ui_browser import server  # noqa: F401 (the browser test's page server)
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


# ------------------------------------------------------------------ a real browser


def click_and_wait(page, label: str, turn: int, expected: str):
    """Click the routine's button ``label``; wait for the ``turn``-th reply to show
    ``expected`` and the run to finish."""
    from playwright.sync_api import expect

    from .test_ui_browser import WAIT_MS

    page.get_by_role("button", name=label, exact=True).click()
    reply = page.locator('[data-testid="stChatMessage"]').nth(2 * turn + 1)
    expect(reply).to_contain_text(expected, timeout=WAIT_MS)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=WAIT_MS)
    return reply


@pytest.mark.slow
@pytest.mark.browser
def test_a_conversation_and_the_routine_in_a_real_browser(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    from .test_ui_browser import ARTIFACTS, WAIT_MS
    from .test_ui_browser import ask as ask_in_browser

    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.goto(url)
    # Two turns: the follow-up is answered from context, and says what it searched.
    ask_in_browser(page, "How long does OpenAI retain API inputs and outputs?", 0, "30 days")
    reply = ask_in_browser(page, "and for files?", 1, "Until deleted")
    expect(reply).to_contain_text("Searched:")
    page.get_by_role("button", name="New chat").click()
    expect(page.locator('[data-testid="stChatMessage"]')).to_have_count(0, timeout=WAIT_MS)
    # The routine through both branches, by clicking, each ending resolved.
    for option, said in (("API", "baa@openai.com"), ("ChatGPT Enterprise", "sales team")):
        ask_in_browser(page, "I need a BAA", 0, "Could you please specify")
        click_and_wait(page, option, 1, said)
        done = click_and_wait(page, "No, that's all", 2, RESOLVED_LABEL)
        expect(done).to_contain_text(RESOLVED_LABEL)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"routine-{option.split()[0].lower()}.png"))
        page.get_by_role("button", name="New chat").click()
        expect(page.locator('[data-testid="stChatMessage"]')).to_have_count(0, timeout=WAIT_MS)


@pytest.mark.slow
def test_a_malformed_routine_is_named_at_reindex_and_the_page_answers_plainly(page, tmp_path):
    from .conftest import copy_corpus, make_settings

    corpus = copy_corpus(tmp_path / "corpus")
    baa = corpus / "openai-baa-help-article.md"
    broken = baa.read_text(encoding="utf-8").replace("`case_resolution` fun", "`close_it` fun")
    baa.write_text(broken, encoding="utf-8")
    at = page(make_settings(tmp_path, corpus))
    at.sidebar.button[0].click().run()  # Reindex
    warnings = [w.value.replace("\\", "") for w in at.sidebar.warning]  # markdown-escaped
    assert any("routine ignored: corpus/openai-baa-help-article.md" in w for w in warnings)
    at = ask(at, "I need a BAA")
    assert not buttons(at) and "Could you please specify" not in answer_html(at, 1)
    assert_no_traceback(at)
