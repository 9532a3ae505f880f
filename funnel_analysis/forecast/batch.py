"""Many series at once: the entry point behind ``funnel forecast --series``.

A long table (``series_id``, ``ds``, ``y``) is checked series by series first (so that a bad
series fails before any model is fitted, naming itself), then every series is fitted by a
:class:`~funnel_analysis.forecast.Forecaster` in parallel processes (joblib, one BLAS thread each).

Examples
--------
>>> import numpy as np, pandas as pd
>>> df = pd.DataFrame({"series_id": "a", "ds": pd.date_range("2021-01-31", periods=30, freq="ME"),
...                    "y": np.arange(30.0) + 5})
>>> forecast_many(df, horizon=2, methods=["theta"], n_jobs=1)["ds"].dt.strftime("%Y-%m-%d").unique().tolist()
['2023-07-31', '2023-08-31']
"""

from __future__ import annotations

import pandas as pd

from .timeseries import METHODS, Forecaster, validate_series

__all__ = ["forecast_many"]


def _infer_freq(ds: pd.Series) -> str:
    d = pd.to_datetime(ds).sort_values().diff().dt.days.median()
    if pd.isna(d):
        raise ValueError("column 'ds': cannot infer the frequency from fewer than two dates; give freq")
    return "W" if d <= 10 else ("M" if d <= 45 else "Q")


def _one_series(sid, frame, freq, horizon, methods, n_origins, allow_negative):
    s = pd.Series(frame["y"].to_numpy(), index=pd.DatetimeIndex(frame["ds"]))
    res = Forecaster(
        s,
        freq=freq,
        horizon=horizon,
        methods=methods,
        n_origins=n_origins,
        allow_negative=allow_negative,
        series_id=sid,
    ).fit()
    fc = res.forecast().assign(series_id=sid)
    sc = res.scores.assign(series_id=sid, chosen=lambda d: d["method"] == res.method)
    return fc, sc


def forecast_many(
    df: pd.DataFrame,
    *,
    horizon: int,
    freq: str | None = None,
    methods=METHODS,
    n_origins: int = 3,
    allow_negative: bool = False,
    n_jobs: int = -1,
    progress: bool = False,
    return_scores: bool = False,
):
    """Forecast every series of a long table, in parallel processes.

    Parameters
    ----------
    df : DataFrame
        Columns ``series_id``, ``ds`` (dates) and ``y``; one or many series.
    horizon : int
    freq : {"W", "M", "Q"}, optional
        Inferred from the median spacing of ``ds`` when omitted.
    methods, n_origins, allow_negative
        As in :class:`Forecaster`.
    n_jobs : int, default -1
        Processes (joblib; -1 = every core). 1 runs in this process.
    progress : bool
        Show a tqdm bar over the series.
    return_scores : bool
        Also return the backtest scores per series and method.

    Returns
    -------
    DataFrame (and scores)
        ``series_id``, ``ds``, ``level`` (80, 95), ``yhat``, ``yhat_lower``, ``yhat_upper``, ``method``.

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
    >>> out[["series_id", "level"]].value_counts().tolist()
    [2, 2]
    """
    missing = [c for c in ("series_id", "ds", "y") if c not in df.columns]
    if missing:
        raise ValueError(f"forecast input has no column(s) {missing}; it has {list(df.columns)}")
    data = df[["series_id", "ds", "y"]].copy()
    try:
        data["ds"] = pd.to_datetime(data["ds"], format="mixed")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column 'ds' could not be read as dates: {exc}") from exc
    if getattr(data["ds"].dt, "tz", None) is not None:
        data["ds"] = data["ds"].dt.tz_convert("UTC").dt.tz_localize(None)
    data["series_id"] = data["series_id"].astype(str)
    freq = freq or _infer_freq(data.loc[data["series_id"] == data["series_id"].iloc[0], "ds"])
    groups = [(sid, g.sort_values("ds", kind="stable")) for sid, g in data.groupby("series_id", sort=True)]
    for sid, g in groups:  # fail fast, in this process, before any model is fitted
        validate_series(
            g["y"].to_numpy(), g["ds"], series_id=sid, freq=freq, horizon=horizon, allow_negative=allow_negative
        )
    items = groups
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(groups, desc="forecasting", unit="series")
    args = (freq, horizon, tuple(methods), n_origins, allow_negative)
    if n_jobs == 1 or len(groups) == 1:
        done = [_one_series(sid, g, *args) for sid, g in items]
    else:
        from joblib import Parallel, delayed

        done = Parallel(n_jobs=n_jobs, batch_size="auto", return_as="list")(
            delayed(_one_series)(sid, g, *args) for sid, g in items
        )
    cols = ["series_id", "ds", "level", "yhat", "yhat_lower", "yhat_upper", "method"]
    out = pd.concat([d[0] for d in done], ignore_index=True)[cols]
    if return_scores:
        return out, pd.concat([d[1] for d in done], ignore_index=True)
    return out
