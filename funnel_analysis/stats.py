"""Rates with honest uncertainty: Wilson score intervals and rate tables.

Every rate the funnel reports (conversion, stage-to-stage, win rate) is a
share of a count, and small counts are the rule in segmented CRM data: 3 won
out of 4 is not "75 %", it is "somewhere between 30 % and 95 %". The Wilson
score interval is used because, unlike the textbook normal ("Wald") interval,
it stays inside [0, 1] and keeps close to its nominal coverage for small
samples and rates near 0 or 1. The computation is delegated to
:func:`statsmodels.stats.proportion.proportion_confint`.

Examples
--------
>>> import pandas as pd
>>> low, high = wilson_interval([5, 0], [10, 5])
>>> low.round(4).tolist(), high.round(4).tolist()
([0.2366, 0.0], [0.7634, 0.4345])
>>> rate_table(pd.DataFrame({"won": [3, 0], "closed": [4, 0]}), successes="won", trials="closed").round(3)
   won  closed  rate  rate_ci_low  rate_ci_high
0    3       4  0.75        0.301         0.954
1    0       0   NaN          NaN           NaN
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Interval", "wilson_interval", "rate_table"]


@dataclass(frozen=True)
class Interval:
    """A confidence interval's two bounds (unpacks as ``low, high``).

    Attributes
    ----------
    low, high : float, ndarray or Series
        The bounds, shaped like the counts they were computed from.
    confidence : float
        The two-sided confidence level.
    """

    low: object
    high: object
    confidence: float = 0.95

    def __iter__(self):
        # unpacks as the two bounds only: ``low, high = wilson_interval(...)``
        return iter((self.low, self.high))


def _as_float_array(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(
            pd.to_numeric(pd.Series(np.ravel(np.asarray(values, dtype=object))), errors="raise"), dtype="float64"
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numbers (counts), got {values!r}") from exc
    return arr.reshape(np.shape(values))


def wilson_interval(successes, trials, *, confidence: float = 0.95) -> Interval:
    """Wilson score confidence interval for a proportion, vectorised.

    Parameters
    ----------
    successes, trials : int, array-like or Series
        Counts; broadcast against each other. ``successes`` must lie in
        ``[0, trials]``. Missing values give a missing interval.
    confidence : float, default 0.95
        Two-sided confidence level, strictly between 0 and 1.

    Returns
    -------
    Interval
        ``low`` and ``high`` (it unpacks as ``low, high``): floats for scalar input, NumPy arrays for array input, and Series
        (with the index of the first Series given) for Series input. Where
        ``trials`` is 0 the rate is undefined and both bounds are NaN.

    Raises
    ------
    ValueError
        For a confidence outside (0, 1), negative counts, or
        ``successes > trials``.

    Examples
    --------
    >>> low, high = wilson_interval(5, 10)
    >>> round(low, 4), round(high, 4)
    (0.2366, 0.7634)
    >>> wilson_interval(0, 0).low
    nan
    """
    if not 0 < float(confidence) < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    index = next((v.index for v in (successes, trials) if isinstance(v, pd.Series)), None)
    s = _as_float_array(successes, "successes")
    n = _as_float_array(trials, "trials")
    s, n = np.broadcast_arrays(s, n)
    known = ~(np.isnan(s) | np.isnan(n))
    if (s[known] < 0).any() or (n[known] < 0).any():
        raise ValueError("successes and trials must be non-negative counts")
    if (s[known] > n[known]).any():
        raise ValueError("successes cannot exceed trials")
    low = np.full(s.shape, np.nan)
    high = np.full(s.shape, np.nan)
    ok = known & (n > 0)  # 0 trials: no rate, so no interval (statsmodels would divide by zero)
    if ok.any():
        # imported here: statsmodels costs about 2 s per report kernel, and most figures need no interval
        from statsmodels.stats.proportion import proportion_confint

        lo, hi = proportion_confint(s[ok], n[ok], alpha=1 - float(confidence), method="wilson")
        # the exact bounds at 0 and n successes are 0 and 1; the formula leaves float noise (5e-17)
        low[ok] = np.where(s[ok] == 0, 0.0, np.clip(lo, 0, 1))
        high[ok] = np.where(s[ok] == n[ok], 1.0, np.clip(hi, 0, 1))
    if index is not None and low.ndim == 1 and len(low) == len(index):
        return Interval(pd.Series(low, index=index), pd.Series(high, index=index), float(confidence))
    if low.ndim == 0:
        return Interval(float(low), float(high), float(confidence))
    return Interval(low, high, float(confidence))


def rate_table(
    df: pd.DataFrame, *, successes: str, trials: str, name: str = "rate", confidence: float = 0.95
) -> pd.DataFrame:
    """Add a rate and its Wilson interval to a table of counts.

    Parameters
    ----------
    df : DataFrame
        Has the two count columns; it is not modified.
    successes, trials : str
        Names of the count columns (kept in the output).
    name : str, default "rate"
        Name of the rate column; its bounds are ``{name}_ci_low`` and
        ``{name}_ci_high``, so that one table can carry several rates.
    confidence : float, default 0.95
        Two-sided confidence level of the interval.

    Returns
    -------
    DataFrame
        A copy of ``df`` with ``name``, and its two bounds, appended. The rate
        is NaN (not 0) where ``trials`` is 0.

    Examples
    --------
    >>> t = pd.DataFrame({"stage": ["a", "b"], "won": [1, 2], "closed": [2, 2]})
    >>> rate_table(t, successes="won", trials="closed", name="win_rate").columns.tolist()
    ['stage', 'won', 'closed', 'win_rate', 'win_rate_ci_low', 'win_rate_ci_high']
    """
    missing = [c for c in (successes, trials) if c not in df.columns]
    if missing:
        raise KeyError(f"rate_table: column(s) {missing} not in the table (it has {list(df.columns)})")
    s = pd.to_numeric(df[successes]).astype("float64")
    n = pd.to_numeric(df[trials]).astype("float64")
    low, high = wilson_interval(s, n, confidence=confidence)
    out = df.copy()
    out[name] = (s / n.where(n > 0)).to_numpy()
    out[f"{name}_ci_low"] = np.asarray(low)
    out[f"{name}_ci_high"] = np.asarray(high)
    return out
