"""Agencies, the source systems they export from, programs and the beat map."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, Provenance, utcnow


class SourceSystem(Base):
    """A system an agency exports from (a CAD, an RMS, an HMIS), or corespond itself."""

    __tablename__ = "source_system"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    format: Mapped[str | None] = mapped_column(String(40))
    agency_key: Mapped[str | None] = mapped_column(String(100))
    """The owning agency's key in the jurisdiction file. A key, not a foreign key: agencies are
    themselves imported from a source system, and the two must not depend on each other."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Agency(Provenance, Base):
    __tablename__ = "agency"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    ori: Mapped[str | None] = mapped_column(String(20))
    criminal_justice: Mapped[bool] = mapped_column(Boolean, default=False)


class Program(Provenance, Base):
    """Something an agency runs: the co-response program, a shelter, an outreach project."""

    __tablename__ = "program"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_key: Mapped[str | None] = mapped_column(String(100))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    program_type: Mapped[str] = mapped_column(String(60))
    hmis_project_type: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    hours_start: Mapped[int | None] = mapped_column(Integer)
    hours_end: Mapped[int | None] = mapped_column(Integer)
    beats: Mapped[str | None] = mapped_column(String(2000))
    """Service-area beats, space-separated; empty means citywide."""


class Beat(Provenance, Base):
    __tablename__ = "beat"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sector: Mapped[str | None] = mapped_column(String(40))
    precinct: Mapped[str | None] = mapped_column(String(60))
    neighborhood: Mapped[str | None] = mapped_column(String(100))
