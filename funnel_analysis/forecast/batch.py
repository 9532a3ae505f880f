"""Many series at once: the entry point behind ``funnel forecast --series``.

A long table (``series_id``, ``ds``, ``y``) is checked series by series first (so that a bad
series fails before any model is fitted, naming itself), then every series is fitted by a
:class:`~funnel_analysis.forecast.Forecaster` in parallel processes (joblib, one BLAS thread each).
:func:`forecast_many` returns the forecasts; :func:`fit_many` the forecasts and the backtest scores.

Examples
--------
>>> import numpy as np, pandas as pd
>>> df = pd.DataFrame({"series_id": "a", "ds": pd.date_range("2021-01-31", periods=30, freq="ME"),
...                    "y": np.arange(30.0) + 5})
>>> forecast_many(df, horizon=2, methods=["theta"], n_jobs=1)["ds"].dt.strftime("%Y-%m-%d").unique().tolist()
['2023-07-31', '2023-08-31']
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .._util.frames import utc_naive as _utc_naive
from .timeseries import CONFIDENCE, METHODS, Forecaster, _interval_columns, validate_series

__all__ = ["forecast_many", "fit_many", "ManyForecasts"]


@dataclass(frozen=True)
class ManyForecasts:
    """What :func:`fit_many` returns: the forecasts of every series and their backtest scores.

    Attributes
    ----------
    forecasts : DataFrame
        ``series_id``, ``ds``, ``yhat``, ``yhat_ci_low_80``, ``yhat_ci_high_80``, ``yhat_ci_low_95``,
        ``yhat_ci_high_95`` (one pair per level), ``method`` (the one the backtest chose).
    scores : DataFrame
        Per series and method: the columns of :attr:`ForecastResults.scores
        <funnel_analysis.forecast.timeseries.ForecastResults>`, ``series_id`` and ``chosen``.
    """

    forecasts: pd.DataFrame
    scores: pd.DataFrame


def _infer_period(ds: pd.Series) -> str:
    d = pd.to_datetime(ds).sort_values().diff().dt.days.median()
    if pd.isna(d):
        raise ValueError("column 'ds': cannot infer the period from fewer than two dates; give period")
    return "W" if d <= 10 else ("M" if d <= 45 else "Q")


def _one_series(sid, frame, period, horizon, methods, n_origins, allow_negative, confidence):
    s = pd.Series(frame["y"].to_numpy(), index=pd.DatetimeIndex(frame["ds"]))
    res = Forecaster(
        s,
        period=period,
        horizon=horizon,
        methods=methods,
        n_origins=n_origins,
        allow_negative=allow_negative,
        series_id=sid,
        confidence=confidence,
    ).fit()
    fc = res.forecast().assign(series_id=sid)
    sc = res.scores.assign(series_id=sid, chosen=lambda d: d["method"] == res.method)
    return fc, sc


def fit_many(
    df: pd.DataFrame,
    *,
    horizon: int,
    period: str | None = None,
    methods=METHODS,
    n_origins: int = 3,
    allow_negative: bool = False,
    confidence=CONFIDENCE,
    n_jobs: int = -1,
    progress: bool = False,
) -> ManyForecasts:
    """Forecast every series of a long table, in parallel processes; keep the backtest scores too.

    Parameters
    ----------
    df : DataFrame
        Columns ``series_id``, ``ds`` (dates) and ``y``; one or many series.
    horizon : int
        Steps to forecast.
    period : {"W", "M", "Q"}, optional
        Inferred from the median spacing of ``ds`` (of the first series) when omitted.
    methods : sequence of str, default all of :data:`~funnel_analysis.forecast.timeseries.METHODS`
        As in :class:`~funnel_analysis.forecast.timeseries.Forecaster`.
    n_origins : int, default 3
        Backtest origins of the method choice.
    allow_negative : bool, default False
        Accept negative values (and do not clip forecasts at 0).
    confidence : float or sequence of float, default (0.8, 0.95)
        Interval levels (fractions).
    n_jobs : int, default -1
        Processes (joblib; -1 = every core). 1 runs in this process.
    progress : bool
        Show a tqdm bar over the series.

    Returns
    -------
    ManyForecasts
        ``forecasts`` and ``scores``.

    Raises
    ------
    ValueError
        Missing columns, or a series that breaks an input rule (all series are checked first).
    """
    missing = [c for c in ("series_id", "ds", "y") if c not in df.columns]
    if missing:
        raise ValueError(f"forecast input has no column(s) {missing}; it has {list(df.columns)}")
    data = df[["series_id", "ds", "y"]].copy()
    try:
        data["ds"] = pd.to_datetime(data["ds"], format="mixed")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column 'ds' could not be read as dates: {exc}") from exc
    data["ds"] = _utc_naive(data["ds"]).to_numpy()
    data["series_id"] = data["series_id"].astype(str)
    period = period or _infer_period(data.loc[data["series_id"] == data["series_id"].iloc[0], "ds"])
    groups = [(sid, g.sort_values("ds", kind="stable")) for sid, g in data.groupby("series_id", sort=True)]
    for sid, g in groups:  # fail fast, in this process, before any model is fitted
        validate_series(
            g["y"].to_numpy(), g["ds"], series_id=sid, period=period, horizon=horizon, allow_negative=allow_negative
        )
    items = groups
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(groups, desc="forecasting", unit="series")
    args = (period, horizon, tuple(methods), n_origins, allow_negative, confidence)
    if n_jobs == 1 or len(groups) == 1:
        done = [_one_series(sid, g, *args) for sid, g in items]
    else:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=n_jobs, batch_size="auto", return_as="list")(
            delayed(_one_series)(sid, g, *args) for sid, g in items
        )
    bounds = [c for _, low, high in _interval_columns("yhat", confidence) for c in (low, high)]
    cols = ["series_id", "ds", "yhat", *bounds, "method"]
    return ManyForecasts(
        forecasts=pd.concat([d[0] for d in done], ignore_index=True)[cols],
        scores=pd.concat([d[1] for d in done], ignore_index=True),
    )


def forecast_many(
    df: pd.DataFrame,
    *,
    horizon: int,
    period: str | None = None,
    methods=METHODS,
    n_origins: int = 3,
    allow_negative: bool = False,
    confidence=CONFIDENCE,
    n_jobs: int = -1,
    progress: bool = False,
) -> pd.DataFrame:
    """Forecast every series of a long table, in parallel processes (:func:`fit_many` without the scores).

    Parameters
    ----------
    df : DataFrame
        Columns ``series_id``, ``ds`` (dates) and ``y``; one or many series.
    horizon : int
        Steps to forecast.
    period : {"W", "M", "Q"}, optional
        Inferred from the median spacing of ``ds`` when omitted.
    methods : sequence of str, default all of :data:`~funnel_analysis.forecast.timeseries.METHODS`
        As in :class:`~funnel_analysis.forecast.timeseries.Forecaster`.
    n_origins : int, default 3
        Backtest origins of the method choice.
    allow_negative : bool, default False
        Accept negative values (and do not clip forecasts at 0).
    confidence : float or sequence of float, default (0.8, 0.95)
        Interval levels (fractions).
    n_jobs : int, default -1
        Processes (joblib; -1 = every core). 1 runs in this process.
    progress : bool
        Show a tqdm bar over the series.

    Returns
    -------
    DataFrame
        ``series_id``, ``ds``, ``yhat``, ``yhat_ci_low_80``, ``yhat_ci_high_80``, ``yhat_ci_low_95``,
        ``yhat_ci_high_95``, ``method``: one row per series and step.

    Raises
    ------
    ValueError
        Missing columns, or a series that breaks an input rule (all series are checked first).

    Examples
    --------
    >>> import numpy as np
    >>> df = pd.DataFrame({"series_id": "a", "ds": pd.date_range("2021-01-31", periods=30, freq="ME"),
    ...                    "y": np.arange(30.0) + 5})
    >>> out = forecast_many(df, horizon=2, methods=["theta"], n_jobs=1)
    >>> len(out), out["method"].iloc[0] in ("naive", "snaive", "theta")
    (2, True)
    """
    return fit_many(
        df,
        horizon=horizon,
        period=period,
        methods=methods,
        n_origins=n_origins,
        allow_negative=allow_negative,
        confidence=confidence,
        n_jobs=n_jobs,
        progress=progress,
    ).forecasts
