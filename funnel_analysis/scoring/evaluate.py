"""Evaluation of lead scores: discrimination, calibration, lift, and conversion per score band.

All functions take the outcomes ``y`` (0/1) and the predicted probabilities
(or scores) and return an :class:`Evaluation`, a number or a tidy DataFrame.

- :func:`evaluate`: ROC-AUC and PR-AUC with bootstrap intervals (95 % by default), Brier
  score, expected calibration error (ECE), counts: an :class:`Evaluation`.
- :func:`calibration_table`: mean predicted vs observed rate per bin (the curve).
- :func:`gain_table`: lift and cumulative gain by decile of the score.
- :func:`band_table`: conversion rate per score band, with Wilson intervals.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.4, 0.35, 0.8])
>>> round(evaluate(y, p, n_boot=0).roc_auc, 2)
0.75
>>> round(expected_calibration_error(y, p, bins=1), 4)
0.0875
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ..stats import wilson_interval

__all__ = [
    "Evaluation",
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
    """Sum over bins of the share of leads times the absolute gap between mean predicted and observed rate.

    Parameters
    ----------
    y : array-like of 0/1
        The outcomes.
    p : array-like of float
        The predicted probabilities.
    bins : int
        Number of bins.
    strategy : {"quantile", "uniform"}
        Bins of equal size (by rank), or of equal width in probability.

    Returns
    -------
    float
        The ECE, 0 for perfect calibration.

    Raises
    ------
    ValueError
        For unequal lengths, outcomes other than 0/1, a NaN probability or an unknown ``strategy``.

    Examples
    --------
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


def _boot_draws(y: np.ndarray, p: np.ndarray, n_boot: int, seed: int) -> dict[str, list[float]]:
    """ROC-AUC and PR-AUC of each bootstrap resample of the leads that holds both classes, in draw order.

    The values of :func:`_auc` and :func:`_average_precision` of ``y[i], p[i]``, bit for bit, without sorting
    each resample: a resample is how often it drew each distinct score (and each converted lead's), so the
    tied ranks, true positives and counts per distinct score are cumulative sums over the scores sorted once.
    Ranks are halves and counts whole numbers far below 2**53: every sum of them is exact, whatever its order,
    and the precision and recall terms are the same divisions of the same numbers as there.
    """
    rng = np.random.default_rng(seed)
    values, score = np.unique(p, return_inverse=True)  # ascending; ties are equal scores, as in both functions
    out = {"roc_auc": [], "pr_auc": []}
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))  # the same draws as one resample at a time
        drawn = np.bincount(score[i], minlength=len(values)).astype(float)
        won = np.bincount(score[i], weights=y[i], minlength=len(values))
        n1 = won.sum()
        if n1 == 0 or n1 == len(y):  # one class: no AUC (skipped, as before)
            continue
        mean_rank = np.cumsum(drawn) - drawn + (drawn + 1) / 2  # a tied group's average rank (rankdata's)
        out["roc_auc"].append(float(((won * mean_rank).sum() - n1 * (n1 + 1) / 2) / (n1 * (len(y) - n1))))
        present = drawn[::-1] > 0  # the resample's distinct scores, highest first
        tp, seen = np.cumsum(won[::-1])[present], np.cumsum(drawn[::-1])[present]
        precision, recall = tp / seen, tp / n1
        out["pr_auc"].append(float(np.sum(np.diff(np.r_[0.0, recall]) * precision)))
    return out


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Headline figures of probabilities against outcomes (what :func:`evaluate` returns).

    Attributes
    ----------
    n : int
        Leads evaluated.
    positives : int
        Leads that converted.
    base_rate : float
        Share that converted.
    roc_auc, roc_auc_ci_low, roc_auc_ci_high : float
        ROC-AUC and its percentile-bootstrap interval (NaN with one class, or without resamples).
    pr_auc, pr_auc_ci_low, pr_auc_ci_high : float
        Average precision (PR-AUC) and its interval.
    brier : float
        Brier score (mean squared error of the probabilities).
    ece : float
        Expected calibration error (quantile bins).
    """

    n: int
    positives: int
    base_rate: float
    roc_auc: float
    roc_auc_ci_low: float
    roc_auc_ci_high: float
    pr_auc: float
    pr_auc_ci_low: float
    pr_auc_ci_high: float
    brier: float
    ece: float

    def as_dict(self) -> Mapping[str, float]:
        """The figures by name, in the order of the attributes.

        Returns
        -------
        Mapping[str, float]
            A new dict: name -> figure (JSON-safe but for NaN).
        """
        return dataclasses.asdict(self)


def evaluate(y, p, *, n_boot: int = 200, seed: int = 0, bins: int = 10, confidence: float = 0.95) -> Evaluation:
    """Headline figures of probabilities ``p`` against outcomes ``y``.

    Parameters
    ----------
    y : array-like of 0/1
        The outcomes.
    p : array-like of float
        The predicted probabilities (or any score whose order matters, for the AUCs).
    n_boot : int
        Bootstrap resamples of the leads for the intervals (none when 0).
    seed : int
        Seed of the resampling.
    bins : int
        Quantile bins of the ECE.
    confidence : float
        Level of the percentile-bootstrap intervals, a fraction.

    Returns
    -------
    Evaluation
        n, positives, base_rate, roc_auc (and ``roc_auc_ci_low`` / ``roc_auc_ci_high``), pr_auc (and its
        interval), brier, ece. AUCs are NaN with one class; intervals are NaN without resamples.

    Raises
    ------
    ValueError
        For unequal lengths, outcomes other than 0/1, a NaN probability or a confidence outside (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be a fraction in (0, 1), got {confidence!r}")
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
    tail = round(50 * (1 - confidence), 10)  # percent in each tail: 2.5 for 0.95
    if n_boot and two:
        draws = _boot_draws(y, p, n_boot, seed)  # the values of _auc and _average_precision per resample
        for k, v in draws.items():
            lo[k], hi[k] = (
                (float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))) if v else (np.nan, np.nan)
            )
    return Evaluation(
        n=out["n"],
        positives=out["positives"],
        base_rate=out["base_rate"],
        roc_auc=out["roc_auc"],
        roc_auc_ci_low=lo["roc_auc"],
        roc_auc_ci_high=hi["roc_auc"],
        pr_auc=out["pr_auc"],
        pr_auc_ci_low=lo["pr_auc"],
        pr_auc_ci_high=hi["pr_auc"],
        brier=out["brier"],
        ece=out["ece"],
    )


def calibration_table(y, p, *, bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Per bin: leads, mean predicted probability, observed conversion rate (the calibration curve).

    Parameters
    ----------
    y : array-like of 0/1
        The outcomes.
    p : array-like of float
        The predicted probabilities.
    bins : int
        Number of bins.
    strategy : {"quantile", "uniform"}
        Bins of equal size (by rank), or of equal width in probability.

    Returns
    -------
    DataFrame
        bin (1 = the lowest probabilities), leads, predicted, observed_rate; one row per non-empty bin.
    """
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

    Ties are broken by lead order, so every decile has the same size (+-1).

    Parameters
    ----------
    y : array-like of 0/1
        The outcomes.
    score : array-like of float
        Probabilities or scores (only their order matters).
    groups : int
        Number of groups (10: deciles).

    Returns
    -------
    DataFrame
        decile, leads, converted, conversion_rate, lift (rate / overall rate),
        cumulative_share_of_leads, cumulative_gain (share of all conversions found so far).
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


def band_table(y, score, *, bands=DEFAULT_BANDS, confidence: float = 0.95) -> pd.DataFrame:
    """Conversion rate per score band with its Wilson interval.

    Parameters
    ----------
    y : array-like of 0/1
        The outcomes.
    score : array-like of int
        The 1-99 scores.
    bands : sequence of numbers
        Increasing band edges; a band holds the scores in ``[a, b)``.
    confidence : float
        Level of the Wilson interval, a fraction.

    Returns
    -------
    DataFrame
        band (``"[a, b)"``), leads, converted, conversion_rate, conversion_rate_ci_low,
        conversion_rate_ci_high (NaN for an empty band).

    Raises
    ------
    ValueError
        For edges that do not increase, or a confidence outside (0, 1).
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
    n, k = t["leads"].to_numpy(float), t["converted"].to_numpy(float)
    low, high = wilson_interval(k, n, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["conversion_rate"] = k / n
    t["conversion_rate_ci_low"], t["conversion_rate_ci_high"] = low, high
    return t


def compare_scores(y, scores: Mapping, *, n_boot: int = 200, seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`evaluate` for several scores on the same leads: one row per score (name in ``model``).

    Scores that are not probabilities (points) are ranked only: their Brier score and ECE are NaN.

    Parameters
    ----------
    y : array-like of 0/1
        The outcomes.
    scores : Mapping[str, array-like]
        Name -> probabilities or scores of the same leads.
    n_boot : int
        Bootstrap resamples for the intervals.
    seed : int
        Seed of the resampling.
    confidence : float
        Level of the intervals, a fraction.

    Returns
    -------
    DataFrame
        model, then the figures of :class:`Evaluation` (``roc_auc_ci_low``, ...), one row per score.

    Raises
    ------
    ValueError
        When ``scores`` is empty.
    """
    if not scores:
        raise ValueError("scores is empty")
    rows = []
    for name, s in scores.items():
        s = np.asarray(s, dtype=float)
        is_prob = bool(np.nanmin(s) >= 0 and np.nanmax(s) <= 1)
        r = evaluate(
            y, s if is_prob else (s - s.min()) / (np.ptp(s) or 1), n_boot=n_boot, seed=seed, confidence=confidence
        ).as_dict()
        if not is_prob:
            r["brier"] = r["ece"] = float("nan")
        rows.append({"model": name, **r})
    return pd.DataFrame(rows)
