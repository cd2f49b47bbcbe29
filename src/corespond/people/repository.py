"""People's own tables: cautions, response plans, referrals and care-team contacts (written by
``people.authoring`` and ``people.referrals``), and the names a page shows beside them.

Every other person fact is read through ``access.facts`` and shown under a reader's decisions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.db.lists import Records, read_among


def cautions_of(session: Session, record_ids: Records) -> list[models.Caution]:
    return _of(session, models.Caution, record_ids)


def plans_of(session: Session, record_ids: Records) -> list[models.ResponsePlan]:
    return _of(session, models.ResponsePlan, record_ids)


def referrals_of(session: Session, record_ids: Records) -> list[models.Referral]:
    found = _of(session, models.Referral, record_ids)
    return sorted(found, key=lambda row: (row.referred_on, row.id), reverse=True)


def care_team_contacts_of(session: Session, record_ids: Records) -> list[models.CareTeamContact]:
    return _of(session, models.CareTeamContact, record_ids)


def _of(session: Session, model: Any, record_ids: Records) -> list[Any]:
    """The model's rows on these person records (a statement kept per model)."""
    return read_among(
        session, ("of records", model), lambda: select(model), model.person_record_id,
        record_ids, entities=True,
    )  # fmt: skip


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({user_id for user_id in ids if user_id is not None})
    if not wanted:
        return {}
    user = models.User
    return dict(
        session.execute(select(user.id, user.display_name).where(user.id.in_(wanted))).all()
    )


def agencies(session: Session) -> dict[int, models.Agency]:
    return {row.id: row for row in session.scalars(select(models.Agency))}


def source_names(session: Session) -> dict[int, str]:
    system = models.SourceSystem
    return dict(session.execute(select(system.id, system.name)).all())


def programs(session: Session) -> list[tuple[int, str, int | None]]:
    """(id, name, agency id) of every program, by name: where a referral can go."""
    program = models.Program
    return [
        (row.id, row.name, row.agency_id)
        for row in session.execute(
            select(program.id, program.name, program.agency_id).order_by(program.name)
        )
    ]
