"""The person page and its API: what each agency sees of one person, what is restricted and
why, what the law says to leave out, and that every look is audited."""

from __future__ import annotations

from sqlalchemy import select

from corespond import models
from corespond.db.engine import session_factory
from people.conftest import World, client_as


def audit_actions(person_id: int) -> list[tuple[str, str, str]]:
    with session_factory()() as session:
        return [
            (row.action, row.outcome, row.categories or "")
            for row in session.scalars(
                select(models.AuditEvent).where(models.AuditEvent.person_id == person_id)
            )
        ]


def test_a_care_team_clinician_sees_calls_and_own_notes_and_why_the_rest_is_restricted(
    world: World,
) -> None:
    clinician = client_as("clara", "clinician", world.agencies["care"])

    answer = clinician.get(f"/api/v1/people/{world.person}")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["identity"]["name"] == "Robert Quillfeather"
    # The dispatch centre shares its calls, not its identity records: that one is restricted.
    cad = next(record for record in body["records"] if record["source"] == "Metro CAD")
    assert cad["restricted"] and cad["name"] is None
    assert "Bob" not in str(body["identity"])
    assert body["identity"]["dob"] == "1979-04-12"  # clinicians identify patients
    timeline = clinician.get(f"/api/v1/people/{world.person}/timeline").json()
    kinds = {item["kind"] for item in timeline["items"]}
    assert kinds == {"call", "unit_response", "note"}  # the dispatch centre shares its calls
    restricted = {(group["agency"], group["category"]): group for group in timeline["restricted"]}
    assert set(restricted) == {
        ("Riverbend PD", "criminal_justice"),
        ("Harbor Shelter", "housing"),
    }
    assert restricted[("Riverbend PD", "criminal_justice")]["count"] == 1
    assert any(
        "criminal" in reason
        for reason in restricted[("Riverbend PD", "criminal_justice")]["reasons"]
    )
    # Part 2: not shown, not counted, not named; the page says such records may be left out.
    assert "Lantern" not in answer.text and "Methadone" not in answer.text
    assert all(record["agency"] != "Lantern Recovery" for record in body["records"])
    assert "42 CFR Part 2" in body["part2_notice"]
    assert ("access.decision", "allow", "call_incident") in audit_actions(world.person)
    assert ("access.decision", "deny", "criminal_justice") in audit_actions(world.person)


def test_an_officer_sees_the_arrest_and_the_age_not_the_birth_date(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])

    body = officer.get(f"/api/v1/people/{world.person}").json()
    timeline = officer.get(f"/api/v1/people/{world.person}/timeline").json()

    assert body["identity"]["dob"] is None and body["identity"]["age"] is not None
    assert "Robbie Feather" in body["identity"]["aliases"]
    assert {"call", "arrest"} <= {item["kind"] for item in timeline["items"]}
    assert "note" not in {item["kind"] for item in timeline["items"]}
    assert ("Riverbend CARE Team", "case_notes") in {
        (group["agency"], group["category"]) for group in timeline["restricted"]
    }


def test_the_page_states_its_purpose_and_shows_the_sections(world: World) -> None:
    clinician = client_as("clara", "clinician", world.agencies["care"])

    page = clinician.get(f"/people/{world.person}")

    assert page.status_code == 200
    text = page.text
    assert "Working for <strong>care coordination</strong>" in text
    for heading in (
        "Cautions",
        "Response plan",
        "Care team",
        "Current situation",
        "Referrals",
        "Timeline",
        "Linked records",
        "Consents",
        "Accounting of disclosures",
    ):
        assert f">{heading}" in text, heading
    assert "restricted" in text and "Riverbend PD" in text
    assert "Methadone" not in text
    # The care team: the note's author and the care team's unit, from what the clinician sees.
    assert "Dana Okafor" in text and "CARE-7" in text


def test_switching_purpose_changes_what_is_seen_and_is_audited(world: World) -> None:
    clinician = client_as("clara", "clinician", world.agencies["care"])
    page = clinician.get(f"/people/{world.person}")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]

    switched = clinician.post(
        "/purpose",
        data={"purpose": "treatment", "csrf_token": token, "back": f"/people/{world.person}"},
    )

    assert switched.status_code in {200, 303}
    page = clinician.get(f"/people/{world.person}")
    assert "Working for <strong>treatment</strong>" in page.text
    with session_factory()() as session:
        actions = set(session.scalars(select(models.AuditEvent.action)))
    assert "auth.purpose_switched" in actions


def test_filters_and_pages_of_the_timeline(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])
    base = f"/api/v1/people/{world.person}/timeline"

    arrests = officer.get(base, params={"kind": "arrest"}).json()
    police = officer.get(base, params={"agency": "Riverbend PD"}).json()
    later = officer.get(base, params={"since": "2025-03-01", "until": "2025-03-01"}).json()
    first = officer.get(base, params={"limit": 1}).json()
    second = officer.get(base, params={"limit": 1, "offset": 1}).json()

    assert [item["kind"] for item in arrests["items"]] == ["arrest"]
    assert {item["agency"] for item in police["items"]} == {"Riverbend PD"}
    assert all(item["at"].startswith("2025-03-01") for item in later["items"])
    assert first["total"] == second["total"] >= 3
    assert first["items"] != second["items"]
    assert officer.get(base, params={"since": "not a date"}).status_code == 422
    assert officer.get(base, params={"limit": 0}).status_code == 422


def test_an_unknown_person_is_404_and_a_merged_one_redirects(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])
    with session_factory()() as session:
        merged = models.Person(status="merged", merged_into_id=world.person)
        session.add(merged)
        session.commit()
        merged_id = merged.id

    assert officer.get("/api/v1/people/999999").status_code == 404
    assert officer.get("/people/999999").status_code == 404
    moved = officer.get(f"/people/{merged_id}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/people/{world.person}"


def test_an_agency_sees_none_of_a_person_known_only_to_a_part2_program(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])

    body = officer.get(f"/api/v1/people/{world.hidden}").json()
    timeline = officer.get(f"/api/v1/people/{world.hidden}/timeline").json()

    assert body["identity"]["names"] == [] and body["records"] == []
    assert timeline["items"] == [] and timeline["restricted"] == []
    assert "Wren" not in str(body)


def test_the_api_needs_a_token_with_the_people_scope(world: World) -> None:
    from fastapi.testclient import TestClient

    from corespond.access import tokens
    from corespond.db.engine import unit_of_work
    from corespond.web.app import create_app

    client_as("otto", "officer", world.agencies["police"])
    with unit_of_work() as session:
        user = session.scalar(select(models.User).where(models.User.username == "otto"))
        assert user is not None
        calls_only = tokens.issue(
            session, user, name="t1", scopes=["calls:read"], days=1, by="test"
        )
        people = tokens.issue(session, user, name="t2", scopes=["people:read"], days=1, by="test")
    client = TestClient(create_app())

    refused = client.get(
        f"/api/v1/people/{world.person}", headers={"Authorization": f"Bearer {calls_only}"}
    )
    allowed = client.get(
        f"/api/v1/people/{world.person}", headers={"Authorization": f"Bearer {people}"}
    )
    writing = client.post(
        f"/api/v1/people/{world.person}/cautions",
        headers={"Authorization": f"Bearer {people}"},
        json={"caution_type": "dog", "severity": "low"},
    )

    assert refused.status_code == 403 and "people:read" in refused.json()["detail"]
    assert allowed.status_code == 200
    assert writing.status_code == 403 and "people:write" in writing.json()["detail"]


def test_the_timeline_part_answers_alone_for_htmx(world: World) -> None:
    officer = client_as("otto", "officer", world.agencies["police"])

    part = officer.get(f"/people/{world.person}/timeline", params={"kind": "arrest"})

    assert part.status_code == 200
    assert part.text.lstrip().startswith("{#") is False and 'id="timeline-results"' in part.text
    assert "<html" not in part.text and "Arrest" in part.text and "Call E-100" not in part.text
    assert (
        part.headers["HX-Push-Url"]
        == f"/people/{world.person}?agency=&kind=arrest&since=&until=&page=1"
    )


def test_breaking_the_glass_shows_a_clinician_what_was_withheld_for_treatment(
    world: World,
) -> None:
    clinician = client_as("clara", "clinician", world.agencies["care"])
    page = clinician.get(f"/people/{world.person}")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    treatment = {"X-Purpose-Of-Use": "treatment"}
    before = clinician.get(f"/api/v1/people/{world.person}/timeline", headers=treatment).json()

    assert "Emergency access" in page.text
    opened = clinician.post(
        f"/people/{world.person}/emergency-access",
        data={
            "csrf_token": token,
            "kind": "break_glass",
            "reason": "Unresponsive on arrival, suspected overdose; need medication history.",
        },
    )
    after = clinician.get(f"/api/v1/people/{world.person}/timeline", headers=treatment).json()

    assert opened.status_code == 201
    assert "treatment" not in {item["kind"] for item in before["items"]}
    assert "Methadone dosing" in {
        item["title"].removeprefix("Treatment: ") for item in after["items"]
    }
    with session_factory()() as session:
        assert session.scalar(
            select(models.AuditEvent.seq).where(models.AuditEvent.action == "access.break_glass")
        )


def test_touchpoints_since_a_moment_are_those_of_the_whole_timeline_from_then(
    world: World,
) -> None:
    """The brief reads only recent touchpoints (each table from ``since`` on, in SQL): the same
    ones the whole timeline holds from then, whatever the moment, for every kind of fact."""
    from datetime import timedelta

    from corespond.access import facts

    with session_factory()() as session:
        ids = facts.record_ids_of(session, world.person)
        everything = facts.touches(session, ids)
        kinds = {touch.kind for touch in everything}
        assert {"call", "arrest", "note", "shelter_stay", "outreach", "treatment"} <= kinds
        # Read by the records' ids, or by the query of them (as the brief reads on SQLite).
        assert facts.touches(session, facts.person_records(world.person)) == everything
        moments = sorted({touch.at for touch in everything})
        for moment in [moments[0] - timedelta(days=1), *moments, moments[-1] + timedelta(1)]:
            for since in (moment, moment + timedelta(hours=12)):
                expected = [touch for touch in everything if touch.at >= since]
                assert facts.touches(session, ids, since=since) == expected, since
                queried = facts.touches(session, facts.person_records(world.person), since=since)
                assert queried == expected, since
