"""Consents and emergency access through the API: each changes the next decision, and is audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.web.app import create_app
from support.auth import add, csrf, sign_in


@pytest.fixture
def world(store: Engine) -> dict[str, int]:
    """Three agencies, an agreement between the care team and behavioral health, one person."""
    with unit_of_work() as session:
        system = models.SourceSystem(name="jurisdiction")
        session.add(system)
        session.flush()
        ids = {}
        for key, name, kind, cj in (
            ("care", "Downtown Care Team", "care_team", False),
            ("bh", "Riverbend Behavioral Health", "behavioral_health", False),
            ("pd", "Riverbend PD", "police", True),
        ):
            agency = models.Agency(
                source_system_id=system.id, source_key=key, name=name, kind=kind,
                criminal_justice=cj, content_hash="x", data_category="identity",
            )  # fmt: skip
            session.add(agency)
            session.flush()
            ids[key] = agency.id
        session.add(
            models.SharingAgreement(
                name="Co-response MOU",
                agency_a_id=ids["care"],
                agency_b_id=ids["bh"],
                starts_on=date(2025, 1, 1),
            )
        )
        person = models.Person()
        session.add(person)
        session.flush()
        ids["person"] = person.id
    return ids


def clinician_at_care_team(world: dict[str, int]) -> TestClient:
    client = sign_in(TestClient(create_app()), "cleo", "clinician")
    with unit_of_work() as session:
        user = session.scalar(select(models.User).where(models.User.username == "cleo"))
        assert user is not None
        user.agency_id = world["care"]
    client.headers["X-CSRF-Token"] = csrf(client)
    return client


def ask(
    client: TestClient, world: dict[str, int], category: str, purpose: str = "care_coordination"
) -> dict:
    answer = client.get(
        f"/api/v1/people/{world['person']}/access",
        params={"purpose": purpose, "category": category, "owner_agency_id": world["bh"]},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_consent_opens_a_category_and_revoking_it_closes_it(world: dict[str, int]) -> None:
    client = clinician_at_care_team(world)

    assert ask(client, world, "safety")["policies"] == ["agreement-minimal-view"]
    before = ask(client, world, "behavioral_health")
    assert not before["allowed"] and "restricted" in before["reasons"][0]

    made = client.post(
        f"/api/v1/people/{world['person']}/consents",
        json={"recipient_agency_id": world["care"], "purposes": ["care_coordination"],
              "categories": ["behavioral_health"],
              "period_end": (date.today() + timedelta(days=90)).isoformat()},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    granted = ask(client, world, "behavioral_health")
    assert granted["allowed"] and granted["policies"] == ["consent"]
    assert (
        f"consent #{made.json()['id']} to Downtown Care Team for care coordination until"
        in (granted["reasons"][0])
    )
    assert not ask(client, world, "substance_use_part2")["allowed"]  # not Part 2

    assert client.post(f"/api/v1/consents/{made.json()['id']}/revoke").status_code == 204
    assert not ask(client, world, "behavioral_health")["allowed"]
    assert client.post(f"/api/v1/consents/{made.json()['id']}/revoke").status_code == 409

    with session_factory()() as session:
        actions = list(session.scalars(select(models.AuditEvent.action)))
    assert {"consent.recorded", "consent.revoked", "access.decision"} <= set(actions)


def test_part2_needs_a_complete_consent_and_carries_the_notice(world: dict[str, int]) -> None:
    client = clinician_at_care_team(world)
    body = {"recipient_agency_id": world["care"], "purposes": ["treatment"],
            "categories": ["substance_use_part2"], "part2": True,
            "period_end": (date.today() + timedelta(days=30)).isoformat()}  # fmt: skip

    missing = client.post(f"/api/v1/people/{world['person']}/consents", json=body)
    assert missing.status_code == 422 and "names the program that discloses" in missing.text
    body["disclosing_program"] = "Riverbend outpatient SUD program"
    assert client.post(f"/api/v1/people/{world['person']}/consents", json=body).status_code == 201

    decision = ask(client, world, "substance_use_part2", purpose="treatment")
    assert decision["allowed"] and decision["obligations"] == ["42 CFR 2.32 notice"]


def test_break_the_glass_is_for_clinical_staff_with_a_reason(world: dict[str, int]) -> None:
    officer = sign_in(TestClient(create_app()), "otto", "officer")
    officer.headers["X-CSRF-Token"] = csrf(officer)
    refused = officer.post(
        f"/api/v1/people/{world['person']}/emergency-access",
        json={"kind": "break_glass", "reason": "subject unresponsive at scene"},
    )
    assert refused.status_code == 403 and "clinical and EMS" in refused.text

    medic = sign_in(TestClient(create_app()), "mia", "ems")
    medic.headers["X-CSRF-Token"] = csrf(medic)
    assert (
        medic.post(
            f"/api/v1/people/{world['person']}/emergency-access",
            json={"kind": "break_glass", "reason": "short"},
        ).status_code
        == 422
    )
    opened = medic.post(
        f"/api/v1/people/{world['person']}/emergency-access",
        json={"kind": "break_glass", "reason": "unresponsive, suspected overdose, need history"},
    )
    assert opened.status_code == 201
    decision = ask(medic, world, "substance_use_part2", purpose="emergency_response")
    assert decision["allowed"] and decision["policies"] == ["break-glass"]
    assert "flagged for your auditor's review" in decision["reasons"][0]


def test_an_api_client_needs_the_scope(world: dict[str, int]) -> None:
    add("api", "clinician")
    client = TestClient(create_app())
    with unit_of_work() as session:
        from corespond.access import tokens

        user = session.scalar(select(models.User).where(models.User.username == "api"))
        assert user is not None
        secret = tokens.issue(session, user, name="t", scopes=["calls:read"], days=1, by="test")
    headers = {"Authorization": f"Bearer {secret}"}
    answer = client.get(
        f"/api/v1/people/{world['person']}/access",
        params={"purpose": "care_coordination", "category": "identity"}, headers=headers,
    )  # fmt: skip
    assert answer.status_code == 403 and "access:read" in answer.text


def test_the_accounting_lists_disclosures_to_other_agencies(world: dict[str, int]) -> None:
    clinician = clinician_at_care_team(world)
    ask(clinician, world, "safety")  # allowed under the agreement: a disclosure
    ask(clinician, world, "health")  # denied: not a disclosure

    auditor = sign_in(TestClient(create_app()), "aud", "auditor")
    listed = auditor.get(f"/api/v1/people/{world['person']}/disclosures").json()
    exported = auditor.get(
        f"/api/v1/people/{world['person']}/disclosures", params={"format": "csv"}
    )

    assert [(d["recipient_agency"], d["disclosed_by"], d["categories"]) for d in listed] == [
        ("Downtown Care Team", "Riverbend Behavioral Health", "safety")
    ]
    assert listed[0]["legal_basis"].startswith("agreement:")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "Downtown Care Team,Riverbend Behavioral Health,safety" in exported.text
    assert clinician.get(f"/api/v1/people/{world['person']}/disclosures").status_code == 403


def test_consents_are_recorded_and_revoked_on_the_page(world: dict[str, int]) -> None:
    client = clinician_at_care_team(world)
    token = client.headers["X-CSRF-Token"]
    page = client.get(f"/people/{world['person']}/consents")
    assert page.status_code == 200 and "No consents recorded" in page.text

    made = client.post(
        f"/people/{world['person']}/consents",
        data={"recipient_agency_id": world["care"], "purposes": ["care_coordination"],
              "categories": ["housing"], "csrf_token": token},
    )  # fmt: skip
    assert made.status_code == 200 and "Done: recorded" in made.text
    assert ask(client, world, "housing")["allowed"]
    consent_id = int(made.text.split("Done: recorded ")[1].split("<")[0])

    revoked = client.post(
        f"/people/{world['person']}/consents/{consent_id}/revoke", data={"csrf_token": token}
    )
    assert revoked.status_code == 200 and "Done: revoked" in revoked.text
    assert not ask(client, world, "housing")["allowed"]

    opened = client.post(
        f"/people/{world['person']}/emergency-access",
        data={"kind": "break_glass", "reason": "found unresponsive, history needed",
              "csrf_token": token},
    )  # fmt: skip
    assert opened.status_code == 201 and "auditor will review" in opened.text
