"""engine.features.lead_engagement: the leads' engagement at their scoring moment, in the engine.

A hand-built org whose counts are worked out below by hand, on DuckDB and Spark; on the generated
sample, the engagement columns of ``scoring.features.lead_features`` (the pandas reference) for
two days and delays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.engine import EngineError
from funnel_analysis.engine.features import lead_engagement
from funnel_analysis.scoring.features import lead_features, scoring_cut, scoring_moments


@pytest.fixture(scope="module")
def hand_org():
    leads = pd.DataFrame(
        {
            "Id": ["00QA", "00QB", "00QC"],
            "LastName": ["Ames", "Bell", "Cole"],
            "Company": ["A", "B", "C"],
            "Status": ["Open"] * 3,
            "IsConverted": [False] * 3,
            # 00QC is created after the day: not in the cut
            "CreatedDate": [
                "2024-01-10T10:00:00.000+0000",
                "2024-02-01T00:00:00.000+0000",
                "2024-04-02T00:00:00.000+0000",
            ],
        }
    )
    tasks = pd.DataFrame(
        {
            "Id": ["00TA", "00TB", "00TC", "00TD", "00TE", "00TF"],
            "WhoId": ["00QA", "00QA", "00QA", "00QB", "00QB", "00QC"],
            "Type": ["Call", "Email", "Meeting", "Call", "Email", "Call"],
            "ActivityDate": ["2024-01-15", "2024-02-09", "2024-02-01", "2024-04-05", "2024-02-20", "2024-02-01"],
            "CreatedDate": [
                "2024-01-15T09:00:00.000+0000",
                "2024-02-09T08:00:00.000+0000",
                "2024-02-01T12:00:00.000+0000",
                "2024-02-05T09:00:00.000+0000",
                "2024-02-20T10:00:00.000+0000",
                "2024-02-01T09:00:00.000+0000",
            ],
        }
    )
    members = pd.DataFrame(
        {
            "Id": ["00vA", "00vB", "00vC"],
            "CampaignId": ["701A"] * 3,
            "LeadId": ["00QA", "00QB", "00QB"],
            "FirstRespondedDate": ["2024-01-25", "2024-03-05", ""],
            "CreatedDate": [
                "2024-01-20T00:00:00.000+0000",
                "2024-02-25T00:00:00.000+0000",
                "2024-03-10T00:00:00.000+0000",
            ],
        }
    )
    campaigns = pd.DataFrame({"Id": ["701A"], "Name": ["Webinar"], "CreatedDate": ["2024-01-01T00:00:00.000+0000"]})
    return load_frames({"Lead": leads, "Task": tasks, "CampaignMember": members, "Campaign": campaigns})


def test_the_hand_built_engagement(hand_org, engines_only):
    got = lead_engagement(engines_only(hand_org), as_of="2024-03-31", delay_days=30)
    got = got.assign(lead=got["lead_id"].str[:4]).set_index("lead")
    assert list(got.index) == ["00QA", "00QB"]  # 00QC: created after the day
    # 00QA is scored 2024-02-09 10:00. Known: 00TA (its day ended 01-16) and 00TC (ended 02-02);
    # 00TB's day (02-09) had not ended. One call, no e-mail; 7 days 10 hours since 00TC's day ended.
    a = got.loc["00QA"]
    assert a["scored_at"] == pd.Timestamp("2024-02-09 10:00")
    assert (a["activities_n"], a["calls_n"], a["emails_n"]) == (2.0, 1.0, 0.0)
    assert a["days_since_activity"] == pytest.approx(7 + 10 / 24, rel=1e-12)
    # 00vA: created 01-20, responded 01-25 (ended 01-26): a campaign and a response
    assert (a["campaigns_n"], a["campaign_responses_n"]) == (1.0, 1.0)
    # 00QB is scored 2024-03-02 00:00. 00TD is dated after the day (not in the cut); 00TE ended 02-21:
    # one e-mail, 10 days (2024 is a leap year). 00vB created 02-25, its response (03-05) after the
    # moment; 00vC created after the moment.
    b = got.loc["00QB"]
    assert b["scored_at"] == pd.Timestamp("2024-03-02")
    assert (b["activities_n"], b["calls_n"], b["emails_n"]) == (1.0, 0.0, 1.0)
    assert b["days_since_activity"] == pytest.approx(10.0, rel=1e-12)
    assert (b["campaigns_n"], b["campaign_responses_n"]) == (1.0, 0.0)


@pytest.mark.parametrize(("as_of", "delay_days"), [("2025-06-30", 0), ("2025-03-31", 7.5)])
def test_the_sample_equals_the_scoring_features(sample_crm, engines_only, as_of, delay_days):
    cut = scoring_cut(sample_crm, as_of=as_of)
    moments = scoring_moments(cut.leads, delay_days=delay_days, as_of=as_of)
    want = lead_features(cut.leads, activities=cut.activities, campaign_members=cut.campaign_members, moments=moments)
    want = want.assign(scored_at=moments.to_numpy()).sort_values("lead_id").reset_index(drop=True)
    got = lead_engagement(engines_only(sample_crm), as_of=as_of, delay_days=delay_days)
    assert got["lead_id"].tolist() == want["lead_id"].tolist()
    assert (got["scored_at"].to_numpy() == want["scored_at"].to_numpy().astype(got["scored_at"].dtype)).all()
    for column in ("activities_n", "calls_n", "emails_n", "days_since_activity", "campaigns_n", "campaign_responses_n"):
        assert np.allclose(got[column], want[column], rtol=1e-12, atol=0, equal_nan=True), column
    assert got["activities_n"].sum() > 0 and got["campaigns_n"].sum() > 0  # the sample engages


def test_refusals(hand_org, engines_only):
    org = engines_only(hand_org)
    with pytest.raises(ValueError, match="delay_days must be >= 0"):
        lead_engagement(org, as_of="2024-03-31", delay_days=-1)
    with pytest.raises(ValueError, match="delay_days must be a number"):
        lead_engagement(org, as_of="2024-03-31", delay_days="7")
    without = type(org)(engine=org.engine, relations={"stages": org.relations["stages"]}, stages=org.stages)
    with pytest.raises(EngineError, match="the org has no leads"):
        lead_engagement(without, as_of="2024-03-31")


# ---- the leads of the day and the training table, in the engine ---------------------------------
def _attached(crm, org):
    """A copy of ``crm`` (the shared fixture is never changed) carrying ``org`` as its engine."""
    import dataclasses

    from funnel_analysis.engine.attach import attach

    copy = dataclasses.replace(crm)
    attach(copy, org=org)
    return copy


@pytest.fixture(scope="module")
def history_org():
    # file order C, A, E, B, D, F: not the order of the ids
    leads = pd.DataFrame(
        {
            "Id": ["00QC", "00QA", "00QE", "00QB", "00QD", "00QF"],
            "LastName": ["Cole", "Ames", "Eden", "Bell", "Dunn", "Fox"],
            "Company": ["C", "A", "E", "B", "D", "F"],
            "Status": ["Converted", "Converted", "Converted", "Working", "Working", "Open"],
            "IsConverted": [True, True, True, False, False, False],
            "ConvertedDate": ["2024-05-15", "2024-01-20", "2024-08-01", "", "", ""],
            "CreatedDate": [
                "2024-03-01T00:00:00.000+0000",
                "2024-01-10T10:00:00.000+0000",
                "2024-01-05T00:00:00.000+0000",
                "2024-02-01T00:00:00.000+0000",
                "2024-06-20T00:00:00.000+0000",
                "2024-07-05T00:00:00.000+0000",
            ],
        }
    )
    history = pd.DataFrame(
        {
            "Id": ["017H0", "017H1", "017H2"],
            "LeadId": ["00QD", "00QE", "00QB"],
            "Field": ["Status"] * 3,
            "DataType": ["Text"] * 3,
            "OldValue": ["Open"] * 3,
            "NewValue": ["Working", "Converted", "Working"],
            "CreatedDate": [
                "2024-06-25T09:00:00.000+0000",
                "2024-08-01T09:00:00.000+0000",
                "2024-07-10T09:00:00.000+0000",
            ],
        }
    )
    return load_frames({"Lead": leads, "LeadHistory": history})


def test_the_leads_of_a_hand_built_day(history_org, engines_only):
    from funnel_analysis.engine.features import leads_on_day

    got = leads_on_day(engines_only(history_org), as_of="2024-06-30")
    # 00QF is created after the day; the others in their file's order
    assert got["lead_id"].str[:4].tolist() == ["00QC", "00QA", "00QE", "00QB", "00QD"]
    # 00QE converted on 2024-08-01, after the day: not converted yet, no conversion date
    assert got["is_converted"].tolist() == [True, True, False, False, False]
    assert got["converted_date"].isna().tolist() == [False, False, True, True, True]
    # the Status history starts 2024-06-25 (00QD's change), before the end of the day: 00QD is Working
    # by its change, 00QE and 00QB Open (the old value of their first change, made after the day),
    # 00QC and 00QA have no change (their exported status)
    assert got["status"].tolist() == ["Converted", "Converted", "Open", "Open", "Working"]
    assert got["status_source"].tolist() == [
        "no_change",
        "no_change",
        "first_change_old_value",
        "first_change_old_value",
        "history",
    ]
    assert "row_no" not in got


@pytest.mark.parametrize("as_of", ["2025-06-30", "2024-12-31"])
def test_the_leads_of_the_day_are_the_pandas_cut(sample_crm, engines_only, as_of):
    from funnel_analysis.engine.features import leads_on_day

    want = scoring_cut(sample_crm, as_of=as_of).leads
    got = leads_on_day(engines_only(sample_crm), as_of=as_of)
    assert len(got) == len(want) > 0
    for column in got.columns:  # the loader's derived columns (phone_e164, ...) are not in the engine
        pd.testing.assert_series_equal(got[column], want[column].reset_index(drop=True), check_exact=True)
    assert (got["status_source"] != "as_exported").any()  # the history is applied on the sample


@pytest.mark.parametrize(
    ("as_of", "delay_days", "where"),
    [
        ("2025-06-30", 0, None),
        ("2025-03-31", 7.5, None),
        ("2025-06-30", 0, "owner.region == 'EMEA' and status != 'Open'"),
    ],
)
def test_the_training_table_in_the_engine_is_the_pandas_one(sample_crm, engines_only, as_of, delay_days, where):
    from funnel_analysis.engine.attach import detach
    from funnel_analysis.scoring.features import training_table

    want = training_table(sample_crm, as_of=as_of, delay_days=delay_days, where=where)
    crm = _attached(sample_crm, engines_only(sample_crm))
    try:
        got = training_table(crm, as_of=as_of, delay_days=delay_days, where=where)
    finally:
        detach(crm)
    assert len(want) > 100 and want["converted"].sum() > 10
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_the_org_keeps_the_last_day(hand_org, engines_only, monkeypatch):
    """#21: the training table and the scoring of a report ask for the same day; the engine answers once,
    each caller gets a frame of its own, and another day, another delay or forget_days ask again."""
    import funnel_analysis.engine.features as features

    org = engines_only(hand_org)
    features.forget_days(org)  # the Spark org is the session's: an earlier test may have left a day on it
    asked = []
    for name in ("_leads_on_day", "_lead_engagement"):
        real = getattr(features, name)
        monkeypatch.setattr(features, name, lambda *a, _real=real, _name=name: asked.append(_name) or _real(*a))
    first = features.leads_on_day(org, as_of="2024-03-31")
    first.loc[0, "status"] = "Changed"  # the caller's own frame: the kept one stays as the engine gave it
    again = features.leads_on_day(org, as_of="2024-03-31")
    assert asked == ["_leads_on_day"] and again.loc[0, "status"] == "Open"
    assert again["lead_id"].str[:4].tolist() == ["00QA", "00QB"]
    e1 = features.lead_engagement(org, as_of="2024-03-31", delay_days=30)
    e2 = features.lead_engagement(org, as_of=pd.Timestamp("2024-03-31"), delay_days=30.0)
    pd.testing.assert_frame_equal(e1, e2)
    assert asked == ["_leads_on_day", "_lead_engagement"]
    features.lead_engagement(org, as_of="2024-03-31", delay_days=0)  # another delay
    features.leads_on_day(org, as_of="2024-02-29")  # another day
    assert asked[2:] == ["_lead_engagement", "_leads_on_day"]
    features.forget_days(org)
    features.leads_on_day(org, as_of="2024-02-29")
    assert asked[4:] == ["_leads_on_day"]


def test_converted_leads_by_hand(engines_only):
    """#21: what attribution reads of the leads, from the engine: the converted ones of the day's cut."""
    from funnel_analysis.engine.features import converted_leads

    crm = load_frames(
        {
            "Lead": pd.DataFrame(
                {
                    "Id": ["00QA", "00QB", "00QC", "00QD"],
                    "LastName": ["Ames", "Bell", "Cole", "Dunn"],
                    "Company": ["A", "B", "C", "D"],
                    "Status": ["Converted", "Converted", "Open", "Converted"],
                    "IsConverted": [True, True, False, True],
                    # 00QB is converted after the day; 00QD is created after it
                    "ConvertedDate": ["2024-03-01", "2024-05-01", "", "2024-04-11"],
                    "ConvertedOpportunityId": ["006A", "006B", "", "006D"],
                    "ConvertedContactId": ["003A", "003B", "", ""],
                    "CreatedDate": [
                        "2024-01-10T10:00:00.000+0000",
                        "2024-02-01T00:00:00.000+0000",
                        "2024-02-02T00:00:00.000+0000",
                        "2024-04-10T00:00:00.000+0000",
                    ],
                }
            )
        }
    )
    org = engines_only(crm)
    day = converted_leads(org, as_of="2024-03-31")
    assert day["lead_id"].str[:4].tolist() == ["00QA"]
    assert day["converted_opportunity_id"].str[:4].tolist() == ["006A"]
    assert day["converted_contact_id"].str[:4].tolist() == ["003A"]
    later = converted_leads(org, as_of="2024-06-30")
    assert later["lead_id"].str[:4].tolist() == ["00QA", "00QB", "00QD"]
    assert later["converted_contact_id"].isna().tolist() == [False, False, True]
    with pytest.raises(ValueError, match="converted_leads"):
        converted_leads(org, as_of="not a day")
