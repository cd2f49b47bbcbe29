"""docs/metrics.md lists every metric the code defines, with the same formula and source."""

from __future__ import annotations

from pathlib import Path

from corespond.outcomes.metrics import METRICS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_every_metric_is_documented_with_its_formula_and_source() -> None:
    text = DOCS.read_text()
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines()
            if line.startswith("| `")}  # fmt: skip
    assert set(rows) >= {metric.key for metric in METRICS}
    for metric in METRICS:
        row = rows[metric.key]
        assert metric.label in row and metric.formula in row and metric.source in row, metric.key
