"""Placeholders never count as evidence, and a record with too little to match on says why."""

from __future__ import annotations

from datetime import date

import pytest

from corespond.linkage.features import Identity, features, nickname_forms, normal_phone


@pytest.mark.parametrize(
    ("first", "last"),
    [("John", "Doe"), ("Jane", "DOE"), ("UNKNOWN", "UNKNOWN"), ("", ""), ("Refused", "Unk")],
)
def test_placeholder_names_are_missing(first: str, last: str) -> None:
    found = features(Identity(1, first_name=first, last_name=last, dob=date(1980, 5, 6)))

    assert found.first_name is None and found.last_name is None
    assert found.unlinkable and "last name" in found.unlinkable


@pytest.mark.parametrize("dob", [date(1900, 1, 1), date(1975, 1, 1), date(1850, 6, 2)])
def test_placeholder_dates_of_birth_are_missing(dob: date) -> None:
    found = features(Identity(1, first_name="Ana", last_name="Reyes", dob=dob))

    assert found.dob is None
    assert found.unlinkable is None  # a first and last name are still enough to compare


def test_a_record_with_only_a_placeholder_dob_is_unlinkable_and_says_why() -> None:
    found = features(Identity(1, last_name="Reyes", dob=date(1900, 1, 1)))

    assert found.unlinkable == (
        "no valid SSN; no first name, date of birth or phone; "
        "date of birth 1900-01-01 is a placeholder"
    )


def test_a_valid_ssn_alone_is_enough_to_link() -> None:
    assert features(Identity(1, ssn_index="abc123")).unlinkable is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(503) 555-1234", "5035551234"),
        ("1-503-555-1234", "5035551234"),
        ("0000000000", None),
        ("1234567890", None),
        ("503-555-0123", None),  # the 555-01xx range is reserved for fiction
        ("555-1234", None),
    ],
)
def test_phones(raw: str, expected: str | None) -> None:
    assert normal_phone(raw) == expected


def test_nicknames_and_aliases_become_name_lists() -> None:
    found = features(
        Identity(1, first_name="Bob", last_name="Smith-Jones", aliases=(("Robert", "Jones"),))
    )

    assert found.first_name == "BOB"
    assert found.last_name == "SMITHJONES"
    assert "ROBERT" in found.first_names and "BOB" in found.first_names
    assert found.last_names == ["SMITHJONES", "JONES"]
    assert "ROBERT" in nickname_forms("BOBBY")


def test_homeless_placeholders_are_not_an_address() -> None:
    found = features(Identity(1, first_name="A", last_name="Bee", street="Transient", zip="00000"))

    assert found.street is None and found.zip is None
