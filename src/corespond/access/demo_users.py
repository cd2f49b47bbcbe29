"""One user per role for the demo city, with credentials anyone may read, and the city's
dispatch agreements: demo mode only."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.access import users
from corespond.access.roles import Role
from corespond.config import Mode, get_settings

AGENCY_KIND = {
    Role.DISPATCHER: "dispatch",
    Role.OFFICER: "police",
    Role.CLINICIAN: "care_team",
    Role.CASEWORKER: "homeless_services",
    Role.EMS: "fire",
    Role.DATA_STEWARD: "dispatch",
    Role.PROGRAM_MANAGER: "care_team",
    Role.AGENCY_ADMIN: "care_team",
    Role.AUDITOR: "care_team",
}


DISPATCHED_KINDS = ("police", "fire", "ems", "care_team")
"""Agencies the demo city's dispatch centre sends to calls: it shares its call data with them."""
AGREEMENTS_START = date(2020, 1, 1)


class NotDemoMode(Exception):
    """Demo credentials are public: they are refused outside CORESPOND_MODE=demo."""


@dataclass
class DemoUser:
    username: str
    role: Role
    agency: str | None
    password: str
    totp_secret: str


def demo_password(role: Role) -> str:
    return f"riverbend-{role.value.replace('_', '-')}-2026"


def demo_totp_secret(role: Role) -> str:
    digest = hashlib.sha256(f"corespond demo {role.value}".encode()).digest()
    return base64.b32encode(digest[:20]).decode()


def seed(session: Session) -> list[DemoUser]:
    """Create (or find) the demo users and dispatch agreements; refuses unless in demo mode."""
    if get_settings().mode is not Mode.DEMO:
        raise NotDemoMode("demo users exist only in demo mode (CORESPOND_MODE=demo)")
    seed_dispatch_agreements(session)
    seed_partner_agreements(session)
    made = []
    for role in Role:
        username = f"demo-{role.value.replace('_', '-')}"
        agency = session.execute(
            select(models.Agency.id, models.Agency.name)
            .where(models.Agency.kind == AGENCY_KIND[role])
            .order_by(models.Agency.id)
            .limit(1)
        ).first()
        exists = session.scalar(select(models.User.id).where(models.User.username == username))
        if exists is None:
            users.add_user(
                session, username=username, display_name=f"Demo {role.value.replace('_', ' ')}",
                roles=role.value, password=demo_password(role),
                agency_id=agency.id if agency else None, by="demo",
                totp_secret=demo_totp_secret(role),
            )  # fmt: skip
        made.append(
            DemoUser(username, role, agency.name if agency else None, demo_password(role),
                     demo_totp_secret(role))
        )  # fmt: skip
    return made


def seed_dispatch_agreements(session: Session) -> None:
    """Each dispatch centre dispatches for the city's police, fire, EMS and care teams."""
    agency = models.Agency
    centres = session.scalars(select(agency).where(agency.kind == "dispatch")).all()
    served = session.scalars(select(agency).where(agency.kind.in_(DISPATCHED_KINDS))).all()
    for centre in centres:
        for other in served:
            _agree(session, "dispatch", centre, other, f"{centre.name} dispatches for {other.name}")


PARTNER_KINDS = ("police", "fire", "ems", "care_team", "homeless_services", "behavioral_health")
"""The co-response partners: they sign one information-sharing agreement (the minimal shared
view: who the person is and the cautions responders need), as such programs do."""


def seed_partner_agreements(session: Session) -> None:
    """A minimal-view agreement between each two of the city's co-response partners."""
    agency = models.Agency
    partners = session.scalars(
        select(agency).where(agency.kind.in_(PARTNER_KINDS)).order_by(agency.id)
    ).all()
    for index, first in enumerate(partners):
        for second in partners[index + 1 :]:
            name = f"Co-response partners: {first.name} and {second.name}"
            _agree(session, "minimal_view", first, second, name)


def _agree(session: Session, kind: str, a: models.Agency, b: models.Agency, name: str) -> None:
    """An agreement of ``kind`` between ``a`` and ``b`` (for dispatch: a for b), once."""
    agreement = models.SharingAgreement
    exists = session.scalar(
        select(agreement.id).where(
            agreement.kind == kind, agreement.agency_a_id == a.id, agreement.agency_b_id == b.id
        )
    )
    if exists is None:
        session.add(
            agreement(
                name=name, kind=kind, agency_a_id=a.id, agency_b_id=b.id,
                starts_on=AGREEMENTS_START,
            )
        )  # fmt: skip
