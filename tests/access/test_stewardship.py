"""Data stewardship: a steward reviews every agency's identity records, and nothing else of
other agencies; a record they may not see is restricted on the pages and in the API."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.web.app import create_app
from support.agencies import make_agency
from support.auth import add, csrf, sign_in


@pytest.fixture
def world(store: Engine) -> dict[str, int]:
    """A dispatch centre, a behavioral-health agency (a Part 2 program) and a police
    department, no agreements; one person with a record from each of BH's and PD's systems."""
    ids = {
        "dispatch": make_agency("metro-911", "dispatch"),
        "bh": make_agency("riverbend-bh", "behavioral_health", name="Riverbend Behavioral Health"),
        "pd": make_agency("riverbend-pd", "police", name="Riverbend PD"),
    }
    with unit_of_work() as session:
        person = models.Person()
        session.add(person)
        session.flush()
        ids["person"] = person.id
        for key, agency_key, name, category in (
            ("pd", "riverbend-pd", "Ardith", "identity"),
            ("bh", "riverbend-bh", "Quillonne", "identity"),
            ("bh-part2", "riverbend-bh", "Zedna", "substance_use_part2"),
        ):
            system = models.SourceSystem(name=f"{key} system", format="fhir", agency_key=agency_key)
            session.add(system)
            session.flush()
            record = models.PersonRecord(
                source_system_id=system.id, source_key=f"{key}-1", content_hash=key,
                data_category=category, first_name=name, last_name="Vantrell",
            )  # fmt: skip
            session.add(record)
            session.flush()
            session.add(
                models.PersonLink(
                    person_record_id=record.id, person_id=person.id, method="batch",
                    explanation=json.dumps({}),
                )
            )  # fmt: skip
            ids[key] = record.id
    return ids


def steward(world: dict[str, int]) -> TestClient:
    add("stella", "data_steward", agency_id=world["dispatch"])
    client = sign_in(TestClient(create_app()), "stella")
    client.headers["X-CSRF-Token"] = csrf(client)
    return client


def ask(client: TestClient, world: dict[str, int], category: str, owner: str) -> dict:
    answer = client.get(
        f"/api/v1/people/{world['person']}/access",
        params={"purpose": "data_stewardship", "category": category,
                "owner_agency_id": world[owner]},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_steward_reviewing_identity_sees_identity_but_not_behavioral_health(
    world: dict[str, int],
) -> None:
    client = steward(world)

    identity = ask(client, world, "identity", "bh")
    health = ask(client, world, "behavioral_health", "bh")
    part2 = ask(client, world, "substance_use_part2", "bh")
    own_calls = ask(client, world, "call_incident", "dispatch")
    own_part2 = ask(client, world, "substance_use_part2", "dispatch")

    assert identity["allowed"] and identity["policies"] == ["stewardship-identity-review"]
    assert "identity review" in identity["reasons"][0]
    assert not health["allowed"] and "restricted" in health["reasons"][0]
    assert not part2["allowed"]
    assert own_calls["allowed"] and own_calls["policies"] == ["stewardship-own-agency"]
    assert not own_part2["allowed"]


def test_only_data_stewards_work_for_data_stewardship(world: dict[str, int]) -> None:
    add("otto", "officer", agency_id=world["pd"])
    officer = sign_in(TestClient(create_app()), "otto")

    answer = officer.get(
        f"/api/v1/people/{world['person']}/access",
        params={"purpose": "data_stewardship", "category": "identity",
                "owner_agency_id": world["bh"]},
    )  # fmt: skip
    switched = officer.post(
        "/purpose", data={"purpose": "data_stewardship", "csrf_token": csrf(officer)}
    )

    assert answer.status_code == 200 and not answer.json()["allowed"]
    assert answer.json()["policies"] == ["purpose-data-stewardship"]
    assert switched.status_code == 403


def test_the_person_records_page_withholds_what_the_steward_may_not_see(
    world: dict[str, int],
) -> None:
    client = steward(world)

    page = client.get(f"/linkage/persons/{world['person']}")
    records = client.get(f"/api/v1/linkage/persons/{world['person']}/records").json()

    assert page.status_code == 200
    assert "Ardith" in page.text and "Quillonne" in page.text  # identity, any agency
    assert "Zedna" not in page.text and "Restricted record" in page.text  # a Part 2 record
    assert f'value="{world["bh-part2"]}"' not in page.text  # cannot be ticked
    restricted = {r["record_id"]: r for r in records}[world["bh-part2"]]
    assert restricted["restricted"] and restricted["source_key"] is None
    assert {r["record_id"] for r in records if not r["restricted"]} == {world["pd"], world["bh"]}


def test_a_steward_cannot_split_off_a_record_they_may_not_see(world: dict[str, int]) -> None:
    client = steward(world)

    refused = client.post(
        f"/linkage/persons/{world['person']}/split", data={"records": [world["bh-part2"]]}
    )

    assert refused.status_code == 403
    with session_factory()() as session:
        link = session.scalar(
            select(models.PersonLink).where(models.PersonLink.person_record_id == world["bh-part2"])
        )
        denial = session.scalars(
            select(models.AuditEvent).where(
                models.AuditEvent.action == "access.decision",
                models.AuditEvent.outcome == "deny",
                models.AuditEvent.categories == "substance_use_part2",
            )
        ).first()
    assert link is not None and link.person_id == world["person"]
    assert denial is not None and denial.purpose == "data_stewardship"
    assert denial.person_id == world["person"]


def test_for_care_coordination_the_same_steward_sees_no_other_agencys_records(
    world: dict[str, int],
) -> None:
    client = steward(world)
    client.post("/purpose", data={"purpose": "care_coordination"})

    page = client.get(f"/linkage/persons/{world['person']}")

    assert "Ardith" not in page.text and "Quillonne" not in page.text
    assert page.text.count("Restricted record") == 3
