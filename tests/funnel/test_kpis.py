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
    assert rows["lead_source"].tolist() == ["Partner", "Web", "(no lead_source)"]
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


def test_kpis_without_is_converted_leave_conversion_unknown():
    """Bug 4: leads whose is_converted is all null (the export had no IsConverted) convert at an unknown rate."""
    leads = ff.leads().assign(is_converted=pd.array([pd.NA] * 10, dtype="boolean"))
    k = kpis(ff.opportunities(), leads).iloc[0]
    assert k["leads"] == 10 and k["lead_conversion_rate_n"] == 10
    for figure in (
        "leads_converted",
        "lead_conversion_rate",
        "lead_conversion_rate_ci_low",
        "lead_conversion_rate_ci_high",
    ):
        assert pd.isna(k[figure]), figure
    assert k["win_rate"] == pytest.approx(4 / 6)  # the opportunities are unaffected


def test_kpis_missing_segment_is_one_named_group():
    """Bug 5: leads and deals without a lead_source form one named group, '(no lead_source)', last."""
    opps = ff.opportunities()
    opps.loc[opps["opportunity_id"] == "O8", "lead_source"] = None  # O8: open, Web, no amount
    rows = kpis(opps, ff.leads(), by="lead_source")
    assert rows["lead_source"].tolist() == ["Partner", "Web", "(no lead_source)"]
    none = rows.iloc[2]
    # its lead is L10 (converted); its deal is O8 (open, no amount: the pipeline amount is unknown)
    assert (none["leads"], none["leads_converted"], none["opportunities"], none["opportunities_open"]) == (1, 1, 1, 1)
    assert pd.isna(none["open_pipeline_amount"]) and none["open_pipeline_amount_n"] == 0
    web = rows.iloc[1]  # O1 O3 O5 O6 are left
    assert (web["opportunities"], web["opportunities_open"], web["open_pipeline_amount"]) == (4, 2, 2300)
    assert rows["lead_source"].notna().all()


def test_every_kpi_figure_says_what_it_counts():
    from funnel_analysis.funnel import KPI_COUNTS

    assert set(KPI_COUNTS) == set(KPI_FIGURES)
    assert "lead" in KPI_COUNTS["leads"] and "opportunit" in KPI_COUNTS["opportunities_won"]
    assert KPI_COUNTS["win_rate"].endswith("by count; opportunities created by the as-of day, won or lost by then")


def test_kpis_count_won_deals_without_creation_date():
    """Bug 7: a won deal with no creation date is left out of the cycle and counted."""
    opps = ff.opportunities()
    opps.loc[opps["opportunity_id"] == "O9", "created_date"] = pd.NaT
    k = kpis(opps).iloc[0]
    # cycles O1 51, O2 30, O4 85 remain (O9 had 41): median 51, mean 166 / 3
    assert (k["median_cycle_days"], k["median_cycle_days_n"], k["cycle_undated_excluded"]) == (51, 3, 1)
    assert k["mean_cycle_days"] == pytest.approx(166 / 3) and k["opportunities_won"] == 4


# ---- the settable definitions, against plain pandas on tests/reconcile/org.py ---------------------------
def _plain(opps: pd.DataFrame, *, basis: str, cohort: str, exclude_types=()) -> pd.DataFrame:
    """Win rate and won amount per calendar quarter by hand (plain pandas, no package code)."""
    o = opps[~opps["type"].isin(exclude_types)]
    date = o["close_date"] if cohort == "closed" else o["created_date"].dt.tz_localize(None)
    q = date.dt.to_period("Q").map(lambda p: f"FY{p.year}-Q{p.quarter}")
    won_amt = o["amount"].where(o["is_won"], 0.0)
    g = pd.DataFrame({"q": q, "won": o["is_won"], "closed": o["is_closed"], "amt": o["amount"], "won_amt": won_amt})
    g = g.groupby("q").sum()
    rate = g["won"] / g["closed"] if basis == "count" else g["won_amt"] / g["amt"]
    return pd.DataFrame({"win_rate": rate, "won_amount": g["won_amt"], "won": g["won"]})


@pytest.mark.parametrize("basis", ["count", "amount"])
@pytest.mark.parametrize("cohort", ["closed", "created"])
@pytest.mark.parametrize("exclude_types", [(), ("Renewal",)])
def test_kpis_under_each_choice_match_plain_pandas(basis, cohort, exclude_types):
    from tests.reconcile import org

    got = kpis(org.opportunities(), period="Q", win_rate_basis=basis, cohort=cohort, exclude_types=exclude_types)
    want = _plain(org.opportunities(), basis=basis, cohort=cohort, exclude_types=exclude_types)
    got = got.set_index("fiscal_period")
    assert sorted(got.index) == sorted(want.index)
    assert got["win_rate"].to_dict() == pytest.approx(want["win_rate"].to_dict())
    assert got["won_amount"].to_dict() == pytest.approx(want["won_amount"].to_dict())
    assert got["opportunities_won"].to_dict() == want["won"].to_dict()
    assert got.attrs["note"].startswith(f"win rate by {basis}")
    assert ("Renewal" in got.attrs["note"]) == bool(exclude_types)


def test_kpis_choices_by_hand():
    from tests.reconcile import org

    o = org.opportunities()
    # FY2025-Q1 by close: 3 of 6 won; by amount 1900 / 2300; new business only: 1 of 4, 1000 won
    q1 = kpis(o, period="Q").set_index("fiscal_period").loc["FY2025-Q1"]
    assert (q1["win_rate"], q1["win_rate_n"], q1["won_amount"]) == (0.5, 6, 1900.0)
    q1 = kpis(o, period="Q", win_rate_basis="amount").set_index("fiscal_period").loc["FY2025-Q1"]
    assert q1["win_rate"] == pytest.approx(1900 / 2300) and pd.isna(q1["win_rate_ci_low"])
    nb = o.assign(business_type=o["type"].map({"New Business": "New Business", "Renewal": "renewal"}))
    q1 = kpis(nb, period="Q", new_business_only=True).set_index("fiscal_period").loc["FY2025-Q1"]
    assert (q1["win_rate"], q1["won_amount"], q1["opportunities"]) == (0.25, 1000.0, 4)
    # a stage left out: the lost deals gone, every closed deal is won
    k = kpis(o, exclude_stages=" closed  lost").iloc[0]
    assert (k["opportunities"], k["win_rate"]) == (3, 1.0)
    # by creation: A (created 2024-11-05) is in FY2024-Q4; a fiscal year from February puts it in FY2025-Q4
    q = kpis(o, period="Q", cohort="created", fiscal_year_start_month=2).set_index("fiscal_period")
    # (November - January): created A, B, C, D; won A and D
    assert q.loc["FY2025-Q4", "opportunities"] == 4 and q.loc["FY2025-Q4", "opportunities_won"] == 2


def test_kpis_choices_refused():
    from tests.reconcile import org

    with pytest.raises(ValueError, match="business_type column"):
        kpis(org.opportunities(), new_business_only=True)
    with pytest.raises(ValueError, match="cohort: expected"):
        kpis(org.opportunities(), cohort="won")
    with pytest.raises(ValueError, match=r"no column\(s\) \['type'\]"):
        kpis(org.opportunities().drop(columns="type"), exclude_types="Renewal")
