"""The dispatch board in the browser: a feed is replayed, incidents appear by themselves (the
event stream), and a dispatcher overrides one recommendation with a reason."""

from __future__ import annotations

import threading
from pathlib import Path

from playwright.sync_api import Page, expect

from browser.accessibility import assert_accessible
from browser.conftest import LiveServer, run_cli
from browser.journeys import shot, sign_in

FEED = 3


def replay_later(city: Path) -> threading.Thread:
    """Replay the city's first EIDO incidents as the demo dispatcher's CAD, from a thread, while
    the board is open."""
    named = [path for path in sorted((city / "cad-eido").glob("*.json"))
             if "personComponent" in path.read_text()]  # fmt: skip
    feed = named[:FEED]
    folder = city / "replay"
    folder.mkdir(exist_ok=True)
    for document in feed:
        (folder / document.name).write_bytes(document.read_bytes())
    thread = threading.Thread(
        target=run_cli,
        args=("dispatch", "replay", str(folder), "--speed", "0", "--user", "demo-dispatcher"),
    )
    return thread


def test_incidents_appear_live_and_a_dispatcher_overrides_one(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, "demo-dispatcher", next="/dispatch")
    expect(page.get_by_role("heading", name="Dispatch board")).to_be_visible()
    expect(page.locator("#live-status")).to_contain_text("Live")

    feed = replay_later(live_server.city)
    feed.start()
    feed.join()
    cards = page.locator("article.incident")
    expect(cards).to_have_count(FEED, timeout=15_000)  # arrived without a reload
    expect(cards.first.get_by_text("Recommended:")).to_be_visible()
    expect(cards.first.locator("section.who-brief").first).to_be_visible()  # who is involved
    shot(page, "dispatch-board")

    card = cards.first
    choice = card.get_by_label("Send instead")
    label = choice.locator("option").first.inner_text()  # any but the recommended one
    choice.select_option(label=label)
    card.get_by_label("Reason").fill("Caller reports the man is now throwing bottles.")
    card.get_by_role("button", name="Override").click()
    expect(
        page.locator("article.incident").first.get_by_text(f"Overridden: sent {label}")
    ).to_be_visible()
    expect(page.locator("article.incident").first.get_by_text("throwing bottles")).to_be_visible()
    assert_accessible(page)
    shot(page, "dispatch-board-overridden")

    # A responder refers the person on a call to a provider; the card shows where it stands.
    second = page.locator("article.incident").nth(1)
    second.get_by_text("Refer someone on this incident").click()
    second.get_by_label("For").select_option("housing")
    second.get_by_label("Why").fill("Sleeping in a doorway; asks about a shelter bed.")
    second.get_by_role("button", name="Send referral").click()
    referred = page.locator("article.incident").nth(1)
    expect(referred.get_by_text("Referrals from this incident")).to_be_visible()
    expect(referred.locator("section.referrals")).to_contain_text("housing to")
    expect(referred.locator("section.referrals")).to_contain_text("sent")
    shot(page, "dispatch-board-referral")

    page.reload()  # the override is stored, not only shown
    expect(page.get_by_text(f"Overridden: sent {label}")).to_be_visible()
    expect(page.locator("#override-rate")).to_contain_text("overridden 1")
