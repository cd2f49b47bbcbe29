"""An agency administrator manages their agency's users; an auditor reviews emergency access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from corespond import models
from corespond.access import users
from corespond.db.engine import session_factory, unit_of_work
from corespond.models.base import utcnow
from corespond.web.app import create_app
from support.auth import add, csrf, sign_in


@pytest.fixture
def agencies(store: Engine) -> dict[str, int]:
    with unit_of_work() as session:
        system = models.SourceSystem(name="jurisdiction")
        session.add(system)
        session.flush()
        ids = {}
        for key, kind in (("care", "care_team"), ("pd", "police")):
            agency = models.Agency(
                source_system_id=system.id, source_key=key, name=key.upper(), kind=kind,
                criminal_justice=kind == "police", content_hash="x", data_category="identity",
            )  # fmt: skip
            session.add(agency)
            session.flush()
            ids[key] = agency.id
    return ids


def signed_in_at(username: str, role: str, agency: int) -> TestClient:
    add(username, role, agency_id=agency)
    return sign_in(TestClient(create_app()), username, role)


def test_an_administrator_manages_only_their_agencys_users(agencies: dict[str, int]) -> None:
    admin = signed_in_at("ada", "agency_admin", agencies["care"])
    add("carl", "clinician", agency_id=agencies["care"])
    add("pete", "officer", agency_id=agencies["pd"])
    with unit_of_work() as session:
        users.lock(session, "carl", by="test")
    token = csrf(admin, "/admin/users")

    page = admin.get("/admin/users")
    assert "carl" in page.text and "pete" not in page.text and "locked" in page.text
    unlocked = admin.post("/admin/users/carl/unlock", data={"csrf_token": token})
    assert unlocked.status_code == 200 and "Done: unlock carl" in unlocked.text
    with session_factory()() as session:
        assert (
            session.scalar(select(models.User.locked_at).where(models.User.username == "carl"))
            is None
        )
    assert admin.post("/admin/users/pete/lock", data={"csrf_token": token}).status_code == 403

    added = admin.post(
        "/admin/users",
        data={"username": "nia", "display_name": "Nia", "roles": ["caseworker"],
              "password": "a long enough synthetic passphrase", "csrf_token": token},
    )  # fmt: skip
    assert added.status_code == 200 and "otpauth://totp/" in added.text
    weak = admin.post(
        "/admin/users",
        data={"username": "ola", "display_name": "Ola", "roles": ["caseworker"],
              "password": "password1234", "csrf_token": token},
    )  # fmt: skip
    assert weak.status_code == 422


def test_an_auditor_reviews_emergency_access(agencies: dict[str, int]) -> None:
    auditor = signed_in_at("aud", "auditor", agencies["care"])
    medic = add("mo", "ems", agency_id=agencies["care"])
    with unit_of_work() as session:
        person = models.Person()
        session.add(person)
        session.flush()
        access = models.EmergencyAccess(
            kind="break_glass", user_id=medic, person_id=person.id,
            reason="unresponsive at scene, need history", expires_at=utcnow() + timedelta(hours=4),
        )  # fmt: skip
        session.add(access)
        session.flush()
        access_id = access.id

    page = auditor.get("/admin/emergency-access")
    assert "unresponsive at scene" in page.text and "Mark reviewed" in page.text
    done = auditor.post(
        f"/admin/emergency-access/{access_id}/review",
        data={
            "note": "checked with the crew",
            "csrf_token": csrf(auditor, "/admin/emergency-access"),
        },
    )
    assert done.status_code == 200 and "reviewed" in done.text
    with session_factory()() as session:
        assert session.get(models.EmergencyAccess, access_id).reviewed_by is not None  # type: ignore[union-attr]
        assert "access.emergency_reviewed" in set(session.scalars(select(models.AuditEvent.action)))
    assert (
        signed_in_at("al", "clinician", agencies["care"]).get("/admin/emergency-access").status_code
        == 403
    )
