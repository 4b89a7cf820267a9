"""What a question asks (app/answering/questions.py). No model needed."""

from __future__ import annotations

from app.answering.questions import asking, asks_yes_no, question_parts


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


def test_a_yes_no_question_opens_with_an_auxiliary():
    assert asks_yes_no("Is an enterprise agreement required to sign a BAA?")
    assert asks_yes_no("We're a clinic. Can OpenAI sign a BAA with us?")
    assert asks_yes_no("does zdr work with chat completions")
    assert not asks_yes_no("which apis does the baa cover")
    assert not asks_yes_no("How long is API data kept?")
    assert not asks_yes_no("baa turnaround time")
