"""Linkage's queries: the records it reads, and the persons, links and events it writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import CompoundSelect, Row, Select, bindparam, delete, func, insert, select, union
from sqlalchemy.orm import Session

from corespond import models
from corespond.db.lists import read_among
from corespond.linkage.features import Features, Identity, placeholder_dob

CHUNK = 5_000


AUTHORED_SOURCE = "corespond"
"""Records corespond's users author (anchoring consents they record) are not linked: they
belong to the person they were made for."""


def identities(session: Session) -> Iterator[Identity]:
    """Every person record's identity (authored records aside), with its aliases, in id order."""
    last_id = 0
    authored = authored_source_id(session)
    while True:
        query = _identity_query().where(models.PersonRecord.id > last_id)
        if authored is not None:
            query = query.where(models.PersonRecord.source_system_id != authored)
        rows = session.execute(query.limit(CHUNK)).all()
        if not rows:
            return
        yield from _with_aliases(session, rows)
        last_id = rows[-1].id


def identities_for(session: Session, record_ids: Iterable[int]) -> list[Identity]:
    """The identities of these person records (any that no longer exist are left out)."""
    wanted = sorted(set(record_ids))
    found: list[Identity] = []
    connection = session.connection()
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        rows = connection.execute(_IDENTITIES_OF, {"ids": chunk}).all()
        found.extend(_with_aliases(session, rows))
    return found


def _identity_query() -> Select[*tuple[Any, ...]]:
    record = models.PersonRecord
    return select(
        record.id,
        record.first_name,
        record.middle_name,
        record.last_name,
        record.dob,
        record.sex,
        record.ssn_blind_index,
        record.phone,
        record.street,
        record.zip,
        record.source_system_id,
    ).order_by(record.id)


_IDENTITIES_OF = _identity_query().where(
    models.PersonRecord.id.in_(bindparam("ids", expanding=True))
)
_ALIASES_OF = (
    select(models.PersonAlias.person_record_id, models.PersonAlias.first_name,
           models.PersonAlias.last_name)
    .where(models.PersonAlias.person_record_id.in_(bindparam("ids", expanding=True)))
    .order_by(models.PersonAlias.id)
)  # fmt: skip


def _with_aliases(session: Session, rows: Sequence[Row[Any]]) -> Iterator[Identity]:
    aliases: dict[int, list[tuple[str | None, str | None]]] = defaultdict(list)
    if rows:
        for record_id, first, last in session.connection().execute(
            _ALIASES_OF, {"ids": [row.id for row in rows]}
        ):
            aliases[record_id].append((first, last))
    for row in rows:
        yield Identity(
            record_id=row.id,
            first_name=row.first_name,
            middle_name=row.middle_name,
            last_name=row.last_name,
            dob=row.dob,
            sex=row.sex,
            ssn_index=row.ssn_blind_index,
            phone=row.phone,
            street=row.street,
            zip=row.zip,
            aliases=tuple(aliases.get(row.id, ())),
            source_system_id=row.source_system_id,
        )


def authored_source_id(session: Session) -> int | None:
    return session.scalar(
        select(models.SourceSystem.id).where(models.SourceSystem.name == AUTHORED_SOURCE)
    )


def authored_record_ids(session: Session) -> list[int]:
    authored = authored_source_id(session)
    if authored is None:
        return []
    return list(
        session.scalars(
            select(models.PersonRecord.id).where(models.PersonRecord.source_system_id == authored)
        )
    )


def current_links(session: Session) -> dict[int, int]:
    """person record id → person id, as the store has them now."""
    link = models.PersonLink
    return dict(session.execute(select(link.person_record_id, link.person_id)).all())


def decisions(session: Session) -> list[tuple[int, int, str]]:
    """Stewards' pinned decisions: (record a, record b, ``same`` or ``different``)."""
    decision = models.LinkageDecision
    return list(
        session.execute(
            select(decision.record_a_id, decision.record_b_id, decision.decision).order_by(
                decision.id
            )
        )
    )


def latest_model(session: Session) -> models.LinkageModel | None:
    return session.scalars(
        select(models.LinkageModel).order_by(models.LinkageModel.version.desc()).limit(1)
    ).first()


_LATEST_MODEL = (
    select(models.LinkageModel.version, models.LinkageModel.created_at)
    .order_by(models.LinkageModel.version.desc())
    .limit(1)
)
_LAST_RUN = (
    select(models.LinkageRun.id, models.LinkageRun.started_at)
    .order_by(models.LinkageRun.id.desc())
    .limit(1)
)


def scorer_key(session: Session) -> tuple[object, ...] | None:
    """What identifies the latest model and the run whose name frequencies are stored."""
    connection = session.connection()
    latest = connection.execute(_LATEST_MODEL).first()
    if latest is None:
        return None
    last_run = connection.execute(_LAST_RUN).first()
    return (*latest, *(last_run or (None, None)))


def next_model_version(session: Session) -> int:
    return (session.scalar(select(func.max(models.LinkageModel.version))) or 0) + 1


def clear_open_reviews(session: Session) -> None:
    """Open review pairs are replaced by each run; decided ones stay as the record of it."""
    session.execute(delete(models.MatchReview).where(models.MatchReview.status == "open"))


def decided_review_pairs(session: Session) -> set[tuple[int, int]]:
    review = models.MatchReview
    return set(
        session.execute(
            select(review.record_a_id, review.record_b_id).where(review.status != "open")
        )
    )


def replace_match_keys(session: Session, rows: Iterable[tuple[int, str]]) -> None:
    """The online matcher's candidate index, rebuilt: (person record id, blocking key)."""
    session.execute(delete(models.PersonMatchKey))
    add_match_keys(session, rows)


def add_match_keys(session: Session, rows: Iterable[tuple[int, str]]) -> None:
    batch: list[dict[str, Any]] = []
    for record_id, key in rows:
        batch.append({"person_record_id": record_id, "key": key})
        if len(batch) >= 20_000:
            session.connection().execute(insert(models.PersonMatchKey), batch)
            batch = []
    if batch:
        session.connection().execute(insert(models.PersonMatchKey), batch)


def replace_name_frequencies(session: Session, frequencies: dict[str, dict[str, float]]) -> None:
    session.execute(delete(models.NameFrequency))
    rows = [
        {"field": field, "value": value[:100], "frequency": frequency}
        for field, table in frequencies.items()
        for value, frequency in table.items()
    ]
    if rows:
        session.execute(insert(models.NameFrequency), rows)


def name_frequencies(session: Session) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = defaultdict(dict)
    frequency = models.NameFrequency
    for field, value, share in session.execute(
        select(frequency.field, frequency.value, frequency.frequency)
    ):
        found[field][value] = share
    return dict(found)


def records_with_keys(session: Session, keys: list[str], *, after: int = 0) -> list[int]:
    """Person records sharing at least one of ``keys`` (``after``: by a key stored after the
    key of that id)."""
    if not keys:
        return []
    return list(session.connection().scalars(_WITH_KEYS, {"keys": keys, "after": after}))


_WITH_KEYS = (
    select(models.PersonMatchKey.person_record_id)
    .where(
        models.PersonMatchKey.key.in_(bindparam("keys", expanding=True)),
        models.PersonMatchKey.id > bindparam("after"),
    )
    .distinct()
)


def match_key_watermark(session: Session) -> int:
    """The id of the newest blocking key: indexing appends, only a run replaces them all."""
    return session.scalar(select(func.max(models.PersonMatchKey.id))) or 0


def indexed_identities(session: Session, *, after: int, upto: int) -> Iterator[Identity]:
    """The identities of the records holding a blocking key with an id in (after, upto],
    in record id order."""
    match_key = models.PersonMatchKey
    keyed = select(match_key.person_record_id).where(match_key.id > after, match_key.id <= upto)
    query = (
        _identity_query()
        .where(models.PersonRecord.id.in_(keyed))
        .execution_options(yield_per=CHUNK)
    )
    for rows in session.execute(query).partitions():
        yield from _with_aliases(session, rows)


NAMED_ON_CALLS = (
    models.CallPerson,
    models.EmsRun,
    models.Arrest,
    models.UseOfForce,
    models.InvoluntaryHold,
)
"""Where a person record is named on a call for service: among the CAD's names, as an EMS
run's patient, or in a police arrest, use of force or hold that the call led to."""


def _named_on_calls(
    *, records: Sequence[int] | None = None, calls: Sequence[int] | None = None
) -> CompoundSelect:
    """(call id, person record id) of every naming, or of these records' or calls'."""
    arms = []
    for table in NAMED_ON_CALLS:
        arm = select(table.call_id.label("call_id"), table.person_record_id.label("record_id"))
        arm = arm.where(table.call_id.is_not(None), table.person_record_id.is_not(None))
        if records is not None:
            arm = arm.where(table.person_record_id.in_(records))
        if calls is not None:
            arm = arm.where(table.call_id.in_(calls))
        arms.append(arm)
    return union(*arms)


def records_named_on_calls(session: Session) -> list[tuple[int, int]]:
    """(call, person record) for every record named on a call, by call."""
    named = _named_on_calls().subquery()
    query = select(named.c.call_id, named.c.record_id).order_by(named.c.call_id)
    return [(call, record) for call, record in session.execute(query)]


def calls_of(session: Session, record_id: int) -> list[int]:
    """The calls this person record is named on."""
    return sorted({call for call, _ in session.execute(_named_on_calls(records=[record_id]))})


def named_on(session: Session, calls: Sequence[int]) -> list[tuple[int, int]]:
    """(call, person record) for the records named on any of these calls."""
    return sorted((call, record) for call, record in session.execute(_named_on_calls(calls=calls)))


def persons_of(session: Session, record_ids: Iterable[int]) -> dict[int, int]:
    link = models.PersonLink
    rows = read_among(
        session, "persons of records", lambda: select(link.person_record_id, link.person_id),
        link.person_record_id, list(record_ids),
    )  # fmt: skip
    return dict(rows)


def identifiers_of_person(
    session: Session, person_id: int, *, exclude: int | None = None
) -> list[Features]:
    """The distinct (SSN blind index, date of birth) pairs among a person's records, as
    features: all the contradiction guard needs, without loading every record."""
    rows = session.connection().execute(
        _IDENTIFIERS_OF, {"person": person_id, "exclude": -1 if exclude is None else exclude}
    )
    return [
        Features(
            unique_id=record_id,
            first_name=None,
            last_name=None,
            ssn=ssn,
            dob=None if dob is None or placeholder_dob(dob) else dob.isoformat(),
        )
        for record_id, ssn, dob in rows
    ]


_IDENTIFIERS_OF = (
    select(func.min(models.PersonRecord.id), models.PersonRecord.ssn_blind_index,
           models.PersonRecord.dob)
    .join(models.PersonLink, models.PersonLink.person_record_id == models.PersonRecord.id)
    .where(
        models.PersonLink.person_id == bindparam("person"),
        models.PersonRecord.id != bindparam("exclude"),  # -1: none (ids are positive)
    )
    .group_by(models.PersonRecord.ssn_blind_index, models.PersonRecord.dob)
)  # fmt: skip


def records_of_person(session: Session, person_id: int) -> list[int]:
    link = models.PersonLink
    return list(session.scalars(select(link.person_record_id).where(link.person_id == person_id)))


def unlinked_record_ids(session: Session, among: Iterable[int] | None = None) -> list[int]:
    """Person records that belong to no person yet (imported since the last run), of all or
    of ``among``."""
    record, link = models.PersonRecord, models.PersonLink
    if among is not None:
        return list(session.connection().scalars(_UNLINKED_AMONG, {"ids": list(among)}))
    query = (
        select(record.id)
        .outerjoin(link, link.person_record_id == record.id)
        .where(link.id.is_(None))
        .order_by(record.id)
    )
    return list(session.scalars(query))


_UNLINKED_AMONG = (
    select(models.PersonRecord.id)
    .outerjoin(models.PersonLink, models.PersonLink.person_record_id == models.PersonRecord.id)
    .where(
        models.PersonLink.id.is_(None),
        models.PersonRecord.id.in_(bindparam("ids", expanding=True)),
    )
    .order_by(models.PersonRecord.id)
)
