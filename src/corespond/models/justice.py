"""What police records say happened: incidents, arrests and citations, force, holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, Provenance


class PoliceIncident(Provenance, Base):
    __tablename__ = "police_incident"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    call_key: Mapped[str | None] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    offense_code: Mapped[str | None] = mapped_column(String(10))
    offense_description: Mapped[str | None] = mapped_column(String(200))
    weapon: Mapped[str | None] = mapped_column(String(60))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))


class Arrest(Provenance, Base):
    """An arrest, or a citation (``arrest_type`` = ``summoned_cited``, NIBRS 43 'S')."""

    __tablename__ = "arrest"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index("ix_arrest_person_record_id_arrested_at", "person_record_id", "arrested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    arrested_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    arrest_type: Mapped[str] = mapped_column(String(30))
    incident_key: Mapped[str | None] = mapped_column(String(200))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("police_incident.id"))
    call_key: Mapped[str | None] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    offense_code: Mapped[str | None] = mapped_column(String(10))
    armed_with: Mapped[str | None] = mapped_column(String(60))


class UseOfForce(Provenance, Base):
    __tablename__ = "use_of_force"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index("ix_use_of_force_person_record_id_occurred_at", "person_record_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    force_type: Mapped[str] = mapped_column(String(100))
    incident_key: Mapped[str | None] = mapped_column(String(200))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("police_incident.id"))
    call_key: Mapped[str | None] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    subject_injured: Mapped[bool | None] = mapped_column(Boolean)
    officer_injured: Mapped[bool | None] = mapped_column(Boolean)
    officer_id: Mapped[str | None] = mapped_column(String(40))


class InvoluntaryHold(Provenance, Base):
    __tablename__ = "involuntary_hold"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index("ix_involuntary_hold_person_record_id_started_at", "person_record_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    call_key: Mapped[str | None] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    authority: Mapped[str | None] = mapped_column(String(100))
    facility: Mapped[str | None] = mapped_column(String(200))
