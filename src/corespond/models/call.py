"""Calls for service (CAD events), the people involved and the units that responded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, Provenance


class CallForService(Provenance, Base):
    """One CAD event. ``source_key`` is the CAD event number.

    Times are UTC. ``first_arrival_at`` before ``queued_at`` happens in real CAD data; it is kept
    as recorded and the outcome metrics flag it rather than ingest rejecting the call.
    """

    __tablename__ = "call_for_service"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_source: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[int | None] = mapped_column(Integer)
    initial_call_type: Mapped[str | None] = mapped_column(String(200))
    final_call_type: Mapped[str | None] = mapped_column(String(200))
    disposition: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_arrival_at: Mapped[datetime | None] = mapped_column(DateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    agency_key: Mapped[str | None] = mapped_column(String(100))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    notes: Mapped[str | None] = mapped_column(Text)


class CallPerson(Provenance, Base):
    """A person record named on a call, with their role (caller, subject, victim...)."""

    __tablename__ = "call_person"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_key: Mapped[str] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))


class UnitResponse(Provenance, Base):
    """One unit (call sign) sent to a call, with its status times."""

    __tablename__ = "unit_response"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_key: Mapped[str] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    call_sign: Mapped[str] = mapped_column(String(40))
    responder_type: Mapped[str] = mapped_column(String(20))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    en_route_at: Mapped[datetime | None] = mapped_column(DateTime)
    at_scene_at: Mapped[datetime | None] = mapped_column(DateTime)
    in_service_at: Mapped[datetime | None] = mapped_column(DateTime)
