"""The set-based CAD lane stores exactly what the row path stores, row for row.

Each test imports the same calls file twice into the real store, once through the DuckDB lane
and once through the row path only (``ingest_set_lane`` off), and compares everything a user
could see: calls, unit responses, places, the quarantine (reasons and verbatim text) and the
run's counts.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from tests.conftest import empty_store

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.demo.city import build_city
from corespond.demo.params import CityParams
from corespond.ingest import cad_lane, service
from corespond.ingest.schemas import IngestSummary
from corespond.sources.base import ReadOptions
from corespond.sources.cad_csv import CALL_FILE_COLUMNS
from corespond.sources.csvio import to_csv_line
from corespond.sources.plan import Export

ZONE = "America/Los_Angeles"
DEMO_CITY_SEED = 3


def ingest(path: Path, *, set_lane: bool, batch_size: int = 50_000) -> IngestSummary:
    task = Export(path, "cad-csv", "Lane CAD", options=ReadOptions(timezone=_zone()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service.get_settings(), "ingest_set_lane", set_lane)
        patch.setattr(service.get_settings(), "ingest_batch_size", batch_size)
        with unit_of_work() as session:
            return service.run(session, task)


def _zone() -> ZoneInfo:
    return ZoneInfo(ZONE)


def snapshot() -> dict[str, Any]:
    """What the store holds for the import, without ids, run ids and write times (a unit's
    call is named by its key)."""
    with session_factory()() as session:
        places = {
            place.id: (place.place_key, place.street, place.beat, place.sector, place.precinct,
                       place.neighborhood, place.latitude, place.longitude)
            for place in session.scalars(select(models.Place))
        }  # fmt: skip
        stored_calls = list(session.scalars(select(models.CallForService)))
        call_keys = {call.id: call.source_key for call in stored_calls}
        calls = sorted(
            (call.source_key, call.content_hash, call.call_source, call.priority,
             call.initial_call_type, call.final_call_type, call.disposition, call.received_at,
             call.queued_at, call.dispatched_at, call.first_arrival_at, call.cleared_at,
             call.notes, call.data_category, places.get(call.place_id) if call.place_id else None)
            for call in stored_calls
        )  # fmt: skip
        units = sorted(
            (unit.source_key, unit.content_hash, unit.call_key, unit.call_sign,
             unit.responder_type, unit.dispatched_at, unit.en_route_at, unit.at_scene_at,
             unit.in_service_at, unit.data_category,
             call_keys.get(unit.call_id) if unit.call_id else None)
            for unit in session.scalars(select(models.UnitResponse))
        )  # fmt: skip
        quarantine = sorted(
            (row.file, row.locator, row.reason, service.quarantined_text(row))
            for row in session.scalars(select(models.QuarantinedRow))
        )
    return {"calls": calls, "units": units, "places": sorted(places.values()),
            "quarantine": quarantine}  # fmt: skip


def counts(summary: IngestSummary) -> tuple[int, int, int, int]:
    return summary.read, summary.stored, summary.unchanged, summary.quarantined


def both_lanes(
    path: Path, engine: Engine, *, before: Path | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Import ``path`` through each lane into an empty store (after ``before``, through the same
    lane, if given); also check a re-import is a no-op."""
    empty_store(engine)
    if before is not None:
        ingest(before, set_lane=True)
    lane = ingest(path, set_lane=True)
    lane_rows = snapshot()
    again = ingest(path, set_lane=True)
    assert again.stored == 0 and again.unchanged + again.quarantined == again.read
    assert snapshot()["calls"] == lane_rows["calls"]
    empty_store(engine)
    if before is not None:
        ingest(before, set_lane=False)
    row_path = ingest(path, set_lane=False)
    assert counts(lane) == counts(row_path)
    assert lane.read == lane.stored + lane.unchanged + lane.quarantined
    return lane_rows, snapshot()


# --- generated files -------------------------------------------------------------------------


def mostly(valid: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid values 49 times in 50: a row has some twenty fields, and the lane should take
    many events whole while every kind of odd value still turns up."""
    return st.sampled_from(range(50)).flatmap(lambda draw: valid if draw else odd)


VALID_STAMPS = st.builds(
    "{:02d}/{:02d}/{} {:02d}:{:02d}:{:02d} {}".format,
    st.integers(1, 12), st.integers(1, 28), st.sampled_from([2024, 2025]),
    st.integers(1, 12), st.integers(0, 59), st.integers(0, 59), st.sampled_from(["AM", "PM"]),
)  # fmt: skip
ODD_STAMPS = st.sampled_from(
    [
        # Around the clock changes: an hour that happens twice, and one that never happens.
        "11/03/2024 01:30:00 AM", "11/03/2024 12:59:00 AM", "03/10/2024 02:30:00 AM",
        # Forms only the row path reads, and forms nobody reads.
        "2024-06-01T10:00:00", "2024-06-01 10:00:00-07:00", "6/1/2024 9:05 am",
        "00/01/2024 10:00:00 AM", "02/30/2024 10:00:00 AM", "01/01/1899 10:00:00 AM",
        "01/01/2024 00:30:00 AM", "01/01/2024 13:30:00 PM", "01/01/2024 11:59:60 PM",
        " ", "NULL", "n/a", "yesterday", "06/01/2024 10:00:00 PM\t",
    ]
)  # fmt: skip
STAMPS = st.one_of(mostly(VALID_STAMPS, ODD_STAMPS), st.just(""))
TEXTS = mostly(
    st.sampled_from(["", "REPORT", " ORAL WARNING ", "CCR, ONLY", 'said "hi"', "a\nb", "Café"]),
    st.one_of(
        st.sampled_from(["NULL", "nan", "\u00a0x", "x\u2003", "a\x00b"]),
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6),
    ),
)
CODES = mostly(
    st.sampled_from(["911", "ONVIEW", "telephone other, not 911", "", " 911 "]),
    st.sampled_from(["PIGEON", "na"]),
)
UNIT_TYPES = mostly(st.sampled_from(["POLICE", "care", "", "EMS"]), st.just("HORSE"))
PRIORITIES = mostly(st.sampled_from(["1", "9", "0", "", "03"]), st.sampled_from(["10", "-1", "x"]))
POSITIONS = {"1XX BLOCK OF ELM ST": ("47.61", "-122.33"), "12 Pine Street": ("REDACTED", "")}
"""One place, one position: which spelling of a place is stored first is not the point here
(the lane writes its rows before those it hands back). Without a street, only positions that
both lanes reject."""
BAD_COORDINATES = mostly(st.just(""), st.sampled_from(["91", "1e2", "nan", "x", "-200.5"]))
BEATS = {"N1": ("North", "N", "Hillcrest"), "S1": ("South", "S", "Riverside"), "": ("", "", "")}


@st.composite
def call_rows(draw: st.DrawFn) -> list[list[str]]:
    event = draw(st.sampled_from(["E-1", "E-2", "E-3", "", " E-4"]))
    beat = draw(st.sampled_from(sorted(BEATS)))
    precinct, sector, neighborhood = BEATS[beat]
    street = draw(st.sampled_from(["1XX BLOCK OF ELM ST", "", "12 Pine Street"]))
    latitude, longitude = POSITIONS.get(street) or (draw(BAD_COORDINATES), "")
    call = {
        "CAD Event Number": event,
        "Call Type": draw(CODES),
        "Priority": draw(PRIORITIES),
        "Initial Call Type": draw(TEXTS),
        "Final Call Type": draw(TEXTS),
        "CAD Event Clearance Description": draw(TEXTS),
        "CAD Event Received Time": draw(STAMPS),
        "CAD Event Original Time Queued": draw(STAMPS),
        "CAD Event First Dispatch Time": draw(STAMPS),
        "CAD Event Arrived Time": draw(STAMPS),
        "CAD Event Cleared Time": draw(STAMPS),
        "Dispatch Precinct": precinct,
        "Dispatch Sector": sector,
        "Dispatch Beat": beat,
        "Dispatch Neighborhood": neighborhood,
        "Dispatch Address": street,
        "Dispatch Latitude": latitude,
        "Dispatch Longitude": longitude,
    }
    rows = []
    for _ in range(draw(st.integers(1, 3))):
        unit = {
            "Call Sign Dispatch ID": draw(st.sampled_from(["1A1", "2B2", "", "1A1"])),
            "Call Sign Type": draw(UNIT_TYPES),
            "Call Sign Dispatch Time": draw(STAMPS),
            "Call Sign En Route Time": draw(STAMPS),
            "Call Sign At Scene Time": draw(STAMPS),
            "Call Sign In-Service Time": draw(STAMPS),
        }
        rows.append([{**call, **unit}[column] for column in CALL_FILE_COLUMNS])
    return rows


def write_calls(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([list(CALL_FILE_COLUMNS), *rows])
    return path


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(call_rows(), min_size=1, max_size=8))
def test_the_lane_stores_what_the_row_path_stores(
    events: list[list[list[str]]], store: Engine, tmp_path: Path
) -> None:
    path = write_calls(tmp_path / "calls.csv", [row for rows in events for row in rows])

    lane, row_path = both_lanes(path, store)

    assert lane == row_path
    note(f"lane share {lane_share(path):.2f}")
    event(f"lane took {'some' if lane_share(path) else 'no'} rows")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.lists(call_rows(), min_size=1, max_size=6),
    second=st.lists(call_rows(), min_size=1, max_size=6),
)
def test_a_second_file_changes_the_store_as_the_row_path_does(
    first: list[list[list[str]]], second: list[list[list[str]]], store: Engine, tmp_path: Path
) -> None:
    """The second file's events overlap the first's: calls and units are updated, kept or
    added, and each unit still names its call."""
    before = write_calls(tmp_path / "before.csv", [row for rows in first for row in rows])
    path = write_calls(tmp_path / "calls.csv", [row for rows in second for row in rows])

    lane, row_path = both_lanes(path, store, before=before)

    assert lane == row_path


def test_the_demo_citys_calls_file_is_stored_identically(store: Engine, tmp_path: Path) -> None:
    city = tmp_path / "city"
    build_city(CityParams(people=600, years=1, seed=DEMO_CITY_SEED), city)
    calls = city / "cad" / "calls.csv"

    lane, row_path = both_lanes(calls, store)

    assert lane == row_path
    assert len(lane["calls"]) > 500
    assert lane_share(calls) > 0.99


def lane_share(path: Path) -> float:
    """The share of a file's rows the lane converts itself."""
    lane = cad_lane.open_lane(path, ReadOptions(timezone=_zone()))
    if lane is None:
        return 0.0
    with lane:
        total, taken = lane.size()
    return taken / total if total else 0.0


def lane_took(path: Path) -> bool:
    lane = cad_lane.open_lane(path, ReadOptions(timezone=_zone()))
    if lane is not None:
        lane.close()
    return lane is not None


def test_files_the_lane_cannot_take_whole_go_to_the_row_path(tmp_path: Path) -> None:
    good = write_calls(tmp_path / "good.csv", [])
    assert lane_took(good)

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(good.read_bytes() + b"E-1,911,1,Caf\xe9\n")
    truncated = tmp_path / "truncated.csv"
    truncated.write_text(good.read_text() + 'E-1,911,1,"open quote\n', encoding="utf-8")
    wrong_width = tmp_path / "wide.csv"
    wrong_width.write_text(good.read_text() + "E-1,911\n", encoding="utf-8")
    for path in (latin1, truncated, wrong_width):
        assert not lane_took(path), path.name
    assert cad_lane.open_lane(good, ReadOptions(timezone=_zone(), encoding="latin-1")) is None


@pytest.mark.parametrize(
    "tail",
    [b"E-1,911,1,Caf\xe9\n", b'E-1,911,1,"open quote\n', b"E-1,911\n"],
    ids=["latin-1 byte", "unterminated quote", "short row"],
)
def test_a_file_the_lane_refuses_loses_no_row(store: Engine, tmp_path: Path, tail: bytes) -> None:
    good_rows = [
        [{"CAD Event Number": "E-9", "Call Type": "911"}.get(c, "") for c in CALL_FILE_COLUMNS]
    ]
    path = write_calls(tmp_path / "calls.csv", good_rows)
    path.write_bytes(path.read_bytes() + tail)

    summary = ingest(path, set_lane=True)

    assert (summary.read, summary.stored, summary.quarantined) == (2, 1, 1)
    quarantined = snapshot()["quarantine"]
    assert quarantined[0][1] == "row 2"


def test_rows_the_lane_hands_back_keep_their_exact_reason(store: Engine, tmp_path: Path) -> None:
    def row(event: str, priority: str, received: str) -> list[str]:
        values = {"CAD Event Number": event, "Priority": priority,
                  "CAD Event Received Time": received, "Call Sign Dispatch ID": "1A1",
                  "Call Sign Type": "POLICE"}  # fmt: skip
        return [values.get(column, "") for column in CALL_FILE_COLUMNS]

    path = write_calls(
        tmp_path / "calls.csv",
        [row("E-1", "2", "06/01/2025 10:00:00 AM"), row("E-2", "12", "06/01/2025 10:00:00 AM"),
         row("E-3", "2", "06/31/2025 10:00:00 AM"), row("E-3", "2", "06/01/2025 10:00:00 AM")],
    )  # fmt: skip

    summary = ingest(path, set_lane=True)

    assert counts(summary) == (4, 2, 0, 2)
    reasons = {locator: reason for _, locator, reason, _ in snapshot()["quarantine"]}
    assert set(reasons) == {"row 2", "row 3"}
    assert "Priority" in reasons["row 2"] and "less than or equal to 9" in reasons["row 2"]
    assert reasons["row 3"].startswith("CAD Event Received Time: not a date and time")
    with open(path, newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert snapshot()["quarantine"][0][3] == to_csv_line(lines[2])


def test_a_nul_character_is_quarantined_with_its_field_not_a_failed_import(
    store: Engine, tmp_path: Path
) -> None:
    # PostgreSQL refuses NUL in text: the row is rejected with the field named, in both lanes.
    def row(event: str, call_type: str) -> list[str]:
        values = {"CAD Event Number": event, "Priority": "2", "Initial Call Type": call_type,
                  "CAD Event Received Time": "06/01/2025 10:00:00 AM",
                  "Call Sign Dispatch ID": "1A1", "Call Sign Type": "POLICE"}  # fmt: skip
        return [values.get(column, "") for column in CALL_FILE_COLUMNS]

    path = write_calls(tmp_path / "calls.csv", [row("E-1", "WELFARE"), row("E-2", "WEL\x00FARE")])

    lane, row_path = both_lanes(path, store)

    assert lane == row_path
    assert [(locator, "NUL" in reason) for _, locator, reason, _ in lane["quarantine"]] == [
        ("row 2", True)
    ]
    assert len(lane["calls"]) == 1
