"""Place names from the time zone tables (app/places.py). No model needed."""

from __future__ import annotations

from app.places import names_place, place_names, places_in


def test_countries_and_continents_come_from_the_time_zone_tables():
    names = place_names()
    assert {"canada", "germany", "new zealand", "britain", "korea", "europe", "asia"} <= names
    assert len(names) > 200
    assert not any("(" in name for name in names)  # "Britain (UK)" is "britain"


def test_places_are_found_in_any_case_and_abbreviations_in_capitals():
    assert places_in("do openai servers sit in canada") == ["canada"]
    assert places_in("New Zealand or south korea?") == ["New Zealand", "korea"]
    assert places_in("Can we keep our data in the EU? Or the US-based region?") == ["EU", "US"]
    assert places_in("HIPAA is a U.S. federal law") == ["U.S."]
    assert places_in("tell us about it") == []  # the pronoun is no place
    assert places_in("eurozone, americans, non-european") == []  # whole words only


def test_a_text_names_a_place_or_not():
    assert names_place("Servers in Frankfurt, Germany.")
    assert not names_place("API business data stored on our systems.")
