"""Abbreviations a corpus defines (app/abbreviations.py): found as Schwartz and Hearst do,
folded so that either form of a term matches. No model needed."""

from __future__ import annotations

from app.abbreviations import Abbreviations, best_long_form, definitions
from app.retrieval import terms


def test_a_long_form_before_its_short_form_in_parentheses_is_a_definition():
    text = (
        "The Health Insurance Portability and Accountability Act (HIPAA) is a U.S. law. "
        "You can also request zero data retention (ZDR) for eligible endpoints."
    )
    assert definitions(text) == {
        "HIPAA": "Health Insurance Portability and Accountability Act",
        "ZDR": "zero data retention",
    }


def test_parentheses_that_abbreviate_nothing_are_not_definitions():
    text = (
        "encrypts all data at rest (AES-256) and in transit (TLS 1.2+), limited to (1) "
        "employees, `/v1/chat/completions` (except image inputs), Wayne (IT)."
    )
    assert definitions(text) == {}


def test_the_long_form_is_the_shortest_that_holds_the_letters_in_order():
    assert best_long_form("BAA", "to sign a Business Associate Agreement") == (
        "Business Associate Agreement"
    )
    # The first letter must start a word: "dpa" inside "endpoints" is no definition.
    assert best_long_form("DPA", "the endpoints apply") is None


def test_a_spelled_out_term_folds_to_its_short_form_and_the_short_form_stays():
    abbreviations = Abbreviations(["Request zero data retention (ZDR) here."], terms)
    assert abbreviations.terms("Is zero data retention on by default?") == ["zdr", "default"]
    assert abbreviations.terms("Is ZDR on by default?") == ["zdr", "default"]
    assert abbreviations.fold(["data", "retent"]) == ["data", "retent"]  # a part alone stays


def test_a_corpus_without_definitions_changes_nothing():
    abbreviations = Abbreviations(["Data is kept for 30 days."], terms)
    assert abbreviations.pairs == {}
    assert abbreviations.terms("zero data retention") == terms("zero data retention")
