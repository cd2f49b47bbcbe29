"""Cautions and response plans written in corespond: one user writes, another approves.

A draft is seen only in its own agency until another user of that agency approves it; then it
shows to partners as far as their access allows (data category ``safety``: the minimal shared
view). An edit of an approved caution or plan is a new version, a draft that supersedes the
approved one when it is approved in turn, so every version stays. An approver may return a
draft with a note. Each step is audited. Nothing here commits (the unit of work does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

from sqlalchemy.orm import Session

from corespond import models
from corespond.access.facts import person_of_record
from corespond.access.roles import Role
from corespond.access.service import authored_record
from corespond.audit.chain import record
from corespond.models.base import utcnow
from corespond.sources.records import CautionSeverity

AUTHORS = frozenset({Role.CLINICIAN, Role.CASEWORKER, Role.OFFICER, Role.EMS})
"""Roles that write cautions and plans about the people they serve."""
APPROVERS = AUTHORS | {Role.AGENCY_ADMIN, Role.PROGRAM_MANAGER}
SEVERITY_RANK = {severity.value: rank for rank, severity in enumerate(CautionSeverity)}
CATEGORY = "safety"
Kind = Literal["caution", "plan"]


class AuthoringError(Exception):
    """The step cannot be taken; the message says why."""


@dataclass(frozen=True)
class CautionDraft:
    caution_type: str
    severity: str
    description: str = ""
    expires_on: date | None = None
    review_on: date | None = None


@dataclass(frozen=True)
class PlanDraft:
    triggers: str = ""
    what_helps: str = ""
    de_escalation: str = ""
    who_to_call: str = ""
    review_on: date | None = None
    expires_on: date | None = None


def _roles(user: models.User) -> set[Role]:
    return {Role(word) for word in user.roles.split()}


def _check_author(user: models.User) -> None:
    if user.agency_id is None:
        raise AuthoringError("only a user of an agency can write cautions and plans")
    if not _roles(user) & AUTHORS:
        raise AuthoringError("cautions and plans are written by clinicians, caseworkers, "
                             "officers and EMS staff")  # fmt: skip


def _key(kind: str, person_id: int) -> str:
    return f"{kind}-{person_id}-{utcnow().strftime('%Y%m%d%H%M%S%f')}"


def draft_caution(
    session: Session, *, by: models.User, person_id: int, draft: CautionDraft,
    supersedes: int | None = None,
) -> models.Caution:  # fmt: skip
    """A new caution, or a new version of an approved one (``supersedes``), as a draft."""
    _check_author(by)
    caution_type = draft.caution_type.strip()
    if not caution_type:
        raise AuthoringError("say what the caution is about (its type)")
    if draft.severity not in SEVERITY_RANK:
        raise AuthoringError(f"severity is one of {', '.join(SEVERITY_RANK)}")
    version = _next_version(session, models.Caution, supersedes, by, draft.expires_on)
    anchor = authored_record(session, person_id)
    agency = session.get(models.Agency, by.agency_id)
    caution = models.Caution(
        source_system_id=anchor.source_system_id, source_key=_key("caution", person_id),
        content_hash="authored", data_category=CATEGORY, person_record_id=anchor.id,
        caution_type=caution_type[:100], severity=draft.severity,
        severity_rank=SEVERITY_RANK[draft.severity],
        description=draft.description.strip() or None, source=agency.name if agency else None,
        valid_from=None,
        valid_to=datetime.combine(draft.expires_on, time.max) if draft.expires_on else None,
        status="draft", version=version, supersedes_id=supersedes, agency_id=by.agency_id,
        author_user_id=by.id, review_on=draft.review_on,
    )  # fmt: skip
    session.add(caution)
    session.flush()
    _audit(session, "caution.drafted", by, person_id, caution.id, version=version)
    return caution


def draft_plan(
    session: Session, *, by: models.User, person_id: int, draft: PlanDraft,
    supersedes: int | None = None,
) -> models.ResponsePlan:  # fmt: skip
    _check_author(by)
    texts = (draft.triggers, draft.what_helps, draft.de_escalation, draft.who_to_call)
    if not any(text.strip() for text in texts):
        raise AuthoringError("a response plan says at least one of: triggers, what helps, "
                             "de-escalation, who to call")  # fmt: skip
    version = _next_version(session, models.ResponsePlan, supersedes, by, draft.expires_on)
    anchor = authored_record(session, person_id)
    plan = models.ResponsePlan(
        source_system_id=anchor.source_system_id, source_key=_key("plan", person_id),
        content_hash="authored", data_category=CATEGORY, person_record_id=anchor.id,
        version=version, status="draft", triggers=draft.triggers.strip() or None,
        what_helps=draft.what_helps.strip() or None,
        de_escalation=draft.de_escalation.strip() or None,
        who_to_call=draft.who_to_call.strip() or None, author=by.display_name,
        review_on=draft.review_on, expires_on=draft.expires_on, supersedes_id=supersedes,
        agency_id=by.agency_id, author_user_id=by.id,
    )  # fmt: skip
    session.add(plan)
    session.flush()
    _audit(session, "plan.drafted", by, person_id, plan.id, version=version)
    return plan


def _next_version(
    session: Session, model: type[models.Caution] | type[models.ResponsePlan],
    supersedes: int | None, by: models.User, expires_on: date | None,
) -> int:  # fmt: skip
    """1 for a new caution or plan; one more than the approved one a revision supersedes."""
    if expires_on is not None and expires_on <= utcnow().date():
        raise AuthoringError("the expiry date must be in the future")
    if supersedes is None:
        return 1
    earlier = _own(session, model, supersedes, by)
    if earlier.status != "approved":
        raise AuthoringError("only an approved caution or plan can be revised")
    return earlier.version + 1


def approve(session: Session, *, by: models.User, kind: Kind, row_id: int) -> None:
    """Approve a draft of the approver's agency that someone else wrote; it supersedes the
    version it revises."""
    model = models.Caution if kind == "caution" else models.ResponsePlan
    row = _own(session, model, row_id, by)
    if not _roles(by) & APPROVERS:
        raise AuthoringError("your roles cannot approve cautions and plans")
    if row.status not in {"draft", "returned"}:
        raise AuthoringError(f"this {kind} is {row.status}, not a draft")
    if row.author_user_id == by.id:
        raise AuthoringError(f"another user of your agency must approve your {kind}")
    row.status = "approved"
    row.approver_user_id = by.id
    row.approved_at = utcnow()
    if kind == "plan":
        row.approver = by.display_name  # type: ignore[union-attr]
    if row.supersedes_id is not None:
        earlier = _get(session, model, row.supersedes_id)
        if earlier is not None and earlier.status == "approved":
            earlier.status = "superseded"
    _audit(session, f"{kind}.approved", by, _person_of(session, row), row.id, version=row.version)


def send_back(session: Session, *, by: models.User, kind: Kind, row_id: int, note: str) -> None:
    """Return a draft to its author with a note (it stays a draft of the agency)."""
    model = models.Caution if kind == "caution" else models.ResponsePlan
    row = _own(session, model, row_id, by)
    if row.status != "draft":
        raise AuthoringError(f"this {kind} is {row.status}, not a draft")
    if not note.strip():
        raise AuthoringError("say why the draft goes back")
    row.status = "returned"
    row.review_note = note.strip()[:2000]
    _audit(session, f"{kind}.returned", by, _person_of(session, row), row.id)


def retire(session: Session, *, by: models.User, kind: Kind, row_id: int) -> None:
    """An approved caution or plan no longer applies (it stays, as retired)."""
    model = models.Caution if kind == "caution" else models.ResponsePlan
    row = _own(session, model, row_id, by)
    if row.status not in {"approved", "draft", "returned"}:
        raise AuthoringError(f"this {kind} is already {row.status}")
    _check_author(by)
    row.status = "retired"
    _audit(session, f"{kind}.retired", by, _person_of(session, row), row.id)


def review(
    session: Session, *, by: models.User, kind: Kind, row_id: int, action: str, note: str = ""
) -> None:
    """``approve``, ``return`` (with a note) or ``retire``: the one entry pages and API use."""
    if action == "approve":
        approve(session, by=by, kind=kind, row_id=row_id)
    elif action == "return":
        send_back(session, by=by, kind=kind, row_id=row_id, note=note)
    elif action == "retire":
        retire(session, by=by, kind=kind, row_id=row_id)
    else:
        raise AuthoringError("the action is approve, return or retire")


def _own(
    session: Session, model: type[models.Caution] | type[models.ResponsePlan], row_id: int,
    by: models.User,
) -> models.Caution | models.ResponsePlan:  # fmt: skip
    row = _get(session, model, row_id)
    if row is None or row.agency_id is None or row.agency_id != by.agency_id:
        raise AuthoringError("no such caution or plan written in your agency")
    return row


def _get(
    session: Session, model: type[models.Caution] | type[models.ResponsePlan], row_id: int
) -> models.Caution | models.ResponsePlan | None:
    if model is models.Caution:
        return session.get(models.Caution, row_id)
    return session.get(models.ResponsePlan, row_id)


def _person_of(session: Session, row: models.Caution | models.ResponsePlan) -> int | None:
    return person_of_record(session, row.person_record_id)


def _audit(
    session: Session, action: str, by: models.User, person_id: int | None, row_id: int,
    **detail: object,
) -> None:  # fmt: skip
    record(
        session, action=action, actor=f"user:{by.id}", agency_id=by.agency_id,
        person_id=person_id, categories=[CATEGORY], detail={"id": row_id, **detail},
    )  # fmt: skip
