"""The council report: what changed, the headline metrics, the evidence and the method, as a PDF.

:func:`build_report` lays it out with reportlab: a cover heading (program, period, slice,
when it was made), the plain-language findings, a table of the headline metrics against the
previous period, each evaluation with its chart, the metrics week by week, the breakdown
tables, and the method (every metric's formula and source, the statistics, the small-cell
rule). Charts come from :mod:`corespond.outcomes.charts` as PNGs.

No value computed from fewer than ``min_cell`` records is printed: such a cell reads ``<11``
in the tables and in :func:`csv_table` exports alike (``privacy.suppress_table`` does it for both).
"""

from __future__ import annotations

import io
import numbers
import struct
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from corespond.outcomes import charts
from corespond.outcomes.evaluation import DidResult, EquivalenceResult, ItsResult
from corespond.outcomes.metrics import BY_KEY, TILES, Filters, Measured, Metric
from corespond.outcomes.privacy import is_small, suppress_table
from corespond.outcomes.wording import describe, describe_equivalence

Evaluated = ItsResult | DidResult | EquivalenceResult

MARGIN = 0.75 * inch
COLUMN = letter[0] - 2 * MARGIN
"""The width of the text column, in points."""

_styles = getSampleStyleSheet()
TITLE = ParagraphStyle("ReportTitle", _styles["Title"], alignment=0, fontSize=22, leading=27)
HEADING = ParagraphStyle(
    "Heading", _styles["Heading2"], spaceBefore=16, spaceAfter=6, keepWithNext=True
)
SUBHEADING = ParagraphStyle(
    "Subheading", _styles["Heading3"], spaceBefore=12, spaceAfter=4, keepWithNext=True
)
BODY = ParagraphStyle("Body", _styles["BodyText"], fontSize=10.5, leading=14.5)
SMALL = ParagraphStyle(
    "Small", BODY, fontSize=8.5, leading=11, textColor=colors.HexColor("#555555")
)
CELL = ParagraphStyle("Cell", BODY, fontSize=9.5, leading=12)
NUMBER = ParagraphStyle("Number", CELL, alignment=TA_RIGHT)
INK = colors.HexColor(charts.INK)
RULE = colors.HexColor("#c8c8c8")
SHADE = colors.HexColor("#f2f4f7")


def build_report(
    target: str | Path | IO[bytes],
    *,
    title: str,
    measured: Measured,
    previous: Measured | None = None,
    findings: Sequence[str],
    evaluations: Sequence[tuple[str, Evaluated, Metric]] = (),
    tables: Mapping[str, pd.DataFrame] | None = None,
    count_column: str = "count",
    method: str,
    generated_at: datetime,
    headline: Sequence[str] = TILES,
    trends: Sequence[str] = TILES,
    weekly_counts: pd.DataFrame | None = None,
    program_start: date | None = None,
    min_cell: int = 11,
) -> None:
    """Write the council report as a PDF to ``target`` (a path or a binary file).

    Args:
        target: where the PDF goes.
        title: the program's name and what the report is, on the cover and every footer.
        measured: the metrics over the report's period (and slice).
        previous: the same metrics over the period before, for comparison.
        findings: what changed, in plain language, one sentence or short paragraph each.
        evaluations: ``(heading, result, metric)`` for each interrupted time series,
            difference-in-differences or equivalence result to show.
        tables: breakdowns to print, by heading; each has a ``count_column`` (the records
            behind its row), and rows under ``min_cell`` are printed as ``<11``.
        count_column: the column of each table that counts its records.
        method: the statistical method, in paragraphs separated by blank lines.
        generated_at: when the figures were computed.
        headline: the metrics in the headline table, in order.
        trends: the metrics drawn week by week, if ``weekly_counts`` is given.
        weekly_counts: the records behind each of ``measured.weekly``'s values (same index
            and columns). Weeks under ``min_cell`` are left out of the charts; without it
            no weekly chart is drawn, since any week's value might come from a few calls.
        program_start: marked on the weekly charts.
        min_cell: the smallest number of records a printed value may come from.

    Raises:
        ValueError: a table has no ``count_column``, so its small cells cannot be found.

    Example:
        >>> build_report("council.pdf", title="Care Team: first year", measured=measured,
        ...              previous=measured_before, findings=["Arrests fell by a quarter."],
        ...              method="...", generated_at=datetime.now(UTC))  # doctest: +SKIP
    """
    tables = tables or {}
    for heading, frame in tables.items():
        if count_column not in frame.columns:
            raise ValueError(
                f"table {heading!r} has no {count_column!r} column: its small cells "
                "cannot be suppressed"
            )
    story: list[Flowable] = [
        *_cover(title, measured.filters, previous, generated_at),
        Paragraph("What changed", HEADING),
        _bullets(findings),
        Paragraph("Headline metrics", HEADING),
        _headline_table(headline, measured, previous, min_cell),
        Paragraph(
            f"“&lt;{min_cell}”: fewer than {min_cell} records, so the value is not shown. "
            "Records counted: the calls (or visits, referrals, decisions) the value is "
            "computed over.",
            SMALL,
        ),
    ]
    for index, (heading, result, metric) in enumerate(evaluations):
        # Kept with its first evaluation: a heading alone at the foot of a page reads badly.
        opening = [Paragraph("The evidence", HEADING)] if index == 0 else []
        story.append(KeepTogether(opening + _evaluation(heading, result, metric)))
    shown_trends: list[str] = []
    if weekly_counts is not None:
        shown_trends = [key for key in trends if measured.weekly[key].notna().any()]
        if shown_trends:
            story.append(Paragraph("Week by week", HEADING))
            story.append(
                _trend_grid(shown_trends, measured.weekly, weekly_counts, program_start, min_cell)
            )
    for heading, frame in tables.items():
        story.append(Paragraph(escape(heading), HEADING))
        story.append(_table(frame, count_column, min_cell))
    described = dict.fromkeys([*headline, *(m.key for _, _, m in evaluations), *shown_trends])
    story += _method([BY_KEY[key] for key in described], method, min_cell)

    def footer(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(SMALL.textColor)
        canvas.drawString(MARGIN, 0.5 * inch, title)
        canvas.drawRightString(letter[0] - MARGIN, 0.5 * inch, f"Page {document.page}")
        canvas.restoreState()

    document = SimpleDocTemplate(
        str(target) if isinstance(target, Path) else target,
        pagesize=letter,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author="corespond",
        subject=f"{_day(measured.filters.start)} to {_day(measured.filters.end)}",
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)


def csv_table(frame: pd.DataFrame, *, count_column: str | None, min_cell: int) -> str:
    """The table as CSV text, its small cells suppressed (``privacy.suppress_table``).

    A named index is written as the first column; an unnamed one is left out.

    Example:
        >>> rows = pd.DataFrame({"beat": ["B1", "B2"], "arrests": [40, 3], "count": [400, 9]})
        >>> print(csv_table(rows, count_column="count", min_cell=11), end="")
        beat,arrests,count
        B1,40,400
        B2,<11,<11
    """
    shown = suppress_table(frame, count_column=count_column, min_cell=min_cell)
    return str(shown.to_csv(index=frame.index.name is not None, lineterminator="\n"))


def _cover(
    title: str, filters: Filters, previous: Measured | None, generated_at: datetime
) -> list[Flowable]:
    lines = [
        ("Period", f"{_day(filters.start)} to {_day(filters.end)}"),
        ("Calls covered", _slice(filters)),
    ]
    if previous is not None:
        before = previous.filters
        lines.append(("Compared with", f"{_day(before.start)} to {_day(before.end)}"))
    zone = f" {generated_at.tzname()}" if generated_at.tzinfo else ""
    lines.append(("Generated", f"{_day(generated_at)} at {generated_at:%H:%M}{zone}"))
    facts = Table(
        [
            [Paragraph(f"<b>{name}</b>", BODY), Paragraph(escape(text), BODY)]
            for name, text in lines
        ],
        colWidths=[1.3 * inch, COLUMN - 1.3 * inch],
        hAlign="LEFT",
    )
    facts.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return [Paragraph(escape(title), TITLE), facts, Spacer(1, 6)]


def _slice(filters: Filters) -> str:
    """The calls the figures cover, in words: "all calls" or "precinct North, priority 1"."""
    parts = [
        f"{name} {value}"
        for name, value in (
            ("precinct", filters.precinct),
            ("sector", filters.sector),
            ("beat", filters.beat),
            ("neighborhood", filters.neighborhood),
            ("category", filters.category),
            ("team", filters.team),
            ("priority", filters.priority),
        )
        if value is not None
    ]
    if filters.program_area is not None:
        parts.append("in the program area" if filters.program_area else "outside the program area")
    if filters.eligible is not None:
        parts.append("eligible for the program" if filters.eligible else "not eligible")
    return ", ".join(parts) if parts else "all calls"


def _bullets(findings: Sequence[str]) -> Flowable:
    if not findings:
        return Paragraph("No findings were written for this period.", BODY)
    return ListFlowable(
        [ListItem(Paragraph(escape(finding), BODY), leftIndent=12) for finding in findings],
        bulletType="bullet",
        start="•",
        leftIndent=12,
    )


def _headline_table(
    keys: Sequence[str], measured: Measured, previous: Measured | None, min_cell: int
) -> Flowable:
    header = ["Metric", "This period", "Records counted"]
    if previous is not None:
        header.insert(2, "Previous period")
    rows: list[list[Any]] = [[Paragraph(f"<b>{name}</b>", CELL) for name in header]]
    for key in keys:
        metric = BY_KEY[key]
        label = escape(metric.label)
        if key in measured.notes:
            label += f"<br/><font size=8 color='#555555'>{escape(measured.notes[key])}</font>"
        count = measured.counts.get(key, 0)
        row = [
            Paragraph(label, CELL),
            _cell(_value(measured, key, min_cell)),
            _cell(f"{count:,}" if count >= min_cell else f"<{min_cell}"),
        ]
        if previous is not None:
            row.insert(2, _cell(_value(previous, key, min_cell)))
        rows.append(row)
    numbers = 1.4 * inch
    widths = [COLUMN - numbers * (len(header) - 1)] + [numbers] * (len(header) - 1)
    return _styled(Table(rows, colWidths=widths, repeatRows=1))


def _value(measured: Measured, key: str, min_cell: int) -> str:
    if is_small(measured.counts.get(key), min_cell):
        return f"<{min_cell}"
    value = measured.totals.get(key)
    return "–" if value is None else charts.format_value(value, BY_KEY[key].unit)


def _evaluation(heading: str, result: Evaluated, metric: Metric) -> list[Flowable]:
    unit = _unit_word(metric.unit)
    parts: list[Flowable] = [Paragraph(escape(heading), SUBHEADING)]
    if isinstance(result, ItsResult):
        summary = describe(
            metric.label,
            result.effect,
            versus="the projection without the program",
            unit_word=unit,
        )
        level_low, level_high = result.level_change_ci
        slope_low, slope_high = result.slope_change_ci
        detail = (
            f"Change in level at the start: {_signed(result.level_change)} {unit} "
            f"(CI {_signed(level_low)} to {_signed(level_high)}); change in trend: "
            f"{_signed(result.slope_change)} {unit} per period (CI {_signed(slope_low)} to "
            f"{_signed(slope_high)}). {result.n_pre} periods before the start, "
            f"{result.n_post} after."
        )
        chart = charts.its_chart(result, metric.label, metric.unit)
    elif isinstance(result, DidResult):
        summary = describe(metric.label, result.effect, versus="the comparison areas")
        pre_trend = (
            "no period before the start to test them"
            if pd.isna(result.pre_trend_p)
            else f"test before the start p = {result.pre_trend_p:.2g}"
        )
        detail = (
            f"{result.n_treated} program areas against {result.n_comparison} comparison "
            f"areas. Parallel trends: {pre_trend}."
        )
        chart = charts.event_study_chart(result, metric.label)
    else:
        summary = describe_equivalence(metric.label, result, unit=unit)
        detail = f"{result.n_before:,} records before the start, {result.n_after:,} after."
        chart = None
    parts += [Paragraph(escape(summary), BODY), Paragraph(escape(detail), SMALL)]
    if chart is not None:
        # The heading and the sentence above say what the chart's title would.
        parts.append(Spacer(1, 6))
        parts.append(_image(charts.png(chart.properties(title="")), COLUMN))
    parts.append(Paragraph(f"<i>Method:</i> {escape(result.method)}", SMALL))
    return parts


def _trend_grid(
    keys: Sequence[str],
    weekly: pd.DataFrame,
    counts: pd.DataFrame,
    start: date | None,
    min_cell: int,
) -> Flowable:
    cell = COLUMN / 2
    images: list[Flowable] = []
    for key in keys:
        chart = charts.trend(
            weekly[key],
            BY_KEY[key],
            start=start,
            counts=counts[key],
            min_cell=min_cell,
            width=250,
            height=110,
        )
        images.append(_image(charts.png(chart), cell - 6))
    if len(images) % 2:
        images.append(Spacer(1, 1))
    grid = Table(
        [images[index : index + 2] for index in range(0, len(images), 2)],
        colWidths=[cell, cell],
    )
    grid.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 10),
            ]
        )
    )
    return grid


def _table(frame: pd.DataFrame, count_column: str, min_cell: int) -> Flowable:
    """A breakdown, suppressed: the first column (the label) takes what the numbers leave."""
    header = [Paragraph(f"<b>{escape(str(name))}</b>", CELL) for name in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[column]) for column in frame.columns]
    shown = suppress_table(frame, count_column=count_column, min_cell=min_cell)
    rows: list[list[Any]] = [header]
    for record in shown.itertuples(index=False):
        rows.append(
            [
                _cell(_text(value)) if is_number else Paragraph(escape(_text(value)), CELL)
                for value, is_number in zip(record, numeric, strict=True)
            ]
        )
    others = len(frame.columns) - 1
    number = min(1.15 * inch, COLUMN / (others + 1.5)) if others else 0
    return _styled(Table(rows, colWidths=[COLUMN - number * others] + [number] * others))


def _method(metrics: Sequence[Metric], method: str, min_cell: int) -> list[Flowable]:
    parts: list[Flowable] = [
        Paragraph("Method", HEADING),
        Paragraph("What each metric counts", SUBHEADING),
    ]
    for metric in metrics:
        parts.append(
            Paragraph(
                f"<b>{escape(metric.label)}</b> ({escape(metric.unit)}): "
                f"{escape(metric.formula)}. <i>Source:</i> {escape(metric.source)}.",
                BODY,
            )
        )
        parts.append(Spacer(1, 3))
    parts.append(Paragraph("How the changes were estimated", SUBHEADING))
    for paragraph in (block.strip() for block in method.split("\n\n")):
        if paragraph:
            parts.append(Paragraph(escape(" ".join(paragraph.split())), BODY))
    parts += [
        Paragraph("Small numbers", SUBHEADING),
        Paragraph(
            f"A value computed from fewer than {min_cell} records (calls, visits, referrals or "
            f"decisions) is never shown: the report prints “&lt;{min_cell}” in its place, and "
            "the count behind it is hidden the same way, so that no one can be recognised from "
            "a small group. Weekly charts leave out the weeks with fewer records than that.",
            BODY,
        ),
    ]
    return parts


def _image(data: bytes, width: float) -> Image:
    """A PNG from :func:`charts.png` at 2 pixels a point, shrunk to ``width`` if wider."""
    pixels_wide, pixels_high = struct.unpack(">II", data[16:24])
    points_wide, points_high = pixels_wide / 2, pixels_high / 2
    shrink = min(1.0, width / points_wide)
    return Image(io.BytesIO(data), width=points_wide * shrink, height=points_high * shrink)


def _styled(table: Table) -> Table:
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (0, 0), (-1, 0), 1, INK),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, SHADE]),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    table.hAlign = "LEFT"
    return table


def _cell(text: str) -> Paragraph:
    return Paragraph(escape(text), NUMBER)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 100 else f"{value:,.1f}"
    return str(value)


def _unit_word(unit: str) -> str:
    return "percentage points" if unit == "%" else charts.UNIT_WORDS.get(unit, unit)


def _signed(value: float) -> str:
    return f"{value:+.2f}" if abs(value) < 1 else f"{value:+.1f}"


def _day(moment: date) -> str:
    return f"{moment.day} {moment:%B %Y}"
