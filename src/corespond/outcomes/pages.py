"""Pages: the outcomes dashboard (tiles with trends, filters that update in place), a metric's
drill-down (trend and breakdowns by neighborhood, responder and recorded demographics), the
evaluation, and the exports (CSV of any table, the council PDF).

The pages show aggregates only: no person is named. Counts under the small-cell threshold are
suppressed for everyone except program managers working under the program-evaluation purpose
(who may see person-level data through access), and always in exports.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from corespond import models
from corespond.access.roles import Role
from corespond.config import get_settings
from corespond.db.engine import session_factory, unit_of_work
from corespond.outcomes import (
    charts,
    cohort_repository,
    cohorts,
    metrics,
    privacy,
    report,
    service,
    views,
)
from corespond.outcomes.definitions import Definitions
from corespond.web.dependencies import SignedIn, csrf_guard, requires
from corespond.web.forms import optional_date
from corespond.web.templating import templates

VIEWERS = (Role.PROGRAM_MANAGER, Role.DATA_STEWARD, Role.AGENCY_ADMIN, Role.AUDITOR)
router = APIRouter(
    include_in_schema=False,
    default_response_class=HTMLResponse,
    dependencies=[Depends(csrf_guard), Depends(requires(*VIEWERS))],
)
BREAKDOWNS = ("neighborhood", "team", "priority", "category", "race", "sex", "ethnicity")


@dataclass(frozen=True, slots=True)
class FilterForm:
    """The filter form as typed, and what it means (errors named, not guessed)."""

    values: dict[str, str]
    filters: metrics.Filters | None
    errors: tuple[str, ...]

    @property
    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({key: value for key, value in self.values.items() if value})


def read_form(session: Session, request: Request) -> FilterForm:
    params = request.query_params
    names = (
        "from", "to", "precinct", "sector", "beat", "neighborhood", "area", "category", "team",
        "priority",
    )  # fmt: skip
    values = {name: params.get(name, "")[:100].strip() for name in names}
    errors: list[str] = []
    try:
        start, end = service.default_period(session)
    except service.EvaluationError:
        return FilterForm(values, None, ("no call facts yet: import calls first",))
    start = optional_date(values["from"], "from", errors) or start
    end = optional_date(values["to"], "to", errors) or end
    priority = None
    if values["priority"]:
        if values["priority"].isdigit():
            priority = int(values["priority"])
        else:
            errors.append("priority must be a whole number")
    area = {"": None, "inside": True, "outside": False}.get(values["area"])
    if values["area"] and area is None:
        errors.append("program area must be inside or outside")
    if values["team"] and values["team"] not in metrics.TEAMS:
        errors.append(f"unknown responder {values['team']!r}")
    if end < start:
        errors.append("the period ends before it starts")
        return FilterForm(values, None, tuple(errors))
    filters = metrics.Filters(
        start, end, precinct=values["precinct"] or None, sector=values["sector"] or None,
        beat=values["beat"] or None, neighborhood=values["neighborhood"] or None,
        program_area=area, category=values["category"] or None,
        team=values["team"] if values["team"] in metrics.TEAMS else None, priority=priority,
    )  # fmt: skip
    values["from"], values["to"] = start.isoformat(), end.isoformat()
    return FilterForm(values, filters, tuple(errors))


def person_level(session: Session, principal: SignedIn, definitions: Definitions) -> bool:
    """May this viewer see small counts (someone evaluating the program, working under it)?"""
    return (
        cohorts.viewer_min_cell(
            session,
            user_id=principal.user_id,
            definitions=definitions,
            purpose=principal.purpose,
        )
        is None
    )


def _refreshed(definitions: Definitions) -> None:
    """Bring the facts up to date with what has arrived since the last look."""
    with unit_of_work(session_factory(write=True)) as session:
        service.refresh(session, definitions)


@router.get("/outcomes")
def dashboard(request: Request, principal: SignedIn) -> Response:
    definitions = service.definitions()
    _refreshed(definitions)
    with unit_of_work(session_factory()) as session:
        form = read_form(session, request)
        context: dict[str, object] = {"form": form, "choices": views.choices(session)}
        if form.filters is not None:
            dashboard = views.dashboard(
                session,
                form.filters,
                definitions,
                small_cells=person_level(session, principal, definitions),
            )
            context["dashboard"] = dashboard
            current = dashboard.current
            context["sparklines"] = charts.sparklines(
                current.weekly, metrics.TILES, counts=current.weekly_counts,
                min_cell=0 if dashboard.small_cells else definitions.privacy.min_cell,
            )  # fmt: skip
    return templates.TemplateResponse(request, "outcomes.html", context)


@router.get("/outcomes/metrics/{key}")
def metric_page(request: Request, principal: SignedIn, key: str) -> Response:
    metric = metrics.BY_KEY.get(key)
    if metric is None:
        return templates.TemplateResponse(
            request, "notice.html", {"title": "No such metric", "message": f"no metric {key!r}"},
            status_code=404,
        )  # fmt: skip
    definitions = service.definitions()
    _refreshed(definitions)
    with unit_of_work(session_factory()) as session:
        form = read_form(session, request)
        context: dict[str, object] = {
            "form": form, "metric": metric, "choices": views.choices(session),
        }  # fmt: skip
        if form.filters is not None:
            view = views.metric_view(
                session,
                form.filters,
                definitions,
                metric,
                small_cells=person_level(session, principal, definitions),
            )
            context["view"] = view
            context["trend"] = charts.data_uri(
                charts.trend(
                    view.weekly, metric, start=view.program_start, counts=view.weekly_counts,
                    min_cell=0 if view.small_cells else definitions.privacy.min_cell,
                )
            )  # fmt: skip
            context["bars"] = {
                by: charts.data_uri(
                    charts.breakdown(
                        table, label="label", value="value", title=f"{metric.label} by {by}",
                        unit=metric.unit, count="count",
                        min_cell=0 if view.small_cells else definitions.privacy.min_cell,
                    )
                )
                for by, table in view.breakdowns.items()
                if len(table)
            }  # fmt: skip
    return templates.TemplateResponse(request, "outcome_metric.html", context)


@router.get("/outcomes/evaluation")
def evaluation_page(request: Request, principal: SignedIn) -> Response:
    definitions = service.definitions()
    _refreshed(definitions)
    context: dict[str, object] = {}
    with unit_of_work(session_factory()) as session:
        form = read_form(session, request)
        context["form"] = form
        try:
            result = service.evaluate_cached(session, definitions)
        except service.EvaluationError as error:
            context["problem"] = str(error)
        else:
            context["result"] = result
            context["its"] = {
                item.metric.key: charts.data_uri(
                    charts.its_chart(item.its, item.metric.label, "per 100 calls")
                )
                for item in result.results
                if item.its is not None
            }
            shown_all = person_level(session, principal, definitions)
            min_cell = 0 if shown_all else definitions.privacy.min_cell
            context["comparisons"] = {
                item.metric.key: charts.data_uri(
                    charts.comparison_chart(
                        item.comparison, item.metric.label, start=result.program.start,
                        min_cell=min_cell,
                    )
                )
                for item in result.results
            }  # fmt: skip
            context["events"] = {
                item.metric.key: charts.data_uri(
                    charts.event_study_chart(item.did, item.metric.label)
                )
                for item in result.results
                if item.did is not None
            }
    return templates.TemplateResponse(request, "outcome_evaluation.html", context)


@router.get("/outcomes/export.csv")
def export_csv(
    request: Request,
    principal: SignedIn,
    table: Annotated[str, Query(max_length=40)] = "tiles",
    metric: Annotated[str, Query(max_length=40)] = "arrests_eligible",
) -> Response:
    """CSV of the tiles, or of one metric broken down (``table`` = a breakdown's name)."""
    definitions = service.definitions()
    _refreshed(definitions)
    with unit_of_work(session_factory()) as session:
        form = read_form(session, request)
        if form.filters is None or form.errors:
            return Response("\n".join(form.errors) + "\n", status_code=422, media_type="text/plain")
        whole = ("tiles", "responders")
        if table not in whole and (table not in BREAKDOWNS or metric not in metrics.BY_KEY):
            return Response(
                f"table must be tiles, responders or one of {', '.join(BREAKDOWNS)}, with a "
                "known metric\n",
                status_code=422, media_type="text/plain",
            )  # fmt: skip
        frame = views.export_table(session, form.filters, definitions, table, metric)
    text = report.csv_table(frame, count_column="count", min_cell=definitions.privacy.min_cell)
    name = f"outcomes-{table}-{form.values['from']}-{form.values['to']}.csv"
    return Response(
        text, media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


@router.get("/outcomes/report.pdf")
def report_pdf(request: Request, principal: SignedIn) -> Response:
    definitions = service.definitions()
    _refreshed(definitions)
    buffer = io.BytesIO()
    with unit_of_work(session_factory()) as session:
        form = read_form(session, request)
        if form.filters is None or form.errors:
            return Response("\n".join(form.errors) + "\n", status_code=422, media_type="text/plain")
        views.write_report(
            session, definitions, buffer, start=form.filters.start, end=form.filters.end
        )
    name = f"outcomes-report-{form.values['from']}-{form.values['to']}.pdf"
    return Response(
        buffer.getvalue(), media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


Managing = Depends(requires(Role.PROGRAM_MANAGER))


def _as_of() -> date:
    return get_settings().as_of or date.today()


@router.get("/outcomes/cohorts")
def cohorts_page(request: Request, principal: SignedIn, error: str = "") -> Response:
    definitions = service.definitions()
    with unit_of_work(session_factory()) as session:
        listed = cohort_repository.listed(session)
        try:
            start: date | None = service.program(session).start
        except service.EvaluationError:
            start = None
        min_cell = cohorts.viewer_min_cell(
            session, user_id=principal.user_id, definitions=definitions, purpose=principal.purpose
        )
    context = {
        "cohorts": [
            (
                cohort,
                privacy.shown(
                    privacy.suppress(members, min_cell) if min_cell else members, min_cell or 0
                ),
            )
            for cohort, members in listed
        ],
        "definition": definitions.frequent_utilizer,
        "program_start": start,
        "may_freeze": Role.PROGRAM_MANAGER in principal.roles,
        "error": error[:300],
    }
    return templates.TemplateResponse(request, "outcome_cohorts.html", context)


@router.post("/outcomes/cohorts", dependencies=[Managing])
def freeze(
    request: Request,
    principal: SignedIn,
    name: Annotated[str, Form(max_length=200)],
    frozen_on: Annotated[str, Form(max_length=10)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    definitions = service.definitions()
    try:
        day = date.fromisoformat(frozen_on)
    except ValueError:
        return _cohort_error(request, principal, "the date must look like 2025-06-01")
    try:
        with unit_of_work() as session:
            cohort = cohorts.freeze_cohort(
                session, name=name, as_of=day, definitions=definitions,
                user_id=principal.user_id, note=note,
            )  # fmt: skip
            cohort_id = cohort.id
    except cohorts.CohortError as error:
        return _cohort_error(request, principal, str(error))
    return RedirectResponse(f"/outcomes/cohorts/{cohort_id}", status_code=303)


def _cohort_error(request: Request, principal: SignedIn, message: str) -> Response:
    response = cohorts_page(request, principal, error=message)
    response.status_code = 422
    return response


@router.get("/outcomes/cohorts/{cohort_id}/export.csv")
def cohort_csv(request: Request, principal: SignedIn, cohort_id: int) -> Response:
    """The cohort's follow-up by window (members, housed, in treatment, fewer contacts,
    stabilized), small cells suppressed as in every export."""
    definitions = service.definitions()
    with unit_of_work(session_factory()) as session:
        cohort = session.get(models.Cohort, cohort_id)
        if cohort is None:
            return Response(f"no cohort {cohort_id}\n", status_code=404, media_type="text/plain")
        followed = cohorts.follow(session, cohort, definitions=definitions, as_of=_as_of())
        summary = followed.summary(min_cell=definitions.privacy.min_cell)
        name = cohort.name
    counted = ("members", "housed", "in_treatment", "fewer_contacts", "stabilized")
    rows = [
        {
            "window_days": window.days, "ends_on": window.ends_on.isoformat(),
            "ended": window.ended,
            **{
                name: privacy.shown(getattr(window, name), summary.min_cell or 0)
                if window.ended else ""
                for name in counted
            },
        }
        for window in summary.windows
    ]  # fmt: skip
    text = pd.DataFrame(rows).to_csv(index=False, lineterminator="\n")
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "cohort"
    return Response(
        text, media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="cohort-{slug}.csv"'},
    )  # fmt: skip


@router.get("/outcomes/cohorts/{cohort_id}")
def cohort_page(request: Request, principal: SignedIn, cohort_id: int) -> Response:
    definitions = service.definitions()
    as_of = _as_of()
    # Writes: reading members decides and audits each of their records.
    with unit_of_work() as session:
        cohort = session.get(models.Cohort, cohort_id)
        if cohort is None:
            return templates.TemplateResponse(
                request, "notice.html",
                {"title": "No such cohort", "message": f"no cohort {cohort_id}"}, status_code=404,
            )  # fmt: skip
        min_cell = cohorts.viewer_min_cell(
            session, user_id=principal.user_id, definitions=definitions, purpose=principal.purpose
        )
        followed = cohorts.follow(session, cohort, definitions=definitions, as_of=as_of)
        summary = followed.summary(min_cell=min_cell)
        members = (
            cohorts.members_for(
                session,
                cohort,
                user_id=principal.user_id,
                definitions=definitions,
                as_of=as_of,
                followed=followed,
            )
            if min_cell is None
            else None
        )
        chart = charts.data_uri(charts.cohort_chart(followed.monthly, min_cell=min_cell))
        context = {
            "cohort": cohort, "summary": summary, "members": members, "chart": chart,
            "min_cell": min_cell, "as_of": as_of,
            "shown": lambda count: privacy.shown(count, min_cell or 0),
        }  # fmt: skip
        return templates.TemplateResponse(request, "outcome_cohort.html", context)
