"""Identity as a source system records it: the truth, corrupted the way real systems corrupt it.

Each source has its own :class:`~corespond.demo.params.CorruptionRates`. A call-taker hearing a
name over a bad line, a booking officer copying an ID, an EMT writing on a glove, an intake
worker entering what a client volunteers: each produces its own mix of typos, nicknames,
swapped day and month, missing DOB or SSN, aliases, stale addresses and pre-marriage surnames.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from corespond.demo.geography import CITY_STATE, Address
from corespond.demo.names import nickname
from corespond.demo.params import CorruptionRates
from corespond.demo.population import Person
from corespond.sources.records import AddressIn, NameIn

KEYBOARD_NEIGHBOURS = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


RACE_WORDS: dict[str, dict[str, str | None]] = {
    # NIBRS 49 words (what RMS and CAD readers yield), and HMIS FY2024 3.04 words.
    "nibrs": {"W": "white", "B": "black", "I": "american_indian", "A": "asian",
              "P": "pacific_islander", "U": "unknown"},
    "hmis": {"W": "White", "B": "Black, African American, or African",
             "A": "Asian or Asian American",
             "I": "American Indian, Alaska Native, or Indigenous",
             "P": "Native Hawaiian or Pacific Islander", "U": None},
}  # fmt: skip
ETHNICITY_WORDS: dict[str, dict[str, str | None]] = {
    "nibrs": {"H": "hispanic", "N": "not_hispanic", "U": "unknown"},
    "hmis": {"H": "Hispanic/Latina/e/o", "N": "Not Hispanic/Latina/e/o", "U": None},
}


def typo(text: str, rng: random.Random) -> str:
    """One keying error: swapped neighbours, a dropped, doubled or mistyped letter."""
    if len(text) < 3:
        return text
    at = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    if kind == 1:
        return text[:at] + text[at + 1 :]
    if kind == 2:
        return text[:at] + text[at] + text[at:]
    near = KEYBOARD_NEIGHBOURS.get(text[at].lower())
    if not near:
        return text[:at] + text[at + 1 :]
    return text[:at] + rng.choice(near) + text[at + 1 :]


def swap_day_month(dob: date) -> date:
    """``dob`` with day and month exchanged, or unchanged when that is not a valid date."""
    if dob.day > 12 or dob.day == dob.month:
        return dob
    return dob.replace(month=dob.day, day=dob.month)


def _transpose_digits(ssn: str, rng: random.Random) -> str:
    digits = ssn.replace("-", "")
    at = rng.randrange(len(digits) - 1)
    digits = digits[:at] + digits[at + 1] + digits[at] + digits[at + 2 :]
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def address_in(address: Address, city: str) -> AddressIn:
    """The canonical form of a grid address."""
    return AddressIn(
        street=address.street, unit=address.unit, city=city, state=CITY_STATE, zip=address.zip
    )


def recorded_identity(
    person: Person,
    day: int,
    rates: CorruptionRates,
    rng: random.Random,
    *,
    city: str,
    keep_middle: float = 0.5,
    with_aliases: bool = False,
    vocabulary: str = "nibrs",
) -> dict[str, Any]:
    """The identity fields of a ``PersonRecordIn`` as this source recorded ``person`` on ``day``.

    Args:
        person: the true person.
        day: date ordinal of the encounter (decides name changes and moves).
        rates: the source's corruption rates.
        rng: the source's random stream.
        city: the city name for addresses.
        keep_middle: chance that the source records the middle name at all.
        with_aliases: whether the source keeps an alias list (an RMS master name index).
        vocabulary: the words the source uses for race and ethnicity (``nibrs`` or ``hmis``).

    Returns:
        Keyword arguments for ``PersonRecordIn`` (without ``source_key``).
    """
    first = person.first
    last = person.last_on(day)
    if last != person.last and rng.random() < rates.name_change:
        last = person.last
    used_alias: tuple[str, str] | None = None
    if person.aliases and rng.random() < rates.alias_use:
        used_alias = rng.choice(person.aliases)
        first, last = used_alias
    if used_alias is None and rng.random() < rates.nickname:
        first = nickname(first, rng) or first
    if rng.random() < rates.typo:
        if rng.random() < 0.5:
            first = typo(first, rng)
        else:
            last = typo(last, rng)

    dob: date | None = person.dob
    if rng.random() < rates.dob_missing:
        dob = None
    elif rng.random() < rates.dob_swap:
        dob = swap_day_month(person.dob)

    ssn: str | None = None
    if rng.random() >= rates.ssn_missing:
        ssn = _transpose_digits(person.ssn, rng) if rng.random() < rates.typo / 2 else person.ssn

    address = person.address_on(day)
    if address is not None and rng.random() < rates.address_move:
        address = person.previous_address(day) or address

    aliases: tuple[NameIn, ...] = ()
    if with_aliases:
        names = [(person.first, person.last), *person.aliases]
        if person.new_last and person.name_changed_on is not None and day >= person.name_changed_on:
            names.append((person.first, person.new_last))
        aliases = tuple(
            NameIn(first_name=f, last_name=n)
            for f, n in dict.fromkeys(names)
            if (f, n) != (first, last)
        )

    return {
        "first_name": first,
        "middle_name": person.middle if used_alias is None and rng.random() < keep_middle else None,
        "last_name": last,
        "suffix": person.suffix if used_alias is None else None,
        "aliases": aliases,
        "dob": dob,
        "sex": person.sex,
        "race": RACE_WORDS[vocabulary][person.race],
        "ethnicity": ETHNICITY_WORDS[vocabulary][person.ethnicity],
        "phone": person.phone,
        "ssn": ssn,
        "address": address_in(address, city) if address is not None else None,
    }
