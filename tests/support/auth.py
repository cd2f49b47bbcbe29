"""Signing test clients in through the real sign-in flow (password, then a TOTP code)."""

from __future__ import annotations

import contextlib
import re

import pyotp
from fastapi.testclient import TestClient

from corespond.access import users
from corespond.db.engine import unit_of_work

PASSWORD = "a long synthetic test passphrase"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def add(username: str, roles: str, *, agency_id: int | None = None) -> int:
    with unit_of_work() as session:
        new = users.add_user(
            session, username=username, display_name=username.title(), roles=roles,
            password=PASSWORD, agency_id=agency_id, totp_secret=SECRET,
        )  # fmt: skip
        return new.user.id


def sign_in(client: TestClient, username: str, roles: str = "data_steward") -> TestClient:
    """Create ``username`` with ``roles`` (if new) and sign ``client`` in as them."""
    with contextlib.suppress(users.UserError):  # already there
        add(username, roles)
    answer = client.post("/sign-in", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text  # followed to the code page
    answer = client.post("/sign-in/code", data={"code": pyotp.TOTP(SECRET).now()})
    assert answer.status_code == 200 and "corespond_session" in client.cookies, answer.text
    return client


def csrf(client: TestClient, page: str = "/calls") -> str:
    """The CSRF token of the client's session, read from a page's sign-out form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert match, "no CSRF token on the page"
    return match.group(1)
