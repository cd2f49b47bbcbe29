"""The outcomes pages in the browser: real charts, filters that update in place, a drill-down,
the evaluation, and a council report that opens as a PDF."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from browser.accessibility import assert_accessible
from browser.conftest import LiveServer
from browser.journeys import shot, sign_in


def rendered(page: Page, selector: str) -> int:
    """How many of the images matching ``selector`` the browser decoded (a width above 0)."""
    return int(
        page.eval_on_selector_all(
            selector, "images => images.filter(i => i.complete && i.naturalWidth > 0).length"
        )
    )


def test_a_program_manager_reads_the_dashboard_and_narrows_it(
    page: Page, live_server: LiveServer
) -> None:
    sign_in(page, "demo-program-manager", next="/outcomes")
    expect(page.get_by_role("heading", name="Outcomes", exact=True)).to_be_visible()
    tiles = page.locator(".tile")
    expect(tiles.first).to_be_visible()
    assert tiles.count() >= 10
    assert rendered(page, "img.spark") >= 10, "the sparklines did not render"
    assert_accessible(page)
    shot(page, "outcomes-dashboard")

    counted = page.locator(".tile-count").first.inner_text()
    with page.expect_response(lambda response: "/outcomes?" in response.url):
        page.get_by_label("Responder").select_option("police")
    expect(page.locator(".tile-count").first).not_to_have_text(counted)
    assert "team=police" in page.url, "the filter is kept in the address"
    expect(page.get_by_label("Responder")).to_have_value("police")
    shot(page, "outcomes-dashboard-police")

    page.locator(".tile a").filter(has_text="Officer hours per call").click()
    expect(page.get_by_role("heading", name="Officer hours per call")).to_be_visible()
    assert rendered(page, "img.chart") >= 2, "the trend and breakdown charts did not render"
    expect(page.get_by_role("heading", name="By neighborhood")).to_be_visible()
    shot(page, "outcomes-metric")


def test_the_evaluation_page_and_the_council_report(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    sign_in(page, "demo-program-manager", next="/outcomes/evaluation")
    expect(page.get_by_role("heading", name="Evaluation")).to_be_visible()
    expect(page.get_by_role("heading", name="What changed")).to_be_visible()
    expect(page.get_by_role("heading", name="Priority-1 response time")).to_be_visible()
    assert_accessible(page)
    shot(page, "outcomes-evaluation")

    with page.expect_download() as download:
        page.get_by_role("link", name="PDF report").first.click()
    saved = tmp_path / "report.pdf"
    download.value.save_as(saved)
    report = PdfReader(saved)
    assert len(report.pages) >= 2
    text = "\n".join(sheet.extract_text() for sheet in report.pages)
    assert "What changed" in text and "Method" in text


def test_a_cohort_is_frozen_and_followed(page: Page, live_server: LiveServer) -> None:
    sign_in(page, "demo-program-manager", next="/outcomes/cohorts")
    page.get_by_label("Name").fill("Program start")
    page.get_by_role("button", name="Freeze").click()
    expect(page.get_by_role("heading", name="Program start")).to_be_visible()
    expect(page.get_by_role("heading", name="Stabilization")).to_be_visible()
    assert rendered(page, "img.chart") == 1
    shot(page, "outcomes-cohort")
