"""LeadScorer: the 1-99 score, calibration, reasons, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.scoring import LeadScorer, ScoringDataError, probability_to_score


def _data(n=3000, seed=0):
    """Leads whose true probability is known: logit = -2 + 1.5 * referral + 0.4 * visits."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "visits": rng.poisson(2, n).astype(float),
            "source": rng.choice(["web", "referral"], n),
            "noise": rng.normal(size=n),
        }
    )
    logit = -2 + 1.5 * (X["source"] == "referral") + 0.4 * X["visits"]
    p = 1 / (1 + np.exp(-logit))
    return X, (rng.random(n) < p).astype(int), p.to_numpy()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=50))
def test_score_is_1_to_99_and_monotone(ps):
    p = np.sort(np.array(ps))
    s = probability_to_score(p)
    assert ((s >= 1) & (s <= 99)).all()
    assert (np.diff(s) >= 0).all()


def test_score_by_hand_and_errors():
    assert probability_to_score([0.0, 0.015, 0.2, 0.994, 1.0]).tolist() == [1, 2, 20, 99, 99]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        probability_to_score([1.2])


@pytest.mark.parametrize("kind", ["logistic", "gbm"])
def test_probabilities_are_calibrated_against_the_truth(kind):
    X, y, p_true = _data()
    Xt, yt, pt = _data(4000, seed=1)
    m = LeadScorer(kind=kind, max_iter=100).fit(X, y)
    p = m.predict_proba(Xt)[:, 1]
    # calibration error against the true probabilities (not the noisy outcomes), in 10 bins of p
    bins = pd.qcut(p, 10, labels=False, duplicates="drop")
    gap = pd.DataFrame({"b": bins, "p": p, "t": pt}).groupby("b").mean()
    assert (gap["p"] - gap["t"]).abs().mean() < 0.03
    assert m.calibration_method_ in ("isotonic", "sigmoid")
    # no dates: every lead is learned from and every lead calibrates (out of fold)
    assert m.calibration_mode_ == "cross-fitted" and m.n_train_ == m.n_calibration_ == len(X)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_undated_calibration_equals_sklearn_cross_fitted_calibration(method):
    """Without dates the probabilities are what scikit-learn's CalibratedClassifierCV(ensemble=False) gives
    with the same folds: the calibration map fitted on out-of-fold scores, the base model on every lead."""
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold

    X, y, _ = _data(1500)
    m = LeadScorer(kind="logistic", calibration=method, calibration_cv=4, random_state=3).fit(X, y)
    Xt = m._typed(X)
    ref = CalibratedClassifierCV(
        clone(m.base_), method=method, ensemble=False, cv=StratifiedKFold(4, shuffle=True, random_state=3)
    ).fit(Xt, y)
    np.testing.assert_allclose(m.predict_proba(X)[:, 1], ref.predict_proba(Xt)[:, 1], atol=1e-9)
    # and the random hold-out is still there when asked for
    h = LeadScorer(kind="logistic", calibration=method, calibration_cv=None, calibration_fraction=0.3).fit(X, y)
    assert (h.calibration_mode_, h.n_train_, h.n_calibration_) == ("random", 1050, 450)


def test_auto_keeps_the_simple_model_unless_the_gbm_clearly_wins():
    X, y, _ = _data()
    m = LeadScorer(kind="auto", max_iter=60).fit(X, y)
    sel = m.selection_
    assert m.kind_ == sel["chosen"]
    assert (sel["chosen"] == "gbm") == (sel["gbm_minus_logistic"] + sel["standard_error"] < 0)


def test_reasons_name_the_feature_that_drives_the_score():
    X, y, _ = _data()
    m = LeadScorer(kind="logistic").fit(X, y)
    r = m.reasons(X, top=2)
    assert list(r.columns) == [
        "reason_1",
        "reason_1_value",
        "reason_1_effect",
        "reason_2",
        "reason_2_value",
        "reason_2_effect",
    ]
    ref = X["source"] == "referral"
    # referral leads (the minority): their source is their strongest reason, and it raises the score
    assert (r.loc[ref & (X["visits"] == 2), "reason_1"] == "source").all()
    assert (r.loc[ref & (X["visits"] == 2), "reason_1_effect"] > 0).all()
    assert (r["reason_1_effect"].abs() >= r["reason_2_effect"].abs()).all()
    with pytest.raises(ValueError, match="top"):
        m.reasons(X, top=0)


def test_fit_and_predict_errors():
    X, y, _ = _data(200)
    with pytest.raises(ValueError, match="one class"):
        LeadScorer().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="kind"):
        LeadScorer(kind="forest").fit(X, y)
    with pytest.raises(ValueError, match="calibration"):
        LeadScorer(calibration="beta").fit(X, y)
    with pytest.raises(ValueError, match="non-empty DataFrame"):
        LeadScorer().fit(X.iloc[:0], y[:0])
    m = LeadScorer(kind="logistic").fit(X, y)
    with pytest.raises(ScoringDataError, match=r"leads: column 'source'.*feature_missing"):
        m.predict_proba(X.drop(columns="source"))


def test_time_ordered_calibration_uses_the_newest_leads():
    X, y, _ = _data(1000)
    times = pd.Series(pd.date_range("2024-01-01", periods=1000, freq="h"))
    m = LeadScorer(kind="logistic", calibration_fraction=0.3).fit(X, y, times=times)
    assert (m.n_train_, m.n_calibration_) == (700, 300)


def test_category_codes_by_frequency_rare_and_unseen_share_one_code():
    from funnel_analysis.scoring.encode import CategoryCoder

    X = pd.DataFrame({"s": ["b"] * 5 + ["a"] * 3 + ["c", "d", None]})
    c = CategoryCoder(max_categories=3).fit(X)
    got = c.transform(pd.DataFrame({"s": ["a", "b", "c", "zz", None]}))[:, 0]
    # by hand: b (5) -> 0, a (3) -> 1, the rest (c, d, unseen zz) -> 2, missing -> NaN
    assert got[:4].tolist() == [1.0, 0.0, 2.0, 2.0] and np.isnan(got[4])
    few = CategoryCoder(max_categories=10).fit(X)  # no rarer values: an unseen one is missing
    assert np.isnan(few.transform(pd.DataFrame({"s": ["zz"]}))[0, 0])
    with pytest.raises(ValueError, match="max_categories"):
        CategoryCoder(max_categories=1).fit(X)


def test_auto_hands_back_its_logistic_candidate_equal_to_a_separate_fit():
    X, y, _ = _data()
    m = LeadScorer(kind="auto", max_iter=60).fit(X, y)
    lg = LeadScorer(kind="logistic").fit(X, y)
    other = m.candidate("logistic") if m.kind_ == "gbm" else m
    np.testing.assert_allclose(other.predict_proba(X), lg.predict_proba(X), atol=1e-9)
    assert m.candidate("logistic") is None and "_candidates" not in m.__getstate__()


def test_logistic_fits_on_a_sample_when_asked():
    X, y, p_true = _data(4000)
    m = LeadScorer(kind="logistic", logistic_max_rows=1000).fit(X, y)
    full = LeadScorer(kind="logistic").fit(X, y)
    pm, pf = m.predict_proba(X)[:, 1], full.predict_proba(X)[:, 1]
    assert not np.allclose(pm, pf)  # it really used fewer leads
    assert np.corrcoef(pm, p_true)[0, 1] > 0.9  # and still ranks by the true probability


def test_gbm_reasons_from_the_encoded_matrix_equal_the_whole_pipeline_per_feature():
    """The fast path (encode once, swap one encoded column) gives the effects of re-running the whole
    pipeline with each feature set to its reference value."""
    X, y, _ = _data(1200)
    X = X.assign(visits=X["visits"].where(X.index % 7 != 0))  # missing values take part too
    m = LeadScorer(kind="gbm", max_iter=40).fit(X, y)
    Xt = m._typed(X)
    np.testing.assert_allclose(m._effects_encoded(Xt), m._effects_generic(Xt), atol=1e-9)
    assert np.abs(m._effects_generic(Xt)).max() > 0.1  # the effects are not all zero


def test_a_creation_sequence_orders_calibration_and_refit_learns_from_every_lead():
    """Numbers (an auto-number) order the leads as dates would; ``refit`` refits the base model on all of
    them and keeps the calibration map fitted on the newest."""
    from sklearn.base import clone

    X, y, _ = _data(1000)
    seq = np.arange(5000, 6000)[::-1]  # the newest leads are the first rows here
    m = LeadScorer(kind="logistic", calibration="sigmoid", calibration_fraction=0.3).fit(X, y, times=seq)
    assert (m.calibration_mode_, m.n_train_, m.n_calibration_) == ("time", 700, 300)
    # the base model saw only the 700 oldest leads (the last 700 rows)
    ref = clone(m.base_).fit(m._typed(X).iloc[300:], y[300:])
    np.testing.assert_allclose(m.decision_function(X), ref.decision_function(m._typed(X)), atol=1e-9)
    r = LeadScorer(kind="logistic", calibration="sigmoid", calibration_fraction=0.3, refit=True).fit(X, y, times=seq)
    assert (r.n_train_, r.n_calibration_) == (1000, 300)
    everyone = clone(m.base_).fit(m._typed(X), y)
    np.testing.assert_allclose(r.decision_function(X), everyone.decision_function(m._typed(X)), atol=1e-9)
    # the map is the one fitted on the newest 300 leads' scores of the 700-lead model
    np.testing.assert_allclose(r.calibrator_.predict(np.array([0.0, 1.0])), m.calibrator_.predict(np.array([0.0, 1.0])))


def test_split_columns_by_dtype():
    from funnel_analysis.scoring import FeatureColumns, split_columns

    X = pd.DataFrame({"visits": [1.0], "source": ["web"], "n": [3], "flag": [True]})
    assert split_columns(X) == FeatureColumns(numeric=["visits", "n"], categorical=["source", "flag"])
    assert split_columns(X.iloc[:, :0]) == FeatureColumns(numeric=[], categorical=[])


def _mixed(n, seed):
    """Leads with categories (some missing, one rare), a count with gaps and a float that is often 0."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "visits": rng.poisson(2, n).astype(float),
            "source": rng.choice(["web", "referral", "ad", "event", None], n, p=[0.4, 0.2, 0.2, 0.01, 0.19]),
            "noise": rng.normal(size=n),
            "industry": rng.choice(list("abcdefgh"), n),
            "has_email": rng.choice([0.0, 1.0], n, p=[0.1, 0.9]),
        }
    )
    X.loc[X.index % 7 == 0, "visits"] = np.nan
    logit = -2 + 1.5 * (X["source"] == "referral") + 0.4 * X["visits"].fillna(0) + 0.8 * (X["industry"] < "c")
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def test_gbm_reasons_from_the_kept_leaves_equal_re_predicting_every_lead_per_feature_to_the_bit():
    """#21: the effects from one pass of the trees (only the trees splitting on a feature re-run, on the
    leads unlike the reference) are exactly those of re-predicting every lead with that one feature set to
    its reference value, the brute force; and so are the reasons built from them."""
    X, y = _mixed(4000, seed=3)
    m = LeadScorer(kind="gbm", max_iter=50).fit(X, y)
    assert m.kind_ == "gbm"
    new, _ = _mixed(1500, seed=4)
    new.loc[::50, "industry"] = "unseen"  # a category the model never saw
    base = m.decision_function(new)
    brute = np.column_stack(
        [base - m.decision_function(new.assign(**{c: m.reference_[c]})) for c in m.feature_names_in_]
    )
    effects, raw = m._effects_trees(m._typed(new), chunk_rows=333)  # several chunks, the last one short
    np.testing.assert_array_equal(raw, base)
    np.testing.assert_array_equal(effects, brute)
    assert (brute == 0).any() and (np.abs(brute) > 0.05).any()  # zero for leads like the reference, not all
    # the reasons: the largest effects by hand, with the lead's value as text
    got = m.reasons(new, top=2)
    order = np.argsort(-np.abs(brute), axis=1, kind="stable")
    names = np.array(m.feature_names_in_, dtype=object)
    for k in range(2):
        assert got[f"reason_{k + 1}"].tolist() == names[order[:, k]].tolist()
        np.testing.assert_array_equal(
            got[f"reason_{k + 1}_effect"].to_numpy(), np.round(brute[np.arange(len(new)), order[:, k]], 4)
        )
        texts = [
            "" if pd.isna(new.iloc[r][names[order[r, k]]]) else str(new.iloc[r][names[order[r, k]]])
            for r in range(len(new))
        ]
        assert got[f"reason_{k + 1}_value"].tolist() == texts
    # probabilities and reasons together: what predict_proba and reasons give apart, to the bit
    p, reasons = m._proba_and_reasons(new, 2)
    np.testing.assert_array_equal(p, m.predict_proba(new)[:, 1])
    pd.testing.assert_frame_equal(reasons, got)


def test_value_texts_write_each_value_as_str_does():
    from funnel_analysis.scoring.model import _value_texts

    X = pd.DataFrame(
        {
            "f": [0.0, -0.0, np.nan, 1e16, 0.1 + 0.2, 2.0],
            "s": pd.Series(["a", None, "b", "a", np.nan, "c"], dtype=object),
            "m": pd.Series([True, 1, 1.0, None, "x", 2], dtype=object),  # equal by value, not by text
        }
    )
    assert _value_texts(X, np.zeros(6, dtype=int)) == ["0.0", "-0.0", "", "1e+16", "0.30000000000000004", "2.0"]
    assert _value_texts(X, np.ones(6, dtype=int)) == ["a", "", "b", "a", "", "c"]
    assert _value_texts(X, np.full(6, 2)) == ["True", "1", "1.0", "", "x", "2"]
    assert _value_texts(X, np.array([0, 1, 2, 0, 1, 2])) == ["0.0", "", "1.0", "1e+16", "", "2"]
