"""funnel_analysis.stats: Wilson intervals checked against hand-computed values.

Wilson bounds: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.959964 (95 %).
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.stats import rate_table, wilson_interval

Z = 1.959963984540054


def wilson_by_hand(s, n, z=Z):
    p = s / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_wilson_five_of_ten():
    # p = .5, z²/n = .384146: centre .5, half = 1.959964 * sqrt(.025 + .0096037) / 1.384146 = .263407
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.236593, abs=1e-6)
    assert high == pytest.approx(0.763407, abs=1e-6)


def test_wilson_edges_are_exact():
    # 0 of 5: low is exactly 0, high = (z²/n) / (1 + z²/n) = .768292 / 1.768292 = .434482
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and high == pytest.approx(0.434482, abs=1e-6)
    # 5 of 5 mirrors it
    low, high = wilson_interval(5, 5)
    assert high == 1.0 and low == pytest.approx(1 - 0.434482, abs=1e-6)


def test_wilson_vectorised_and_zero_trials():
    low, high = wilson_interval(np.array([3, 0, 2]), np.array([4, 0, 2]))
    assert low[0] == pytest.approx(wilson_by_hand(3, 4)[0])
    assert np.isnan(low[1]) and np.isnan(high[1])  # 0 trials: no rate, no interval
    assert high[2] == 1.0


def test_wilson_keeps_series_index_and_confidence():
    s = pd.Series([1, 4], index=["a", "b"])
    low, high = wilson_interval(s, pd.Series([4, 8], index=["a", "b"]), confidence=0.90)
    assert list(low.index) == ["a", "b"]
    z90 = 1.6448536269514722
    assert low["b"] == pytest.approx(wilson_by_hand(4, 8, z90)[0])
    assert high["a"] == pytest.approx(wilson_by_hand(1, 4, z90)[1])


@pytest.mark.parametrize(
    "s, n, conf, match",
    [
        (5, 4, 0.95, "exceed"),
        (-1, 4, 0.95, "non-negative"),
        (1, 4, 1.5, "confidence"),
        ("x", 4, 0.95, "numbers"),
    ],
)
def test_wilson_rejects_bad_input(s, n, conf, match):
    with pytest.raises((ValueError, TypeError), match=match):
        wilson_interval(s, n, confidence=conf)


def test_rate_table_adds_columns_without_touching_input():
    df = pd.DataFrame({"seg": ["a", "b"], "won": [1, 0], "closed": [2, 0]})
    before = df.copy()
    out = rate_table(df, successes="won", trials="closed", name="win_rate")
    pd.testing.assert_frame_equal(df, before)
    assert list(out.columns) == ["seg", "won", "closed", "win_rate", "win_rate_ci_low", "win_rate_ci_high"]
    assert out.loc[0, "win_rate"] == 0.5
    assert np.isnan(out.loc[1, "win_rate"])  # 0 / 0 is unknown, not 0
    plain = rate_table(df, successes="won", trials="closed")
    assert {"rate", "rate_ci_low", "rate_ci_high"} <= set(plain.columns)


def test_rate_table_missing_column():
    with pytest.raises(KeyError, match="trials_x"):
        rate_table(pd.DataFrame({"won": [1]}), successes="won", trials="trials_x")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=20))
def test_wilson_bounds_contain_rate(pairs):
    n = np.array([max(a, b) for a, b in pairs])
    s = np.array([min(a, b) for a, b in pairs])
    low, high = wilson_interval(s, n)
    ok = n > 0
    rate = s[ok] / n[ok]
    assert ((0 <= low[ok]) & (low[ok] <= rate + 1e-12) & (rate - 1e-12 <= high[ok]) & (high[ok] <= 1)).all()
    assert np.isnan(low[~ok]).all()


def test_wilson_interval_is_a_named_result():
    ci = wilson_interval(5, 10, confidence=0.9)
    assert (ci.low, ci.high) == tuple(ci)  # the names and the unpacking agree
    assert ci.confidence == 0.9 and ci.low < 0.5 < ci.high
