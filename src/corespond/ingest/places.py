"""Address normalisation: the key that makes one place of many spellings of an address."""

from __future__ import annotations

import re

from corespond.sources.records import PlaceIn

# USPS Publication 28 suffix and direction abbreviations, the ones common in CAD addresses.
ABBREVIATIONS = {
    "STREET": "ST",
    "AVENUE": "AVE",
    "AV": "AVE",
    "BOULEVARD": "BLVD",
    "DRIVE": "DR",
    "ROAD": "RD",
    "LANE": "LN",
    "COURT": "CT",
    "PLACE": "PL",
    "PARKWAY": "PKWY",
    "HIGHWAY": "HWY",
    "TERRACE": "TER",
    "CIRCLE": "CIR",
    "SQUARE": "SQ",
    "TRAIL": "TRL",
    "WAY": "WAY",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "NORTHEAST": "NE",
    "NORTHWEST": "NW",
    "SOUTHEAST": "SE",
    "SOUTHWEST": "SW",
    "APARTMENT": "APT",
    "SUITE": "STE",
}
_PUNCTUATION = re.compile(r"[^\w\s/#-]")
_SPACES = re.compile(r"\s+")


def normalise_street(street: str) -> str:
    """Upper case, punctuation dropped, USPS abbreviations.

    ``12 North Elm Street.`` becomes ``12 N ELM ST``.
    """
    words = _SPACES.sub(" ", _PUNCTUATION.sub(" ", street.upper())).strip().split(" ")
    return " ".join(ABBREVIATIONS.get(word, word) for word in words if word)


def place_key(place: PlaceIn) -> str | None:
    """The key that identifies ``place``, or None when it says nothing about where."""
    if place.street:
        street = normalise_street(place.street)
        if place.unit:
            street += " #" + normalise_street(place.unit)
        city = normalise_street(place.city) if place.city else ""
        zip5 = (place.zip or "")[:5]
        # CAD block addresses carry no city or ZIP, and "1XX BLOCK OF PINE ST" can lie in two
        # beats: the beat keeps them apart, so each call keeps the beat it was dispatched in.
        beat = (place.beat or "").upper()
        return f"ADDR|{street}|{city}|{zip5}|{beat}"
    if place.latitude is not None and place.longitude is not None:
        return f"GEO|{place.latitude:.5f}|{place.longitude:.5f}"
    if place.beat:
        return f"BEAT|{place.beat.upper()}"
    return None
