"""What an evaluation found, in sentences a council member can read.

"Arrests on eligible calls fell 31% (95% CI 22% to 39%) relative to comparison beats." Each
sentence gives the size of the change, its confidence interval, and says plainly when a change
is not statistically significant or equivalence was not shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from corespond.outcomes.evaluation import Effect, EquivalenceResult

_TIME_UNITS = ("seconds", "minutes", "hours")


def describe(
    metric: str, effect: Effect, *, versus: str | None = None, unit_word: str | None = None
) -> str:
    """One sentence for a council member: how much the metric changed, with its interval.

    ``versus`` names what the change is relative to (e.g. ``"comparison beats"``).
    ``unit_word`` (e.g. ``"arrests per week"``) adds the absolute change when the effect
    has one; it is ignored otherwise.

    Example:
        >>> fall = Effect(-0.31, low=-0.39, high=-0.22, p_value=0.0001, level=0.95)
        >>> describe("Arrests", fall, versus="comparison beats")
        'Arrests fell 31% (95% CI 22% to 39%) relative to comparison beats.'
        >>> unclear = Effect(-0.04, low=-0.12, high=0.05, p_value=0.4, level=0.95)
        >>> describe("Arrests", unclear)  # doctest: +NORMALIZE_WHITESPACE
        'Arrests changed by -4% (95% CI -12% to +5%), which is not a statistically
        significant change.'
    """
    decimals = _percent_decimals(effect)
    level = f"{percent_text(effect.level)} CI"
    against = f" relative to {versus}" if versus else ""
    if effect.significant:
        verb = "fell" if effect.relative < 0 else "rose"
        inner, outer = sorted((abs(effect.low), abs(effect.high)))
        size = _percent(abs(effect.relative), decimals)
        interval = f"{_percent(inner, decimals)} to {_percent(outer, decimals)}"
        sentence = f"{metric} {verb} {size} ({level} {interval}){against}"
        if effect.absolute is not None and unit_word:
            direction = "down" if effect.absolute < 0 else "up"
            sentence += f", {direction} {_number(abs(effect.absolute))} {unit_word} on average"
        return sentence + "."
    size = _percent(effect.relative, decimals, sign=False)
    low, high = (_percent(bound, decimals, sign=True) for bound in (effect.low, effect.high))
    interval = f"{low} to {high}"
    sentence = f"{metric} changed by {size} ({level} {interval}){against}"
    if effect.absolute is not None and unit_word:
        sentence += f", a difference of {_number(effect.absolute)} {unit_word} on average"
    return sentence + ", which is not a statistically significant change."


def describe_equivalence(metric: str, result: EquivalenceResult, *, unit: str = "seconds") -> str:
    """One sentence: whether the metric stayed within its margin, and if not, why not.

    With a time ``unit`` (seconds, minutes, hours) lower values read "faster", otherwise
    "lower".

    Example:
        >>> describe_equivalence("Priority-1 response time", p1_result)  # doctest: +SKIP
        'Priority-1 response time did not get worse: after the start it was 12 seconds faster
        on average (90% CI 20 faster to 4 slower), within the ±10% margin of 61 seconds
        (TOST p < 0.001).'
    """
    decimals = 0 if result.margin >= 10 else 1 if result.margin >= 1 else 2
    lower, higher = ("faster", "slower") if unit in _TIME_UNITS else ("lower", "higher")

    def amount(value: float) -> str:
        text = _number(abs(value), decimals)
        return text if text == "0" else f"{text} {lower if value < 0 else higher}"

    size = _number(abs(result.difference), decimals)
    if size == "0":
        average = "about the same on average"
    else:
        direction = lower if result.difference < 0 else higher
        average = f"{size} {_unit(unit, size)} {direction} on average"
    low, high = result.ci
    if low > 0 or high < 0:
        near, far = sorted((low, high), key=abs)
        interval = f"{_number(abs(near), decimals)} to {amount(far)}"
    else:
        interval = f"{amount(low)} to {amount(high)}"
    observed = f"it was {average} ({percent_text(result.level)} CI {interval})"
    width = _number(result.margin, decimals)
    margin = f"the ±{percent_text(result.relative_margin)} margin of {width} {_unit(unit, width)}"
    test = f"TOST {_p_text(result.p_value)}"
    if result.equivalent:
        return f"{metric} did not get worse: after the start {observed}, within {margin} ({test})."
    if low <= -result.margin and high >= result.margin:
        why = f"the interval reaches past both sides of {margin}"
    elif low >= result.margin or high <= -result.margin:
        side = higher if low >= result.margin else lower
        why = f"the whole interval lies beyond {margin}: it became {side} by more than that"
    else:
        side = higher if high >= result.margin else lower
        why = (
            f"the interval crosses {margin} on the {side} side, so becoming {side} by more "
            "than the margin cannot be ruled out"
        )
    return f"{metric}: equivalence was not shown. After the start {observed}; {why} ({test})."


def _percent_decimals(effect: Effect) -> int:
    """Whole percents, one decimal below 10 %, more while a significant bound rounds to 0."""
    largest = max(abs(effect.relative), abs(effect.low), abs(effect.high))
    decimals = 0 if largest >= 0.095 else 1
    nearest = min(abs(effect.low), abs(effect.high))
    while effect.significant and decimals < 2 and round(nearest * 100, decimals) == 0:
        decimals += 1
    return decimals


def _percent(value: float, decimals: int, *, sign: bool = False) -> str:
    number = round(value * 100, decimals)
    if number == 0:
        return "0%"
    text = f"{number:.{decimals}f}%"
    return f"+{text}" if sign and number > 0 else text


def percent_text(fraction: float) -> str:
    return f"{round(fraction * 100, 1):g}%"


def _number(value: float, decimals: int | None = None) -> str:
    if decimals is None:
        decimals = 0 if abs(value) >= 10 else 1 if abs(value) >= 1 else 2
    text = f"{round(value, decimals):.{decimals}f}"
    return "0" if float(text) == 0 else text


def _unit(unit: str, number: str) -> str:
    return unit[:-1] if unit.endswith("s") and float(number) == 1 else unit


def _p_text(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}"
