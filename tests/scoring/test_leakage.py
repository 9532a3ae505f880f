"""The leakage guard: rule exclusions, single-field measurement, and the X Education fields."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from funnel_analysis.scoring import leakage_report, rule_excluded
from funnel_analysis.scoring.leakage import single_field_auc


def test_single_field_auc_by_hand():
    # positives 2 and 4, negatives 1 and 3: pairs (2>1, 2<3, 4>1, 4>3) -> 3 of 4
    assert single_field_auc(pd.Series([1.0, 2, 3, 4]), [0, 1, 0, 1]) == pytest.approx(0.75)
    # direction does not matter
    assert single_field_auc(pd.Series([4.0, 3, 2, 1]), [0, 1, 0, 1]) == pytest.approx(0.75)
    assert np.isnan(single_field_auc(pd.Series([1.0, 2]), [1, 1]))
    with pytest.raises(ValueError, match="rows"):
        single_field_auc(pd.Series([1.0, 2]), [1, 0, 1])


def test_text_field_rates_are_the_other_folds_smoothed_rates():
    """The cross-fitted category rates against plain pandas: per KFold fold, (converted + 10 * prior) /
    (leads + 10) of the lead's category on the other folds, the prior for a category they lack."""
    from sklearn.model_selection import KFold

    from funnel_analysis.scoring.leakage import _cross_fitted

    rng = np.random.default_rng(4)
    x = pd.Series(rng.choice(["a", "b", "c", "rare", None], 300, p=[0.4, 0.3, 0.2, 0.02, 0.08]), dtype=object)
    y = (rng.random(300) < 0.35).astype(float)
    expected = np.empty(300)
    for fit, pred in KFold(5, shuffle=True, random_state=2).split(x):
        frame = pd.DataFrame({"k": x.iloc[fit].fillna("missing").to_numpy(), "y": y[fit]})
        g = frame.groupby("k")["y"]
        prior = y[fit].mean()
        rate = (g.sum() + 10 * prior) / (g.count() + 10)
        expected[pred] = x.iloc[pred].fillna("missing").map(rate).fillna(prior).to_numpy()
    assert np.array_equal(_cross_fitted(x, y, 5, 2), expected)
    assert single_field_auc(x, y, seed=2) == pytest.approx(roc_auc_score(y, expected))


def test_rule_exclusions():
    got = rule_excluded(["lead_source", "status", "is_converted", "converted_date", "rating"])
    assert dict(zip(got["column"], got["rule"])) == {
        "status": "set_by_sales_after_contact",
        "is_converted": "outcome",
        "converted_date": "filled_at_conversion",
        "rating": "set_by_sales_after_contact",
    }
    with pytest.raises(TypeError):
        rule_excluded("status")


def test_near_perfect_fields_are_flagged_and_ordinary_ones_are_not():
    rng = np.random.default_rng(1)
    n = 2000
    y = (rng.random(n) < 0.3).astype(int)
    X = pd.DataFrame(
        {
            # filled after contact: the outcome in words, 3 % wrong
            "tag": np.where((y == 1) ^ (rng.random(n) < 0.03), "will enrol", "not interested"),
            # filled for 40 % of the leads only, and then all but the answer
            "quality": pd.Series(np.where(y == 1, "high", "worst")).where(rng.random(n) < 0.4),
            # an honest, weak field
            "visits": rng.poisson(2 + y).astype(float),
            "source": rng.choice(["web", "ads", "ref"], n),
        }
    )
    rep = leakage_report(X, y, names={"tag": "Tags", "quality": "Lead Quality"}).set_index("column")
    assert rep.loc["tag", "flagged"] and rep.loc["tag", "source_name"] == "Tags"
    assert rep.loc["quality", "flagged"] and "filled" in rep.loc["quality", "reason"]
    assert not rep.loc["visits", "flagged"] and not rep.loc["source", "flagged"]
    assert rep.loc["tag", "auc"] > 0.95 and rep.loc["source", "auc"] < 0.6
    with pytest.raises(ValueError, match="rows"):
        leakage_report(X, y[:-1])


@pytest.fixture(scope="module")
def x_education(realdata):
    import funnel_analysis as fa

    return fa.load_org(realdata / "x_education_leads", mapping="x_education")


@pytest.mark.slow
@pytest.mark.realdata
def test_x_education_guard_and_cross_validated_auc(x_education):
    """The guard flags Tags and Lead Quality by measurement; without them the model reaches the issue's
    cross-validated ROC-AUC of 0.94 and beats the baselines. 5 outer folds as the issue asks, 3 calibration
    folds to keep the test short (0.942 with 5: README, "Lead scoring")."""
    from funnel_analysis.scoring import train

    result = train(x_education, n_boot=0, kind="gbm", split="cv", cv_folds=5, model_params={"calibration_cv": 3})
    flagged = set(result.leakage.loc[result.leakage["flagged"], "source_name"])
    assert flagged == {"Tags", "Lead Quality"}
    assert "tags" not in result.features and "lead_quality" not in result.features
    assert "created_order" in result.features  # Lead Number, the creation sequence
    assert result.split["method"].startswith("5-fold cross-validation")
    assert result.metrics["n"] == 9240
    assert result.metrics["roc_auc"] >= 0.94, result.metrics
    assert result.metrics["roc_auc"] > result.metrics["logistic_roc_auc"] > result.metrics["baseline_roc_auc"]
    assert result.metrics["ece"] < 0.02


@pytest.mark.slow
@pytest.mark.realdata
def test_x_education_splits_by_its_creation_sequence(x_education, realdata):
    """Without dates but with an auto-number, the held-out leads are the newest quarter by that number."""
    from funnel_analysis.scoring import train

    raw = pd.read_csv(realdata / "x_education_leads" / "Leads.csv", usecols=["Lead Number"])
    newest = np.sort(raw["Lead Number"].to_numpy())[-2310:]  # 25 % of 9,240 (hand: 9240 / 4)
    result = train(x_education, n_boot=0, kind="gbm")
    s = result.split
    assert (s["method"], s["column"], s["n_train"], s["n_test"]) == ("order", "created_order", 6930, 2310)
    assert (float(s["test_from"]), float(s["test_to"])) == (newest.min(), newest.max())
    assert float(s["train_to"]) < float(s["test_from"])
    assert result.model.calibration_mode_ == "time"  # calibrated on the newest of the training leads
    assert result.metrics["roc_auc"] > result.metrics["logistic_roc_auc"] > result.metrics["baseline_roc_auc"]
