"""The checks' own arithmetic, against WCAG's published figures (no browser needed)."""

from __future__ import annotations

import pytest

from browser.accessibility import FocusStop, contrast


@pytest.mark.parametrize(
    ("foreground", "background", "ratio"),
    [
        ("rgb(0, 0, 0)", "rgb(255, 255, 255)", 21.0),
        ("rgb(118, 118, 118)", "rgb(255, 255, 255)", 4.54),  # #767676, the lightest AA grey
        ("rgb(255, 191, 71)", "rgb(255, 255, 255)", 1.64),
        ("rgb(255, 191, 71)", "rgb(18, 38, 63)", 9.31),
        ("rgba(0, 0, 0, 0)", "rgb(18, 38, 63)", 1.0),  # transparent shows what is behind
    ],
)
def test_contrast_is_wcags_ratio(foreground: str, background: str, ratio: float) -> None:
    assert contrast(foreground, background) == pytest.approx(ratio, abs=0.01)


def test_a_faint_or_missing_indicator_is_not_visible() -> None:
    assert FocusStop('button "Go"', "browser ring", None).visible
    assert FocusStop('button "Go"', "outline 3px solid", 3.0).visible
    assert not FocusStop('button "Go"', "outline 3px solid", 2.9).visible
    assert not FocusStop('button "Go"', "none", None).visible
