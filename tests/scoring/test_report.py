"""The lead-scoring report's entry points (``funnel_analysis.scoring.report``) on the tiny export."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.scoring import LeadScorer, TrainingResult, report, training_table


@pytest.fixture(scope="module")
def result(tiny_crm):
    """A logistic model fitted on the three labelled leads of the tiny export (as of 2024-06-30)."""
    table = training_table(tiny_crm, as_of="2024-06-30")
    features = [c for c in table.columns if c not in ("lead_id", "scored_at", "converted")]
    model = LeadScorer(kind="logistic", calibration="none").fit(table[features], table["converted"])
    return TrainingResult(
        model=model,
        held_out=pd.DataFrame(),
        metrics={},
        comparison=pd.DataFrame(),
        leakage=pd.DataFrame(),
        excluded=pd.DataFrame(),
        split={},
        features=features,
        table=table,
    )


def _open_ids(crm, keep=None) -> set[str]:
    """The leads not converted, by plain pandas (of those ``keep`` selects)."""
    leads = crm.leads if keep is None else crm.leads[keep(crm.leads)]
    return set(leads.loc[~leads["is_converted"].fillna(False).astype(bool), "lead_id"])


def test_open_leads_scores_the_open_leads_where_selects(tiny_crm, result):
    everyone = report.open_leads(tiny_crm, model=result, as_of="2024-06-30")
    assert set(everyone.scores["lead_id"]) == _open_ids(tiny_crm)  # 00Q...2 and 00Q...3
    german = report.open_leads(tiny_crm, model=result, as_of="2024-06-30", where="country == 'Germany'")
    assert set(german.scores["lead_id"]) == _open_ids(tiny_crm, lambda d: d["country"] == "Germany")
    assert len(german.scores) == 1
    # the same lead, the same score, whether scored alone or among all
    both = everyone.scores.set_index("lead_id").loc[german.scores["lead_id"], "probability"].to_numpy()
    assert german.scores["probability"].to_numpy() == pytest.approx(both)


def test_open_leads_top_and_drift(tiny_crm, result):
    scored = report.open_leads(tiny_crm, model=result, as_of="2024-06-30", n_top=1, drift_threshold=0.1)
    assert len(scored.top) == 1 and scored.top["score"].iloc[0] == scored.scores["score"].max()
    assert "feature_country" not in scored.top and "reason_1" in scored.top
    assert set(scored.drift["column"]) == {*result.model.feature_names_in_, "score"}
    assert (scored.drift["flagged"] == (scored.drift["psi"] > 0.1)).all()


def test_open_leads_errors(tiny_crm, result):
    from funnel_analysis.crm.expression import ExpressionError

    with pytest.raises(ExpressionError, match="position"):
        report.open_leads(tiny_crm, model=result, as_of="2024-06-30", where="country ==")
    with pytest.raises(ValueError, match="no leads were scored"):
        report.open_leads(tiny_crm, model=result, as_of="2024-06-30", where="country == 'France'")
    with pytest.raises(ValueError, match="n must be"):
        report.open_leads(tiny_crm, model=result, as_of="2024-06-30", n_top=0)


def test_load_or_train_is_the_workflows():
    from funnel_analysis.scoring.workflow import load_or_train

    assert report.load_or_train is load_or_train and set(report.__all__) == {"OpenLeads", "load_or_train", "open_leads"}
