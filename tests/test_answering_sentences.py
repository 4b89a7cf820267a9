"""Sentence splitting and which sentences are worth quoting (app/answering/sentences.py).
No model needed."""

from __future__ import annotations

from app.answering.sentences import is_quotable, sentences


def test_sentences_are_exact_substrings_with_offsets():
    body = (
        "So what about data storage?\n\n> OpenAI may retain data for up to 30 days. After 30\n"
        "days, data is removed.\n>\n> — [Portal](https://x)\n- a. Inform the customer: "
        '"Our team will respond within 1-2 business days."\nWe use eg. Langchain here.'
    )
    found = sentences(body)
    for sentence in found:
        assert body[sentence.offset : sentence.offset + len(sentence.text)] == sentence.text
    texts = [s.text for s in found]
    assert "After 30\ndays, data is removed." in texts
    assert "We use eg. Langchain here." in texts
    assert any(t.startswith("Inform the customer:") for t in texts)


def test_a_sentence_may_start_with_a_link_but_not_only_be_one():
    assert is_quotable("[This]( https://trust.openai.com/) is your go-to place for privacy.")
    assert not is_quotable("[Enterprise Privacy portal](https://openai.com/enterprise-privacy)")
    assert not is_quotable("— [Enterprise Privacy portal](https://openai.com/enterprise-privacy)")
    assert not is_quotable("[1]: https://example.com/a long reference")
    assert not is_quotable("Who can store the data if it is retained?")
    assert is_quotable("For full list please refer to [OpenAI docs](https://platform.openai.com)")
