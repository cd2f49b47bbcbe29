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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

import pandas as pd
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.dispatch.service import protocol_of
from corespond.outcomes import evaluation, facts, metrics, wording
from corespond.outcomes import repository as facts_repository
from corespond.outcomes.definitions import Definitions

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
        return wording.describe(label, did.effect, versus="comparison beats")
    if its is not None:
        return wording.describe(label, its.effect, versus="the trend before the start")
    reason = problems[0].split(": ", 1)[-1] if problems else "no estimate could be made"
    return f"{label}: not evaluated ({reason})."


def _p1(
    session: Session, found: Program, period: tuple[date, date], definitions: Definitions
) -> tuple[evaluation.EquivalenceResult | None, str]:
    times = metrics.p1_frame(session, F.beat.in_(found.beats), F.day.between(*period))
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
    return result, wording.describe_equivalence(label, result)


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
    rows["period"] = metrics.week_of(rows["day"])
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


_EVALUATIONS: dict[tuple[object, ...], Evaluation] = {}


def evaluate_cached(session: Session, definitions: Definitions) -> Evaluation:
    """The evaluation over all the facts, computed once per state of the store."""
    state = facts_repository.state(session)
    key = (state.id, state.ingest_run_id, state.refreshed_at, definitions)
    if key not in _EVALUATIONS:
        _EVALUATIONS.clear()
        _EVALUATIONS[key] = evaluate(session, definitions)
    return _EVALUATIONS[key]
