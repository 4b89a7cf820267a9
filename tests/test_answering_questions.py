"""What a question asks (app/answering/questions.py). No model needed."""

from __future__ import annotations

from app.answering.questions import asking, asks_definition, question_parts


def test_a_question_that_asks_two_things_is_split_where_it_asks_again():
    assert question_parts("Who do I contact about a BAA, and how soon will I hear back?") == [
        "Who do I contact about a BAA",
        "how soon will I hear back?",
    ]
    assert question_parts("Is a BAA free? And who signs the BAA?") == [
        "Is a BAA free",
        "And who signs the BAA?",
    ]
    for one in ("Is data encrypted at rest and in transit?", "How long is data kept?"):
        assert question_parts(one) == []


def test_the_sentences_that_ask_are_read_without_their_context():
    question = "I'm the privacy officer of a European clinic. Can OpenAI sign a DPA?"
    assert asking(question) == "Can OpenAI sign a DPA?"
    assert asking("baa email address") == "baa email address"
    assert asking("Is it kept? How long?") == "Is it kept? How long?"


def test_a_question_asking_what_something_is_asks_for_a_definition():
    for question in (
        "What is HIPAA, in one sentence?",
        "what kind of law is hipaa",
        "whats phi short for",
        "What does ZDR stand for?",
        "define PHI",
    ):
        assert asks_definition(question), question
    for question in (
        "How fast do they get back to you about the HIPAA contract?",
        "Can we send PHI through the API?",
        "Who do I contact to get a BAA?",
    ):
        assert not asks_definition(question), question
