"""Identity corruption honours its rates and corrupts the way real systems do."""

from __future__ import annotations

import random
from datetime import date

import pytest

from corespond.demo.corruption import recorded_identity, swap_day_month, typo
from corespond.demo.geography import build_beats, random_address
from corespond.demo.params import CorruptionRates
from corespond.demo.population import Person

DAY = date(2024, 6, 1).toordinal()
DRAWS = 4000


def make_person(**changes: object) -> Person:
    beat = build_beats()[0]
    person = Person(
        pid=1, sex="male", first="William", middle="James", last="Quillby", suffix=None,
        dob=date(1980, 3, 7), ssn="123-45-6789", race="W", ethnicity="N", phone="5035550100",
        height_cm=180, weight_kg=80, hair="BRO", eyes="BLU", marks=None, mental=0, substance="",
        chronic=False, housing="housed", initial_housing="housed", attention=1.0,
        initial_attention=1.0,
    )  # fmt: skip
    person.addresses.append((DAY - 1000, random_address(beat, random.Random(1))))
    for name, value in changes.items():
        setattr(person, name, value)
    return person


def share(predicate: object, rates: CorruptionRates, person: Person) -> float:
    rng = random.Random(42)
    hits = sum(
        1
        for _ in range(DRAWS)
        if predicate(recorded_identity(person, DAY, rates, rng, city="Riverbend"))  # type: ignore[operator]
    )
    return hits / DRAWS


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5])
def test_missing_dob_and_ssn_follow_their_rates(rate: float) -> None:
    rates = CorruptionRates(dob_missing=rate, ssn_missing=rate, typo=0, nickname=0, dob_swap=0)
    person = make_person()

    assert share(lambda i: i["dob"] is None, rates, person) == pytest.approx(rate, abs=0.03)
    assert share(lambda i: i["ssn"] is None, rates, person) == pytest.approx(rate, abs=0.03)


def test_nicknames_replace_given_names_at_their_rate() -> None:
    rates = CorruptionRates(nickname=0.3, typo=0, alias_use=0)
    names = share(
        lambda i: i["first_name"] in ("Bill", "Will", "Billy", "Liam"), rates, make_person()
    )

    assert names == pytest.approx(0.3, abs=0.03)


def test_typos_change_one_name_at_their_rate() -> None:
    rates = CorruptionRates(typo=0.2, nickname=0, alias_use=0)
    changed = share(
        lambda i: (i["first_name"], i["last_name"]) != ("William", "Quillby"), rates, make_person()
    )

    assert changed == pytest.approx(0.2, abs=0.03)


def test_day_and_month_swap_only_when_the_date_stays_valid() -> None:
    assert swap_day_month(date(1980, 3, 7)) == date(1980, 7, 3)
    assert swap_day_month(date(1980, 3, 25)) == date(1980, 3, 25)
    rates = CorruptionRates(dob_swap=0.25, dob_missing=0)

    assert share(lambda i: i["dob"] == date(1980, 7, 3), rates, make_person()) == pytest.approx(
        0.25, abs=0.03
    )


def test_aliases_are_used_and_listed() -> None:
    person = make_person(aliases=(("Billy", "Marsh"),))
    rates = CorruptionRates(alias_use=0.4, nickname=0, typo=0)
    rng = random.Random(3)
    records = [
        recorded_identity(person, DAY, rates, rng, city="Riverbend", with_aliases=True)
        for _ in range(DRAWS)
    ]
    as_alias = [r for r in records if r["last_name"] == "Marsh"]

    assert len(as_alias) / DRAWS == pytest.approx(0.4, abs=0.03)
    assert all(any(a.last_name == "Quillby" for a in r["aliases"]) for r in as_alias)
    assert all(
        any(a.last_name == "Marsh" for a in r["aliases"]) for r in records if r not in as_alias
    )


def test_sources_lag_behind_moves_and_name_changes() -> None:
    beat = build_beats()[5]
    person = make_person(name_changed_on=DAY - 10, new_last="Ashby")
    person.addresses.append((DAY - 20, random_address(beat, random.Random(2))))
    rates = CorruptionRates(name_change=0.3, address_move=0.6, typo=0, alias_use=0)
    old_street = person.addresses[0][1].street  # type: ignore[union-attr]

    assert share(lambda i: i["last_name"] == "Quillby", rates, person) == pytest.approx(
        0.3, abs=0.03
    )
    assert share(lambda i: i["address"].street == old_street, rates, person) == pytest.approx(
        0.6, abs=0.03
    )


def test_typo_is_one_edit() -> None:
    rng = random.Random(8)
    for _ in range(200):
        changed = typo("Hernandez", rng)
        assert abs(len(changed) - len("Hernandez")) <= 1
        assert changed[0] == "H"
