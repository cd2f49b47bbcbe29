"""What police records say happened: incidents, arrests and citations, force, holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, UniqueConstraint
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
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"), index=True)
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
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"), index=True)
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
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    call_key: Mapped[str | None] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    authority: Mapped[str | None] = mapped_column(String(100))
    facility: Mapped[str | None] = mapped_column(String(200))
