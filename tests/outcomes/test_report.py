"""The council report is a real PDF that says what changed and never prints a small cell."""

from __future__ import annotations

import base64
import io
import re
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from corespond.outcomes.evaluation import DidResult, Effect, EquivalenceResult, ItsResult
from corespond.outcomes.metrics import BY_KEY, METRICS, Filters, Measured
from corespond.outcomes.privacy import suppress_table
from corespond.outcomes.report import build_report, csv_table

HIDDEN_TOTAL = 4242.4242
"""A suppressed metric's value: printed, it would read "4,242"."""
HIDDEN_RATE = 77.77
"""A suppressed table cell: printed, it would read "77.8"."""
FINDING = "Arrests on eligible calls fell by a quarter."
HEADLINE = ("p1_response", "arrests_eligible", "holds_eligible", "care_team_only")


def make_measured(start: date = date(2025, 1, 6), *, scale: float = 1.0) -> Measured:
    weeks = pd.date_range(start, periods=12, freq="7D", name="week")
    keys = [metric.key for metric in METRICS]
    weekly = pd.DataFrame({key: np.linspace(5, 4, 12) * scale for key in keys}, index=weeks)
    totals: dict[str, float | None] = {key: 4.5 * scale for key in keys}
    counts = dict.fromkeys(keys, 1200)
    totals["holds_eligible"], counts["holds_eligible"] = HIDDEN_TOTAL, 7
    end = start + pd.Timedelta(days=83)
    weekly_counts = pd.DataFrame(dict.fromkeys(keys, 100.0), index=weeks)
    teams = pd.DataFrame(index=pd.Index([], name="team"))
    filters = Filters(start, end, precinct="North")
    return Measured(filters, totals, counts, weekly, weekly_counts, teams)


def make_its() -> ItsResult:
    periods = 20
    post = np.arange(periods) >= 10
    frame = pd.DataFrame(
        {
            "period": pd.date_range("2024-06-03", periods=periods, freq="7D"),
            "observed": np.where(post, 4.1, 5.9),
            "fitted": np.where(post, 4.0, 6.0),
            "counterfactual": 6.0,
            "cf_low": 5.6,
            "cf_high": 6.4,
            "post": post,
        }
    )
    effect = Effect(-0.33, low=-0.4, high=-0.25, p_value=0.0001, level=0.95, absolute=-2.0)
    return ItsResult(effect, -2.0, (-2.4, -1.6), 0.0, (-0.1, 0.1), frame, 10, 10, "OLS with HAC.")


def make_did() -> DidResult:
    events = pd.DataFrame(
        {
            "relative_period": [-2, -1, 0, 1],
            "estimate": [0.01, 0.0, -0.2, -0.25],
            "low": [-0.06, np.nan, -0.28, -0.33],
            "high": [0.08, np.nan, -0.12, -0.17],
        }
    )
    effect = Effect(-0.22, low=-0.3, high=-0.14, p_value=0.001, level=0.95)
    return DidResult(effect, events, 0.64, 6, 18, "Poisson with fixed effects.")


def make_equivalence() -> EquivalenceResult:
    return EquivalenceResult(
        equivalent=True,
        p_value=0.002,
        difference=0.1,
        relative=0.0125,
        ci=(-0.3, 0.5),
        margin=0.8,
        relative_margin=0.1,
        level=0.9,
        n_before=400,
        n_after=380,
        method="Two one-sided t-tests.",
    )


def by_neighborhood() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Neighborhood": ["Ballard", "Magnolia", "Fremont"],
            "Arrests per 100 calls": [4.2, HIDDEN_RATE, 3.1],
            "count": [340, 6, 120],
        }
    )


def report(target: Any = None, **overrides: Any) -> bytes:
    buffer = io.BytesIO()
    arguments: dict[str, Any] = {
        "title": "Care Team: first year",
        "measured": make_measured(),
        "previous": make_measured(date(2024, 10, 14), scale=1.2),
        "findings": [FINDING, "Response times held steady."],
        "evaluations": [
            ("Arrests against the projection", make_its(), BY_KEY["arrests_eligible"]),
            ("Arrests against comparison areas", make_did(), BY_KEY["arrests_eligible"]),
            ("Priority-1 response time", make_equivalence(), BY_KEY["p1_response"]),
        ],
        "tables": {"Arrests by neighborhood": by_neighborhood()},
        "method": "Segmented regression.\n\nDifference-in-differences.",
        "generated_at": datetime(2025, 4, 2, 14, 5, tzinfo=UTC),
        "headline": HEADLINE,
        "trends": ("arrests_eligible",),
        "program_start": date(2025, 2, 3),
    }
    build_report(target or buffer, **(arguments | overrides))
    return buffer.getvalue()


def contents(pdf: bytes) -> list[bytes]:
    """The decoded streams of a reportlab PDF (ASCII85 + Flate, its default)."""
    decoded = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            decoded.append(zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>"))))
        except (ValueError, zlib.error):
            continue
    return decoded


def shown_text(pdf: bytes) -> str:
    """The text the PDF draws: the strings its content streams show."""
    shown = [
        re.sub(rb"\\([0-7]{1,3}|.)", _unescape, string)
        for content in contents(pdf)
        for string in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content, re.S)
    ]
    return b"".join(shown).decode("cp1252", "replace")


def drawn_images(pdf: bytes) -> int:
    """How many times the pages draw an image (reportlab names them ``FormXob.<digest>``)."""
    return sum(len(re.findall(rb"/FormXob\.\w+ Do", content)) for content in contents(pdf))


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    return bytes([int(code, 8)]) if code[:1].isdigit() else code


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return report()


@pytest.fixture(scope="module")
def text(pdf: bytes) -> str:
    return shown_text(pdf)


def test_the_report_is_a_pdf(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"/Type /Catalog" in pdf
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2


def test_it_opens_with_the_program_period_and_findings(text: str) -> None:
    assert "Care Team: first year" in text
    assert "6 January 2025 to 30 March 2025" in text
    assert "precinct North" in text
    assert "2 April 2025 at 14:05 UTC" in text
    assert FINDING in text
    assert "Page 1" in text


def test_headline_metrics_show_values_previous_values_and_counts(text: str) -> None:
    for key in HEADLINE:
        assert BY_KEY[key].label in text
    assert "4.5 per 100 calls" in text
    assert "5.4 per 100 calls" in text  # the previous period's
    assert "1,200" in text


def test_small_cells_read_fewer_than_eleven_and_never_their_value(text: str) -> None:
    assert "<11" in text
    assert "4,242" not in text
    assert "4242" not in text
    assert "77.8" not in text
    assert "Magnolia" in text


def test_evaluations_say_what_changed_with_their_charts(pdf: bytes, text: str) -> None:
    assert "fell 33%" in text
    assert "relative to the comparison areas" in text
    assert "did not get worse" in text
    assert "OLS with HAC." in text
    assert drawn_images(pdf) == 2  # ITS and event study; an equivalence test has no chart


def test_the_method_defines_each_metric_and_the_small_cell_rule(text: str) -> None:
    assert "custody and on-view arrests" in text
    assert "Source:" in text
    assert "Difference-in-differences." in text
    assert "fewer than 11 records" in text


def test_it_writes_to_a_path_without_weekly_charts_when_counts_are_missing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "council.pdf"

    report(path, evaluations=[], weekly_counts=None)

    written = path.read_bytes()
    assert written.startswith(b"%PDF-")
    assert drawn_images(written) == 0
    assert "Week by week" not in shown_text(written)


def test_weekly_charts_need_counts_and_then_appear(text: str) -> None:
    assert "Week by week" not in text
    weekly = make_measured().weekly
    counts = pd.DataFrame(50, index=weekly.index, columns=weekly.columns)

    drawn = report(evaluations=[], weekly_counts=counts)

    assert "Week by week" in shown_text(drawn)
    assert drawn_images(drawn) == 1


def test_a_table_without_counts_is_refused() -> None:
    with pytest.raises(ValueError, match="no 'count' column"):
        report(tables={"By team": pd.DataFrame({"team": ["care"], "share": [40.0]})})


def test_csv_table_suppresses_rows_counted_under_the_minimum() -> None:
    exported = csv_table(by_neighborhood(), count_column="count", min_cell=11)

    assert exported.splitlines() == [
        "Neighborhood,Arrests per 100 calls,count",
        "Ballard,4.2,340",
        "Magnolia,<11,<11",
        "Fremont,3.1,120",
    ]


def test_csv_table_keeps_a_named_index_and_needs_no_counts() -> None:
    frame = pd.DataFrame({"calls": [3, 40]}, index=pd.Index(["B1", "B2"], name="beat"))

    assert csv_table(frame, count_column=None, min_cell=11).splitlines() == [
        "beat,calls",
        "B1,3",
        "B2,40",
    ]
    assert csv_table(frame, count_column="calls", min_cell=11).splitlines() == [
        "beat,calls",
        "B1,<11",
        "B2,40",
    ]


def test_suppress_treats_a_missing_count_as_small() -> None:
    frame = pd.DataFrame({"team": ["care", "police"], "share": [40.0, 60.0], "n": [None, 30]})

    shown = suppress_table(frame, count_column="n", min_cell=11)

    assert shown["share"].tolist() == ["<11", 60.0]
    assert shown["team"].tolist() == ["care", "police"]
