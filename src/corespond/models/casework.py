"""Casework: referrals, case notes, cautions, response plans and care-team contacts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, Provenance


class Referral(Provenance, Base):
    __tablename__ = "referral"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index("ix_referral_person_record_id_referred_on", "person_record_id", "referred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    referred_on: Mapped[date] = mapped_column(Date, index=True)
    referral_type: Mapped[str] = mapped_column(String(40))
    to_agency_key: Mapped[str | None] = mapped_column(String(100))
    to_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    to_program_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    """``sent``, ``accepted``, ``declined``, ``enrolled``, ``completed`` or ``withdrawn``
    (imported referrals keep the status their source gave)."""
    outcome_on: Mapped[date | None] = mapped_column(Date)
    # Referrals made in corespond (closed loop): who sent it, what the receiver did and when.
    from_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    to_program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    """When the next step is due: an answer while ``sent``, enrolment while ``accepted``."""
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    enrolled_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch_incident.id"), index=True)
    """The live incident a responder referred the person from, closing the loop back to it."""


class CaseNote(Provenance, Base):
    __tablename__ = "case_note"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index("ix_case_note_person_record_id_written_at", "person_record_id", "written_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    written_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))


class Caution(Provenance, Base):
    """An EIDO caution about a person, or about a place when no person is named."""

    __tablename__ = "caution"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int | None] = mapped_column(ForeignKey("person_record.id"), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    call_key: Mapped[str | None] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"))
    caution_type: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(10))
    severity_rank: Mapped[int] = mapped_column(Integer)
    """0 for highest through 4 for lowest, so that cautions sort by severity."""
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime)
    valid_to: Mapped[datetime | None] = mapped_column(DateTime)
    """When the caution expires (shown no more after it)."""
    # Cautions written in corespond: a draft until another user of the same agency approves it;
    # an edit is a new version that supersedes the approved one when it is approved in turn.
    status: Mapped[str] = mapped_column(String(20), default="approved", server_default="approved")
    """``draft``, ``approved``, ``returned``, ``superseded`` or ``retired``; imported cautions
    are as their source approved them."""
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("caution.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    """The agency that wrote it (corespond-authored cautions; imported ones are held by their
    source's agency)."""
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approver_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    review_on: Mapped[date | None] = mapped_column(Date)
    review_note: Mapped[str | None] = mapped_column(Text)
    """Why an approver returned the draft."""


class ResponsePlan(Provenance, Base):
    """What helps and what to avoid with a person; written by one user, approved by another."""

    __tablename__ = "response_plan"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    """``draft``, ``approved``, ``returned``, ``superseded`` or ``retired``."""
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("response_plan.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approver_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    review_note: Mapped[str | None] = mapped_column(Text)
    triggers: Mapped[str | None] = mapped_column(Text)
    what_helps: Mapped[str | None] = mapped_column(Text)
    de_escalation: Mapped[str | None] = mapped_column(Text)
    who_to_call: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    approver: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    review_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)


class CareTeamContact(Provenance, Base):
    """Someone at an agency who knows the person, and how to reach them."""

    __tablename__ = "care_team_contact"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_role: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    last_contact_on: Mapped[date | None] = mapped_column(Date)
    contact_count: Mapped[int] = mapped_column(Integer, default=0)
