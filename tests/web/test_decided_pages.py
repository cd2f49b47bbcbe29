"""The calls list and the ingest views under access decisions: a dispatch centre shares its
calls with the agencies it dispatches for; a non-partner agency sees them only as restricted;
quarantined rows and run errors are shown by their source's agency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.ingest import service
from corespond.models.base import utcnow
from corespond.sources.plan import plan_exports
from corespond.web.app import create_app
from support.agencies import agree, hold_source, make_agency
from support.auth import add, sign_in

ZONE = "America/Los_Angeles"
CAD = (
    "CAD Event Number,Call Type,Priority,Initial Call Type,CAD Event Original Time Queued,"
    "Dispatch Beat,Dispatch Address\n"
    "E-20,911,1,CRISIS - SUICIDAL PERSON,2025-01-05T08:00:00,N1,1XX BLOCK OF ELM ST\n"
    "E-21,911,3,NOISE - DISTURBANCE,2025-01-06T21:30:00,S2,4XX BLOCK OF OAK AVE\n"
    "E-22,911,high,NOISE,2025-01-06T09:30:00,S2,\n"
)


def import_as(path: Path, source: str, agency_key: str | None) -> None:
    for task in plan_exports([path], source=source, default_timezone=ZONE):
        with unit_of_work() as session:
            service.run(session, task)
    if agency_key:
        hold_source(source, agency_key)


def user_at(username: str, roles: str, agency_id: int) -> TestClient:
    add(username, roles, agency_id=agency_id)
    return sign_in(TestClient(create_app()), username)


@pytest.fixture
def city(store: Engine, tmp_path: Path) -> dict[str, int]:
    """Metro 911 dispatches for Riverbend PD, not for Lakeside PD; its CAD holds two calls."""
    ids = {
        "dispatch": make_agency("metro-911", "dispatch", name="Metro 911"),
        "pd": make_agency("riverbend-pd", "police", name="Riverbend PD"),
        "lakeside": make_agency("lakeside-pd", "police", name="Lakeside PD"),
    }
    ids["agreement"] = agree(ids["dispatch"], ids["pd"], "dispatch")
    cad = tmp_path / "calls.csv"
    cad.write_text(CAD)
    import_as(cad, "Metro CAD", "metro-911")
    return ids


def decisions(category: str) -> list[models.AuditEvent]:
    with session_factory()() as session:
        return list(
            session.scalars(
                select(models.AuditEvent).where(
                    models.AuditEvent.action == "access.decision",
                    models.AuditEvent.categories == category,
                )
            )
        )


def test_dispatch_shares_its_calls_with_the_agencies_it_dispatches_for(
    city: dict[str, int],
) -> None:
    officer = user_at("olive", "officer", city["pd"])

    page = officer.get("/calls")
    api = officer.get("/api/v1/calls").json()

    assert "E-20" in page.text and "E-21" in page.text and "not shown" not in page.text
    assert api["total"] == 2 and api["restricted"] == []
    events = decisions("call_incident")  # one per request, for the one agency holding calls
    assert events and {event.outcome for event in events} == {"allow"}
    event = events[-1]
    assert event.legal_basis == f"agreement:{city['agreement']}" and event.person_id is None
    assert json.loads(event.detail or "{}")["items"] == {"calls": 2}


def test_a_non_partner_agency_sees_calls_only_as_restricted(city: dict[str, int]) -> None:
    officer = user_at("lars", "officer", city["lakeside"])

    page = officer.get("/calls")
    api = officer.get("/api/v1/calls").json()

    assert "E-20" not in page.text and "SUICIDAL" not in page.text
    assert "2 calls held by Metro 911 not shown: restricted:" in page.text
    assert api["total"] == 0 and api["items"] == []
    [withheld] = api["restricted"]
    assert withheld["agency"] == "Metro 911" and withheld["calls"] == 2
    assert "Lakeside PD has no dispatch agreement" in withheld["reasons"][0]
    assert {event.outcome for event in decisions("call_incident")} == {"deny"}


def test_calls_need_a_role_whose_work_uses_them(city: dict[str, int]) -> None:
    caseworker = user_at("cass", "caseworker", city["pd"])  # no call work, same agency

    assert caseworker.get("/api/v1/calls").json()["total"] == 0


def test_calls_of_a_source_with_no_agency_are_shared_with_no_one(
    city: dict[str, int], tmp_path: Path
) -> None:
    stray = tmp_path / "stray.csv"
    stray.write_text(CAD.replace("E-2", "S-2"))
    import_as(stray, "Stray CAD", None)
    dispatcher = user_at("dora", "dispatcher", city["dispatch"])

    api = dispatcher.get("/api/v1/calls").json()

    assert {call["event_number"] for call in api["items"]} == {"E-20", "E-21"}
    [withheld] = api["restricted"]
    assert withheld["agency"] == "no recorded agency"
    assert "name the source's agency" in withheld["reasons"][0]


def test_the_calls_date_filter_uses_local_days_across_utc_midnight(city: dict[str, int]) -> None:
    # E-21 was queued 2025-01-06 21:30 local, which is 2025-01-07 05:30 UTC.
    dispatcher = user_at("dora", "dispatcher", city["dispatch"])

    day = dispatcher.get("/api/v1/calls", params={"since": "2025-01-06", "until": "2025-01-06"})
    next_day = dispatcher.get("/api/v1/calls", params={"since": "2025-01-07"})

    assert [call["event_number"] for call in day.json()["items"]] == ["E-21"]
    assert next_day.json()["total"] == 0


def test_quarantine_is_shown_to_the_sources_agency_and_restricted_to_others(
    city: dict[str, int],
) -> None:
    own = user_at("stew", "data_steward", city["dispatch"])
    other = user_at("stan", "data_steward", city["lakeside"])

    mine = own.get("/quarantine")
    theirs = other.get("/quarantine")

    assert "Priority" in mine.text and "high" in mine.text  # the bad row, as received
    assert "E-22" not in theirs.text and "high" not in theirs.text
    assert "restricted" in theirs.text and "Metro 911" in theirs.text
    events = [
        e for e in decisions("call_incident")
        if "quarantined_rows" in json.loads(e.detail or "{}")["items"]
    ]  # fmt: skip
    assert {(e.agency_id, e.outcome) for e in events} == {
        (city["dispatch"], "allow"),
        (city["lakeside"], "deny"),
    }


def test_a_failed_runs_error_is_shown_only_to_whom_the_sources_rows_may_be(
    city: dict[str, int],
) -> None:
    with unit_of_work() as session:
        source = session.scalar(
            select(models.SourceSystem).where(models.SourceSystem.name == "Metro CAD")
        )
        assert source is not None
        session.add(
            models.IngestRun(
                source_system_id=source.id, format="cad-csv", status="failed",
                finished_at=utcnow(), error="line 4: Vantrell,Zedna,123-45-6780 is not a call",
            )
        )  # fmt: skip
    own = user_at("stew", "data_steward", city["dispatch"])
    other = user_at("stan", "data_steward", city["lakeside"])

    mine = own.get("/sources")
    theirs = other.get("/api/v1/ingest/runs").json()

    assert "Vantrell,Zedna,[SSN withheld]" in mine.text and "123-45-6780" not in mine.text
    failed = next(run for run in theirs if run["status"] == "failed")
    assert failed["error"] is None and "restricted" in failed["error_restricted"]
