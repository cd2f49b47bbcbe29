"""Declarative base, naming convention and the provenance every stored fact carries."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints make migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, as the naive UTC timestamp the store keeps (see docs/data-model.md)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Provenance:
    """Where a row came from: which source system, under which key, from which ingest run.

    ``content_hash`` is a keyed hash (HMAC) of the canonical record, so that re-importing the
    same row is recognised as unchanged without the hash revealing sensitive fields.
    Rows the platform itself authors have the ``corespond`` source system and no ingest run.
    """

    source_system_id: Mapped[int] = mapped_column(ForeignKey("source_system.id"))
    source_key: Mapped[str] = mapped_column(String(200))
    # Each table has UNIQUE (source_key, source_system_id), key first: lookups by key (ingest's
    # "do we have these?", other sources' references) then always use the index, even when
    # PostgreSQL has no statistics yet in the middle of a long import.
    ingest_run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_run.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    data_category: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
