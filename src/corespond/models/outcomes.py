"""What outcomes derives from the store: one row of facts per call, and frozen cohorts.

``outcome_call`` is derived, never imported: ``outcomes.facts`` rebuilds a call's row whenever an
ingest run (a batch import or a live dispatch message) touches the call or anything recorded on
it. It holds no names and no person ids; the metrics, the dashboards and the evaluation read it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, utcnow


class OutcomeCall(Base):
    """The facts of one call that the metrics count (docs/metrics.md defines each)."""

    __tablename__ = "outcome_call"
    __table_args__ = (
        Index("ix_outcome_call_day_beat", "day", "beat"),
        # The dashboard's pass over a period reads only these: SQLite answers it from the index
        # alone (a narrow record per call, in day order) instead of the wide rows.
        Index(
            "ix_outcome_call_dashboard", "day", "team", "eligible", "community",
            "response_valid", "behavioral", "priority", "people", "arrests", "citations",
            "holds", "force", "injuries", "transports", "er_transports", "response_s",
            "dispatch_delay_s", "travel_s", "scene_s", "officer_s", "repeat_person",
            "repeat_place", "beat",
        ),
    )  # fmt: skip

    call_id: Mapped[int] = mapped_column(
        ForeignKey("call_for_service.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date)
    """The local date the call was queued (received, if never queued)."""
    hour: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int | None] = mapped_column(Integer)
    call_source: Mapped[str | None] = mapped_column(String(20))
    community: Mapped[bool] = mapped_column(Boolean)
    """Community-generated (911, phone...), not officer-initiated."""
    call_type: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(40))
    eligible: Mapped[bool] = mapped_column(Boolean)
    behavioral: Mapped[bool] = mapped_column(Boolean)
    beat: Mapped[str | None] = mapped_column(String(40))
    sector: Mapped[str | None] = mapped_column(String(40))
    precinct: Mapped[str | None] = mapped_column(String(60))
    neighborhood: Mapped[str | None] = mapped_column(String(100))
    program_area: Mapped[bool] = mapped_column(Boolean)
    """In a co-response program's beats, during its hours (whether or not it had started)."""
    team: Mapped[str] = mapped_column(String(20))
    """Who responded: care_team (without police), co_response, police, fire_ems, other, none."""
    responders: Mapped[str] = mapped_column(String(100))
    """The responder types sent, sorted and joined with '+'."""
    response_s: Mapped[float | None] = mapped_column(Float)
    dispatch_delay_s: Mapped[float | None] = mapped_column(Float)
    travel_s: Mapped[float | None] = mapped_column(Float)
    response_valid: Mapped[bool] = mapped_column(Boolean)
    police_response_s: Mapped[float | None] = mapped_column(Float)
    care_response_s: Mapped[float | None] = mapped_column(Float)
    scene_s: Mapped[float | None] = mapped_column(Float)
    officer_s: Mapped[float] = mapped_column(Float, default=0)
    """Police unit time on the call: dispatched (or arrived) to back in service, summed."""
    officer_units: Mapped[int] = mapped_column(Integer, default=0)
    arrests: Mapped[int] = mapped_column(Integer, default=0)
    citations: Mapped[int] = mapped_column(Integer, default=0)
    holds: Mapped[int] = mapped_column(Integer, default=0)
    force: Mapped[int] = mapped_column(Integer, default=0)
    injuries: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[int] = mapped_column(Integer, default=0)
    er_transports: Mapped[int] = mapped_column(Integer, default=0)
    people: Mapped[int] = mapped_column(Integer, default=0)
    repeat_person: Mapped[bool] = mapped_column(Boolean, default=False)
    repeat_place: Mapped[bool] = mapped_column(Boolean, default=False)
    subject_sex: Mapped[str | None] = mapped_column(String(20))
    subject_race: Mapped[str | None] = mapped_column(String(100))
    subject_ethnicity: Mapped[str | None] = mapped_column(String(100))
    refreshed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutcomeState(Base):
    """How far the call facts have caught up with the store (one row)."""

    __tablename__ = "outcome_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    ingest_run_id: Mapped[int] = mapped_column(Integer, default=0)
    """Every ingest run up to this one had finished when its calls' facts were built."""
    refreshed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Cohort(Base):
    """A frequent-utilizer cohort frozen at a date (the program start), to be followed."""

    __tablename__ = "outcome_cohort"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    frozen_on: Mapped[date] = mapped_column(Date)
    definition: Mapped[str] = mapped_column(Text)
    """The frequent-utilizer definition used, as JSON (contacts, agencies, window, kinds)."""
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class CohortMember(Base):
    __tablename__ = "outcome_cohort_member"
    __table_args__ = (UniqueConstraint("cohort_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("outcome_cohort.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    contacts: Mapped[int] = mapped_column(Integer)
    """Contacts in the window before the cohort date."""
    agencies: Mapped[int] = mapped_column(Integer)
