"""The forecasting methods of :mod:`~funnel_analysis.forecast.timeseries`, one training series at a time.

Each model is estimated once, at the first backtest origin; the later origins and the final
forecast re-use those parameters (when they were estimated on at least 85 % of the points and at
least 100; short series are cheap to fit and their estimates still move) and only run the filter / smoother over
the longer series (``SARIMAX.filter``, ``ETSModel.smooth``, ``ExponentialSmoothing.fit(optimized=False)`` with the
initial states known). The training windows all start at the first observation, so the estimated
initial states stay valid, and every backtest forecast still uses only data before its origin.

Examples
--------
>>> import numpy as np
>>> y = 50 + 2.0 * np.arange(140)
>>> fits, params = _fit_methods(["naive", "sarimax"], y, m=12, h=3, confidence=(0.8, 0.95))
>>> np.round(fits["naive"]["mean"], 6).tolist()
[328.0, 328.0, 328.0]
>>> again, _ = _fit_methods(["sarimax"], y, m=12, h=3, confidence=(0.8, 0.95), params=params)
>>> bool(np.allclose(again["sarimax"]["mean"], fits["sarimax"]["mean"]))
True

The fitting functions are internals of :class:`~funnel_analysis.forecast.timeseries.Forecaster` (private:
they pass plain dicts and arrays between its backtest origins); the public names are the method lists.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pandas as pd
from scipy.special import ndtri  # the normal quantile; scipy.stats takes seconds to import in each worker

__all__ = ["METHODS", "BASELINES", "MODELS"]

#: Every method, baselines first.
METHODS = ("naive", "snaive", "es", "ets", "sarimax", "theta", "combo")
#: The naive baselines, always scored.
BASELINES = ("naive", "snaive")
#: The statsmodels models (``combo`` is their mean).
MODELS = ("es", "ets", "sarimax", "theta")
#: Parameters are re-used on a longer series only if estimated on at least this share of its points,
#: and at least this many points (short series are cheap to fit, and their estimates still move).
REUSE_SHARE = 0.85
REUSE_MIN_POINTS = 100


#: (what, inputs) -> result of the estimations already made in this process, the last :data:`MEMO_SIZE`: a
#: backtest's days share most of their training windows (the next-quarter track record fits the same months
#: at up to four of its days), and an estimate is a function of its inputs alone.
_MEMO: OrderedDict = OrderedDict()
MEMO_SIZE = 512


def _memo(key, compute):
    """``compute()``, or what it returned for ``key`` before (its arrays copied: callers own what they get)."""
    if key not in _MEMO:
        _MEMO[key] = compute()
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    _MEMO.move_to_end(key)
    return _copied(_MEMO[key])


def _copied(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_copied(v) for v in value)
    return value


def _key(x: np.ndarray) -> tuple:
    """An array as a memo key: its type, shape and bytes (equal keys: the same values, bit for bit)."""
    x = np.ascontiguousarray(x)
    return (x.dtype.str, x.shape, x.tobytes())


def _seasonal_adjust(y: np.ndarray, m: int):
    """(adjusted series, future seasonal component h -> array) by STL, or none when < 2 cycles."""
    if m > 1 and len(y) >= 2 * m + 1:  # (the same test in _fit_methods)
        seas = _memo(("stl", m, _key(y)), lambda: _stl_seasonal(y, m))
        last = seas[-m:]
        return y - seas, lambda h: last[np.arange(h) % m]
    return y, lambda h: np.zeros(h)


def _stl_seasonal(y: np.ndarray, m: int) -> np.ndarray:
    from statsmodels.tsa.seasonal import STL

    return np.asarray(STL(y, period=m, seasonal=7 if m < 7 else (m // 2) * 2 + 1).fit().seasonal)


def _sd(diffs) -> float:
    """Standard deviation of forecast errors; from one difference, its size (no ddof warning)."""
    diffs = np.asarray(diffs, dtype=float)
    return float(np.std(diffs, ddof=1)) if len(diffs) > 1 else (float(abs(diffs[0])) if len(diffs) else 0.0)


def _normal_bands(mean, sd, confidence):
    """confidence (a fraction) -> (lower, upper) of the normal interval around ``mean``."""
    return {c: (mean - ndtri(0.5 + c / 2) * sd, mean + ndtri(0.5 + c / 2) * sd) for c in confidence}


def _ses_errors(x: np.ndarray, alpha: float):
    """(one-step errors, final level) of simple exponential smoothing started at the first value."""
    level, errs = float(x[0]), np.empty(len(x) - 1)
    for t in range(1, len(x)):
        errs[t - 1] = x[t] - level
        level += alpha * errs[t - 1]
    return errs, level


def _model(method: str, x: np.ndarray, h: int, confidence, p):
    """(mean, bands, params) of one model on the adjusted series; ``p``: parameters to re-use, or None."""
    n = len(x)
    if method == "ets":
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        mod = ETSModel(pd.Series(x), error="add", trend="add", damped_trend=True)
        res = mod.fit(disp=False) if p is None else mod.smooth(p)
        pred = res.get_prediction(start=n, end=n + h - 1)
        mean = pred.predicted_mean.to_numpy()
        sd = np.sqrt(np.asarray(pred.var_pred_mean))  # summary_frame's normal interval, computed once
        return mean, _normal_bands(mean, sd, confidence), np.asarray(res.params)
    if method == "es":
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        if p is None:
            res = ExponentialSmoothing(x, trend="add", damped_trend=True, initialization_method="estimated").fit()
        else:
            res = ExponentialSmoothing(
                x,
                trend="add",
                damped_trend=True,
                initialization_method="known",
                initial_level=p["initial_level"],
                initial_trend=p["initial_trend"],
            ).fit(
                smoothing_level=p["smoothing_level"],
                smoothing_trend=p["smoothing_trend"],
                damping_trend=p["damping_trend"],
                optimized=False,
            )
        mean = np.asarray(res.forecast(h))
        sd = np.std(res.resid, ddof=1)
        # Holt with a damped trend: the h-step variance grows about like local level's, 1 + (h-1) alpha^2
        alpha = res.params["smoothing_level"]
        bands = _normal_bands(mean, sd * np.sqrt(1 + np.arange(h) * alpha**2), confidence)
        return (
            mean,
            bands,
            {
                k: res.params[k]
                for k in ("smoothing_level", "smoothing_trend", "damping_trend", "initial_level", "initial_trend")
            },
        )
    if method == "sarimax":
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        mod = SARIMAX(x, order=(0, 1, 1), trend="t", concentrate_scale=True)
        # scale concentrated out and Nelder-Mead: the same optimum as the default L-BFGS, 4x faster here
        res = mod.fit(disp=False, method="nm", maxiter=300) if p is None else mod.filter(p)
        fc = res.get_forecast(h)
        mean = np.asarray(fc.predicted_mean)
        return mean, _normal_bands(mean, np.sqrt(np.asarray(fc.var_pred_mean)), confidence), np.asarray(res.params)
    if method == "theta":
        if p is None:
            from statsmodels.tsa.forecasting.theta import ThetaModel

            alpha = float(ThetaModel(x, period=1, deseasonalize=False).fit().params["alpha"])
        else:
            alpha = p
        # ThetaModel's forecast (theta = 2, OLS slope b0 of x on 0..n-1, SES with the first value as the
        # initial level), written out so that a known alpha needs no fit:
        # b0 / 2 (h - 1 + 1/alpha - (1 - alpha)^n / alpha) + the SES forecast
        errs, level = _ses_errors(x, alpha)
        b0 = np.polyfit(np.arange(n), x, 1)[0]
        mean = level + 0.5 * b0 * (np.arange(h) + 1 / alpha - (1 - alpha) ** n / alpha)
        # the interval formula of ThetaResults.prediction_intervals, sigma^2 (1 + (h-1)(1 + (alpha-1)^2)),
        # with sigma^2 the variance of the one-step SES errors (statsmodels fits an extra SARIMAX for it)
        sd = np.sqrt(_sd(errs) ** 2 * (1 + np.arange(h) * (1 + (alpha - 1) ** 2)))
        return mean, _normal_bands(mean, sd, confidence), alpha
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}")


def _fit_one(method: str, y: np.ndarray, m: int, h: int, confidence, adjusted, p=None):
    """({"mean", "bands"} on the raw scale, parameters) of one method."""
    n = len(y)
    if method == "naive":
        sd = _sd(np.diff(y)) * np.sqrt(np.arange(1, h + 1))
        mean = np.full(h, y[-1])
        return {"mean": mean, "bands": _normal_bands(mean, sd, confidence)}, None
    if method == "snaive":
        mm = m if n > m else 1
        mean = y[n - mm + np.arange(h) % mm]
        sd = _sd(y[mm:] - y[:-mm]) * np.sqrt(np.arange(h) // mm + 1)
        return {"mean": mean, "bands": _normal_bands(mean, sd, confidence)}, None
    x, future = adjusted
    s = future(h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter: the backtest judges the result
        if p is None:  # an estimation: made once per method, series, horizon and levels in this process
            key = ("model", method, h, tuple(confidence), _key(x))
            mean, bands, params = _memo(key, lambda: _model(method, x, h, confidence, None))
        else:
            mean, bands, params = _model(method, x, h, confidence, p)
    return {"mean": mean + s, "bands": {lv: (lo + s, hi + s) for lv, (lo, hi) in bands.items()}}, params


def _combine(parts, confidence) -> dict:
    return {
        "mean": np.mean([p["mean"] for p in parts], axis=0),
        "bands": {
            lv: (
                np.mean([p["bands"][lv][0] for p in parts], axis=0),
                np.mean([p["bands"][lv][1] for p in parts], axis=0),
            )
            for lv in confidence
        },
    }


def _fit_methods(methods, y, m, h, confidence, params=None):
    """Fit ``methods`` on the training series ``y``; return (fits, parameters).

    ``fits[method]`` is ``{"mean": array(h), "bands": {confidence: (lower, upper)}}`` on the raw scale
    (``confidence`` a fraction, 0.8);
    ``params`` (as returned by an earlier call on a shorter prefix of the same series) skips the
    estimation of the models it holds, unless that prefix had fewer than :data:`REUSE_SHARE` of
    the points of ``y`` or fewer than :data:`REUSE_MIN_POINTS`, or was too short for the seasonal
    adjustment and ``y`` is not.
    """
    from threadpoolctl import threadpool_limits

    stl = m > 1 and len(y) >= 2 * m + 1  # what _seasonal_adjust will do
    params = dict(params or {})
    # estimate anew when the parameters came from the raw series and this one is seasonally adjusted,
    # or from much fewer points (short series: cheap to fit, and their estimates still move a lot)
    if params and (params.get("_stl") != stl or params.get("_n", 0) < max(REUSE_SHARE * len(y), REUSE_MIN_POINTS)):
        params = {}
    params.setdefault("_stl", stl)
    params.setdefault("_n", len(y))
    with threadpool_limits(1):  # multi-threaded BLAS on tiny state-space matrices is many times slower
        need = [k for k in methods if k != "combo"]
        if "combo" in methods and not set(MODELS) & set(need):
            need += list(MODELS)
        # one STL per training series, shared by the models (the baselines need none)
        adjusted = _seasonal_adjust(y, m) if set(need) - set(BASELINES) else None
        out = {}
        for k in need:
            out[k], p = _fit_one(k, y, m, h, confidence, adjusted, params.get(k))
            params[k] = p
        if "combo" in methods:
            out["combo"] = _combine([out[k] for k in MODELS if k in out], confidence)
    return {k: out[k] for k in methods}, params
