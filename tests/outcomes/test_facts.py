"""Call facts and metrics on calls built by hand, where every answer is known exactly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.dispatch.triage import default_protocol
from corespond.outcomes import facts, metrics, views
from corespond.outcomes.definitions import load_definitions
from support.calls_by_hand import DAY, City

DEFINITIONS = load_definitions()


@pytest.fixture
def city(store: Engine) -> Iterator[City]:
    yield City()


def refresh(*, full: bool = False) -> facts.Refreshed:
    with unit_of_work(session_factory(write=True)) as session:
        return facts.refresh(session, DEFINITIONS, default_protocol(), full=full)


def fact(call_id: int) -> models.OutcomeCall:
    with unit_of_work() as session:
        row = session.get(models.OutcomeCall, call_id)
        assert row is not None, call_id
        session.expunge(row)
        return row


def test_a_calls_facts_are_derived_from_the_call_its_units_and_what_followed(city: City) -> None:
    run = city.run("cad")
    care = city.call(run, units=("care_team",), dispatch_s=90, travel_s=300)
    paired = city.call(run, units=("care_team", "police"))
    police = city.call(run, call_type="ASLT - IP/JO WITH OR W/O WPNS (NO SHOOTINGS)",
                       units=("police", "police"), beat="B2", scene_s=1800)  # fmt: skip
    night = city.call(run, at=DAY + timedelta(hours=14), units=("care_team",))  # 00:00 local
    record = city.person(run)
    rms = city.run("rms")
    city.arrest(rms, police, record)
    city.arrest(rms, police, record, kind="summoned_cited")
    ems = city.run("ems")
    city.transport(ems, paired)
    city.transport(ems, police, destination="4221001")  # home: a transport, not to the ER

    assert refresh().calls == 4

    first = fact(care)
    assert (first.team, first.eligible, first.category, first.community) == (
        "care_team", True, "behavioral", True,
    )  # fmt: skip
    assert (first.dispatch_delay_s, first.travel_s, first.response_s) == (90, 300, 390)
    assert first.response_valid and first.program_area
    assert (first.day, first.hour) == (date(2024, 1, 10), 10)
    assert first.officer_s == 0 and first.care_response_s == 390

    assert fact(paired).team == "co_response"
    assert (fact(paired).transports, fact(paired).er_transports) == (1, 1)

    third = fact(police)
    assert (third.team, third.eligible, third.program_area) == ("police", False, False)
    assert (third.arrests, third.citations) == (1, 1)
    assert (third.transports, third.er_transports) == (1, 0)
    assert third.officer_units == 2 and third.officer_s == 2 * (1800 + 240)

    assert fact(night).hour == 0 and not fact(night).program_area


def test_a_response_time_out_of_bounds_is_kept_and_flagged(city: City) -> None:
    run = city.run("cad")
    backwards = city.call(run, dispatch_s=-600, travel_s=300)  # arrived before it was queued
    slow = city.call(run, dispatch_s=60, travel_s=5 * 3600)
    refresh()
    assert fact(backwards).response_valid is False
    assert fact(backwards).response_s == -300
    assert fact(slow).response_valid is False and fact(slow).police_response_s is None


def test_refresh_rebuilds_only_what_new_runs_touched_and_waits_for_running_ones(
    city: City,
) -> None:
    run = city.run("cad")
    call = city.call(run)
    record = city.person(run)
    assert refresh().calls == 1
    assert refresh().calls == 0, "nothing new"

    rms = city.run("rms")
    city.arrest(rms, call, record)
    assert refresh().calls == 1
    assert fact(call).arrests == 1

    running = city.run("rms", status="running")
    city.arrest(running, call, record)
    assert refresh().calls == 1 and fact(call).arrests == 2
    later = city.run("cad")
    city.call(later)
    # The running import may write more: it is read again until it has finished.
    assert refresh().calls == 2
    with unit_of_work() as session:
        assert session.scalars(select(models.OutcomeState.ingest_run_id)).one() == rms
    assert refresh(full=True).calls == 2


def test_repeat_calls_for_a_person_and_a_place_within_the_window(city: City) -> None:
    run = city.run("cad")
    first = city.call(run, beat="B1")
    again = city.call(run, at=DAY + timedelta(days=10), beat="B1")
    later = city.call(run, at=DAY + timedelta(days=60), beat="B1")
    elsewhere = city.call(run, at=DAY + timedelta(days=20), beat="B2")
    record = city.person(run)
    with unit_of_work() as session:
        person = session.scalars(
            select(models.PersonLink.person_id).where(models.PersonLink.person_record_id == record)
        ).one()
    other_record = city.person(run, person_id=person)  # the same person, another agency's record
    city.name(run, first, record)
    city.name(run, first, other_record)  # named twice on one call: not a repeat of itself
    city.name(run, elsewhere, other_record)
    refresh()
    assert [fact(c).repeat_place for c in (first, again, later, elsewhere)] == [
        False, True, False, False,
    ]  # fmt: skip
    assert [fact(c).repeat_person for c in (first, elsewhere)] == [False, True]
    assert fact(elsewhere).subject_race == "White" and fact(elsewhere).people == 1


def test_metrics_over_a_slice(city: City) -> None:
    run = city.run("cad")
    rms = city.run("rms")
    record = city.person(run)
    eligible = [city.call(run, units=("police",)) for _ in range(4)]
    city.call(run, units=("care_team",))
    city.call(run, priority=1, call_type="ASLT - IP/JO WITH OR W/O WPNS (NO SHOOTINGS)",
              dispatch_s=30, travel_s=150, beat="B2")  # fmt: skip
    city.call(run, priority=1, call_type="ASLT - IP/JO WITH OR W/O WPNS (NO SHOOTINGS)",
              dispatch_s=30, travel_s=450, beat="B2")  # fmt: skip
    city.call(run, priority=1, source="on_view", dispatch_s=0, travel_s=10, beat="B2")
    city.arrest(rms, eligible[0], record)
    refresh()
    whole = metrics.Filters(date(2024, 1, 1), date(2024, 1, 31))
    with unit_of_work() as session:
        measured = metrics.measure(session, whole, DEFINITIONS)
        in_b2 = metrics.measure(session, metrics.Filters(whole.start, whole.end, beat="B2"),
                                DEFINITIONS)  # fmt: skip
    assert measured.totals["calls"] == 8
    assert measured.totals["arrests_eligible"] == pytest.approx(100 / 6)  # 1 arrest, 6 eligible
    assert measured.counts["arrests_eligible"] == 6
    assert measured.totals["care_team_only"] == pytest.approx(100 / 6)
    assert measured.totals["diversion"] == pytest.approx(500 / 6)  # 5 of 6 crisis calls
    # Median of the community-generated priority-1 calls: 180 s and 480 s (on-view left out).
    assert measured.totals["p1_response"] == pytest.approx(330 / 60)
    assert measured.counts["p1_response"] == 2
    assert in_b2.totals["calls"] == 3 and in_b2.totals["arrests_eligible"] == 0
    assert in_b2.counts["arrests_eligible"] == 1  # the officer-initiated crisis call
    assert measured.weekly.loc["2024-01-08", "calls"] == 8


def test_filters_refuse_a_period_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends"):
        metrics.Filters(date(2024, 2, 1), date(2024, 1, 1))


def test_small_cells_are_suppressed_for_viewers_without_person_level_access(city: City) -> None:
    run = city.run("cad")
    for _ in range(3):
        city.call(run)
    refresh()
    whole = metrics.Filters(date(2024, 1, 1), date(2024, 1, 31))
    with unit_of_work() as session:
        shown = views.dashboard(session, whole, DEFINITIONS, small_cells=True)
        hidden = views.dashboard(session, whole, DEFINITIONS, small_cells=False)
    by_key = {tile.metric.key: tile for tile in hidden.tiles}
    assert by_key["arrests_eligible"].suppressed and by_key["arrests_eligible"].shown == "<11"
    assert not any(tile.suppressed for tile in shown.tiles)
    assert hidden.by_team.loc[0, "count"] == "<11" and hidden.by_team.loc[0, "arrests"] == "<11"
    assert shown.by_team.loc[0, "count"] == 3
