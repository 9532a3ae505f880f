import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnel_analysis.crm.ids import to_18, widen_ids

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@pytest.mark.parametrize(
    "full",
    [
        "001bm00001ZL8U9AAL",
        "001bm00001ZL8UAAA1",
        "003bm00000zapthAAA",
        "006bm00000LKJNNAA5",
        "001Ec00000GGw3hIAD",
        "00QEc00000BBaeXMAT",
    ],
)
def test_real_salesforce_ids(full):
    # pairs as Salesforce itself wrote them in the real exports
    assert to_18(full[:15]) == full


def test_non_salesforce_values_pass_through():
    assert to_18("1C1I7A6R") == "1C1I7A6R"
    assert to_18("7927b2df-8bba-4d29-b9a2-b6e0beafe620") == "7927b2df-8bba-4d29-b9a2-b6e0beafe620"
    assert to_18(None) is None


@given(st.text(alphabet=ALNUM, min_size=15, max_size=15))
def test_widening_is_idempotent_and_keeps_the_prefix(short):
    full = to_18(short)
    assert len(full) == 18 and full[:15] == short and to_18(full) == full


@given(st.text(alphabet=ALNUM, min_size=15, max_size=15))
def test_case_variants_stay_distinct_case_insensitively(short):
    # the point of the suffix: IDs differing only in case differ case-insensitively once widened
    other = short.swapcase()
    if other != short:
        assert to_18(short).lower() != to_18(other).lower()


def test_widen_ids_counts_and_keeps_input():
    s = pd.Series(["001bm00001ZL8U9", "001bm00001ZL8UAAA1", None])
    before = s.copy()
    out, n = widen_ids(s)
    assert n == 1 and out.tolist()[:2] == ["001bm00001ZL8U9AAL", "001bm00001ZL8UAAA1"] and pd.isna(out[2])
    pd.testing.assert_series_equal(s, before)
