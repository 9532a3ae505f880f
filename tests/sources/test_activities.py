"""activity_summary and activity_win_relation on a tiny hand-built frame; every count worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.sources import activity_kind, activity_summary, activity_win_relation
from funnel_analysis.stats import wilson_interval

AS_OF = "2024-03-31"

# O1 won 03-10; O2 lost 02-01; O3 open; O4 lost 03-01 with no activity; O5 won 03-15
OPPS = pd.DataFrame(
    {
        "opportunity_id": pd.array(["O1", "O2", "O3", "O4", "O5"], dtype="str"),
        "is_closed": [True, True, False, True, True],
        "is_won": [True, False, False, False, True],
        "close_date": pd.to_datetime(["2024-03-10", "2024-02-01", "2024-06-30", "2024-03-01", "2024-03-15"]).as_unit(
            "us"
        ),
    }
)

_ACTS = [
    # id, what_id, who_id, type, activity_date
    ("a1", "O1", None, "Call", "2024-01-05"),
    ("a2", "O1", None, "call ", "2024-02-10"),
    ("a3", "O1", None, "Email", "2024-03-01"),
    ("a4", "O1", None, "MEETING", "2024-03-10"),  # on the close day: before close
    ("a5", "O1", None, "Call", "2024-03-20"),  # after the close: counted, not before close
    ("a6", "O1", None, "Call", "2024-04-05"),  # after as_of: not counted at all
    ("a7", "O2", None, "Email", "2024-01-20"),
    ("a8", "O2", None, "Task", "2024-02-05"),  # other, after close
    ("a9", "O3", None, "Event", "2024-03-25"),  # event -> meeting
    ("a10", "O3", None, None, "2024-03-01"),  # no type -> other
    ("a11", "O3", None, "Call", None),  # undated
    ("a12", None, "L1", "Call", "2024-03-01"),  # on a lead (who_id): not an opportunity's
    ("a13", "O99", None, "Call", "2024-03-01"),  # unknown opportunity
] + [(f"e{i}", "O5", None, "email", f"2024-01-0{i}") for i in range(1, 8)]  # 7 emails Jan 1-7

ACTS = pd.DataFrame(_ACTS, columns=["activity_id", "what_id", "who_id", "type", "activity_date"]).astype(
    {"activity_id": "str", "what_id": "str", "who_id": "str", "type": "str"}
)
ACTS["activity_date"] = pd.to_datetime(ACTS["activity_date"]).astype("datetime64[us]")
ACTS["activity_kind"] = pd.array(["task"] * 8 + ["event"] + ["task"] * 11, dtype="str")


def test_summary_hand_counts():
    acts, opps = ACTS.copy(), OPPS.copy()
    s = activity_summary(ACTS, OPPS, as_of=AS_OF).set_index("opportunity_id")
    pd.testing.assert_frame_equal(ACTS, acts)  # inputs untouched
    pd.testing.assert_frame_equal(OPPS, opps)
    assert s.index.tolist() == ["O1", "O2", "O3", "O4", "O5"]
    cols = ["n_activities", "n_call", "n_email", "n_meeting", "n_other", "n_undated"]
    assert s.loc["O1", cols].tolist() == [5, 3, 1, 1, 0, 0]
    assert s.loc["O2", cols].tolist() == [2, 0, 1, 0, 1, 0]
    assert s.loc["O3", cols].tolist() == [2, 0, 0, 1, 1, 1]
    assert s.loc["O4", cols].tolist() == [0, 0, 0, 0, 0, 0]
    assert s.loc["O5", cols].tolist() == [7, 0, 7, 0, 0, 0]
    assert s["n_before_close"].tolist() == [4, 1, pd.NA, 0, 7]
    assert s.loc["O1", "last_activity_date"] == pd.Timestamp("2024-03-20")
    assert pd.isna(s.loc["O4", "last_activity_date"])
    # O1 03-20 -> 03-31 = 11; O2 02-05 -> 03-31 = 24 + 31 = 55 (leap February);
    # O3 03-25 -> 6; O5 01-07 -> 03-31 = 24 + 29 + 31 = 84
    assert s["days_since_last_activity"].tolist()[:3] == [11.0, 55.0, 6.0]
    assert np.isnan(s.loc["O4", "days_since_last_activity"]) and s.loc["O5", "days_since_last_activity"] == 84


def test_summary_by_another_column():
    s = activity_summary(ACTS, OPPS, as_of=AS_OF, by="activity_kind").set_index("opportunity_id")
    assert [
        c for c in s.columns if c.startswith("n_") and c not in ("n_activities", "n_before_close", "n_undated")
    ] == ["n_event", "n_task"]
    assert s.loc["O3", ["n_event", "n_task"]].tolist() == [1, 1]
    assert s.loc["O1", ["n_event", "n_task"]].tolist() == [0, 5]


def test_summary_earlier_as_of_counts_less():
    s = activity_summary(ACTS, OPPS, as_of="2024-02-10").set_index("opportunity_id")
    assert s.loc["O1", ["n_activities", "n_call"]].tolist() == [2, 2]  # a1, a2 (a2 on the day itself)
    assert s.loc["O1", "days_since_last_activity"] == 0


def test_activity_kind_mapping():
    got = activity_kind(pd.Series(["CALL", "E-mail", "list_email", "Send Email", "meeting ", "Event", pd.NA]))
    assert got.tolist() == ["call", "email", "email", "email", "meeting", "meeting", "other"]


def test_win_relation_hand_counts():
    s = activity_summary(ACTS, OPPS, as_of=AS_OF)
    rel = activity_win_relation(s, OPPS)
    # closed: O4 0 acts (lost), O2 1 (lost), O1 4 (won), O5 7 (won); O3 is open and not counted
    assert rel["bucket"].tolist() == ["0", "1-2", "3-5", "6+"]
    assert rel["closed"].tolist() == [1, 1, 1, 1] and rel["won"].tolist() == [0, 0, 1, 1]
    assert rel["win_rate"].tolist() == [0.0, 0.0, 1.0, 1.0]
    low, high = wilson_interval(1, 1)
    assert rel.loc[3, "win_rate_ci_low"] == pytest.approx(low) and rel.loc[3, "win_rate_ci_high"] == 1.0
    assert rel.loc[0, "win_rate_ci_low"] == 0.0
    assert "ci_low" not in rel.columns


def test_win_relation_empty_buckets_are_nan():
    s = pd.DataFrame({"opportunity_id": ["x"], "n_before_close": pd.array([2], dtype="Int64")})
    o = pd.DataFrame({"opportunity_id": ["x"], "is_closed": [True], "is_won": [True]})
    rel = activity_win_relation(s, o)
    assert rel["closed"].tolist() == [0, 1, 0, 0] and rel["win_rate"].isna().tolist() == [True, False, True, True]


def test_win_relation_docstring_says_correlation():
    doc = activity_win_relation.__doc__.lower()
    assert "correlation, not a causal" in doc


# ---- failures ---------------------------------------------------------------------------------
def test_summary_rejects_bad_input():
    with pytest.raises(ValueError, match="what_id"):
        activity_summary(ACTS.drop(columns="what_id"), OPPS, as_of=AS_OF)
    with pytest.raises(ValueError, match="close_date"):
        activity_summary(ACTS, OPPS.drop(columns="close_date"), as_of=AS_OF)
    with pytest.raises(ValueError, match="not a date"):
        activity_summary(ACTS, OPPS, as_of="someday")
    with pytest.raises(ValueError, match="missing"):
        activity_summary(ACTS, OPPS, as_of=None)
    with pytest.raises(ValueError, match="not unique"):
        activity_summary(ACTS, pd.concat([OPPS, OPPS.head(1)]), as_of=AS_OF)
    with pytest.raises(ValueError, match="no_such"):
        activity_summary(ACTS, OPPS, as_of=AS_OF, by="no_such")
    with pytest.raises(TypeError):
        activity_summary(ACTS, OPPS, as_of=AS_OF, by=["type"])
    with pytest.raises(TypeError):
        activity_summary(ACTS.to_dict(), OPPS, as_of=AS_OF)


def test_win_relation_rejects_summary_from_another_cut():
    # summary made when every deal was still open: closed deals then have no n_before_close
    open_then = OPPS.assign(is_closed=False)
    s = activity_summary(ACTS, open_then, as_of="2024-01-15")
    with pytest.raises(ValueError, match="no n_before_close"):
        activity_win_relation(s, OPPS)
    with pytest.raises(ValueError, match="is_won"):
        activity_win_relation(activity_summary(ACTS, OPPS, as_of=AS_OF), OPPS.drop(columns="is_won"))


def test_lead_activities_count_up_to_conversion():
    # L1 converted into o1 on 01-10: its calls on 01-02 and 01-10 count, the one on 01-20 (after) does not;
    # L2 converted into o1 too (merged leads) with no conversion date: counted up to as_of (02-01), the
    # 03-01 one is in the future; L3 was never converted; the deal's own activity is not a lead activity.
    acts = pd.DataFrame(
        {
            "what_id": [None, None, None, None, None, None, "o1"],
            "who_id": ["L1", "L1", "L1", "L2", "L2", "L3", None],
            "type": ["Call"] * 7,
            "activity_date": pd.to_datetime(
                ["2024-01-02", "2024-01-10", "2024-01-20", "2024-01-25", "2024-03-01", "2024-01-05", "2024-01-15"]
            ),
        }
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2"],
            "is_closed": [False, False],
            "close_date": pd.to_datetime(["2024-03-31", "2024-03-31"]),
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "converted_opportunity_id": ["o1", "o1", None],
            "converted_date": pd.to_datetime(["2024-01-10", None, None]),
        }
    )
    got = activity_summary(acts, opps, as_of="2024-02-01", leads=leads)
    assert got["n_lead_activities"].tolist() == [3, 0]
    assert got["n_activities"].tolist() == [1, 0]  # the deal's own count is unchanged
    with pytest.raises(ValueError, match="who_id"):
        activity_summary(acts.drop(columns="who_id"), opps, as_of="2024-02-01", leads=leads)
