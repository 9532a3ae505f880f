"""funnel_analysis.velocity.sales_velocity.latest_velocity_change on tiny hand-built velocity tables.

(sales_velocity and velocity_change themselves are tested in test_durations.py.)
"""

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.velocity import latest_velocity_change


def _velocity(**over):
    v = pd.DataFrame(
        {
            "period": ["FY2024-Q1", "FY2024-Q2", "FY2024-Q3", "FY2024-Q4"],
            "period_start": pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"]),
            "complete": [True, True, True, False],
            "n_open": [10, 20, 5, 40],
            "win_rate": [0.2, 0.2, 0.0, 0.3],
            "avg_won_amount": [100.0, 100.0, np.nan, 90.0],
            "avg_cycle_days": [50.0, 25.0, np.nan, 30.0],
        }
    )
    v["velocity"] = v["n_open"] * v["win_rate"] * v["avg_won_amount"] / v["avg_cycle_days"]
    return v.assign(**over)


def test_the_last_two_complete_periods_with_a_velocity():
    # Q4 still runs, Q3 won nothing (no velocity): Q1 (4.0 per day) -> Q2 (16.0 per day)
    out = latest_velocity_change(_velocity().iloc[::-1]).set_index("factor")  # row order does not matter
    assert set(out["from_period"]) == {"FY2024-Q1"} and set(out["to_period"]) == {"FY2024-Q2"}
    # log 16/4 = log 4: twice the open deals (log 2) and half the cycle (log 2), half each
    assert out.loc["n_open", "share"] == pytest.approx(0.5) and out.loc["avg_cycle_days", "share"] == pytest.approx(0.5)
    assert out["contribution"].sum() == pytest.approx(np.log(4))


def test_latest_velocity_change_errors():
    with pytest.raises(ValueError, match="1 complete period"):
        latest_velocity_change(_velocity(complete=[True, False, False, False]))
    with pytest.raises(ValueError, match="several rows per period"):
        latest_velocity_change(pd.concat([_velocity(), _velocity()]))
    with pytest.raises(ValueError, match=r"no column\(s\) \['complete'\]"):
        latest_velocity_change(_velocity().drop(columns="complete"))
