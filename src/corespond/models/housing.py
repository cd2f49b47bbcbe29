"""Homeless-services records (HUD HMIS): enrollments, exits and services."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, Provenance


class Enrollment(Provenance, Base):
    __tablename__ = "enrollment"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index("ix_enrollment_person_record_id_entry_date", "person_record_id", "entry_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    program_key: Mapped[str] = mapped_column(String(200))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), index=True)
    entry_date: Mapped[date] = mapped_column(Date, index=True)
    move_in_date: Mapped[date | None] = mapped_column(Date)
    household_id: Mapped[str | None] = mapped_column(String(100))
    living_situation: Mapped[int | None] = mapped_column(Integer)


class EnrollmentExit(Provenance, Base):
    """An exit from an enrollment; ``destination`` is the HMIS 3.12.1 code."""

    __tablename__ = "enrollment_exit"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index("ix_enrollment_exit_person_record_id_exit_date", "person_record_id", "exit_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_key: Mapped[str] = mapped_column(String(200), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment.id"), index=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    exit_date: Mapped[date] = mapped_column(Date, index=True)
    destination: Mapped[int | None] = mapped_column(Integer)


class Service(Provenance, Base):
    """A service, bed night or street-outreach contact."""

    __tablename__ = "service"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index("ix_service_person_record_id_provided_on", "person_record_id", "provided_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    provided_on: Mapped[date] = mapped_column(Date, index=True)
    service_kind: Mapped[str] = mapped_column(String(30))
    enrollment_key: Mapped[str | None] = mapped_column(String(200))
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment.id"))
    record_type: Mapped[int | None] = mapped_column(Integer)
    type_provided: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(200))
    living_situation: Mapped[int | None] = mapped_column(Integer)
