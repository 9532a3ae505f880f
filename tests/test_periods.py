"""funnel_analysis.periods: fiscal labels, named by the year in which the fiscal year ends."""

import pandas as pd
import pytest

from funnel_analysis.periods import fiscal_period, last_complete_period


def test_calendar_quarters():
    out = fiscal_period(pd.Series(pd.to_datetime(["2024-01-01", "2024-03-31", "2024-04-01", "2024-12-31"])))
    assert out["fiscal_period"].tolist() == ["FY2024-Q1", "FY2024-Q1", "FY2024-Q2", "FY2024-Q4"]
    assert out["period_start"].tolist() == [
        pd.Timestamp(d) for d in ["2024-01-01", "2024-01-01", "2024-04-01", "2024-10-01"]
    ]
    assert out["period_end"].iloc[1] == pd.Timestamp("2024-03-31")


def test_april_fiscal_year_is_named_by_its_end():
    # FY starting April: Apr 2024 - Mar 2025 ends in 2025, so it is FY2025; March 2024 is FY2024's Q4
    out = fiscal_period(["2024-03-31", "2024-04-01", "2025-01-15"], fiscal_year_start_month=4)
    assert out["fiscal_period"].tolist() == ["FY2024-Q4", "FY2025-Q1", "FY2025-Q4"]
    assert out["fiscal_year"].tolist() == [2024, 2025, 2025]
    assert out["period_start"].iloc[2] == pd.Timestamp("2025-01-01")
    start = fiscal_period(["2024-04-01"], fiscal_year_start_month=4, year_named_by="start")
    assert start["fiscal_period"].iloc[0] == "FY2024-Q1"


def test_months_and_years():
    # Feb start: Feb 2024 is month 1 of FY2025; Jan 2024 is month 12 of FY2024 (Feb 2023 - Jan 2024)
    m = fiscal_period(["2024-02-15", "2024-01-31"], period="M", fiscal_year_start_month=2)
    assert m["fiscal_period"].tolist() == ["FY2025-M01", "FY2024-M12"]
    y = fiscal_period(["2024-02-15"], period="Y", fiscal_year_start_month=2)
    assert y["fiscal_period"].iloc[0] == "FY2025"
    assert (y["period_start"].iloc[0], y["period_end"].iloc[0]) == (
        pd.Timestamp("2024-02-01"),
        pd.Timestamp("2025-01-31"),
    )


def test_tz_aware_uses_the_local_date_and_keeps_index_and_missing():
    s = pd.Series(pd.to_datetime(["2024-03-31 23:30", None]).tz_localize("UTC"), index=[7, 9])
    out = fiscal_period(s)
    assert list(out.index) == [7, 9]
    assert out.loc[7, "fiscal_period"] == "FY2024-Q1"  # 23:30 UTC on 31 March is still March
    assert pd.isna(out.loc[9, "fiscal_period"]) and pd.isna(out.loc[9, "period_start"])
    assert str(out["period_start"].dtype) == "datetime64[us]"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"period": "W"}, "period"),
        ({"fiscal_year_start_month": 13}, "1-12"),
        ({"year_named_by": "middle"}, "year_named_by"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fiscal_period(["2024-01-01"], **kwargs)


def test_not_dates():
    with pytest.raises(ValueError, match="dates"):
        fiscal_period(["not a date"])


@pytest.mark.parametrize(
    "as_of, freq, start_month, expected",
    [
        # mid-quarter: the quarter before; FY from February: Q1 Feb-Apr, Q2 May-Jul, Q3 Aug-Oct
        ("2024-08-15", "Q", 2, ("FY2025-Q2", "2024-05-01", "2024-07-31", "2024-04-30")),
        # the last day of a quarter: that quarter is complete at the end of the day
        ("2024-06-30", "Q", 1, ("FY2024-Q2", "2024-04-01", "2024-06-30", "2024-03-31")),
        ("2024-07-01", "Q", 1, ("FY2024-Q2", "2024-04-01", "2024-06-30", "2024-03-31")),
        # January with a calendar year: the previous year's December
        ("2025-01-10", "M", 1, ("FY2024-M12", "2024-12-01", "2024-12-31", "2024-11-30")),
        ("2025-03-01", "Y", 4, ("FY2024", "2023-04-01", "2024-03-31", "2023-03-31")),
    ],
)
def test_last_complete_period_by_hand(as_of, freq, start_month, expected):
    got = last_complete_period(as_of=as_of, period=freq, fiscal_year_start_month=start_month)
    assert (
        got["fiscal_period"],
        *(str(got[k].date()) for k in ("period_start", "period_end", "day_before")),
    ) == expected


def test_last_complete_period_rejects_bad_input():
    with pytest.raises(ValueError, match="period"):
        last_complete_period(as_of="2024-01-01", period="W")
    with pytest.raises(ValueError, match="missing"):
        last_complete_period(as_of=pd.NaT)
