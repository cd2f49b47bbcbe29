"""Live incidents from CAD, the messages they arrived in, who they name, what was recommended
and what the dispatcher did; the triage protocols recommendations follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, utcnow


class Incident(Base):
    """One live CAD incident, keyed by the sending system's incident id.

    ``document`` is the EIDO document every message about the incident merges into (the
    simple JSON form is turned into EIDO first); the call, units, people and cautions it
    yields are stored as that source system's records, like any import, so the person page and
    the outcome metrics see live incidents as they see imported ones.
    """

    __tablename__ = "dispatch_incident"
    __table_args__ = (UniqueConstraint("incident_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_key: Mapped[str] = mapped_column(String(200))
    source_system_id: Mapped[int] = mapped_column(ForeignKey("source_system.id"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    document: Mapped[str] = mapped_column(Text)
    """The merged EIDO document (JSON)."""
    messages: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    """When a message gave the incident a disposition or a ``CLEARED`` time."""
    flags: Mapped[str] = mapped_column(String(400), default="")
    """Flags the call-taker set (the simple form's ``flags``), comma-separated; EIDO carries
    none, so the protocol finds them in the notes."""
    available: Mapped[str | None] = mapped_column(Text)
    """JSON: free units per responder type as the CAD last reported them (the simple form's
    ``available_units``); None when it did not say (units are then assumed free)."""


class IncidentMessage(Base):
    """One accepted intake message, verbatim, stored before the answer is sent."""

    __tablename__ = "dispatch_message"
    __table_args__ = (UniqueConstraint("incident_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("dispatch_incident.id"))
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the message's canonical JSON: the same message twice is one message."""
    form: Mapped[str] = mapped_column(String(10))
    """``eido`` or ``simple``."""
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    """Who sent it (a CAD interface's service account, or a person replaying a feed)."""


class IncidentMatch(Base):
    """What the online matcher answered for one person named on an incident."""

    __tablename__ = "dispatch_match"
    __table_args__ = (UniqueConstraint("incident_id", "person_record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("dispatch_incident.id"), index=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    role: Mapped[str] = mapped_column(String(40))
    """As the incident names them: caller, subject, patient, victim..."""
    decision: Mapped[str] = mapped_column(String(20))
    """``linked``, ``review``, ``new`` or ``unlinkable`` (the matcher's answer)."""
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    probability: Mapped[float | None] = mapped_column(Float)
    candidates: Mapped[str] = mapped_column(Text, default="[]")
    """JSON: ``[{"person_id", "probability"}]``, strongest first, when the answer is uncertain."""
    reason: Mapped[str | None] = mapped_column(Text)


class TriageProtocol(Base):
    """One version of a program's triage protocol (YAML, as its program manager wrote it)."""

    __tablename__ = "triage_protocol"
    __table_args__ = (UniqueConstraint("program", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    """The one version recommendations follow."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str | None] = mapped_column(Text)
    """What changed, in the author's words."""


class Recommendation(Base):
    """The response a protocol recommended for an incident, with the rule and the why."""

    __tablename__ = "dispatch_recommendation"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("dispatch_incident.id"), index=True)
    protocol_id: Mapped[int] = mapped_column(ForeignKey("triage_protocol.id"))
    configuration: Mapped[str] = mapped_column(String(40))
    responders: Mapped[str] = mapped_column(String(200))
    """Responder types to send, comma-separated."""
    rule: Mapped[str] = mapped_column(String(100))
    rationale: Mapped[str] = mapped_column(Text)
    steps: Mapped[str] = mapped_column(Text)
    """JSON: each rule, escalation and fallback applied, with its reason."""
    inputs: Mapped[str] = mapped_column(Text)
    """JSON: what the protocol was given (call type, flags, highest caution severity, hour),
    never the person facts themselves."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DispatchDecision(Base):
    """A dispatcher's answer to a recommendation: accepted, or overridden with a reason."""

    __tablename__ = "dispatch_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("dispatch_incident.id"), index=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("dispatch_recommendation.id"))
    action: Mapped[str] = mapped_column(String(20))
    """``accepted`` or ``overridden``."""
    configuration: Mapped[str] = mapped_column(String(40))
    """What was sent: the recommendation's, or the dispatcher's choice."""
    reason: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
