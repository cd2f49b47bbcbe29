"""Finding a person by name (nicknames, aliases, misspellings), date of birth, phone, address
or record number; results only through records the user may see, and a count of the rest."""

from __future__ import annotations

from sqlalchemy import select

from corespond import models
from corespond.db.engine import unit_of_work
from corespond.linkage.features import Identity, features
from corespond.linkage.online import match_keys
from people.conftest import World, client_as


def index_keys(world: World) -> None:
    """The blocking keys a linkage run writes for each linked record (the online index)."""
    with unit_of_work() as session:
        for record in session.scalars(select(models.PersonRecord)):
            found = features(Identity(
                record_id=record.id, first_name=record.first_name, last_name=record.last_name,
                dob=record.dob, phone=record.phone, street=record.street, zip=record.zip,
            ))  # fmt: skip
            for key in match_keys(found):
                session.add(models.PersonMatchKey(person_record_id=record.id, key=key))


def ids(answer: dict[str, object]) -> list[int]:
    return [hit["id"] for hit in answer["items"]]  # type: ignore[attr-defined, index]


def test_names_match_nicknames_misspellings_and_aliases(world: World) -> None:
    index_keys(world)
    officer = client_as("otto", "officer", world.agencies["police"])

    for name in ("Robert Quillfeather", "Bob Quillfeather", "Robert Quilfeather",
                 "Quillfeather, Robert", "Robbie Feather"):  # fmt: skip
        answer = officer.get("/api/v1/people", params={"name": name}).json()
        assert ids(answer) == [world.person], name
    hit = officer.get("/api/v1/people", params={"name": "Bob Quillfeather"}).json()["items"][0]
    assert hit["name"] == "Robert Quillfeather" and hit["dob"] is None and hit["age"] > 40
    assert hit["agencies"] == ["Riverbend CARE Team", "Riverbend PD"]  # minimal view
    assert officer.get("/api/v1/people", params={"name": "Zed Nobody"}).json()["items"] == []


def test_date_of_birth_phone_address_and_record_number(world: World) -> None:
    index_keys(world)
    caseworker = client_as("cass", "caseworker", world.agencies["shelter"])

    by_dob = caseworker.get("/api/v1/people", params={"dob": "1979-04-12"}).json()
    by_phone = caseworker.get("/api/v1/people", params={"phone": "(503) 284-0142"}).json()
    by_street = caseworker.get("/api/v1/people", params={"address": "12 harbor"}).json()
    by_record = caseworker.get("/api/v1/people", params={"record": "hmis-1"}).json()
    by_call = caseworker.get("/api/v1/people", params={"record": "E-100"}).json()

    assert ids(by_dob) == [world.person]
    assert by_dob["items"][0]["dob"] == "1979-04-12"  # caseworkers identify clients
    assert ids(by_street) == [world.person] and ids(by_record) == [world.person]
    # The phone is on the police record: the shelter may not see it, so it is counted, not named.
    assert ids(by_phone) == [] and by_phone["hidden"] == 1
    assert ids(by_call) == [] and by_call["hidden"] == 1  # named on a call, held by dispatch


def test_people_seen_only_through_part2_records_are_neither_shown_nor_counted(
    world: World,
) -> None:
    index_keys(world)
    officer = client_as("otto", "officer", world.agencies["police"])

    answer = officer.get("/api/v1/people", params={"name": "Wren Quillfeather"}).json()

    assert answer["items"] == [] and answer["hidden"] == 0


def test_search_needs_something_and_survives_hostile_input(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])

    empty = officer.get("/api/v1/people")
    odd = officer.get("/api/v1/people", params={"name": "%_' OR 1=1; --", "address": "%%_\\"})
    page = officer.get("/people", params={"name": "Bob Quillfeather", "dob": "12/04/1979"})
    long = officer.get("/api/v1/people", params={"name": "x" * 201})

    assert empty.status_code == 400 and "say what to search by" in empty.json()["detail"]
    assert odd.status_code == 200 and odd.json()["items"] == []
    assert page.status_code == 200 and "date of birth must be a date" in page.text
    assert long.status_code == 422
    huge = officer.get("/api/v1/people/9223372036854775808")
    assert huge.status_code == 422 and officer.get("/people/9223372036854775808").status_code == 422
