"""Access's readable queries of person facts: a person's records and every touchpoint on them,
as plain rows, for products to show only under a ``Reader``'s decisions.

Nothing here decides who may see what: the product asks the reader about each row's category and
holder before any of it is shown (``people.profile``). Rows carry what that decision needs: the
source system that sent them (its agency holds them) or, for what corespond's users wrote, the
authoring agency; and their data category. Products name no person-data table themselves
(``tests/access/test_person_data_lint.py``); these queries are how they read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, DateTime, bindparam, func, or_, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.db.lists import IdsOf, Records, among, read_among
from corespond.db.statements import kept
from corespond.sources.hmis import PERMANENT_DESTINATIONS


@dataclass(frozen=True)
class Touch:
    """One touchpoint on a person's timeline."""

    kind: str
    """``call``, ``unit_response``, ``ems_run``, ``er_visit``, ``hospital_stay``, ``arrest``,
    ``citation``, ``use_of_force``, ``involuntary_hold``, ``shelter_stay``, ``enrollment``,
    ``program_exit``,
    ``outreach``, ``service``, ``treatment``, ``referral`` or ``note``."""
    at: datetime
    source_system_id: int
    category: str
    title: str
    detail: str
    ref: str
    """``table:id``: where the row is, for the API and the audit."""
    agency_id: int | None = None
    """The agency that wrote it in corespond (None: held by its source system's agency)."""
    staff: str | None = None
    """Who met the person, when the source names them (a clinician, a unit's call sign)."""
    to_agency_id: int | None = None
    """For a referral: the agency it was sent to (which may see it, being its recipient)."""
    record_id: int = 0
    """The person record it hangs on."""
    all_day: bool = False
    """The source gave a day, not a time (a service date): shown as that day, not converted."""


def record_ids_of(session: Session, person_id: int) -> list[int]:
    link = models.PersonLink
    return list(
        session.scalars(
            select(link.person_record_id)
            .where(link.person_id == person_id)
            .order_by(link.person_record_id)
        )
    )


def records_of(session: Session, person_id: int) -> list[tuple[Any, Any]]:
    """The person's records with how each was put in the person, oldest first: pairs of the same
    plain row, read as the record (its columns) and as the link (``method``,
    ``match_probability``, ``explanation``). A frequent utilizer has hundreds of records (one per
    call a CAD names them on): plain rows, not ORM objects."""
    link, record = models.PersonLink, models.PersonRecord
    rows = session.execute(
        select(*record.__table__.columns, link.method, link.match_probability, link.explanation)
        .join(link, link.person_record_id == record.id)
        .where(link.person_id == person_id)
        .order_by(record.id)
    ).all()
    return [(row, row) for row in rows]


def aliases_of(session: Session, record_ids: list[int]) -> dict[int, list[models.PersonAlias]]:
    alias = models.PersonAlias
    found: dict[int, list[models.PersonAlias]] = {}
    for where in among(session, alias.person_record_id, record_ids):
        for row in session.scalars(select(alias).where(where)):
            found.setdefault(row.person_record_id, []).append(row)
    return found


def records_to_read(session: Session, person_id: int) -> Records:
    """A person's records as fact reads take them best: on SQLite the query (one parameter,
    where a frequent utilizer's ids are hundreds, rendered into every statement); on
    PostgreSQL their ids, which it looks up one by one rather than plan from an estimate
    (see ``touches``)."""
    if session.get_bind().dialect.name == "postgresql":
        return record_ids_of(session, person_id)
    return person_records(person_id)


_PERSON_RECORDS = select(models.PersonLink.person_record_id).where(
    models.PersonLink.person_id == bindparam("of")
)


def person_records(person_id: int) -> IdsOf:
    return IdsOf(_PERSON_RECORDS, person_id)


def _rows(
    session: Session,
    query: type[models.Base] | Callable[[], Any],
    column: Any,
    ids: Records,
    *,
    when: Any = None,
    since: datetime | None = None,
) -> list[Any]:
    """The rows of ``query()`` (or a model's plain rows) whose ``column`` is one of ``ids``
    (and, given ``since``, whose ``when`` is not before it: a date column from that day on);
    each statement built once, and kept by its column."""
    key = ("facts", str(column))
    if isinstance(query, type):
        model = query
        query = lambda: _plain(model)  # noqa: E731
    if since is None or when is None:
        return read_among(session, key, query, column, ids)
    return read_among(
        session, (key, "since"), lambda: query().where(when >= bindparam("since")), column, ids,
        {"since": since.date() if _is_date(when) else since},
    )  # fmt: skip


def _is_date(column: Any) -> bool:
    return isinstance(column.type, Date) and not isinstance(column.type, DateTime)


UNREAD = frozenset({"content_hash", "ingest_run_id", "updated_at"})
"""Provenance no timeline shows."""


def _plain(model: type[models.Base], *more: Any, skip: Iterable[str] = ()) -> Any:
    """A select of the model's columns as plain rows (no ORM objects to build: a frequent
    utilizer has hundreds of rows per table), without provenance it does not show or the
    ``skip`` columns (each stored time is parsed on read), plus ``more`` columns."""
    unread = UNREAD | set(skip)
    columns = [column for column in model.__table__.columns if column.name not in unread]
    return select(*columns, *more)


def _day(value: date) -> datetime:
    return datetime.combine(value, time())


def _words(*parts: object) -> str:
    """The parts that say something, joined (``cond and text`` parts drop out when false)."""
    return " · ".join(str(part) for part in parts if part is not None and part not in ("", False))


def touches(session: Session, record_ids: Records, *, since: datetime | None = None) -> list[Touch]:
    """Every touchpoint on these records (``since``: from then on), newest first."""
    if not isinstance(record_ids, list) and session.get_bind().dialect.name == "postgresql":
        # PostgreSQL plans a subquery of a frequent utilizer's records from an estimate
        # (a thousand, say, for three hundred) and then scans whole tables in parallel rather
        # than look the records up; named one by one, it looks them up (80 ms to 3 ms a table).
        record_ids = list(session.scalars(record_ids.query, {"of": record_ids.of}))
    found: list[Touch] = []
    found += _calls(session, record_ids, since)
    found += _health(session, record_ids, since)
    found += _justice(session, record_ids, since)
    found += _housing(session, record_ids, since)
    found += _casework(session, record_ids, since)
    if since is not None:  # each table was read from ``since`` (or a little before) on
        found = [touch for touch in found if touch.at >= since]
    found.sort(key=lambda touch: (touch.at, touch.ref), reverse=True)
    return found


CARE_RESPONDERS = frozenset({"care_team", "co_responder"})
"""Units whose arrival is a touchpoint of its own (a care team met the person); other units
are listed on their call."""


def _calls(session: Session, ids: Records, since: datetime | None) -> list[Touch]:
    call, named, unit = models.CallForService, models.CallPerson, models.UnitResponse
    calls: dict[int, tuple[Any, str, int]] = {}

    def query() -> Any:
        return _plain(
            call, named.role, named.person_record_id.label("named_record"),
            skip=("dispatched_at", "first_arrival_at", "cleared_at", "notes", "place_id",
                  "agency_key", "agency_id"),
        ).join(named, named.call_id == call.id)  # fmt: skip

    # A day early: a care team's arrival after ``since`` may belong to a call received before.
    early = since - timedelta(days=1) if since is not None else None
    when = func.coalesce(call.received_at, call.queued_at)
    for row in _rows(session, query, named.person_record_id, ids, when=when, since=early):
        if (row.received_at or row.queued_at) is not None:
            calls.setdefault(row.id, (row, row.role, row.named_record))
    found: list[Touch] = []
    units: dict[int, list[str]] = {}
    # The units of the calls read (a handful in a window; a query of them for a whole history).
    called: Records = list(calls)
    if isinstance(ids, IdsOf) and since is None:
        calls_of = kept(
            ("calls of", ids.query),
            lambda: select(named.call_id).where(named.person_record_id.in_(ids.query)),
        )
        called = IdsOf(calls_of, ids.of)

    def plain_unit() -> Any:
        return _plain(unit, skip=("en_route_at", "in_service_at", "call_key"))

    for row in _rows(session, plain_unit, unit.call_id, called):
        kind = row.responder_type.replace("_", " ")
        units.setdefault(row.call_id or 0, []).append(f"{row.call_sign} ({kind})")
        at = row.at_scene_at or row.dispatched_at
        if at is None or row.responder_type not in CARE_RESPONDERS or row.call_id not in calls:
            continue  # (a call of these records received before ``since``)
        event, _, record_id = calls[row.call_id]
        found.append(Touch(
            "unit_response", at, row.source_system_id, row.data_category,
            f"{kind.capitalize()} unit {row.call_sign}",
            _words(f"call {event.source_key}",
                   "on scene" if row.at_scene_at else "dispatched, no arrival recorded"),
            f"unit_response:{row.id}", staff=row.call_sign, record_id=record_id,
        ))  # fmt: skip
    for event, role, record_id in calls.values():
        kind = event.final_call_type or event.initial_call_type or "call"
        sent = units.get(event.id)
        found.append(Touch(
            "call", event.received_at or event.queued_at, event.source_system_id,  # type: ignore[arg-type]
            event.data_category, f"Call {event.source_key}: {kind}",
            _words(f"priority {event.priority}" if event.priority else None, event.call_source,
                   f"as {role}", event.disposition,
                   sent and f"units {', '.join(sorted(sent))}"),
            f"call_for_service:{event.id}", record_id=record_id,
        ))  # fmt: skip
    return found


def _health(session: Session, ids: Records, since: datetime | None) -> list[Touch]:
    found: list[Touch] = []
    ems = models.EmsRun

    def plain_ems() -> Any:
        return _plain(ems, skip=("en_route_at", "left_scene_at", "at_destination_at",
                                 "in_service_at", "place_id", "call_key"))  # fmt: skip

    when = func.coalesce(ems.psap_call_at, ems.dispatched_at, ems.at_scene_at)
    for row in _rows(session, plain_ems, ems.person_record_id, ids, when=when, since=since):
        at = row.psap_call_at or row.dispatched_at or row.at_scene_at
        if at is None:
            continue
        found.append(Touch(
            "ems_run", at, row.source_system_id, row.data_category,
            f"EMS run: {row.primary_impression or 'impression not recorded'}",
            _words(f"unit {row.unit_call_sign}" if row.unit_call_sign else None,
                   f"transported to {row.destination_name}" if row.transported
                   else "not transported" if row.transported is False else None),
            f"ems_run:{row.id}", record_id=row.person_record_id or 0, staff=row.unit_call_sign,
        ))  # fmt: skip
    visit = models.HospitalEncounter
    for row in _rows(
        session,
        visit,
        visit.person_record_id,
        ids,
        when=visit.started_at,
        since=since,
    ):
        er = row.encounter_kind == "er_visit"
        found.append(Touch(
            "er_visit" if er else "hospital_stay", row.started_at, row.source_system_id,
            row.data_category,
            f"{'ER visit' if er else 'Hospital stay'}: {row.reason or 'reason not recorded'}",
            _words(row.facility,
                   row.discharge_disposition and f"discharged {row.discharge_disposition}"),
            f"hospital_encounter:{row.id}", record_id=row.person_record_id,
        ))  # fmt: skip
    treatment = models.TreatmentEncounter
    for row in _rows(
        session, treatment, treatment.person_record_id, ids,
        when=treatment.started_at, since=since,
    ):  # fmt: skip
        found.append(Touch(
            "treatment", row.started_at, row.source_system_id, row.data_category,
            f"Treatment: {row.encounter_type or row.encounter_class or 'encounter'}",
            _words(row.reason, row.status, row.provider),
            f"treatment_encounter:{row.id}", record_id=row.person_record_id, staff=row.provider,
        ))  # fmt: skip
    return found


def _justice(session: Session, ids: Records, since: datetime | None) -> list[Touch]:
    found: list[Touch] = []
    arrest = models.Arrest
    for row in _rows(
        session,
        arrest,
        arrest.person_record_id,
        ids,
        when=arrest.arrested_at,
        since=since,
    ):
        cited = row.arrest_type == "summoned_cited"
        found.append(Touch(
            "citation" if cited else "arrest", row.arrested_at, row.source_system_id,
            row.data_category,
            "Citation" if cited else f"Arrest ({row.arrest_type.replace('_', ' ')})",
            _words(row.offense_code and f"offense {row.offense_code}",
                   row.armed_with and f"armed with {row.armed_with}"),
            f"arrest:{row.id}", record_id=row.person_record_id,
        ))  # fmt: skip
    force = models.UseOfForce
    for row in _rows(
        session,
        force,
        force.person_record_id,
        ids,
        when=force.occurred_at,
        since=since,
    ):
        found.append(Touch(
            "use_of_force", row.occurred_at, row.source_system_id, row.data_category,
            f"Use of force: {row.force_type}",
            _words("subject injured" if row.subject_injured else None,
                   "officer injured" if row.officer_injured else None),
            f"use_of_force:{row.id}", record_id=row.person_record_id, staff=row.officer_id,
        ))  # fmt: skip
    hold = models.InvoluntaryHold
    for row in _rows(session, hold, hold.person_record_id, ids, when=hold.started_at, since=since):
        found.append(Touch(
            "involuntary_hold", row.started_at, row.source_system_id, row.data_category,
            "Involuntary hold", _words(row.authority, row.facility),
            f"involuntary_hold:{row.id}", record_id=row.person_record_id,
        ))  # fmt: skip
    return found


def _housing(session: Session, ids: Records, since: datetime | None) -> list[Touch]:
    found: list[Touch] = []
    enrollment, program = models.Enrollment, models.Program

    def query() -> Any:
        return _plain(
            enrollment, program.name.label("program_name"), program.hmis_project_type
        ).outerjoin(program, program.id == enrollment.program_id)

    for row in _rows(
        session, query, enrollment.person_record_id, ids, when=enrollment.entry_date, since=since
    ):
        name, project_type = row.program_name, row.hmis_project_type
        found.append(Touch(
            "shelter_stay" if project_type in SHELTER_PROJECTS else "enrollment",
            _day(row.entry_date), row.source_system_id, row.data_category,
            f"Entered {name or row.program_key}",
            _words(row.move_in_date and f"moved in {row.move_in_date.isoformat()}"),
            f"enrollment:{row.id}", all_day=True, record_id=row.person_record_id,
        ))  # fmt: skip
    leaving = models.EnrollmentExit
    for row in _rows(
        session, leaving, leaving.person_record_id, ids, when=leaving.exit_date,
        since=since,
    ):  # fmt: skip
        found.append(Touch(
            "program_exit", _day(row.exit_date), row.source_system_id, row.data_category,
            "Left a program",
            _words(row.destination is not None
                   and f"destination {destination_words(row.destination)}"),
            f"enrollment_exit:{row.id}", all_day=True, record_id=row.person_record_id,
        ))  # fmt: skip
    service = models.Service
    for row in _rows(
        session, service, service.person_record_id, ids, when=service.provided_on,
        since=since,
    ):  # fmt: skip
        outreach = row.service_kind == "outreach_contact"
        found.append(Touch(
            "outreach" if outreach else "service", _day(row.provided_on), row.source_system_id,
            row.data_category,
            "Street outreach contact" if outreach
            else f"Service: {row.description or row.service_kind.replace('_', ' ')}",
            _words(row.living_situation is not None and f"living situation {row.living_situation}"),
            f"service:{row.id}", all_day=True, record_id=row.person_record_id,
        ))  # fmt: skip
    return found


def _casework(session: Session, ids: Records, since: datetime | None) -> list[Touch]:
    found: list[Touch] = []
    referral = models.Referral
    for row in _rows(
        session, referral, referral.person_record_id, ids, when=referral.referred_on,
        since=since,
    ):  # fmt: skip
        found.append(Touch(
            "referral", _day(row.referred_on), row.source_system_id, row.data_category,
            f"Referral for {row.referral_type.replace('_', ' ')}: {row.status}",
            _words(row.to_program_key, row.reason),
            f"referral:{row.id}", all_day=True, record_id=row.person_record_id,
            agency_id=row.from_agency_id, to_agency_id=row.to_agency_id,
        ))  # fmt: skip
    note = models.CaseNote
    for row in _rows(session, note, note.person_record_id, ids, when=note.written_at, since=since):
        found.append(Touch(
            "note", row.written_at, row.source_system_id, row.data_category,
            f"Note{f' by {row.author}' if row.author else ''}", row.text,
            f"case_note:{row.id}", record_id=row.person_record_id, staff=row.author,
        ))  # fmt: skip
    return found


SHELTER_PROJECTS = frozenset({0, 1})
"""HMIS project types of emergency shelter (entry/exit and night-by-night)."""


def destination_words(code: int) -> str:
    if code in PERMANENT_DESTINATIONS:
        return f"{code} (permanent housing)"
    if 100 <= code < 200:
        return f"{code} (homeless situation)"
    if 200 <= code < 300:
        return f"{code} (institutional situation)"
    if 300 <= code < 400:
        return f"{code} (temporary housing)"
    return str(code)


def person_exists(session: Session, person_id: int) -> int | None:
    """The person's current id: itself, or the person it was merged into (None: no such person)."""
    seen: set[int] = set()
    current: int | None = person_id
    while current is not None and current not in seen:
        seen.add(current)
        person = session.get(models.Person, current)
        if person is None:
            return None
        if person.status != "merged" or person.merged_into_id is None:
            return person.id
        current = person.merged_into_id
    return None


def count_links(session: Session, person_id: int) -> int:
    link = models.PersonLink
    return session.scalar(select(func.count()).where(link.person_id == person_id)) or 0


PersonRecord = models.PersonRecord
PersonLink = models.PersonLink
Consent = models.Consent
"""Types for products' annotations (products name no person-data table)."""


def person_of_record(session: Session, record_id: int | None) -> int | None:
    """The person a record is linked to now."""
    if record_id is None:
        return None
    link = models.PersonLink
    return session.scalar(select(link.person_id).where(link.person_record_id == record_id))


def record(session: Session, record_id: int) -> models.PersonRecord | None:
    return session.get(models.PersonRecord, record_id)


def records_of_persons(session: Session, person_ids: Iterable[int]) -> dict[int, list[int]]:
    """Person id → all their record ids."""
    link = models.PersonLink
    found: dict[int, list[int]] = {}
    for where in among(session, link.person_id, sorted(set(person_ids))):
        for record_id, person_id in session.execute(
            select(link.person_record_id, link.person_id).where(where)
        ):
            found.setdefault(person_id, []).append(record_id)
    return found


def records_from(session: Session, systems: Iterable[int]) -> list[int]:
    """The ids of the person records these source systems sent."""
    wanted = list(systems)
    if not wanted:
        return []
    record = models.PersonRecord
    return list(session.scalars(select(record.id).where(record.source_system_id.in_(wanted))))


def consents_ending(session: Session, first: date, last: date) -> list[tuple[models.Consent, int]]:
    """Active consents whose period ends between ``first`` and ``last``, with their person."""
    consent, link = models.Consent, models.PersonLink
    rows = session.execute(
        select(consent, link.person_id)
        .join(link, link.person_record_id == consent.person_record_id)
        .where(
            consent.status == "active",
            consent.period_end.is_not(None),
            consent.period_end >= first,
            consent.period_end <= last,
        )
        .order_by(consent.period_end)
    ).all()
    return [(row[0], row[1]) for row in rows]


def search_candidates(
    session: Session, *, keys: list[str], last_names: list[str], dob: date | None, street: str,
    number: str, limit: int,
) -> dict[int, set[str]]:  # fmt: skip
    """Person record id → how a search found it: a blocking key (``fn``, ``ln``, ``dob``,
    ``phone``), a last ``name`` or an ``alias``, the ``dob``, the ``address`` (the street's
    beginning), the ``record`` number, or a ``call`` it is named on. At most ``limit`` per way."""
    found: dict[int, set[str]] = {}

    def add(how: str, query: Any) -> None:
        for (record_id,) in session.execute(query.limit(limit)):
            found.setdefault(record_id, set()).add(how)

    key, record, alias = models.PersonMatchKey, models.PersonRecord, models.PersonAlias
    if keys:
        for record_id, text in session.execute(
            select(key.person_record_id, key.key).where(key.key.in_(keys)).limit(limit)
        ):
            found.setdefault(record_id, set()).add(text.split(":", 1)[0])
    if last_names:
        add("name", select(record.id).where(record.last_name.in_(last_names)))
        add("alias", select(alias.person_record_id).where(alias.last_name.in_(last_names)))
    if dob:
        add("dob", select(record.id).where(record.dob == dob))
    if street:
        add("address", select(record.id).where(
            func.lower(record.street).like(f"{_like(street)}%", escape="\\")
        ))  # fmt: skip
    if number:
        named, call = models.CallPerson, models.CallForService
        add("record", select(record.id).where(record.source_key == number))
        add("call", select(named.person_record_id).join(call, call.id == named.call_id).where(
            or_(call.source_key == number, named.call_key == number)
        ))  # fmt: skip
    return found


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def records_by_id(session: Session, ids: list[int]) -> dict[int, models.PersonRecord]:
    record = models.PersonRecord
    rows = read_among(session, "records by id", lambda: select(record), record.id, ids,
                      entities=True)  # fmt: skip
    return {row.id: row for row in rows}


def alias_names(session: Session, ids: list[int]) -> dict[int, list[tuple[str | None, str | None]]]:
    """Record id → the (first, last) names its source also knows the person by."""
    alias = models.PersonAlias
    found: dict[int, list[tuple[str | None, str | None]]] = {}
    for where in among(session, alias.person_record_id, ids):
        for record_id, first, last in session.execute(
            select(alias.person_record_id, alias.first_name, alias.last_name).where(where)
        ):
            found.setdefault(record_id, []).append((first, last))
    return found


def place_cautions(session: Session, place_id: int) -> list[models.Caution]:
    """Cautions about a place, not about a person (EIDO cautions on a location)."""
    return list(session.scalars(_PLACE_CAUTIONS, {"place": place_id}))


_PLACE_CAUTIONS = select(models.Caution).where(
    models.Caution.place_id == bindparam("place"), models.Caution.person_record_id.is_(None)
)
