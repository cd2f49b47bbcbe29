"""Charts of the outcome metrics: Altair specs in one house style, rendered offline.

Each function returns a chart whose data is inline (never a URL), so the spec is complete on
its own. :func:`svg`, :func:`png` and :func:`data_uri` render it with vl-convert (no browser, no
network) and apply the house style as they do: the Okabe-Ito colour-blind-safe palette,
12-pixel labels, no frame. Pages show a chart as ``<img src="data:...">`` with
:func:`alt_text` as its ``alt``, because the Content-Security-Policy allows no inline script;
the council report embeds PNGs.

Values computed from fewer than ``min_cell`` records are never drawn: :func:`breakdown` shows
them as ``<11`` and :func:`trend` leaves a gap where a week's count is too small.

Example:
    >>> chart = trend(measured.weekly["p1_response"], BY_KEY["p1_response"], start=launch)
    >>> f'<img src="{data_uri(chart)}" alt="{alt_text(chart)}">'  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from datetime import date
from typing import Any

import altair as alt
import pandas as pd
import vl_convert as vlc

from corespond.outcomes.evaluation import DidResult, ItsResult
from corespond.outcomes.metrics import Metric
from corespond.outcomes.wording import describe

Chart = alt.Chart | alt.LayerChart

BLUE, VERMILLION, ORANGE, SKY = "#0072B2", "#D55E00", "#E69F00", "#56B4E9"
INK, GREY, FAINT = "#222222", "#6b6b6b", "#a8c8e0"
"""Okabe-Ito colours (safe for the common colour-vision deficiencies), text and rule greys."""

STYLE: dict[str, Any] = {
    "background": "white",
    "padding": 8,
    "view": {"stroke": None},
    "title": {
        "anchor": "start",
        "fontSize": 15,
        "fontWeight": "bold",
        "color": INK,
        "subtitleFontSize": 12,
        "subtitleColor": GREY,
        "offset": 10,
    },
    "axis": {
        "labelFontSize": 12,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "labelColor": INK,
        "titleColor": INK,
        "domainColor": GREY,
        "tickColor": GREY,
        "gridColor": "#e8e8e8",
    },
    "axisX": {"grid": False},
    "legend": {"labelFontSize": 12, "orient": "top", "title": None, "symbolStrokeWidth": 2.5},
    "range": {"category": [BLUE, VERMILLION, ORANGE, SKY, "#009E73", "#CC79A7", "#F0E442"]},
    "text": {"fontSize": 12, "color": INK},
}
"""The house style, applied when a chart is rendered (Vega-Lite ``config``)."""

UNIT_WORDS = {"%": "percent", "min": "minutes"}
"""How a :attr:`Metric.unit` reads in a sentence or an axis title."""

WIDTH, HEIGHT = 560, 220
"""The plot area of a full-width chart, in pixels (a 7-inch column at 80 pixels an inch)."""


def trend(
    weekly: pd.Series,
    metric: Metric,
    *,
    start: date | None = None,
    counts: pd.Series | None = None,
    min_cell: int = 11,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """A metric week by week, with its 4-week average and a rule where the program started.

    Args:
        weekly: the metric's value by week (index: each week's Monday), as in
            ``Measured.weekly[key]``; missing weeks are gaps in the line.
        metric: what the values are, for the title and the axis unit.
        start: the program's first day, marked with a labelled rule.
        counts: the records behind each week's value; weeks with fewer than ``min_cell``
            are left out, so a value from a handful of calls is never drawn.
        min_cell: the smallest count whose value may be shown.
        width, height: the plot area in pixels; a long title wraps to fit the width.

    Example:
        >>> svg(trend(measured.weekly["arrests_eligible"], BY_KEY["arrests_eligible"]))
        ...  # doctest: +SKIP
    """
    values = _shown(weekly, counts, min_cell)
    series = {"Weekly": values}
    if values.count() >= 8:
        series["4-week average"] = values.rolling(4, min_periods=3).mean()
    rows = [
        {"week": _iso(week), "value": _number(value), "series": name}
        for name, points in series.items()
        for week, value in points.items()
    ]
    lines = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("week:T", title="Week starting"),
            y=alt.Y("value:Q", title=unit_title(metric.unit)),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=list(series), range=[BLUE, FAINT]),
                legend=alt.Legend() if len(series) > 1 else None,
            ),
            strokeWidth=alt.StrokeWidth(
                "series:N",
                scale=alt.Scale(domain=list(series), range=[2, 3.5]),
                legend=None,
            ),
        )
        .properties(name="trend")
    )
    layers: list[Chart] = [lines]
    if start is not None:
        layers += _start_rule(_iso(start), "week:T")
    shown = values.dropna()
    described = f"{metric.label}, weekly ({metric.unit})"
    if len(shown):
        described += (
            f" from the week of {_day(shown.index[0])} to the week of {_day(shown.index[-1])};"
            f" last week {format_value(float(shown.iloc[-1]), metric.unit)}"
        )
    if start is not None:
        described += f"; the program started on {_day(start)}"
    return alt.LayerChart(
        layer=layers,
        title=alt.Title(
            _wrap(metric.label, width // 9),
            subtitle=f"Weekly, {unit_title(metric.unit).lower()}",
        ),
        width=width,
        height=height,
        description=described + ".",
    )


def sparkline(
    weekly: pd.Series, *, counts: pd.Series | None = None, min_cell: int = 11
) -> alt.Chart:
    """A tiny line of a metric's weekly values for a dashboard tile: 160 × 40 pixels, no axes."""
    rows, described = _sparkline_data(_shown(weekly, counts, min_cell))
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_line(strokeWidth=1.5, color=BLUE)
        .encode(
            x=alt.X("week:T", axis=None),
            y=alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False)),
        )
        .properties(
            width=160,
            height=40,
            padding=2,
            autosize=alt.AutoSizeParams(type="fit", contains="padding"),
            description=described,
            name="sparkline",
        )
    )


def sparklines(
    weekly: pd.DataFrame,
    keys: Iterable[str],
    *,
    counts: pd.DataFrame | None = None,
    min_cell: int = 11,
) -> dict[str, str]:
    """Each key's sparkline as a ``data:`` URI for an ``<img>``, keyed like ``keys``.

    Builds the spec once and swaps each series' data into it: building and validating an
    Altair chart costs about as much as rendering a sparkline. (One combined chart, split
    afterwards, is no faster to render than the charts one by one.)
    """
    spec = sparkline(pd.Series(dtype=float)).to_dict()
    found = {}
    for key in keys:
        values = _shown(weekly[key], counts[key] if counts is not None else None, min_cell)
        rows, described = _sparkline_data(values)
        spec |= {"data": {"values": rows}, "description": described}
        found[key] = _svg_uri(vlc.vegalite_to_svg(spec, config=STYLE))
    return found


def _sparkline_data(values: pd.Series) -> tuple[list[dict[str, Any]], str]:
    rows = [{"week": _iso(week), "value": _number(value)} for week, value in values.items()]
    shown = values.dropna()
    if not len(shown):
        return rows, "No weekly values to show."
    return rows, (
        f"Weekly values from {_day(shown.index[0])} to {_day(shown.index[-1])}, "
        f"lowest {format_value(float(shown.min()), '')}, "
        f"highest {format_value(float(shown.max()), '')}, "
        f"last {format_value(float(shown.iloc[-1]), '')}."
    )


def breakdown(
    frame: pd.DataFrame,
    *,
    label: str,
    value: str,
    title: str,
    unit: str,
    count: str | None = None,
    min_cell: int = 11,
) -> Chart:
    """Horizontal bars, largest first, each with its value written at its end.

    A row whose value is missing (suppressed upstream), or whose ``count`` is below
    ``min_cell``, has no bar and reads ``<11``; such rows come last.

    Example:
        >>> by_place = pd.DataFrame({"neighborhood": ["Ballard", "Fremont"], "rate": [4.2, None]})
        >>> breakdown(by_place, label="neighborhood", value="rate",
        ...           title="Arrests on eligible calls", unit="per 100 calls")  # doctest: +SKIP
    """
    hidden = frame[value].isna()
    if count is not None:
        hidden |= frame[count].fillna(0) < min_cell
    shown = sorted(
        (
            (str(row_label), None if is_hidden else float(row_value))
            for row_label, row_value, is_hidden in zip(
                frame[label], frame[value], hidden, strict=True
            )
        ),
        key=lambda pair: (pair[1] is None, -(pair[1] or 0.0)),
    )
    rows = [
        {
            "label": row_label,
            "value": row_value,
            "position": row_value or 0.0,
            "text": f"<{min_cell}"
            if row_value is None
            else format_value(row_value, unit, short=True),
            "ink": GREY if row_value is None else INK,
        }
        for row_label, row_value in shown
    ]
    order = [row_label for row_label, _ in shown]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, ticks=False))
    )
    bars = (
        base.mark_bar(color=BLUE, height={"band": 0.7})
        .encode(x=alt.X("value:Q", title=unit_title(unit)))
        .transform_filter("datum.value != null")
        .properties(name="bars")
    )
    labels = (
        base.mark_text(align="left", dx=4)
        .encode(x="position:Q", text="text:N", color=alt.Color("ink:N", scale=None))
        .properties(name="values")
    )
    described = "; ".join(f"{row['label']} {row['text']}" for row in rows)
    return alt.LayerChart(
        layer=[bars, labels],
        title=title,
        width=WIDTH * 0.7,
        height=alt.Step(24),
        description=f"{title} ({unit}): {described}.",
    )


MODEL_SERIES = ("Observed", "Model", "Without the program (counterfactual, 95% band)")


def its_chart(result: ItsResult, metric_label: str, unit: str) -> Chart:
    """An interrupted time series: what happened, the model, and the projection without it.

    Observed values are points, the fitted model a line (broken at the start), and the
    counterfactual a dashed line with its confidence band over the periods after the start.
    """
    frame = result.frame
    rows = [
        {
            "period": _iso(row.period),
            "observed": _number(row.observed),
            "fitted": _number(row.fitted),
            "counterfactual": _number(row.counterfactual) if row.post else None,
            "cf_low": _number(row.cf_low) if row.post else None,
            "cf_high": _number(row.cf_high) if row.post else None,
            "segment": "after" if row.post else "before",
        }
        for row in frame.itertuples(index=False)
    ]
    observed_name, model_name, counterfactual_name = MODEL_SERIES
    legend = alt.Scale(domain=list(MODEL_SERIES), range=[INK, BLUE, VERMILLION])
    shapes = alt.Scale(domain=list(MODEL_SERIES), range=["circle", "stroke", "stroke"])
    dashes = alt.Scale(domain=list(MODEL_SERIES), range=[[1, 0], [1, 0], [6, 4]])
    base = alt.Chart(alt.Data(values=rows)).encode(x=alt.X("period:T", title="Period starting"))
    after = base.transform_filter("datum.segment == 'after'")
    band = after.mark_area(color=VERMILLION, opacity=0.15).encode(
        y=alt.Y("cf_low:Q"), y2="cf_high:Q"
    )
    lines = (
        base.transform_fold(["fitted", "counterfactual"], as_=["line", "value"])
        .transform_filter("datum.value != null")
        .transform_calculate(
            series=f"datum.line == 'fitted' ? '{model_name}' : '{counterfactual_name}'"
        )
        .mark_line(strokeWidth=2.5)
        .encode(
            y=alt.Y("value:Q", title=unit_title(unit)),
            color=alt.Color(
                "series:N", scale=legend, legend=alt.Legend(labelLimit=0, symbolSize=60)
            ),
            strokeDash=alt.StrokeDash(
                "series:N", scale=dashes, legend=alt.Legend(labelLimit=0, symbolSize=60)
            ),
            detail="segment:N",
        )
        .properties(name="model")
    )
    points = (
        base.transform_calculate(series=f"'{observed_name}'")
        .mark_point(filled=True, size=28, opacity=0.8)
        .encode(
            y="observed:Q",
            color=alt.Color(
                "series:N", scale=legend, legend=alt.Legend(labelLimit=0, symbolSize=60)
            ),
            shape=alt.Shape(
                "series:N", scale=shapes, legend=alt.Legend(labelLimit=0, symbolSize=60)
            ),
        )
        .properties(name="observed")
    )
    first_after = frame.loc[frame["post"], "period"]
    layers: list[Chart] = [band.properties(name="band"), lines, points]
    if len(first_after):
        layers += _start_rule(_iso(first_after.iloc[0]), "period:T")
    summary = describe(metric_label, result.effect, versus="the projection without the program")
    return alt.LayerChart(
        layer=layers,
        title=alt.Title(metric_label, subtitle=_wrap(summary)),
        width=WIDTH,
        height=HEIGHT + 40,
        description=(
            f"{summary} Points: observed values per period; solid line: the model; dashed "
            "line and band: the model's projection without the program."
        ),
    )


def event_study_chart(result: DidResult, metric_label: str) -> Chart:
    """The difference-in-differences event study: the change against comparison areas, by period.

    Before the start the estimates should sit near zero (the trends ran parallel); after it
    they show how the effect built up. Bars are confidence intervals; the reference period
    (zero by construction) has none.
    """
    events = result.events
    rows = [
        {
            "relative_period": int(row.relative_period),
            "estimate": _number(row.estimate),
            "low": _number(row.low),
            "high": _number(row.high),
            "phase": "after" if row.relative_period >= 0 else "before",
        }
        for row in events.itertuples(index=False)
    ]
    y_title = f"Change vs. comparison areas ({round(result.effect.level * 100):g}% CI)"
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X(
            "relative_period:Q",
            title="Periods before (−) and after the start",
            axis=alt.Axis(tickMinStep=1, format="d"),
            scale=alt.Scale(nice=False, padding=12),
        )
    )
    percent_axis = alt.Axis(format=".0%", labelExpr="(datum.value > 0 ? '+' : '') + datum.label")
    phases = alt.Scale(domain=["before", "after"], range=[GREY, BLUE])
    intervals = (
        base.transform_filter("isValid(datum.low) && isValid(datum.high)")
        .mark_rule(strokeWidth=2)
        .encode(
            y=alt.Y("low:Q", title=y_title, axis=percent_axis),
            y2="high:Q",
            color=alt.Color("phase:N", scale=phases, legend=None),
        )
    )
    points = (
        base.mark_circle(size=60, opacity=1)
        .encode(
            y=alt.Y("estimate:Q", title=y_title, axis=percent_axis),
            color=alt.Color("phase:N", scale=phases, legend=None),
        )
        .properties(name="estimates")
    )
    reference = (
        base.transform_filter("!isValid(datum.low)")
        .mark_text(text="reference", dy=14, color=GREY, fontSize=11)
        .encode(y="estimate:Q")
    )
    zero = (
        alt.Chart(alt.Data(values=[{"zero": 0}]))
        .mark_rule(color=GREY, strokeWidth=1)
        .encode(y="zero:Q")
    )
    summary = describe(metric_label, result.effect, versus="the comparison areas")
    pre_trend = (
        f"Before the start: parallel-trends test p = {result.pre_trend_p:.2g}."
        if not math.isnan(result.pre_trend_p)
        else "No period before the start to test parallel trends."
    )
    return alt.LayerChart(
        layer=[zero, intervals, points, reference, *_start_rule(-0.5, "relative_period:Q")],
        title=alt.Title(f"{metric_label}: change by period", subtitle=_wrap(summary)),
        width=WIDTH,
        height=HEIGHT,
        description=f"{summary} {pre_trend}",
    )


def comparison_chart(
    monthly: pd.DataFrame, metric_label: str, *, start: date | None, min_cell: int = 11
) -> Chart:
    """Program beats against comparison beats, month by month: the rate per 100 in-scope calls
    (``monthly``: month, group, rate, calls; a month counted over fewer than ``min_cell`` calls
    is left out), with the program start marked."""
    rows = [
        {"month": _iso(row.month), "group": row.group, "rate": _number(row.rate)}
        for row in monthly.itertuples()
        if row.calls >= min_cell and _number(row.rate) is not None
    ]
    lines = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", title="Month"),
            y=alt.Y("rate:Q", title="Per 100 in-scope calls"),
            color=alt.Color(
                "group:N",
                scale=alt.Scale(domain=["program beats", "comparison beats"], range=[BLUE, ORANGE]),
                legend=alt.Legend(title=None, orient="top"),
            ),
        )
    )
    layers: list[Chart] = [lines]
    if start is not None:
        layers += _start_rule(_iso(start), "month:T")
    return alt.LayerChart(layer=layers).properties(
        width=WIDTH, height=HEIGHT, title=f"{metric_label}: program and comparison beats",
        description=(
            f"{metric_label} per 100 in-scope calls, month by month, in the program beats and "
            "in the comparison beats"
        ),
    )  # fmt: skip


def cohort_chart(monthly: pd.DataFrame, *, min_cell: int | None = None) -> Chart:
    """Contacts per member per month, the months before and after the cohort's date: the mean
    over members, each month with the number of members counted (months not yet ended are
    left out; with ``min_cell``, months counted over fewer members too)."""
    months = monthly.drop(columns="person_id", errors="ignore")
    rows = []
    for column in months.columns:
        values = pd.to_numeric(months[column], errors="coerce").dropna()
        if values.empty or (min_cell is not None and len(values) < min_cell):
            continue
        offset = int(column)
        rows.append({
            "month": offset, "mean": float(values.mean()), "members": len(values),
            "side": "after" if offset >= 0 else "before",
        })  # fmt: skip
    described = (
        f"Mean contacts per member per month, {len(rows)} months around the cohort date"
        if rows
        else "No month to show yet"
    )
    bars = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month (0 = the month the cohort was frozen)"),
            y=alt.Y("mean:Q", title="Contacts per member"),
            color=alt.Color(
                "side:N",
                scale=alt.Scale(domain=["before", "after"], range=[SKY, BLUE]),
                legend=alt.Legend(title=None),
            ),
            tooltip=["month:O", "mean:Q", "members:Q"],
        )
    )
    return bars.properties(
        width=WIDTH, height=HEIGHT, title="Contacts per member, before and after",
        description=described,
    )  # fmt: skip


def svg(chart: Chart) -> str:
    """The chart as an SVG document, in the house style."""
    return str(vlc.vegalite_to_svg(chart.to_dict(validate=False), config=STYLE))


def png(chart: Chart, scale: float = 2) -> bytes:
    """The chart as a PNG, ``scale`` pixels per SVG pixel (2 prints sharply at 144 dpi)."""
    return bytes(vlc.vegalite_to_png(chart.to_dict(validate=False), scale=scale, config=STYLE))


def data_uri(chart: Chart) -> str:
    """The chart's SVG as a ``data:`` URI, for ``<img src>`` under the page's CSP."""
    return _svg_uri(svg(chart))


def _svg_uri(document: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(document.encode()).decode("ascii")


def alt_text(chart: Chart) -> str:
    """What the chart shows, in words, for the ``alt`` of its image."""
    description = chart.to_dict().get("description")
    return str(description) if description else ""


def unit_title(unit: str) -> str:
    """An axis title for a unit: "%" reads "Percent", "min" "Minutes"."""
    word = UNIT_WORDS.get(unit, unit)
    return word[:1].upper() + word[1:]


def format_value(value: float, unit: str, *, short: bool = False) -> str:
    """A value as a person reads it: "12.5%", "8.4 min", "0.83 hours", "1,204 calls".

    ``short`` leaves the unit out (but keeps "%"), for labels beside an axis that names it.
    """
    if unit in ("calls", "visits") or abs(value) >= 100:
        number = f"{value:,.0f}"
    elif abs(value) < 1:
        number = f"{value:.2f}"
    else:
        number = f"{value:.1f}"
    if unit == "%":
        return f"{number}%"
    return f"{number} {unit}" if unit and not short else number


def _start_rule(at: float | str, field: str) -> list[Chart]:
    name, kind = field.split(":")
    where = alt.Chart(alt.Data(values=[{name: at}])).encode(
        x=alt.X(field, type="temporal" if kind == "T" else "quantitative")
    )
    rule = where.mark_rule(color=GREY, strokeDash=[4, 3], strokeWidth=1.5)
    label = where.mark_text(
        text="Program start", align="left", baseline="top", dx=4, y=2, color=GREY
    )
    return [rule.properties(name="start"), label]


def _shown(weekly: pd.Series, counts: pd.Series | None, min_cell: int) -> pd.Series:
    values = weekly.astype(float)
    if counts is not None:
        values = values.where(counts.reindex(values.index).fillna(0) >= min_cell)
    return values


def _iso(moment: Any) -> str:
    """Local time without a zone: Vega reads it as local and prints it back unchanged."""
    return pd.Timestamp(moment).strftime("%Y-%m-%dT%H:%M:%S")


def _day(moment: Any) -> str:
    stamp = pd.Timestamp(moment)
    return f"{stamp.day} {stamp:%B %Y}"


def _number(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def _wrap(text: str, width: int = 90) -> list[str]:
    """Subtitle lines: Vega does not wrap titles itself."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
