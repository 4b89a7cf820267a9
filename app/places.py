"""Place names: the countries and continents a question may ask about ("do openai servers
sit in canada", "Which data centre region stores our API data?").

Read from the IANA time zone database's tables, as the ``tzdata`` package ships them (a
dependency): ``iso3166.tab`` names every country and territory ("Canada", "Britain (UK)"),
and the zone names of ``zone1970.tab`` give the continents ("Europe/Berlin"). A few region
abbreviations complete them, in capitals only ("US" and "EU", never the pronoun "us").
Nothing here comes from the eval questions. Without the tables there are no places (and
the checks that use them check nothing).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib import resources

log = logging.getLogger(__name__)

# Regions written as abbreviations; matched in capitals only.
ABBREVIATIONS = ("US", "USA", "U.S.", "UK", "EU", "EEA", "EMEA", "APAC", "UAE")
# What a country's name says in brackets ("Britain (UK)", "Korea (South)", "Congo (Dem.
# Rep.)") is dropped; the abbreviations above cover "UK" and "US".
_BRACKETED = re.compile(r"\s*\([^)]*\)")


def _table(name: str) -> list[list[str]]:
    """The rows of one of tzdata's tab-separated tables, comments left out."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError) as exc:
        log.warning("no place names: tzdata's %s is not readable (%s)", name, exc)
        return []
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Every place name, lowercased: "canada", "new zealand", "europe", "britain"."""
    names: set[str] = set()
    for row in _table("iso3166.tab"):
        if len(row) >= 2:
            names.add(_BRACKETED.sub("", row[1]).strip().lower())
    for row in _table("zone1970.tab"):
        if len(row) >= 3 and "/" in row[2]:
            names.add(row[2].split("/")[0].lower())
    names.discard("")
    return frozenset(names)


@lru_cache(maxsize=1)
def _place_pattern() -> re.Pattern[str] | None:
    names = sorted(place_names(), key=len, reverse=True)  # "new zealand" before "zealand"
    if not names:
        return None
    spelled = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in names)
    return re.compile(rf"(?<!\w)(?:{spelled})(?!\w)", re.IGNORECASE)


_ABBREVIATION = re.compile(
    r"(?<![\w.])(?:" + "|".join(re.escape(a) for a in ABBREVIATIONS) + r")(?!\w|\.\w)"
)


def places_in(text: str) -> list[str]:
    """The places ``text`` names, as written, in order: a country or continent in any case,
    a region abbreviation in capitals."""
    pattern = _place_pattern()
    found = [(m.start(), m.group()) for m in pattern.finditer(text)] if pattern else []
    found += [(m.start(), m.group()) for m in _ABBREVIATION.finditer(text)]
    return [name for _, name in sorted(found)]


def names_place(text: str) -> bool:
    """Whether ``text`` names a place."""
    return bool(places_in(text))
