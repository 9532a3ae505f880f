"""The profile's custom fiscal periods (a 4-4-5 calendar) reach every report's period figures.

The calendar, written as Salesforce exports ``Period``: FY2025 runs 52 weeks from Sunday 2024-02-04 to
Saturday 2025-02-01, in quarters of 13 weeks (Q1 2024-02-04..05-04, Q2 05-05..08-03, Q3 08-04..11-02,
Q4 11-03..2025-02-01); FY2026 starts 2025-02-02 (Q1 to 2025-05-03). The standard February year would put
2024-05-04 and 2024-05-05 both in Q2 (May-July): every label below was worked out by hand from these dates.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.forecast import quarter_bounds
from funnel_analysis.forecast import report as forecast
from funnel_analysis.forecast.backtest import past_quarter_ends
from funnel_analysis.funnel import report as funnel
from funnel_analysis.periods import FiscalCalendar, OutsideFiscalCalendar
from funnel_analysis.project import ProfileError, apply_profile, load_profile, profile_calendar
from funnel_analysis.sources.report import pipeline_waterfall
from funnel_analysis.velocity import report as velocity

PERIOD_CSV = """\
Id,FiscalYearSettingsId,Type,StartDate,EndDate,Number
0260001,0220001,Year,2024-02-04,2025-02-01,1
0260002,0220001,Quarter,2024-02-04,2024-05-04,1
0260003,0220001,Quarter,2024-05-05,2024-08-03,2
0260004,0220001,Quarter,2024-08-04,2024-11-02,3
0260005,0220001,Quarter,2024-11-03,2025-02-01,4
0260006,0220002,Year,2025-02-02,2026-01-31,1
0260007,0220002,Quarter,2025-02-02,2025-05-03,1
0260008,0220002,Quarter,2025-05-04,2025-08-02,2
"""

# won on Q1's last day, lost on Q2's first; two open deals either side of the Q2/Q3 boundary
OPPS = pd.DataFrame(
    {
        "Id": ["006A", "006B", "006C", "006D"],
        "StageName": ["Closed Won", "Closed Lost", "Prospecting", "Prospecting"],
        "Type": ["New Business"] * 4,
        "Amount": [100, 50, 70, 30],
        "CreatedDate": ["2024-02-10"] * 4,
        "CloseDate": ["2024-05-04", "2024-05-05", "2024-08-03", "2024-08-04"],
    }
)


@pytest.fixture
def org(tmp_path):
    (tmp_path / "Period.csv").write_text(PERIOD_CSV)
    (tmp_path / "profile.yaml").write_text("fiscal_year: {periods: Period.csv}\n")
    return apply_profile(load_frames({"Opportunity": OPPS}), profile=load_profile(tmp_path / "profile.yaml"))


def test_the_profile_gives_the_org_its_calendar(org):
    cal = org.meta["fiscal_calendar"]
    assert cal.custom and cal.start_month == 2
    assert (cal.first_day, cal.last_day) == (pd.Timestamp("2024-02-04"), pd.Timestamp("2026-01-31"))
    assert "custom fiscal periods from 2024-02-04 to 2026-01-31" in org.meta["profile_overrides"][-1]


def test_funnel_win_rates_and_kpis_follow_the_custom_quarters(org):
    w = funnel.win_rates(org, as_of="2024-06-30", period="Q", fiscal_year_start_month=2)
    assert w["fiscal_period"].tolist() == ["FY2025-Q1", "FY2025-Q2"]  # standard February: both FY2025-Q2
    assert w["period_start"].tolist() == [pd.Timestamp("2024-02-04"), pd.Timestamp("2024-05-05")]
    k = funnel.kpis(org, as_of="2024-06-30", period="Q", fiscal_year_start_month=2)
    assert "custom fiscal periods" in k.attrs["note"]
    # another start month is the standard fiscal year starting then, as the convention says
    april = funnel.win_rates(org, as_of="2024-06-30", period="Q", fiscal_year_start_month=4)
    assert april["fiscal_period"].tolist() == ["FY2025-Q1"] and april["period_start"].iloc[0] == pd.Timestamp(
        "2024-04-01"
    )


def test_forecast_pipeline_and_quarters_follow_the_custom_quarters(org):
    w = forecast.weighted_pipeline(org, as_of="2024-06-30", period="Q", fiscal_year_start_month=2)
    assert sorted(set(w["fiscal_period"])) == ["FY2025-Q2", "FY2025-Q3"]  # 08-03 in Q2, 08-04 in Q3
    assert set(w.loc[w["fiscal_period"] == "FY2025-Q3", "period_start"]) == {pd.Timestamp("2024-08-04")}
    cal = org.meta["fiscal_calendar"]
    q = quarter_bounds(as_of="2025-01-01", quarters_ahead=1, fiscal_year_start_month=cal)
    assert (q.fiscal_period, q.period_start, q.period_end) == (
        "FY2026-Q1",
        pd.Timestamp("2025-02-02"),
        pd.Timestamp("2025-05-03"),
    )
    # FY2026-Q1 ended 2025-05-03; the days whose next quarter is over: the ends of FY2025-Q3 and Q4
    ends = past_quarter_ends(as_of="2025-05-10", n=2, fiscal_year_start_month=cal)
    assert ends.tolist() == [pd.Timestamp("2024-11-02"), pd.Timestamp("2025-02-01")]


def test_velocity_and_the_waterfall_follow_the_custom_quarters(org):
    v = velocity.sales_velocity(org, as_of="2024-12-31", period="Q", fiscal_year_start_month=2, n_boot=20)
    assert v["period"].tolist()[:2] == ["FY2025-Q1", "FY2025-Q2"]
    wf = pipeline_waterfall(org, as_of="2024-06-30", fiscal_year_start_month=2).summary.iloc[0]
    assert (wf["period"], wf["start_date"], wf["end_date"]) == (
        "FY2025-Q1",
        pd.Timestamp("2024-02-03"),
        pd.Timestamp("2024-05-04"),
    )


def test_a_deal_outside_the_calendar_is_one_clear_error(tmp_path):
    (tmp_path / "Period.csv").write_text(PERIOD_CSV)
    (tmp_path / "profile.yaml").write_text("fiscal_year: {periods: Period.csv}\n")
    early = OPPS.assign(CloseDate=["2024-01-15", "2024-05-05", "2024-08-03", "2024-08-04"])
    org = apply_profile(load_frames({"Opportunity": early}), profile=load_profile(tmp_path / "profile.yaml"))
    with pytest.raises(OutsideFiscalCalendar, match=r"2024-01-15 .* outside the custom fiscal calendar.*Period"):
        funnel.win_rates(org, as_of="2024-06-30", period="Q", fiscal_year_start_month=2)


def test_periods_without_year_rows_take_their_years_from_the_settings_ids(tmp_path):
    rows = [line for line in PERIOD_CSV.splitlines(keepends=True) if ",Year," not in line]
    (tmp_path / "Period.csv").write_text("".join(rows))
    (tmp_path / "profile.yaml").write_text("fiscal_year: {start_month: 2, periods: Period.csv}\n")
    cal = profile_calendar(load_profile(tmp_path / "profile.yaml"))
    assert isinstance(cal, FiscalCalendar) and (cal.first_day, cal.last_day) == (
        pd.Timestamp("2024-02-04"),
        pd.Timestamp("2025-08-02"),  # FY2026's year is as far as its listed quarters reach
    )
    (tmp_path / "Period.csv").write_text("Type,StartDate,EndDate\nQuarter,2024-02-04,2024-05-04\n")
    with pytest.raises(ProfileError, match="expected Year periods"):
        profile_calendar(load_profile(tmp_path / "profile.yaml"))


def test_reconciliation_compares_in_the_custom_quarters(org, tmp_path):
    from funnel_analysis.reconcile import report as reconcile

    figures = tmp_path / "salesforce_figures.csv"
    # FY2025-Q1 of the 4-4-5 calendar holds the deal won on 2024-05-04 and no lost one: win rate 1.0;
    # in the standard February year the deal lost on 2024-05-05 would share its quarter (0.5)
    figures.write_text("figure,period,value\nwin_rate,FY2025-Q1,1.0\nwin_rate,FY2025-Q2,0.0\n")
    out = reconcile.reconcile_figures(org, figures_file=str(figures), as_of="2024-12-31", fiscal_year_start_month=2)
    assert out["status"].tolist() == ["matches", "matches"], out[["period", "product_value", "status"]]
