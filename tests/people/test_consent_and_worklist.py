"""A consent makes a partner's facts visible on the person page at once, and revoking it hides
them again; the worklist shows a care team what changed and what is due."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from corespond import models
from corespond.config import get_settings
from corespond.db.engine import unit_of_work
from people.conftest import World, client_as


def _token(client: TestClient, page: str = "/people") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert match
    return match.group(1)


def kinds(client: TestClient, person: int) -> set[str]:
    timeline = client.get(f"/api/v1/people/{person}/timeline").json()
    return {item["kind"] for item in timeline["items"]}


def test_a_consent_shows_the_shelter_stays_to_the_care_team_and_revoking_hides_them(
    world: World,
) -> None:
    clinician = client_as("clara", "clinician", world.agencies["care"])
    caseworker = client_as("cass", "caseworker", world.agencies["shelter"])
    assert "shelter_stay" not in kinds(clinician, world.person)

    recorded = caseworker.post(
        f"/people/{world.person}/consents",
        data={"csrf_token": _token(caseworker), "recipient_agency_id": world.agencies["care"],
              "purposes": "care_coordination", "categories": "housing"},
        follow_redirects=False,
    )  # fmt: skip

    assert recorded.status_code == 303
    assert {"shelter_stay", "outreach"} <= kinds(clinician, world.person)
    page = clinician.get(f"/people/{world.person}")
    assert "Harbor Shelter" in page.text and "unsheltered" not in page.text  # housing: in shelter
    assert "in shelter since 2025-02-20 (Harbor Night Shelter)" in page.text
    consent_id = int(re.search(r"recorded\+(\d+)", recorded.headers["location"]).group(1))  # type: ignore[union-attr]

    revoked = caseworker.post(
        f"/people/{world.person}/consents/{consent_id}/revoke",
        data={"csrf_token": _token(caseworker)}, follow_redirects=False,
    )  # fmt: skip

    assert revoked.status_code == 303
    assert "shelter_stay" not in kinds(clinician, world.person)
    assert "in shelter since" not in clinician.get(f"/people/{world.person}").text


@pytest.fixture
def as_of_spring_2025(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The world's data is from early 2025: count "recent" from the end of March 2025."""
    monkeypatch.setenv("CORESPOND_AS_OF", "2025-03-31")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CORESPOND_AS_OF")
    get_settings.cache_clear()


def test_the_worklist_shows_new_contacts_since_the_last_visit(
    world: World, as_of_spring_2025: None
) -> None:
    clinician = client_as("clara", "clinician", world.agencies["care"])
    # The care team last saw Bob on 2 March (its note); the police arrested him later.
    with unit_of_work() as session:
        system = session.scalar(select(models.SourceSystem).filter_by(name="Riverbend RMS"))
        assert system is not None
        session.add(models.Arrest(
            source_system_id=system.id, source_key="A-2", content_hash="h",
            data_category="criminal_justice", person_record_id=world.records["rms-1"],
            arrested_at=datetime(2025, 3, 9, 22), arrest_type="on_view",
        ))  # fmt: skip
        cad = session.scalar(select(models.SourceSystem).filter_by(name="Metro CAD"))
        assert cad is not None
        call = models.CallForService(
            source_system_id=cad.id, source_key="E-200", content_hash="h",
            data_category="call_incident", priority=1, received_at=datetime(2025, 3, 9, 21, 40),
            final_call_type="DISTURBANCE",
        )  # fmt: skip
        session.add(call)
        session.flush()
        session.add(models.CallPerson(
            source_system_id=cad.id, source_key="E-200/p1", content_hash="h",
            data_category="call_incident", call_key="E-200", call_id=call.id,
            person_record_id=world.records["cad-1"], role="subject",
        ))  # fmt: skip

    work = clinician.get("/api/v1/worklist").json()

    assert work["agency"] == "Riverbend CARE Team"
    entry = next(e for e in work["new_contacts"] if e["person_id"] == world.person)
    assert entry["last_visit"] == "2025-03-02"
    assert entry["kinds"] == ["call"] and entry["new"] == 1
    assert entry["restricted"] == 1  # the arrest: counted, not described
    page = clinician.get("/worklist")
    assert page.status_code == 200 and "Robert Quillfeather" in page.text


def test_the_worklist_lists_plans_due_for_review_drafts_and_expiring_consents(
    world: World,
) -> None:
    writer = client_as("clara", "clinician", world.agencies["care"])
    caseworker = client_as("cass", "caseworker", world.agencies["shelter"])
    headers = {"X-CSRF-Token": _token(writer)}
    soon = (date.today() + timedelta(days=7)).isoformat()
    plan = writer.post(f"/api/v1/people/{world.person}/plans", headers=headers,
                       json={"what_helps": "Coffee", "review_on": soon}).json()  # fmt: skip
    caseworker.post(
        f"/people/{world.person}/consents",
        data={"csrf_token": _token(caseworker), "recipient_agency_id": world.agencies["care"],
              "purposes": "care_coordination", "categories": "housing",
              "period_end": (date.today() + timedelta(days=10)).isoformat()},
    )  # fmt: skip

    draft_work = writer.get("/api/v1/worklist").json()
    approver = client_as("cody", "clinician", world.agencies["care"])
    approver.post(f"/api/v1/plans/{plan['id']}/approve",
                  headers={"X-CSRF-Token": _token(approver)})  # fmt: skip
    review_work = writer.get("/api/v1/worklist").json()
    shelter_work = caseworker.get("/api/v1/worklist").json()

    assert [(d["kind"], d["id"]) for d in draft_work["drafts"]] == [("plan", plan["id"])]
    assert [(d["kind"], d["due_on"]) for d in review_work["due_for_review"]] == [("plan", soon)]
    assert [c["person_id"] for c in shelter_work["expiring_consents"]] == [world.person]
