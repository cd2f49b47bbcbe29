"""Consents to share: who may see which categories, for what purpose, for how long."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, Provenance


class Consent(Provenance, Base):
    """Modelled on a FHIR R4 Consent with one provision (permit or deny)."""

    __tablename__ = "consent"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(ForeignKey("person_record.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str | None] = mapped_column(String(200))
    purposes: Mapped[str | None] = mapped_column(String(400))
    """Purposes of use, space-separated (``care_coordination treatment``)."""
    categories: Mapped[str | None] = mapped_column(String(400))
    """Data categories, space-separated."""
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)
    part2: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[str | None] = mapped_column(Text)
