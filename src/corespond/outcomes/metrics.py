"""The outcome metrics, each defined once: what it counts, over which calls, and where from.

Most metrics are a ratio over the call facts (``outcome_call``): a numerator summed over the calls
that meet a condition, divided by the number of calls that meet another (arrests on eligible
calls per 100 eligible calls). :func:`measure` computes every one of them for a slice (dates,
geography, program area, category, responder, priority) in one pass over the facts, by day, and
adds them up by week for the trends. Medians (priority-1 response time) read the one column they
need. A few metrics come from other tables and can only be sliced by date: ER visits (hospital
records), referrals (casework) and dispatcher overrides (dispatch decisions).

docs/metrics.md lists every metric with its formula and source; a test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, case, func, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import SQLColumnExpression

from corespond import models
from corespond.outcomes import repository
from corespond.outcomes.definitions import Definitions

F = models.OutcomeCall
Better = Literal["lower", "higher", "neither"]
Kind = Literal["ratio", "median", "count"]


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    label: str
    unit: str
    """How a value reads: "min", "%", "per 100 calls", "hours", "calls"."""
    formula: str
    source: str
    better: Better = "neither"
    kind: Kind = "ratio"
    scale: float = 1.0
    """The ratio is multiplied by this (100 for a percentage or "per 100 calls")."""
    geographic: bool = True
    """False: the metric's records have no beat; it follows date filters only."""
    numerator: Callable[[], SQLColumnExpression[Any]] | None = None
    denominator: Callable[[], ColumnElement[bool]] | None = None


def _eligible() -> ColumnElement[bool]:
    return F.eligible.is_(True)


def _valid_community() -> ColumnElement[bool]:
    return and_(F.response_valid.is_(True), F.community.is_(True))


def _all() -> ColumnElement[bool]:
    return true()


def _count_of(
    condition: Callable[[], ColumnElement[bool]],
) -> Callable[[], SQLColumnExpression[Any]]:
    return lambda: case((condition(), 1), else_=0)


METRICS: tuple[Metric, ...] = (
    Metric(
        "calls",
        "Calls for service",
        "calls",
        "count of calls queued in the period",
        "CAD",
        kind="count",
        numerator=lambda: case((true(), 1), else_=0),
    ),
    Metric(
        "p1_response",
        "Priority-1 response time (median)",
        "min",
        "median of queued → first arrival, priority-1 community-generated calls with a valid time",
        "SPD 'CAD Event First Response Time', filtered on priority 1 and call_type_received "
        "(domain.md 4.2)",
        better="lower",
        kind="median",
    ),
    Metric(
        "response",
        "Response time (mean)",
        "min",
        "mean of queued → first arrival over community-generated calls with a valid time",
        "SPD first response time; NYC valid-response-time flag (domain.md 4.2)",
        better="lower",
        scale=1 / 60,
        numerator=lambda: F.response_s,
        denominator=_valid_community,
    ),
    Metric(
        "dispatch_delay",
        "Dispatch delay (mean)",
        "min",
        "mean of queued → first unit dispatched, community-generated calls with a valid time",
        "SPD 'Dispatch Delay Time', NYC dispatch seconds (domain.md 4.2)",
        better="lower",
        scale=1 / 60,
        numerator=lambda: F.dispatch_delay_s,
        denominator=_valid_community,
    ),
    Metric(
        "travel",
        "Travel time (mean)",
        "min",
        "mean of dispatched → first arrival, community-generated calls with a valid time",
        "NYC travel seconds; Austin dispatch → on scene (domain.md 4.2)",
        better="lower",
        scale=1 / 60,
        numerator=lambda: F.travel_s,
        denominator=_valid_community,
    ),
    Metric(
        "invalid_times",
        "Calls with an invalid response time",
        "%",
        "calls whose response time is missing, negative or over the maximum ÷ calls",
        "NYC VALID_*_RSPNS_TIME_INDC (domain.md 4.2)",
        better="lower",
        scale=100,
        numerator=_count_of(lambda: F.response_valid.is_(False)),
        denominator=_all,
    ),
    Metric(
        "scene_time",
        "Time on scene (mean)",
        "min",
        "mean of first arrival → call cleared, calls with both times",
        "SPD service seconds (domain.md 4.2)",
        scale=1 / 60,
        numerator=lambda: F.scene_s,
        denominator=lambda: F.scene_s.is_not(None),
    ),
    Metric(
        "officer_hours",
        "Officer hours per call",
        "hours",
        "sum over police units of dispatched → back in service ÷ calls",
        "SPD total service seconds per responder type; Lenexa 'officer hours per call' "
        "(domain.md 4.1, 4.2)",
        better="lower",
        scale=1 / 3600,
        numerator=lambda: F.officer_s,
        denominator=_all,
    ),
    Metric(
        "care_team_only",
        "Eligible calls handled by a care team without police",
        "%",
        "eligible calls with a care-team unit and no police unit ÷ eligible calls",
        "'Calls diverted from police' (ACS, Portland Street Response; domain.md 4.2)",
        better="higher",
        scale=100,
        numerator=_count_of(lambda: F.team == "care_team"),
        denominator=_eligible,
    ),
    Metric(
        "arrests_eligible",
        "Arrests on eligible calls",
        "per 100 calls",
        "custody and on-view arrests (NIBRS 43 T, O) on eligible calls ÷ eligible calls × 100",
        "NIBRS arrestee segment; Bailey et al. 2021 immediate arrest (domain.md 4.1)",
        better="lower",
        scale=100,
        numerator=lambda: F.arrests,
        denominator=_eligible,
    ),
    Metric(
        "citations_eligible",
        "Citations on eligible calls",
        "per 100 calls",
        "citations and summonses (NIBRS 43 S) on eligible calls ÷ eligible calls × 100",
        "NIBRS arrestee segment, type S (domain.md 2.1)",
        better="lower",
        scale=100,
        numerator=lambda: F.citations,
        denominator=_eligible,
    ),
    Metric(
        "holds_eligible",
        "Involuntary holds on eligible calls",
        "per 100 calls",
        "involuntary holds started on eligible calls ÷ eligible calls × 100",
        "SPD crisis template 'emergent ITA'; co-responder effect −16.5% (domain.md 4.1)",
        better="lower",
        scale=100,
        numerator=lambda: F.holds,
        denominator=_eligible,
    ),
    Metric(
        "diversion",
        "Behavioural-health calls closed without arrest, citation or hold",
        "%",
        "calls with a behavioural-health indicator and no arrest, citation or hold ÷ such calls",
        "Diversion as defined in domain.md 4.2 (NIBRS arrest; SPD 'arrested' / 'emergent_ita')",
        better="higher",
        scale=100,
        numerator=_count_of(lambda: (F.arrests + F.citations + F.holds) == 0),
        denominator=lambda: F.behavioral.is_(True),
    ),
    Metric(
        "er_transports",
        "EMS transports to an emergency department",
        "per 100 calls",
        "EMS runs on the call that transported to an emergency department ÷ calls × 100",
        "NEMSIS eDisposition.21 destination type (domain.md 2.2)",
        better="lower",
        scale=100,
        numerator=lambda: F.er_transports,
        denominator=_all,
    ),
    Metric(
        "transports",
        "EMS transports (any destination)",
        "per 100 calls",
        "EMS runs on the call that transported the patient ÷ calls × 100",
        "NEMSIS eDisposition.30 transport disposition (domain.md 2.2)",
        scale=100,
        numerator=lambda: F.transports,
        denominator=_all,
    ),
    Metric(
        "er_visits",
        "Emergency-department visits",
        "visits",
        "hospital ER encounters starting in the period (all sources, all people)",
        "FHIR Encounter class EMER (domain.md 2.4)",
        better="lower",
        kind="count",
        geographic=False,
    ),
    Metric(
        "use_of_force",
        "Use of force",
        "per 1,000 calls",
        "use-of-force reports on calls ÷ calls × 1,000",
        "Police use-of-force records; Blais et al. 2020 (domain.md 4.1)",
        better="lower",
        scale=1000,
        numerator=lambda: F.force,
        denominator=_all,
    ),
    Metric(
        "injuries",
        "Injuries in use of force",
        "per 1,000 calls",
        "subjects and officers injured in use of force on calls ÷ calls × 1,000",
        "Harm and safety metrics (domain.md 4.2)",
        better="lower",
        scale=1000,
        numerator=lambda: F.injuries,
        denominator=_all,
    ),
    Metric(
        "repeat_person",
        "Repeat calls for the same person",
        "%",
        "calls naming a person already named on a call in the previous repeat_days days ÷ calls "
        "naming someone",
        "CSG 'How to Reduce Repeat Encounters' (domain.md 4.2)",
        better="lower",
        scale=100,
        numerator=_count_of(lambda: F.repeat_person.is_(True)),
        denominator=lambda: F.people > 0,
    ),
    Metric(
        "repeat_place",
        "Repeat calls to the same address",
        "%",
        "calls to an address with a call in the previous repeat_days days ÷ calls with an address",
        "Premise history; CSG repeat encounters (domain.md 4.2)",
        better="lower",
        scale=100,
        numerator=_count_of(lambda: F.repeat_place.is_(True)),
        denominator=lambda: F.beat.is_not(None),
    ),
    Metric(
        "referral_acceptance",
        "Referrals accepted",
        "%",
        "referrals accepted, enrolled or completed ÷ referrals answered (accepted or declined)",
        "Portland Street Response 'referrals at first contact' (domain.md 4.1)",
        better="higher",
        scale=100,
        geographic=False,
    ),
    Metric(
        "referral_completion",
        "Referrals completed",
        "%",
        "referrals completed ÷ referrals accepted",
        "PSR evaluation (domain.md 4.1)",
        better="higher",
        scale=100,
        geographic=False,
    ),
    Metric(
        "override_rate",
        "Dispatcher overrides of the recommendation",
        "%",
        "dispatch decisions that overrode the recommended team ÷ decisions",
        "corespond dispatch decisions (docs/dispatch.md)",
        scale=100,
        geographic=False,
    ),
)
BY_KEY = {metric.key: metric for metric in METRICS}
TILES = (
    "p1_response", "response", "officer_hours", "care_team_only", "arrests_eligible",
    "holds_eligible", "diversion", "er_transports", "use_of_force", "repeat_person",
    "referral_acceptance", "override_rate",
)  # fmt: skip
"""The dashboard's tiles, in order."""

TEAMS = ("care_team", "co_response", "police", "fire_ems", "other", "none")


@dataclass(frozen=True, slots=True)
class Filters:
    """A slice of the calls. Dates are local calendar days, both ends included."""

    start: date
    end: date
    precinct: str | None = None
    sector: str | None = None
    beat: str | None = None
    neighborhood: str | None = None
    program_area: bool | None = None
    category: str | None = None
    team: str | None = None
    priority: int | None = None
    eligible: bool | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def geographic(self) -> bool:
        """Does the slice name anything only calls have (a place, a category, a team)?"""
        return any(
            value is not None
            for value in (
                self.precinct, self.sector, self.beat, self.neighborhood, self.program_area,
                self.category, self.team, self.priority, self.eligible,
            )
        )  # fmt: skip

    def conditions(self) -> list[ColumnElement[bool]]:
        found = [F.day >= self.start, F.day <= self.end]
        for column, value in (
            (F.precinct, self.precinct), (F.sector, self.sector), (F.beat, self.beat),
            (F.neighborhood, self.neighborhood), (F.category, self.category),
            (F.team, self.team), (F.priority, self.priority),
        ):  # fmt: skip
            if value is not None:
                found.append(column == value)
        if self.program_area is not None:
            found.append(F.program_area.is_(self.program_area))
        if self.eligible is not None:
            found.append(F.eligible.is_(self.eligible))
        return found

    def previous(self) -> Filters:
        """The same slice over the equally long period just before."""
        length = self.end - self.start + timedelta(days=1)
        return replace(self, start=self.start - length, end=self.start - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class Measured:
    """Every metric for one slice: totals over the period and weekly series."""

    filters: Filters
    totals: dict[str, float | None]
    counts: dict[str, int]
    """The denominator behind each total (calls counted), for small-cell suppression."""
    weekly: pd.DataFrame
    """One row per week (``week``: its Monday), one column per metric."""
    weekly_counts: pd.DataFrame
    """The records behind each weekly value (same index and columns), for suppression."""
    by_team: pd.DataFrame
    """Per responder team (index): each ratio metric's value (``<key>``) and the records
    behind it (``<key>_count``)."""
    notes: dict[str, str] = field(default_factory=dict)


def daily(session: Session, filters: Filters) -> pd.DataFrame:
    """Numerators and denominators of every ratio metric, by day and responder team, in one
    pass over the facts.

    Each distinct denominator is counted once (most metrics share one: all calls, eligible
    calls, calls with a valid time) and a numerator over all calls is a plain sum: SQLite's
    cost here is per aggregate and row, so the pass is as lean as the metrics allow.
    """
    columns: list[Any] = [F.day.label("day"), F.team.label("team")]
    denominators: dict[Callable[[], ColumnElement[bool]], str] = {}
    for metric in METRICS:
        if metric.numerator is None:
            continue
        over = metric.denominator or _all
        if over not in denominators:
            denominators[over] = f"d{len(denominators)}"
            counted = func.count() if over is _all else func.sum(case((over(), 1), else_=0))
            columns.append(counted.label(denominators[over]))
        numerator = metric.numerator() if over is _all else case((over(), metric.numerator()))
        columns.append(func.sum(numerator).label(f"{metric.key}_n"))
    query = select(*columns).where(*filters.conditions()).group_by(F.day, F.team)
    frame = repository.frame(session, query)
    if frame.empty:
        return frame
    frame["day"] = pd.to_datetime(frame["day"])
    frame = frame.set_index(["day", "team"]).astype(float).fillna(0.0)
    for metric in METRICS:
        if metric.numerator is not None:
            frame[f"{metric.key}_d"] = frame[denominators[metric.denominator or _all]]
    return frame


def p1_times(session: Session, filters: Filters) -> pd.DataFrame:
    """Valid response times (seconds) of priority-1 community-generated calls, with their day."""
    frame = p1_frame(session, *filters.conditions())
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def p1_frame(session: Session, *conditions: ColumnElement[bool]) -> pd.DataFrame:
    """``day`` and ``response_s`` of the valid priority-1 community-generated calls that meet
    ``conditions`` (the dashboard's filters, a program's beats and period)."""
    query = select(F.day, F.response_s).where(
        *conditions, F.priority == 1, F.community.is_(True), F.response_valid.is_(True)
    )
    return repository.frame(session, query, ["day", "response_s"])


def measure(session: Session, filters: Filters, definitions: Definitions) -> Measured:
    """Every metric over ``filters``: period totals and weekly series."""
    raw = daily(session, filters)
    days = raw.groupby(level="day").sum() if not raw.empty else raw
    teams = raw.groupby(level="team").sum() if not raw.empty else raw
    by_team = pd.DataFrame(index=teams.index if not teams.empty else pd.Index([], name="team"))
    weeks = pd.date_range(_monday(filters.start), _monday(filters.end), freq="7D")
    weekly = pd.DataFrame(index=pd.Index(weeks, name="week"))
    weekly_counts = pd.DataFrame(index=weekly.index)
    totals: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    by_week = (
        days.groupby(week_of(days.index.to_series()).to_numpy()).sum() if not days.empty else days
    )
    for metric in METRICS:
        if metric.numerator is None:
            continue
        numerator, denominator = f"{metric.key}_n", f"{metric.key}_d"
        total_n = float(days[numerator].sum()) if not days.empty else 0.0
        total_d = int(days[denominator].sum()) if not days.empty else 0
        counts[metric.key] = total_d
        if metric.kind == "count":
            totals[metric.key] = total_n
            series = by_week[numerator] if not by_week.empty else None
        else:
            totals[metric.key] = total_n / total_d * metric.scale if total_d else None
            series = (
                (by_week[numerator] / by_week[denominator].replace(0, np.nan) * metric.scale)
                if not by_week.empty
                else None
            )
        weekly[metric.key] = series.reindex(weekly.index) if series is not None else np.nan
        weekly_counts[metric.key] = (
            by_week[denominator].reindex(weekly.index).fillna(0) if not by_week.empty else 0.0
        )
        if not teams.empty:
            scale = 1.0 if metric.kind == "count" else metric.scale
            shares = teams[denominator].replace(0, np.nan) if metric.kind != "count" else 1.0
            by_team[metric.key] = teams[numerator] / shares * scale
            by_team[f"{metric.key}_count"] = teams[denominator]

    times = p1_times(session, filters)
    counts["p1_response"] = len(times)
    totals["p1_response"] = float(times["response_s"].median()) / 60 if len(times) else None
    if len(times):
        grouped = times.groupby(week_of(times["day"]))["response_s"]
        weekly["p1_response"] = (grouped.median() / 60).reindex(weekly.index)
        weekly_counts["p1_response"] = grouped.size().reindex(weekly.index).fillna(0)
    else:
        weekly["p1_response"] = np.nan
        weekly_counts["p1_response"] = 0.0

    notes: dict[str, str] = {}
    for key, (value, count, series, per_week) in _other_sources(session, filters).items():
        totals[key], counts[key] = value, count
        weekly[key] = series.reindex(weekly.index) if series is not None else np.nan
        weekly_counts[key] = (
            per_week.reindex(weekly.index).fillna(0) if per_week is not None else 0.0
        )
        if filters.geographic and not BY_KEY[key].geographic:
            notes[key] = "citywide: these records carry no beat, category or team"
    return Measured(filters, totals, counts, weekly, weekly_counts, by_team, notes)


def _monday(day: date) -> pd.Timestamp:
    return pd.Timestamp(day - timedelta(days=day.weekday()))


def _other_sources(session: Session, filters: Filters) -> dict[str, _Other]:
    """ER visits, referrals and dispatcher overrides: from their own tables, by date only."""
    found: dict[str, _Other] = {}
    visits = repository.er_visits(session, filters.start, filters.end)
    total = int(visits["visits"].sum()) if len(visits) else 0
    weekly_visits = (
        visits["visits"].groupby(week_of(visits["day"])).sum().astype(float)
        if len(visits)
        else None
    )
    found["er_visits"] = (float(total), total, weekly_visits, weekly_visits)
    referrals = repository.referrals(session, filters.start, filters.end)
    answered = referrals[referrals["status"].isin(_ANSWERED)]
    accepted = referrals[referrals["status"].isin(_ACCEPTED)]
    found["referral_acceptance"] = (
        len(accepted) / len(answered) * 100 if len(answered) else None,
        len(answered),
        *_weekly_share(answered, answered["status"].isin(_ACCEPTED)),
    )
    completed = accepted["status"] == "completed"
    found["referral_completion"] = (
        float(completed.sum()) / len(accepted) * 100 if len(accepted) else None,
        len(accepted),
        *_weekly_share(accepted, completed),
    )
    decisions = repository.decisions(session, filters.start, filters.end)
    overrides = decisions["action"] == "overridden"
    found["override_rate"] = (
        float(overrides.sum()) / len(decisions) * 100 if len(decisions) else None,
        len(decisions),
        *_weekly_share(decisions, overrides),
    )
    return found


_Other = tuple[float | None, int, pd.Series | None, pd.Series | None]
"""Total, records counted, weekly values, weekly records."""
_ACCEPTED = ("accepted", "enrolled", "completed")
_ANSWERED = (*_ACCEPTED, "declined")


def week_of(days: pd.Series) -> pd.Series:
    """Each day's week, as the Monday it starts on (the weeks the dashboard and the
    evaluation count by)."""
    return pd.to_datetime(days).dt.to_period("W-SUN").dt.start_time


def _weekly_share(frame: pd.DataFrame, hit: pd.Series) -> tuple[pd.Series | None, pd.Series | None]:
    if frame.empty:
        return None, None
    weeks = week_of(frame["day"])
    return hit.groupby(weeks).mean() * 100, hit.groupby(weeks).size().astype(float)
