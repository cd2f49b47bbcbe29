"""Stewards' decisions: accept a pair (merge), reject it (keep apart), or split a person.

Each decision takes effect at once and is pinned as a ``linkage_decision``, so no later run
undoes it (the clustering joins "same" pairs first and never joins "different" ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from corespond import models
from corespond.audit.chain import record
from corespond.linkage import repository
from corespond.linkage.matcher import explain, load_scorer
from corespond.models.base import utcnow

Verdict = Literal["same", "different"]


class ReviewError(Exception):
    """The decision cannot be taken as asked; the message says why."""


@dataclass
class ReviewItem:
    review: models.MatchReview
    records: tuple[models.PersonRecord, models.PersonRecord]
    sources: tuple[str, str]
    persons: tuple[int | None, int | None]
    explanation: dict[str, object]


def open_reviews(session: Session, *, limit: int, offset: int = 0) -> list[ReviewItem]:
    """Open review pairs, least certain first (closest to an even chance), each explained."""
    review = models.MatchReview
    rows = session.scalars(
        select(review)
        .where(review.status == "open")
        .order_by(func.abs(review.match_probability - 0.5), review.id)
        .limit(limit)
        .offset(offset)
    ).all()
    ids = {rid for row in rows for rid in (row.record_a_id, row.record_b_id)}
    records = {
        record.id: record
        for record in session.scalars(
            select(models.PersonRecord).where(models.PersonRecord.id.in_(ids))
        )
    }
    sources = dict(session.execute(select(models.SourceSystem.id, models.SourceSystem.name)).all())
    persons = repository.persons_of(session, ids)
    scorer = load_scorer(session) if rows else None
    items = []
    for row in rows:
        a, b = records[row.record_a_id], records[row.record_b_id]
        items.append(
            ReviewItem(
                row,
                (a, b),
                (sources[a.source_system_id], sources[b.source_system_id]),
                (persons.get(a.id), persons.get(b.id)),
                explain(session, scorer, a.id, b.id) if scorer else {},
            )
        )
    return items


def count_open(session: Session) -> int:
    review = models.MatchReview
    return session.scalar(select(func.count()).where(review.status == "open")) or 0


def decide(
    session: Session, review_id: int, verdict: Verdict, *, by: str, note: str | None = None
) -> None:
    """Record a steward's verdict on a review pair; "same" merges their persons now."""
    review = session.get(models.MatchReview, review_id)
    if review is None:
        raise ReviewError(f"review pair {review_id} does not exist")
    if review.status != "open":
        raise ReviewError(f"review pair {review_id} was already decided ({review.status})")
    pin(session, review.record_a_id, review.record_b_id, verdict, by=by, note=note)
    review.status = verdict
    record(
        session, action="linkage.review_decided", actor=by,
        detail={"review": review_id, "verdict": verdict,
                "records": [review.record_a_id, review.record_b_id]},
    )  # fmt: skip
    if verdict == "same":
        persons = repository.persons_of(session, [review.record_a_id, review.record_b_id])
        keep, absorb = persons.get(review.record_a_id), persons.get(review.record_b_id)
        if keep is not None and absorb is not None and keep != absorb:
            merge(session, keep, absorb)


def pin(
    session: Session, a: int, b: int, verdict: Verdict, *, by: str, note: str | None = None
) -> None:
    """Pin a decision on two records (replacing an earlier one on the same pair)."""
    low, high = min(a, b), max(a, b)
    decision = models.LinkageDecision
    existing = session.scalars(
        select(decision).where(decision.record_a_id == low, decision.record_b_id == high)
    ).first()
    if existing is None:
        existing = decision(record_a_id=low, record_b_id=high, decision=verdict, decided_by=by)
        session.add(existing)
    existing.decision, existing.decided_by, existing.note = verdict, by, note
    existing.decided_at = utcnow()


def merge(session: Session, keep: int, absorb: int) -> None:
    """Move every record of person ``absorb`` to person ``keep``; ``absorb`` is retired."""
    larger, smaller = _by_size(session, keep, absorb)
    now = utcnow()
    session.execute(
        update(models.PersonLink)
        .where(models.PersonLink.person_id == smaller)
        .values(person_id=larger, method="steward", linked_at=now)
    )
    session.execute(
        update(models.Person)
        .where(models.Person.id == smaller)
        .values(status="merged", merged_into_id=larger, updated_at=now)
    )
    session.add(models.PersonEvent(kind="merged", person_id=smaller, other_person_id=larger))


def split(session: Session, person_id: int, record_ids: list[int], *, by: str) -> int:
    """Move ``record_ids`` out of ``person_id`` into a new person; pin them apart. New id."""
    members = set(repository.records_of_person(session, person_id))
    moving = set(record_ids)
    if not moving or not moving < members:
        raise ReviewError(
            "choose some, but not all, of the person's records to split off "
            f"(person {person_id} has records {sorted(members)})"
        )
    now = utcnow()
    new = models.Person(status="active", created_at=now, updated_at=now)
    session.add(new)
    session.flush()
    session.execute(
        update(models.PersonLink)
        .where(models.PersonLink.person_record_id.in_(moving))
        .values(person_id=new.id, method="steward", linked_at=now)
    )
    for a in moving:
        for b in members - moving:
            pin(session, a, b, "different", by=by, note=f"split from person {person_id}")
    session.add(models.PersonEvent(kind="split", person_id=new.id, other_person_id=person_id))
    record(
        session, action="linkage.person_split", actor=by, person_id=person_id,
        detail={"new_person": new.id, "records": sorted(moving)},
    )  # fmt: skip
    return new.id


def _by_size(session: Session, a: int, b: int) -> tuple[int, int]:
    link = models.PersonLink
    sizes = dict(
        session.execute(
            select(link.person_id, func.count())
            .where(link.person_id.in_([a, b]))
            .group_by(link.person_id)
        ).all()
    )
    return (a, b) if sizes.get(a, 0) >= sizes.get(b, 0) else (b, a)


@dataclass
class LinkedRecord:
    record: models.PersonRecord
    source: str
    link: models.PersonLink
    explanation: dict[str, object]


def person_records(session: Session, person_id: int) -> list[LinkedRecord]:
    """The records of a person, each with how it was linked."""
    link, record = models.PersonLink, models.PersonRecord
    rows = session.execute(
        select(record, link, models.SourceSystem.name)
        .join(link, link.person_record_id == record.id)
        .join(models.SourceSystem, models.SourceSystem.id == record.source_system_id)
        .where(link.person_id == person_id)
        .order_by(record.id)
    ).all()
    return [
        LinkedRecord(row[0], row[2], row[1], json.loads(row[1].explanation or "{}")) for row in rows
    ]
