"""Population stability index: hand values and invariants."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.scoring import drift_table, psi


def test_psi_by_hand_for_categories():
    e = pd.Series(["a", "b"] * 50)
    a = pd.Series(["a"] * 25 + ["b"] * 75)
    want = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(e, a) == pytest.approx(want)


def test_psi_numeric_shift_is_large_and_missing_is_a_bin():
    e = pd.Series(np.arange(1000.0))
    assert psi(e, e + 2000) > 5  # everything lands in the top bin
    a = pd.Series(np.r_[np.arange(900.0), [np.nan] * 100])
    assert psi(e, a) > 0.5  # 10 % missing where there were none
    with pytest.raises(ValueError, match="non-empty"):
        psi(e, pd.Series([], dtype=float))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60),
)
def test_psi_is_nonnegative_and_zero_for_identical_samples(x, z):
    assert psi(pd.Series(x), pd.Series(z)) >= 0
    assert psi(pd.Series(x), pd.Series(x)) == 0


def test_drift_table_flags_above_threshold():
    e = pd.DataFrame({"x": np.arange(500.0), "c": ["a", "b"] * 250})
    a = pd.DataFrame({"x": np.arange(500.0) + 400, "c": ["a", "b"] * 250})
    t = drift_table(e, a, threshold=0.2).set_index("column")
    assert t.loc["x", "flagged"] and not t.loc["c", "flagged"] and t.loc["c", "psi"] == 0
    with pytest.raises(ValueError, match="'y' is missing from the actual"):
        drift_table(e.assign(y=1.0), a, columns=["y"])


def test_psi_by_hand_with_missing_rare_and_new_categories():
    """Missing is a bin, a category rare in training (under 0.5 %) shares the 'other' bin with one never seen
    in training, and a bin empty on one side is floored at eps = 1e-4 (worked out by hand)."""
    e = pd.Series(["a"] * 600 + ["b"] * 199 + [None] * 200 + ["r"])  # r: 1 in 1000, rare
    a = pd.Series(["a"] * 500 + [None] * 300 + ["new"] * 200)  # no b; new and r in 'other'
    # bins (e, a): a (0.6, 0.5), b (0.199, 0 -> 1e-4), missing (0.2, 0.3), other (0.001, 0.2)
    want = sum((x - y) * math.log(x / y) for y, x in ((0.6, 0.5), (0.199, 1e-4), (0.2, 0.3), (0.001, 0.2)))
    assert psi(e, a) == pytest.approx(want, rel=1e-12)
