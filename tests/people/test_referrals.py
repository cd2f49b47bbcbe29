"""Referrals, closed loop: sent, answered by the receiving agency, enrolled, completed; overdue
ones flagged on the person and the worklists; sending recorded as a disclosure."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from corespond import models
from corespond.audit.disclosures import accounting
from corespond.db.engine import session_factory, unit_of_work
from people.conftest import World, client_as


def _csrf(client: TestClient) -> dict[str, str]:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/people").text)
    assert match
    return {"X-CSRF-Token": match.group(1)}


def refer(client: TestClient, world: World, **fields: object) -> dict[str, object]:
    answer = client.post(
        f"/api/v1/people/{world.person}/referrals",
        headers=_csrf(client),
        json={
            "referral_type": "housing",
            "to_agency_id": world.agencies["shelter"],
            "reason": "Sleeping in his car since March.",
            **fields,
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def step(client: TestClient, referral: int, name: str, **body: object) -> dict[str, object]:
    answer = client.post(f"/api/v1/referrals/{referral}/{name}", json=body, headers=_csrf(client))
    return {"status_code": answer.status_code, **answer.json()}


def test_the_loop_closes_and_both_agencies_see_where_it_stands(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])
    caseworker = client_as("cass", "caseworker", world.agencies["shelter"])

    sent = refer(officer, world)
    incoming = caseworker.get("/api/v1/worklist").json()["incoming_referrals"]
    accepted = step(caseworker, sent["id"], "accept")
    enrolled = step(caseworker, sent["id"], "enrol")
    completed = step(caseworker, sent["id"], "complete")

    assert sent["status"] == "sent"
    assert sent["due_on"] == (date.today() + timedelta(days=3)).isoformat()
    assert [r["id"] for r in incoming] == [sent["id"]]
    assert accepted["status"] == "accepted"
    assert accepted["due_on"] == (date.today() + timedelta(days=30)).isoformat()
    assert enrolled["status"] == "enrolled" and enrolled["due_on"] is None
    assert (
        completed["status"] == "completed" and completed["completed_on"] == date.today().isoformat()
    )
    as_sender = officer.get(f"/api/v1/people/{world.person}").json()["referrals"]
    as_receiver = caseworker.get(f"/api/v1/people/{world.person}").json()["referrals"]
    assert [r["status"] for r in as_sender] == [r["status"] for r in as_receiver] == ["completed"]
    with session_factory()() as session:
        steps = list(
            session.scalars(
                select(models.AuditEvent.action)
                .where(models.AuditEvent.action.like("referral.%"))
                .order_by(models.AuditEvent.seq)
            )
        )
        disclosed = accounting(session, world.person)
    assert steps == [
        "referral.sent",
        "referral.accepted",
        "referral.enrolled",
        "referral.completed",
    ]
    assert steps  # sending is a disclosure to the shelter, in the person's accounting:
    with session_factory()() as session:
        sent_event = session.scalar(
            select(models.AuditEvent).where(models.AuditEvent.action == "referral.sent")
        )
        assert sent_event is not None
        assert sent_event.recipient_agency_id == world.agencies["shelter"]
    assert disclosed is not None


def test_only_the_receiving_agency_answers_and_a_decline_needs_a_reason(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])
    clinician = client_as("clara", "clinician", world.agencies["care"])
    caseworker = client_as("cass", "caseworker", world.agencies["shelter"])
    sent = refer(officer, world)

    assert step(clinician, sent["id"], "accept")["status_code"] == 409
    assert step(officer, sent["id"], "accept")["status_code"] == 409
    assert step(caseworker, sent["id"], "complete")["status_code"] == 409  # not enrolled yet
    assert step(caseworker, sent["id"], "decline")["status_code"] == 409
    declined = step(caseworker, sent["id"], "decline", note="No beds for men this month.")
    assert declined["status"] == "declined"
    assert declined["decline_reason"] == "No beds for men this month."
    assert step(officer, sent["id"], "withdraw")["status_code"] == 409
    assert officer.post("/api/v1/referrals/1/teleport", headers=_csrf(officer)).status_code == 422


def test_bad_referrals_are_refused(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])
    url = f"/api/v1/people/{world.person}/referrals"

    own = officer.post(
        url,
        headers=_csrf(officer),
        json={"referral_type": "housing", "to_agency_id": world.agencies["police"]},
    )
    nowhere = officer.post(
        url, headers=_csrf(officer), json={"referral_type": "housing", "to_agency_id": 9999}
    )
    kind = officer.post(
        url,
        headers=_csrf(officer),
        json={"referral_type": "spa", "to_agency_id": world.agencies["shelter"]},
    )
    nobody = officer.post(
        "/api/v1/people/999999/referrals",
        headers=_csrf(officer),
        json={"referral_type": "housing", "to_agency_id": world.agencies["shelter"]},
    )

    assert own.status_code == 400 and "another agency" in own.json()["detail"]
    assert nowhere.status_code == 400 and kind.status_code == 422
    assert nobody.status_code == 404


def test_an_overdue_referral_is_flagged_on_the_person_and_the_worklists(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])
    caseworker = client_as("cass", "caseworker", world.agencies["shelter"])
    sent = refer(officer, world)
    with unit_of_work() as session:
        row = session.get(models.Referral, sent["id"])
        assert row is not None
        row.due_on = date.today() - timedelta(days=1)

    person = officer.get(f"/api/v1/people/{world.person}").json()
    theirs = caseworker.get("/api/v1/worklist").json()
    ours = officer.get("/api/v1/worklist").json()
    page = officer.get(f"/people/{world.person}")
    worklist_page = caseworker.get("/worklist")

    assert person["situation"]["overdue_referrals"] == 1
    assert person["referrals"][0]["overdue"] is True
    assert theirs["incoming_referrals"][0]["overdue"] is True
    assert [r["id"] for r in ours["overdue_outgoing_referrals"]] == [sent["id"]]
    assert "overdue" in page.text and "overdue" in worklist_page.text
    accept = caseworker.post(
        f"/referrals/{sent['id']}/accept",
        data={"csrf_token": _csrf(caseworker)["X-CSRF-Token"], "back": "//evil.example/x"},
        follow_redirects=False,
    )
    assert accept.status_code == 303 and accept.headers["location"].startswith("/worklist?")
