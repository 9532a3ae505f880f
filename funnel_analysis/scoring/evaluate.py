"""Evaluation of lead scores: discrimination, calibration, lift, and conversion per score band.

All functions take the outcomes ``y`` (0/1) and the predicted probabilities
(or scores) and return plain dicts or tidy DataFrames.

- :func:`evaluate`: ROC-AUC and PR-AUC with bootstrap 95 % intervals, Brier
  score, expected calibration error (ECE), counts.
- :func:`calibration_table`: mean predicted vs observed rate per bin (the curve).
- :func:`gain_table`: lift and cumulative gain by decile of the score.
- :func:`band_table`: conversion rate per score band, with Wilson intervals.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.4, 0.35, 0.8])
>>> round(evaluate(y, p, n_boot=0)["roc_auc"], 2)
0.75
>>> round(expected_calibration_error(y, p, bins=1), 4)
0.0875
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

__all__ = [
    "evaluate",
    "expected_calibration_error",
    "calibration_table",
    "gain_table",
    "band_table",
    "compare_scores",
    "DEFAULT_BANDS",
]

#: Score bands (1-99 scores): [1, 20), [20, 40), [40, 60), [60, 80), [80, 99].
DEFAULT_BANDS = (1, 20, 40, 60, 80, 100)


def _check(y, p):
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"y and p must be 1-d of equal length, got {y.shape} and {p.shape}")
    if len(y) == 0:
        raise ValueError("no leads to evaluate")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold 0/1 outcomes")
    if np.isnan(p).any():
        raise ValueError("p holds NaN")
    return y, p


def _bins(p, bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.clip((p * bins).astype(int), 0, bins - 1)
    if strategy == "quantile":
        ranks = pd.Series(p).rank(method="first").to_numpy() - 1
        return np.minimum((ranks * bins / len(p)).astype(int), bins - 1)
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")


def expected_calibration_error(y, p, *, bins: int = 10, strategy: str = "quantile") -> float:
    """Sum over bins of (share of leads) x |mean predicted - observed rate|.

    >>> expected_calibration_error([0, 1], [0.0, 1.0], bins=2)
    0.0
    """
    y, p = _check(y, p)
    b = _bins(p, bins, strategy)
    t = pd.DataFrame({"b": b, "y": y, "p": p}).groupby("b").agg(n=("y", "size"), y=("y", "mean"), p=("p", "mean"))
    return float((t["n"] / len(y) * (t["y"] - t["p"]).abs()).sum())


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC-AUC by the rank-sum (Mann-Whitney) formula: ties count one half, as in scikit-learn."""
    from scipy.stats import rankdata

    n1 = y.sum()
    n0 = len(y) - n1
    return float((rankdata(p)[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision with scikit-learn's definition (one step per distinct score)."""
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]  # the last lead of each distinct score
    tp = np.cumsum(ys)[last]
    precision = tp / (last + 1)
    recall = tp / ys.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def evaluate(y, p, *, n_boot: int = 200, seed: int = 0, bins: int = 10) -> dict:
    """Headline figures of probabilities ``p`` against outcomes ``y``.

    Returns
    -------
    dict
        n, positives, base_rate, roc_auc (+ _low/_high), pr_auc (+ _low/_high),
        brier, ece (``bins`` quantile bins). Intervals are percentile bootstrap
        (``n_boot`` resamples of the leads; none when 0). AUCs are NaN with one class.
    """
    y, p = _check(y, p)
    two = len(np.unique(y)) == 2
    out = {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "base_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)) if two else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p, bins=bins),
    }
    lo = {k: float("nan") for k in ("roc_auc", "pr_auc")}
    hi = dict(lo)
    if n_boot and two:
        rng = np.random.default_rng(seed)
        draws = {"roc_auc": [], "pr_auc": []}
        for _ in range(n_boot):
            i = rng.integers(0, len(y), len(y))
            if y[i].min() == y[i].max():
                continue
            draws["roc_auc"].append(_auc(y[i], p[i]))  # same values as scikit-learn's, 50x faster
            draws["pr_auc"].append(_average_precision(y[i], p[i]))
        for k, v in draws.items():
            lo[k], hi[k] = (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) if v else (np.nan, np.nan)
    for k in ("roc_auc", "pr_auc"):
        out[f"{k}_low"], out[f"{k}_high"] = lo[k], hi[k]
    return out


def calibration_table(y, p, *, bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Per bin: leads, mean predicted probability, observed conversion rate (the calibration curve)."""
    y, p = _check(y, p)
    b = _bins(p, bins, strategy)
    t = (
        pd.DataFrame({"bin": b, "y": y, "p": p})
        .groupby("bin")
        .agg(leads=("y", "size"), predicted=("p", "mean"), observed_rate=("y", "mean"))
        .reset_index()
    )
    t["bin"] = t["bin"] + 1
    return t


def gain_table(y, score, *, groups: int = 10) -> pd.DataFrame:
    """Lift and cumulative gain by decile of the score (decile 1 = the highest scores).

    Columns: decile, leads, converted, conversion_rate, lift (rate / overall rate),
    cumulative_share_of_leads, cumulative_gain (share of all conversions found so far).
    Ties are broken by lead order, so every decile has the same size (+-1).
    """
    y, s = _check(y, score)
    ranks = pd.Series(-s).rank(method="first").to_numpy() - 1
    d = np.minimum((ranks * groups / len(s)).astype(int), groups - 1) + 1
    t = pd.DataFrame({"decile": d, "y": y}).groupby("decile").agg(leads=("y", "size"), converted=("y", "sum"))
    t = t.reset_index()
    t["converted"] = t["converted"].astype(int)
    t["conversion_rate"] = t["converted"] / t["leads"]
    overall = y.mean()
    t["lift"] = t["conversion_rate"] / overall if overall > 0 else np.nan
    t["cumulative_share_of_leads"] = t["leads"].cumsum() / len(y)
    t["cumulative_gain"] = t["converted"].cumsum() / y.sum() if y.sum() > 0 else np.nan
    return t


def band_table(y, score, *, bands=DEFAULT_BANDS) -> pd.DataFrame:
    """Conversion rate per score band with a 95 % Wilson interval.

    Columns: band (``"[a, b)"``), leads, converted, conversion_rate, rate_low, rate_high.
    """
    y, s = _check(y, score)
    edges = np.asarray(bands, dtype=float)
    if len(edges) < 2 or (np.diff(edges) <= 0).any():
        raise ValueError(f"bands must be increasing edges, got {bands!r}")
    labels = [f"[{int(a)}, {int(b)})" for a, b in zip(edges[:-1], edges[1:])]
    cat = pd.cut(s, edges, right=False, labels=labels)
    t = (
        pd.DataFrame({"band": cat, "y": y})
        .groupby("band", observed=False)
        .agg(leads=("y", "size"), converted=("y", "sum"))
        .reset_index()
    )
    t["band"] = t["band"].astype("str")
    t["converted"] = t["converted"].astype(int)
    n, k, z = t["leads"].to_numpy(float), t["converted"].to_numpy(float), 1.959964
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = k / n
        centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    t["conversion_rate"], t["rate_low"], t["rate_high"] = rate, centre - half, centre + half
    return t


def compare_scores(y, scores: dict, *, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """:func:`evaluate` for several scores on the same leads: one row per score (name in ``model``).

    Scores that are not probabilities (points) get NaN Brier/ECE.
    """
    if not scores:
        raise ValueError("scores is empty")
    rows = []
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        is_prob = bool(np.nanmin(s) >= 0 and np.nanmax(s) <= 1)
        r = evaluate(y, s if is_prob else (s - s.min()) / (np.ptp(s) or 1), n_boot=n_boot, seed=seed)
        if not is_prob:
            r["brier"] = r["ece"] = float("nan")
        rows.append({"model": name, **r})
    return pd.DataFrame(rows)
