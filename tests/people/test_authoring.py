"""Cautions and response plans: written by one user, approved by another of the same agency,
then shown to partners; versions kept; returned drafts carry the reason; each step audited."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from corespond import models
from corespond.db.engine import session_factory
from people.conftest import World, client_as


def caution(client: TestClient, person: int, **fields: object) -> dict[str, object]:
    answer = client.post(
        f"/api/v1/people/{person}/cautions",
        json={
            "caution_type": "weapons",
            "severity": "high",
            "description": "Keeps a knife.",
            **fields,
        },
        headers=_csrf(client),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _csrf(client: TestClient) -> dict[str, str]:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/people").text)
    assert match
    return {"X-CSRF-Token": match.group(1)}


def test_a_caution_shows_to_partners_only_after_another_user_approves_it(world: World) -> None:
    writer = client_as("clara", "clinician", world.agencies["care"])
    approver = client_as("cody", "clinician", world.agencies["care"])
    officer = client_as("otto", "officer", world.agencies["police"])

    draft = caution(writer, world.person)

    assert draft["status"] == "draft"
    assert officer.get(f"/api/v1/people/{world.person}").json()["cautions"] == []
    assert [d["id"] for d in approver.get(f"/api/v1/people/{world.person}").json()["drafts"]] == [
        draft["id"]
    ]
    own = writer.post(f"/api/v1/cautions/{draft['id']}/approve", headers=_csrf(writer))
    assert own.status_code == 409 and "another user" in own.json()["detail"]
    assert (
        approver.post(
            f"/api/v1/cautions/{draft['id']}/approve", headers=_csrf(approver)
        ).status_code
        == 204
    )

    seen = officer.get(f"/api/v1/people/{world.person}").json()["cautions"]
    assert [
        (c["caution_type"], c["severity"], c["agency"], c["author"], c["approver"]) for c in seen
    ] == [("weapons", "high", "Riverbend CARE Team", "Clara", "Cody")]
    with session_factory()() as session:
        actions = list(
            session.scalars(
                select(models.AuditEvent.action).where(models.AuditEvent.person_id == world.person)
            )
        )
    assert "caution.drafted" in actions and "caution.approved" in actions


def test_another_agency_cannot_approve_and_cautions_sort_by_severity(world: World) -> None:
    writer = client_as("clara", "clinician", world.agencies["care"])
    approver = client_as("cody", "clinician", world.agencies["care"])
    officer = client_as("otto", "officer", world.agencies["police"])
    low = caution(writer, world.person, caution_type="dog", severity="low")
    highest = caution(writer, world.person, caution_type="suicide risk", severity="highest")

    stranger = officer.post(f"/api/v1/cautions/{low['id']}/approve", headers=_csrf(officer))
    for made in (low, highest):
        approver.post(f"/api/v1/cautions/{made['id']}/approve", headers=_csrf(approver))

    assert stranger.status_code == 409
    seen = officer.get(f"/api/v1/people/{world.person}").json()["cautions"]
    assert [c["caution_type"] for c in seen] == ["suicide risk", "dog"]


def test_a_revision_supersedes_the_approved_version_once_approved(world: World) -> None:
    writer = client_as("clara", "clinician", world.agencies["care"])
    approver = client_as("cody", "clinician", world.agencies["care"])
    officer = client_as("otto", "officer", world.agencies["police"])
    first = caution(writer, world.person)
    approver.post(f"/api/v1/cautions/{first['id']}/approve", headers=_csrf(approver))

    second = caution(writer, world.person, description="No longer armed.", supersedes=first["id"])
    before = officer.get(f"/api/v1/people/{world.person}").json()["cautions"]
    approver.post(f"/api/v1/cautions/{second['id']}/approve", headers=_csrf(approver))
    after = officer.get(f"/api/v1/people/{world.person}").json()["cautions"]

    assert second["version"] == 2
    assert [c["description"] for c in before] == ["Keeps a knife."]
    assert [(c["description"], c["version"]) for c in after] == [("No longer armed.", 2)]
    with session_factory()() as session:
        kept = session.get(models.Caution, first["id"])
        assert kept is not None and kept.status == "superseded"


def test_a_returned_draft_keeps_the_reason_and_bad_input_is_refused(world: World) -> None:
    writer = client_as("clara", "clinician", world.agencies["care"])
    approver = client_as("cody", "clinician", world.agencies["care"])
    draft = caution(writer, world.person)

    no_reason = approver.post(
        f"/api/v1/cautions/{draft['id']}/return", json={"note": " "}, headers=_csrf(approver)
    )
    returned = approver.post(
        f"/api/v1/cautions/{draft['id']}/return",
        json={"note": "Say which knife, and since when."},
        headers=_csrf(approver),
    )
    drafts = writer.get(f"/api/v1/people/{world.person}").json()["drafts"]

    assert no_reason.status_code == 409
    assert returned.status_code == 204
    assert drafts[0]["status"] == "returned"
    assert drafts[0]["review_note"] == "Say which knife, and since when."
    bad = writer.post(
        f"/api/v1/people/{world.person}/cautions",
        headers=_csrf(writer),
        json={"caution_type": "x", "severity": "extreme"},
    )
    past = writer.post(
        f"/api/v1/people/{world.person}/cautions",
        headers=_csrf(writer),
        json={"caution_type": "x", "severity": "low", "expires_on": "2001-01-01"},
    )
    long = writer.post(
        f"/api/v1/people/{world.person}/cautions",
        headers=_csrf(writer),
        json={"caution_type": "x" * 101, "severity": "low"},
    )
    assert bad.status_code == long.status_code == 422  # not what the API documents
    assert past.status_code == 400  # well formed, refused
    assert "expiry" in past.json()["detail"]


def test_a_plan_is_written_approved_and_shown_through_the_form(world: World) -> None:
    writer = client_as("clara", "clinician", world.agencies["care"])
    approver = client_as("cody", "clinician", world.agencies["care"])
    officer = client_as("otto", "officer", world.agencies["police"])
    token = _csrf(writer)["X-CSRF-Token"]

    made = writer.post(
        f"/people/{world.person}/plans",
        data={
            "csrf_token": token,
            "triggers": "Raised voices",
            "what_helps": "Talk about his dog",
            "de_escalation": "Sit down, speak slowly",
            "who_to_call": "CARE Team 503-555-0100",
        },
        follow_redirects=False,
    )
    plan_id = int(re.search(r"plan (\d+)", made.headers["location"].replace("%20", " ")).group(1))  # type: ignore[union-attr]
    page = approver.get(f"/people/{world.person}")
    approve = approver.post(
        f"/people/{world.person}/plans/{plan_id}/approve",
        data={"csrf_token": _csrf(approver)["X-CSRF-Token"]},
        follow_redirects=False,
    )

    assert made.status_code == 303
    assert "Drafts in your agency awaiting approval" in page.text
    assert approve.status_code == 303
    plans = officer.get(f"/api/v1/people/{world.person}").json()["plans"]
    assert [(p["what_helps"], p["approver"]) for p in plans] == [("Talk about his dog", "Cody")]
    assert "Talk about his dog" in officer.get(f"/people/{world.person}").text
    expired_or_empty = writer.post(
        f"/api/v1/people/{world.person}/plans", json={}, headers=_csrf(writer)
    )
    assert expired_or_empty.status_code == 400


def test_a_dispatcher_cannot_write_cautions(world: World) -> None:
    dispatcher = client_as("dora", "dispatcher", world.agencies["dispatch"])

    answer = dispatcher.post(
        f"/api/v1/people/{world.person}/cautions",
        headers=_csrf(dispatcher),
        json={"caution_type": "dog", "severity": "low"},
    )

    assert answer.status_code == 400 and "clinicians" in answer.json()["detail"]
