"""Ingest queries: source systems, the run ledger, quarantine, and late-bound references."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from corespond import models
from corespond.db.statements import kept
from corespond.models.base import utcnow
from corespond.sources.records import PlaceIn

LOOKUP_CHUNK = 500
"""Keys per IN (...) query: well under SQLite's and PostgreSQL's parameter limits."""


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        yield ordered[start : start + LOOKUP_CHUNK]


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store has for one record key: its row, content hash and last write."""

    id: int
    content_hash: str
    ingest_run_id: int | None
    updated_at: datetime


def stored_rows(
    session: Session, model: Any, source_system_id: int, keys: Iterable[str]
) -> dict[str, Stored]:
    """Key → what the store has, for the rows of ``model`` one source has under those keys."""
    found: dict[str, Stored] = {}
    query = kept(("stored rows", model), partial(_stored_rows, model))
    connection = session.connection()
    for chunk in _chunks(keys):
        for key, *row in connection.execute(query, {"keys": chunk, "source": source_system_id}):
            found[key] = Stored(*row)
    return found


def _stored_rows(model: Any) -> Any:
    return select(
        model.source_key, model.id, model.content_hash, model.ingest_run_id, model.updated_at
    ).where(
        model.source_key.in_(bindparam("keys", expanding=True)),
        model.source_system_id == bindparam("source"),
    )


# -- what an import replaced, while it runs ------------------------------------------------------

PRIOR = Table(
    "ingest_prior",
    MetaData(),
    Column("kind", String(40), primary_key=True),
    Column("source_key", String(200), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("ingest_run_id", Integer),
    Column("updated_at", DateTime, nullable=False),
    Column("superseded_rows", JSON, nullable=False),
    prefixes=["TEMPORARY"],
)
"""A temporary table, one import's own: for each record a previous run wrote and this run has
overwritten so far, what it was, and per file how many of this run's rows were counted stored
only for overwriting it. If a later version in the same import puts the record back as it was
(a key repeated across batches), the record is restored whole and those rows count unchanged.
It lives in the database, not in memory, so that memory stays flat however much changes."""


@dataclass(slots=True)
class Prior:
    content_hash: str
    ingest_run_id: int | None
    updated_at: datetime
    superseded_rows: dict[str, int]


def open_priors(session: Session) -> None:
    """Create (or empty) this import's ``ingest_prior`` table."""
    connection = session.connection()
    PRIOR.create(connection, checkfirst=True)
    session.execute(PRIOR.delete())


def close_priors(session: Session) -> None:
    PRIOR.drop(session.connection(), checkfirst=True)


def priors(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Prior]:
    """What these (kind, key) records were before this import overwrote them."""
    found: dict[tuple[str, str], Prior] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, key in keys:
        by_kind.setdefault(kind, []).append(key)
    for kind, kind_keys in by_kind.items():
        for chunk in _chunks(kind_keys):
            query = select(PRIOR).where(PRIOR.c.kind == kind, PRIOR.c.source_key.in_(chunk))
            for row in session.execute(query):
                found[(row.kind, row.source_key)] = Prior(
                    row.content_hash, row.ingest_run_id, row.updated_at, dict(row.superseded_rows)
                )
    return found


def save_priors(session: Session, rows: dict[tuple[str, str], Prior]) -> None:
    """Record (or replace) what these records were before this import."""
    if not rows:
        return
    forget_priors(session, rows)
    session.execute(
        insert(PRIOR),
        [
            {"kind": kind, "source_key": key, "content_hash": prior.content_hash,
             "ingest_run_id": prior.ingest_run_id, "updated_at": prior.updated_at,
             "superseded_rows": prior.superseded_rows}
            for (kind, key), prior in rows.items()
        ],
    )  # fmt: skip


def forget_priors(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    by_kind: dict[str, list[str]] = {}
    for kind, key in keys:
        by_kind.setdefault(kind, []).append(key)
    for kind, kind_keys in by_kind.items():
        for chunk in _chunks(kind_keys):
            session.execute(
                delete(PRIOR).where(PRIOR.c.kind == kind, PRIOR.c.source_key.in_(chunk))
            )


def keyed_rows(
    session: Session,
    model: Any,
    source_system_id: int,
    *,
    run_id: int | None = None,
    chunk: int = 50_000,
) -> Iterator[list[tuple[str, int, str]]]:
    """Key, id and content hash of one source's rows of ``model`` (only those ingest run
    ``run_id`` wrote, if given), ``chunk`` rows at a time so that memory stays flat."""
    query = select(model.source_key, model.id, model.content_hash).where(
        model.source_system_id == source_system_id
    )
    if run_id is not None:
        query = query.where(model.ingest_run_id == run_id)
    result = session.execute(query.execution_options(yield_per=chunk))
    for rows in result.partitions():
        yield [(key, row_id, content_hash) for key, row_id, content_hash in rows]


def person_record_ids(
    session: Session, source_system_id: int, keys: Iterable[str]
) -> dict[str, int]:
    """Key → id of the person records one source has under those keys."""
    ids: dict[str, int] = {}
    connection = session.connection()
    for chunk in _chunks(keys):
        rows = connection.execute(_RECORD_IDS, {"keys": chunk, "source": source_system_id})
        ids.update(dict(rows.all()))
    return ids


_RECORD_IDS = select(models.PersonRecord.source_key, models.PersonRecord.id).where(
    models.PersonRecord.source_key.in_(bindparam("keys", expanding=True)),
    models.PersonRecord.source_system_id == bindparam("source"),
)


def place_ids(session: Session, places: dict[str, PlaceIn]) -> dict[str, int]:
    """Place key → id for ``places``, creating the places not stored before."""
    ids: dict[str, int] = {}
    for chunk in _chunks(places):
        query = select(models.Place.place_key, models.Place.id).where(
            models.Place.place_key.in_(chunk)
        )
        ids.update(dict(session.execute(query).all()))
    new = [
        {"place_key": key, **place.model_dump(), "created_at": utcnow()}
        for key, place in places.items()
        if key not in ids
    ]
    if new:
        statement = insert(models.Place).returning(
            models.Place.place_key, models.Place.id, sort_by_parameter_order=True
        )
        ids.update(dict(session.execute(statement, new).all()))
    return ids


def retract(session: Session, model: Any, source_system_id: int, source_key: str) -> bool:
    """Remove a record its source deleted; False if the store does not have it.

    References to it that ingest resolves by key are emptied first (they resolve again if the
    record comes back). Anything else that depends on it (facts naming a person record, the
    person linkage placed it in) makes the database refuse: the caller gets the
    ``IntegrityError`` and nothing of the attempt remains.
    """
    row_id = session.scalar(
        select(model.id).where(
            model.source_key == source_key, model.source_system_id == source_system_id
        )
    )
    if row_id is None:
        return False
    table = model.__tablename__
    with session.begin_nested():
        for referring, _key, id_column, target, _target_key in REFERENCES:
            if target == table:
                session.execute(
                    text(f"UPDATE {referring} SET {id_column} = NULL WHERE {id_column} = :id"),
                    {"id": row_id},
                )
        if model is models.PersonRecord:
            delete_aliases(session, [row_id])
        session.execute(delete(model).where(model.id == row_id))
    return True


def delete_aliases(session: Session, person_record_ids: Iterable[int]) -> None:
    """Remove the aliases of these person records (before their new ones are written)."""
    for chunk in _chunks(person_record_ids):
        session.execute(
            delete(models.PersonAlias).where(models.PersonAlias.person_record_id.in_(chunk))
        )


def get_or_create_source_system(
    session: Session, name: str, *, format: str, agency_key: str | None
) -> models.SourceSystem:
    source = session.scalar(select(models.SourceSystem).where(models.SourceSystem.name == name))
    if source is None:
        source = models.SourceSystem(name=name, format=format, agency_key=agency_key)
        session.add(source)
        session.flush()
    elif agency_key and source.agency_key != agency_key:
        source.agency_key = agency_key
    return source


# Keys that name a row of another table, resolved after each run so that the order in which
# agencies send their exports does not matter. (table, key column, id column, target, target key)
REFERENCES: tuple[tuple[str, str, str, str, str], ...] = (
    ("unit_response", "call_key", "call_id", "call_for_service", "source_key"),
    ("call_person", "call_key", "call_id", "call_for_service", "source_key"),
    ("police_incident", "call_key", "call_id", "call_for_service", "source_key"),
    ("arrest", "call_key", "call_id", "call_for_service", "source_key"),
    ("arrest", "incident_key", "incident_id", "police_incident", "source_key"),
    ("use_of_force", "call_key", "call_id", "call_for_service", "source_key"),
    ("use_of_force", "incident_key", "incident_id", "police_incident", "source_key"),
    ("involuntary_hold", "call_key", "call_id", "call_for_service", "source_key"),
    ("ems_run", "call_key", "call_id", "call_for_service", "source_key"),
    ("caution", "call_key", "call_id", "call_for_service", "source_key"),
    ("enrollment", "program_key", "program_id", "program", "source_key"),
    ("enrollment_exit", "enrollment_key", "enrollment_id", "enrollment", "source_key"),
    ("service", "enrollment_key", "enrollment_id", "enrollment", "source_key"),
    ("call_for_service", "agency_key", "agency_id", "agency", "source_key"),
    ("program", "agency_key", "agency_id", "agency", "source_key"),
    ("referral", "to_agency_key", "to_agency_id", "agency", "source_key"),
)


LATE_BOUND_IDS: dict[str, tuple[str, ...]] = {}
"""Table → its id columns that ``resolve_references`` fills."""
for _table, _key, _id_column, _target, _target_key in REFERENCES:
    LATE_BOUND_IDS[_table] = (*LATE_BOUND_IDS.get(_table, ()), _id_column)


def resolve_references(session: Session) -> None:
    """Fill each ``*_id`` left empty whose ``*_key`` now names a stored row.

    A key is looked up in the same source system first (an HMIS ExitID names an HMIS
    enrollment), then in any (a NEMSIS eResponse.03 names a CAD event of the dispatch centre),
    but only if exactly one source has it: two CADs that both number an event 24-000123 leave
    the reference unresolved rather than guessed.
    """
    for table, key, id_column, target, target_key in REFERENCES:
        session.execute(
            text(
                f"UPDATE {table} SET {id_column} = COALESCE("
                f" (SELECT min(t.id) FROM {target} t WHERE t.{target_key} = {table}.{key}"
                f"  AND t.source_system_id = {table}.source_system_id),"
                f" (SELECT CASE WHEN count(*) = 1 THEN min(t.id) END FROM {target} t"
                f"  WHERE t.{target_key} = {table}.{key}))"
                f" WHERE {id_column} IS NULL AND {key} IS NOT NULL"
            )
        )


CALL_CHILDREN: dict[str, Any] = {
    "unit_response": models.UnitResponse,
    "call_person": models.CallPerson,
    "caution": models.Caution,
}


def resolve_call_references(
    session: Session, call_key: str, source_system_id: int, call_id: int, kinds: Iterable[str]
) -> None:
    """Point one call's units, people and cautions of the same source (of ``kinds``, the
    record kinds it has) at it: what ``resolve_references`` does for a whole import, for one
    live incident's rows only."""
    connection = session.connection()  # plain updates: the session holds none of these rows
    for kind in sorted(set(kinds)):
        if kind in CALL_CHILDREN:
            statement = kept(("call references", kind), partial(_pointing_at_call, kind))
            connection.execute(
                statement,
                {"the_call_key": call_key, "from_source": source_system_id, "to_call": call_id},
            )


def _pointing_at_call(kind: str) -> Any:
    table = CALL_CHILDREN[kind].__table__
    return (
        table.update()
        .where(
            table.c.call_key == bindparam("the_call_key"),
            table.c.source_system_id == bindparam("from_source"),
            table.c.call_id.is_(None),
        )
        .values(call_id=bindparam("to_call"))
    )


def refresh_statistics(session: Session) -> None:
    """Have PostgreSQL re-read the tables' sizes and value spreads after an import.

    Its planner picks plans from statistics that autovacuum refreshes only some time after a
    bulk load: until then a person page read hash-joined whole tables (a 100,000-person city's
    pages went from about 700 to under 300 ms once analysed). A few seconds; SQLite plans
    without them.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))


def list_runs(session: Session, *, limit: int = 100) -> Sequence[tuple[models.IngestRun, str]]:
    query = (
        select(models.IngestRun, models.SourceSystem.name)
        .join(models.SourceSystem, models.SourceSystem.id == models.IngestRun.source_system_id)
        .order_by(models.IngestRun.id.desc())
        .limit(limit)
    )
    return session.execute(query).all()


def list_sources(session: Session) -> Sequence[tuple[models.SourceSystem, int, int]]:
    """Each source system with its number of runs and of quarantined rows."""
    runs = (
        select(func.count(models.IngestRun.id))
        .where(models.IngestRun.source_system_id == models.SourceSystem.id)
        .scalar_subquery()
    )
    quarantined = (
        select(func.count(models.QuarantinedRow.id))
        .where(models.QuarantinedRow.source_system_id == models.SourceSystem.id)
        .scalar_subquery()
    )
    query = select(models.SourceSystem, runs, quarantined).order_by(models.SourceSystem.name)
    return session.execute(query).all()


def list_quarantine(
    session: Session,
    *,
    run_id: int | None = None,
    source: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> Sequence[tuple[models.QuarantinedRow, str]]:
    query = (
        select(models.QuarantinedRow, models.SourceSystem.name)
        .join(models.SourceSystem, models.SourceSystem.id == models.QuarantinedRow.source_system_id)
        .order_by(models.QuarantinedRow.id)
        .limit(limit)
        .offset(offset)
    )
    if run_id is not None:
        query = query.where(models.QuarantinedRow.ingest_run_id == run_id)
    if source is not None:
        query = query.where(models.SourceSystem.name == source)
    return session.execute(query).all()
