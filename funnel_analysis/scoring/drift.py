"""Drift between the training leads and the leads scored now: the population stability index.

PSI = sum over bins of (a - e) * ln(a / e), with e and a the shares of the
expected (training) and actual (new) leads in each bin. Numbers are binned at
the deciles of the expected sample (missing values are a bin of their own);
text columns by category (categories rare in training share one bin). Shares
are floored at ``eps`` so that an empty bin does not make the index infinite.
Usual reading: below 0.1 stable, 0.1-0.25 some shift, above 0.25 (the default
threshold here: 0.2) a shift to act on.

Examples
--------
>>> import numpy as np, pandas as pd
>>> a = pd.Series(np.arange(1000.0))
>>> psi(a, a)
0.0
>>> round(psi(a, a + 500), 2) > 0.25
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["psi", "drift_table"]


def _shares(expected: pd.Series, actual: pd.Series, bins: int, min_share: float):
    numeric = pd.api.types.is_numeric_dtype(expected) and not pd.api.types.is_bool_dtype(expected)
    if numeric:
        e = expected.astype("float64").to_numpy()
        a = pd.to_numeric(actual, errors="coerce").astype("float64").to_numpy()
        edges = (
            np.unique(np.nanquantile(e, np.linspace(0, 1, bins + 1)[1:-1])) if np.isfinite(e).any() else np.array([])
        )
        eb = np.where(np.isnan(e), -1, np.searchsorted(edges, e, side="right"))
        ab = np.where(np.isnan(a), -1, np.searchsorted(edges, a, side="right"))
    else:
        e = expected.astype("object").where(expected.notna(), "\0missing").astype("str")
        a = actual.astype("object").where(actual.notna(), "\0missing").astype("str")
        share = e.value_counts(normalize=True)
        keep = set(share[share >= min_share].index)
        eb = e.where(e.isin(keep), "\0other").to_numpy()
        ab = a.where(a.isin(keep), "\0other").to_numpy()
    # the bins of both samples, in sorted order: those the counts found (sorting the distinct values, not
    # every lead's: #21, the texts of 919k leads were sorted for each feature)
    ec, ac = pd.Series(eb).value_counts(normalize=True), pd.Series(ab).value_counts(normalize=True)
    keys = np.union1d(ec.index.to_numpy(), ac.index.to_numpy())
    return ec.reindex(keys, fill_value=0).to_numpy(), ac.reindex(keys, fill_value=0).to_numpy()


def psi(
    expected: pd.Series, actual: pd.Series, *, bins: int = 10, eps: float = 1e-4, min_share: float = 0.005
) -> float:
    """Population stability index of ``actual`` against ``expected`` (>= 0; 0 for the same distribution).

    Parameters
    ----------
    expected : Series
        The reference sample (the training leads).
    actual : Series
        The sample compared (the leads scored now).
    bins : int
        Quantile bins of a numeric column (at the quantiles of ``expected``).
    eps : float
        Floor of a bin's share, so that an empty bin does not make the index infinite.
    min_share : float
        Categories rarer than this in ``expected`` share one bin.

    Returns
    -------
    float
        The index.

    Raises
    ------
    ValueError
        When either sample is empty.
    """
    expected, actual = pd.Series(expected), pd.Series(actual)
    if len(expected) == 0 or len(actual) == 0:
        raise ValueError("psi needs two non-empty samples")
    e, a = _shares(expected.reset_index(drop=True), actual.reset_index(drop=True), bins, min_share)
    e, a = np.maximum(e, eps), np.maximum(a, eps)
    value = float(np.sum((a - e) * np.log(a / e)))
    return 0.0 if abs(value) < 1e-12 else value


def drift_table(
    expected: pd.DataFrame, actual: pd.DataFrame, *, columns=None, threshold: float = 0.2, bins: int = 10
) -> pd.DataFrame:
    """PSI of every column (features, and the score if given as a column), flagged above ``threshold``.

    Parameters
    ----------
    expected : DataFrame
        The reference leads (training).
    actual : DataFrame
        The leads compared (scored now).
    columns : list of str, optional
        The columns compared; default: those of ``expected`` also in ``actual``.
    threshold : float
        PSI above which a column is flagged.
    bins : int
        Quantile bins of numeric columns.

    Returns
    -------
    DataFrame
        column, psi, flagged; sorted by psi descending.

    Raises
    ------
    ValueError
        When a column is missing from either frame.
    """
    columns = list(columns) if columns is not None else [c for c in expected.columns if c in actual.columns]
    for c in columns:
        for name, df in (("expected", expected), ("actual", actual)):
            if c not in df:
                raise ValueError(f"drift: column {c!r} is missing from the {name} leads")
    rows = [{"column": c, "psi": psi(expected[c], actual[c], bins=bins)} for c in columns]
    out = pd.DataFrame(rows, columns=["column", "psi"])
    out["flagged"] = out["psi"] > threshold
    return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
