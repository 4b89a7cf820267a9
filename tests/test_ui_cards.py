"""An answer on the page (AppTest, real model, real Chroma): a plain-text copy with its
sources, the conversation exported as Markdown, opt-in feedback, and the English check."""

from __future__ import annotations

import json

import pytest

from app.feedback import feedback_path
from app.ui.cards import cards, conversation_markdown

from .test_ui_markup import plain
from .test_ui_page import ask

pytestmark = pytest.mark.slow


def test_an_answer_can_be_copied_as_plain_text_with_its_sources(page, indexed_settings):
    at = ask(page(indexed_settings), "How long does OpenAI retain API data?")
    copy = at.chat_message[1].code[0].value
    head, _, sources = copy.partition("\n\nSources:\n")
    assert "30 days" in head and "[1]" in head and "<" not in head and "**" not in head
    assert "[1" in sources and "OpenAI API Privacy Policies Explained (a company" in sources
    assert "corpus/openai-api-privacy-explained.md:" in sources
    assert [e.label for e in at.chat_message[1].expander].count("Copy as text") == 1


def test_the_conversation_exports_as_markdown_with_sources(page, indexed_settings):
    at = page(indexed_settings)
    assert not at.get("download_button")  # nothing to export yet
    ask(at, "How long does OpenAI retain API data?")
    ask(at, "What is a good recipe for sourdough bread?")
    assert at.get("download_button")[0].proto.label == "Export the conversation (Markdown)"
    exported = conversation_markdown(indexed_settings, at.session_state["messages"])
    assert exported.count("## Question") == 2
    assert "How long does OpenAI retain API data?" in exported and "**Sources**" in exported
    assert "corpus/openai-api-privacy-explained.md:" in exported
    assert "No answer. The indexed documents don" in exported


def test_one_card_per_passage_whatever_quotes_it_gives(page, indexed_settings):
    at = ask(page(indexed_settings), "How long does OpenAI retain API data?")
    answer = at.session_state["messages"][1]["answer"]
    passages = [(c.source, c.chunk_text) for c in answer.citations]
    assert len(cards(answer.citations)) == len(set(passages))
    headers = [m.value for m in at.chat_message[1].markdown if 'class="pqa-source"' in m.value]
    assert len(headers) == len(set(passages))


def test_feedback_is_stored_only_when_sent_and_the_question_only_if_ticked(
    page, tmp_path, indexed_settings
):
    path = feedback_path(indexed_settings)
    path.unlink(missing_ok=True)
    at = ask(page(indexed_settings), "Is data encrypted at rest for patient Jane Roe?")
    at.feedback[0].set_value(0).run()  # thumbs down: the form opens, nothing stored yet
    assert not path.exists()
    at.text_area[0].set_value("It should name AES-256").run()
    at.button(key="feedback-send-1").click().run()
    entry = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["rating"] == "down" and entry["comment"] == "It should name AES-256"
    assert entry["question"] is None and "Jane Roe" not in path.read_text(encoding="utf-8")
    assert any("feedback was saved" in c.value for c in at.chat_message[1].caption)

    ask(at, "Is data encrypted in transit?")
    at.feedback[0].set_value(1).run()
    at.checkbox[0].check().run()
    at.button(key="feedback-send-3").click().run()
    entry = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["rating"] == "up" and entry["question"] == "Is data encrypted in transit?"
    path.unlink()


def test_a_question_not_in_english_is_told_so_not_refused(page, indexed_settings):
    at = ask(page(indexed_settings), "Combien de temps OpenAI conserve-t-il les données ?")
    warnings = [plain(w.value) for w in at.chat_message[1].warning]
    assert any("This index answers questions in English" in w for w in warnings)
    assert not any("No answer" in w for w in warnings)
    # The refused text is back in the box, to be edited rather than typed again.
    assert at.chat_input[0].proto.value.startswith("Combien de temps")


def test_the_copy_and_the_export_say_what_a_follow_up_searched(page, indexed_settings):
    at = ask(page(indexed_settings), "How long does OpenAI retain API inputs and outputs?")
    ask(at, "and for files?")
    answer = at.session_state["messages"][3]["answer"]
    assert answer.searched != answer.question
    copy = at.chat_message[3].code[0].value
    assert f"\n\nSearched: {answer.searched}\n\nSources:\n" in copy
    exported = conversation_markdown(indexed_settings, at.session_state["messages"])
    assert exported.count("Searched: ") == 1 and answer.searched in exported
