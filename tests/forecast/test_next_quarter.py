"""Next-quarter forecast on the generated sample org (scale 0.25): parts checked against plain pandas on
the export's CSV files, intervals ordered, nothing learned from after the as-of date."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import funnel_analysis as fa
from funnel_analysis.forecast import FiscalQuarter, bookings_series, next_quarter_forecast, quarter_bounds
from tests.export_csv import kept, to_usd

AS_OF = pd.Timestamp("2024-11-15")


@functools.cache
def load_sample(path):
    """The sample org loaded once per session: ``forecast/test_backtest.py`` shares it (both only read it)."""
    return fa.load_org(path)


@pytest.fixture(scope="module")
def crm(sample_org):
    return load_sample(sample_org[0])


def _state_on(org, day):
    """Each opportunity's last history row on or before ``day`` (plain pandas on the CSV files)."""
    opps = kept(org, "Opportunity.csv")
    hist = kept(org, "OpportunityHistory.csv")
    # 15-character IDs are the case-sensitive prefix of the 18-character ones: join on the prefix
    hist = hist.assign(OpportunityId=hist["OpportunityId"].str[:15])
    hist = hist[hist["OpportunityId"].isin(opps["Id"].str[:15])].copy()
    hist["when"] = pd.to_datetime(hist["CreatedDate"], utc=True, format="ISO8601").dt.tz_localize(None)
    hist = hist[hist["when"] < day + pd.Timedelta(days=1)].reset_index().sort_values(["when", "index"], kind="stable")
    last = hist.drop_duplicates("OpportunityId", keep="last")
    stages = pd.read_csv(org / "OpportunityStage.csv", dtype=str)
    stages["key"] = stages["MasterLabel"].str.strip().str.casefold()
    st = stages.set_index("key")
    key = last["StageName"].str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()
    return pd.DataFrame(
        {
            "id": last["OpportunityId"].to_numpy(),
            "amount": to_usd(org, last).to_numpy(dtype=float),  # each row at the rate of its own close date
            "close": pd.to_datetime(last["CloseDate"]).to_numpy(),
            "closed": key.map(st["IsClosed"].str.lower() == "true").to_numpy(dtype=bool),
            "won": key.map(st["IsWon"].str.lower() == "true").to_numpy(dtype=bool),
            "p": key.map(st["DefaultProbability"].astype(float) / 100).to_numpy(),
        }
    )


def test_parts_match_plain_pandas(crm, sample_org):
    nq = next_quarter_forecast(crm, as_of=AS_OF)
    assert nq["fiscal_period"].tolist() == ["FY2024-Q4", "FY2025-Q1"]
    s = _state_on(sample_org[0], AS_OF)
    q_start, q_end = pd.Timestamp("2024-10-01"), pd.Timestamp("2024-12-31")
    won = s[s["won"] & (s["close"] >= q_start) & (s["close"] <= AS_OF)]["amount"].sum()
    open_ = s[~s["closed"]]
    due = open_[open_["close"] <= q_end]
    row = nq.iloc[0]
    assert row["won_to_date"] == pytest.approx(won)
    assert row["open_deals"] == len(open_)  # (every deal of this org has a history row by then)
    assert row["configured_weighted"] == pytest.approx(won + (due["amount"].fillna(0) * due["p"]).sum())
    # next quarter: nothing won yet; the configured baseline counts deals due by its end
    nxt = nq.iloc[1]
    due2 = open_[open_["close"] <= pd.Timestamp("2025-03-31")]
    assert nxt["won_to_date"] == 0
    assert nxt["configured_weighted"] == pytest.approx((due2["amount"].fillna(0) * due2["p"]).sum())


def test_forecast_is_the_sum_of_its_parts_and_intervals_nest(crm):
    nq = next_quarter_forecast(crm, as_of=AS_OF)
    total = nq["won_to_date"] + nq["pipeline_expected"] + nq["new_deals_expected"]
    assert np.allclose(nq["forecast"], total)
    cols = ["forecast_ci_low_95", "forecast_ci_low_80", "forecast", "forecast_ci_high_80", "forecast_ci_high_95"]
    for lo95, lo80, f, hi80, hi95 in nq[cols].to_numpy():
        assert lo95 <= lo80 <= f <= hi80 <= hi95
    # the open pipeline cannot be expected to bring more than it holds
    assert (nq["pipeline_expected"] >= 0).all() and (nq["snapshots"] >= 2).all()


def test_nothing_is_learned_from_after_the_as_of_date(crm):
    # the org cut at the date (later deals and history gone) gives the very same forecast
    past = crm.as_of(AS_OF)
    pd.testing.assert_frame_equal(next_quarter_forecast(crm, as_of=AS_OF), next_quarter_forecast(past, as_of=AS_OF))


def test_too_little_history_is_a_clear_error(crm):
    with pytest.raises(ValueError, match=r"past quarter\(s\) to learn from"):
        next_quarter_forecast(crm, as_of="2023-05-01")


def test_one_level_and_one_quarter(crm):
    nq = next_quarter_forecast(crm, as_of=AS_OF, quarters_ahead=1, confidence=0.9)
    assert nq["quarters_ahead"].tolist() == [1] and nq["fiscal_period"].tolist() == ["FY2025-Q1"]
    assert {"forecast_ci_low", "forecast_ci_high"} <= set(nq.columns)
    assert not any(c.startswith("forecast_ci_low_") for c in nq.columns)
    with pytest.raises(ValueError, match="confidence"):
        next_quarter_forecast(crm, as_of=AS_OF, confidence=(80, 95))


def test_quarter_bounds_fiscal_year():
    assert quarter_bounds(as_of="2024-02-10", fiscal_year_start_month=2) == FiscalQuarter(
        "FY2025-Q1",
        pd.Timestamp("2024-02-01"),
        pd.Timestamp("2024-04-30"),
    )
    # two quarters on, and one back across the fiscal year
    assert quarter_bounds(as_of="2024-02-10", quarters_ahead=2, fiscal_year_start_month=2).fiscal_period == "FY2025-Q3"
    q = quarter_bounds(as_of="2024-02-10", quarters_ahead=-1, fiscal_year_start_month=2)
    assert (q.fiscal_period, q.period_start, q.period_end) == (
        "FY2024-Q4",
        pd.Timestamp("2023-11-01"),
        pd.Timestamp("2024-01-31"),
    )
    with pytest.raises(ValueError, match="fiscal_year_start_month"):
        quarter_bounds(as_of="2024-02-10", fiscal_year_start_month=13)
    with pytest.raises(ValueError, match="as_of"):
        quarter_bounds(as_of="not a day")


def test_bookings_series_by_hand():
    o = pd.DataFrame(
        {
            "is_won": [True, True, True, False],
            "amount": [10.0, 5.0, None, 99.0],
            "close_date": pd.to_datetime(["2024-01-01", "2024-01-09", "2024-01-10", "2024-01-02"]),
        }
    )
    # weeks end on Sunday: 2024-01-01 (Mon) is in the week of Jan 1-7; Jan 9 and 10 in Jan 8-14
    s = bookings_series(o, as_of="2024-01-21", period="W", start=None)
    assert s.index.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert s.tolist() == [10.0, 5.0, 0.0]
    assert bookings_series(o, as_of="2024-01-21", period="W", value="count", start=None).tolist() == [1.0, 2.0, 0.0]


def test_bookings_series_errors():
    o = pd.DataFrame({"is_won": [False], "amount": [1.0], "close_date": pd.to_datetime(["2024-01-01"])})
    with pytest.raises(ValueError, match="no won deal"):
        bookings_series(o, as_of="2024-02-01")
    with pytest.raises(ValueError, match="period must be"):
        bookings_series(o, as_of="2024-02-01", period="D")


# --- where the learning starts (bug 10: a sparse imported prologue before the org's real start) -------------


def imported_then_regular(created=("2023-01-05", "2023-01-05")):
    """Two won deals imported with close dates in 2021 (2021-03-10 for 700, 2021-09-20 for 900; created on
    ``created``; ``None``: no such deals), then one won deal a month from 2023-01 to 2024-12, created on the
    1st and closed on the 15th for 1000 + 10 k (k = 0..23). ``forecast/test_backtest.py`` uses it too."""
    from funnel_analysis.crm import load_frames

    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    old = pd.DataFrame({"CreatedDate": created or [], "CloseDate": ["2021-03-10", "2021-09-20"][: len(created or [])]})
    regular = pd.DataFrame(
        {"CreatedDate": months.strftime("%Y-%m-%d"), "CloseDate": (months + pd.Timedelta(days=14)).strftime("%Y-%m-%d")}
    )
    opps = pd.concat(
        [old.assign(Amount=[700.0, 900.0][: len(old)]), regular.assign(Amount=1000.0 + 10 * np.arange(24))]
    )
    opps = opps.assign(Id=[f"006{i:03d}" for i in range(len(opps))], StageName="Closed Won", IsClosed=True, IsWon=True)
    return load_frames({"Opportunity": opps.reset_index(drop=True)})


def test_bookings_series_auto_starts_where_regular_activity_starts():
    o = imported_then_regular().tables["opportunities"]
    s = bookings_series(o, as_of="2024-12-31", period="M")
    # the 22 months 2021-03 .. 2022-12 hold two deals: the series starts in 2023-01 (the old rule, the first
    # won month from the 1 % quantile of the close dates, 2021-04-27, on, started in 2021-09)
    assert s.index[0] == pd.Timestamp("2023-01-01") and s.tolist() == [1000.0 + 10 * k for k in range(24)]
    assert bookings_series(o, as_of="2024-12-31", period="M", start=None).index[0] == pd.Timestamp("2021-03-01")
    assert bookings_series(o, as_of="2024-12-31", period="M", start="2023-02-10").index[0] == pd.Timestamp("2023-02-01")


@pytest.mark.parametrize(
    "created, imported",
    [(("2023-01-05", "2023-01-05"), 2), (("2021-03-01", "2021-09-01"), 0)],
    ids=["closed-before-created", "created-in-2021"],
)
def test_next_quarter_learns_from_regular_bookings_and_says_what_it_left_out(created, imported):
    nq = next_quarter_forecast(imported_then_regular(created), as_of="2024-06-30", quarters_ahead=1)
    row = nq.iloc[0]
    # learning starts at the first regular deals (the two closed before the regular bookings of 2023-01 are
    # left out; 1 % quantile of the 24 others' creation dates: 2023-01-08): snapshots on the quarter ends
    # 2024-03-31, 2023-12-31, 2023-09-30, whose 182-day run-rate windows start after it (2023-06-30 - 182
    # days = 2022-12-30 is before it). With the deals created in 2021 the old start (the 1 % quantile of all
    # creation dates, 2021-04) also took the quarter ends 2021-12-31 .. 2023-06-30: 10 snapshots
    assert row["snapshots"] == 3
    # every won deal was created after its snapshot: the whole forecast is the run-rate of 2024-01-01 ..
    # 2024-06-30 (k = 12..17: 6000 + 10 x 87 = 6870) x 92 days of 2024Q3 / 182
    assert row["forecast"] == pytest.approx(6870 * 92 / 182)
    # the two 2021 deals are left out, in the 22 months 2021-03 .. 2022-12, and said to be
    assert (row["left_out_periods"], row["left_out_deals"], row["left_out_amount"]) == (22, 2, 1600.0)
    assert row["note"].startswith("Left out before 2023-01-01: 2 won deals (1,600) in 22 months")
    assert f"{imported} of these deals closed before their creation date" in row["note"]


def test_nothing_left_out_when_the_history_has_no_prologue():
    # the same org without the two imported deals: nothing left out, an empty note, the same forecast
    row = next_quarter_forecast(imported_then_regular(None), as_of="2024-06-30", quarters_ahead=1).iloc[0]
    assert (row["left_out_periods"], row["left_out_deals"], row["left_out_amount"], row["note"]) == (0, 0, 0.0, "")
    assert row["forecast"] == pytest.approx(6870 * 92 / 182)
