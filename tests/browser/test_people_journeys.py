"""The main journeys of the person page, as people do them in the browser.

A care-team clinician searches a frequent utilizer of the demo city and opens the person; writes
a caution that the care team's program manager approves, after which a police officer sees it;
refers the person to the homeless-services agency, whose caseworker accepts on the worklist; and
sees the person's shelter stays only while a consent the caseworker records allows it. Every
page is photographed and checked for accessibility.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from browser.accessibility import assert_accessible, assert_focus_visible, tab_to
from browser.conftest import VIEWPORT, LiveServer
from browser.journeys import shot, sign_in
from corespond import models
from corespond.config import get_settings
from corespond.db.engine import session_factory


@dataclass(frozen=True)
class Utilizer:
    person_id: int
    name: str
    shelter: str
    """The homeless-services agency that holds the person's housing records."""


@pytest.fixture(scope="module")
def as_of_city_end() -> Iterator[None]:
    """The demo city's history is 2023: count "recent" from its last day, as ``make demo``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CORESPOND_AS_OF", "2023-12-31")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def utilizer(live_server: LiveServer, as_of_city_end: None) -> Utilizer:
    """The person with the most calls among those the shelter's HMIS also knows."""
    link, record, named = models.PersonLink, models.PersonRecord, models.CallPerson
    system, agency = models.SourceSystem, models.Agency
    with session_factory()() as session:
        housed = (
            select(link.person_id)
            .join(record, record.id == link.person_record_id)
            .join(system, system.id == record.source_system_id)
            .where(system.format == "hmis-csv")
        )
        person_id = session.scalar(
            select(link.person_id)
            .join(named, named.person_record_id == link.person_record_id)
            .where(link.person_id.in_(housed))
            .group_by(link.person_id)
            .order_by(func.count().desc(), link.person_id)
            .limit(1)
        )
        assert person_id is not None, "the demo city should have housed frequent callers"
        first, last = session.execute(
            select(record.first_name, record.last_name)
            .join(link, link.person_record_id == record.id)
            .join(system, system.id == record.source_system_id)
            .where(link.person_id == person_id, system.format == "hmis-csv")
            .limit(1)
        ).one()
        shelter = session.scalar(
            select(agency.name).where(agency.kind == "homeless_services").order_by(agency.id)
        )
    return Utilizer(person_id, f"{first} {last}", shelter or "")


@pytest.fixture
def open_as(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """Sign a demo user in, in a browser of their own (one context each, as two desks)."""
    contexts = []

    def open_page(username: str) -> Page:
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, username)
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_a_clinician_finds_a_frequent_utilizer_and_opens_the_person(
    open_as: Callable[[str], Page], utilizer: Utilizer
) -> None:
    page = open_as("demo-clinician")
    page.get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="Find a person")).to_be_visible()
    page.get_by_label("Name").fill(utilizer.name)
    page.get_by_role("button", name="Search").click()

    results = page.get_by_role("table")
    expect(results).to_contain_text(utilizer.name)
    assert_accessible(page)
    assert_focus_visible(
        tab_to(page, 'searchbox "Name"', 'textbox "Date of birth"', 'button "Search"')
    )
    shot(page, "people-search")

    results.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/people/{utilizer.person_id}$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for section in ("Cautions", "Response plan", "Care team", "Current situation", "Referrals",
                    "Timeline", "Linked records", "Consents"):  # fmt: skip
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(page.locator(".purpose-line")).to_contain_text("Working for care coordination")
    expect(page.get_by_text(re.compile(r"\d+ touchpoints? you may see"))).to_be_visible()
    assert_accessible(page)
    shot(page, "person")

    # Filtering the timeline swaps in its results alone (htmx) and keeps the address bookable.
    page.evaluate("window.notReloaded = true")
    page.locator("#t-kind").select_option("call")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"kind=call"))
    kinds = page.locator("#timeline-results tbody tr")
    expect(kinds.first).to_have_class("kind-call")
    assert page.evaluate("window.notReloaded") is True, "the page reloaded instead of swapping"
    assert set(kinds.evaluate_all("rows => rows.map(r => r.className)")) == {"kind-call"}


def test_a_caution_is_written_approved_in_the_agency_then_seen_by_a_partner(
    open_as: Callable[[str], Page], utilizer: Utilizer
) -> None:
    person = f"/people/{utilizer.person_id}"
    writer = open_as("demo-clinician")
    writer.goto(person)
    writer.get_by_text("Add a caution").click()
    writer.get_by_label("What about").fill("dog on premises")
    writer.get_by_label("Severity").select_option("high")
    writer.get_by_label("What responders should know").fill("Large dog, friendly with clinicians.")
    writer.get_by_role("button", name="Save draft for approval").first.click()
    expect(writer.get_by_role("status")).to_contain_text("saved as a draft")
    expect(writer.get_by_text("Another user of your agency approves it.")).to_be_visible()

    officer = open_as("demo-officer")
    officer.goto(person)
    expect(officer.locator("#cautions")).not_to_contain_text("dog on premises")

    approver = open_as("demo-program-manager")
    approver.goto(person)
    drafts = approver.locator("#drafts")
    expect(drafts).to_contain_text("dog on premises")
    assert_accessible(approver)
    shot(approver, "person-draft-caution")
    drafts.get_by_role("button", name="Approve").first.click()
    expect(approver.get_by_role("status")).to_contain_text("approved")

    officer.reload()
    caution = officer.locator("#cautions")
    expect(caution).to_contain_text("HIGH: dog on premises")
    expect(caution).to_contain_text("Demo program manager")
    shot(officer, "person-caution-as-officer")


def test_a_referral_is_sent_and_accepted_by_the_receiving_agency(
    open_as: Callable[[str], Page], utilizer: Utilizer
) -> None:
    person = f"/people/{utilizer.person_id}"
    clinician = open_as("demo-clinician")
    clinician.goto(person)
    clinician.get_by_text("Send a referral").click()
    referral = clinician.locator("#referrals form")
    referral.locator("#r-type").select_option("housing")
    referral.locator("#r-agency").select_option(label=utilizer.shelter)
    referral.get_by_label("Reason").fill("Sleeping outside since the shelter closed.")
    clinician.get_by_role("button", name="Send referral").click()
    expect(clinician.get_by_role("status")).to_contain_text("sent")
    expect(clinician.locator("#referrals")).to_contain_text("sent")

    caseworker = open_as("demo-caseworker")
    caseworker.get_by_role("link", name="Worklist").click()
    incoming = caseworker.locator("section", has=caseworker.get_by_role(
        "heading", name="Referrals to your agency"))  # fmt: skip
    expect(incoming).to_contain_text("Sleeping outside since the shelter closed.")
    assert_accessible(caseworker)
    shot(caseworker, "worklist-incoming-referral")
    incoming.get_by_role("button", name="Accept").first.click()
    expect(caseworker.get_by_role("status")).to_contain_text("accepted")

    clinician.reload()
    expect(clinician.locator("#referrals")).to_contain_text("accepted")
    shot(clinician, "person-referral-accepted")


def test_a_consent_shows_the_shelter_stays_to_the_care_team_until_revoked(
    open_as: Callable[[str], Page], utilizer: Utilizer
) -> None:
    person = f"/people/{utilizer.person_id}"
    clinician = open_as("demo-clinician")
    only_shelter = f"{person}?agency={utilizer.shelter.replace(' ', '+').replace('&', '%26')}"
    clinician.goto(only_shelter)
    housing = f"housing records held by {utilizer.shelter}"
    expect(clinician.locator("#timeline")).to_contain_text(housing)

    caseworker = open_as("demo-caseworker")
    caseworker.goto(f"{person}/consents")
    caseworker.get_by_label("Share with").select_option(label="Riverbend CARE Team")
    caseworker.get_by_role("checkbox", name="housing records").check()
    caseworker.get_by_role("checkbox", name="care coordination").check()
    assert_accessible(caseworker)
    caseworker.get_by_role("button", name="Record consent").click()
    expect(caseworker.get_by_text(re.compile("Done: recorded"))).to_be_visible()
    consent_id = re.search(r"recorded\+(\d+)", caseworker.url).group(1)  # type: ignore[union-attr]
    shot(caseworker, "consents-recorded")

    clinician.reload()
    timeline = clinician.locator("#timeline")
    expect(timeline).not_to_contain_text(housing)
    expect(timeline.get_by_role("table")).to_contain_text(utilizer.shelter)
    shot(clinician, "person-with-consent")

    ours = caseworker.get_by_role("row").filter(
        has=caseworker.get_by_role("cell", name=consent_id, exact=True)
    )
    ours.get_by_role("button", name="Revoke").click()
    expect(caseworker.get_by_text(re.compile("Done: revoked"))).to_be_visible()
    clinician.reload()
    expect(clinician.locator("#timeline")).to_contain_text(housing)
    expect(clinician.locator("#timeline table")).to_have_count(0)
    shot(clinician, "person-consent-revoked")
