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
>>> res = Forecaster(pd.Series(y, index=ds), freq="W", horizon=8, methods=["naive", "snaive", "theta"]).fit()
>>> res.method in ("naive", "snaive", "theta")
True
>>> fc = res.forecast()
>>> len(fc), sorted(fc["level"].unique().tolist())
(16, [80, 95])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri  # the normal quantile; scipy.stats takes seconds to import in each worker

from .methods import BASELINES, METHODS, MODELS, fit_methods

__all__ = ["Forecaster", "ForecastResults", "validate_series", "mase", "METHODS", "BASELINES", "SEASON", "LEVELS"]

#: Seasonal period by frequency code.
SEASON = {"W": 52, "M": 12, "Q": 4}
#: Interval levels (percent) every forecast carries.
LEVELS = (80, 95)


def mase(actual, predicted, train, season: int) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive forecast.

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


def _periods(ds: pd.Series, freq: str) -> pd.PeriodIndex:
    """The period of each date (weeks end on Sunday), UTC for time-zone aware dates."""
    ts = pd.to_datetime(ds)
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.PeriodIndex(ts, freq={"W": "W-SUN", "M": "M", "Q": "Q"}[freq])


def validate_series(
    y,
    ds=None,
    *,
    series_id="series",
    freq: str = "M",
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
        Their dates: one per ``freq`` period, consecutive (checked when given).
    series_id : str
        Named in the error messages.
    freq : {"W", "M", "Q"}
    horizon : int
        The forecast horizon: a series needs ``max(min_points, horizon + 4)`` points.
    min_points : int, default 8
    allow_negative : bool, default False

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
    if freq not in SEASON:
        raise ValueError(f"freq must be one of {sorted(SEASON)}, got {freq!r}")
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
        per = _periods(pd.Series(ds).reset_index(drop=True), freq)
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
                f"series {series_id!r}: column 'ds' is not consecutive {freq} periods: "
                f"{per[i]} is followed by {per[i + 1]} (rule: gap; sort by ds and fill missing periods)"
            )
    need = max(min_points, horizon + 4)
    if len(values) < need:
        raise ValueError(
            f"series {series_id!r}: column 'y' has {len(values)} points, at least {need} needed "
            f"for a {horizon}-step forecast with a backtest (rule: too_short)"
        )
    return values


@dataclass
class ForecastResults:
    """A fitted :class:`Forecaster`: backtest scores, the chosen method, forecasts.

    Attributes
    ----------
    method : str
        The method with the lowest backtest MASE (``snaive`` when no method beats it).
    scores : DataFrame
        Per method: ``mase`` (mean over origins), ``mae``, ``bias`` (mean forecast - actual),
        ``coverage_80``, ``coverage_95`` (share of backtest actuals inside the model's own intervals),
        ``origins``, ``interval_scale`` (the factor the forecast's intervals are widened by: the rms of
        the backtest errors over the model's standard error, at least 1).
    backtest : DataFrame
        One row per method, origin and step: ``origin``, ``step``, ``actual``, ``yhat``, bounds.
    """

    series: pd.Series
    freq: str
    horizon: int
    season: int
    method: str
    scores: pd.DataFrame
    backtest: pd.DataFrame
    nonnegative: bool
    levels: tuple = LEVELS
    interval_scale: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict, repr=False)
    _final: dict = field(default_factory=dict, repr=False)

    def _final_fit(self, method: str) -> dict:
        """One method on the whole series (with the backtest's parameters), once."""
        if method not in self._final:
            scored = set(self.scores["method"])
            need = [method] if method != "combo" else [k for k in MODELS if k in scored] + ["combo"]
            fits, _ = fit_methods(
                need, self.series.to_numpy(float), self.season, self.horizon, self.levels, params=self.params
            )
            self._final.update(fits)
        return self._final[method]

    def forecast(self, method: str | None = None) -> pd.DataFrame:
        """The forecast after the last observation: ``ds``, ``level``, ``yhat``, ``yhat_lower``,
        ``yhat_upper``, ``method`` (tidy: one row per step and level)."""
        method = method or self.method
        fc = self._final_fit(method)
        k = self.interval_scale.get(method, 1.0)
        last = self.series.index[-1]
        ds = _future_dates(last, self.freq, self.horizon)
        rows = []
        for lv in self.levels:
            lo, hi = fc["bands"][lv]
            mean = fc["mean"]
            rows.append(
                pd.DataFrame(
                    {
                        "ds": ds,
                        "level": lv,
                        "yhat": mean,
                        "yhat_lower": mean - k * (mean - lo),
                        "yhat_upper": mean + k * (hi - mean),
                        "method": method,
                    }
                )
            )
        out = pd.concat(rows, ignore_index=True)
        if self.nonnegative:  # bookings cannot be negative: clip what the normal bands allow
            out[["yhat", "yhat_lower", "yhat_upper"]] = out[["yhat", "yhat_lower", "yhat_upper"]].clip(lower=0)
        # the wider interval must contain the narrower one, also after clipping and combining
        wide = out["level"] == max(self.levels)
        narrow = out.loc[~wide].set_index("ds")
        if len(narrow):
            w = out.loc[wide].set_index("ds")
            out.loc[wide, "yhat_lower"] = np.minimum(w["yhat_lower"], narrow["yhat_lower"].reindex(w.index)).to_numpy()
            out.loc[wide, "yhat_upper"] = np.maximum(w["yhat_upper"], narrow["yhat_upper"].reindex(w.index)).to_numpy()
        return out.sort_values(["level", "ds"], kind="stable").reset_index(drop=True)


def _future_dates(last, freq: str, h: int) -> pd.DatetimeIndex:
    last = pd.Timestamp(last)
    if freq == "W":
        return pd.DatetimeIndex([last + pd.Timedelta(weeks=k) for k in range(1, h + 1)])
    per = pd.Period(last, freq=freq)
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
    freq : {"W", "M", "Q"}
    horizon : int
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
    """

    series: pd.Series
    freq: str = "M"
    horizon: int = 3
    methods: tuple = METHODS
    n_origins: int = 3
    allow_negative: bool = False
    series_id: str = "series"
    min_points: int = 8

    def fit(self) -> ForecastResults:
        """Backtest every method, choose one, and return :class:`ForecastResults`."""
        if not isinstance(self.series, pd.Series):
            raise TypeError(f"Forecaster: series must be a Series indexed by date, got {type(self.series).__name__}")
        h = int(self.horizon)
        if h < 1:
            raise ValueError(f"Forecaster: horizon must be >= 1, got {self.horizon!r}")
        y = validate_series(
            self.series.to_numpy(),
            self.series.index.to_series(),
            series_id=self.series_id,
            freq=self.freq,
            horizon=h,
            min_points=self.min_points,
            allow_negative=self.allow_negative,
        )
        m = SEASON[self.freq]
        methods = list(dict.fromkeys([*BASELINES, *self.methods]))
        unknown = [k for k in methods if k not in METHODS]
        if unknown:
            raise ValueError(f"Forecaster: unknown method(s) {unknown}; choose from {METHODS}")
        min_train = max(self.min_points, 4)
        origins = [len(y) - k * h for k in range(max(int(self.n_origins), 1), 0, -1) if len(y) - k * h >= min_train]
        cols, params = {}, None  # column -> list of arrays: one DataFrame at the end (pandas is slow per row)
        for o in origins:
            fits, params = fit_methods(methods, y[:o], m, h, LEVELS, params=params)
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
                for lv in LEVELS:
                    part[f"lower_{lv}"], part[f"upper_{lv}"] = f["bands"][lv][0][:n], f["bands"][lv][1][:n]
                for c, v in part.items():
                    cols.setdefault(c, []).append(v)
        bt = pd.DataFrame({c: np.concatenate(v) for c, v in cols.items()})
        g = bt.assign(
            err=bt["yhat"] - bt["actual"],
            abs_err=(bt["yhat"] - bt["actual"]).abs(),
            **{f"in_{lv}": (bt["actual"] >= bt[f"lower_{lv}"]) & (bt["actual"] <= bt[f"upper_{lv}"]) for lv in LEVELS},
        ).groupby("method", sort=False)
        scores = pd.DataFrame(
            {
                "mase": g["mase"].mean(),
                "mae": g["abs_err"].mean(),
                "bias": g["err"].mean(),
                **{f"coverage_{lv}": g[f"in_{lv}"].mean() for lv in LEVELS},
                "origins": g["origin"].nunique(),
            }
        ).reset_index()
        # model intervals ignore parameter and seasonal-estimate uncertainty: widen them by the rms of
        # the backtest errors in units of the model's own 80% standard error (never narrow them)
        z80 = ndtri(0.9)
        half = (bt["upper_80"] - bt["lower_80"]) / 2 / z80
        zsq = ((bt["actual"] - bt["yhat"]) / half.where(half > 0)) ** 2
        scale = np.sqrt(zsq.groupby(bt["method"], sort=False).mean()).clip(lower=1).fillna(1.0)
        scores["interval_scale"] = scores["method"].map(scale).to_numpy()
        best = scores.sort_values(["mase", "method"], kind="stable").iloc[0]
        snaive = scores.set_index("method").loc["snaive", "mase"]
        chosen = best["method"] if best["mase"] <= snaive else "snaive"
        return ForecastResults(
            series=self.series,
            freq=self.freq,
            horizon=h,
            season=m,
            method=chosen,
            scores=scores,
            backtest=bt,
            nonnegative=not self.allow_negative,
            interval_scale=dict(zip(scores["method"], scores["interval_scale"])),
            params=params,
        )
