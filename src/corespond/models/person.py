"""Person records as each source saw them, and persons: clusters of those records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, Provenance, utcnow


class PersonRecord(Provenance, Base):
    """A person as one source system recorded them. The SSN is only ever stored encrypted."""

    __tablename__ = "person_record"
    __table_args__ = (UniqueConstraint("source_key", "source_system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100), index=True)
    suffix: Mapped[str | None] = mapped_column(String(20))
    dob: Mapped[date | None] = mapped_column(Date, index=True)
    sex: Mapped[str | None] = mapped_column(String(20))
    race: Mapped[str | None] = mapped_column(String(100))
    ethnicity: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    street: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(40))
    zip: Mapped[str | None] = mapped_column(String(10))
    height_cm: Mapped[int | None] = mapped_column(Integer)
    weight_kg: Mapped[int | None] = mapped_column(Integer)
    hair: Mapped[str | None] = mapped_column(String(40))
    eyes: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    ssn_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    """AES-256-GCM: key id, nonce and ciphertext (``crypto.fields``)."""
    ssn_blind_index: Mapped[str | None] = mapped_column(String(64), index=True)
    """HMAC-SHA256 of the nine digits; set only for a plausible SSN, so junk never matches."""
    ssn_status: Mapped[str | None] = mapped_column(String(20))
    """``valid``, ``junk`` (000000000, 123456789, area 000/666/9xx...) or ``malformed``."""


class PersonAlias(Base):
    """Another name a source recorded for the person (AKA)."""

    __tablename__ = "person_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(
        ForeignKey("person_record.id", ondelete="CASCADE"), index=True
    )
    first_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100), index=True)
    suffix: Mapped[str | None] = mapped_column(String(20))


class Person(Base):
    """A real person as corespond understands them: a cluster of person records.

    Filled by linkage. Ids are stable across re-linking; facts never point here directly.
    """

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    """``active``, or ``merged`` into ``merged_into_id``."""
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PersonLink(Base):
    """Which person a person record belongs to, how sure, and how it was decided."""

    __tablename__ = "person_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(
        ForeignKey("person_record.id", ondelete="CASCADE"), unique=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    match_probability: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(20))
    """``batch``, ``online``, ``steward``, ``singleton`` or ``unlinkable``."""
    linked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    linkage_run_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_run.id"), index=True)
    explanation: Mapped[str | None] = mapped_column(Text)
    """JSON: the strongest link that put this record in its person, field by field (the
    waterfall), or why the record cannot be linked."""
