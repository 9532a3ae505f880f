"""Time-series forecasts with prediction intervals, chosen by rolling-origin backtest.

A series (bookings per week, month or quarter, or anything else) is forecast by several
statsmodels methods and two naive baselines; the method used is the one with the lowest
out-of-sample error over the last few origins, never the best in-sample fit:

============  =================================================================================
method        model (fitted on the seasonally adjusted series when the series has >= 2 cycles)
============  =================================================================================
``naive``     the last value (baseline)
``snaive``    the value one season earlier (baseline; on the raw series)
``es``        Holt's exponential smoothing with damped trend (``ExponentialSmoothing``)
``ets``       ETS(A,Ad,N) state-space model (``ETSModel``), analytic intervals
``sarimax``   ARIMA(0,1,1) with drift (``SARIMAX``, scale concentrated, Nelder-Mead)
``theta``     the Theta method (``ThetaModel``)
``combo``     the mean of es, ets, sarimax and theta (points and interval bounds)
============  =================================================================================

Seasonality (52 per year for weekly data, 12 monthly, 4 quarterly) is removed with STL and put
back by repeating the last estimated cycle. The error measure is MASE: mean absolute error
divided by the in-sample mean absolute error of the seasonal naive forecast (the naive one when
the training series is shorter than two seasons); below 1 beats that in-sample baseline.
A method that does worse than ``snaive`` in the backtest is never chosen over it.

Each model is estimated once, at the first backtest origin; the later origins and the final forecast
re-use its parameters and only filter the longer series (:mod:`funnel_analysis.forecast.methods`),
2-3x faster than estimating every model at every origin on the weekly benchmark, same held-out accuracy.

Many series at once, in parallel processes: :func:`funnel_analysis.forecast.batch.forecast_many`.

Input rules (a ``ValueError`` names the series, the column and the rule): at least
``min_points`` observations and enough for one backtest origin (``too_short``), one value per
period with no period missing (``duplicate``, ``gap``), finite numbers (``not_finite``) and, unless
``allow_negative``, no negative values (``negative``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> ds = pd.date_range("2020-01-05", periods=156, freq="W-SUN")
>>> y = 100 + 0.5 * np.arange(156) + 10 * np.sin(2 * np.pi * np.arange(156) / 52)
>>> res = Forecaster(pd.Series(y, index=ds), period="W", horizon=8, methods=["naive", "snaive", "theta"]).fit()
>>> res.method in ("naive", "snaive", "theta")
True
>>> fc = res.forecast()
>>> len(fc), [c for c in fc.columns if "_ci_" in c]
(8, ['yhat_ci_low_80', 'yhat_ci_high_80', 'yhat_ci_low_95', 'yhat_ci_high_95'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri  # the normal quantile; scipy.stats takes seconds to import in each worker

from .._util.frames import utc_naive as _utc_naive
from .methods import BASELINES, METHODS, MODELS, _fit_methods

__all__ = [
    "Forecaster",
    "ForecastResults",
    "validate_series",
    "regular_start",
    "mase",
    "METHODS",
    "BASELINES",
    "SEASON",
    "CONFIDENCE",
    "WINDOW",
]

#: Seasonal period (points per year) by period code.
SEASON = {"W": 52, "M": 12, "Q": 4}
#: Interval levels (fractions) every forecast carries by default.
CONFIDENCE = (0.8, 0.95)
#: The window of :func:`regular_start` by period code: a quarter (two for a quarterly series).
WINDOW = {"W": 13, "M": 3, "Q": 2}


def _confidences(confidence) -> tuple[float, ...]:
    """``confidence`` (one fraction or several) as a sorted tuple of fractions, checked."""
    levels = (confidence,) if isinstance(confidence, int | float) else tuple(confidence)
    if not levels or any(not 0 < float(c) < 1 for c in levels):
        raise ValueError(f"confidence must be fractions strictly between 0 and 1 (0.8, 0.95), got {confidence!r}")
    return tuple(sorted(float(c) for c in levels))


def _percent(confidence: float) -> str:
    """0.8 -> '80', 0.975 -> '97.5': the suffix of an interval column."""
    return f"{round(confidence * 100, 6):g}"


def _interval_columns(x: str, confidence=CONFIDENCE) -> list[tuple[float, str, str]]:
    """(level, low column, high column) of ``x`` per level, smallest first, as the API convention spells them.

    One fraction gives the bare names ``<x>_ci_low``/``<x>_ci_high``; several give ``<x>_ci_low_80``, ...

    >>> _interval_columns("forecast", (0.95, 0.8))[0]
    (0.8, 'forecast_ci_low_80', 'forecast_ci_high_80')
    >>> _interval_columns("yhat", 0.9)
    [(0.9, 'yhat_ci_low', 'yhat_ci_high')]
    """
    levels = _confidences(confidence)
    several = not isinstance(confidence, int | float)
    return [
        (c, f"{x}_ci_low_{_percent(c)}", f"{x}_ci_high_{_percent(c)}")
        if several
        else (c, f"{x}_ci_low", f"{x}_ci_high")
        for c in levels
    ]


def mase(actual, predicted, train, season: int) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive forecast.

    Parameters
    ----------
    actual, predicted : array-like of float
        The held-out values and their forecasts, one per step.
    train : array-like of float
        The training series the scale is measured on.
    season : int
        Points per season; the naive (lag 1) scale when the training series is not longer.

    Returns
    -------
    float
        0 for a perfect forecast; ``inf`` when the scale is 0 and the errors are not.

    Examples
    --------
    >>> mase([12, 14], [11, 14], train=[1, 2, 3, 4, 5, 6, 7, 8], season=4)
    0.125
    """
    train = np.asarray(train, dtype=float)
    m = season if len(train) > season else 1
    scale = np.mean(np.abs(train[m:] - train[:-m]))
    err = np.mean(np.abs(np.asarray(actual, dtype=float) - np.asarray(predicted, dtype=float)))
    return float(err / scale) if scale > 0 else (0.0 if err == 0 else float("inf"))


def _periods(ds: pd.Series, period: str) -> pd.PeriodIndex:
    """The period of each date (weeks end on Sunday), UTC for time-zone aware dates."""
    return pd.PeriodIndex(_utc_naive(ds), freq={"W": "W-SUN", "M": "M", "Q": "Q"}[period])


def validate_series(
    y,
    ds=None,
    *,
    series_id="series",
    period: str = "M",
    horizon: int = 1,
    min_points: int = 8,
    allow_negative: bool = False,
) -> np.ndarray:
    """Check one series against the input rules; return its values as floats.

    Parameters
    ----------
    y : array-like
        The values, oldest first.
    ds : array-like of dates, optional
        Their dates: one per ``period``, consecutive (checked when given).
    series_id : str
        Named in the error messages.
    period : {"W", "M", "Q"}
        Weeks (ending on Sunday), months or quarters.
    horizon : int
        The forecast horizon: a series needs ``max(min_points, 4) + horizon`` points, the shortest
        training window of the backtest and one horizon held out after it.
    min_points : int, default 8
        The fewest points of that training window.
    allow_negative : bool, default False
        Accept negative values.

    Returns
    -------
    ndarray
        The values as floats.

    Raises
    ------
    ValueError
        Naming ``series_id``, the column and the rule broken.

    Examples
    --------
    >>> validate_series([1, 2, -3, 4, 5, 6, 7, 8, 9], series_id="a")
    Traceback (most recent call last):
    ValueError: series 'a': column 'y' has 1 negative value(s) (rule: negative; first at position 2)
    """
    if period not in SEASON:
        raise ValueError(f"period must be one of {sorted(SEASON)}, got {period!r}")
    values = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"series {series_id!r}: column 'y' has {int(bad.sum())} missing or non-numeric value(s) "
            f"(rule: not_finite; first at position {int(np.argmax(bad))})"
        )
    if not allow_negative and (values < 0).any():
        raise ValueError(
            f"series {series_id!r}: column 'y' has {int((values < 0).sum())} negative value(s) "
            f"(rule: negative; first at position {int(np.argmax(values < 0))})"
        )
    if ds is not None:
        per = _periods(pd.Series(ds).reset_index(drop=True), period)
        if per.isna().any():
            raise ValueError(f"series {series_id!r}: column 'ds' has missing dates (rule: not_finite)")
        if per.has_duplicates:
            raise ValueError(
                f"series {series_id!r}: column 'ds' has two values in period "
                f"{per[per.duplicated()][0]} (rule: duplicate)"
            )
        steps = np.diff(per.asi8) if len(per) > 1 else np.array([1])
        if (steps != 1).any():
            i = int(np.argmax(steps != 1))
            raise ValueError(
                f"series {series_id!r}: column 'ds' is not consecutive {period} periods: "
                f"{per[i]} is followed by {per[i + 1]} (rule: gap; sort by ds and fill missing periods)"
            )
    need = max(min_points, 4) + horizon  # one backtest origin: Forecaster.fit's shortest training window
    if len(values) < need:
        raise ValueError(
            f"series {series_id!r}: column 'y' has {len(values)} points, at least {need} needed "
            f"for a {horizon}-step forecast with a backtest (rule: too_short)"
        )
    return values


def regular_start(series: pd.Series, *, period: str = "M", share: float = 0.2) -> int:
    """Where regular activity starts in a series: the position of its first period worth forecasting from.

    A series whose first periods are a sparse prologue (a few deals imported from an older system, test
    records) is not yet the process being forecast: fitted on it, the methods see a level shift and a run of
    near-empty periods. The rule, on windows of a quarter (13 weeks, 3 months; two quarters for a quarterly
    series, so that a ramp-up quarter followed by a regular one is kept) starting at each period:

    1. a *typical window* is the median of the last four non-overlapping windows that end with the series
       (fewer when the series is shorter): the recent, regular level;
    2. a window is *sparse* when it sums to less than ``share`` of a typical window;
    3. regular activity starts after the last sparse window, at the first period with a non-zero value.

    A window, not a single period, so that the zero weeks or months of a regular small org do not count as
    sparse (the rule "the first period from which every period has bookings" fails on weekly series), and a
    share of the recent level, not a date, so that it adapts to each org. A stretch must be very slow (below a
    fifth of the typical level, a whole window long) to count; one in the middle of regular activity would
    trim everything before it, which is why the result says what was left out.

    Parameters
    ----------
    series : Series
        Non-negative values, oldest first, one per period (the bookings per period).
    period : {"W", "M", "Q"}, default "M"
        The series' period: it sets the window (:data:`WINDOW`: 13, 3 or 2 periods).
    share : float, default 0.2
        A window below this share of a typical window is sparse (strictly between 0 and 1).

    Returns
    -------
    int
        The position (``series.iloc[start:]`` is the regular part); 0 when nothing is sparse before the
        first non-zero value, ``len(series)`` when the series is all zeros.

    Raises
    ------
    ValueError
        An unknown ``period``, a ``share`` outside (0, 1), negative or non-finite values.

    Examples
    --------
    Two stray months, a gap, then regular monthly bookings of about 100:

    >>> y = pd.Series([5.0, 0, 0, 8, 0, 0, 0, 90, 110, 100, 95, 105, 100, 120, 90])
    >>> regular_start(y, period="M")
    7
    >>> regular_start(pd.Series([0.0, 100, 90, 110, 100]), period="M")
    1
    """
    if period not in WINDOW:
        raise ValueError(f"regular_start: period must be one of {sorted(WINDOW)}, got {period!r}")
    if not 0 < float(share) < 1:
        raise ValueError(f"regular_start: share must be strictly between 0 and 1, got {share!r}")
    y = pd.to_numeric(pd.Series(series), errors="coerce").to_numpy(dtype=float)
    if (~np.isfinite(y)).any() or (y < 0).any():
        raise ValueError("regular_start: the series must hold finite values >= 0 (rule: not_finite / negative)")
    nonzero = np.flatnonzero(y > 0)
    if not len(nonzero):
        return len(y)
    w = WINDOW[period]
    if len(y) < w:
        return int(nonzero[0])
    window = np.convolve(y, np.ones(w), mode="valid")  # window[t] = y[t : t + w].sum()
    typical = float(np.median(window[::-1][::w][:4]))  # the last four windows, non-overlapping
    sparse = np.flatnonzero(window < share * typical)
    after = int(sparse[-1]) + 1 if len(sparse) else 0
    later = nonzero[nonzero >= after]
    return int(later[0]) if len(later) else len(y)


@dataclass(kw_only=True)
class ForecastResults:
    """A fitted :class:`Forecaster`: backtest scores, the chosen method, forecasts.

    Attributes
    ----------
    series : Series
        The series fitted, indexed by date.
    period : {"W", "M", "Q"}
        Its period.
    horizon : int
        Steps forecast.
    season : int
        Points per season (:data:`SEASON` of the period).
    method : str
        The method with the lowest backtest MASE (``snaive`` when no method beats it).
    scores : DataFrame
        Per method: ``mase`` (mean over origins), ``mae``, ``bias`` (mean forecast - actual),
        ``coverage_80``, ``coverage_95`` (share of backtest actuals inside the model's own intervals, one
        column per level), ``origins``, ``interval_scale`` (the factor the forecast's intervals are widened
        by: the rms of the backtest errors over the model's standard error, at least 1).
    backtest : DataFrame
        One row per method, origin and step: ``method``, ``origin``, ``step``, ``actual``, ``yhat``,
        ``mase``, ``yhat_ci_low_80``, ``yhat_ci_high_80``, ... (one pair per level).
    nonnegative : bool
        Forecasts and their bounds are clipped at 0.
    confidence : float or tuple of float
        The interval levels (fractions), as given to the :class:`Forecaster`.
    interval_scale : Mapping of str to float
        ``scores["interval_scale"]`` by method.
    params : dict
        The models' estimated parameters, re-used by the final fits.
    """

    series: pd.Series
    period: str
    horizon: int
    season: int
    method: str
    scores: pd.DataFrame
    backtest: pd.DataFrame
    nonnegative: bool
    confidence: float | tuple = CONFIDENCE
    interval_scale: Mapping = field(default_factory=dict)
    params: dict = field(default_factory=dict, repr=False)
    _final: dict = field(default_factory=dict, repr=False, init=False)

    def _final_fit(self, method: str) -> dict:
        """One method on the whole series (with the backtest's parameters), once."""
        if method not in self._final:
            scored = set(self.scores["method"])
            need = [method] if method != "combo" else [k for k in MODELS if k in scored] + ["combo"]
            fits, _ = _fit_methods(
                need,
                self.series.to_numpy(float),
                self.season,
                self.horizon,
                _confidences(self.confidence),
                params=self.params,
            )
            self._final.update(fits)
        return self._final[method]

    def forecast(self, method: str | None = None) -> pd.DataFrame:
        """The forecast after the last observation, one row per step.

        Parameters
        ----------
        method : str, optional
            One of the methods scored; the chosen :attr:`method` when omitted.

        Returns
        -------
        DataFrame
            ``ds``, ``yhat``, then ``yhat_ci_low_80``, ``yhat_ci_high_80``, ``yhat_ci_low_95``,
            ``yhat_ci_high_95`` (one pair per level of :attr:`confidence`), ``method``.
        """
        method = method or self.method
        fc = self._final_fit(method)
        k = self.interval_scale.get(method, 1.0)
        mean = fc["mean"]
        out = pd.DataFrame({"ds": _future_dates(self.series.index[-1], self.period, self.horizon), "yhat": mean})
        columns = _interval_columns("yhat", self.confidence)
        for c, low, high in columns:
            lo, hi = fc["bands"][c]
            out[low], out[high] = mean - k * (mean - lo), mean + k * (hi - mean)
        values = [c for c in out.columns if c != "ds"]
        if self.nonnegative:  # bookings cannot be negative: clip what the normal bands allow
            out[values] = out[values].clip(lower=0)
        # a wider interval must contain the narrower ones, also after clipping and combining
        for (_, low_in, high_in), (_, low, high) in zip(columns[:-1], columns[1:]):
            out[low] = np.minimum(out[low], out[low_in])
            out[high] = np.maximum(out[high], out[high_in])
        return out.assign(method=method)


def _future_dates(last, period: str, h: int) -> pd.DatetimeIndex:
    last = pd.Timestamp(last)
    if period == "W":
        return pd.DatetimeIndex([last + pd.Timedelta(weeks=k) for k in range(1, h + 1)])
    per = pd.Period(last, freq=period)
    at_end = last.normalize() == per.end_time.normalize()  # keep the input's anchor: period start or end
    futures = [per + k for k in range(1, h + 1)]
    return pd.DatetimeIndex([(p.end_time.normalize() if at_end else p.start_time) for p in futures])


@dataclass
class Forecaster:
    """Forecast one series: fit every method at rolling origins, keep the best out of sample.

    Parameters
    ----------
    series : Series
        Values indexed by date (one per period, no gaps), oldest first.
    period : {"W", "M", "Q"}, default "M"
        Weeks (ending on Sunday), months or quarters.
    horizon : int, default 3
        Steps ahead to forecast and to score the backtest on.
    methods : sequence of str, default all of :data:`METHODS`
        Baselines ``naive`` and ``snaive`` are always scored.
    n_origins : int, default 3
        Backtest origins, ``horizon`` steps apart, ending ``horizon`` steps before the last point.
        The models are estimated at the first origin only; the later origins and the final forecast
        re-use those parameters on the longer series (see :mod:`funnel_analysis.forecast.methods`).
    allow_negative : bool, default False
        Accept negative values (and do not clip forecasts at 0).
    series_id : str, optional
        Named in error messages.
    min_points : int, default 8
        The shortest training window of the backtest: a series needs ``min_points + horizon`` points
        (see :func:`validate_series`).
    confidence : float or sequence of float, default (0.8, 0.95)
        Interval levels (fractions) of the forecast and the backtest coverage; one level gives the bare
        columns ``yhat_ci_low``/``yhat_ci_high``, several ``yhat_ci_low_80``, ``yhat_ci_high_80``, ...
    """

    series: pd.Series
    _: KW_ONLY
    period: str = "M"
    horizon: int = 3
    methods: Sequence[str] = METHODS
    n_origins: int = 3
    allow_negative: bool = False
    series_id: str = "series"
    min_points: int = 8
    confidence: float | Sequence[float] = CONFIDENCE

    def fit(self) -> ForecastResults:
        """Backtest every method, choose one.

        Returns
        -------
        ForecastResults
            The scores, the backtest, the chosen method; its :meth:`~ForecastResults.forecast`.

        Raises
        ------
        ValueError
            A series that breaks an input rule, a horizon below 1, an unknown method.
        """
        if not isinstance(self.series, pd.Series):
            raise TypeError(f"Forecaster: series must be a Series indexed by date, got {type(self.series).__name__}")
        h = int(self.horizon)
        if h < 1:
            raise ValueError(f"Forecaster: horizon must be >= 1, got {self.horizon!r}")
        levels = _confidences(self.confidence)
        y = validate_series(
            self.series.to_numpy(),
            self.series.index.to_series(),
            series_id=self.series_id,
            period=self.period,
            horizon=h,
            min_points=self.min_points,
            allow_negative=self.allow_negative,
        )
        m = SEASON[self.period]
        methods = list(dict.fromkeys([*BASELINES, *self.methods]))
        unknown = [k for k in methods if k not in METHODS]
        if unknown:
            raise ValueError(f"Forecaster: unknown method(s) {unknown}; choose from {METHODS}")
        columns = _interval_columns("yhat", self.confidence)
        min_train = max(self.min_points, 4)
        origins = [len(y) - k * h for k in range(max(int(self.n_origins), 1), 0, -1) if len(y) - k * h >= min_train]
        cols, params = {}, None  # column -> list of arrays: one DataFrame at the end (pandas is slow per row)
        for o in origins:
            fits, params = _fit_methods(methods, y[:o], m, h, levels, params=params)
            actual = y[o : o + h]
            n = len(actual)
            for k, f in fits.items():
                mean = f["mean"][:n] if self.allow_negative else np.maximum(f["mean"][:n], 0)
                part = {
                    "method": np.full(n, k, dtype=object),
                    "origin": np.full(n, o),
                    "step": np.arange(1, n + 1),
                    "actual": actual,
                    "yhat": mean,
                    "mase": np.full(n, mase(actual, mean, y[:o], m)),
                }
                for c, low, high in columns:
                    part[low], part[high] = f["bands"][c][0][:n], f["bands"][c][1][:n]
                for c, v in part.items():
                    cols.setdefault(c, []).append(v)
        bt = pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})
        inside = {
            f"in_{_percent(c)}": (bt["actual"] >= bt[low]) & (bt["actual"] <= bt[high]) for c, low, high in columns
        }
        g = bt.assign(err=bt["yhat"] - bt["actual"], abs_err=(bt["yhat"] - bt["actual"]).abs(), **inside).groupby(
            "method", sort=False
        )
        scores = pd.DataFrame(
            {
                "mase": g["mase"].mean(),
                "mae": g["abs_err"].mean(),
                "bias": g["err"].mean(),
                **{f"coverage_{_percent(c)}": g[f"in_{_percent(c)}"].mean() for c, _, _ in columns},
                "origins": g["origin"].nunique(),
            }
        ).reset_index()
        # model intervals ignore parameter and seasonal-estimate uncertainty: widen them by the rms of
        # the backtest errors in units of the model's own standard error at the smallest level (never narrow them)
        c0, low0, high0 = columns[0]
        z = ndtri(0.5 + c0 / 2)
        half = (bt[high0] - bt[low0]) / 2 / z
        zsq = ((bt["actual"] - bt["yhat"]) / half.where(half > 0)) ** 2
        scale = np.sqrt(zsq.groupby(bt["method"], sort=False).mean()).clip(lower=1).fillna(1.0)
        scores["interval_scale"] = scores["method"].map(scale).to_numpy()
        best = scores.sort_values(["mase", "method"], kind="stable").iloc[0]
        snaive = scores.set_index("method").loc["snaive", "mase"]
        chosen = best["method"] if best["mase"] <= snaive else "snaive"
        return ForecastResults(
            series=self.series,
            period=self.period,
            horizon=h,
            season=m,
            method=chosen,
            scores=scores,
            backtest=bt,
            nonnegative=not self.allow_negative,
            confidence=self.confidence,
            interval_scale=dict(zip(scores["method"], scores["interval_scale"])),
            params=params,
        )
