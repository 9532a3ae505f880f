"""The leakage guard: fields excluded by rule, and fields flagged by measurement.

By rule, fields that are only filled once the outcome is known (conversion
fields) or that the sales team fills after contact (status, rating, last
activity or modification dates) are never features: :data:`RULE_EXCLUDED`.

By measurement, :func:`leakage_report` measures how well each remaining field
predicts the outcome on its own, cross-fitted (a category's conversion rate
is learned on the other folds). A field is flagged, reported and not used when

- its single-field ROC-AUC over all leads is at least ``auc_threshold`` (0.90:
  almost perfect on its own), or
- its ROC-AUC among the leads where it is filled is at least
  ``filled_auc_threshold`` (0.80) while it is missing for at least
  ``min_missing_share`` of the leads (0.2): a field the sales team fills for
  the leads it has worked, whose filled values all but give the answer.

No legitimate field of an ordinary lead form separates converters that well
by itself; on the X Education leads the guard flags ``Tags`` (AUC 0.92
overall) and ``Lead Quality`` (0.86 among the 48 % of leads where it is
filled), and the next field is at 0.77 / 0.76.

Examples
--------
>>> import pandas as pd
>>> X = pd.DataFrame({"tag": ["won", "won", "lost", "lost"] * 25, "source": ["a", "b"] * 50})
>>> y = pd.Series([1, 1, 0, 0] * 25)
>>> leakage_report(X, y).set_index("column")["flagged"].to_dict()
{'tag': True, 'source': False}
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

__all__ = ["RULE_EXCLUDED", "rule_excluded", "leakage_report", "single_field_auc"]

#: Fields never used as features, with the rule that excludes them.
RULE_EXCLUDED = {
    "is_converted": "outcome",
    "converted_date": "filled_at_conversion",
    "converted_account_id": "filled_at_conversion",
    "converted_contact_id": "filled_at_conversion",
    "converted_opportunity_id": "filled_at_conversion",
    "status": "set_by_sales_after_contact",
    "rating": "set_by_sales_after_contact",
    "last_activity_date": "updated_after_creation",
    "last_modified_date": "updated_after_creation",
    "is_deleted": "updated_after_creation",
}


def rule_excluded(columns) -> pd.DataFrame:
    """The columns among ``columns`` that a rule excludes, with the rule.

    Parameters
    ----------
    columns : list of str
        Column names (the leads' columns).

    Returns
    -------
    DataFrame
        column, rule; in the order of ``columns``.

    Raises
    ------
    TypeError
        When ``columns`` is one string.

    Examples
    --------
    >>> rule_excluded(["lead_source", "status", "converted_date"])
               column                        rule
    0          status  set_by_sales_after_contact
    1  converted_date        filled_at_conversion
    """
    if isinstance(columns, str):
        raise TypeError("columns must be a list of column names, not one string")
    rows = [{"column": c, "rule": RULE_EXCLUDED[c]} for c in columns if c in RULE_EXCLUDED]
    return pd.DataFrame(rows, columns=["column", "rule"])


def _cross_fitted(x: pd.Series, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each row's category conversion rate learned on the other folds (smoothed towards the mean)."""
    key = x.astype("object").where(x.notna(), "\0missing").astype("str").to_numpy()
    code, uniques = pd.factorize(key)  # the categories once; each fold counts them with bincount
    y = np.asarray(y, dtype=float)
    out = np.empty(len(y))
    for fit, pred in KFold(folds, shuffle=True, random_state=seed).split(key):
        # sums of 0/1 outcomes are whole numbers: exact in any order, so the rates are the groupby's
        total = np.bincount(code[fit], weights=y[fit], minlength=len(uniques))
        count = np.bincount(code[fit], minlength=len(uniques))
        prior = y[fit].mean()
        rate = (total + 10 * prior) / (count + 10)
        out[pred] = np.where(count[code[pred]] > 0, rate[code[pred]], prior)  # a category unseen in the fold: prior
    return out


def single_field_auc(x: pd.Series, y, *, folds: int = 5, seed: int = 0) -> float:
    """ROC-AUC of one field alone: ranks for numbers, cross-fitted category rates for text.

    For numbers the direction does not matter (``max(auc, 1 - auc)``); category rates are
    cross-fitted and point the right way.

    Parameters
    ----------
    x : Series
        The field.
    y : array-like of 0/1
        The outcomes.
    folds : int
        Folds of the cross-fitted category rates.
    seed : int
        Seed of the folds.

    Returns
    -------
    float
        The ROC-AUC; NaN when ``y`` has one class.

    Raises
    ------
    ValueError
        When ``x`` and ``y`` differ in length.

    Examples
    --------
    >>> single_field_auc(pd.Series([1.0, 2, 3, 4]), [0, 0, 1, 1])
    1.0
    """
    y = np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows and y {len(y)}")
    if len(np.unique(y)) < 2:
        return float("nan")
    if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
        v = x.astype("float64").to_numpy()
        lo = np.nanmin(v) - 1 if np.isfinite(v).any() else 0.0
        v = np.where(np.isnan(v), lo, v)  # missing as its own lowest value
        auc = roc_auc_score(y, v)
        return float(max(auc, 1 - auc))
    # cross-fitted category rates point the right way by construction; taking max(auc, 1 - auc) here
    # would turn the slight anti-correlation of out-of-fold rates on a useless field into signal
    return float(roc_auc_score(y, _cross_fitted(x, y, min(folds, len(y)), seed)))


def leakage_report(
    X: pd.DataFrame,
    y,
    *,
    auc_threshold: float = 0.90,
    filled_auc_threshold: float = 0.80,
    min_missing_share: float = 0.2,
    names: dict | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure every column of ``X`` alone against the outcome ``y``; flag the near-perfect ones.

    Parameters
    ----------
    X : DataFrame
        Candidate features (not changed).
    y : array-like of 0/1
    auc_threshold, filled_auc_threshold, min_missing_share : float
        The flagging rule (see the module notes).
    names : Mapping[str, str], optional
        Column -> its name in the source data, for the ``source_name`` column.
    seed : int
        Seed of the cross-fitting folds.

    Returns
    -------
    DataFrame
        column, source_name, auc, auc_filled, missing_share, flagged, reason;
        sorted by ``auc`` descending.
    """
    y = np.asarray(y, dtype=float)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows and y {len(y)}")
    rows = []
    for c in X.columns:
        x = X[c]
        filled = x.notna().to_numpy()
        auc = single_field_auc(x, y, seed=seed)
        auc_f = (
            single_field_auc(x[filled].reset_index(drop=True), y[filled], seed=seed)
            if filled.sum() >= 20
            else float("nan")
        )
        miss = 1 - filled.mean()
        reason = ""
        if auc >= auc_threshold:
            reason = f"single-field AUC {auc:.3f} >= {auc_threshold}"
        elif miss >= min_missing_share and auc_f >= filled_auc_threshold:
            reason = f"AUC {auc_f:.3f} >= {filled_auc_threshold} among the {1 - miss:.0%} of leads where it is filled"
        rows.append(
            {
                "column": c,
                "source_name": (names or {}).get(c, c),
                "auc": auc,
                "auc_filled": auc_f,
                "missing_share": miss,
                "flagged": bool(reason),
                "reason": reason,
            }
        )
    out = pd.DataFrame(
        rows, columns=["column", "source_name", "auc", "auc_filled", "missing_share", "flagged", "reason"]
    )
    return out.sort_values("auc", ascending=False, kind="stable").reset_index(drop=True)
