"""Outcomes as the program sees them: facts kept current, the dashboard, the evaluation.

The evaluation compares, around the program's start date, the eligible community-generated calls
in the program's beats during its hours (the calls the program could have taken) with the same
calls in the other beats:

- difference-in-differences (Poisson, beat and week fixed effects, clustered by beat) for
  arrests, citations, involuntary holds and emergency-department transports on those calls, with
  an event study to check that the beats moved together before the start;
- an interrupted time series of each rate in the program beats (seasonality, autocorrelation-
  robust errors), with the counterfactual band;
- an equivalence test (TOST) that priority-1 response time in the program beats did not get
  worse, within the margin the definitions state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import IO, TypeVar

import pandas as pd
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.db.engine import session_factory, unit_of_work
from corespond.dispatch.service import protocol_of
from corespond.models.base import utcnow
from corespond.outcomes import evaluation, facts, metrics
from corespond.outcomes import repository as facts_repository
from corespond.outcomes.definitions import Definitions
from corespond.outcomes.privacy import is_small, suppress_table

F = models.OutcomeCall

T = TypeVar("T")

EVALUATED = ("arrests_eligible", "citations_eligible", "holds_eligible", "er_transports")
"""The call outcomes the program is expected to change, evaluated on its in-scope calls."""
_EVENTS = {
    "arrests_eligible": "arrests",
    "citations_eligible": "citations",
    "holds_eligible": "holds",
    "er_transports": "er_transports",
}


class EvaluationError(ValueError):
    """The store cannot support the evaluation (no program, no calls either side of the start)."""


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    start: date
    beats: frozenset[str]
    hours: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class MetricEvaluation:
    metric: metrics.Metric
    did: evaluation.DidResult | None
    its: evaluation.ItsResult | None
    finding: str
    comparison: pd.DataFrame
    """Monthly rate per 100 in-scope calls: ``month``, ``group`` (program or comparison beats),
    ``rate``, ``calls``; what the estimates summarise, shown even when they cannot be made."""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Evaluation:
    program: Program
    period: tuple[date, date]
    results: tuple[MetricEvaluation, ...]
    p1: evaluation.EquivalenceResult | None
    p1_finding: str
    method: str
    problems: tuple[str, ...] = field(default=())

    @property
    def findings(self) -> list[str]:
        return [result.finding for result in self.results] + [self.p1_finding]


def refresh(session: Session, definitions: Definitions, *, full: bool = False) -> facts.Refreshed:
    """Bring the call facts up to date with the store (see ``facts.refresh``)."""
    _, protocol = protocol_of(session)
    return facts.refresh(session, definitions, protocol, full=full)


def program(session: Session) -> Program:
    """The co-response program evaluated: the first with a start date."""
    for row in facts_repository.programs(session):
        if row.start_date is not None:
            hours = (
                (row.hours_start, row.hours_end)
                if row.hours_start is not None and row.hours_end is not None
                else None
            )
            return Program(row.name, row.start_date, frozenset((row.beats or "").split()), hours)
    raise EvaluationError(
        "no co-response program with a start date: import the jurisdiction file that names it"
    )


def evaluate(
    session: Session,
    definitions: Definitions,
    *,
    start: date | None = None,
    end: date | None = None,
    keys: Sequence[str] = EVALUATED,
) -> Evaluation:
    """Evaluate the program on the call facts between ``start`` and ``end`` (default: all)."""
    found = program(session)
    first, last = _span(session)
    period = (start or first, end or last)
    if not found.beats:
        raise EvaluationError(
            f"{found.name} covers the whole city: there are no comparison beats for a "
            "difference-in-differences (use the interrupted time series alone)"
        )
    panel = _panel(session, found, period)
    alpha = definitions.evaluation.alpha
    results = []
    for key in keys:
        metric = metrics.BY_KEY[key]
        problems: list[str] = []
        frame = panel.rename(columns={_EVENTS[key]: "events"})
        did = its = None
        try:
            did = evaluation.difference_in_differences(frame, found.start, alpha=alpha)
        except ValueError as error:
            problems.append(f"difference-in-differences: {error}")
        treated = frame[frame["treated"]].groupby("period")[["events", "exposure"]].sum()
        try:
            its = _its(treated, found.start, definitions)
        except ValueError as error:
            problems.append(f"interrupted time series: {error}")
        finding = _finding(metric, did, its, problems)
        comparison = _monthly(frame)
        results.append(MetricEvaluation(metric, did, its, finding, comparison, tuple(problems)))
    p1, p1_finding = _p1(session, found, period, definitions)
    return Evaluation(found, period, tuple(results), p1, p1_finding, _method(found, definitions))


def _its(treated: pd.DataFrame, start: date, definitions: Definitions) -> evaluation.ItsResult:
    """The program beats' weekly rate (per 100 in-scope calls) against its own trend."""
    post = treated.index >= pd.Timestamp(start)
    for side, when in ((~post, "before"), (post, "after")):
        events = float(treated.loc[side, "events"].sum())
        if events < evaluation.MIN_EVENTS:
            raise ValueError(
                f"too few events: {events:.0f} in the program beats {when} the start (at least "
                f"{evaluation.MIN_EVENTS} are needed)"
            )
    rate = treated["events"] / treated["exposure"].where(treated["exposure"] > 0) * 100
    result = evaluation.interrupted_time_series(
        rate, start, seasonality=definitions.evaluation.seasonality,
        alpha=definitions.evaluation.alpha, exposure=treated["exposure"],
    )  # fmt: skip
    if result.effect.low <= -1 or result.effect.high >= 10:
        raise ValueError(
            "the events are too few and too irregular for a trend: the confidence interval "
            "runs past what a rate can do"
        )
    return result


def _monthly(panel: pd.DataFrame) -> pd.DataFrame:
    """Program beats against comparison beats, month by month (per 100 in-scope calls)."""
    month = pd.to_datetime(panel["period"]).dt.to_period("M").dt.start_time.rename("month")
    group = panel["treated"].map({True: "program beats", False: "comparison beats"})
    summed = panel.groupby([month, group.rename("group")])[["events", "exposure"]].sum()
    summed = summed.reset_index()
    summed["rate"] = summed["events"] / summed["exposure"].where(summed["exposure"] > 0) * 100
    return summed.rename(columns={"exposure": "calls"})[["month", "group", "rate", "calls"]]


def _finding(
    metric: metrics.Metric,
    did: evaluation.DidResult | None,
    its: evaluation.ItsResult | None,
    problems: list[str],
) -> str:
    label = f"{metric.label} (on the program's in-scope calls)"
    if did is not None:
        return evaluation.describe(label, did.effect, versus="comparison beats")
    if its is not None:
        return evaluation.describe(label, its.effect, versus="the trend before the start")
    reason = problems[0].split(": ", 1)[-1] if problems else "no estimate could be made"
    return f"{label}: not evaluated ({reason})."


def _p1(
    session: Session, found: Program, period: tuple[date, date], definitions: Definitions
) -> tuple[evaluation.EquivalenceResult | None, str]:
    query = select(F.day, F.response_s).where(
        F.beat.in_(found.beats), F.priority == 1, F.community.is_(True),
        F.response_valid.is_(True), F.day.between(*period),
    )  # fmt: skip
    times = facts_repository.frame(session, query, ["day", "response_s"])
    before = times.loc[times["day"] < found.start, "response_s"].to_numpy(dtype=float)
    after = times.loc[times["day"] >= found.start, "response_s"].to_numpy(dtype=float)
    label = "Priority-1 response time in the program beats"
    try:
        result = evaluation.equivalence(
            before, after, margin=definitions.evaluation.p1_equivalence_margin,
            alpha=definitions.evaluation.alpha,
        )  # fmt: skip
    except ValueError as error:
        return None, f"{label}: not evaluated ({error})."
    return result, evaluation.describe_equivalence(label, result)


def _panel(session: Session, found: Program, period: tuple[date, date]) -> pd.DataFrame:
    """Beat × week: outcomes and the in-scope calls (eligible, community, in program hours)."""
    conditions: list[ColumnElement[bool]] = [
        F.eligible.is_(True), F.community.is_(True), F.beat.is_not(None),
        F.day.between(*period),
    ]  # fmt: skip
    if found.hours is not None:
        begin, end = found.hours
        conditions.append(
            and_(F.hour >= begin, F.hour < end)
            if begin <= end
            else or_(F.hour >= begin, F.hour < end)
        )
    query = (
        select(
            F.beat,
            F.day,
            func.count().label("exposure"),
            func.sum(F.arrests).label("arrests"),
            func.sum(F.citations).label("citations"),
            func.sum(F.holds).label("holds"),
            func.sum(F.er_transports).label("er_transports"),
        )
        .where(*conditions)
        .group_by(F.beat, F.day)
    )
    rows = facts_repository.frame(
        session, query,
        ["unit", "day", "exposure", "arrests", "citations", "holds", "er_transports"],
    )  # fmt: skip
    if rows.empty:
        raise EvaluationError("no eligible community-generated calls in the period")
    rows["period"] = pd.to_datetime(rows["day"]).dt.to_period("W-SUN").dt.start_time
    panel = rows.drop(columns="day").groupby(["unit", "period"], as_index=False).sum()
    panel["treated"] = panel["unit"].isin(found.beats)
    return panel


def _span(session: Session) -> tuple[date, date]:
    first, last = session.execute(select(func.min(F.day), func.max(F.day))).one()
    if first is None:
        raise EvaluationError(
            "no call facts yet: import calls, then run `corespond outcomes refresh`"
        )
    return first, last


def _method(found: Program, definitions: Definitions) -> str:
    hours = f"{found.hours[0]:02d}:00–{found.hours[1]:02d}:00" if found.hours else "all hours"
    return (
        f"Program: {found.name}, started {found.start.isoformat()}, in {len(found.beats)} beats, "
        f"{hours}. In-scope calls: eligible ({', '.join(sorted(definitions.eligible_categories))})"
        ", community-generated, in the program's hours. Each outcome is compared with the same "
        "calls in the other beats by difference-in-differences: a Poisson regression of weekly "
        "counts per beat with beat and week fixed effects and the log of in-scope calls as "
        "offset, standard errors clustered by beat; an event study checks the beats moved "
        "together before the start. An interrupted time series (segmented regression with "
        f"{definitions.evaluation.seasonality.replace('_', ' ')} seasonality and Newey-West "
        "errors) shows the program beats against their own trend. Priority-1 response time: "
        "two one-sided tests (TOST) with a margin of "
        f"±{definitions.evaluation.p1_equivalence_margin:.0%} of the time before the start. "
        f"Confidence level {1 - definitions.evaluation.alpha:.0%}."
    )


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


def default_period(session: Session, days: int = 365) -> tuple[date, date]:
    """The last ``days`` days of call facts (ending on the newest call's day)."""
    _, last = _span(session)
    return last - timedelta(days=days - 1), last


def _effect(effect: evaluation.Effect) -> dict[str, float | bool | None]:
    return {
        "relative": effect.relative, "low": effect.low, "high": effect.high,
        "p_value": effect.p_value, "level": effect.level, "significant": effect.significant,
    }  # fmt: skip


def evaluation_json(result: Evaluation) -> dict[str, object]:
    """The evaluation as plain JSON, for scripts (``corespond outcomes evaluate --json``)."""
    found = result.program
    items: list[dict[str, object]] = []
    for item in result.results:
        entry: dict[str, object] = {
            "metric": item.metric.key, "label": item.metric.label, "finding": item.finding,
            "problems": list(item.problems), "did": None, "its": None,
        }  # fmt: skip
        if item.did is not None:
            entry["did"] = {
                **_effect(item.did.effect), "pre_trend_p": item.did.pre_trend_p,
                "treated_beats": item.did.n_treated, "comparison_beats": item.did.n_comparison,
            }  # fmt: skip
        if item.its is not None:
            entry["its"] = {
                **_effect(item.its.effect), "level_change": item.its.level_change,
                "slope_change": item.its.slope_change, "pre_periods": item.its.n_pre,
                "post_periods": item.its.n_post,
            }  # fmt: skip
        items.append(entry)
    p1 = result.p1
    return {
        "program": {
            "name": found.name, "start": found.start.isoformat(), "beats": sorted(found.beats),
            "hours": list(found.hours) if found.hours else None,
        },
        "period": [result.period[0].isoformat(), result.period[1].isoformat()],
        "results": items,
        "p1_response_time": None if p1 is None else {
            "equivalent": p1.equivalent, "p_value": p1.p_value, "difference_s": p1.difference,
            "relative": p1.relative, "ci_s": list(p1.ci), "margin_s": p1.margin,
            "calls_before": p1.n_before, "calls_after": p1.n_after, "finding": result.p1_finding,
        },
        "findings": result.findings,
        "method": result.method,
    }  # fmt: skip


def definitions() -> Definitions:
    """The outcome definitions in force (``CORESPOND_OUTCOME_DEFINITIONS``, or the packaged)."""
    from corespond.config import get_settings
    from corespond.outcomes.definitions import load_definitions

    return load_definitions(get_settings().outcome_definitions)


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


_EVALUATIONS: dict[tuple[object, ...], Evaluation] = {}


def evaluate_cached(session: Session, definitions: Definitions) -> Evaluation:
    """The evaluation over all the facts, computed once per state of the store."""
    state = facts_repository.state(session)
    key = (state.id, state.ingest_run_id, state.refreshed_at, definitions)
    if key not in _EVALUATIONS:
        _EVALUATIONS.clear()
        _EVALUATIONS[key] = evaluate(session, definitions)
    return _EVALUATIONS[key]


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
