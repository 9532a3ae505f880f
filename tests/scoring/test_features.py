"""Lead features at the scoring moment: the time cut, the labels, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.scoring import ScoringDataError, lead_features, scoring_moments, training_table
from funnel_analysis.scoring.features import title_seniority

T0 = pd.Timestamp("2024-03-01 12:00", tz="UTC")


def _leads():
    return pd.DataFrame(
        {"lead_id": ["L1", "L2"], "lead_source": ["Web", "Referral"], "created_date": [T0, T0 + pd.Timedelta(days=10)]}
    )


def _acts():
    # L1 scored at 2024-03-01 12:00: a task dated the day before (counts), one dated the same day
    # (its day has not ended: does not count), one a week later (does not count); L2 has one before.
    return pd.DataFrame(
        {
            "who_id": ["L1", "L1", "L1", "L2"],
            "activity_date": pd.to_datetime(["2024-02-29", "2024-03-01", "2024-03-08", "2024-03-05"]),
            "created_date": pd.to_datetime(
                ["2024-02-29 09:00", "2024-03-01 08:00", "2024-03-08 09:00", "2024-03-05 10:00"], utc=True
            ),
            "type": ["Call", "Email", "Call", "Email"],
        }
    )


def test_time_cut_counts_only_what_was_known_at_the_moment():
    f = lead_features(_leads(), activities=_acts()).set_index("lead_id")
    assert f.loc["L1", "activities_n"] == 1 and f.loc["L1", "calls_n"] == 1 and f.loc["L1", "emails_n"] == 0
    assert f.loc["L2", "activities_n"] == 1 and f.loc["L2", "emails_n"] == 1
    # days since the last known activity: end of 2024-02-29 -> 2024-03-01 12:00 = 0.5 day
    assert f.loc["L1", "days_since_activity"] == pytest.approx(0.5)


def test_campaign_touches_are_cut_by_creation_and_response_day():
    members = pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L1"],
            "created_date": pd.to_datetime(["2024-02-01", "2024-02-20", "2024-03-02"], utc=True),
            "first_responded_date": pd.to_datetime(["2024-02-02", None, "2024-03-03"]),
        }
    )
    f = lead_features(_leads(), campaign_members=members).set_index("lead_id")
    assert f.loc["L1", "campaigns_n"] == 2 and f.loc["L1", "campaign_responses_n"] == 1


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(-30, 30), st.integers(0, 3)), min_size=1, max_size=25), st.integers(0, 20))
def test_no_feature_uses_data_from_after_the_moment(offsets, delay):
    """Features are the same whether or not the records after each lead's moment exist."""
    leads = _leads()
    acts = pd.DataFrame(
        {
            "who_id": ["L1" if i % 2 else "L2" for i in range(len(offsets))],
            "activity_date": [(T0 + pd.Timedelta(days=d)).tz_localize(None).normalize() for d, _ in offsets],
            "created_date": [T0 + pd.Timedelta(days=d, hours=h) for d, h in offsets],
            "type": ["Call"] * len(offsets),
        }
    )
    moments = scoring_moments(leads, delay_days=delay)
    full = lead_features(leads, activities=acts, moments=moments)
    m = acts["who_id"].map(dict(zip(leads["lead_id"], moments)))
    known = (acts["created_date"].dt.tz_localize(None) <= m) & (acts["activity_date"] + pd.Timedelta(days=1) <= m)
    cut = lead_features(leads, activities=acts[known.to_numpy()], moments=moments)
    pd.testing.assert_frame_equal(full, cut)
    assert full["activities_n"].sum() == known.sum()


def test_scoring_moments_cap_at_as_of_and_reject_negative_delay():
    got = scoring_moments(_leads(), delay_days=30, as_of="2024-03-15")
    assert got.tolist() == [pd.Timestamp("2024-03-16")] * 2  # end of the as-of day
    with pytest.raises(ValueError, match="delay_days"):
        scoring_moments(_leads(), delay_days=-1)
    with pytest.raises(ScoringDataError, match="created_date"):
        scoring_moments(_leads().drop(columns="created_date"))


def test_title_seniority_bands():
    got = title_seniority(
        pd.Series(
            ["Chief Revenue Officer", "SVP, Procurement", "Sales Director", "IT Manager", "Analyst", None, "总经理"]
        )
    )
    assert got.tolist()[:5] == ["c_level", "vp", "director", "manager", "other"]
    assert pd.isna(got.iloc[5]) and got.iloc[6] == "c_level"


def test_leads_without_an_id_or_a_needed_column_get_a_clear_error():
    with pytest.raises(ScoringDataError, match=r"leads: column 'lead_id'.*rule column_missing"):
        lead_features(_leads().drop(columns="lead_id"))
    with pytest.raises(ScoringDataError, match=r"column 'industry'.*feature_missing"):
        lead_features(_leads(), columns=["industry"])


def test_training_table_on_the_tiny_export(tiny_crm):
    # as of 2024-06-30 with a 90-day window: leads created by 2024-04-01 are labelled.
    # 00Q...1 converted on 2024-01-10 (9 days): 1; 00Q...2 and 00Q...3 open: 0;
    # 00Q...4 converted 2024-01-20, before its creation on 2024-02-03: its outcome was known, left out;
    # 00Q...5 is quarantined (unparseable IsConverted).
    t = training_table(tiny_crm, as_of="2024-06-30", window_days=90)
    got = dict(zip(t["lead_id"].str[:15], t["converted"]))
    assert got == {"00Q000000000001": 1, "00Q000000000002": 0, "00Q000000000003": 0}
    assert "status" not in t and "is_converted" not in t and "converted_date" not in t
    # a window shorter than the conversion delay makes it a 0
    t9 = training_table(tiny_crm, as_of="2024-06-30", window_days=8)
    assert dict(zip(t9["lead_id"].str[:15], t9["converted"]))["00Q000000000001"] == 0


def test_training_table_needs_the_outcome(tiny_crm):
    from dataclasses import replace

    crm = replace(
        tiny_crm,
        tables={**tiny_crm.tables, "leads": tiny_crm.leads.drop(columns="is_converted")},
        meta={**tiny_crm.meta, "columns_present": {"leads": ["lead_id", "created_date"]}},
    )
    with pytest.raises(ScoringDataError, match="is_converted"):
        training_table(crm)


def test_lead_features_do_not_change_their_input():
    leads, acts = _leads(), _acts()
    before = (leads.copy(), acts.copy())
    lead_features(leads, activities=acts)
    pd.testing.assert_frame_equal(leads, before[0])
    pd.testing.assert_frame_equal(acts, before[1])
    assert np.isfinite(lead_features(leads, activities=acts)["activities_n"]).all()


def test_training_table_keeps_the_leads_where_selects(tiny_crm):
    # the three labelled leads of the tiny export (see above), of which 00Q...1 (US) and 00Q...3 (China)
    t = training_table(tiny_crm, as_of="2024-06-30", where="country in ('US', 'China')")
    assert dict(zip(t["lead_id"].str[:15], t["converted"])) == {"00Q000000000001": 1, "00Q000000000003": 0}
    everyone = training_table(tiny_crm, as_of="2024-06-30", where="")
    assert everyone.equals(training_table(tiny_crm, as_of="2024-06-30"))
    assert len(training_table(tiny_crm, as_of="2024-06-30", where="country == 'France'")) == 0


def test_a_bad_where_names_its_position(tiny_crm):
    from funnel_analysis.crm.expression import ExpressionError

    with pytest.raises(ExpressionError, match="position 11"):
        training_table(tiny_crm, as_of="2024-06-30", where="country ==")


def test_scoring_moments_keep_the_index_of_the_leads():
    leads = _leads().set_axis([10, 20])
    moments = scoring_moments(leads, delay_days=1, as_of="2024-03-05")
    assert moments.index.tolist() == [10, 20]
    # L1: created 2024-03-01 12:00 + 1 day; L2 (created 2024-03-11) is capped at the end of 2024-03-05
    assert moments.tolist() == [pd.Timestamp("2024-03-02 12:00"), pd.Timestamp("2024-03-06")]


def test_scoring_cut_is_made_once_per_org_and_day():
    """Training and scoring cut the same light org (no opportunities): the second cut of a day is the first one,
    and an org whose leads table is replaced is cut anew, with the new rows."""
    from funnel_analysis.crm import load_frames
    from funnel_analysis.scoring.features import scoring_cut

    lead = pd.DataFrame(
        {
            "Id": ["00Q000000000001AAA", "00Q000000000002AAA"],
            "CreatedDate": ["2025-01-01T10:00:00Z", "2025-03-01T10:00:00Z"],
            "LastName": ["A", "B"],
            "Company": ["C", "D"],
            "Status": ["Open", "Open"],
        }
    )
    opp = pd.DataFrame(
        {"Id": ["006000000000001AAA"], "StageName": ["Prospecting"], "CreatedDate": ["2025-01-05T00:00:00Z"]}
    )
    crm = load_frames({"Lead": lead, "Opportunity": opp})
    first = scoring_cut(crm, as_of="2025-02-01")
    assert scoring_cut(crm, as_of="2025-02-01") is first
    assert first.leads["lead_id"].tolist() == ["00Q000000000001AAA"]  # the lead of March is not there yet
    assert not first.has("opportunities")
    crm.tables["leads"] = crm.tables["leads"].iloc[[1]].reset_index(drop=True)
    again = scoring_cut(crm, as_of="2025-03-31")
    assert again is not first and again.leads["lead_id"].tolist() == ["00Q000000000002AAA"]
