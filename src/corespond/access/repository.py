"""Access's queries: a person's consents, agreements between agencies, emergency access."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.access.grounds import ConsentTerms

_FROM = re.compile(r"\bfrom ([^;]+);")


def agencies(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every agency, by name."""
    agency = models.Agency
    return [(row.id, row.name) for row in session.execute(
        select(agency.id, agency.name).order_by(agency.name)
    )]  # fmt: skip


def agencies_by_key(session: Session, keys: Iterable[str]) -> dict[str, models.Agency]:
    """The agencies with these keys (the first imported, where two sources share a key)."""
    agency = models.Agency
    found: dict[str, models.Agency] = {}
    for row in session.scalars(
        select(agency).where(agency.source_key.in_(list(keys))).order_by(agency.id)
    ):
        found.setdefault(row.source_key, row)
    return found


def users_of_agency(session: Session, agency_id: int | None) -> list[models.User]:
    user = models.User
    return list(
        session.scalars(select(user).where(user.agency_id == agency_id).order_by(user.username))
    )


def emergency_access_of_agency(
    session: Session, agency_id: int | None, limit: int = 200
) -> list[tuple[models.EmergencyAccess, str]]:
    """Emergency access by the agency's users, with who opened it; unreviewed first."""
    access, user = models.EmergencyAccess, models.User
    rows = session.execute(
        select(access, user.username)
        .join(user, user.id == access.user_id)
        .where(user.agency_id == agency_id)
        .order_by(access.reviewed_at.is_not(None), access.opened_at.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def agency_ids_by_name(session: Session) -> dict[str, int]:
    """Agency ids by lower-cased name and by key: how consents name their recipient."""
    found: dict[str, int] = {}
    for agency_id, name, key in session.execute(
        select(models.Agency.id, models.Agency.name, models.Agency.source_key)
    ):
        found[name.strip().lower()] = agency_id
        found[key.strip().lower()] = agency_id
    return found


def consents_of_person(session: Session, person_id: int) -> list[ConsentTerms]:
    """Every consent on any record of the person, as the decision needs it."""
    rows = session.scalars(_CONSENTS_OF_PERSON, {"person": person_id}).all()
    if not rows:
        return []
    agencies = agency_ids_by_name(session)
    return [terms(row, agencies) for row in rows]


_CONSENTS_OF_PERSON = (
    select(models.Consent)
    .join(models.PersonLink, models.PersonLink.person_record_id == models.Consent.person_record_id)
    .where(models.PersonLink.person_id == bindparam("person"))
    .order_by(models.Consent.id)
)


def terms(row: models.Consent, agencies: dict[str, int]) -> ConsentTerms:
    details = row.details or ""
    disclosing = _FROM.search(details)
    return ConsentTerms(
        id=row.id,
        status=row.status,
        decision=row.decision,
        recipient_agency_id=agencies.get((row.recipient or "").strip().lower()),
        purposes=frozenset((row.purposes or "").split()),
        categories=frozenset((row.categories or "").split()),
        period_start=row.period_start,
        period_end=row.period_end,
        signed_on=row.signed_on,
        part2=row.part2,
        disclosing_program=disclosing.group(1).strip() if disclosing else None,
        expiry_stated=row.period_end is not None or "expires" in details,
    )


@dataclass(frozen=True)
class Agreements:
    """The agreements in force for one agency, as its decisions need them."""

    minimal_view: dict[int, int]
    """Other agency → the (earliest) minimal shared view agreement in force with it."""
    dispatched_by: dict[int, int]
    """Dispatching agency → the (earliest) dispatch agreement under which it dispatches for
    this agency."""


def agreements_of(session: Session, agency_id: int | None, today: date) -> Agreements:
    """Every agreement in force today that names ``agency_id`` (one read per request, however
    many agencies hold what a page shows)."""
    found = Agreements({}, {})
    if agency_id is None:
        return found
    rows = session.connection().execute(_AGREEMENTS_OF, {"agency": agency_id, "today": today})
    for agreement_id, kind, a, b in rows:
        if a == b:
            continue
        if kind == "minimal_view":
            found.minimal_view.setdefault(b if a == agency_id else a, agreement_id)
        elif b == agency_id:
            found.dispatched_by.setdefault(a, agreement_id)
    return found


_agreement = models.SharingAgreement
_AGREEMENTS_OF = (
    select(_agreement.id, _agreement.kind, _agreement.agency_a_id, _agreement.agency_b_id)
    .where(
        or_(_agreement.agency_a_id == bindparam("agency"),
            _agreement.agency_b_id == bindparam("agency")),
        _agreement.kind.in_(("minimal_view", "dispatch")),
        _agreement.starts_on <= bindparam("today"),
        or_(_agreement.ends_on.is_(None), _agreement.ends_on >= bindparam("today")),
    )
    .order_by(_agreement.id)
)  # fmt: skip


@dataclass(frozen=True)
class SourceHolder:
    """A source system's format and the agency that holds what it sends (None: not named)."""

    format: str | None
    agency: models.Agency | None


def source_holders(session: Session) -> dict[int, SourceHolder]:
    """Each source system's format and agency (named by its key in the jurisdiction file)."""
    by_key: dict[str, models.Agency] = {}
    for agency in session.scalars(_AGENCIES):
        by_key.setdefault(agency.source_key, agency)
    return {
        source_id: SourceHolder(format, by_key.get(key) if key else None)
        for source_id, format, key in session.connection().execute(_SOURCE_SYSTEMS)
    }


_AGENCIES = select(models.Agency).order_by(models.Agency.id)
_SOURCE_SYSTEMS = select(
    models.SourceSystem.id, models.SourceSystem.format, models.SourceSystem.agency_key
)


def emergency_access(
    session: Session, user_id: int, person_id: int, now: datetime
) -> dict[str, int]:
    """Kind of emergency access (``break_glass``, ``serious_threat``) → the latest the user
    holds open on the person."""
    rows = session.connection().execute(
        _EMERGENCY_ACCESS, {"user": user_id, "person": person_id, "now": now}
    )
    found: dict[str, int] = {}
    for kind, access_id in rows:
        found.setdefault(kind, access_id)
    return found


_access = models.EmergencyAccess
_EMERGENCY_ACCESS = (
    select(_access.kind, _access.id)
    .where(
        _access.user_id == bindparam("user"),
        _access.person_id == bindparam("person"),
        _access.expires_at > bindparam("now"),
    )
    .order_by(_access.id.desc())
)
