"""The ingest ledger: every run, every file, and every quarantined row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, utcnow


class IngestRun(Base):
    """One ``corespond ingest`` of one source system.

    ``read = stored + unchanged + quarantined`` for every run.
    """

    __tablename__ = "ingest_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_system_id: Mapped[int] = mapped_column(ForeignKey("source_system.id"), index=True)
    format: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    """``completed`` or ``failed`` (a failed run stored nothing; ``error`` says why)."""
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    seconds: Mapped[float | None] = mapped_column(Float)
    read: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class IngestFile(Base):
    __tablename__ = "ingest_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("ingest_run.id"), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    read: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)


class QuarantinedRow(Base):
    """A source row that was not stored, kept verbatim with the reason."""

    __tablename__ = "quarantined_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    ingest_run_id: Mapped[int] = mapped_column(ForeignKey("ingest_run.id"), index=True)
    source_system_id: Mapped[int] = mapped_column(ForeignKey("source_system.id"), index=True)
    file: Mapped[str] = mapped_column(String(1000))
    locator: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    raw_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    """The row's text, verbatim, encrypted like any sensitive field: it may hold an SSN."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
