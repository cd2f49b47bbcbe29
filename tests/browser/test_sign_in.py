"""Signing in as a person does: password, then the code from an authenticator app."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from browser.accessibility import assert_accessible, assert_focus_visible, tab_to
from browser.journeys import current_code, enter_password, password_of, shot, sign_in


def test_a_dispatcher_signs_in_with_password_and_code_and_lands_on_the_calls(page: Page) -> None:
    page.goto("/calls")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/calls$"))
    shot(page, "sign-in")

    enter_password(page, "demo-dispatcher", next="/calls")
    shot(page, "sign-in-code")
    page.get_by_label("Code").fill(current_code("demo-dispatcher"))
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/calls$"))
    expect(page.get_by_role("heading", name="Calls for service")).to_be_visible()
    expect(page.get_by_role("table")).to_be_visible()
    expect(page.get_by_role("combobox", name="Working for")).to_be_visible()
    shot(page, "calls")


def test_a_wrong_code_is_refused_with_a_clear_message(page: Page) -> None:
    enter_password(page, "demo-officer")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("the username, password or code is not right")
    expect(page.get_by_label("Code")).to_be_visible()  # still on the code form, to try again
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shot(page, "sign-in-wrong-code")


def test_signing_in_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/sign-in")
    tab_to(page, 'textbox "Username"')  # the field has focus when the page opens
    page.keyboard.type("demo-data-steward")
    tab_to(page, 'textbox "Password"')
    page.keyboard.type(password_of("demo-data-steward"))
    tab_to(page, 'button "Continue"')
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    tab_to(page, 'textbox "Code"')
    page.keyboard.type(current_code("demo-data-steward"))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/calls$"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    shot(page, "calls-skip-link")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()


def wrong_code(page: Page) -> None:
    enter_password(page, "demo-clinician")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()


PAGES: dict[str, Callable[[Page], object]] = {
    "sign-in": lambda page: page.goto("/sign-in"),
    "sign-in-code": lambda page: enter_password(page, "demo-dispatcher"),
    "sign-in-wrong-code": wrong_code,
    "calls": lambda page: sign_in(page, "demo-dispatcher", next="/calls"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_meets_wcag_a_and_aa(page: Page, name: str) -> None:
    PAGES[name](page)

    assert_accessible(page)


def test_focus_is_visible_on_the_sign_in_and_calls_pages(page: Page) -> None:
    page.goto("/sign-in")
    stops = tab_to(page, 'textbox "Username"', 'textbox "Password"', 'button "Continue"')
    sign_in(page, "demo-dispatcher", next="/calls")
    page.keyboard.press("Tab")
    stops += tab_to(
        page, 'link "Skip to content"', 'link "corespond"', 'link "Calls"',
        'combobox "Working for"', 'button "Sign out"', 'searchbox "Search"', 'button "Search"',
    )  # fmt: skip

    assert_focus_visible(stops)
