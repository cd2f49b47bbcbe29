"""The audit log: an append-only, hash-chained record of every decision, read and change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base


class AuditEvent(Base):
    """One audited event. ``seq`` is its place in the chain; ``hash`` covers every field and
    the previous event's hash, so no event can change, vanish or move without breaking it.

    Holds no person data beyond ids (CJIS AU-3(3)): who, what, which person, which categories,
    for what purpose, on what legal basis.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        # A person's events newest first (the accounting of disclosures on the person page):
        # read backwards along the index, stopping at the page's limit.
        Index("ix_audit_event_person_id_seq", "person_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    """UTC, to the microsecond (CJIS AU-8). Indexed for the auditor's weekly review."""
    actor: Mapped[str] = mapped_column(String(200))
    """The user (``user:<id>``), API client (``token:<id>``) or ``system``."""
    agency_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    """``success``, ``failure``, ``allow`` or ``deny``."""
    person_id: Mapped[int | None] = mapped_column(Integer)
    categories: Mapped[str | None] = mapped_column(String(400))
    """Data categories read or decided on, comma-separated."""
    purpose: Mapped[str | None] = mapped_column(String(40))
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    """``consent:<id>``, ``agreement:<id>``, ``own-agency``, ``emergency:<id>``, a statute."""
    recipient_agency_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    """JSON: anything else the event needs (never person data)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """The chain's head at a moment, signed with a key kept outside the database (Ed25519).

    A checkpoint is what makes a deleted tail, or a chain rewritten from the start, detectable.
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(DateTime)
    public_key: Mapped[str] = mapped_column(String(64))
    """Hex of the Ed25519 public key that signed it."""
    signature: Mapped[str] = mapped_column(String(128))
    """Hex of the signature over ``checkpoint_message(seq, hash, signed_at)``."""


class AuditArchive(Base):
    """Events exported to an archive file (``corespond audit archive``), signed like a checkpoint.

    The rows stay in the log; the record is what lets the live chain verify from the archive's
    last hash once an operator has removed archived rows (docs/security.md, retention).
    """

    __tablename__ = "audit_archive"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    """The hash the first archived event follows (the genesis hash for the first archive)."""
    last_hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the archive file's event lines."""
    before: Mapped[datetime] = mapped_column(DateTime)
    """Every archived event happened before this time (UTC)."""
    file_name: Mapped[str] = mapped_column(String(400))
    signed_at: Mapped[datetime] = mapped_column(DateTime)
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    """Hex Ed25519 signature over ``archive_message(...)`` (``audit.archive``)."""
