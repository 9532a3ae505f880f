"""The lead-scoring notebook, run by papermill on the small sample org (the ``executed`` fixture):
what it records agrees with an independent count from the export's Lead.csv."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import kept


def _fold(s: pd.Series) -> pd.Series:
    return s.str.strip().str.casefold()


@pytest.fixture(scope="module")
def records(executed):
    path, error = executed["lead_scoring"]
    assert error is None, error
    return read_records(path)


@pytest.mark.slow
def test_labelled_leads_match_an_independent_count(records, small_sample):
    """Training + held-out leads = leads created 90+ days before the last creation date, whose conversion
    was not already known when they were created; conversions within 90 days of creation."""
    leads = kept(small_sample, "Lead.csv")  # without quarantined, deleted and merged-away leads
    created = pd.to_datetime(leads["CreatedDate"], utc=True, format="ISO8601").dt.tz_localize(None)
    conv = _fold(leads["IsConverted"]).isin(["true", "1"])
    conv_day = pd.to_datetime(leads["ConvertedDate"].replace("", None))
    as_of = created.max().normalize()
    known_before = conv & (conv_day < created.dt.normalize())
    labelled = (created <= as_of - pd.Timedelta(days=90)) & ~known_before
    ev = records["evaluation"]
    assert ev["n_train"] + ev["n"] == labelled.sum()
    # the held-out leads are the newest quarter of them
    assert ev["n"] == labelled.sum() - round(labelled.sum() * 0.75)
    newest = created[labelled].sort_values(kind="stable").index[-ev["n"] :]
    within = conv & (conv_day.isna() | (conv_day <= created.dt.normalize() + pd.Timedelta(days=90)))
    assert ev["positives"] == within.loc[newest].sum()


@pytest.mark.slow
def test_tables_add_up_to_the_held_out_leads(records):
    ev = records["evaluation"]
    cal = pd.DataFrame(records["calibration"])
    assert cal["leads"].sum() == ev["n"]
    assert (cal["observed_rate"] * cal["leads"]).sum() == pytest.approx(ev["positives"])
    bands = pd.DataFrame(records["score_bands"])
    assert bands["leads"].sum() == ev["n"] and bands["converted"].sum() == ev["positives"]
    gain = pd.DataFrame(records["gain"])
    assert gain["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
    comp = pd.DataFrame(records["comparison"]).set_index("model")
    assert {"points", "logistic"} <= set(comp.index)
    assert ev["beats_baseline"] == (ev["roc_auc"] > ev["baseline_roc_auc"])


@pytest.mark.slow
def test_open_leads_are_scored_with_reasons(records):
    top = pd.DataFrame(records["top_leads"])
    assert len(top) and top["score"].between(1, 99).all()
    assert top["score"].is_monotonic_decreasing
    assert (top["score"] == (top["probability"] * 100).round().clip(1, 99)).all()
    drift = pd.DataFrame(records["drift"])
    assert set(top["reason_1"]) <= set(drift["column"])  # reasons are model features
    assert "score" in set(drift["column"]) and (drift["psi"] >= 0).all()
    assert {r["source_name"] for r in records["rule_excluded"]} >= {"IsConverted", "Status", "ConvertedDate"}
