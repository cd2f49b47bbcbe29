"""The outcome charts render offline to real SVG and PNG, show what they claim, hide small cells."""

from __future__ import annotations

import base64
import struct
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from corespond.outcomes import charts
from corespond.outcomes.evaluation import DidResult, Effect, ItsResult
from corespond.outcomes.metrics import BY_KEY

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = date(2024, 7, 1)


def make_weekly(weeks: int = 40, *, seed: int = 3) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=weeks, freq="7D", name="week")
    return pd.Series(6 + rng.normal(0, 0.5, weeks), index=index)


def make_its(periods: int = 30) -> ItsResult:
    period = pd.date_range("2024-01-01", periods=periods, freq="7D")
    post = np.arange(periods) >= periods // 2
    fitted = np.where(post, 4.0, 6.0)
    frame = pd.DataFrame(
        {
            "period": period,
            "observed": fitted + np.linspace(-0.3, 0.3, periods),
            "fitted": fitted,
            "counterfactual": np.full(periods, 6.0),
            "cf_low": np.full(periods, 5.5),
            "cf_high": np.full(periods, 6.5),
            "post": post,
        }
    )
    effect = Effect(-0.33, low=-0.4, high=-0.25, p_value=0.0001, level=0.95, absolute=-2.0)
    return ItsResult(effect, -2.0, (-2.4, -1.6), 0.0, (-0.1, 0.1), frame, 15, 15, "OLS.")


def make_did() -> DidResult:
    events = pd.DataFrame(
        {
            "relative_period": [-3, -2, -1, 0, 1, 2],
            "estimate": [0.02, -0.01, 0.0, -0.15, -0.22, -0.25],
            "low": [-0.05, -0.08, np.nan, -0.23, -0.3, -0.34],
            "high": [0.09, 0.06, np.nan, -0.07, -0.14, -0.16],
        }
    )
    effect = Effect(-0.2, low=-0.28, high=-0.12, p_value=0.001, level=0.95)
    return DidResult(effect, events, 0.7, 8, 20, "Poisson.")


def parse(document: str) -> ET.Element:
    return ET.fromstring(document)


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def marks(root: ET.Element, name: str) -> list[ET.Element]:
    """The drawn items of the layer named ``name`` (Vega classes its group ``<name>_marks``)."""
    found: list[ET.Element] = []
    for group in root.iter(f"{SVG}g"):
        if f"{name}_marks" in group.get("class", "").split():
            found += list(group)
    return found


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def found_under(spec: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere in a spec."""
    found: list[Any] = []
    if isinstance(spec, dict):
        if key in spec:
            found.append(spec[key])
        spec = list(spec.values())
    if isinstance(spec, list):
        for value in spec:
            found += found_under(value, key)
    return found


def inline_rows(spec: Any) -> list[dict[str, Any]]:
    """Every row of inline data in a spec (Altair may hoist a layer's data to the top)."""
    return [row for values in found_under(spec, "values") for row in values]


def test_trend_renders_its_title_unit_and_the_program_start() -> None:
    chart = charts.trend(make_weekly(), BY_KEY["arrests_eligible"], start=START)

    root = parse(charts.svg(chart))

    shown = texts(root)
    assert "Arrests on eligible calls" in shown
    assert "Per 100 calls" in shown
    assert "Program start" in shown
    assert {"Weekly", "4-week average"} <= set(shown)
    assert len(marks(root, "trend")) == 2
    assert len(marks(root, "start")) == 1


def test_a_short_series_has_no_rolling_average() -> None:
    chart = charts.trend(make_weekly(6), BY_KEY["arrests_eligible"])

    root = parse(charts.svg(chart))

    assert len(marks(root, "trend")) == 1
    assert "4-week average" not in texts(root)
    assert "Program start" not in texts(root)


def test_png_is_the_svg_at_the_requested_scale() -> None:
    chart = charts.trend(make_weekly(), BY_KEY["p1_response"], start=START)
    root = parse(charts.svg(chart))
    width, height = int(root.get("width", 0)), int(root.get("height", 0))

    assert png_size(charts.png(chart)) == (2 * width, 2 * height)
    assert png_size(charts.png(chart, scale=1)) == (width, height)


def test_trend_leaves_out_weeks_counted_under_the_minimum() -> None:
    weekly = make_weekly(12)
    counts = pd.Series(50, index=weekly.index)
    counts.iloc[4] = 10
    hidden = weekly.index[4].strftime("%Y-%m-%dT%H:%M:%S")

    chart = charts.trend(weekly, BY_KEY["calls"], counts=counts, min_cell=11)

    rows = [row for row in inline_rows(chart.to_dict()) if row.get("series") == "Weekly"]
    weekly_rows = {row["week"]: row["value"] for row in rows}
    assert weekly_rows[hidden] is None
    assert sum(value is not None for value in weekly_rows.values()) == 11


def test_sparkline_is_a_bare_160_by_40_line() -> None:
    chart = charts.sparkline(make_weekly())

    root = parse(charts.svg(chart))

    assert (root.get("width"), root.get("height")) == ("160", "40")
    assert texts(root) == []
    assert len(marks(root, "sparkline")) == 1
    assert png_size(charts.png(chart)) == (320, 80)


def test_sparklines_render_each_key_as_an_image_uri() -> None:
    weekly = pd.DataFrame({"response": make_weekly(), "arrests_eligible": make_weekly(seed=4)})

    images = charts.sparklines(weekly, ["response", "arrests_eligible"])

    assert list(images) == ["response", "arrests_eligible"]
    for uri in images.values():
        prefix, encoded = uri.split(",", 1)
        assert prefix == "data:image/svg+xml;base64"
        root = parse(base64.b64decode(encoded).decode())
        assert (root.get("width"), root.get("height")) == ("160", "40")
    assert images["response"] != images["arrests_eligible"]


def test_breakdown_draws_one_bar_per_shown_row_and_hides_small_cells() -> None:
    by_place = pd.DataFrame(
        {
            "neighborhood": ["Ballard", "Fremont", "Magnolia", "Georgetown"],
            "rate": [4.31, 6.75, 93.125, None],
            "calls": [120, 300, 7, 50],
        }
    )

    chart = charts.breakdown(
        by_place,
        label="neighborhood",
        value="rate",
        title="Arrests on eligible calls by neighborhood",
        unit="per 100 calls",
        count="calls",
    )
    root = parse(charts.svg(chart))

    shown = texts(root)
    assert "Arrests on eligible calls by neighborhood" in shown
    assert len(marks(root, "bars")) == 2
    assert ["".join(text.itertext()) for text in marks(root, "values")] == [
        "6.8",
        "4.3",
        "<11",
        "<11",
    ]
    assert not any("93" in text for text in shown)
    assert "93.125" not in charts.svg(chart)
    assert "Magnolia <11" in charts.alt_text(chart)


def test_its_chart_shows_points_model_and_the_counterfactual_band() -> None:
    result = make_its()

    chart = charts.its_chart(result, "Arrests on eligible calls", "per 100 calls")
    root = parse(charts.svg(chart))

    spec = chart.to_dict()
    band = [layer for layer in spec["layer"] if layer.get("name") == "band"]
    assert band and band[0]["mark"]["type"] == "area"
    assert set(band[0]["encoding"]) >= {"y", "y2"}
    assert len(marks(root, "band")) == 1
    assert len(marks(root, "observed")) == len(result.frame)
    shown = texts(root)
    for series in charts.MODEL_SERIES:
        assert series in shown
    assert "Program start" in shown
    assert "Arrests on eligible calls" in shown
    assert png_size(charts.png(chart))[0] > 0


def test_event_study_marks_each_period_the_reference_and_percent_axis() -> None:
    result = make_did()

    chart = charts.event_study_chart(result, "Arrests on eligible calls")
    root = parse(charts.svg(chart))

    assert len(marks(root, "estimates")) == len(result.events)
    shown = texts(root)
    assert "reference" in shown
    assert "Program start" in shown
    assert "+5%" in shown or "+10%" in shown
    assert "0%" in shown
    assert "Arrests on eligible calls: change by period" in shown


def test_every_chart_is_a_valid_spec_with_inline_data_and_alt_text() -> None:
    built = [
        charts.trend(make_weekly(), BY_KEY["response"], start=START),
        charts.sparkline(make_weekly()),
        charts.breakdown(
            pd.DataFrame({"team": ["care"], "share": [40.0]}),
            label="team",
            value="share",
            title="Calls by team",
            unit="%",
        ),
        charts.its_chart(make_its(), "Arrests", "per 100 calls"),
        charts.event_study_chart(make_did(), "Arrests"),
    ]

    for chart in built:
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        assert found_under(spec, "url") == []
        assert charts.alt_text(chart)


def test_data_uri_embeds_the_svg() -> None:
    chart = charts.sparkline(make_weekly())

    uri = charts.data_uri(chart)

    assert uri.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == charts.svg(chart)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (12.345, "%", "12.3%"),
        (8.44, "min", "8.4 min"),
        (0.834, "hours", "0.83 hours"),
        (1204.0, "calls", "1,204 calls"),
        (3.14, "per 100 calls", "3.1 per 100 calls"),
    ],
)
def test_format_value(value: float, unit: str, expected: str) -> None:
    assert charts.format_value(value, unit) == expected
