"""The forecasting notebook, run by papermill on the small sample org (the shared ``executed`` fixture):
the figures it records agree with plain pandas on the export's CSV files."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import fold, kept, to_usd, won_by_quarter


@pytest.mark.slow
def test_forecasting_notebook_figures(executed, small_sample):
    path, error = executed["forecasting"]
    assert error is None, error
    rec = read_records(path)
    won = won_by_quarter(small_sample)
    won.index = [f"FY{p.year}-Q{p.quarter}" for p in won.index]  # fiscal year = calendar year here
    # the backtest's actuals are the won amount of each target quarter
    bt = pd.DataFrame(rec["backtest"])
    actual = bt.drop_duplicates("fiscal_period").set_index("fiscal_period")["actual"]
    assert len(actual) == 6
    assert actual.to_dict() == pytest.approx(won.reindex(actual.index).to_dict())
    # the categories' Closed amount per period is the won amount closed in it
    cats = pd.DataFrame(rec["forecast_categories"])
    assert cats["fiscal_period"].nunique() == 4  # the last category_periods close periods
    closed = cats[cats["forecast_category"] == "Closed"].set_index("fiscal_period")["amount"]
    assert closed.to_dict() == pytest.approx(won.reindex(closed.index).fillna(0).to_dict())
    # next quarter: the parts add up and the interval is ordered
    for q in rec["next_quarter"]:
        assert q["forecast"] == pytest.approx(q["won_to_date"] + q["pipeline_expected"] + q["new_deals_expected"])
        assert q["forecast_ci_low_95"] <= q["forecast_ci_low_80"] <= q["forecast"]
        assert q["forecast"] <= q["forecast_ci_high_80"] <= q["forecast_ci_high_95"]
    # the bookings series leaves out its sparse prologue and says what: the won deals closed before its start
    left = rec["bookings_left_out"]
    start = pd.Timestamp(left["note"].removeprefix("Left out before ")[:10])
    o = kept(small_sample, "Opportunity.csv")
    o = o[fold(o["IsWon"]).isin(["true", "1"])]
    before = pd.to_datetime(o["CloseDate"]) < start
    assert left["left_out_deals"] == int(before.sum()) > 0
    assert left["left_out_amount"] == pytest.approx(to_usd(small_sample, o.loc[before]).sum())
    # the summary lists every baseline and the method, with its coverage
    summary = pd.DataFrame(rec["backtest_summary"]).set_index("method")
    assert {"pipeline", "configured_weighted", "last_period", "seasonal_naive"} <= set(summary.index)
    assert 0 <= summary.loc["pipeline", "coverage_80"] <= 1
    # weighted pipeline: both probability sets over the same open amount
    wp = pd.DataFrame(rec["weighted_pipeline"])
    totals = wp.groupby("probabilities")["open_amount"].sum()
    assert set(totals.index) == {"configured", "learned"} and totals["configured"] == pytest.approx(totals["learned"])
