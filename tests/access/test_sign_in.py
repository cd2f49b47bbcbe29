"""Sign-in: password then TOTP, lockout after five failures, idle and absolute timeouts, CSRF."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from corespond import models
from corespond.access import users
from corespond.access.passwords import WeakPassword
from corespond.cli.main import app
from corespond.db.engine import session_factory, unit_of_work
from corespond.models.base import utcnow
from corespond.web.app import create_app
from support.auth import PASSWORD, SECRET, add, csrf, sign_in


@pytest.fixture
def client(store: Engine) -> TestClient:
    return TestClient(create_app())


def audit_actions() -> list[tuple[str, str]]:
    with session_factory()() as session:
        return [
            (e.action, e.outcome)
            for e in session.scalars(select(models.AuditEvent).order_by(models.AuditEvent.seq))
        ]


def test_pages_need_sign_in_and_the_api_says_401(client: TestClient) -> None:
    page = client.get("/calls", follow_redirects=False)

    assert page.status_code == 303 and page.headers["location"] == "/sign-in?next=/calls"
    assert client.get("/api/v1/calls").status_code == 401
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_sign_in_needs_the_password_and_the_code_and_rotates_the_session(
    client: TestClient,
) -> None:
    add("ana", "dispatcher")
    client.post("/sign-in", data={"username": "ana", "password": PASSWORD}, follow_redirects=False)
    pending = client.cookies.get("corespond_pending")
    assert pending and "corespond_session" not in client.cookies
    assert client.get("/calls", follow_redirects=False).status_code == 303  # not signed in yet

    wrong = client.post("/sign-in/code", data={"code": "000000"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    right = client.post("/sign-in/code", data={"code": pyotp.TOTP(SECRET).now()})

    assert right.status_code == 200
    assert client.cookies.get("corespond_session") not in {None, pending}
    assert client.get("/calls").status_code == 200
    assert ("auth.sign_in", "failure") in audit_actions()
    assert ("auth.sign_in", "success") in audit_actions()


def test_five_failures_in_fifteen_minutes_lock_until_an_administrator_unlocks(
    client: TestClient,
) -> None:
    add("bo", "officer")
    for _ in range(5):
        answer = client.post("/sign-in", data={"username": "bo", "password": "wrong password!!"})
        assert answer.status_code == 401

    locked = client.post("/sign-in", data={"username": "bo", "password": PASSWORD})

    assert locked.status_code == 401 and "locked" in locked.text
    assert ("auth.account_locked", "success") in audit_actions()
    assert CliRunner().invoke(app, ["users", "unlock", "bo"]).exit_code == 0
    sign_in(client, "bo")
    assert client.get("/calls").status_code == 200


def test_an_unknown_user_fails_like_a_wrong_password(client: TestClient) -> None:
    answer = client.post("/sign-in", data={"username": "nobody", "password": PASSWORD})

    assert answer.status_code == 401 and "username, password or code is not right" in answer.text


@pytest.mark.parametrize("column", ["last_seen_at", "authenticated_at"])
def test_idle_and_old_sessions_end(client: TestClient, column: str) -> None:
    sign_in(client, "cy", "dispatcher")
    age = timedelta(minutes=31) if column == "last_seen_at" else timedelta(hours=12, minutes=1)
    with unit_of_work() as session:
        session.execute(update(models.WebSession).values({column: utcnow() - age}))

    assert client.get("/calls", follow_redirects=False).status_code == 303


def test_a_locked_users_session_ends_at_once(client: TestClient) -> None:
    sign_in(client, "di", "dispatcher")
    assert CliRunner().invoke(app, ["users", "lock", "di"]).exit_code == 0

    assert client.get("/calls", follow_redirects=False).status_code == 303


def test_forms_without_the_sessions_csrf_token_are_refused(client: TestClient) -> None:
    sign_in(client, "ed", "data_steward")
    token = csrf(client)

    refused = client.post("/sign-out", data={})
    forged = client.post("/sign-out", data={"csrf_token": "guess"})
    accepted = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)

    assert refused.status_code == 403 and forged.status_code == 403
    assert accepted.status_code == 303
    assert client.get("/calls", follow_redirects=False).status_code == 303  # signed out


def test_roles_gate_pages(client: TestClient) -> None:
    sign_in(client, "fay", "dispatcher")

    assert client.get("/calls").status_code == 200
    refused = client.get("/quarantine")
    assert refused.status_code == 403 and "data steward" in refused.text


def test_sign_in_only_returns_to_local_pages(client: TestClient) -> None:
    add("gus", "dispatcher")
    client.post("/sign-in", data={"username": "gus", "password": PASSWORD})
    answer = client.post(
        "/sign-in/code",
        data={"code": pyotp.TOTP(SECRET).now(), "next": "//evil.example/steal"},
        follow_redirects=False,
    )

    assert answer.headers["location"] == "/"


def test_api_tokens_are_scoped(client: TestClient) -> None:
    add("hal", "data_steward")
    issued = CliRunner().invoke(app, ["users", "token", "hal", "--scopes", "calls:read"])
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {secret}"}

    assert client.get("/api/v1/calls", headers=headers).status_code == 200
    assert client.get("/api/v1/linkage/review", headers=headers).status_code == 403
    assert (
        client.get("/api/v1/calls", headers={"Authorization": "Bearer cr_nope"}).status_code == 401
    )


def test_weak_passwords_and_unknown_roles_are_refused(store: Engine) -> None:
    with unit_of_work() as session:
        with pytest.raises(WeakPassword, match="commonly used"):
            users.add_user(session, username="ivy", display_name="Ivy", roles="dispatcher",
                           password="password12345", agency_id=None)  # fmt: skip
        with pytest.raises(users.UserError, match="unknown role 'wizard'"):
            users.add_user(session, username="ivy", display_name="Ivy", roles="wizard",
                           password=PASSWORD, agency_id=None)  # fmt: skip
    result = CliRunner().invoke(
        app, ["users", "add", "jo", "--roles", "dispatcher", "--password", "short"]
    )
    assert result.exit_code == 2 and "at least 12 characters" in result.output


def test_the_purpose_of_use_is_stated_and_switched_where_roles_allow(client: TestClient) -> None:
    sign_in(client, "pia", "clinician")
    token = csrf(client)
    page = client.get("/calls")
    assert "Working for" in page.text and 'value="care_coordination" selected' in page.text

    switched = client.post(
        "/purpose", data={"purpose": "treatment", "back": "/calls", "csrf_token": token}
    )
    assert switched.status_code == 200 and 'value="treatment" selected' in switched.text
    refused = client.post("/purpose", data={"purpose": "audit", "csrf_token": token})
    assert refused.status_code == 403
    assert ("auth.purpose_switched", "success") in audit_actions()
