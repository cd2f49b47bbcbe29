"""EMS runs, hospital encounters, and behavioural-health and substance-use treatment."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, Provenance


class EmsRun(Provenance, Base):
    """A NEMSIS patient care report. ``source_key`` is eRecord.01."""

    __tablename__ = "ems_run"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int | None] = mapped_column(ForeignKey("person_record.id"), index=True)
    call_key: Mapped[str | None] = mapped_column(String(200), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call_for_service.id"), index=True)
    unit_call_sign: Mapped[str | None] = mapped_column(String(40))
    psap_call_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    en_route_at: Mapped[datetime | None] = mapped_column(DateTime)
    at_scene_at: Mapped[datetime | None] = mapped_column(DateTime)
    left_scene_at: Mapped[datetime | None] = mapped_column(DateTime)
    at_destination_at: Mapped[datetime | None] = mapped_column(DateTime)
    in_service_at: Mapped[datetime | None] = mapped_column(DateTime)
    primary_impression: Mapped[str | None] = mapped_column(String(200))
    unit_disposition: Mapped[str | None] = mapped_column(String(20))
    patient_evaluation: Mapped[str | None] = mapped_column(String(20))
    transport_disposition: Mapped[str | None] = mapped_column(String(20))
    transported: Mapped[bool | None] = mapped_column(Boolean)
    destination_type: Mapped[str | None] = mapped_column(String(20))
    destination_name: Mapped[str | None] = mapped_column(String(200))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))


class HospitalEncounter(Provenance, Base):
    """An ER visit or a hospital stay."""

    __tablename__ = "hospital_encounter"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index(
            "ix_hospital_encounter_person_record_id_started_at", "person_record_id", "started_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    encounter_kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String(200))
    discharge_disposition: Mapped[str | None] = mapped_column(String(100))
    facility: Mapped[str | None] = mapped_column(String(200))


class TreatmentEncounter(Provenance, Base):
    """A behavioural-health or substance-use treatment contact; ``part2`` per 42 CFR Part 2."""

    __tablename__ = "treatment_encounter"
    __table_args__ = (
        UniqueConstraint("source_key", "source_system_id"),
        # A person's facts from a day on (the brief's recent contacts) without their older ones.
        Index(
            "ix_treatment_encounter_person_record_id_started_at", "person_record_id", "started_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str | None] = mapped_column(String(30))
    encounter_class: Mapped[str | None] = mapped_column(String(20))
    encounter_type: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(200))
    part2: Mapped[bool] = mapped_column(Boolean, default=False)
    provider: Mapped[str | None] = mapped_column(String(200))


class Condition(Provenance, Base):
    __tablename__ = "condition"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(40))
    code_system: Mapped[str | None] = mapped_column(String(200))
    display: Mapped[str | None] = mapped_column(String(200))
    clinical_status: Mapped[str | None] = mapped_column(String(30))
    onset: Mapped[date | None] = mapped_column(Date)
    recorded_on: Mapped[date | None] = mapped_column(Date)
    part2: Mapped[bool] = mapped_column(Boolean, default=False)
