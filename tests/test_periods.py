"""funnel_analysis.periods: fiscal labels, named by the year in which the fiscal year ends."""

import pandas as pd
import pytest

from funnel_analysis.periods import (
    FiscalCalendar,
    OutsideFiscalCalendar,
    fiscal_calendar,
    fiscal_period,
    last_complete_period,
    period_bounds,
)


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


# --- a custom 4-4-5 calendar (Salesforce's Period rows), boundaries worked out by hand -----------------
# FY2025: 52 weeks from Sunday 2024-02-04 to Saturday 2025-02-01; quarters of 13 weeks (4 + 4 + 5);
# FY2026 starts 2025-02-02 (only its first quarter and month are defined here).

PERIODS_445 = [
    ("Year", "2024-02-04", "2025-02-01"),
    ("Quarter", "2024-02-04", "2024-05-04"),
    ("Quarter", "2024-05-05", "2024-08-03"),
    ("Quarter", "2024-08-04", "2024-11-02"),
    ("Quarter", "2024-11-03", "2025-02-01"),
    ("Month", "2024-02-04", "2024-03-02"),  # 4 weeks
    ("Month", "2024-03-03", "2024-03-30"),  # 4 weeks
    ("Month", "2024-03-31", "2024-05-04"),  # 5 weeks
    ("Year", "2025-02-02", "2026-01-31"),
    ("Quarter", "2025-02-02", "2025-05-03"),
    ("Month", "2025-02-02", "2025-03-01"),
    ("Week", "2024-02-04", "2024-02-10"),  # weeks are ignored
]


def test_445_quarters_at_their_boundaries():
    cal = FiscalCalendar.from_periods(PERIODS_445, source="Period.csv")
    assert cal.start_month == 2 and cal.custom
    days = ["2024-02-04", "2024-05-04", "2024-05-05", "2024-08-03", "2024-08-04", "2025-02-01", "2025-02-02"]
    out = fiscal_period(days, fiscal_year_start_month=cal)
    assert out["fiscal_period"].tolist() == [
        "FY2025-Q1",
        "FY2025-Q1",
        "FY2025-Q2",
        "FY2025-Q2",
        "FY2025-Q3",
        "FY2025-Q4",
        "FY2026-Q1",
    ]
    assert out["fiscal_year"].tolist() == [2025] * 6 + [2026]
    assert out["period_start"].iloc[2] == pd.Timestamp("2024-05-05")
    assert out["period_end"].iloc[2] == pd.Timestamp("2024-08-03")
    # the standard February year puts 2024-05-04 in Q2 (May-July) and 2025-02-01 in FY2026: the calendar matters
    std = fiscal_period(["2024-05-04", "2025-02-01"], fiscal_year_start_month=2)["fiscal_period"].tolist()
    assert std == ["FY2025-Q2", "FY2026-Q1"]


def test_445_months_and_years():
    cal = FiscalCalendar.from_periods(PERIODS_445)
    m = fiscal_period(
        ["2024-03-02", "2024-03-03", "2024-03-30", "2024-03-31", "2024-05-04"], period="M", fiscal_year_start_month=cal
    )
    assert m["fiscal_period"].tolist() == ["FY2025-M01", "FY2025-M02", "FY2025-M02", "FY2025-M03", "FY2025-M03"]
    y = fiscal_period(["2025-02-01", "2025-02-02"], period="Y", fiscal_year_start_month=cal)
    assert y["fiscal_period"].tolist() == ["FY2025", "FY2026"]
    assert y["period_end"].iloc[0] == pd.Timestamp("2025-02-01")


def test_445_last_complete_and_shifted_periods():
    cal = FiscalCalendar.from_periods(PERIODS_445)
    done = last_complete_period(as_of="2024-05-04", fiscal_year_start_month=cal)  # Q1 ends that day
    assert done["fiscal_period"] == "FY2025-Q1"
    later = last_complete_period(as_of="2024-05-10", fiscal_year_start_month=cal)
    assert (later["fiscal_period"], later["day_before"]) == ("FY2025-Q1", pd.Timestamp("2024-02-03"))
    nxt = period_bounds(as_of="2025-01-15", offset=1, fiscal_year_start_month=cal)
    assert (nxt["fiscal_period"], nxt["period_start"], nxt["period_end"]) == (
        "FY2026-Q1",
        pd.Timestamp("2025-02-02"),
        pd.Timestamp("2025-05-03"),
    )
    with pytest.raises(OutsideFiscalCalendar, match="outside the custom fiscal calendar"):
        period_bounds(as_of="2025-01-15", offset=2, fiscal_year_start_month=cal)


def test_445_date_outside_the_calendar_is_one_clear_error():
    cal = FiscalCalendar.from_periods(PERIODS_445, source="/org/Period.csv")
    with pytest.raises(OutsideFiscalCalendar, match=r"2024-02-03 \(1 date\(s\) in all\) is outside .*/org/Period.csv"):
        fiscal_period(["2024-02-03", "2024-02-04"], fiscal_year_start_month=cal)
    with pytest.raises(ValueError, match="outside"):  # a gap: FY2026-Q2 is not defined
        fiscal_period(["2025-05-04"], fiscal_year_start_month=cal)
    out = fiscal_period(pd.Series([None, "2024-02-04"]), fiscal_year_start_month=cal)  # missing stays missing
    assert pd.isna(out["fiscal_period"].iloc[0]) and out["fiscal_period"].iloc[1] == "FY2025-Q1"


def test_calendar_from_a_month_and_bad_calendars():
    cal = FiscalCalendar.from_periods(PERIODS_445)
    assert fiscal_calendar(fiscal_year_start_month=2, org=cal) is cal  # the org's own month means its custom periods
    assert fiscal_calendar(fiscal_year_start_month=4, org=cal) == FiscalCalendar(4)  # another month: the standard year
    with pytest.raises(ValueError, match="expected Year periods"):
        FiscalCalendar.from_periods([("Quarter", "2024-02-04", "2024-05-04")])
    with pytest.raises(ValueError, match="overlap"):
        FiscalCalendar.from_periods([("Year", "2024-02-04", "2025-02-01"), ("Year", "2025-01-01", "2025-12-31")])
    with pytest.raises(ValueError, match="no Month periods"):
        fiscal_period(["2024-02-04"], period="M", fiscal_year_start_month=FiscalCalendar.from_periods(PERIODS_445[:5]))
