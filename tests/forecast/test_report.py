"""forecast.report: each section's entry point, on the tiny hand-built org of ``test_pipeline`` (values counted
by hand) and, for the sections that need years of history, on the generated sample org against plain pandas.

The tiny org on 2024-06-30: O1 Discover 1000 due 08-15 (owner 1), O2 Propose 2000 due 09-30 (owner 2, was
Discover 1500 due 06-30 until 05-15), O3 Propose 400 due 05-31 (overdue), O4 Discover 500 due 11-01, O5 won 700
on 06-10, O6 lost 300 on 06-05 (owners 1). The last creation in the data is 2024-06-20 (O4).
"""

from __future__ import annotations

import pandas as pd
import pytest

import funnel_analysis as fa
from funnel_analysis.crm import load_frames
from funnel_analysis.forecast import report
from tests.export_csv import fold, kept, to_usd, won_by_quarter
from tests.forecast.test_next_quarter import _state_on, load_sample
from tests.forecast.test_pipeline import HIST, OPPS, STAGES

AS_OF = "2024-06-30"
OWNER2 = "owner_id == '005000000000002AAA'"


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_org")
    for name, text in {"OpportunityStage.csv": STAGES, "Opportunity.csv": OPPS, "OpportunityHistory.csv": HIST}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return fa.load_org(folder)


@pytest.fixture(scope="module")
def sample(sample_org):
    return load_sample(sample_org[0])


def test_weighted_pipeline_configured_then_learned(org):
    wp = report.weighted_pipeline(org, as_of=AS_OF)
    assert wp["probabilities"].tolist() == ["configured"] * 3 + ["learned"] * 3
    conf = wp[wp["probabilities"] == "configured"].set_index("fiscal_period")
    assert conf["weighted_amount"].to_dict() == pytest.approx(
        {"FY2024-Q2": 200.0, "FY2024-Q3": 1200.0, "FY2024-Q4": 100.0}
    )
    learned = wp[wp["probabilities"] == "learned"].set_index("fiscal_period")
    assert learned["open_amount"].to_dict() == conf["open_amount"].to_dict()
    # learned from the 2024-03-31 snapshot: only (Discover, 30-89 days) was seen; today O1 and O4 are Discover
    # but younger than 30 days and O2, O3 are Propose: no learned rate for any of them
    assert learned["weighted_amount"].sum() == 0 and learned["no_probability"].sum() == 4
    # one set alone
    only = report.weighted_pipeline(org, as_of=AS_OF, probabilities="configured")
    assert (only["probabilities"] == "configured").all() and len(only) == 3


def test_weighted_pipeline_where_by_and_default_day(org):
    wp = report.weighted_pipeline(org, as_of=AS_OF, where=OWNER2)
    # O2 alone: 2000 x 50 % configured; learned from its own snapshot (not won) the Discover cell is 0, and
    # today it is Propose: no rate
    assert wp[
        ["fiscal_period", "probabilities", "open_amount", "weighted_amount", "no_probability"]
    ].values.tolist() == [
        ["FY2024-Q3", "configured", 2000.0, 1000.0, 0],
        ["FY2024-Q3", "learned", 2000.0, 0.0, 1],
    ]
    by = report.weighted_pipeline(org, as_of=AS_OF, by="owner_id", probabilities="configured")
    q3 = by[by["fiscal_period"] == "FY2024-Q3"].set_index("owner_id")["weighted_amount"]
    assert q3.to_dict() == pytest.approx({"005000000000001AAA": 200.0, "005000000000002AAA": 1000.0})
    # as_of "" (or None) is the latest day in the data; by "" is no breakdown
    pd.testing.assert_frame_equal(
        report.weighted_pipeline(org, as_of="", by=""), report.weighted_pipeline(org, as_of="2024-06-20")
    )


def test_weighted_pipeline_errors(org):
    with pytest.raises(ValueError, match="probabilities must be"):
        report.weighted_pipeline(org, as_of=AS_OF, probabilities=("configured", "guessed"))
    with pytest.raises(ValueError):
        report.weighted_pipeline(org, as_of=AS_OF, where="owner_id ==")
    with pytest.raises(TypeError):
        report.weighted_pipeline(org, AS_OF)  # everything after the org is keyword-only


def test_forecast_categories_last_periods_and_where(org):
    cats = report.forecast_categories(org, as_of=AS_OF, last_periods=1, where="amount >= 1000")
    # O1 (1000, Pipeline) and O2 (2000, Commit), both due in Q3
    t = cats.set_index("forecast_category")
    assert cats["fiscal_period"].unique().tolist() == ["FY2024-Q3"]
    assert t["amount"].to_dict() == {
        "Closed": 0.0,
        "Commit": 2000.0,
        "Best Case": 0.0,
        "Pipeline": 1000.0,
        "Omitted": 0.0,
    }
    every = report.forecast_categories(org, as_of=AS_OF, by="")
    assert every["fiscal_period"].unique().tolist() == ["FY2024-Q2", "FY2024-Q3", "FY2024-Q4"]
    with pytest.raises(ValueError, match="last_periods"):
        report.forecast_categories(org, as_of=AS_OF, last_periods=0)


def test_probability_calibration_where(org):
    cal = report.probability_calibration(org, as_of=AS_OF, where="owner_id == '005000000000001AAA'")
    conf = cal[cal["probabilities"] == "configured"]
    # O3, O5, O6 open and due at the 2024-03-31 snapshot, all Discover (20 %); O5 won
    assert conf["n"].sum() == 3 and conf["observed"].iloc[0] == pytest.approx(1 / 3)
    assert conf["brier"].iloc[0] == pytest.approx((0.8**2 + 2 * 0.2**2) / 3)
    with pytest.raises(ValueError, match="no fiscal period ended"):
        report.probability_calibration(org, as_of="2024-01-20")


def test_bookings_forecast_history_is_the_won_amount(sample, sample_org):
    bf = report.bookings_forecast(sample, as_of="2025-06-30", period="Q", horizon=2, methods="naive,theta")
    won = won_by_quarter(sample_org[0])
    got = bf.history.copy()
    got.index = pd.PeriodIndex(got.index, freq="Q")
    assert got.to_dict() == pytest.approx(won.reindex(got.index).fillna(0).to_dict())
    assert got.index[-1] == pd.Period("2025Q2")
    # what came before the series' start is left out and counted: plain pandas on the CSV
    o = kept(sample_org[0], "Opportunity.csv")
    o = o[fold(o["IsWon"]).isin(["true", "1"])]
    before = pd.to_datetime(o["CloseDate"]) < got.index[0].start_time
    assert bf.left_out_deals == int(before.sum()) > 0
    assert bf.left_out_amount == pytest.approx(to_usd(sample_org[0], o.loc[before]).fillna(0).sum())
    assert bf.left_out_amount + got.sum() == pytest.approx(won[won.index <= pd.Period("2025Q2")].sum())
    assert bf.forecast["ds"].dt.strftime("%Y-%m-%d").tolist() == ["2025-07-01", "2025-10-01"]
    assert set(bf.scores["method"]) == {"naive", "snaive", "theta"} and bf.method == bf.forecast["method"].iloc[0]
    assert {"yhat_ci_low_80", "yhat_ci_high_95"} <= set(bf.forecast.columns)
    with pytest.raises(ValueError, match="too_short"):
        report.bookings_forecast(sample, as_of="2024-12-31", period="Q", horizon=40, methods="naive")


def test_next_quarter_forecast_where_one_owner(sample, sample_org):
    owner = sample.opportunities["owner_id"].value_counts().index[0]
    nq = report.next_quarter_forecast(sample, as_of="2024-11-15", where=f"owner_id == '{owner}'", quarters_ahead=0)
    # plain pandas: the owner's deals as they stood on the day, from the CSV files
    day = pd.Timestamp("2024-11-15")
    s = _state_on(sample_org[0], day)
    opps = kept(sample_org[0], "Opportunity.csv")
    mine = set(opps.loc[opps["OwnerId"].str[:15] == owner[:15], "Id"].str[:15])
    s = s[s["id"].isin(mine)]
    won = s[s["won"] & (s["close"] >= pd.Timestamp("2024-10-01")) & (s["close"] <= day)]["amount"].sum()
    row = nq.iloc[0]
    assert row["fiscal_period"] == "FY2024-Q4" and row["quarters_ahead"] == 0
    assert row["won_to_date"] == pytest.approx(won)
    assert row["open_deals"] == (~s["closed"]).sum()
    everyone = report.next_quarter_forecast(sample, as_of="2024-11-15", quarters_ahead=0).iloc[0]
    assert row["open_deals"] < everyone["open_deals"]
    with pytest.raises(ValueError, match=r"past quarter\(s\) to learn from"):
        report.next_quarter_forecast(sample, as_of="2023-05-01")


def test_backtest_next_quarter_on_the_past_quarter_ends(sample, sample_org):
    bt = report.backtest_next_quarter(sample, as_of="2024-12-31", quarters=2, ts_methods="theta")
    # the last two quarter ends whose next quarter is over by 2024-12-31
    assert sorted(bt.results["as_of"].unique()) == [pd.Timestamp("2024-06-30"), pd.Timestamp("2024-09-30")]
    won = won_by_quarter(sample_org[0])
    actual = bt.results.drop_duplicates("as_of").set_index("fiscal_period")["actual"]
    assert actual.to_dict() == pytest.approx(
        {"FY2024-Q3": won[pd.Period("2024Q3")], "FY2024-Q4": won[pd.Period("2024Q4")]}
    )
    assert set(bt.summary["method"]) == {
        "pipeline",
        "configured_weighted",
        "last_period",
        "seasonal_naive",
        "ts_theta",
        "time_series",
    }
    assert (bt.summary["n"] == 2).all() and (bt.summary["quarters_ahead"] == 1).all()
    with pytest.raises(ValueError, match="n must be"):
        report.backtest_next_quarter(sample, as_of="2024-12-31", quarters=0)


def _imported_then_regular():
    """Two deals imported on 2023-01-05 with close dates in 2021 (700, 900), then one won deal a month
    from 2023-01 to 2024-12, closed on the 15th for 1000 + 10 k (k = 0..23)."""
    import numpy as np

    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    ids = [f"006{i:03d}" for i in range(26)]
    return load_frames(
        {
            "Opportunity": pd.DataFrame(
                {
                    "Id": ids,
                    "StageName": "Closed Won",
                    "Amount": [700.0, 900.0, *(1000.0 + 10 * np.arange(24))],
                    "CreatedDate": ["2023-01-05", "2023-01-05", *months.strftime("%Y-%m-%d")],
                    "CloseDate": ["2021-03-10", "2021-09-20", *(months + pd.Timedelta(days=14)).strftime("%Y-%m-%d")],
                    "IsClosed": True,
                    "IsWon": True,
                }
            )
        }
    )


def test_bookings_forecast_starts_where_regular_activity_starts():
    crm = _imported_then_regular()
    bf = report.bookings_forecast(crm, as_of="2024-12-31", period="M", horizon=2, methods="naive")
    # the 22 months 2021-03 .. 2022-12 hold two deals (1600): left out, the series starts in 2023-01
    assert bf.history.index[0] == pd.Timestamp("2023-01-01") and len(bf.history) == 24
    assert bf.history.tolist() == [1000.0 + 10 * k for k in range(24)]
    assert (bf.left_out_periods, bf.left_out_deals, bf.left_out_amount) == (22, 2, 1600.0)
    assert bf.note.startswith("Left out before 2023-01-01: 2 won deals (1,600) in 22 months")
    assert "2 of these deals closed before their creation date" in bf.note
    # start=None keeps every period from the first win; nothing is said to be left out
    full = report.bookings_forecast(crm, as_of="2024-12-31", period="M", horizon=2, methods="naive", start=None)
    assert full.history.index[0] == pd.Timestamp("2021-03-01") and len(full.history) == 46
    assert (full.left_out_periods, full.note) == (0, "")
    # a given start: its period
    given = report.bookings_forecast(
        crm, as_of="2024-12-31", period="M", horizon=2, methods="naive", start="2023-02-10"
    )
    assert given.history.index[0] == pd.Timestamp("2023-02-01")
    assert (given.left_out_periods, given.left_out_deals, given.left_out_amount) == (23, 3, 2600.0)


def test_bookings_forecast_too_short_after_the_prologue_says_what_it_left_out():
    crm = _imported_then_regular()
    # on 2023-06-30 the regular part is 2023-01 .. 2023-05: 5 months, too few for a 2-step forecast
    with pytest.raises(ValueError, match=r"too_short.*Left out before 2023-01-01: 2 won deals"):
        report.bookings_forecast(crm, as_of="2023-06-30", period="M", horizon=2, methods="naive")


OWNER_A, OWNER_B = "005000000000001AAA", "005000000000002AAA"


def _one_sparse_owner_in_a_regular_org():
    """Owner A: two deals imported on 2023-01-05 with 2021 close dates (700 on 03-10, 900 on 09-20), then one
    won deal of 1000 a month, 2023-01 .. 2024-12 (closed on the 15th). Owner B, sparse: one deal imported on
    2023-01-05 closed 2021-06-15 (200), one won 2023-03-15 (500), then 500 a month 2024-07 .. 2024-12.

    By hand (regular_start, windows of 3 months, sparse below a fifth of the median of the last four):
    the org's typical window is median(4500, 4500, 3000, 3000) = 3750, so a window under 750 is sparse; the
    last one is 2022-10 .. 12 (0), the next (2022-11 .. 2023-01) holds 1000: the org's regular bookings
    start in 2023-01. Owner B alone: median(1500, 1500, 0, 0) = 750, sparse under 150, the last sparse
    window 2024-04 .. 06: B's own start would be 2024-07, six months, too short for a 2-step forecast
    (8 + 2 points needed).
    """
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    b_months = pd.DatetimeIndex(["2023-03-01", *pd.date_range("2024-07-01", periods=6, freq="MS")])
    close = [
        "2021-03-10",
        "2021-09-20",
        *(months + pd.Timedelta(days=14)).strftime("%Y-%m-%d"),
        "2021-06-15",
        *(b_months + pd.Timedelta(days=14)).strftime("%Y-%m-%d"),
    ]
    created = ["2023-01-05", "2023-01-05", *months.strftime("%Y-%m-%d"), "2023-01-05", *b_months.strftime("%Y-%m-%d")]
    return load_frames(
        {
            "Opportunity": pd.DataFrame(
                {
                    "Id": [f"006{i:015d}" for i in range(len(close))],
                    "StageName": "Closed Won",
                    "Amount": [700.0, 900.0, *[1000.0] * 24, 200.0, *[500.0] * 7],
                    "CreatedDate": created,
                    "CloseDate": close,
                    "IsClosed": True,
                    "IsWon": True,
                    "OwnerId": [OWNER_A] * 26 + [OWNER_B] * 8,
                }
            )
        }
    )


def test_bookings_forecast_of_one_owner_starts_where_the_org_regular_bookings_start():
    crm = _one_sparse_owner_in_a_regular_org()
    where = f"owner_id == '{OWNER_B}'"
    bf = report.bookings_forecast(crm, as_of="2024-12-31", where=where, period="M", horizon=2, methods="naive")
    # the org's start (2023-01) applied to B: 24 months, B's empty months are real zeros
    assert bf.history.index[0] == pd.Timestamp("2023-01-01") and len(bf.history) == 24
    assert bf.history.tolist() == [0.0, 0.0, 500.0, *[0.0] * 15, *[500.0] * 6]
    # left out: B's months 2021-06 .. 2022-12 (19) and its one imported deal
    assert (bf.left_out_periods, bf.left_out_deals, bf.left_out_amount) == (19, 1, 200.0)
    assert bf.note.startswith("Left out before 2023-01-01: 1 won deal (200) in 19 months")
    assert "1 of these deals closed before their creation date" in bf.note
    # the count series starts there too (the org's won deals per month have the same start)
    count = report.bookings_forecast(
        crm, as_of="2024-12-31", where=where, period="M", horizon=2, methods="naive", value="count"
    )
    assert count.history.tolist() == [0.0, 0.0, 1.0, *[0.0] * 15, *[1.0] * 6]
    # the whole org: its own start, its prologue (A's two deals and B's one) left out
    org = report.bookings_forecast(crm, as_of="2024-12-31", period="M", horizon=2, methods="naive")
    assert org.history.index[0] == pd.Timestamp("2023-01-01")
    assert (org.left_out_periods, org.left_out_deals, org.left_out_amount) == (22, 3, 1800.0)
    assert org.history.sum() == 24 * 1000.0 + 7 * 500.0


def test_bookings_forecast_of_a_segment_without_a_won_deal_fails():
    crm = _one_sparse_owner_in_a_regular_org()
    with pytest.raises(ValueError, match="no won deal closed on or before 2024-12-31"):
        report.bookings_forecast(crm, as_of="2024-12-31", where="owner_id == '005000000000009AAA'")


# ---- the open pipeline of deals that slipped before ------------------------------------------------
def test_slipped_pipeline_by_hand():
    from tests.velocity.test_report import _slip_org

    out = report.slipped_pipeline(_slip_org(), as_of="2024-04-01").set_index("slip_history")
    # slipped before: A won 1000 (closed), C open 800 -> amount win rate 1.0, expected 800
    assert out.loc["slipped before", ["n_open", "open_amount", "n_closed", "n_won"]].tolist() == [1, 800.0, 1, 1]
    assert out.loc["slipped before", "expected_amount"] == 800.0
    # unknown: B lost 500, D open 300 -> amount win rate 0, expected 0
    assert out.loc["unknown", ["open_amount", "amount_win_rate", "expected_amount"]].tolist() == [300.0, 0.0, 0.0]
    # never slipped: E lost, nothing open
    assert out.loc["never slipped", ["n_open", "open_amount", "n_closed"]].tolist() == [0, 0.0, 1]
    assert 0 < out.loc["slipped before", "win_rate_ci_low"] < 1.0 == out.loc["slipped before", "win_rate_ci_high"]


def test_slipped_pipeline_where_and_missing_history():
    from funnel_analysis._util.missing import missing_reason
    from tests.velocity.test_report import _slip_org

    out = report.slipped_pipeline(_slip_org(), as_of="2024-04-01", where="amount >= 800")
    assert out["slip_history"].tolist() == ["slipped before"]  # A and C
    empty = report.slipped_pipeline(_slip_org(with_history=False), as_of="2024-04-01")
    assert empty.empty and "OpportunityFieldHistory is absent" in missing_reason(empty)
