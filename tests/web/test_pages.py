"""The pages make demo shows: sources and runs, quarantine, and the calls search."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from corespond.db.engine import unit_of_work
from corespond.ingest import service
from corespond.sources.plan import plan_exports
from corespond.web.app import SECURITY_HEADERS, SecurityHeaders, create_app
from support.agencies import hold_source, make_agency
from support.auth import add, sign_in

ZONE = "America/Los_Angeles"
"""Where the test exports' wall-clock times are (the settings' default zone)."""

CAD = (
    "CAD Event Number,Call Type,Priority,Initial Call Type,CAD Event Original Time Queued,"
    "Dispatch Beat,Dispatch Address,Call Sign Dispatch ID,Call Sign Type\n"
    "E-10,911,1,CRISIS - SUICIDAL PERSON,2025-01-05T08:00:00,N1,1XX BLOCK OF ELM ST,1A1,POLICE\n"
    "E-11,911,3,NOISE - DISTURBANCE,2025-01-06T09:00:00,S2,4XX BLOCK OF OAK AVE,2B1,CARE\n"
    "E-12,911,<script>alert(1)</script>,NOISE,2025-01-06T09:30:00,S2,,,\n"
)


def import_as(path: Path, source: str, agency_key: str) -> None:
    """Import ``path`` as ``source``, held by the agency ``agency_key``."""
    for task in plan_exports([path], source=source, default_timezone=ZONE):
        with unit_of_work() as session:
            service.run(session, task)
    hold_source(source, agency_key)


def steward_at(agency_id: int) -> TestClient:
    """A data steward of that agency, working for data stewardship (their default purpose)."""
    add("steward", "data_steward", agency_id=agency_id)
    return sign_in(TestClient(create_app()), "steward")


@pytest.fixture
def client(store: Engine, tmp_path: Path) -> TestClient:
    dispatch = make_agency("metro-911", "dispatch")
    cad = tmp_path / "calls.csv"
    cad.write_text(CAD)
    import_as(cad, "Web CAD", "metro-911")
    return steward_at(dispatch)


def test_sources_page_lists_runs_with_counts(client: TestClient) -> None:
    page = client.get("/sources")

    assert page.status_code == 200
    assert "Web CAD" in page.text
    assert "Content-Security-Policy" in page.headers


def test_quarantine_page_escapes_what_it_shows(client: TestClient) -> None:
    page = client.get("/quarantine")

    assert page.status_code == 200
    assert "Priority" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_calls_search_filters_by_text_and_beat(client: TestClient) -> None:
    everything = client.get("/calls")
    crisis = client.get("/calls", params={"q": "suicidal"})
    south = client.get("/calls", params={"beat": "s2"})

    assert "E-10" in everything.text and "E-11" in everything.text
    assert "2025-01-05 08:00" in everything.text  # shown in local time, as it was received
    assert "E-10" in crisis.text and "E-11" not in crisis.text
    assert "E-11" in south.text and "E-10" not in south.text


def test_calls_search_says_what_is_wrong_with_bad_filters(client: TestClient) -> None:
    page = client.get("/calls", params={"priority": "high", "since": "yesterday"})

    assert page.status_code == 200
    assert "priority must be a whole number" in page.text
    assert "must be a date" in page.text


def test_calls_api_pages_and_validates(client: TestClient) -> None:
    first = client.get("/api/v1/calls", params={"limit": 1}).json()
    assert first["total"] == 2 and len(first["items"]) == 1
    assert first["items"][0]["event_number"] == "E-11"
    assert first["items"][0]["queued_at"] == "2025-01-06T17:00:00Z"  # the API speaks UTC

    assert client.get("/api/v1/calls", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/ingest/runs").json()[0]["quarantined"] == 1


def test_calls_date_filter_uses_local_days(client: TestClient) -> None:
    # E-11 was queued 2025-01-06 09:00 local (17:00 UTC); E-10 on 2025-01-05 08:00 local.
    page = client.get("/calls", params={"since": "2025-01-06", "until": "2025-01-06"})

    assert "E-11" in page.text and "E-10" not in page.text


def test_quarantine_page_withholds_ssns(store: Engine, tmp_path: Path) -> None:
    rms = tmp_path / "persons.csv"
    rms.write_text(
        "Person ID,Last Name,First Name,Date of Birth,SSN\n"
        "P9,Quillon,Zedna,02/30/1981,123-45-6780\n"
    )
    police = make_agency("riverbend-pd", "police")
    import_as(rms, "Web RMS", "riverbend-pd")

    page = steward_at(police).get("/quarantine")

    assert "Quillon" in page.text and "Date of Birth" in page.text
    assert "123-45-6780" not in page.text and "[SSN withheld]" in page.text


def test_the_same_block_in_two_beats_keeps_each_calls_beat(store: Engine, tmp_path: Path) -> None:
    cad = tmp_path / "calls.csv"
    cad.write_text(
        "CAD Event Number,Call Type,Priority,CAD Event Original Time Queued,Dispatch Beat,"
        "Dispatch Address\n"
        "E-1,911,2,2025-01-05T08:00:00,N1,1XX BLOCK OF PINE ST\n"
        "E-2,911,2,2025-01-05T09:00:00,S1,1XX BLOCK OF PINE ST\n"
    )
    dispatch = make_agency("metro-911", "dispatch")
    import_as(cad, "Beat CAD", "metro-911")

    south = steward_at(dispatch).get("/api/v1/calls", params={"beat": "S1"}).json()

    assert [call["event_number"] for call in south["items"]] == ["E-2"]


def test_every_response_carries_the_security_headers_a_response_may_set_its_own() -> None:
    """Pages, API errors and streamed bodies (the live board's events) all get the headers;
    a response that sets one itself keeps its own value."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    async def chunks():  # type: ignore[no-untyped-def]
        yield "event: incident\n\n"
        yield "event: incident\n\n"

    app = Starlette(routes=[
        Route("/plain", lambda _r: PlainTextResponse("ok")),
        Route("/own", lambda _r: PlainTextResponse("ok", headers={"Cache-Control": "max-age=60"})),
        Route("/stream", lambda _r: StreamingResponse(chunks(), media_type="text/event-stream")),
    ])  # fmt: skip
    app.add_middleware(SecurityHeaders)
    client = TestClient(app)

    for path in ("/plain", "/stream", "/missing"):
        answer = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers[name] == value, (path, name)
    assert client.get("/stream").text == "event: incident\n\nevent: incident\n\n"
    own = client.get("/own")
    assert own.headers["Cache-Control"] == "max-age=60"
    assert own.headers["X-Frame-Options"] == "DENY"
    assert own.headers.get_list("Cache-Control") == ["max-age=60"]


def test_api_refusals_carry_the_security_headers(store: Engine) -> None:
    answer = TestClient(create_app()).get("/api/v1/dispatch/incidents")

    assert answer.status_code == 401
    assert answer.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
