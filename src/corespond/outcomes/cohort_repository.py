"""Queries for frequent-utilizer cohorts: every person's contacts, housing and treatment, read as
frames in one query each (a city of 100,000 people is read in one pass, never person by person);
and the frozen cohorts and their members.

Each fact row carries the agency that holds it (its source system's agency; the source system's
own name where the jurisdiction names no agency), and its source system and data category, so
that a person-level view can ask the reader about each row before showing what it counts
(``outcomes.cohorts.members_for``). Days are local calendar days (``Settings.timezone``);
periods are half-open: ``since`` included, ``until`` not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import ColumnElement, Select, String, func, insert, literal, or_, select, union_all
from sqlalchemy.orm import Session

from corespond import models
from corespond.config import get_settings
from corespond.outcomes.repository import frame

CONTACT_COLUMNS = ["person_id", "at", "day", "kind", "agency_key", "source_system_id", "category"]
HOUSING_COLUMNS = ["person_id", "day", "kind", "agency_key", "source_system_id", "category"]
_TIMED = [name for name in CONTACT_COLUMNS if name != "day"]
"""What the timed queries select: ``day`` is worked out from ``at`` in the local time zone."""
ER_VISIT = "er_visit"
"""The hospital encounters that are ER visits (FHIR Encounter class EMER); inpatient stays and
observation are not contacts of their own (their ER visit, if any, is)."""
NOT_HELD = ("cancelled", "entered-in-error", "planned")
"""Treatment encounter statuses (FHIR Encounter.status) that are not treatment received."""


def contacts(
    session: Session,
    *,
    until: date,
    since: date | None = None,
    kinds: Iterable[str],
    cohort_id: int | None = None,
) -> pd.DataFrame:
    """One row per contact of a linked person with the crisis systems, on local days from
    ``since`` (None: the beginning) to the day before ``until``.

    Kinds: ``call`` (a call naming the person; named twice on one call is one contact), ``ems``
    (a patient care report), ``er_visit``, ``arrest`` (arrests and citations: both are police
    contacts) and ``hold`` (an involuntary hold). ``cohort_id``: only that cohort's members.

    Columns: person_id, at (UTC, as stored), day (the local day), kind, agency_key,
    source_system_id, category.
    """
    period = _Period(_utc(since), _utc(until), cohort_id)
    named, call = models.CallPerson, models.CallForService
    ems, visit = models.EmsRun, models.HospitalEncounter
    arrest, hold = models.Arrest, models.InvoluntaryHold
    wanted = set(kinds)
    parts: list[Select[Any]] = []
    if "call" in wanted:
        at = func.coalesce(call.queued_at, call.received_at)
        naming = (
            _facts(call, at, "call", named.person_record_id, period,
                   via=(named, named.call_id == call.id))
            .add_columns(call.id.label("call_id"))
            .distinct()
            .subquery()
        )  # fmt: skip
        parts.append(select(*(naming.c[name] for name in _TIMED)))
    if "ems" in wanted:
        at = func.coalesce(ems.psap_call_at, ems.dispatched_at, ems.at_scene_at)
        parts.append(_facts(ems, at, "ems", ems.person_record_id, period))
    if ER_VISIT in wanted:
        parts.append(
            _facts(visit, visit.started_at, ER_VISIT, visit.person_record_id, period).where(
                visit.encounter_kind == ER_VISIT
            )
        )
    if "arrest" in wanted:
        parts.append(_facts(arrest, arrest.arrested_at, "arrest", arrest.person_record_id, period))
    if "hold" in wanted:
        parts.append(_facts(hold, hold.started_at, "hold", hold.person_record_id, period))
    if not parts:
        return _timed(pd.DataFrame([], columns=_TIMED))
    return _timed(_read(session, union_all(*parts) if len(parts) > 1 else parts[0], _TIMED))


def housing(
    session: Session,
    *,
    cohort_id: int,
    since: date,
    until: date,
    project_types: Iterable[int],
    destinations: Iterable[int],
) -> pd.DataFrame:
    """A cohort's moves into housing: ``move_in`` (a move-in date in an enrollment in one of
    ``project_types``) and ``permanent_exit`` (an exit from any project to one of the HMIS
    ``destinations``), on days from ``since`` to the day before ``until``.

    Columns: person_id, day, kind, agency_key, source_system_id, category.
    """
    enrollment, program, leaving = models.Enrollment, models.Program, models.EnrollmentExit
    period = _Period(since, until, cohort_id)
    moved = (
        _facts(enrollment, enrollment.move_in_date, "move_in", enrollment.person_record_id,
               period)
        .join(program, program.id == enrollment.program_id)
        .where(program.hmis_project_type.in_(list(project_types)))
    )  # fmt: skip
    left = _facts(
        leaving, leaving.exit_date, "permanent_exit", leaving.person_record_id, period
    ).where(leaving.destination.in_(list(destinations)))
    frame = _read(session, union_all(moved, left), HOUSING_COLUMNS)
    frame["day"] = pd.to_datetime(frame["day"])
    return _typed(frame)


def treatment(session: Session, *, cohort_id: int, since: date, until: date) -> pd.DataFrame:
    """A cohort's behavioural-health and substance-use treatment encounters (not cancelled,
    planned or entered in error), on local days from ``since`` to the day before ``until``.

    Columns: person_id, at, day, agency_key, source_system_id, category.
    """
    encounter = models.TreatmentEncounter
    query = _facts(
        encounter, encounter.started_at, "treatment", encounter.person_record_id,
        _Period(_utc(since), _utc(until), cohort_id),
    ).where(or_(encounter.status.is_(None), encounter.status.not_in(NOT_HELD)))  # fmt: skip
    return _timed(_read(session, query, _TIMED)).drop(columns="kind")


class _Period(NamedTuple):
    """Facts from ``start`` to before ``end`` (days or stored times, as the fact's time is;
    None: no bound), of a cohort's members (None: of everyone)."""

    start: date | None
    end: date | None
    cohort_id: int | None


def _facts(
    model: Any,
    at: Any,
    kind: str,
    record_column: Any,
    period: _Period,
    *,
    via: tuple[Any, ColumnElement[bool]] | None = None,
) -> Select[Any]:
    """A fact table's rows in ``period`` as (person, time, kind, holding agency, source,
    category); ``via``: the table that names the person record, where the fact table does
    not."""
    link, system = models.PersonLink, models.SourceSystem
    query = select(
        link.person_id, at.label("at"), literal(kind, String).label("kind"),
        func.coalesce(system.agency_key, system.name).label("agency_key"),
        model.source_system_id, model.data_category.label("category"),
    ).select_from(model)  # fmt: skip
    if via is not None:
        query = query.join(*via)
    query = query.join(link, link.person_record_id == record_column).join(
        system, system.id == model.source_system_id
    )
    conditions: list[ColumnElement[bool]] = []
    if period.start is not None:
        conditions.append(at >= period.start)
    if period.end is not None:
        conditions.append(at < period.end)
    if period.cohort_id is not None:
        conditions.append(link.person_id.in_(_member_ids(period.cohort_id)))
    return query.where(*conditions)


def _member_ids(cohort_id: int) -> Select[Any]:
    member = models.CohortMember
    return select(member.person_id).where(member.cohort_id == cohort_id)


def _utc(day: date | None) -> datetime | None:
    """The stored (naive UTC) time at which the local ``day`` begins."""
    if day is None:
        return None
    zone = ZoneInfo(get_settings().timezone)
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _read(session: Session, query: Any, columns: list[str]) -> pd.DataFrame:
    return frame(session, query, columns)


def _timed(frame: pd.DataFrame) -> pd.DataFrame:
    """With ``at`` (stored UTC) read as times, and ``day``: the local day it fell on."""
    frame["at"] = pd.to_datetime(frame["at"])
    local = frame["at"].dt.tz_localize("UTC").dt.tz_convert(get_settings().timezone)
    frame.insert(2, "day", local.dt.tz_localize(None).dt.normalize())
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"person_id": "int64", "source_system_id": "int64"})


def cohort_named(session: Session, name: str) -> models.Cohort | None:
    return session.scalar(select(models.Cohort).where(models.Cohort.name == name))


def add_members(session: Session, cohort_id: int, members: pd.DataFrame) -> None:
    """Store a cohort's members (person_id, contacts, agencies), in batches."""
    rows = [
        {"cohort_id": cohort_id, "person_id": int(person), "contacts": int(count),
         "agencies": int(agencies)}
        for person, count, agencies in members[["person_id", "contacts", "agencies"]].itertuples(
            index=False
        )
    ]  # fmt: skip
    for start in range(0, len(rows), 5000):
        session.execute(insert(models.CohortMember), rows[start : start + 5000])


def members(session: Session, cohort_id: int) -> pd.DataFrame:
    """A cohort's members: person_id, contacts and agencies in the window before its date."""
    member = models.CohortMember
    query = (
        select(member.person_id, member.contacts, member.agencies)
        .where(member.cohort_id == cohort_id)
        .order_by(member.person_id)
    )
    return _read(session, query, ["person_id", "contacts", "agencies"]).astype("int64")


def listed(session: Session) -> list[tuple[models.Cohort, int]]:
    """Every cohort, newest first, with its number of members."""
    member = models.CohortMember
    count = (
        select(member.cohort_id, func.count().label("members"))
        .group_by(member.cohort_id)
        .subquery()
    )
    query = (
        select(models.Cohort, func.coalesce(count.c.members, 0))
        .outerjoin(count, count.c.cohort_id == models.Cohort.id)
        .order_by(models.Cohort.created_at.desc(), models.Cohort.id.desc())
    )
    return [(cohort, int(members)) for cohort, members in session.execute(query).all()]
