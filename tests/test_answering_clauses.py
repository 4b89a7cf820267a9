"""Clauses of a chat-model answer (app/answering/clauses.py): where a sentence splits, which
markers each clause cites, negation near shared terms. Pure text; no model."""

from __future__ import annotations

from app.answering.clauses import has_own_verb, negated_near, split_sentence
from app.retrieval import terms


def clauses_of(answer: str) -> list[tuple[str, list[int]]]:
    return [(c.body, c.cited) for c in split_sentence(answer, 0, len(answer))]


def test_a_mid_sentence_marker_ends_a_clause_and_what_follows_cites_nothing():
    assert clauses_of("Data is kept 30 days [1], and then it is copied abroad.") == [
        ("Data is kept 30 days", [1]),
        ("then it is copied abroad.", []),
    ]


def test_a_clause_cites_the_nearest_marker_group_after_it():
    assert clauses_of("Data is kept 30 days, and it is encrypted [1][2]; keys rotate [3].") == [
        ("Data is kept 30 days", [1, 2]),
        ("it is encrypted", [1, 2]),
        ("keys rotate.", [3]),
    ]


def test_a_list_joined_by_and_stays_one_clause():
    assert clauses_of("It covers chat, embeddings, and completions [1].") == [
        ("It covers chat, embeddings, and completions.", [1])
    ]
    assert has_own_verb("OpenAI deletes logs") and has_own_verb("it sells them")
    assert not has_own_verb("completions") and not has_own_verb("the API")


def test_a_colon_splits_and_a_lead_in_without_a_marker_after_it_is_marked():
    clauses = split_sentence("OpenAI sells data:", 0, len("OpenAI sells data:"))
    assert clauses[0].lead_in and clauses[0].cited == []
    assert clauses_of("Two facts: data is kept 30 days [1].") == [
        ("Two facts:", [1]),
        ("data is kept 30 days.", [1]),
    ]


def test_negation_counts_only_near_shared_terms_and_not_an_answering_no():
    shared = {"train", "model"}
    assert negated_near("We do not train our models.", shared, terms)
    assert negated_near("It doesn't train models.", shared, terms)
    assert not negated_near("We train our models, not always on weekends.", {"model"}, terms)
    assert not negated_near("No, only eligible endpoints are covered.", {"endpoint"}, terms)
