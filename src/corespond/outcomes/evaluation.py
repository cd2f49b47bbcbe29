"""What did the program change? Interrupted time series, difference-in-differences and TOST.

Pure functions over pandas data; statsmodels does the statistics. Each estimate carries an
:class:`Effect` (a relative change with its confidence interval) and a ``method`` sentence
naming the model, so a report can quote both; ``wording`` turns results into sentences a council
member can read.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttost_ind
from statsmodels.tools.sm_exceptions import ConvergenceWarning, ValueWarning

from corespond.outcomes.wording import percent_text

Seasonality = Literal["none", "month", "week_of_year"]
EventBins = Literal["quarter", "month"]

MIN_PERIODS = 8
"""Fewest periods before and after the start an interrupted time series accepts."""
MIN_RESIDUAL_DF = 8
"""Fewest residual degrees of freedom: the HAC variance estimates autocovariances from them."""
FOURIER_PAIRS = 3
"""Sine/cosine pairs of the annual cycle for ``seasonality="week_of_year"``."""
MIN_EVENTS = 5
"""Events a difference-in-differences needs in each group (program, comparison) before and after
the start: with fewer, a Poisson estimate runs off to ±100% (no event at all) or is all noise."""
BIN_WEEKS = {"quarter": 13, "month": 4}
"""Weeks per event-study bin."""
_PERIODS_PER_YEAR = {"week": 52, "month": 12}


@dataclass(frozen=True, slots=True)
class Effect:
    """A relative change with its confidence interval, e.g. -0.31 (-0.39, -0.22).

    ``relative`` -0.31 means the metric fell 31 %; ``low`` and ``high`` bound it at
    ``level`` confidence. ``absolute`` is the same change in the metric's units where that
    means something (the mean post-period gap of an interrupted time series), else None.
    """

    relative: float
    low: float
    high: float
    p_value: float
    level: float
    absolute: float | None = None

    @property
    def significant(self) -> bool:
        """Whether the confidence interval excludes no change."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class ItsResult:
    """An interrupted time series: the effect, its level and slope changes, and the series.

    ``frame`` has one row per period: ``period``, ``observed``, ``fitted``,
    ``counterfactual`` (the fit without the post-start terms), ``cf_low`` and ``cf_high``
    (that prediction's confidence band) and ``post``. With an exposure, values are rates.
    """

    effect: Effect
    level_change: float
    level_change_ci: tuple[float, float]
    slope_change: float
    slope_change_ci: tuple[float, float]
    frame: pd.DataFrame
    n_pre: int
    n_post: int
    method: str


@dataclass(frozen=True)
class DidResult:
    """A difference-in-differences estimate, its event study and the parallel-trends check.

    ``events`` has one row per bin of periods relative to the start: ``relative_period``,
    ``estimate`` (a relative change), ``low`` and ``high``. The reference bin, the last one
    before the start (-1 unless periods are too far apart to have one there), is included
    with estimate 0 and NaN bounds. ``pre_trend_p`` is NaN when no bin precedes it.
    """

    effect: Effect
    events: pd.DataFrame
    pre_trend_p: float
    n_treated: int
    n_comparison: int
    method: str


@dataclass(frozen=True)
class EquivalenceResult:
    """A two one-sided tests (TOST) equivalence check of after against before.

    ``ci`` is the (1 - 2 alpha) interval of ``difference`` (after minus before), the one
    TOST corresponds to: equivalence holds exactly when it lies inside ±``margin``.
    ``margin`` is in the data's units, ``relative_margin`` the fraction of the mean before it
    was set from, and ``level`` the interval's confidence level.
    """

    equivalent: bool
    p_value: float
    difference: float
    relative: float
    ci: tuple[float, float]
    margin: float
    relative_margin: float
    level: float
    n_before: int
    n_after: int
    method: str


def interrupted_time_series(
    series: pd.Series,
    start: Any,
    *,
    seasonality: Seasonality = "week_of_year",
    alpha: float = 0.05,
    exposure: pd.Series | None = None,
) -> ItsResult:
    """Segmented regression of a weekly or monthly series around the program's start.

    Fits ``y = b0 + b1 t + b2 post + b3 (t - t0) post + seasonal terms`` by OLS with
    Newey-West (HAC) standard errors, lag ``floor(4 (n/100)^(2/9))``; ``t0`` is the first
    period on or after ``start``. Seasonal terms are three annual Fourier pairs
    (``"week_of_year"``), month-of-year indicators (``"month"``) or none. With ``exposure``
    (e.g. eligible calls per period) the series is divided by it and the fit is weighted by
    it, so the effect is on the rate. The counterfactual is the fit without the post
    terms; the effect is the mean post-period gap between fit and counterfactual relative
    to the mean counterfactual, its interval from the delta method on that ratio.

    Args:
        series: values indexed by period start (sorted Timestamps; gaps and NaN allowed).
        start: the program's start; periods starting on or after it are post.
        seasonality: ``"week_of_year"``, ``"month"`` or ``"none"``.
        alpha: one minus the confidence level.
        exposure: the denominator per period, indexed like ``series``; periods without a
            positive exposure are left out.

    Raises:
        ValueError: fewer than 8 periods before or after the start, constant or missing
            data, less than a year of data with seasonality, or too few periods for the
            model.

    Example:
        >>> result = interrupted_time_series(weekly_arrests, "2024-03-04")  # doctest: +SKIP
        >>> result.effect.relative, result.effect.low, result.effect.high  # doctest: +SKIP
        (-0.21, -0.26, -0.16)
    """
    _check_alpha(alpha)
    if seasonality not in ("none", "month", "week_of_year"):
        raise ValueError(f"seasonality must be none, month or week_of_year, not {seasonality!r}")
    values, weights = _its_values(series, exposure)
    index = pd.DatetimeIndex(values.index)
    start_at = _timestamp(start, index)
    frequency = _frequency(index)
    time = _period_numbers(index, frequency)
    post = np.asarray(index >= start_at)
    n_pre, n_post = int((~post).sum()), int(post.sum())
    if n_pre < MIN_PERIODS or n_post < MIN_PERIODS:
        raise ValueError(
            f"an interrupted time series needs at least {MIN_PERIODS} periods before and "
            f"{MIN_PERIODS} after the start; this series has {n_pre} before and {n_post} after"
        )
    if seasonality != "none" and time[-1] - time[0] + 1 < _PERIODS_PER_YEAR[frequency]:
        raise ValueError(
            "seasonal terms need at least a year of data to be told apart from the trend; "
            'pass seasonality="none" for a shorter series'
        )

    since_start = np.where(post, time - time[post][0], 0.0)
    design = np.column_stack(
        [
            np.ones(len(time)),
            time,
            post.astype(float),
            since_start,
            _seasonal_terms(index, seasonality),
        ]
    )
    n, k = design.shape
    if np.linalg.matrix_rank(design) < k or n - k < MIN_RESIDUAL_DF:
        raise ValueError(
            f"too few periods ({n}) for a model with {k} terms; use fewer seasonal terms "
            '(seasonality="none") or a longer series'
        )
    lags = math.floor(4 * (n / 100) ** (2 / 9))
    y = values.to_numpy(float)
    model = sm.OLS(y, design) if weights is None else sm.WLS(y, design, weights=weights)
    fit = model.fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    params = np.asarray(fit.params)
    covariance = np.asarray(fit.cov_params())
    critical = float(stats.t.ppf(1 - alpha / 2, fit.df_resid))

    counterfactual_design = design.copy()
    counterfactual_design[:, 2:4] = 0.0
    fitted = design @ params
    counterfactual = counterfactual_design @ params
    counterfactual_se = np.sqrt(
        np.einsum("ij,jk,ik->i", counterfactual_design, covariance, counterfactual_design)
    )

    gap_weights = (design - counterfactual_design)[post].mean(axis=0)
    baseline_weights = counterfactual_design[post].mean(axis=0)
    gap, baseline = float(gap_weights @ params), float(baseline_weights @ params)
    if baseline <= 0:
        raise ValueError(
            "the projected (counterfactual) mean after the start is not positive, so a "
            "relative change means nothing; look at the level and slope changes instead"
        )
    relative = gap / baseline
    gradient = gap_weights / baseline - baseline_weights * gap / baseline**2
    relative_se = math.sqrt(float(gradient @ covariance @ gradient))
    if not relative_se > 0:
        raise ValueError("the model fits the series exactly: there is no noise to measure")
    effect = Effect(
        relative=relative,
        low=relative - critical * relative_se,
        high=relative + critical * relative_se,
        p_value=_two_sided_p(relative / relative_se, fit.df_resid),
        level=1 - alpha,
        absolute=gap,
    )
    bounds = np.asarray(fit.conf_int(alpha))
    frame = pd.DataFrame(
        {
            "period": index,
            "observed": y,
            "fitted": fitted,
            "counterfactual": counterfactual,
            "cf_low": counterfactual - critical * counterfactual_se,
            "cf_high": counterfactual + critical * counterfactual_se,
            "post": post,
        }
    )
    return ItsResult(
        effect=effect,
        level_change=float(params[2]),
        level_change_ci=(float(bounds[2, 0]), float(bounds[2, 1])),
        slope_change=float(params[3]),
        slope_change_ci=(float(bounds[3, 0]), float(bounds[3, 1])),
        frame=frame,
        n_pre=n_pre,
        n_post=n_post,
        method=_its_method(frequency, seasonality, weights is not None, lags, n, time),
    )


def difference_in_differences(
    panel: pd.DataFrame,
    start: Any,
    *,
    outcome: str = "events",
    exposure: str = "exposure",
    unit: str = "unit",
    period: str = "period",
    treated: str = "treated",
    alpha: float = 0.05,
    event_bins: EventBins = "quarter",
) -> DidResult:
    """Two-way fixed-effects Poisson difference-in-differences, with an event study.

    A Poisson regression of ``outcome`` (the Poisson GLM with log link; fitted with
    statsmodels' ``Poisson``) with offset ``log(exposure)``, a fixed effect per unit and
    per period, and treated × post; standard errors clustered by unit, t with (units - 1)
    degrees of freedom. The effect is ``exp(beta) - 1``. The event study refits with
    treated × bins of 13 weeks (``"quarter"``) or 4 weeks (``"month"``) relative to the
    start, the bin just before the start (-1) the reference; ``pre_trend_p`` is the joint F
    test that the earlier bins are all zero. Two-way fixed effects are sound here because
    every treated unit starts at once.

    Rows with zero exposure are dropped, and so are units and periods without a single
    event: under their fixed effects they carry no information about the effect.

    Args:
        panel: one row per (unit, period), e.g. police beat and week start.
        start: the program's start; periods starting on or after it are post.
        outcome, exposure, unit, period, treated: the column names.
        alpha: one minus the confidence level.
        event_bins: ``"quarter"`` or ``"month"``.

    Raises:
        ValueError: a column is missing; no treated or no comparison units; no periods
            before or after the start; an outcome that is all zero, negative or missing.

    Example:
        >>> result = difference_in_differences(beat_weeks, "2024-03-04")  # doctest: +SKIP
        >>> result.effect.relative, result.effect.low, result.effect.high  # doctest: +SKIP
        (-0.31, -0.39, -0.22)
    """
    _check_alpha(alpha)
    if event_bins not in BIN_WEEKS:
        raise ValueError(f"event_bins must be quarter or month, not {event_bins!r}")
    columns = [unit, period, treated, outcome, exposure]
    missing = [name for name in columns if name not in panel.columns]
    if missing:
        raise ValueError(f"the panel has no column {', '.join(map(repr, missing))}")
    data = panel[columns].copy()
    for name in (outcome, exposure):
        values = pd.to_numeric(data[name], errors="coerce")
        if values.isna().any() or (values < 0).any():
            raise ValueError(f"{name!r} must be a number, zero or more, in every row")
        data[name] = values.astype(float)
    data = data[data[exposure] > 0]
    data[period] = pd.to_datetime(data[period])
    data[treated] = data[treated].astype(bool)
    if (data.groupby(unit)[treated].nunique() > 1).any():
        raise ValueError(f"{treated!r} must be the same in every row of a unit")
    start_at = _timestamp(start, pd.DatetimeIndex(data[period]))
    _check_did_groups(data, unit, treated, "")
    post = data[period] >= start_at
    if not post.any() or post.all():
        raise ValueError("the panel needs periods both before and after the start")
    if data[outcome].sum() == 0:
        raise ValueError(f"{outcome!r} is zero in every row: there is nothing to compare")

    kept, dropped_units, dropped_periods = _drop_uninformative(data, outcome, unit, period)
    _check_did_groups(kept, unit, treated, " with at least one event")
    units = pd.factorize(kept[unit])[0]
    periods = pd.factorize(kept[period], sort=True)[0]
    is_treated = kept[treated].to_numpy(bool)
    is_post = np.asarray(kept[period] >= start_at)
    if not is_post.any() or is_post.all():
        raise ValueError(
            "the periods with events must include some before and some after the start"
        )
    y = kept[outcome].to_numpy(float)
    for group, name in ((is_treated, "treated"), (~is_treated, "comparison")):
        if not (group & is_post).any() or not (group & ~is_post).any():
            raise ValueError(f"the {name} units need events both before and after the start")
        for side, when in ((~is_post, "before"), (is_post, "after")):
            events = float(y[group & side].sum())
            if events < MIN_EVENTS:
                raise ValueError(
                    f"too few events to estimate a change: {events:.0f} in the {name} units "
                    f"{when} the start (at least {MIN_EVENTS} are needed in each group and "
                    "period)"
                )
    offset = np.log(kept[exposure].to_numpy(float))
    fixed_effects = _FixedEffects(units, periods, y, offset)

    pooled = fixed_effects.fit(y, (is_treated & is_post)[:, None], offset)
    estimate = float(pooled.params[-1])
    low, high = np.asarray(pooled.conf_int(alpha))[-1]
    effect = Effect(
        relative=math.expm1(estimate),
        low=math.expm1(low),
        high=math.expm1(high),
        p_value=float(pooled.pvalues[-1]),
        level=1 - alpha,
    )

    width = BIN_WEEKS[event_bins]
    weeks = (kept[period] - start_at).dt.days.to_numpy() // 7
    bins = weeks // width
    present = {int(b) for b in bins[is_treated]}
    reference = max(b for b in present if b < 0)
    estimated = sorted(present - {reference})
    indicators = np.column_stack([is_treated & (bins == b) for b in estimated])
    study = fixed_effects.fit(y, indicators, offset)
    events, pre_trend_p, n_leads = _event_table(study, estimated, reference, alpha)

    n_units = int(units.max()) + 1
    n_treated = int(kept.loc[kept[treated], unit].nunique())
    return DidResult(
        effect=effect,
        events=events,
        pre_trend_p=pre_trend_p,
        n_treated=n_treated,
        n_comparison=n_units - n_treated,
        method=_did_method(
            outcome,
            exposure,
            unit,
            period,
            n_units,
            width,
            reference,
            n_leads,
            dropped_units,
            dropped_periods,
        ),
    )


def equivalence(
    before: Any, after: Any, *, margin: float = 0.10, alpha: float = 0.05
) -> EquivalenceResult:
    """Whether the mean after the start is within ±``margin`` (relative) of the mean before.

    Two one-sided Welch t-tests (statsmodels ``ttost_ind``, unequal variances) against
    ±``margin`` × mean(before). A non-significant difference does not show that nothing
    got worse; equivalence does. The margin is computed from the before mean and then
    treated as fixed.

    Args:
        before: values before the start, e.g. priority-1 response times in seconds.
        after: values after the start.
        margin: the relative margin, e.g. 0.10 for ±10 %.
        alpha: each one-sided test's level; the matching interval is (1 - 2 alpha).

    Raises:
        ValueError: fewer than two values in a group, missing values, no variation, a
            margin outside (0, 1) or a before mean that is not positive.

    Example:
        >>> result = equivalence(p1_before, p1_after, margin=0.10)  # doctest: +SKIP
        >>> result.equivalent, result.ci  # doctest: +SKIP
        (True, (-20.1, 3.9))
    """
    _check_alpha(alpha)
    if not 0 < margin < 1:
        raise ValueError(f"margin is relative and must be between 0 and 1, not {margin}")
    first, second = _sample(before, "before"), _sample(after, "after")
    mean_before = float(first.mean())
    if mean_before <= 0:
        raise ValueError("the mean before the start must be positive to set a relative margin")
    if first.var() == 0 and second.var() == 0:
        raise ValueError("the values do not vary; there is nothing to test")
    bound = margin * mean_before
    p_value = float(ttost_ind(second, first, -bound, bound, usevar="unequal")[0])
    compared = CompareMeans(DescrStatsW(second), DescrStatsW(first))
    low, high = compared.tconfint_diff(alpha=2 * alpha, usevar="unequal")
    difference = float(second.mean()) - mean_before
    return EquivalenceResult(
        equivalent=p_value < alpha,
        p_value=p_value,
        difference=difference,
        relative=difference / mean_before,
        ci=(float(low), float(high)),
        margin=bound,
        relative_margin=margin,
        level=1 - 2 * alpha,
        n_before=len(first),
        n_after=len(second),
        method=(
            f"Two one-sided Welch t-tests (TOST, unequal variances, alpha {alpha:g} each) of "
            f"mean(after) - mean(before) against ±{percent_text(margin)} of the mean "
            f"before ({bound:.4g}); the {percent_text(1 - 2 * alpha)} confidence interval "
            "is the one TOST corresponds to."
        ),
    )


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be between 0 and 0.5, not {alpha}")


def _timestamp(value: Any, index: pd.DatetimeIndex) -> pd.Timestamp:
    """``value`` as a Timestamp comparable with ``index`` (same time zone, if any)."""
    stamp = pd.Timestamp(value)
    if index.tz is not None and stamp.tzinfo is None:
        return stamp.tz_localize(index.tz)
    return stamp


def _its_values(series: pd.Series, exposure: pd.Series | None) -> tuple[pd.Series, Any]:
    """The values to model (rates when there is an exposure) and the weights, without gaps."""
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError("the series must be indexed by period start (Timestamps)")
    if series.index.has_duplicates or not series.index.is_monotonic_increasing:
        raise ValueError("the series' periods must be sorted and each appear once")
    values = pd.to_numeric(series, errors="coerce").astype(float)
    weights = None
    if exposure is not None:
        aligned = pd.to_numeric(exposure.reindex(series.index), errors="coerce").astype(float)
        usable = aligned > 0
        values = values[usable] / aligned[usable]
        weights = aligned[usable]
    kept = values.notna() & np.isfinite(values)
    values = values[kept]
    if values.empty:
        raise ValueError("the series has no values")
    if values.nunique() < 2:
        raise ValueError("the series is constant; there is no change to estimate")
    return values, None if weights is None else weights[kept].to_numpy(float)


def _frequency(index: pd.DatetimeIndex) -> Literal["week", "month"]:
    if len(index) < 2:
        raise ValueError("the series needs more than one period")
    days = float(np.median((index[1:] - index[:-1]).days))
    if 6 <= days <= 8:
        return "week"
    if 27 <= days <= 32:
        return "month"
    raise ValueError(f"periods must be weeks or months; these are {days:g} days apart")


def _period_numbers(index: pd.DatetimeIndex, frequency: str) -> Any:
    """Periods since the first, counting gaps, as floats."""
    if frequency == "week":
        return np.round((index - index[0]).days.to_numpy() / 7).astype(float)
    months = index.year.to_numpy() * 12 + index.month.to_numpy()
    return (months - months[0]).astype(float)


def _seasonal_terms(index: pd.DatetimeIndex, seasonality: str) -> Any:
    if seasonality == "none":
        return np.empty((len(index), 0))
    if seasonality == "month":
        month = index.month.to_numpy()
        return np.column_stack([month == m for m in range(2, 13)]).astype(float)
    angle = 2 * np.pi * (index.day_of_year.to_numpy() - 1) / 365.25
    return np.column_stack(
        [f(k * angle) for k in range(1, FOURIER_PAIRS + 1) for f in (np.sin, np.cos)]
    )


def _two_sided_p(statistic: float, df: float) -> float:
    return float(2 * stats.t.sf(abs(statistic), df))


def _its_method(
    frequency: str, seasonality: str, weighted: bool, lags: int, n: int, time: Any
) -> str:
    subject = (
        f"the {frequency}ly rate per unit of exposure, weighted by exposure,"
        if weighted
        else f"the {frequency}ly values"
    )
    seasonal = {
        "none": "no seasonal terms",
        "month": "month-of-year indicators for seasonality",
        "week_of_year": f"{FOURIER_PAIRS} annual Fourier pairs (week of year) for seasonality",
    }[seasonality]
    estimator = "weighted least-squares" if weighted else "OLS"
    lag_word = "lag" if lags == 1 else "lags"
    gaps = int(time[-1] - time[0] + 1) - n
    gap_note = (
        f"; {gaps} missing periods are skipped and HAC treats their neighbours as adjacent"
        if gaps
        else ""
    )
    return (
        f"Segmented {estimator} regression of {subject} on time, a level change and a slope "
        f"change at the start, with {seasonal}; Newey-West (HAC) standard errors with {lags} "
        f"{lag_word} "
        f"(floor(4(n/100)^(2/9)), n = {n}){gap_note}. The effect is the mean post-start gap "
        "between the fit and the counterfactual (the fit without the start's terms) divided "
        "by the mean counterfactual; its interval uses the delta method on that ratio, so the "
        "uncertainty of the counterfactual mean is included."
    )


def _check_did_groups(data: pd.DataFrame, unit: str, treated: str, which: str) -> None:
    flags = data.groupby(unit)[treated].first()
    if not flags.any():
        raise ValueError(f"the panel has no treated units{which}")
    if flags.all():
        raise ValueError(f"the panel has no comparison units{which}")


def _drop_uninformative(
    data: pd.DataFrame, outcome: str, unit: str, period: str
) -> tuple[pd.DataFrame, int, int]:
    """Without units and periods that have no events (repeatedly: dropping one can empty
    another); returns how many units and periods went."""
    kept = data
    while True:
        unit_totals = kept.groupby(unit)[outcome].transform("sum")
        period_totals = kept.groupby(period)[outcome].transform("sum")
        informative = (unit_totals > 0) & (period_totals > 0)
        if informative.all():
            break
        kept = kept[informative]
    dropped_units = data[unit].nunique() - kept[unit].nunique()
    dropped_periods = data[period].nunique() - kept[period].nunique()
    return kept, dropped_units, dropped_periods


class _FixedEffects:
    """Unit and period fixed effects for a Poisson regression, and where to start fitting.

    statsmodels' ``Poisson`` gives the same estimates and cluster-robust errors as a Poisson
    ``GLM``, but by Newton's method on matrices the size of the coefficients, where the
    GLM's IRLS and rank check decompose the whole panel's design at each step (seconds for
    40 units x 150 weeks). From each unit's and period's own rate it takes a few steps; if
    it does not converge, the GLM's IRLS fits instead.
    """

    def __init__(self, units: Any, periods: Any, y: Any, offset: Any) -> None:
        n_units, n_periods = int(units.max()) + 1, int(periods.max()) + 1
        rows = np.arange(len(units))
        self.design = np.zeros((len(units), n_units + n_periods - 1))
        self.design[:, 0] = 1.0
        self.design[rows[units > 0], units[units > 0]] = 1.0
        self.design[rows[periods > 0], n_units - 1 + periods[periods > 0]] = 1.0
        exposure = np.exp(offset)
        unit_rates = np.log(np.bincount(units, y) / np.bincount(units, exposure))
        period_rates = np.log(np.bincount(periods, y) / np.bincount(periods, exposure))
        overall = math.log(y.sum() / exposure.sum())
        self.start = np.concatenate(
            [
                [unit_rates[0] + period_rates[0] - overall],
                unit_rates[1:] - unit_rates[0],
                period_rates[1:] - period_rates[0],
            ]
        )
        self.clusters = units

    def fit(self, y: Any, regressors: Any, offset: Any) -> Any:
        """Poisson regression of ``y`` on the fixed effects and ``regressors`` (whose
        coefficients come last), clustered by unit."""
        design = np.column_stack([self.design, regressors]).astype(float)
        if np.linalg.matrix_rank(design.T @ design) < design.shape[1]:
            raise ValueError(
                "the model cannot be estimated from this panel: some periods or event-study "
                "bins have only treated or only comparison units"
            )
        start = np.concatenate([self.start, np.zeros(design.shape[1] - len(self.start))])
        robust = {"cov_type": "cluster", "cov_kwds": {"groups": self.clusters}, "use_t": True}
        # The rank is checked above on the small cross-product matrix.
        model = sm.Poisson(y, design, offset=offset, check_rank=False)
        with warnings.catch_warnings():
            # Convergence is checked below, and answered with the GLM's own fit.
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = model.fit(method="newton", start_params=start, disp=False, **robust)
            if not result.mle_retvals["converged"]:
                glm = sm.GLM(y, design, family=sm.families.Poisson(), offset=offset)
                result = glm.fit(**robust)
                if not result.converged:
                    raise ValueError(
                        "the Poisson regression did not converge: too few events in some "
                        "periods or groups to estimate"
                    )
        return result


def _event_table(
    study: Any, estimated: list[int], reference: int, alpha: float
) -> tuple[pd.DataFrame, float, int]:
    """Event-study rows (the reference bin included) and the pre-trend F test's p-value."""
    first = len(study.params) - len(estimated)
    coefficients = np.asarray(study.params)[first:]
    bounds = np.asarray(study.conf_int(alpha))[first:]
    rows = [
        (b, math.expm1(c), math.expm1(lo), math.expm1(hi))
        for b, c, (lo, hi) in zip(estimated, coefficients, bounds, strict=True)
    ]
    rows.append((reference, 0.0, math.nan, math.nan))
    events = pd.DataFrame(rows, columns=["relative_period", "estimate", "low", "high"])
    events = events.sort_values("relative_period", ignore_index=True)
    leads = [first + i for i, b in enumerate(estimated) if b < reference]
    if not leads:
        return events, math.nan, 0
    restrictions = np.zeros((len(leads), len(study.params)))
    restrictions[np.arange(len(leads)), leads] = 1.0
    with warnings.catch_warnings():
        # More leads than clusters can support: statsmodels tests the supported rank.
        warnings.simplefilter("ignore", ValueWarning)
        test = study.wald_test(restrictions, use_f=True, scalar=True)
    return events, float(test.pvalue), len(leads)


def _did_method(
    outcome: str,
    exposure: str,
    unit: str,
    period: str,
    n_units: int,
    width: int,
    reference: int,
    n_leads: int,
    dropped_units: int,
    dropped_periods: int,
) -> str:
    counts = [(dropped_units, unit), (dropped_periods, period)]
    parts = [_count(number, noun) for number, noun in counts if number]
    dropped = (
        f" Left out for having no events, which under fixed effects carry no information: "
        f"{' and '.join(parts)}."
        if parts
        else ""
    )
    pre_trend = (
        f"a joint F test that the {n_leads} earlier bins are zero checks parallel trends"
        if n_leads
        else f"no bins precede bin {reference}, so parallel trends could not be tested"
    )
    return (
        f"Poisson regression (quasi-likelihood) of {outcome} with offset log({exposure}), fixed "
        f"effects for each {unit} and each {period}, and a treated-after-start indicator; the "
        f"effect is exp(coefficient) - 1. Standard errors are clustered by {unit} ({n_units} "
        f"clusters, t with {n_units - 1} degrees of freedom). The event study refits with "
        f"treated × {width}-week bins relative to the start, bin {reference} as reference; "
        f"{pre_trend}.{dropped}"
    )


def _sample(values: Any, name: str) -> Any:
    array = np.asarray(values, dtype=float).ravel()
    if np.isnan(array).any():
        raise ValueError(f"{name} has missing values; drop invalid measurements first")
    if len(array) < 2:
        raise ValueError(f"{name} needs at least two values")
    return array


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
