"""Access decisions over the store: grounds from consents, agreements and emergency access;
recording and revoking consents; opening emergency access. Every decision is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from corespond import models
from corespond.access import grounds as ground_rules
from corespond.access import repository
from corespond.access.decisions import Decision, Fact, Subject, decide_many
from corespond.access.roles import Purpose, Role
from corespond.audit.chain import Entry, record, record_at_commit
from corespond.linkage.repository import AUTHORED_SOURCE
from corespond.models.base import utcnow

BREAK_GLASS_HOURS = 4
SERIOUS_THREAT_HOURS = 1


class AccessError(Exception):
    """The request cannot be carried out; the message says why."""


def subject_of(session: Session, user: models.User) -> Subject:
    agency = session.get(models.Agency, user.agency_id) if user.agency_id else None
    return Subject(
        user_id=user.id,
        agency_id=user.agency_id,
        agency_name=agency.name if agency else "no agency",
        agency_kind=agency.kind if agency else "none",
        criminal_justice=bool(agency.criminal_justice) if agency else False,
        roles=frozenset(Role(word) for word in user.roles.split()),
    )


def decide_for(
    session: Session,
    subject: Subject,
    person_id: int | None,
    category: str,
    owner: models.Agency | None,
    purpose: Purpose,
    *,
    today: date | None = None,
    items: dict[str, object] | None = None,
    lookups: dict[tuple[object, ...], object] | None = None,
) -> Decision:
    """Decide, from the store's consents, agreements and emergency access, and audit it.

    ``person_id`` is None for facts about no one person (a list of calls); ``items`` says in the
    audit event what the decision covered (the calls or rows shown under it). ``lookups`` keeps
    the store's answers (the person's consents, agreements between two agencies, emergency
    access) for the other decisions of the same request (``access.reads.Reader`` passes one).
    """
    return decide_many_for(
        session, subject, person_id, [(category, owner)], purpose, today=today, items=items,
        lookups=lookups,
    )[0]  # fmt: skip


def decide_many_for(
    session: Session,
    subject: Subject,
    person_id: int | None,
    asked: list[tuple[str, models.Agency | None]],
    purpose: Purpose,
    *,
    today: date | None = None,
    items: dict[str, object] | None = None,
    lookups: dict[tuple[object, ...], object] | None = None,
) -> list[Decision]:
    """``decide_for`` for several (category, owner) of one person at once: one evaluation of
    the policies and one write of their audit events."""
    today = today or utcnow().date()
    now = utcnow()
    known = lookups if lookups is not None else {}

    def ask(key: tuple[object, ...], lookup: Callable[[], object]) -> Any:
        if key not in known:
            known[key] = lookup()
        return known[key]

    def grounds(category: str, owner_id: int | None) -> ground_rules.Grounds:
        agreements: repository.Agreements = ask(
            ("agreements", subject.agency_id),
            lambda: repository.agreements_of(session, subject.agency_id, today),
        )
        emergency: dict[str, int] = ask(
            ("emergency", subject.user_id, person_id),
            lambda: (
                repository.emergency_access(session, subject.user_id, person_id, now)
                if person_id
                else {}
            ),
        )
        return ground_rules.find(
            purpose=purpose,
            agency_id=subject.agency_id,
            category=category,
            consents=ask(("consents", person_id), lambda: repository.consents_of_person(
                session, person_id) if person_id else []),
            agreement_id=agreements.minimal_view.get(owner_id) if owner_id else None,
            dispatch_agreement_id=agreements.dispatched_by.get(owner_id) if owner_id else None,
            today=today,
            break_glass_id=emergency.get("break_glass"),
            serious_threat_id=emergency.get("serious_threat"),
        )  # fmt: skip

    facts = [
        (
            Fact(
                category=category,
                owner_agency_id=owner.id if owner else None,
                owner_name=owner.name if owner else "an unknown agency",
                owner_kind=owner.kind if owner else "unknown",
                owner_criminal_justice=bool(owner.criminal_justice) if owner else False,
            ),
            grounds(category, owner.id if owner else None),
        )
        for category, owner in asked
    ]
    decided = decide_many(subject, facts)
    entries = []
    for decision, (fact, found) in zip(decided, facts, strict=True):
        detail: dict[str, object] = {
            "owner": fact.owner_agency_id, "policies": list(decision.policies)
        }  # fmt: skip
        if items:
            detail["items"] = items
        entries.append(Entry(
            action="access.decision", actor=f"user:{subject.user_id}",
            agency_id=subject.agency_id, outcome="allow" if decision.allowed else "deny",
            person_id=person_id, categories=(fact.category,), purpose=purpose.value,
            legal_basis=_basis(decision, found), recipient_agency_id=subject.agency_id,
            detail=detail,
        ))  # fmt: skip
    record_at_commit(session, entries)
    return decided


def _basis(decision: Decision, found: ground_rules.Grounds) -> str | None:
    if not decision.allowed:
        return None
    ids = {
        "consent": f"consent:{found.consent_id}",
        "part2-consent": f"consent:{found.part2_consent_id}",
        "agreement-minimal-view": f"agreement:{found.agreement_id}",
        "dispatch-shares-calls": f"agreement:{found.dispatch_agreement_id}",
        "break-glass": f"emergency:{found.break_glass_id}",
        "serious-threat": f"emergency:{found.serious_threat_id}",
        "own-agency": "own-agency",
    }
    return ",".join(ids.get(policy, policy) for policy in decision.policies)


def record_consent(
    session: Session,
    *,
    by: models.User,
    person_id: int,
    recipient_agency_id: int,
    purposes: list[Purpose],
    categories: list[str],
    period_end: date | None,
    part2: bool = False,
    disclosing_program: str | None = None,
    decision: str = "permit",
) -> models.Consent:
    """Record a consent the person gave (FHIR Consent: one provision), on the person's record
    authored in corespond, effective on the next request."""
    recipient = session.get(models.Agency, recipient_agency_id)
    if recipient is None:
        raise AccessError(f"agency {recipient_agency_id} does not exist")
    if not purposes or not categories:
        raise AccessError("a consent names at least one purpose and one data category")
    if part2 and not disclosing_program:
        raise AccessError("a Part 2 consent names the program that discloses (42 CFR 2.31(a)(2))")
    anchor = authored_record(session, person_id)
    today = utcnow().date()
    details = None
    if part2:
        details = (
            f"42 CFR 2.31: patient named; from {disclosing_program}; to {recipient.name}; "
            f"purpose {', '.join(p.value for p in purposes)}; "
            f"expires {period_end.isoformat() if period_end else 'on revocation'}; "
            f"signed {today.isoformat()}; recorded by user {by.id}"
        )
    consent = models.Consent(
        source_system_id=anchor.source_system_id,
        source_key=f"consent-{person_id}-{utcnow().strftime('%Y%m%d%H%M%S%f')}",
        content_hash="authored",
        data_category="substance_use_part2" if part2 else "identity",
        person_record_id=anchor.id,
        status="active",
        decision=decision,
        recipient=recipient.name,
        purposes=" ".join(p.value for p in purposes),
        categories=" ".join(sorted(set(categories))),
        period_start=today,
        period_end=period_end,
        signed_on=today,
        part2=part2,
        details=details,
    )
    session.add(consent)
    session.flush()
    record(
        session, action="consent.recorded", actor=f"user:{by.id}", agency_id=by.agency_id,
        person_id=person_id, categories=categories, recipient_agency_id=recipient_agency_id,
        detail={"consent": consent.id, "part2": part2, "decision": decision},
    )  # fmt: skip
    return consent


def revoke_consent(session: Session, *, by: models.User, consent_id: int) -> None:
    consent = session.get(models.Consent, consent_id)
    if consent is None:
        raise AccessError(f"consent {consent_id} does not exist")
    if consent.status != "active":
        raise AccessError(f"consent {consent_id} is not active ({consent.status})")
    consent.status = "inactive"
    consent.period_end = utcnow().date() - timedelta(days=1)
    record(
        session, action="consent.revoked", actor=f"user:{by.id}", agency_id=by.agency_id,
        detail={"consent": consent_id},
    )  # fmt: skip


def open_emergency_access(
    session: Session, *, user: models.User, person_id: int, kind: str, reason: str
) -> models.EmergencyAccess:
    """Break the glass (clinical and EMS roles) or record a serious and imminent threat."""
    roles = {Role(word) for word in user.roles.split()}
    if kind == "break_glass" and not roles & {Role.CLINICIAN, Role.EMS}:
        raise AccessError("emergency access is for clinical and EMS staff only")
    if kind not in {"break_glass", "serious_threat"}:
        raise AccessError("emergency access is break_glass or serious_threat")
    if len(reason.strip()) < 10:
        raise AccessError("write the reason (at least 10 characters): your auditor reviews it")
    if session.get(models.Person, person_id) is None:
        raise AccessError(f"person {person_id} does not exist")
    hours = BREAK_GLASS_HOURS if kind == "break_glass" else SERIOUS_THREAT_HOURS
    access = models.EmergencyAccess(
        kind=kind, user_id=user.id, person_id=person_id, reason=reason.strip(),
        expires_at=utcnow() + timedelta(hours=hours),
    )  # fmt: skip
    session.add(access)
    session.flush()
    record(
        session, action=f"access.{kind}", actor=f"user:{user.id}", agency_id=user.agency_id,
        person_id=person_id, legal_basis=f"emergency:{access.id}",
        detail={"reason": reason.strip()[:500], "expires": access.expires_at.isoformat()},
    )  # fmt: skip
    return access


def review_emergency_access(
    session: Session, *, reviewer: models.User, access_id: int, note: str = ""
) -> models.EmergencyAccess:
    """An auditor marks their agency's emergency access reviewed (audited; once only)."""
    access = session.get(models.EmergencyAccess, access_id)
    opener = session.get(models.User, access.user_id) if access else None
    if access is None or opener is None or opener.agency_id != reviewer.agency_id:
        raise AccessError("no such emergency access for your agency")
    if access.reviewed_at is None:
        access.reviewed_by, access.reviewed_at = reviewer.id, utcnow()
        record(
            session, action="access.emergency_reviewed", actor=f"user:{reviewer.id}",
            agency_id=reviewer.agency_id, person_id=access.person_id,
            detail={"emergency": access_id, "note": note[:500]},
        )  # fmt: skip
    return access


def authored_record(session: Session, person_id: int) -> models.PersonRecord:
    """The person's record in corespond's own source system, made on first use: consents a
    user records hang on it (facts hang on records, never on persons)."""
    system = session.scalar(
        select(models.SourceSystem).where(models.SourceSystem.name == AUTHORED_SOURCE)
    )
    if system is None:
        system = models.SourceSystem(name=AUTHORED_SOURCE, format="corespond")
        session.add(system)
        session.flush()
    key = f"person-{person_id}"
    anchor = session.scalar(
        select(models.PersonRecord).where(
            models.PersonRecord.source_system_id == system.id,
            models.PersonRecord.source_key == key,
        )
    )
    if anchor is None:
        if session.get(models.Person, person_id) is None:
            raise AccessError(f"person {person_id} does not exist")
        anchor = models.PersonRecord(
            source_system_id=system.id, source_key=key, content_hash="authored",
            data_category="identity",
        )  # fmt: skip
        session.add(anchor)
        session.flush()
        session.add(
            models.PersonLink(
                person_record_id=anchor.id,
                person_id=person_id,
                method="steward",
                explanation=json.dumps({"authored": "consents recorded in corespond"}),
            )
        )
        session.flush()
    return anchor
