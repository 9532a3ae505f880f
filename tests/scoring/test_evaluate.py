"""Evaluation figures against hand calculations and independent formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from funnel_analysis.scoring import (
    Evaluation,
    band_table,
    calibration_table,
    compare_scores,
    evaluate,
    expected_calibration_error,
    gain_table,
)

Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


def test_evaluate_by_hand():
    r = evaluate(Y, P, n_boot=0)
    assert isinstance(r, Evaluation)
    assert r.roc_auc == pytest.approx(0.75)  # 3 of 4 (positive, negative) pairs in order
    assert r.brier == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    # average precision: ranks 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 -> (1/1 + 2/3) / 2
    assert r.pr_auc == pytest.approx((1 + 2 / 3) / 2)
    assert (r.n, r.positives, r.base_rate) == (4, 2, 0.5)
    assert np.isnan(r.roc_auc_ci_low) and np.isnan(r.pr_auc_ci_high)  # no resamples, no interval
    assert list(r.as_dict())[:4] == ["n", "positives", "base_rate", "roc_auc"]
    with pytest.raises(ValueError, match="0/1"):
        evaluate([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="confidence"):
        evaluate(Y, P, confidence=95)


def test_bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(0)
    p = rng.random(400)
    y = (rng.random(400) < p).astype(int)
    r = evaluate(y, p, n_boot=40)
    assert r.roc_auc_ci_low < r.roc_auc < r.roc_auc_ci_high
    assert r.pr_auc_ci_low < r.pr_auc < r.pr_auc_ci_high
    narrow = evaluate(y, p, n_boot=40, confidence=0.5)  # the same resamples, inner quartiles
    assert r.roc_auc_ci_low < narrow.roc_auc_ci_low < narrow.roc_auc_ci_high < r.roc_auc_ci_high


def test_ece_by_hand():
    # one bin: |mean p - mean y| = |0.4125 - 0.5|
    assert expected_calibration_error(Y, P, bins=1) == pytest.approx(0.0875)
    # two quantile bins: {0.1, 0.35} -> y mean 0.5, p mean 0.225; {0.4, 0.8} -> 0.5 vs 0.6
    assert expected_calibration_error(Y, P, bins=2) == pytest.approx(0.5 * 0.275 + 0.5 * 0.1)
    with pytest.raises(ValueError, match="strategy"):
        expected_calibration_error(Y, P, strategy="kmeans")


def test_calibration_table_uniform_bins():
    t = calibration_table(Y, P, bins=2, strategy="uniform")
    assert t["leads"].tolist() == [3, 1]
    assert t["observed_rate"].tolist() == pytest.approx([1 / 3, 1.0])
    with pytest.raises(ValueError, match="equal length"):
        calibration_table(Y, P[:3])


def test_gain_table_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    s = np.arange(10, 0, -1)  # scores in decreasing order
    t = gain_table(y, s, groups=2)
    assert t["converted"].tolist() == [2, 1]
    assert t["lift"].tolist() == pytest.approx([0.4 / 0.3, 0.2 / 0.3])
    assert t["cumulative_gain"].tolist() == pytest.approx([2 / 3, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        gain_table(y, np.r_[s[:-1], np.nan])


def test_band_table_matches_wilson_from_statsmodels():
    score = np.array([5, 15, 25, 45, 45, 85, 95, 99])
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0])
    t = band_table(y, score).set_index("band")
    assert t["leads"].tolist() == [2, 1, 2, 0, 3]
    lo, hi = proportion_confint(2, 3, method="wilson")
    assert (
        t.loc["[80, 100)", "conversion_rate_ci_low"],
        t.loc["[80, 100)", "conversion_rate_ci_high"],
    ) == pytest.approx((lo, hi))
    assert np.isnan(t.loc["[60, 80)", "conversion_rate"])
    with pytest.raises(ValueError, match="increasing"):
        band_table(y, score, bands=(1, 50, 40))


def test_compare_scores_treats_points_as_ranks_only():
    t = compare_scores(Y, {"model": P, "points": np.array([0, 10, 25, 40])}, n_boot=0).set_index("model")
    assert t.loc["points", "roc_auc"] == pytest.approx(1.0) and np.isnan(t.loc["points", "brier"])
    assert t.loc["model", "brier"] == pytest.approx(evaluate(Y, P, n_boot=0).brier)
    with pytest.raises(ValueError, match="empty"):
        compare_scores(Y, {})
    assert isinstance(t, pd.DataFrame)


def test_fast_bootstrap_metrics_equal_scikit_learn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    from funnel_analysis.scoring.evaluate import _auc, _average_precision

    rng = np.random.default_rng(3)
    for _ in range(5):
        p = rng.integers(0, 12, 300) / 12  # many ties
        y = (rng.random(300) < p).astype(int)
        assert _auc(y, p) == pytest.approx(roc_auc_score(y, p))
        assert _average_precision(y, p) == pytest.approx(average_precision_score(y, p))


def test_bootstrap_interval_is_scikit_learns_on_the_same_resamples():
    """The one-pass bootstrap: each resample's AUCs as scikit-learn computes them on ``y[i], p[i]`` drawn by the
    documented scheme (``default_rng(seed).integers`` once per resample, one-class resamples skipped)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from funnel_analysis.scoring.evaluate import _auc, _average_precision, _boot_draws

    rng = np.random.default_rng(11)
    for n, levels, rate in ((40, 4, 0.1), (500, 7, 0.3), (800, None, 0.5)):  # heavy ties, ties, none
        p = rng.random(n) if levels is None else rng.integers(0, levels, n) / levels
        y = (rng.random(n) < rate).astype(float)
        draw = np.random.default_rng(5)
        auc, ap = [], []
        for _ in range(60):
            i = draw.integers(0, n, n)
            if y[i].min() == y[i].max():
                continue
            auc.append(roc_auc_score(y[i], p[i]))
            ap.append(average_precision_score(y[i], p[i]))
        r = evaluate(y, p, n_boot=60, seed=5)
        assert r.roc_auc_ci_low == pytest.approx(np.percentile(auc, 2.5), abs=1e-12)
        assert r.roc_auc_ci_high == pytest.approx(np.percentile(auc, 97.5), abs=1e-12)
        assert r.pr_auc_ci_low == pytest.approx(np.percentile(ap, 2.5), abs=1e-12)
        assert r.pr_auc_ci_high == pytest.approx(np.percentile(ap, 97.5), abs=1e-12)
        draw = np.random.default_rng(5)
        slow = {"roc_auc": [], "pr_auc": []}
        for _ in range(60):
            i = draw.integers(0, n, n)
            if y[i].min() != y[i].max():
                slow["roc_auc"].append(_auc(y[i], p[i]))
                slow["pr_auc"].append(_average_precision(y[i], p[i]))
        assert _boot_draws(y, p, 60, 5) == slow  # exactly equal floats, in draw order


def test_band_interval_is_the_wilson_interval_by_hand():
    """2 of 3 converted, 95 %: z = 1.959964, centre (p + z^2/2n) / (1 + z^2/n), half-width
    z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n): the formula the table used before it called
    funnel_analysis.stats.wilson_interval."""
    z, n, k = 1.959964, 3.0, 2.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    t = band_table(np.array([1, 1, 0]), np.array([85, 90, 95])).set_index("band")
    got = t.loc["[80, 100)", ["conversion_rate_ci_low", "conversion_rate_ci_high"]].to_numpy(float)
    np.testing.assert_allclose(got, [centre - half, centre + half], rtol=1e-7)
    assert (round(got[0], 4), round(got[1], 4)) == (0.2077, 0.9385)
    # an empty band has no interval; 0 of 2 starts at exactly 0
    assert t.loc["[1, 20)", ["conversion_rate_ci_low", "conversion_rate_ci_high"]].isna().all()
    zero = band_table(np.array([0, 0]), np.array([5, 6])).set_index("band").loc["[1, 20)"]
    # 0 of 2: the centre is the half-width, so the interval is [0, (z^2/n) / (1 + z^2/n)]
    assert zero["conversion_rate_ci_low"] == 0.0
    assert zero["conversion_rate_ci_high"] == pytest.approx((z * z / 2) / (1 + z * z / 2), rel=1e-6)
    wide = band_table(np.array([1, 1, 0]), np.array([85, 90, 95]), confidence=0.99).set_index("band")
    assert wide.loc["[80, 100)", "conversion_rate_ci_low"] < got[0]
    with pytest.raises(ValueError, match="confidence"):
        band_table(np.array([1, 0]), np.array([85, 90]), confidence=1.5)
