"""The training workflow on generated orgs whose true conversion probabilities are known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from funnel_analysis.scoring import ScoringDataError, TrainingResult, drift_report, score_leads, top_leads, train


@pytest.fixture(scope="module")
def sample(sample_org):
    """The shared sample org (scale 0.25, seed 7), loaded, and its leads' true probabilities."""
    import funnel_analysis as fa

    org, truth_dir = sample_org
    return fa.load_org(org), pd.read_csv(truth_dir / "lead_probabilities.csv")


@pytest.fixture(scope="module")
def trained(sample):
    crm, _ = sample
    return train(crm, n_boot=50)


@pytest.mark.slow
def test_model_is_close_to_the_best_possible_auc_on_the_newest_leads(sample, trained):
    _, truth = sample
    # a score made at creation can know the probability before the reply speed's effect, not after it
    known = "p_convert_at_creation" if "p_convert_at_creation" in truth.columns else "p_convert"
    held = trained.held_out.merge(truth[["lead_id", known]], on="lead_id", how="inner")
    assert len(held) >= 0.95 * len(trained.held_out)  # duplicates and re-created leads have no truth row
    y = held["converted"]
    best = roc_auc_score(y, held[known])
    model = roc_auc_score(y, held["probability"])
    assert model >= best - 0.02, (model, best)
    assert model > 0.5 and trained.metrics["roc_auc_ci_low"] < trained.metrics["roc_auc"]


@pytest.mark.slow
def test_probabilities_are_calibrated_against_the_true_ones(sample, trained):
    """Calibration error measured against the generator's probabilities (the outcomes of ~1,100 held-out
    leads carry a sampling noise of about 0.04 in a 10-bin ECE: the true p_convert does not)."""
    _, truth = sample
    held = trained.held_out.merge(truth[["lead_id", "p_convert"]], on="lead_id", how="inner")
    bins = pd.qcut(held["probability"].rank(method="first"), 10, labels=False)
    g = held.groupby(bins).agg(p=("probability", "mean"), t=("p_convert", "mean"), n=("lead_id", "size"))
    ece_true = float((g["n"] / g["n"].sum() * (g["p"] - g["t"]).abs()).sum())
    assert ece_true < 0.02, ece_true
    assert abs(held["probability"].mean() - held["p_convert"].mean()) < 0.02


@pytest.mark.slow
def test_split_is_by_time_and_no_test_lead_is_trained_on(trained):
    s = trained.split
    assert s["method"] == "time" and pd.Timestamp(s["train_to"]) <= pd.Timestamp(s["test_from"])
    assert trained.params["split"] == "auto"  # the split asked for; the one made is in .split
    train_ids = set(trained.table["lead_id"]) - set(trained.held_out["lead_id"])
    assert len(train_ids) == s["n_train"] and len(trained.held_out) == s["n_test"]
    assert trained.model.n_train_ + trained.model.n_calibration_ == s["n_train"]
    # kind="auto" names the model it kept beside the two baselines
    assert set(trained.comparison["model"]) == {f"chosen: {trained.model.kind_}", "logistic", "points"}


@pytest.mark.slow
def test_scoring_and_drift_on_the_open_leads(sample, trained):
    crm, _ = sample
    scored = score_leads(crm, model=trained.model)
    open_leads = (~crm.leads["is_converted"].fillna(False).astype(bool)).sum()
    assert len(scored) == open_leads and scored["score"].between(1, 99).all()
    assert set(scored["reason_1"]) <= set(trained.features)
    drift = drift_report(scored, trained.table, model=trained.model)
    assert set(drift["column"]) == {*trained.features, "score"} and (drift["psi"] >= 0).all()
    assert score_leads(crm, model=trained.model, as_of="").equals(scored)  # "" is the default day


@pytest.mark.slow
def test_the_report_sections_of_a_training_result(trained):
    """The tables the notebook records, each against a plain-pandas count of the held-out leads."""
    held = trained.held_out
    summary = trained.summary()
    assert summary["n_train"] == trained.split["n_train"] and summary["n"] == len(held)
    assert summary["positives"] == held["converted"].sum() and summary["beats_baseline"] == trained.beats_baseline
    assert list(summary)[:3] == ["model_kind", "calibration", "n_train"]
    cal = trained.calibration()
    assert cal["leads"].sum() == len(held) and len(cal) == 10
    top_decile = held.nlargest(len(held) // 10 + 1, "probability")["probability"].min()
    assert cal["predicted"].iloc[-1] >= top_decile - 1e-9
    gain = trained.gain()
    assert gain["converted"].sum() == held["converted"].sum()
    bands = trained.score_bands()
    counts = held.groupby(pd.cut(held["score"], [1, 20, 40, 60, 80, 100], right=False), observed=False).size()
    assert bands["leads"].tolist() == counts.tolist()
    with pytest.raises(dataclasses.FrozenInstanceError):
        trained.version = "v0001"


def test_too_few_outcomes_is_a_clear_error(tiny_crm):
    with pytest.raises(ScoringDataError, match=r"too_few_outcomes"):
        train(tiny_crm, as_of="2024-06-30")
    with pytest.raises(ValueError, match="test_fraction"):
        train(tiny_crm, test_fraction=1.5)
    with pytest.raises(ScoringDataError, match=r"3 labelled leads, 1 converted.*too_few_outcomes"):
        train(tiny_crm, as_of="2024-06-30", window_days=90)  # the three labelled leads of the tiny export


@pytest.mark.slow
def test_a_saved_version_is_evaluated_on_the_same_held_out_leads(sample, trained, tmp_path):
    from funnel_analysis.scoring import Registry, load_or_train

    crm, _ = sample
    listed = trained.register(tmp_path, crm=crm)  # a model trained here is saved as the next version
    v = listed["version"].iloc[-1]
    assert listed["version"].tolist() == ["v0001"] and not listed["promoted"].any()
    again = load_or_train(crm, registry_dir=str(tmp_path), model_version=v, n_boot=0)
    assert again.version == v and again.register(tmp_path)["version"].tolist() == ["v0001"]  # not saved twice
    assert Registry(tmp_path).meta(v)["params"]["where"] is None
    assert again.held_out["lead_id"].tolist() == trained.held_out["lead_id"].tolist()
    assert again.metrics["roc_auc"] == pytest.approx(trained.metrics["roc_auc"])
    assert again.metrics["baseline_roc_auc"] == pytest.approx(trained.metrics["baseline_roc_auc"])
    with pytest.raises(ValueError, match="registry_dir is empty"):
        load_or_train(crm, model_version=v)


def test_split_clock_follows_dates_then_a_creation_sequence_then_cross_validation():
    from funnel_analysis.scoring.workflow import _split_clock

    dated = pd.DataFrame({"scored_at": pd.to_datetime(["2024-01-01", "2024-02-01"]), "created_order": [1, 2]})
    undated = dated.assign(scored_at=pd.NaT)
    assert _split_clock(dated, "auto") == "scored_at" and _split_clock(dated, "order") == "created_order"
    assert _split_clock(undated, "auto") == "created_order" and _split_clock(undated, "cv") is None
    assert _split_clock(undated.drop(columns="created_order"), "auto") is None
    with pytest.raises(ScoringDataError, match=r"leads: column 'created_date'.*no_dates"):
        _split_clock(undated, "time")
    with pytest.raises(ScoringDataError, match=r"leads: column 'created_order'.*no_order"):
        _split_clock(dated.assign(created_order=[1, None]), "order")
    with pytest.raises(ValueError, match="split must be"):
        _split_clock(dated, "random")


def test_drift_leaves_out_the_creation_sequence():
    from funnel_analysis.scoring import LeadScorer

    rng = np.random.default_rng(0)
    train_table = pd.DataFrame(
        {"visits": rng.poisson(3, 400).astype(float), "created_order": np.arange(400, dtype=float)}
    )
    y = (rng.random(400) < 0.3 + 0.05 * train_table["visits"].clip(0, 6)).astype(int)
    model = LeadScorer(kind="logistic", calibration="none").fit(train_table, y)
    # new leads: the same visits, all created later (the sequence alone would drift completely)
    new = train_table.assign(created_order=train_table["created_order"] + 1000)
    scored = pd.DataFrame(
        {
            "probability": model.predict_proba(new)[:, 1],
            "feature_visits": new["visits"],
            "feature_created_order": new["created_order"],
        }
    )
    report = drift_report(scored, train_table, model=model)
    assert "created_order" not in set(report["column"]) and {"visits", "score"} <= set(report["column"])


def test_register_without_a_registry_saves_nothing(tmp_path):
    result = TrainingResult(
        model=None,
        held_out=pd.DataFrame(),
        metrics={},
        comparison=pd.DataFrame(),
        leakage=pd.DataFrame(),
        excluded=pd.DataFrame(),
        split={},
        features=[],
        table=pd.DataFrame(),
    )
    assert result.register("").to_dict(orient="records") == [{"registry": "none (registry_dir is empty)"}]
    assert result.register(None)["registry"].tolist() == ["none (registry_dir is empty)"]


def test_top_leads_keeps_the_best_scores_and_the_reasons():
    scored = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "probability": [0.2, 0.9, 0.5],
            "score": [20, 90, 50],
            "reason_1": ["x", "y", "x"],
            "reason_1_value": ["1", "2", "3"],
            "reason_1_effect": [0.1, 0.5, -0.2],
            "feature_x": [1.0, 2.0, 3.0],
        }
    )
    top = top_leads(scored, n=2)
    assert top["lead_id"].tolist() == ["b", "c"]
    assert top.columns.tolist() == ["lead_id", "probability", "score", "reason_1", "reason_1_value", "reason_1_effect"]
    with pytest.raises(ValueError, match="n must be"):
        top_leads(scored, n=0)
    with pytest.raises(ValueError, match="'score' is missing"):
        top_leads(scored.drop(columns="score"))
