"""The value a question asks for (app/answering/answer_type.py): a price, a percentage, a
number, a frequency; a quote without one does not answer it. No model needed."""

from __future__ import annotations

from app.answering.answer_type import asked_for, gives, missing, preferred


def names(question: str) -> list[str]:
    return [kind.name for kind in asked_for(question)]


def test_questions_that_ask_for_a_value():
    assert names("What would OpenAI charge us for signing a BAA?") == ["an amount of money"]
    assert names("Does zero data retention cost extra?") == ["an amount of money"]
    assert names("what availability percentage does openai guarantee") == ["a percentage"]
    assert names("What's the rate limit on /v1/moderations?") == ["a number"]
    assert names("How many requests per minute can I send?") == ["a number"]
    assert names("How often is the SOC 2 audit redone?") == ["a frequency"]


def test_questions_that_ask_for_no_value():
    for question in (
        "How long does OpenAI retain API data?",
        "Is access to our data limited to certain staff?",
        "Who do I contact about a BAA?",
        "Are uploaded files deleted automatically?",
    ):
        assert asked_for(question) == [], question


def test_only_the_interrogative_sentences_ask():
    question = "We're a small clinic paying as we go. Do we need an enterprise agreement?"
    assert asked_for(question) == []
    assert names("We pay monthly. How much does a BAA cost?") == ["an amount of money"]


def test_a_quote_without_the_value_does_not_answer():
    question = "What is the rate limit for the embeddings endpoint?"
    assert missing(question, ["`/v1/embeddings` is eligible for ZDR."]) == ["a number"]
    assert missing(question, ["You may send 3,000 requests per minute."]) == []
    assert missing("How long is data kept?", ["Data is kept."]) == []
    assert missing("Does ZDR cost extra?", ["ZDR is free of charge."]) == []


def test_numbers_inside_paths_and_names_are_not_values():
    question = "How many endpoints are eligible?"
    assert missing(question, ["`/v1/chat/completions` and `/v1/embeddings`, GPT-4o"]) == [
        "a number"
    ]
    assert missing(question, ["Three endpoints: ..."]) == []
    # "How many <things>" counts things: a number of something else does not answer it.
    assert missing(question, ["within 1-2 business days"]) == ["a number of endpoints"]
    hours = "Within how many hours will OpenAI notify us of a breach?"
    assert missing(hours, ["usually completed within a few business days"]) == ["a number of hours"]
    assert missing(hours, ["We notify customers within 72 hours."]) == []
    days = "How many days does it take to hear back about a BAA?"
    assert missing(days, ["Our team will respond within 1-2 business days."]) == []


def gives_preferred(question: str, quote: str) -> bool:
    return gives(preferred(question), quote)


def test_a_duration_or_an_address_is_preferred_where_the_question_word_asks_for_it():
    assert gives_preferred("api data stored for how long", "kept for up to 30 days")
    assert gives_preferred("how soon will they reply?", "within 1-2 business days")
    assert gives_preferred("How long are files kept?", "Until deleted by customer")
    assert not gives_preferred("how long is data kept?", "Access is limited to employees.")
    assert gives_preferred("where is the trust portal?", "[This](https://trust.openai.com/)")
    assert gives_preferred("Who do we contact for a BAA?", "email us at baa@openai.com")
    assert not gives_preferred("Is data encrypted?", "email us at baa@openai.com")


def test_where_data_is_kept_asks_for_a_country_or_region():
    for question in (
        "Which data centre region stores our API data?",
        "where physically is our data stored",
        "What data residency options does the API have?",
        "do openai servers sit in canada",
    ):
        assert names(question) == ["a country or region"], question
    for question in (
        "Where do I get the SOC 2 report?",
        "Which endpoints are ZDR-eligible?",
        "where do i find how data is stored",  # where to read, not where it is kept
        "Where is the list of ZDR endpoints located?",
        "How long is data stored?",
    ):
        assert "a country or region" not in names(question), question
    assert names("where does openai store our prompts") == ["a country or region"]
    question = "Which region stores our data?"
    assert missing(question, ["API business data stored on our systems."]) == [
        "a country or region"
    ]
    assert missing(question, ["Data is stored in the EU and the US."]) == []
