"""Queries for the call facts: what the store holds about calls, read as frames; the facts kept.

Each reader takes the calls to read as a condition on a call-id column (``Calls``), so the same
queries serve a full rebuild (a range of ids at a time) and the calls one ingest run touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import text

from corespond import models
from corespond.sources import nemsis

Calls = Callable[[Any], ColumnElement[bool]]
"""Which calls to read, as a condition on a column holding call ids."""


def id_range(low: int, high: int) -> Calls:
    return lambda column: column.between(low, high)


def id_list(ids: Sequence[int]) -> Calls:
    return lambda column: column.in_(ids)


def call_id_bounds(session: Session) -> tuple[int, int] | None:
    low, high = session.execute(
        select(func.min(models.CallForService.id), func.max(models.CallForService.id))
    ).one()
    return None if low is None else (low, high)


def frame(
    session: Session, query: Select[*tuple[Any, ...]], columns: list[str] | None = None
) -> pd.DataFrame:
    """A query's rows as a frame (named by ``columns``, else by the query's labels).

    The rows go in as plain tuples: pandas takes a list of SQLAlchemy rows a dozen times
    slower, which on a year of calls is most of a page's time.
    """
    result = session.execute(query)
    rows = [tuple(row) for row in result]
    return pd.DataFrame(rows, columns=columns or list(result.keys()))


def calls(session: Session, which: Calls) -> pd.DataFrame:
    call, place = models.CallForService, models.Place
    query = (
        select(
            call.id.label("call_id"),
            call.call_source,
            call.priority,
            func.coalesce(call.final_call_type, call.initial_call_type).label("call_type"),
            call.received_at,
            call.queued_at,
            call.dispatched_at,
            call.first_arrival_at,
            call.cleared_at,
            call.place_id,
            place.beat,
            place.sector,
            place.precinct,
            place.neighborhood,
        )
        .outerjoin(place, place.id == call.place_id)
        .where(which(call.id))
    )
    return frame(session, query)


def units(session: Session, which: Calls) -> pd.DataFrame:
    unit = models.UnitResponse
    query = select(
        unit.call_id, unit.responder_type, unit.dispatched_at, unit.en_route_at,
        unit.at_scene_at, unit.in_service_at,
    ).where(which(unit.call_id))  # fmt: skip
    return frame(session, query)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def outcomes(session: Session, which: Calls) -> pd.DataFrame:
    """Per call: arrests, citations, holds, force, injuries, transports (ER and all)."""
    arrest, hold, force, ems = (
        models.Arrest, models.InvoluntaryHold, models.UseOfForce, models.EmsRun,
    )  # fmt: skip
    zero = literal(0, Integer)
    parts = [
        select(
            arrest.call_id, _count(arrest.arrest_type != "summoned_cited").label("arrests"),
            _count(arrest.arrest_type == "summoned_cited").label("citations"),
            zero.label("holds"), zero.label("force"), zero.label("injuries"),
            zero.label("transports"), zero.label("er_transports"),
        ).where(which(arrest.call_id)).group_by(arrest.call_id),
        select(
            hold.call_id, zero, zero, func.count().label("holds"), zero, zero, zero, zero,
        ).where(which(hold.call_id)).group_by(hold.call_id),
        select(
            force.call_id, zero, zero, zero, func.count(),
            _count(force.subject_injured.is_(True)) + _count(force.officer_injured.is_(True)),
            zero, zero,
        ).where(which(force.call_id)).group_by(force.call_id),
        select(
            ems.call_id, zero, zero, zero, zero, zero, _count(ems.transported.is_(True)),
            _count(
                ems.transported.is_(True)
                & ems.destination_type.in_(sorted(nemsis.EMERGENCY_DEPARTMENTS))
            ),
        ).where(which(ems.call_id)).group_by(ems.call_id),
    ]  # fmt: skip
    found = frame(session, union(*parts).subquery().select())  # type: ignore[arg-type]
    if found.empty:
        return found
    return found.groupby("call_id", as_index=False).sum()


def people(session: Session, which: Calls) -> pd.DataFrame:
    """People named on the calls: role, demographics as recorded, resolved person (if linked)."""
    named, record, link = models.CallPerson, models.PersonRecord, models.PersonLink
    query = (
        select(
            named.call_id,
            named.role,
            record.sex,
            record.race,
            record.ethnicity,
            link.person_id,
        )
        .join(record, record.id == named.person_record_id)
        .outerjoin(link, link.person_record_id == named.person_record_id)
        .where(which(named.call_id))
        .order_by(named.call_id, named.id)
    )
    return frame(session, query)


def place_history(session: Session, which: Calls, since: datetime) -> pd.DataFrame:
    """Earlier calls at the places of the calls read, back to ``since``."""
    call = models.CallForService
    places = select(call.place_id).where(which(call.id), call.place_id.is_not(None))
    when = func.coalesce(call.queued_at, call.received_at)
    query = select(call.id.label("call_id"), call.place_id, when.label("at")).where(
        call.place_id.in_(places), when >= since
    )
    return frame(session, query)


def person_history(session: Session, which: Calls, since: datetime) -> pd.DataFrame:
    """Earlier calls naming the people named on the calls read, back to ``since``."""
    call, named, link = models.CallForService, models.CallPerson, models.PersonLink
    persons = (
        select(link.person_id)
        .join(named, named.person_record_id == link.person_record_id)
        .where(which(named.call_id))
    )
    when = func.coalesce(call.queued_at, call.received_at)
    query = (
        select(call.id.label("call_id"), link.person_id, when.label("at"))
        .join(named, named.call_id == call.id)
        .join(link, link.person_record_id == named.person_record_id)
        .where(link.person_id.in_(persons), when >= since)
    )
    return frame(session, query)


def programs(session: Session) -> list[models.Program]:
    """The co-response programs: their beats, hours and start dates define the program area."""
    query = select(models.Program).where(
        models.Program.program_type.in_(("co_response", "care_team", "alternative_response"))
    )
    return list(session.scalars(query))


def geography(session: Session) -> dict[str, list[str]]:
    """The precincts, sectors and neighborhoods of the jurisdiction's beat map."""
    beat = models.Beat
    found: dict[str, list[str]] = {}
    for name, column in (
        ("precinct", beat.precinct), ("sector", beat.sector), ("neighborhood", beat.neighborhood),
    ):  # fmt: skip
        query = select(column).where(column.is_not(None)).distinct().order_by(column)
        found[name] = [value for value in session.scalars(query) if value]
    return found


def calls_touched(session: Session, run_ids: Iterable[int]) -> list[int]:
    """Calls an ingest run wrote, or wrote something about (units, people, outcomes)."""
    runs = list(run_ids)
    if not runs:
        return []
    tables: list[type] = [
        models.UnitResponse, models.CallPerson, models.Arrest, models.InvoluntaryHold,
        models.UseOfForce, models.EmsRun,
    ]  # fmt: skip
    parts = [select(models.CallForService.id).where(models.CallForService.ingest_run_id.in_(runs))]
    parts += [
        select(table.call_id).where(table.ingest_run_id.in_(runs), table.call_id.is_not(None))  # type: ignore[attr-defined]
        for table in tables
    ]
    return sorted(session.scalars(union(*parts)))


def runs_after(session: Session, run_id: int) -> list[tuple[int, str]]:
    run = models.IngestRun
    return [
        (row.id, row.status)
        for row in session.execute(
            select(run.id, run.status).where(run.id > run_id).order_by(run.id)
        )
    ]


def state(session: Session) -> models.OutcomeState:
    found = session.scalars(select(models.OutcomeState).order_by(models.OutcomeState.id)).first()
    if found is None:
        found = models.OutcomeState(ingest_run_id=0)
        session.add(found)
        session.flush()
    return found


def replace_facts(session: Session, call_ids: Sequence[int], rows: list[dict[str, object]]) -> None:
    """Replace the facts of these calls (one executemany: rows all carry the same keys)."""
    table = models.OutcomeCall.__table__
    assert isinstance(table, Table)
    connection = session.connection()
    for start in range(0, len(call_ids), 5000):
        connection.execute(delete(table).where(table.c.call_id.in_(call_ids[start : start + 5000])))
    for start in range(0, len(rows), 5000):
        connection.execute(insert(table), rows[start : start + 5000])


def clear_facts(session: Session) -> None:
    """Forget every call's facts (a full rebuild follows): TRUNCATE on PostgreSQL, which
    leaves no dead rows behind for vacuum, as deleting half a million would."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("TRUNCATE outcome_call"))
    else:
        session.execute(delete(models.OutcomeCall))


def analyze(session: Session) -> None:
    """Renew the planner's statistics of the call facts."""
    session.execute(text("ANALYZE outcome_call"))


def er_visits(session: Session, start: date, end: date) -> pd.DataFrame:
    """Emergency-department visits starting in the period (UTC dates): ``day``, ``visits``."""
    visit = models.HospitalEncounter
    day = func.date(visit.started_at)
    query = (
        select(day.label("day"), func.count().label("visits"))
        .where(
            visit.encounter_kind == "er_visit",
            visit.started_at >= datetime.combine(start, time()),
            visit.started_at < datetime.combine(end + timedelta(days=1), time()),
        )
        .group_by(day)
    )
    return frame(session, query)


def referrals(session: Session, start: date, end: date) -> pd.DataFrame:
    referral = models.Referral
    query = select(referral.referred_on.label("day"), referral.status).where(
        referral.referred_on.between(start, end)
    )
    return frame(session, query)


def decisions(session: Session, start: date, end: date) -> pd.DataFrame:
    decision = models.DispatchDecision
    query = select(func.date(decision.decided_at).label("day"), decision.action).where(
        decision.decided_at >= datetime.combine(start, time()),
        decision.decided_at < datetime.combine(end + timedelta(days=1), time()),
    )
    return frame(session, query)
