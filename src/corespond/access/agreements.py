"""Sharing agreements between agencies: recorded, listed and ended by an administrator.

Two kinds (see :class:`corespond.models.SharingAgreement`): ``minimal_view``, an information-
sharing agreement under which each agency sees the other's minimal shared view, and
``dispatch``, under which a dispatch centre's call data is seen by an agency it dispatches for.
Policy decisions read them (``access/repository``); every change is an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.access.repository import agencies_by_key
from corespond.audit.chain import record

KINDS = ("minimal_view", "dispatch")


class AgreementError(ValueError):
    """An agreement that cannot be recorded or ended as asked; the message says why."""


@dataclass(frozen=True)
class AgreementView:
    id: int
    name: str
    kind: str
    agency_a: str
    agency_b: str
    starts_on: date
    ends_on: date | None


def record_agreement(
    session: Session,
    *,
    name: str,
    kind: str,
    agency_a: str,
    agency_b: str,
    starts_on: date,
    ends_on: date | None,
    by: str,
) -> models.SharingAgreement:
    """Record an agreement between two agencies (by their keys).

    Raises:
        AgreementError: an unknown kind or agency, the same agency twice, a dispatch agreement
            whose first agency is not a dispatch centre, or an end before the start.
    """
    if kind not in KINDS:
        raise AgreementError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not name.strip():
        raise AgreementError("an agreement needs a name (the document it records)")
    if agency_a == agency_b:
        raise AgreementError("an agreement is between two different agencies")
    if ends_on is not None and ends_on < starts_on:
        raise AgreementError(f"it ends ({ends_on}) before it starts ({starts_on})")
    found = agencies_by_key(session, [agency_a, agency_b])
    missing = [key for key in (agency_a, agency_b) if key not in found]
    if missing:
        raise AgreementError(f"no agency with key {', '.join(map(repr, missing))}")
    first, second = found[agency_a], found[agency_b]
    if kind == "dispatch" and first.kind != "dispatch":
        raise AgreementError(
            f"a dispatch agreement runs from a dispatch centre; {first.name} is {first.kind}"
        )
    agreement = models.SharingAgreement(
        name=name.strip(), kind=kind, agency_a_id=first.id, agency_b_id=second.id,
        starts_on=starts_on, ends_on=ends_on,
    )  # fmt: skip
    session.add(agreement)
    session.flush()
    record(
        session, action="admin.agreement_recorded", actor=by, agency_id=first.id,
        recipient_agency_id=second.id,
        detail={"agreement": agreement.id, "kind": kind, "name": agreement.name,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat() if ends_on else None},
    )  # fmt: skip
    return agreement


def end_agreement(session: Session, agreement_id: int, *, on: date, by: str) -> None:
    """End an agreement on a date (decisions stop relying on it after that day).

    Raises:
        AgreementError: no such agreement, or the date is before it started.
    """
    agreement = session.get(models.SharingAgreement, agreement_id)
    if agreement is None:
        raise AgreementError(f"no agreement #{agreement_id}")
    if on < agreement.starts_on:
        raise AgreementError(f"it started on {agreement.starts_on}; it cannot end before")
    agreement.ends_on = on
    record(
        session, action="admin.agreement_ended", actor=by, agency_id=agreement.agency_a_id,
        recipient_agency_id=agreement.agency_b_id,
        detail={"agreement": agreement.id, "ends_on": on.isoformat()},
    )  # fmt: skip


def agreements(session: Session) -> list[AgreementView]:
    """Every agreement, newest first, with its agencies' names."""
    agreement, a, b = (
        models.SharingAgreement,
        models.Agency.__table__.alias("a"),
        models.Agency.__table__.alias("b"),
    )
    rows = session.execute(
        select(agreement, a.c.name, b.c.name)
        .join(a, a.c.id == agreement.agency_a_id)
        .join(b, b.c.id == agreement.agency_b_id)
        .order_by(agreement.id.desc())
    )
    return [
        AgreementView(row.id, row.name, row.kind, name_a, name_b, row.starts_on, row.ends_on)
        for row, name_a, name_b in rows
    ]
