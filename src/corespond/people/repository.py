"""People's own tables: cautions, response plans, referrals and care-team contacts (written by
``people.authoring`` and ``people.referrals``), and the names a page shows beside them.

Every other person fact is read through ``access.facts`` and shown under a reader's decisions.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.db.lists import Records, among


def cautions_of(session: Session, record_ids: Records) -> list[models.Caution]:
    caution = models.Caution
    found: list[models.Caution] = []
    for where in among(session, caution.person_record_id, record_ids):
        found += session.scalars(select(caution).where(where))
    return found


def plans_of(session: Session, record_ids: Records) -> list[models.ResponsePlan]:
    plan = models.ResponsePlan
    found: list[models.ResponsePlan] = []
    for where in among(session, plan.person_record_id, record_ids):
        found += session.scalars(select(plan).where(where))
    return found


def referrals_of(session: Session, record_ids: Records) -> list[models.Referral]:
    referral = models.Referral
    found: list[models.Referral] = []
    for where in among(session, referral.person_record_id, record_ids):
        found += session.scalars(select(referral).where(where))
    return sorted(found, key=lambda row: (row.referred_on, row.id), reverse=True)


def care_team_contacts_of(session: Session, record_ids: Records) -> list[models.CareTeamContact]:
    contact = models.CareTeamContact
    found: list[models.CareTeamContact] = []
    for where in among(session, contact.person_record_id, record_ids):
        found += session.scalars(select(contact).where(where))
    return found


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
