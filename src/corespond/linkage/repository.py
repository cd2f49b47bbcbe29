"""Linkage's queries: the records it reads, and the persons, links and events it writes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.linkage.features import Identity

CHUNK = 5_000


def identities(session: Session) -> Iterator[Identity]:
    """Every person record's identity, with its aliases, in id order."""
    record = models.PersonRecord
    last_id = 0
    while True:
        rows = session.execute(
            select(
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
            )
            .where(record.id > last_id)
            .order_by(record.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        aliases: dict[int, list[tuple[str | None, str | None]]] = defaultdict(list)
        alias = models.PersonAlias
        for record_id, first, last in session.execute(
            select(alias.person_record_id, alias.first_name, alias.last_name)
            .where(alias.person_record_id.between(rows[0].id, rows[-1].id))
            .order_by(alias.id)
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
        last_id = rows[-1].id


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
