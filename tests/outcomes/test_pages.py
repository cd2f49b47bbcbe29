"""The outcomes pages: who may see them, what they show, small cells, bad input, exports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from corespond.web.app import create_app
from support.auth import csrf, sign_in
from support.calls_by_hand import DAY, City

PERIOD = "from=2024-01-01&to=2024-01-31"


@pytest.fixture
def city(store: Engine) -> Iterator[City]:
    yield City()


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def calls(city: City, n: int, **fields: object) -> list[int]:
    run = city.run("cad")
    return [city.call(run, **fields) for _ in range(n)]  # type: ignore[arg-type]


def tile(page: str, label: str) -> str:
    """The value a tile shows, by its label."""
    match = re.search(
        rf'tile-label">{re.escape(label)}</span>\s*<span class="tile-value">([^<]+)<', page
    )
    assert match, f"no tile {label!r}"
    return match.group(1).strip()


def test_a_program_manager_sees_the_dashboard_and_it_follows_new_calls(
    city: City, client: TestClient
) -> None:
    calls(city, 12)
    sign_in(client, "pm", "program_manager")
    page = client.get(f"/outcomes?{PERIOD}")
    assert page.status_code == 200
    assert tile(page.text, "Arrests on eligible calls") == "0.00"
    assert page.text.count('src="data:image/svg+xml;base64,') >= 10  # the sparklines
    assert "By who responded" in page.text

    record = city.person(city.run("cad"))
    first_call = calls(city, 1)[0]
    city.arrest(city.run("rms"), first_call, record)  # arrives after the first look
    again = client.get(f"/outcomes?{PERIOD}")
    assert tile(again.text, "Arrests on eligible calls") == f"{100 / 13:.2f}"


def test_the_pages_are_for_program_evaluation_roles(city: City, client: TestClient) -> None:
    sign_in(client, "officer", "officer")
    for path in ("/outcomes", "/outcomes/evaluation", "/outcomes/cohorts", "/outcomes/export.csv"):
        assert client.get(path).status_code == 403, path


def test_small_cells_are_hidden_from_viewers_without_person_level_access(
    city: City, client: TestClient
) -> None:
    calls(city, 5)
    sign_in(client, "steward", "data_steward")
    page = client.get(f"/outcomes?{PERIOD}").text
    assert tile(page, "Arrests on eligible calls") == "&lt;11"
    assert "fewer than 11 records" in page
    client.cookies.clear()
    sign_in(client, "manager", "program_manager")
    assert tile(client.get(f"/outcomes?{PERIOD}").text, "Arrests on eligible calls") == "0.00"


def test_filters_narrow_the_slice_and_bad_input_is_named(city: City, client: TestClient) -> None:
    calls(city, 12, beat="B1")
    calls(city, 20, beat="B2")
    sign_in(client, "pm", "program_manager")
    assert "32 counted" in client.get(f"/outcomes?{PERIOD}").text
    narrowed = client.get(f"/outcomes?{PERIOD}&beat=B1", headers={"HX-Request": "true"})
    assert "12 counted" in narrowed.text and "32 counted" not in narrowed.text
    for query, message in (
        ("from=yesterday", "must be a date"),
        ("priority=1;drop", "whole number"),
        ("team=swat", "unknown responder"),
        ("area=moon", "inside or outside"),
        ("from=2024-02-01&to=2024-01-01", "ends before it starts"),
    ):
        answer = client.get(f"/outcomes?{query}")
        assert answer.status_code == 200 and message in answer.text, query


def test_a_metric_drills_down_by_neighborhood_and_responder(city: City, client: TestClient) -> None:
    calls(city, 12, beat="B1", units=("care_team",))
    calls(city, 15, beat="B2")
    sign_in(client, "pm", "program_manager")
    page = client.get(f"/outcomes/metrics/care_team_only?{PERIOD}")
    assert page.status_code == 200
    assert "By neighborhood" in page.text and "Downtown" in page.text and "Riverside" in page.text
    assert "Definition:" in page.text
    assert client.get("/outcomes/metrics/happiness").status_code == 404


def test_csv_exports_always_suppress_small_cells(city: City, client: TestClient) -> None:
    calls(city, 12, beat="B1")
    calls(city, 4, beat="B2")
    sign_in(client, "pm", "program_manager")  # person-level access: the page would show all
    answer = client.get(f"/outcomes/export.csv?{PERIOD}&table=neighborhood&metric=calls")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.splitlines()
    assert lines[0] == "neighborhood,value,count"
    assert "Downtown,12.0,12" in lines and "Riverside,<11,<11" in lines
    tiles = client.get(f"/outcomes/export.csv?{PERIOD}").text
    assert tiles.splitlines()[0] == "metric,label,unit,value,count"
    responders = client.get(f"/outcomes/export.csv?{PERIOD}&table=responders").text.splitlines()
    assert responders[0].startswith("responder,count,response_mean_min")
    assert responders[1].startswith("police,16,")
    refused = client.get(f"/outcomes/export.csv?{PERIOD}&table=passwords")
    assert refused.status_code == 422


def test_the_evaluation_says_why_it_cannot_estimate_on_too_little_data(
    city: City, client: TestClient
) -> None:
    calls(city, 12)
    sign_in(client, "pm", "program_manager")
    page = client.get("/outcomes/evaluation")
    assert page.status_code == 200
    assert "not evaluated" in page.text or "Evaluation" in page.text
    assert "Traceback" not in page.text


def test_the_report_is_a_pdf(city: City, client: TestClient) -> None:
    calls(city, 12)
    sign_in(client, "pm", "program_manager")
    answer = client.get(f"/outcomes/report.pdf?{PERIOD}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF") and answer.content.rstrip().endswith(b"%%EOF")
    assert client.get("/outcomes/report.pdf?from=2024-13-01").status_code == 422


def test_a_program_manager_freezes_a_cohort_once_by_name(city: City, client: TestClient) -> None:
    run = city.run("cad")
    record = city.person(run)
    for day in range(6):
        city.name(run, city.call(run, at=DAY + timedelta(days=day)), record)
    sign_in(client, "pm", "program_manager")
    token = csrf(client, "/outcomes/cohorts")
    form = {"csrf_token": token, "name": "January", "frozen_on": "2024-02-01", "note": ""}
    made = client.post("/outcomes/cohorts", data=form, follow_redirects=False)
    assert made.status_code == 303
    page = client.get(made.headers["location"])
    assert page.status_code == 200 and "January" in page.text and "Stabilization" in page.text
    again = client.post("/outcomes/cohorts", data=form)
    assert again.status_code == 422 and "January" in again.text
    bad_day = client.post("/outcomes/cohorts", data={**form, "name": "x", "frozen_on": "soon"})
    assert bad_day.status_code == 422

    client.cookies.clear()
    sign_in(client, "steward", "data_steward")
    listed = client.get("/outcomes/cohorts")
    assert "January" in listed.text and "Freeze a cohort" not in listed.text
    token = csrf(client, "/outcomes/cohorts")
    refused = client.post("/outcomes/cohorts", data={**form, "csrf_token": token, "name": "y"})
    assert refused.status_code == 403
    detail = client.get(made.headers["location"]).text
    assert "Members are listed only for a program manager" in detail
    exported = client.get(made.headers["location"] + "/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert (
        lines[0]
        == "window_days,ends_on,ended,members,housed,in_treatment,fewer_contacts,stabilized"
    )
    assert lines[1].startswith("182,")
    assert client.get("/outcomes/cohorts/999/export.csv").status_code == 404
