"""The auditor's weekly review: what their agency's log holds for the week, and nothing of
other agencies; marking emergency access reviewed; the same from the command line."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from corespond import models
from corespond.access import service, users
from corespond.access.roles import Purpose
from corespond.audit.chain import record
from corespond.cli.main import app
from corespond.db.engine import session_factory, unit_of_work
from corespond.web.app import create_app
from support.agencies import make_agency
from support.auth import PASSWORD, add, csrf, sign_in


def user(session, username: str) -> models.User:  # type: ignore[no-untyped-def]
    return users.get_user(session, username)


@pytest.fixture
def week(store: Engine) -> dict[str, int]:
    """A week at the care team (and, for contrast, at the police department)."""
    ids = {"care": make_agency("care", "care_team"), "pd": make_agency("pd", "police")}
    for username, roles, agency in (
        ("medic", "ems", "care"),
        ("cleo", "clinician", "care"),
        ("reed", "caseworker", "care"),
        ("pat", "officer", "pd"),
    ):
        ids[username] = add(username, roles, agency_id=ids[agency])
    with unit_of_work() as session:
        people = [models.Person() for _ in range(3)]
        session.add_all(people)
        session.flush()
        ids["person"] = people[0].id
        care, pd = session.get(models.Agency, ids["care"]), session.get(models.Agency, ids["pd"])
        medic = service.subject_of(session, user(session, "medic"))
        opened = service.open_emergency_access(
            session, user=user(session, "medic"), person_id=people[0].id, kind="break_glass",
            reason="unresponsive at the scene, need the history",
        )  # fmt: skip
        ids["break_glass"] = opened.id
        service.decide_for(
            session, medic, people[0].id, "health", pd, Purpose.EMERGENCY_RESPONSE
        )  # read under the emergency access
        threat = service.open_emergency_access(
            session, user=user(session, "cleo"), person_id=people[1].id, kind="serious_threat",
            reason="threatened to harm a neighbour tonight",
        )  # fmt: skip
        ids["threat"] = threat.id
        service.open_emergency_access(
            session, user=user(session, "pat"), person_id=people[2].id, kind="serious_threat",
            reason="the police department's own, not the care team's",
        )  # fmt: skip
        caseworker = service.subject_of(session, user(session, "reed"))
        service.decide_for(
            session, caseworker, people[1].id, "criminal_justice", pd, Purpose.CARE_COORDINATION
        )  # denied
        officer = service.subject_of(session, user(session, "pat"))
        service.decide_for(
            session, officer, people[1].id, "health", care, Purpose.EMERGENCY_RESPONSE
        )  # denied, at the police department
        users.lock(session, "reed", by="user:1", reason="left the agency")
        users.lock(session, "pat", by="user:1", reason="another agency's change")
        record(session, action="admin.keys_rotated", actor="cli", detail={"field": 3})
        for n in range(60):  # one caseworker reads far more than the others
            record(
                session, action="access.decision", actor=f"user:{ids['cleo']}",
                agency_id=ids["care"], outcome="allow", person_id=1000 + n,
                categories=["identity"], purpose="care_coordination",
            )  # fmt: skip
    for _ in range(5):  # a lockout, at the care team
        TestClient(create_app()).post("/sign-in", data={"username": "medic", "password": "no"})
    return ids


def auditor(week: dict[str, int], agency: str = "care") -> TestClient:
    add(f"aud-{agency}", "auditor", agency_id=week[agency])
    return sign_in(TestClient(create_app()), f"aud-{agency}")


def test_the_review_shows_what_the_auditor_must_look_at(week: dict[str, int]) -> None:
    client = auditor(week)

    page = client.get("/audit/review")
    found = client.get("/api/v1/audit/review").json()

    assert page.status_code == 200 and "Weekly review" in page.text
    assert "unresponsive at the scene" in page.text and "Mark reviewed" in page.text
    [opening] = found["break_glass"]
    assert opening["id"] == week["break_glass"] and opening["user"] == "medic"
    assert opening["reviewed"] is False and opening["reads"] == 1
    assert [t["id"] for t in found["serious_threats"]] == [week["threat"]]
    assert [e["user"] for e in found["denied"]] == ["reed"] and found["denied_total"] == 1
    assert found["denied"][0]["categories"] == "criminal_justice"
    failures = found["sign_in_failures"]
    assert sum(e["action"] == "auth.sign_in" for e in failures) == 5
    assert any(e["action"] == "auth.account_locked" for e in failures)
    changes = {(e["action"], e["detail"].get("reason")) for e in found["admin_changes"]}
    assert ("admin.user_locked", "left the agency") in changes
    assert ("admin.keys_rotated", None) in changes
    assert ("admin.user_locked", "another agency's change") not in changes  # the PD's
    assert "the police department's own" not in page.text
    heavy = found["person_reads"][0]
    assert heavy["user"] == "cleo" and heavy["reads"] == 60 and heavy["unusual"]
    assert not any(row["unusual"] for row in found["person_reads"][1:])
    with session_factory()() as session:
        reads = session.scalars(
            select(models.AuditEvent).where(models.AuditEvent.action == "audit.review_read")
        ).all()
    # Signing in lands an auditor on the review: that, the page and the API.
    assert len(reads) == 3 and all(e.agency_id == week["care"] for e in reads)


def test_marking_emergency_access_reviewed_is_audited_and_needs_the_form_token(
    week: dict[str, int],
) -> None:
    client = auditor(week)
    target = f"/admin/emergency-access/{week['break_glass']}/review"

    forged = client.post(target, data={"note": "looks fine"})
    done = client.post(
        target,
        data={"note": "crew confirmed", "back": "/audit/review?week=", "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    threat = client.post(
        f"/api/v1/audit/emergency-access/{week['threat']}/review",
        json={"note": "called the clinician"},
        headers={"X-CSRF-Token": csrf(client)},
    )

    assert forged.status_code == 403
    assert done.status_code == 303 and done.headers["location"] == "/audit/review?week="
    assert threat.status_code == 204
    found = client.get("/api/v1/audit/review").json()
    assert found["break_glass"][0]["reviewed"] and found["break_glass"][0]["reviewed_by"] == (
        "aud-care"
    )
    assert found["serious_threats"][0]["reviewed"]
    reviewed = [e for e in found["admin_changes"] if e["action"] == "access.emergency_reviewed"]
    assert [e["detail"]["note"] for e in reviewed] == ["crew confirmed", "called the clinician"]


def test_an_auditor_sees_only_their_agency_and_others_may_not_look(week: dict[str, int]) -> None:
    police_auditor = auditor(week, "pd")
    police = police_auditor.get("/api/v1/audit/review").json()
    add("cara", "clinician", agency_id=week["care"])
    clinician = sign_in(TestClient(create_app()), "cara")

    assert police["break_glass"] == [] and [e["user"] for e in police["denied"]] == ["pat"]
    assert "unresponsive" not in json.dumps(police)
    assert clinician.get("/audit/review").status_code == 403
    assert clinician.get("/api/v1/audit/review").status_code == 403
    other = police_auditor.post(
        f"/api/v1/audit/emergency-access/{week['break_glass']}/review",
        json={},
        headers={"X-CSRF-Token": csrf(police_auditor)},
    )
    assert other.status_code == 404  # not the police department's emergency access


def test_another_week_holds_none_of_this(week: dict[str, int]) -> None:
    found = auditor(week).get("/api/v1/audit/review", params={"week": "2020-01-06"}).json()

    assert found["start"] == "2020-01-06T08:00:00Z"  # local midnight, Los Angeles
    assert found["break_glass"] == [] and found["denied_total"] == 0
    assert found["person_reads"] == [] and found["older_unreviewed"] == 0


def test_the_command_line_reviews_one_agency_or_all(week: dict[str, int]) -> None:
    everyone = CliRunner().invoke(app, ["audit", "review", "--json"])
    care = CliRunner().invoke(app, ["audit", "review", "--agency", "care", "--json"])
    table = CliRunner().invoke(app, ["audit", "review", "--agency", str(week["care"])])
    unknown = CliRunner().invoke(app, ["audit", "review", "--agency", "nowhere"])

    assert everyone.exit_code == 0, everyone.output
    assert {t["user"] for t in json.loads(everyone.stdout)["serious_threats"]} == {"cleo", "pat"}
    assert {t["user"] for t in json.loads(care.stdout)["serious_threats"]} == {"cleo"}
    assert table.exit_code == 0 and "unresponsive" in table.stdout  # wrapped in a table
    assert "unusual" in table.stdout
    assert unknown.exit_code == 2 and "no agency" in unknown.output
    assert PASSWORD not in everyone.stdout


def test_an_auditor_starts_on_the_review_and_asks_for_no_call_data(week: dict[str, int]) -> None:
    client = auditor(week)

    home = client.get("/", follow_redirects=False)

    assert home.headers["location"] == "/audit/review"
    with session_factory()() as session:
        asked = session.scalars(
            select(models.AuditEvent).where(
                models.AuditEvent.action == "access.decision",
                models.AuditEvent.actor == f"user:{users.get_user(session, 'aud-care').id}",
            )
        ).all()
    assert asked == []
