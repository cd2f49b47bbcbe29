"""Accessibility checks on the page a browser shows: axe-core's WCAG 2 A and AA rules, and the
keyboard (where Tab goes, and whether you can see where it went)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
"""axe-core's tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA (color-contrast, label, ...)."""
AXE = Axe()
"""axe-core as the axe-playwright-python wheel ships it (axe.min.js): nothing is fetched."""
FOCUS_CONTRAST = 3.0
"""WCAG 1.4.11: a focus indicator needs 3:1 against the colours next to it."""


def violations(page: Page, *, rules_off: Iterable[str] = ()) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations on the page as it is now."""
    options: dict[str, Any] = {
        "runOnly": {"type": "tag", "values": WCAG_A_AA},
        "resultTypes": ["violations"],
    }
    if rules_off := list(rules_off):
        options["rules"] = {rule: {"enabled": False} for rule in rules_off}
    return AXE.run(page, options=options).response["violations"]


def assert_accessible(page: Page, *, rules_off: Iterable[str] = ()) -> None:
    """Fail, listing each rule broken and the elements that break it, if axe finds anything."""
    found = violations(page, rules_off=rules_off)
    assert not found, f"{page.url} breaks WCAG 2 A/AA rules:\n{describe(found)}"


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for violation in found:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' '.join(node['target'])}: {summary}")
    return "\n".join(lines)


@dataclass(frozen=True)
class FocusStop:
    """Where focus is: the control as assistive technology names it, and what shows it."""

    control: str
    """Role and accessible name, e.g. ``textbox "Username"``; ``body`` when nothing is focused."""
    indicator: str
    """``outline 3px solid rgb(...)``, ``browser ring``, ``box-shadow``, or ``none``."""
    contrast: float | None
    """The outline's contrast against the background behind it; None where not measured."""

    @property
    def visible(self) -> bool:
        faint = self.contrast is not None and self.contrast < FOCUS_CONTRAST
        return self.indicator != "none" and not faint

    def __str__(self) -> str:
        measured = f", contrast {self.contrast:.2f}:1" if self.contrast is not None else ""
        return f"{self.control}: {self.indicator}{measured}"


FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  el.setAttribute('data-focus-stop', '');  // for the accessibility snapshot; removed after
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const reach = (parseFloat(style.outlineOffset) || 0) + (parseFloat(style.outlineWidth) || 0) / 2;
  const around = [
    [box.left - reach, box.top + box.height / 2], [box.right + reach, box.top + box.height / 2],
    [box.left + box.width / 2, box.top - reach], [box.left + box.width / 2, box.bottom + reach],
  ];
  const behind = around.map(([x, y]) => {
    for (const under of document.elementsFromPoint(x, y)) {
      if (under === el || el.contains(under)) continue;
      const colour = getComputedStyle(under).backgroundColor;
      if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') return colour;
    }
    return 'rgb(255, 255, 255)';
  });
  return {
    focusVisible: el.matches(':focus-visible'), outlineStyle: style.outlineStyle,
    outlineWidth: style.outlineWidth, outlineColor: style.outlineColor,
    boxShadow: style.boxShadow, behind,
  };
}"""


def focus_stop(page: Page) -> FocusStop:
    """Where focus is now, and how the page shows it.

    The outline's contrast is the lowest against what is drawn behind it on the four sides
    (which, for a positioned element such as a skip link, need not be its parent).
    """
    style = page.evaluate(FOCUSED)
    if style is None:
        return FocusStop("body", "none", None)
    marked = page.locator("[data-focus-stop]")
    snapshot = marked.aria_snapshot().splitlines()[0]
    marked.evaluate("el => el.removeAttribute('data-focus-stop')")
    match = re.match(r'- ([\w-]+)(?: "((?:[^"\\]|\\.)*)")?', snapshot)
    control = (f'{match[1]} "{match[2]}"' if match[2] is not None else match[1]) if match else ""
    control = control or snapshot
    if not style["focusVisible"]:
        return FocusStop(control, "none", None)
    if style["outlineStyle"] == "auto":
        return FocusStop(control, "browser ring", None)  # Chrome's two-tone ring
    if style["outlineStyle"] != "none" and float(style["outlineWidth"].removesuffix("px")) > 0:
        outline = f"outline {style['outlineWidth']} {style['outlineStyle']} {style['outlineColor']}"
        lowest = min(contrast(style["outlineColor"], behind) for behind in style["behind"])
        return FocusStop(control, outline, lowest)
    if style["boxShadow"] != "none":
        return FocusStop(control, "box-shadow", None)
    return FocusStop(control, "none", None)


def tab_to(page: Page, *controls: str, within: int = 20) -> list[FocusStop]:
    """Press Tab until ``controls`` have had focus in this order (others may come between).

    Starts from where focus is (an ``autofocus`` field counts as the first stop), stops on the
    last control, and returns every stop on the way. Fails if ``within`` presses do not do it.
    """
    wanted = list(controls)
    stops = [focus_stop(page)]
    for presses in range(within + 1):
        if wanted and stops[-1].control == wanted[0]:
            wanted.pop(0)
        if not wanted:
            return stops
        if presses < within:
            page.keyboard.press("Tab")
            stops.append(focus_stop(page))
    path = " -> ".join(stop.control for stop in stops)
    raise AssertionError(f"Tab did not reach {wanted[0]} in {within} presses; focus went {path}")


def assert_focus_visible(stops: list[FocusStop]) -> None:
    """Each control shows focus, with an outline of at least 3:1 against what is behind it.

    A control is judged where Tab first reaches it: further presses inside it (a date field's
    day, month and year) move focus within the browser's own parts of the control.
    """
    first = [stop for n, stop in enumerate(stops) if n == 0 or stops[n - 1].control != stop.control]
    hidden = [stop for stop in first if stop.control != "body" and not stop.visible]
    assert not hidden, f"focus is not visible (or under {FOCUS_CONTRAST:g}:1) on:\n" + "\n".join(
        f"- {stop}" for stop in hidden
    )


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb()``/``rgba()`` colours (the first blended onto the
    second where it is translucent)."""
    back = rgba(background)[:3]
    *front, alpha = rgba(foreground)
    blended = [alpha * f + (1 - alpha) * b for f, b in zip(front, back, strict=True)]
    lighter, darker = sorted((luminance(blended), luminance(back)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def rgba(colour: str) -> tuple[float, float, float, float]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", colour)]
    if len(numbers) not in {3, 4}:
        raise ValueError(f"not an rgb() colour: {colour!r}")
    return numbers[0], numbers[1], numbers[2], numbers[3] if len(numbers) == 4 else 1.0


def luminance(rgb: Iterable[float]) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(channel) for channel in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
