"""What the outcomes pages and exports show: the dashboard's tiles, a metric's drill-down,
breakdowns, the tables exported, and the council report; aggregates only, suppressed for those
who may not see small counts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import IO, TypeVar

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.dispatch.service import protocol_of
from corespond.models.base import utcnow
from corespond.outcomes import metrics
from corespond.outcomes import repository as facts_repository
from corespond.outcomes.definitions import Definitions
from corespond.outcomes.privacy import is_small, suppress_table
from corespond.outcomes.service import (
    EvaluationError,
    default_period,
    evaluate_cached,
    program,
)

F = models.OutcomeCall
T = TypeVar("T")


def choices(session: Session) -> dict[str, list[str]]:
    """The values the filters offer: the jurisdiction's precincts, sectors and neighborhoods
    (its beat map), the triage protocol's call categories, and the responder teams."""
    found = facts_repository.geography(session)
    _, protocol = protocol_of(session)
    found["category"] = sorted(protocol.categories)
    found["team"] = list(metrics.TEAMS)
    return found


@dataclass(frozen=True, slots=True)
class Tile:
    metric: metrics.Metric
    value: float | None
    previous: float | None
    count: int
    suppressed: bool
    note: str | None

    @property
    def shown(self) -> str:
        return "<11" if self.suppressed else _format(self.value, self.metric)

    @property
    def change(self) -> float | None:
        if self.suppressed or self.value is None or not self.previous:
            return None
        return (self.value - self.previous) / abs(self.previous)

    @property
    def verdict(self) -> str:
        """ "better", "worse" or "" for the change against the previous period."""
        change = self.change
        if change is None or abs(change) < 0.005 or self.metric.better == "neither":
            return ""
        improved = change < 0 if self.metric.better == "lower" else change > 0
        return "better" if improved else "worse"


def _format(value: float | None, metric: metrics.Metric) -> str:
    if value is None:
        return "–"
    if metric.kind == "count":
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"


@dataclass(frozen=True, slots=True)
class Dashboard:
    current: metrics.Measured
    previous: metrics.Measured
    tiles: tuple[Tile, ...]
    by_team: pd.DataFrame
    min_cell: int
    small_cells: bool
    """Shown to someone who may see small counts (nothing suppressed)."""


def _tiles(
    current: metrics.Measured,
    previous: metrics.Measured,
    keys: Sequence[str],
    *,
    min_cell: int,
    small_cells: bool,
) -> tuple[Tile, ...]:
    tiles = []
    for key in keys:
        metric = metrics.BY_KEY[key]
        count = current.counts.get(key, 0)
        suppressed = not small_cells and is_small(count, min_cell)
        tiles.append(
            Tile(
                metric, current.totals.get(key), previous.totals.get(key), count,
                suppressed, current.notes.get(key),
            )
        )  # fmt: skip
    return tuple(tiles)


def dashboard(
    session: Session, filters: metrics.Filters, definitions: Definitions, *, small_cells: bool
) -> Dashboard:
    """The tiles for a slice (with the previous period for comparison) and the responder table."""
    previous = _elsewhere(lambda other: metrics.measure(other, filters.previous(), definitions))
    current = metrics.measure(session, filters, definitions)
    previous_measured = previous.result()
    min_cell = definitions.privacy.min_cell
    tiles = _tiles(
        current, previous_measured, metrics.TILES, min_cell=min_cell, small_cells=small_cells
    )
    by_team = responder_table(current)
    if not small_cells:
        by_team = suppress_table(by_team, count_column="count", min_cell=min_cell)
    return Dashboard(current, previous_measured, tiles, by_team, min_cell, small_cells)


_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="outcomes")
"""Reads a page needs that do not depend on each other run side by side, each in its own
session (its own connection): the period and the one before, the breakdowns."""


def _elsewhere(work: Callable[[Session], T]) -> Future[T]:
    """Run ``work`` in a read session of its own, in the pool."""

    def run() -> T:
        with unit_of_work(session_factory()) as session:
            return work(session)

    return _POOL.submit(run)


def responder_table(measured: metrics.Measured) -> pd.DataFrame:
    """Calls, response time, time on scene, officer hours and arrests by who responded."""
    teams = measured.by_team
    if teams.empty:
        return pd.DataFrame(columns=["label", "count", "response", "scene", "officer", "arrests"])
    frame = pd.DataFrame(
        {
            "label": teams.index, "count": teams["calls_count"].astype(int).to_numpy(),
            "response": teams["response"].to_numpy(), "scene": teams["scene_time"].to_numpy(),
            "officer": teams["officer_hours"].to_numpy(),
            "arrests": teams["arrests_eligible"].to_numpy(),
        }
    )  # fmt: skip
    return frame.sort_values("count", ascending=False).reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class MetricView:
    metric: metrics.Metric
    tile: Tile
    weekly: pd.Series
    weekly_counts: pd.Series
    breakdowns: dict[str, pd.DataFrame]
    program_start: date | None
    small_cells: bool


def metric_view(
    session: Session,
    filters: metrics.Filters,
    definitions: Definitions,
    metric: metrics.Metric,
    *,
    small_cells: bool,
) -> MetricView:
    previous = _elsewhere(lambda other: metrics.measure(other, filters.previous(), definitions))
    ways = ("neighborhood", "team", "priority", "race", "sex", "ethnicity")
    pending = {
        by: _elsewhere(lambda other, by=by: breakdown(other, filters, by, metric.key))  # type: ignore[misc]
        for by in (ways if metric.numerator is not None else ())
    }
    current = metrics.measure(session, filters, definitions)
    min_cell = definitions.privacy.min_cell
    (tile,) = _tiles(
        current, previous.result(), [metric.key], min_cell=min_cell, small_cells=small_cells
    )
    tables: dict[str, pd.DataFrame] = {}
    if metric.numerator is not None:
        for by in ways:
            table = pending[by].result()
            tables[by] = (
                table if small_cells
                else suppress_table(table, count_column="count", min_cell=min_cell)
            )  # fmt: skip
    try:
        start: date | None = program(session).start
    except EvaluationError:
        start = None
    return MetricView(
        metric, tile, current.weekly[metric.key], current.weekly_counts[metric.key], tables,
        start, small_cells,
    )  # fmt: skip


def export_table(
    session: Session, filters: metrics.Filters, definitions: Definitions, table: str, key: str
) -> pd.DataFrame:
    """A table as exported: the tiles (every metric), the responder table, or one metric broken
    down (``table`` names the breakdown)."""
    if table == "responders":
        return responder_table(metrics.measure(session, filters, definitions)).rename(
            columns={
                "label": "responder", "response": "response_mean_min", "scene": "scene_mean_min",
                "officer": "officer_hours_per_call", "arrests": "arrests_per_100_eligible",
            }
        )  # fmt: skip
    if table == "tiles":
        measured = metrics.measure(session, filters, definitions)
        return pd.DataFrame(
            [
                {
                    "metric": metric.key, "label": metric.label, "unit": metric.unit,
                    "value": measured.totals.get(metric.key),
                    "count": measured.counts.get(metric.key, 0),
                }
                for metric in metrics.METRICS
            ]
        )  # fmt: skip
    return breakdown(session, filters, table, key).rename(columns={"label": table})


def breakdown(session: Session, filters: metrics.Filters, by: str, metric_key: str) -> pd.DataFrame:
    """One metric by neighborhood, team, or the subject's recorded race, sex or ethnicity:
    columns ``label``, ``value``, ``count`` (the denominator)."""
    columns = {
        "neighborhood": F.neighborhood, "precinct": F.precinct, "team": F.team,
        "race": F.subject_race, "sex": F.subject_sex, "ethnicity": F.subject_ethnicity,
        "priority": F.priority, "category": F.category,
    }  # fmt: skip
    if by not in columns:
        raise ValueError(f"unknown breakdown {by!r}; choose one of {', '.join(columns)}")
    metric = metrics.BY_KEY[metric_key]
    if metric.numerator is None:
        raise ValueError(f"{metric.label} cannot be broken down by {by}")
    group = func.coalesce(func.cast(columns[by], models.OutcomeCall.call_type.type), "not recorded")
    condition = (metric.denominator or (lambda: F.call_id.is_not(None)))()
    query = (
        select(
            group.label("label"),
            func.sum(case((condition, metric.numerator()))).label("numerator"),
            func.sum(case((condition, 1), else_=0)).label("count"),
        )
        .where(*filters.conditions())
        .group_by(group)
    )
    frame = facts_repository.frame(session, query, ["label", "numerator", "count"])
    frame["count"] = frame["count"].fillna(0).astype(int)
    numerator = frame["numerator"].astype(float).fillna(0.0)
    if metric.kind == "count":
        frame["value"] = numerator
    else:
        frame["value"] = (numerator / frame["count"].where(frame["count"] > 0)) * metric.scale
    return frame[["label", "value", "count"]].sort_values("value", ascending=False)


REPORT_TABLES = (
    ("Arrests on eligible calls by neighborhood", "neighborhood", "arrests_eligible"),
    ("Response time by neighborhood (mean, minutes)", "neighborhood", "response"),
    ("Arrests on eligible calls by the subject's recorded race", "race", "arrests_eligible"),
    ("Involuntary holds on eligible calls by the subject's recorded race", "race",
     "holds_eligible"),
)  # fmt: skip


def write_report(
    session: Session,
    definitions: Definitions,
    target: str | Path | IO[bytes],
    *,
    start: date | None = None,
    end: date | None = None,
) -> None:
    """The council report (PDF): the metrics over the period (default: the last 365 days of
    facts) against the period before, the evaluation over all the facts, breakdowns by
    neighborhood and recorded race, the method. Small cells are always suppressed."""
    from corespond.outcomes import report

    last_start, last_end = default_period(session)
    filters = metrics.Filters(start or last_start, end or last_end)
    measured = metrics.measure(session, filters, definitions)
    previous = metrics.measure(session, filters.previous(), definitions)
    evaluations: list[tuple[str, object, metrics.Metric]] = []
    findings: list[str] = []
    method = ""
    try:
        found = evaluate_cached(session, definitions)
    except EvaluationError as error:
        findings.append(f"The program was not evaluated: {error}.")
        title = "Outcomes report"
    else:
        title = f"{found.program.name}: outcomes report"
        findings += found.findings
        method = found.method
        for item in found.results:
            if item.did is not None:
                evaluations.append(
                    (f"{item.metric.label}: against comparison beats", item.did, item.metric)
                )
            if item.its is not None:
                evaluations.append(
                    (f"{item.metric.label}: against the trend before", item.its, item.metric)
                )
        if found.p1 is not None:
            seconds = replace(metrics.BY_KEY["p1_response"], unit="seconds")
            evaluations.append(("Priority-1 response time did not get worse?", found.p1, seconds))
    tables = {
        heading: breakdown(session, filters, by, key).rename(columns={"value": "rate"})
        for heading, by, key in REPORT_TABLES
    }
    try:
        program_start: date | None = program(session).start
    except EvaluationError:
        program_start = None
    report.build_report(
        target, title=title, measured=measured, previous=previous, findings=findings,
        evaluations=evaluations,  # type: ignore[arg-type]
        tables=tables, method=method or "No evaluation could be run.",
        generated_at=utcnow(), weekly_counts=measured.weekly_counts,
        program_start=program_start, min_cell=definitions.privacy.min_cell,
    )  # fmt: skip
