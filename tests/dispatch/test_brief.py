"""The brief and the recommendation: people matched, what responders may know of them, the
response the protocol recommends from it, and the dispatcher's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from corespond import models
from corespond.db.engine import unit_of_work
from support.auth import csrf
from support.incidents import simple


def naming(dispatch: Any, incident: str, **fields: Any) -> dict[str, Any]:
    """A welfare check naming the known person (as a call-taker types them in)."""
    known = dispatch.known
    person = {"id": "p1", "role": "subject", "first_name": known.first_name,
              "last_name": known.last_name, "dob": known.dob.isoformat()}  # fmt: skip
    return simple(incident, people=[person], **fields)


def add_caution(dispatch: Any, severity: str, rank: int, caution_type: str) -> None:
    """An approved caution on one of the known person's records, held by the police."""
    with unit_of_work() as session:
        record = session.get(models.PersonRecord, dispatch.known.record_id)
        assert record is not None
        session.add(
            models.Caution(
                source_system_id=record.source_system_id, source_key=f"caution-{severity}",
                content_hash="x", data_category="safety", person_record_id=record.id,
                caution_type=caution_type, severity=severity, severity_rank=rank,
                description="Synthetic test caution.", status="approved",
                valid_from=datetime(2026, 1, 1),
            )
        )  # fmt: skip


def test_a_known_person_is_matched_and_briefed(dispatch: Any) -> None:
    add_caution(dispatch, "normal", 2, "mental health")
    answer = dispatch.send(naming(dispatch, "INC-1"))
    assert answer.status_code == 201, answer.text
    incident = answer.json()["incident"]
    brief = dispatch.cad.get(f"/api/v1/dispatch/incidents/{incident['id']}/brief")
    assert brief.status_code == 200, brief.text
    people = brief.json()["people"]
    assert len(people) == 1
    person = people[0]
    assert person["match"] == "linked", person
    assert person["person_id"] == dispatch.known.person_id
    assert person["person_url"] == f"/people/{dispatch.known.person_id}"
    assert [c["caution_type"] for c in person["cautions"]] == ["mental health"]
    assert brief.json()["purpose"] == "emergency_response"


def test_a_high_caution_escalates_a_care_team_call(dispatch: Any) -> None:
    plain = dispatch.send(simple("INC-2")).json()["incident"]["recommendation"]
    assert plain["configuration"] == "care_team", plain

    add_caution(dispatch, "high", 1, "violence")
    escalated = dispatch.send(naming(dispatch, "INC-3")).json()["incident"]["recommendation"]
    assert escalated["configuration"] != "care_team", escalated
    assert "co_responder" in escalated["responders"] or "police" in escalated["responders"]
    assert "caution" in escalated["rationale"].lower()
    assert escalated["steps"], "the path the protocol took is kept"


def test_a_weapon_in_the_notes_sends_police(bare: Any) -> None:
    found = bare.send(
        simple("INC-4", notes=["Caller says he has a knife and is waving it at people."])
    ).json()["incident"]["recommendation"]
    assert "police" in found["responders"], found
    assert "knife" in found["rationale"].lower() or "weapon" in found["rationale"].lower()


def test_who_sees_the_brief_is_decided_by_access(dispatch: Any) -> None:
    add_caution(dispatch, "high", 1, "violence")
    created = dispatch.send(naming(dispatch, "INC-5")).json()["incident"]
    clinician = dispatch.client("clinician-cho", "clinician")
    # The care team is dispatched by the center: it sees the incident and the brief.
    assert clinician.get(f"/api/v1/dispatch/incidents/{created['id']}").status_code == 200
    brief = clinician.get(f"/api/v1/dispatch/incidents/{created['id']}/brief")
    assert brief.status_code == 200
    # A caseworker at the shelter is no responder: the board and the API are not theirs.
    caseworker = dispatch.client("caseworker-cruz", "caseworker")
    assert caseworker.get(f"/api/v1/dispatch/incidents/{created['id']}").status_code == 403
    with unit_of_work() as session:
        reads = session.scalar(
            select(func.count()).select_from(models.AuditEvent).where(
                models.AuditEvent.action.like("access.%"),
                models.AuditEvent.person_id == dispatch.known.person_id,
            )
        )  # fmt: skip
    assert reads, "each brief's reads of the person are audited"


def test_the_dispatcher_accepts_or_overrides_with_a_reason(bare: Any) -> None:
    first = bare.send(simple("INC-6")).json()["incident"]
    second = bare.send(simple("INC-7")).json()["incident"]
    url = "/api/v1/dispatch/incidents/{}/decision"

    accepted = bare.cad.post(url.format(first["id"]), json={"action": "accept"})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["configuration"] == first["recommendation"]["configuration"]

    no_reason = bare.cad.post(
        url.format(second["id"]), json={"action": "override", "configuration": "police"}
    )
    assert no_reason.status_code == 422
    unknown = bare.cad.post(
        url.format(second["id"]),
        json={"action": "override", "configuration": "helicopter", "reason": "x"},
    )
    assert unknown.status_code == 422
    same = bare.cad.post(
        url.format(second["id"]),
        json={"action": "override", "reason": "x",
              "configuration": second["recommendation"]["configuration"]},
    )  # fmt: skip
    assert same.status_code == 422, "overriding with the recommendation is accepting it"
    overridden = bare.cad.post(
        url.format(second["id"]),
        json={"action": "override", "configuration": "care_team_police",
              "reason": "Caller sounded frightened; send police with the care team."},
    )  # fmt: skip
    assert overridden.status_code == 201, overridden.text
    shown = bare.cad.get(f"/api/v1/dispatch/incidents/{second['id']}").json()
    assert shown["decision"]["action"] == "overridden"
    assert shown["decision"]["configuration"] == "care_team_police"
    with unit_of_work() as session:
        actions = set(session.scalars(select(models.AuditEvent.action)))
    assert {"dispatch.accepted", "dispatch.overridden"} <= actions


def test_premise_history_shows_earlier_calls_at_the_address(bare: Any) -> None:
    bare.send(simple("INC-8", received_at="2026-11-20T18:00:00Z"))
    created = bare.send(simple("INC-9")).json()["incident"]
    brief = bare.cad.get(f"/api/v1/dispatch/incidents/{created['id']}/brief").json()
    assert brief["premise_call_count"] == 1
    assert brief["premise_calls"][0]["incident"] == "INC-8"


def test_a_responder_refers_a_person_from_the_incident_and_sees_where_it_stands(
    dispatch: Any,
) -> None:
    created = dispatch.send(naming(dispatch, "INC-10")).json()["incident"]
    url = f"/api/v1/dispatch/incidents/{created['id']}/referrals"
    stranger = dispatch.cad.post(
        url, json={"person_id": 999_999, "referral_type": "housing",
                   "to_agency_id": dispatch.agencies["homeless_services"]},
    )  # fmt: skip
    assert stranger.status_code in {403, 422}  # the token lacks people:write, or not named
    officer = dispatch.client("officer-ortiz", "officer")
    token = csrf(officer, "/dispatch")
    not_named = officer.post(
        url, headers={"X-CSRF-Token": token},
        json={"person_id": 999_999, "referral_type": "housing",
              "to_agency_id": dispatch.agencies["homeless_services"]},
    )  # fmt: skip
    assert not_named.status_code == 422, not_named.text
    sent = officer.post(
        url, headers={"X-CSRF-Token": token},
        json={"person_id": dispatch.known.person_id, "referral_type": "housing",
              "to_agency_id": dispatch.agencies["homeless_services"],
              "reason": "Sleeping outside in the rain; asks for a shelter bed."},
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    [referral] = sent.json()["referrals"]
    assert referral["status"] == "sent" and referral["person_id"] == dispatch.known.person_id

    # The shelter answers it from its worklist; the incident shows the new status.
    caseworker = dispatch.client("caseworker-cho", "caseworker")
    answered = caseworker.post(
        f"/api/v1/referrals/{referral['id']}/accept",
        headers={"X-CSRF-Token": csrf(caseworker, "/worklist")}, json={},
    )  # fmt: skip
    assert answered.status_code == 200, answered.text
    shown = officer.get(f"/api/v1/dispatch/incidents/{created['id']}").json()
    assert shown["referrals"][0]["status"] == "accepted"
    # ... and the person's page lists it.
    person = officer.get(f"/api/v1/people/{dispatch.known.person_id}")
    assert person.status_code == 200, person.text
    assert any(r["id"] == referral["id"] for r in person.json()["referrals"])


def test_no_care_team_free_falls_back_as_the_protocol_says(bare: Any) -> None:
    free = bare.send(simple("INC-11", available_units={"care_team": 2, "police": 4}))
    assert free.json()["incident"]["recommendation"]["configuration"] == "care_team"
    none_free = bare.send(simple("INC-12", available_units={"care_team": 0, "police": 4}))
    found = none_free.json()["incident"]["recommendation"]
    assert found["configuration"] != "care_team", found
    assert any(step["kind"] == "fallback" for step in found["steps"]), found["steps"]
    # The CAD reports a care team free again: the incident is recommended anew.
    again = bare.send(simple("INC-12", available_units={"care_team": 1, "police": 4}))
    assert again.json()["incident"]["recommendation"]["configuration"] == "care_team"
