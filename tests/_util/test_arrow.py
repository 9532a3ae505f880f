"""funnel_analysis._util.arrow: the Arrow lookups equal pandas' own (isin, get_indexer, map)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis._util.arrow import index_in, isin, lookup

ids = st.sampled_from(["00Q1", "00Q2", "00Q3", "005A", "00GB", "x"])
maybe_ids = st.one_of(st.none(), ids)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(maybe_ids, max_size=12), keys=st.lists(ids, unique=True, max_size=5), seed=st.integers(0, 99))
def test_lookup_equals_a_map_per_column(values, keys, seed):
    rows = pd.DataFrame(
        {
            "lead_id": pd.Series(keys, dtype="str"),
            "owner": pd.Series([f"o{i}" if i % 3 else None for i in range(len(keys))], dtype=object),
            "at": pd.Series(pd.date_range("2024-01-01", periods=len(keys), tz="UTC") + pd.Timedelta(seed, "h")),
            "minutes": np.arange(len(keys), dtype="float64") * 1.5,
            "breached": pd.array([bool(i % 2) for i in range(len(keys))], dtype="boolean"),
        }
    )
    values = pd.Series(values, dtype="str", index=pd.RangeIndex(len(values)) * 2)
    got = lookup(values, rows, key="lead_id", columns=["owner", "at", "minutes", "breached"])
    by_key = rows.set_index("lead_id")
    for column in ("owner", "at", "minutes", "breached"):
        if not keys:  # pandas maps through an empty Series as float64 (or fails on datetimes): all missing here
            assert got[column].dtype == rows[column].dtype and got[column].isna().all()
            continue
        # the lookup keeps the column's dtype; a map infers one from what it found (float64 when nothing)
        assert got[column].dtype == rows[column].dtype
        # (and may turn a found None into NaN): the same missing values, the same values otherwise
        want = values.map(by_key[column])
        assert got[column].index.equals(want.index) and got[column].isna().equals(want.isna())
        found = want.notna()
        assert got[column][found].tolist() == want[found].tolist()
    assert (index_in(values, rows["lead_id"]) == pd.Index(rows["lead_id"]).get_indexer(values)).all()
    assert isin(values, keys).tolist() == values.isin(keys).tolist()


def test_lookup_by_hand_and_a_key_column_it_lacks():
    rows = pd.DataFrame({"id": ["a", "b", "b"], "n": [1.0, 2.0, 3.0]})
    got = lookup(pd.Series(["b", None, "z", "a"]), rows, key="id", columns=["n"])
    assert got["n"].tolist()[:1] == [2.0] and got["n"].isna().tolist() == [False, True, True, False]  # the first "b"
    with pytest.raises(KeyError):
        lookup(pd.Series(["a"]), rows, key="lead_id", columns=["n"])
