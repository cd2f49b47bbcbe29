"""Linkage runs, trained models, what each run did to persons, and what stewards decided."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, utcnow


class LinkageModel(Base):
    """A trained Splink model: its settings and parameters as Splink's own JSON."""

    __tablename__ = "linkage_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    trained_by_run_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_run.id"))
    records: Mapped[int] = mapped_column(Integer)
    """How many person records it was trained on."""
    settings_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LinkageRun(Base):
    """One batch linkage: what it read, what it decided, and how long it took."""

    __tablename__ = "linkage_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    model_version: Mapped[int | None] = mapped_column(Integer)
    link_threshold: Mapped[float] = mapped_column(Float)
    review_threshold: Mapped[float] = mapped_column(Float)
    records: Mapped[int] = mapped_column(Integer, default=0)
    unlinkable: Mapped[int] = mapped_column(Integer, default=0)
    pairs_scored: Mapped[int] = mapped_column(Integer, default=0)
    persons: Mapped[int] = mapped_column(Integer, default=0)
    review_pairs: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    seconds: Mapped[float | None] = mapped_column(Float)


class PersonEvent(Base):
    """What a linkage run (or a steward) did to a person: created, merged, split or retired."""

    __tablename__ = "person_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    linkage_run_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_run.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    other_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    """``merged``: the person it went into; ``split``: the person it came from."""
    records: Mapped[int] = mapped_column(Integer, default=0)
    """How many records moved."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MatchReview(Base):
    """A pair of person records a run was unsure about, waiting for (or decided by) a steward."""

    __tablename__ = "match_review"
    __table_args__ = (UniqueConstraint("record_a_id", "record_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_a_id: Mapped[int] = mapped_column(ForeignKey("person_record.id", ondelete="CASCADE"))
    record_b_id: Mapped[int] = mapped_column(
        ForeignKey("person_record.id", ondelete="CASCADE"), index=True
    )
    match_probability: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(200))
    """Why it is here: below the link threshold, or linked but in conflict."""
    explanation: Mapped[str] = mapped_column(Text)
    linkage_run_id: Mapped[int] = mapped_column(ForeignKey("linkage_run.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    """``open``, ``same`` (merged by a steward) or ``different`` (kept apart)."""


class LinkageDecision(Base):
    """A steward's pinned decision on two records: no later run may undo it."""

    __tablename__ = "linkage_decision"
    __table_args__ = (UniqueConstraint("record_a_id", "record_b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_a_id: Mapped[int] = mapped_column(ForeignKey("person_record.id", ondelete="CASCADE"))
    record_b_id: Mapped[int] = mapped_column(
        ForeignKey("person_record.id", ondelete="CASCADE"), index=True
    )
    decision: Mapped[str] = mapped_column(String(20))
    """``same`` or ``different``."""
    decided_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PersonMatchKey(Base):
    """A blocking key of a linked person record: the online matcher's candidate index."""

    __tablename__ = "person_match_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_record_id: Mapped[int] = mapped_column(
        ForeignKey("person_record.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(200), index=True)


class NameFrequency(Base):
    """How common a normalised name is among linkable records (term-frequency adjustment)."""

    __tablename__ = "name_frequency"
    __table_args__ = (UniqueConstraint("field", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(100))
    frequency: Mapped[float] = mapped_column(Float)
