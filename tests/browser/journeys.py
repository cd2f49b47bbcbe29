"""What a person does in the browser, as helpers: sign in, and keep a picture of the page."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from playwright.sync_api import Page, expect

from corespond.access.demo_users import demo_password, demo_totp_secret
from corespond.access.roles import Role

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
"""Where ``shot`` saves pictures (gitignored; CI keeps ``test-artifacts/`` as its artifacts)."""


def role_of(username: str) -> Role:
    """The role of a demo user: ``demo-data-steward`` is a data steward."""
    return Role(username.removeprefix("demo-").replace("-", "_"))


def password_of(username: str) -> str:
    """A demo user's password (public, demo mode only)."""
    return demo_password(role_of(username))


def current_code(username: str) -> str:
    """The code a demo user's authenticator app shows now."""
    return pyotp.TOTP(demo_totp_secret(role_of(username))).now()


def enter_password(page: Page, username: str, *, next: str = "/") -> None:
    """The first step: the sign-in form, filled in and sent; leaves the browser on the code form."""
    page.goto(f"/sign-in?next={next}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password_of(username))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()


def sign_in(page: Page, username: str, *, next: str = "/") -> None:
    """Sign a demo user in through the forms, password then TOTP code, as a person would.

    Leaves the browser where the sign-in sends it (``next``, or the user's first page).
    """
    enter_password(page, username, next=next)
    page.get_by_label("Code").fill(current_code(username))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/<name>.png``; return its path."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"name screenshots in lowercase words and dashes, not {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
