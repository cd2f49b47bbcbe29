"""Demo users: one per role, able to sign in, and refused outside demo mode."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from corespond.access.demo_users import demo_password, demo_totp_secret
from corespond.access.roles import Role
from corespond.cli.main import app
from corespond.config import get_settings
from corespond.web.app import create_app


@pytest.fixture
def demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORESPOND_MODE", "demo")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_demo_users_are_refused_outside_demo_mode(store: Engine) -> None:
    result = CliRunner().invoke(app, ["demo", "users"])

    assert result.exit_code == 2 and "demo mode" in result.output


def test_each_demo_user_can_sign_in(store: Engine, demo_mode: None) -> None:
    result = CliRunner().invoke(app, ["demo", "users"])
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(app, ["demo", "users"])  # make demo may run it twice
    assert again.exit_code == 0, again.output

    for role in Role:
        username = f"demo-{role.value.replace('_', '-')}"
        assert username in result.output
        client = TestClient(create_app())
        client.post("/sign-in", data={"username": username, "password": demo_password(role)})
        code = CliRunner().invoke(app, ["demo", "code", username]).stdout.strip()
        assert code == pyotp.TOTP(demo_totp_secret(role)).now()
        signed = client.post("/sign-in/code", data={"code": code})
        assert signed.status_code == 200 and "corespond_session" in client.cookies, role
