"""funnel_analysis.funnel.kpis (frame-level) on the hand-built org of tests/funnel_fixtures.py.

Every expected number is worked out by hand from the tables in funnel_fixtures' docstring; the
arithmetic is in the comments. The org-level entry point is tested in test_report.py.
"""

import pandas as pd
import pytest

from funnel_analysis.funnel import KPI_FIGURES, kpis
from tests import funnel_fixtures as ff


def test_kpis_headline():
    k = kpis(ff.opportunities(), ff.leads())
    assert list(k.columns) == list(KPI_FIGURES) and len(k) == 1
    k = k.iloc[0]
    assert (k["leads"], k["leads_converted"], k["lead_conversion_rate"]) == (10, 5, 0.5)
    assert (k["opportunities_open"], k["opportunities_won"], k["opportunities_lost"]) == (3, 4, 2)
    assert k["win_rate"] == pytest.approx(4 / 6) and k["win_rate_n"] == 6
    # won O1 1000, O2 2000, O4 3000, O9 1200: mean 1800; cycles 51, 30, 85, 41: median 46, mean 51.75
    assert (k["avg_won_deal_size"], k["median_cycle_days"], k["mean_cycle_days"]) == (1800, 46, 51.75)
    # open: O5 800 + O6 1500 + O8 (no amount) -> 2300 over 2 deals with an amount
    assert (k["open_pipeline_amount"], k["open_pipeline_amount_n"]) == (2300, 2)


def test_kpis_missing_table_is_unknown_not_zero():
    k = kpis(ff.opportunities()).iloc[0]
    assert pd.isna(k["leads"]) and pd.isna(k["lead_conversion_rate"])
    assert k["win_rate"] == pytest.approx(4 / 6)
    k = kpis(None, ff.leads()).iloc[0]
    assert k["leads"] == 10 and pd.isna(k["opportunities"]) and pd.isna(k["win_rate"])


def test_kpis_by_segment():
    rows = kpis(ff.opportunities(), ff.leads(), by="lead_source")
    assert rows["lead_source"].tolist()[:2] == ["Partner", "Web"] and pd.isna(rows["lead_source"].iloc[2])
    partner, web, none = (rows.iloc[i] for i in range(3))
    # Partner: leads L6-L9; won O2 O4 O9 of closed O2 O4 O7; cycles 30, 85, 41 -> median 41
    assert (partner["leads"], partner["win_rate"], partner["median_cycle_days"]) == (4, 0.75, 41)
    assert partner["opportunities_open"] == 0 and partner["open_pipeline_amount"] == 0.0  # nothing open
    # Web: leads L1-L5, 2 converted; won O1 of closed O1 O3; open O5 800 + O6 1500 + O8 -> 2300
    assert (web["lead_conversion_rate"], web["win_rate"], web["open_pipeline_amount"]) == (0.4, 0.5, 2300)
    # no source: lead L10 only, no opportunity -> its counts 0, its rates unknown
    assert none["leads"] == 1 and none["opportunities"] == 0 and pd.isna(none["win_rate"])
    assert rows["leads"].sum() == 10 and rows["opportunities"].sum() == 9
    assert rows["leads"].dtype == "Int64"


def test_kpis_errors():
    with pytest.raises(TypeError, match="DataFrame"):
        kpis(ff.make_crm())
    with pytest.raises(ValueError, match="region"):
        kpis(ff.opportunities(), ff.leads(), by="region")
