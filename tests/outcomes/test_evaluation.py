"""Evaluation recovers known effects from simulated data, and says so in plain language."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from corespond.outcomes.evaluation import (
    DidResult,
    Effect,
    EquivalenceResult,
    difference_in_differences,
    equivalence,
    interrupted_time_series,
)
from corespond.outcomes.wording import describe, describe_equivalence


def weekly_series(
    seed: int,
    *,
    effect: float = 0.0,
    weeks: int = 156,
    start_week: int = 104,
    autocorrelation: float = 0.0,
    seasonal: bool = True,
) -> tuple[pd.Series, pd.Timestamp]:
    """A weekly count around 60 with a trend, an annual cycle and noise; from ``start_week``
    its mean is ``1 + effect`` times what it would have been."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2021-01-04", periods=weeks, freq="W-MON")
    week = np.arange(weeks)
    angle = 2 * np.pi * periods.day_of_year.to_numpy() / 365.25
    baseline = 60 + 0.05 * week + (8 * np.sin(angle) + 4 * np.cos(2 * angle) if seasonal else 0)
    shocks = rng.normal(0, 4, weeks)
    noise = np.zeros(weeks)
    noise[0] = shocks[0]
    for i in range(1, weeks):
        noise[i] = autocorrelation * noise[i - 1] + shocks[i]
    values = baseline * (1 + effect * (week >= start_week)) + noise
    return pd.Series(values, index=periods), periods[start_week]


def beat_weeks(
    seed: int,
    *,
    units: int = 40,
    weeks: int = 150,
    start_week: int = 100,
    effect: float = -0.3,
    pre_trend: float = 0.0,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Arrests and eligible calls per beat and week; the first half of the beats are program
    beats whose arrest rate is ``1 + effect`` times what it would have been from
    ``start_week``, and, with ``pre_trend``, whose log rate climbs that much a week before."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2022-01-03", periods=weeks, freq="W-MON")
    unit = np.repeat(np.arange(units), weeks)
    week = np.tile(np.arange(weeks), units)
    treated = unit < units // 2
    season = 0.2 * np.sin(2 * np.pi * np.arange(weeks) / 52) + rng.normal(0, 0.05, weeks)
    log_rate = (
        np.log(0.25)
        + rng.normal(0, 0.3, units)[unit]
        + season[week]
        + treated * (week >= start_week) * np.log1p(effect)
        + treated * np.minimum(week - start_week, 0) * pre_trend
    )
    exposure = rng.poisson(40, len(unit))
    overdispersion = rng.gamma(20, 1 / 20, len(unit))
    panel = pd.DataFrame(
        {
            "unit": [f"beat {u}" for u in unit],
            "period": periods[week],
            "treated": treated,
            "events": rng.poisson(exposure * np.exp(log_rate) * overdispersion),
            "exposure": exposure,
        }
    )
    return panel, periods[start_week]


def contains(low: float, high: float, value: float) -> bool:
    return low < value < high


def test_its_recovers_a_level_drop_in_a_seasonal_weekly_series() -> None:
    series, start = weekly_series(1, effect=-0.20)

    result = interrupted_time_series(series, start, seasonality="week_of_year")

    effect = result.effect
    assert contains(effect.low, effect.high, -0.20)
    assert effect.significant and effect.high < 0
    assert effect.p_value < 0.001
    assert abs(effect.relative + 0.20) < 0.03
    assert 0 < effect.high - effect.low < 0.1
    assert (result.n_pre, result.n_post) == (104, 52)
    assert effect.absolute is not None and effect.absolute < 0


def test_its_frame_holds_the_counterfactual_and_its_band() -> None:
    series, start = weekly_series(1, effect=-0.20)

    result = interrupted_time_series(series, start)

    frame = result.frame
    assert list(frame.columns) == [
        "period", "observed", "fitted", "counterfactual", "cf_low", "cf_high", "post",
    ]  # fmt: skip
    assert frame["post"].sum() == 52 and frame["period"].iloc[104] == start
    pre, post = frame[~frame["post"]], frame[frame["post"]]
    np.testing.assert_allclose(pre["fitted"], pre["counterfactual"])
    assert (frame["cf_low"] < frame["counterfactual"]).all()
    assert (frame["counterfactual"] < frame["cf_high"]).all()
    gap = (post["fitted"] - post["counterfactual"]).mean()
    assert result.effect.relative == pytest.approx(gap / post["counterfactual"].mean())
    assert result.effect.absolute == pytest.approx(gap)
    assert "4 lags" in result.method and "delta method" in result.method


def test_its_skips_missing_weeks_and_says_so() -> None:
    series, start = weekly_series(1, effect=-0.20)
    series.iloc[[5, 6, 7, 60, 61, 120]] = np.nan
    gappy = series.drop(series.index[[30, 31, 90, 140]])

    result = interrupted_time_series(gappy, start)

    assert (result.n_pre, result.n_post) == (104 - 8, 52 - 2)
    assert contains(result.effect.low, result.effect.high, -0.20)
    assert "10 missing periods are skipped" in result.method


def test_its_without_a_change_finds_none() -> None:
    series, start = weekly_series(2, effect=0.0)

    effect = interrupted_time_series(series, start).effect

    assert contains(effect.low, effect.high, 0.0)
    assert not effect.significant
    assert effect.p_value > 0.05
    assert effect.high - effect.low > 0.01


def test_its_hac_intervals_widen_under_autocorrelated_errors() -> None:
    """Naive OLS treats autocorrelated weeks as independent and its interval is too narrow."""
    series, start = weekly_series(3, autocorrelation=0.7, seasonal=False)

    result = interrupted_time_series(series, start, seasonality="none")

    week = np.arange(len(series), dtype=float)
    post = (series.index >= start).astype(float)
    design = np.column_stack([np.ones_like(week), week, post, (week - 104) * post])
    naive_low, naive_high = sm.OLS(series.to_numpy(), design).fit().conf_int()[2]
    hac_low, hac_high = result.level_change_ci
    assert result.level_change == pytest.approx((naive_low + naive_high) / 2)
    assert hac_high - hac_low > 1.3 * (naive_high - naive_low)


def test_its_measures_the_rate_when_given_an_exposure() -> None:
    """Eligible calls rise 30 % at the start and arrests with them: the rate does not change."""
    rng = np.random.default_rng(4)
    periods = pd.date_range("2021-01-04", periods=156, freq="W-MON")
    start = periods[104]
    calls = rng.poisson(np.where(periods >= start, 260, 200))
    arrests = pd.Series(rng.poisson(0.3 * calls), index=periods)
    exposure = pd.Series(calls, index=periods)

    counts = interrupted_time_series(arrests, start, seasonality="none").effect
    rate = interrupted_time_series(arrests, start, seasonality="none", exposure=exposure)

    assert counts.low > 0.15
    assert contains(rate.effect.low, rate.effect.high, 0.0)
    assert rate.frame["observed"].mean() == pytest.approx(0.3, abs=0.02)
    assert "weighted by exposure" in rate.method


def test_its_recovers_an_effect_in_a_monthly_series_with_month_indicators() -> None:
    rng = np.random.default_rng(5)
    periods = pd.date_range("2019-01-01", periods=60, freq="MS")
    month_effect = 3 * np.array([0, -3, 2, 5, 8, 10, 12, 9, 4, 1, -2, -5])[periods.month - 1]
    baseline = 200 + 0.5 * np.arange(60) + month_effect
    after = periods >= periods[36]
    series = pd.Series(baseline * np.where(after, 0.75, 1) + rng.normal(0, 5, 60), periods)

    result = interrupted_time_series(series, periods[36], seasonality="month")

    assert contains(result.effect.low, result.effect.high, -0.25)
    assert result.effect.high < 0
    residuals = result.frame["observed"] - result.frame["fitted"]
    assert residuals.std() < 5
    assert "monthly" in result.method and "month-of-year" in result.method


def test_its_counts_a_slope_change_in_the_effect() -> None:
    """From the start the series falls 0.3 a week more steeply; its level does not jump."""
    series, start = weekly_series(13, seasonal=False)
    weeks_since = np.maximum(np.arange(156) - 104, 0)
    series = series - 0.3 * weeks_since
    projected = 60 + 0.05 * np.arange(104, 156)
    truth = -0.3 * weeks_since[104:].mean() / projected.mean()

    result = interrupted_time_series(series, start, seasonality="none")

    assert contains(*result.slope_change_ci, -0.3)
    assert contains(*result.level_change_ci, 0.0)
    assert contains(result.effect.low, result.effect.high, truth)
    assert result.effect.high < 0


def test_its_intervals_cover_the_truth_at_their_stated_level() -> None:
    """Across 200 simulated series, the 95 % interval holds the true -10 % about 95 % of the
    time (HAC is a little liberal in short series, hence the lower bound of 88 %)."""
    covered = 0
    for seed in range(200):
        series, start = weekly_series(
            100 + seed, effect=-0.10, weeks=104, start_week=52, seasonal=False
        )
        effect = interrupted_time_series(series, start, seasonality="none").effect
        covered += effect.low < -0.10 < effect.high
    assert 0.88 <= covered / 200 <= 0.99


@pytest.mark.parametrize(
    ("weeks", "start_week", "values", "message"),
    [
        (60, 7, None, "7 before"),
        (60, 53, None, "7 after"),
        (60, 30, "constant", "constant"),
        (60, 30, "missing", "no values"),
        (40, 20, None, "at least a year"),
    ],
)
def test_its_refuses_data_it_cannot_evaluate(
    weeks: int, start_week: int, values: str | None, message: str
) -> None:
    series, _ = weekly_series(6, weeks=weeks, start_week=start_week)
    if values == "constant":
        series[:] = 5.0
    elif values == "missing":
        series[:] = np.nan

    with pytest.raises(ValueError, match=message):
        interrupted_time_series(series, series.index[start_week])


@pytest.fixture(scope="module")
def program_beats() -> DidResult:
    """40 beats x 150 weeks, a -30 % effect, parallel trends. At 99 % so that a dozen event-
    study bins, each checked against its truth, rarely fail by chance."""
    panel, start = beat_weeks(7)
    return difference_in_differences(panel, start, alpha=0.01)


def test_did_recovers_the_effect(program_beats: DidResult) -> None:
    effect = program_beats.effect

    assert contains(effect.low, effect.high, -0.30)
    assert effect.high < 0 and effect.p_value < 0.001
    assert abs(effect.relative + 0.30) < 0.05
    assert effect.level == 0.99 and effect.absolute is None
    assert (program_beats.n_treated, program_beats.n_comparison) == (20, 20)


def test_did_parallel_trends_pass_the_pre_trend_test(program_beats: DidResult) -> None:
    assert program_beats.pre_trend_p > 0.05


def test_did_event_study_is_flat_before_and_shows_the_effect_after(
    program_beats: DidResult,
) -> None:
    events = program_beats.events.set_index("relative_period")

    assert list(events.index) == list(range(-8, 4))
    assert events.loc[-1, "estimate"] == 0 and math.isnan(events.loc[-1, "low"])
    before, after = events.loc[:-2], events.loc[0:]
    assert ((before["low"] < 0) & (before["high"] > 0)).all()
    assert ((after["low"] < -0.30) & (after["high"] > -0.30)).all()
    assert (after["high"] < 0).all()


def test_did_pre_trend_test_catches_diverging_program_beats() -> None:
    panel, start = beat_weeks(8, units=20, weeks=91, start_week=65, pre_trend=0.005)

    result = difference_in_differences(panel, start)

    assert result.pre_trend_p < 0.01
    before = result.events[result.events["relative_period"] < -1]
    assert (before["estimate"] < 0).all()


def test_did_intervals_widen_when_weeks_within_a_beat_are_correlated() -> None:
    """Beat-level shocks that persist for weeks make a naive Poisson interval far too narrow;
    clustering by beat does not."""
    panel, start = beat_weeks(11, units=20, weeks=91, start_week=65)
    rng = np.random.default_rng(12)
    shocks = np.zeros((20, 91))
    for week in range(1, 91):
        shocks[:, week] = 0.9 * shocks[:, week - 1] + rng.normal(0, 0.1, 20)
    panel["events"] = rng.poisson(panel["events"] * np.exp(shocks.ravel()))

    result = difference_in_differences(panel, start)

    after = (panel["treated"] & (panel["period"] >= start)).astype(float)
    design = pd.get_dummies(panel[["unit"]].astype(str), drop_first=True, dtype=float)
    weeks = pd.get_dummies(panel["period"].astype(str), drop_first=True, dtype=float)
    design = sm.add_constant(pd.concat([design, weeks], axis=1).assign(after=after))
    naive = sm.GLM(
        panel["events"], design, family=sm.families.Poisson(), offset=np.log(panel["exposure"])
    ).fit()
    naive_low, naive_high = naive.conf_int().loc["after"]
    assert math.log1p(result.effect.relative) == pytest.approx(naive.params["after"])
    width = math.log1p(result.effect.high) - math.log1p(result.effect.low)
    assert width > 1.5 * (naive_high - naive_low)


def test_did_leaves_out_beats_without_events_and_weeks_without_calls() -> None:
    panel, start = beat_weeks(9, units=12, weeks=60, start_week=40)
    panel.loc[panel["unit"] == "beat 11", "events"] = 0
    panel.loc[panel["unit"] == "beat 10", "exposure"] = 0

    result = difference_in_differences(panel, start, event_bins="month")

    assert (result.n_treated, result.n_comparison) == (6, 4)
    assert "no events, which under fixed effects carry no information: 1 unit." in result.method
    assert "4-week bins" in result.method
    assert result.events["relative_period"].min() == -10


def no_comparison_beats(panel: pd.DataFrame) -> pd.DataFrame:
    return panel.assign(treated=True)


def no_arrests(panel: pd.DataFrame) -> pd.DataFrame:
    return panel.assign(events=0)


def program_starts_in_a_later_week(panel: pd.DataFrame) -> pd.DataFrame:
    return panel.assign(treated=panel["treated"] & (panel["period"] < "2022-02-14"))


def panel_ends_before_the_start(panel: pd.DataFrame) -> pd.DataFrame:
    return panel[panel["period"] < "2022-03-14"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (no_comparison_beats, "no comparison units"),
        (no_arrests, "zero in every row"),
        (program_starts_in_a_later_week, "same in every row of a unit"),
        (panel_ends_before_the_start, "both before and after"),
    ],
)
def test_did_refuses_a_panel_it_cannot_evaluate(
    change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    panel, start = beat_weeks(10, units=4, weeks=20, start_week=10)
    assert start == pd.Timestamp("2022-03-14")

    with pytest.raises(ValueError, match=message):
        difference_in_differences(change(panel), start)


def response_times(seed: int, n: int, mean: float) -> np.ndarray:
    """Right-skewed response times in seconds (gamma, coefficient of variation 0.5)."""
    return np.random.default_rng(seed).gamma(4, mean / 4, n)


def test_equivalence_is_shown_when_the_mean_does_not_move() -> None:
    before, after = response_times(11, 4000, 600), response_times(12, 3000, 600)

    result = equivalence(before, after, margin=0.10)

    assert result.equivalent and result.p_value < 0.001
    assert result.margin == pytest.approx(0.10 * before.mean())
    assert -result.margin < result.ci[0] < result.difference < result.ci[1] < result.margin
    assert (result.n_before, result.n_after, result.level) == (4000, 3000, pytest.approx(0.9))


def test_equivalence_is_not_shown_when_the_mean_rises_20_percent() -> None:
    before, after = response_times(13, 4000, 600), response_times(14, 3000, 720)

    result = equivalence(before, after, margin=0.10)

    assert not result.equivalent and result.p_value > 0.5
    assert result.relative == pytest.approx(0.20, abs=0.03)
    assert result.ci[1] > result.margin


def test_equivalence_interval_is_the_welch_interval_at_twice_alpha() -> None:
    before, after = response_times(15, 500, 600), response_times(16, 300, 650)

    result = equivalence(before, after, alpha=0.05)

    var_before, var_after = before.var(ddof=1) / 500, after.var(ddof=1) / 300
    df = (var_before + var_after) ** 2 / (var_before**2 / 499 + var_after**2 / 299)
    half = stats.t.ppf(0.95, df) * math.sqrt(var_before + var_after)
    difference = after.mean() - before.mean()
    assert result.ci == pytest.approx((difference - half, difference + half))


def test_equivalence_refuses_a_single_value() -> None:
    with pytest.raises(ValueError, match="at least two values"):
        equivalence([600.0], [590.0, 610.0])


@pytest.mark.parametrize(
    ("effect", "expected"),
    [
        (
            Effect(-0.31, -0.39, -0.22, 0.0001, 0.95),
            "Arrests on eligible calls fell 31% (95% CI 22% to 39%) relative to comparison beats.",
        ),
        (
            Effect(0.12, 0.03, 0.21, 0.01, 0.95),
            "Arrests on eligible calls rose 12% (95% CI 3% to 21%) relative to comparison beats.",
        ),
        (
            Effect(-0.04, -0.12, 0.05, 0.4, 0.95),
            "Arrests on eligible calls changed by -4% (95% CI -12% to +5%) relative to "
            "comparison beats, which is not a statistically significant change.",
        ),
        (
            Effect(-0.032, -0.053, -0.011, 0.004, 0.9),
            "Arrests on eligible calls fell 3.2% (90% CI 1.1% to 5.3%) relative to comparison "
            "beats.",
        ),
    ],
)
def test_describe_says_what_changed(effect: Effect, expected: str) -> None:
    assert describe("Arrests on eligible calls", effect, versus="comparison beats") == expected


def test_describe_adds_the_absolute_change_when_there_is_one() -> None:
    effect = Effect(-0.21, -0.26, -0.16, 0.0001, 0.95, absolute=-4.13)

    sentence = describe("Arrests", effect, unit_word="arrests per week")

    assert sentence == "Arrests fell 21% (95% CI 16% to 26%), down 4.1 arrests per week on average."


def equivalence_result(
    difference: float, ci: tuple[float, float], *, equivalent: bool, p_value: float
) -> EquivalenceResult:
    return EquivalenceResult(
        equivalent=equivalent,
        p_value=p_value,
        difference=difference,
        relative=difference / 610,
        ci=ci,
        margin=61.0,
        relative_margin=0.10,
        level=0.90,
        n_before=5000,
        n_after=4000,
        method="TOST",
    )


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            equivalence_result(-12.3, (-20.4, 4.2), equivalent=True, p_value=0.0004),
            "Priority-1 response time did not get worse: after the start it was 12 seconds "
            "faster on average (90% CI 20 faster to 4 slower), within the ±10% margin of 61 "
            "seconds (TOST p < 0.001).",
        ),
        (
            equivalence_result(40.2, (15.0, 65.4), equivalent=False, p_value=0.41),
            "Priority-1 response time: equivalence was not shown. After the start it was 40 "
            "seconds slower on average (90% CI 15 to 65 slower); the interval crosses the ±10% "
            "margin of 61 seconds on the slower side, so becoming slower by more than the "
            "margin cannot be ruled out (TOST p = 0.41).",
        ),
        (
            equivalence_result(-90.0, (-110.0, -70.0), equivalent=False, p_value=0.99),
            "Priority-1 response time: equivalence was not shown. After the start it was 90 "
            "seconds faster on average (90% CI 70 to 110 faster); the whole interval lies "
            "beyond the ±10% margin of 61 seconds: it became faster by more than that "
            "(TOST p = 0.99).",
        ),
    ],
)
def test_describe_equivalence_says_whether_it_stayed_within_the_margin(
    result: EquivalenceResult, expected: str
) -> None:
    assert describe_equivalence("Priority-1 response time", result) == expected
