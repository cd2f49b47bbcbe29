"""Ingest queries: source systems, the run ledger, quarantine, and late-bound references."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from corespond import models
from corespond.models.base import utcnow
from corespond.sources.records import PlaceIn

LOOKUP_CHUNK = 500
"""Keys per IN (...) query: well under SQLite's and PostgreSQL's parameter limits."""


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        yield ordered[start : start + LOOKUP_CHUNK]


def stored_hashes(
    session: Session, model: Any, source_system_id: int, keys: Iterable[str]
) -> dict[str, tuple[int, str]]:
    """Key → (id, content hash) of the rows of ``model`` one source has under those keys."""
    found: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(keys):
        query = select(model.source_key, model.id, model.content_hash).where(
            model.source_key.in_(chunk), model.source_system_id == source_system_id
        )
        for key, row_id, digest in session.execute(query):
            found[key] = (row_id, digest)
    return found


def person_record_ids(
    session: Session, source_system_id: int, keys: Iterable[str]
) -> dict[str, int]:
    """Key → id of the person records one source has under those keys."""
    record = models.PersonRecord
    ids: dict[str, int] = {}
    for chunk in _chunks(keys):
        query = select(record.source_key, record.id).where(
            record.source_key.in_(chunk), record.source_system_id == source_system_id
        )
        ids.update(dict(session.execute(query).all()))
    return ids


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
