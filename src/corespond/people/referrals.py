"""Referrals, closed loop: one agency refers a person; the receiving agency answers, enrols
and completes; whoever waits sees where it stands, and what is late is flagged.

``sent`` → ``accepted`` or ``declined`` (by the receiving agency) → ``enrolled`` →
``completed``; the sender may withdraw an open referral. Each step is audited; sending is a
disclosure to the receiving agency (recorded as such, so it appears in the person's accounting
of disclosures). Deadlines, decided with care teams in mind: an answer is due within
``ANSWER_DAYS`` of sending, enrolment within ``ENROL_DAYS`` of acceptance; a referral past its
due date is overdue.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.access.facts import person_of_record
from corespond.access.roles import Role
from corespond.access.service import authored_record
from corespond.audit.chain import record
from corespond.models.base import utcnow

TYPES = ("housing", "treatment", "case_management", "benefits", "mental_health", "other")
ANSWER_DAYS = 3
ENROL_DAYS = 30
CATEGORY = "case_notes"
SENDERS = frozenset({Role.CLINICIAN, Role.CASEWORKER, Role.OFFICER, Role.EMS, Role.DISPATCHER})
RECEIVERS = frozenset({Role.CLINICIAN, Role.CASEWORKER, Role.AGENCY_ADMIN, Role.PROGRAM_MANAGER})
Step = Literal["accept", "decline", "enrol", "complete", "withdraw"]
NEXT: dict[str, dict[str, str]] = {
    "accept": {"sent": "accepted"},
    "decline": {"sent": "declined", "accepted": "declined"},
    "enrol": {"accepted": "enrolled"},
    "complete": {"enrolled": "completed"},
    "withdraw": {"sent": "withdrawn", "accepted": "withdrawn"},
}


class ReferralError(Exception):
    """The step cannot be taken; the message says why."""


def _roles(user: models.User) -> set[Role]:
    return {Role(word) for word in user.roles.split()}


def send(
    session: Session, *, by: models.User, person_id: int, referral_type: str,
    to_agency_id: int, to_program_id: int | None = None, reason: str = "",
    incident_id: int | None = None,
) -> models.Referral:  # fmt: skip
    """Refer the person (``incident_id``: from a live incident, whose card then shows it)."""
    if by.agency_id is None or not _roles(by) & SENDERS:
        raise ReferralError(
            "referrals are sent by responders, clinicians and caseworkers of an agency"
        )
    if referral_type not in TYPES:
        raise ReferralError(f"the referral type is one of {', '.join(TYPES)}")
    receiver = session.get(models.Agency, to_agency_id)
    if receiver is None:
        raise ReferralError(f"agency {to_agency_id} does not exist")
    if receiver.id == by.agency_id:
        raise ReferralError("refer to another agency (your own agency's work is not a referral)")
    program = None
    if to_program_id is not None:
        program = session.get(models.Program, to_program_id)
        if program is None or (program.agency_id is not None and program.agency_id != receiver.id):
            raise ReferralError("that program is not run by the receiving agency")
    today = utcnow().date()
    anchor = authored_record(session, person_id)
    referral = models.Referral(
        source_system_id=anchor.source_system_id,
        source_key=f"referral-{person_id}-{utcnow().strftime('%Y%m%d%H%M%S%f')}",
        content_hash="authored", data_category=CATEGORY, person_record_id=anchor.id,
        referred_on=today, referral_type=referral_type, to_agency_key=receiver.source_key,
        to_agency_id=receiver.id, to_program_key=program.name if program else None,
        to_program_id=program.id if program else None, status="sent",
        from_agency_id=by.agency_id, from_user_id=by.id, reason=reason.strip()[:4000] or None,
        due_on=today + timedelta(days=ANSWER_DAYS), incident_id=incident_id,
    )  # fmt: skip
    session.add(referral)
    session.flush()
    record(
        session, action="referral.sent", actor=f"user:{by.id}", agency_id=by.agency_id,
        person_id=person_id, categories=[CATEGORY], recipient_agency_id=receiver.id,
        legal_basis="referral", detail={"referral": referral.id, "type": referral_type},
    )  # fmt: skip
    return referral


def advance(
    session: Session, *, by: models.User, referral_id: int, step: Step, note: str = "",
    on: date | None = None,
) -> models.Referral:  # fmt: skip
    """Take the next step: the receiving agency accepts, declines, enrols and completes; the
    sending agency withdraws."""
    referral = session.get(models.Referral, referral_id)
    if (
        referral is None
        or by.agency_id is None
        or by.agency_id not in {referral.to_agency_id, referral.from_agency_id}
    ):
        raise ReferralError("no such referral to or from your agency")
    if step not in NEXT:
        raise ReferralError(f"the step is one of {', '.join(NEXT)}")
    receiving = step != "withdraw"
    if receiving and by.agency_id != referral.to_agency_id:
        raise ReferralError("only the receiving agency answers, enrols and completes a referral")
    if not receiving and by.agency_id != referral.from_agency_id:
        raise ReferralError("only the sending agency withdraws a referral")
    if receiving and not _roles(by) & RECEIVERS:
        raise ReferralError("your roles cannot answer referrals")
    status = NEXT[step].get(referral.status)
    if status is None:
        raise ReferralError(f"a referral that is {referral.status} cannot be {_past(step)}")
    if step == "decline" and not note.strip():
        raise ReferralError("say why the referral is declined: the sender needs to know")
    today = on or utcnow().date()
    referral.status = status
    if step in {"accept", "decline"}:
        referral.answered_at = utcnow()
        referral.answered_by_user_id = by.id
    if step == "accept":
        referral.due_on = today + timedelta(days=ENROL_DAYS)
    elif step == "decline":
        referral.decline_reason = note.strip()[:4000]
        referral.due_on, referral.outcome_on = None, today
    elif step == "enrol":
        referral.enrolled_on, referral.due_on = today, None
    elif step == "complete":
        referral.completed_on = referral.outcome_on = today
    else:
        referral.due_on, referral.outcome_on = None, today
    person_id = person_of_record(session, referral.person_record_id)
    record(
        session, action=f"referral.{status}", actor=f"user:{by.id}", agency_id=by.agency_id,
        person_id=person_id, categories=[CATEGORY],
        detail={"referral": referral.id, "note": note.strip()[:500]} if note.strip()
        else {"referral": referral.id},
    )  # fmt: skip
    return referral


def _past(step: str) -> str:
    return {"accept": "accepted", "decline": "declined", "enrol": "enrolled",
            "complete": "completed", "withdraw": "withdrawn"}[step]  # fmt: skip


def of_incident(session: Session, incident_id: int) -> list[models.Referral]:
    """Referrals a responder started from a live incident, oldest first."""
    referral = models.Referral
    return list(
        session.scalars(
            select(referral).where(referral.incident_id == incident_id).order_by(referral.id)
        )
    )


def of_agency(
    session: Session, agency_id: int, *, incoming: bool = True, open_only: bool = True
) -> list[models.Referral]:
    """Referrals to (or from) an agency, oldest due first."""
    referral = models.Referral
    column = referral.to_agency_id if incoming else referral.from_agency_id
    query = select(referral).where(column == agency_id)
    if open_only:
        query = query.where(referral.status.in_(("sent", "accepted", "enrolled")))
    return list(
        session.scalars(query.order_by(referral.due_on.is_(None), referral.due_on, referral.id))
    )
