"""funnel_analysis.funnel.report: the entry points cut the org, filter it and call the frame-level function.

Expected values come from the frame-level functions on a cut made by hand (their own numbers are
checked by hand in test_conversion.py and test_winrates.py), from funnel_fixtures' docstring, and,
for ``where``, from the same tables filtered with plain pandas.
"""

import pandas as pd
import pandas.testing as pdt
import pytest

from funnel_analysis.funnel import (
    bottlenecks,
    cohort_funnel,
    cohort_window,
    lead_conversion,
    lead_funnel,
    report,
    snapshot_funnel,
    stage_transitions,
    win_rates,
)
from tests import funnel_fixtures as ff

DAY = "2024-04-15"


@pytest.fixture
def crm():
    return ff.make_crm()


@pytest.fixture
def expression():
    return pytest.importorskip("funnel_analysis.crm.expression", reason="crm.expression (where=) not built yet")


def test_entry_points_cut_the_org_as_of_the_day(crm):
    cut = crm.as_of(DAY)
    o, h, st = cut.opportunities, cut.opportunity_history, cut.stages
    pdt.assert_frame_equal(report.lead_funnel(crm, as_of=DAY), lead_funnel(cut.leads))
    pdt.assert_frame_equal(
        report.lead_conversion(crm, as_of=DAY, by="lead_source", window_days=30),
        lead_conversion(cut.leads, by="lead_source", window_days=30, as_of=DAY),
    )
    pdt.assert_frame_equal(report.snapshot_funnel(crm, as_of=DAY), snapshot_funnel(o, stages=st))
    pdt.assert_frame_equal(
        report.win_rates(crm, as_of=DAY, by="lead_source", period="Q"), win_rates(o, by="lead_source", period="Q")
    )
    pdt.assert_frame_equal(report.stage_transitions(crm, as_of=DAY), stage_transitions(o, h, stages=st))
    pdt.assert_frame_equal(report.bottlenecks(crm, as_of=DAY), bottlenecks(o, h, stages=st, as_of=DAY))
    # on 04-15 the open deals are O4 O5 O6 O7 (funnel_fixtures): 3000 + 800 + 1500 + 700
    assert report.snapshot_funnel(crm, as_of=DAY)["amount"].sum() == 6000


def test_as_of_defaults_to_the_latest_date_in_the_data(crm):
    # the last dated row is O9's win on 2024-06-20
    pdt.assert_frame_equal(report.win_rates(crm), report.win_rates(crm, as_of="2024-06-20"))
    assert report.kpis(crm, as_of="")["as_of"].iloc[0] == pd.Timestamp("2024-06-20")


def test_cohort_window_by_hand():
    w = cohort_window(as_of="2024-06-30", cohort_days=30, window_days=10)
    # ends 10 days before June 30 (June 20), 30 days both ends included: May 22 .. June 20
    assert (w["created_from"].iloc[0], w["created_to"].iloc[0]) == (
        pd.Timestamp("2024-05-22"),
        pd.Timestamp("2024-06-20"),
    )
    w = cohort_window(as_of=pd.Timestamp("2024-03-01 23:00", tz="UTC"), cohort_days=1)
    assert w["created_from"].iloc[0] == w["created_to"].iloc[0] == pd.Timestamp("2024-03-01")


def test_cohort_window_errors():
    with pytest.raises(ValueError, match="cohort_days"):
        cohort_window(as_of="2024-06-30", cohort_days=0)
    with pytest.raises(ValueError, match="window_days"):
        cohort_window(as_of="2024-06-30", cohort_days=5, window_days=-1)


def test_cohort_funnel_cohort_days(crm):
    got = report.cohort_funnel(crm, as_of="2024-06-30", cohort_days=60, window_days=90)
    # the cohort: created 2024-02-02 .. 2024-04-01 (60 days ending 90 days before June 30): O4 and O5
    cut = crm.as_of("2024-06-30")
    expected = cohort_funnel(
        cut.opportunities,
        cut.opportunity_history,
        stages=cut.stages,
        created_from="2024-02-02",
        created_to="2024-04-01",
        window_days=90,
    )
    pdt.assert_frame_equal(got.drop(columns=["created_from", "created_to"]), expected)
    assert got["cohort"].iloc[0] == 2
    assert (got["created_from"].iloc[0], got["created_to"].iloc[0]) == (
        pd.Timestamp("2024-02-02"),
        pd.Timestamp("2024-04-01"),
    )


def test_kpis_entry_point(crm):
    k = report.kpis(crm, as_of=DAY)
    assert list(k.columns[:2]) == ["as_of", "leads"] and len(k) == 1
    k = k.iloc[0]
    # on 04-15: open O4 O5 O6 O7 = 3000 + 800 + 1500 + 700; won O1 O2; lost O3 -> 2/3; cycles 51, 30
    assert k["as_of"] == pd.Timestamp(DAY)
    assert (k["opportunities_open"], k["opportunities_won"], k["opportunities_lost"]) == (4, 2, 1)
    assert k["open_pipeline_amount"] == 6000 and k["median_cycle_days"] == 40.5
    by = report.kpis(crm, as_of=DAY, by="lead_source")
    assert by.columns[:2].tolist() == ["as_of", "lead_source"] and len(by) == 3
    no_leads = report.kpis(ff.make_crm(with_leads=False), as_of=DAY).iloc[0]
    assert pd.isna(no_leads["leads"]) and no_leads["win_rate"] == pytest.approx(2 / 3)


def test_entry_point_errors(crm):
    with pytest.raises(TypeError, match="CrmData"):
        report.kpis(crm.opportunities)
    with pytest.raises(ValueError, match="not both"):
        report.cohort_funnel(crm, cohort_days=30, created_from="2024-01-01")
    with pytest.raises(ValueError):
        report.win_rates(crm, as_of="not a day")


def test_where_keeps_the_selected_rows_and_their_history(crm, expression):
    cut = crm.as_of(DAY)
    o = cut.opportunities[cut.opportunities["lead_source"] == "Web"].reset_index(drop=True)
    h = cut.opportunity_history[cut.opportunity_history["opportunity_id"].isin(o["opportunity_id"])]
    h = h.reset_index(drop=True)
    web = "lead_source == 'Web'"
    pdt.assert_frame_equal(report.win_rates(crm, as_of=DAY, where=web), win_rates(o))
    pdt.assert_frame_equal(
        report.bottlenecks(crm, as_of=DAY, where=web), bottlenecks(o, h, stages=cut.stages, as_of=DAY)
    )
    leads = cut.leads[cut.leads["lead_source"] == "Web"].reset_index(drop=True)
    pdt.assert_frame_equal(report.lead_funnel(crm, as_of=DAY, where=web), lead_funnel(leads))
    k = report.kpis(crm, as_of=DAY, where=web).iloc[0]
    # Web on 04-15: leads L1-L5 (2 converted); open O5 800 + O6 1500; won O1, lost O3
    assert (k["leads"], k["leads_converted"], k["opportunities_open"], k["win_rate"]) == (5, 2, 2, 0.5)


def test_a_bad_where_names_its_position(crm, expression):
    with pytest.raises(ValueError, match="position|column"):
        report.snapshot_funnel(crm, where="no_such_column == 1")


# ---- sections whose inputs the data lacks (issue 15, bugs 4 and 6) ----------------------------
def _org_without_stage_table():
    """Three deals in stages Salesforce's defaults do not have, and no OpportunityStage.csv.

    A won 01-02 -> 02-01 (Engaging, Won), B lost 01-05 -> 02-10 (Engaging, Lost), C open in Engaging
    since 02-01 (amount 800).
    """
    from funnel_analysis.crm import load_frames

    opps = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C"],
            "StageName": ["Won", "Lost", "Engaging"],
            "Amount": [1000, 500, 800],
            "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-01"],
            "CloseDate": ["2024-02-01", "2024-02-10", "2024-06-30"],
            "IsClosed": [True, True, False],
            "IsWon": [True, False, False],
        }
    )
    hist = pd.DataFrame(
        {
            "Id": ["008A1", "008A2", "008B1", "008B2", "008C1"],
            "OpportunityId": ["006A", "006A", "006B", "006B", "006C"],
            "CreatedDate": ["2024-01-02", "2024-02-01", "2024-01-05", "2024-02-10", "2024-02-01"],
            "StageName": ["Engaging", "Won", "Engaging", "Lost", "Engaging"],
        }
    )
    return load_frames({"Opportunity": opps, "OpportunityHistory": hist})


def test_no_stage_table_and_foreign_stages_say_the_order_is_unknown():
    from funnel_analysis._util.missing import missing_reason

    crm = _org_without_stage_table()
    assert crm.report.stages_origin == "default"
    for section in (report.bottlenecks, report.stage_transitions, report.cohort_funnel):
        out = section(crm, as_of="2024-03-31")
        assert "OpportunityStage" in (missing_reason(out) or ""), section.__name__
        assert len(out) == 0  # no 100 % "conversions" through stages nobody used
    # the pipeline per stage is still real: only the stage the deals are in, no rows of zeros
    pipe = report.snapshot_funnel(crm, as_of="2024-03-31")
    assert missing_reason(pipe) is None
    assert pipe[["stage_name", "count", "amount"]].values.tolist() == [["Engaging", 1, 800.0]]


def test_the_stage_order_of_a_normal_org_is_used_as_before(crm):
    from funnel_analysis._util.missing import missing_reason

    # funnel_fixtures lists every stage its deals use: nothing is marked, the results are the frame-level ones
    cut = crm.as_of(DAY)
    out = report.bottlenecks(crm, as_of=DAY)
    assert missing_reason(out) is None
    pdt.assert_frame_equal(out, bottlenecks(cut.opportunities, cut.opportunity_history, stages=cut.stages, as_of=DAY))
    assert len(report.snapshot_funnel(crm, as_of=DAY)) == 4  # the four open stages, zeros included


def test_an_empty_cohort_says_so_instead_of_a_funnel_of_zeros(crm):
    from funnel_analysis._util.missing import missing_reason

    out = report.cohort_funnel(crm, as_of=DAY, created_from="2023-01-01", created_to="2023-03-31")
    assert missing_reason(out) == "no opportunity was created from 2023-01-01 to 2023-03-31 (the cohort is empty)"
    assert len(out) == 0
    # a cohort with deals is unchanged: O1..O4 were created 01-10..02-10
    full = report.cohort_funnel(crm, as_of=DAY, created_from="2024-01-01", created_to="2024-02-29")
    assert missing_reason(full) is None and full["cohort"].iloc[0] == 4


def test_leads_without_is_converted_have_unknown_conversion():
    """Bug 4: an export without IsConverted has no conversion figure (null), never a rate of 0."""
    from funnel_analysis._util.missing import missing_reason
    from funnel_analysis.crm import load_frames

    leads = pd.DataFrame(
        {
            "Id": ["00Q1", "00Q2", "00Q3"],
            "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-01"],
            "Status": ["Open - Not Contacted", "Working - Contacted", "Working - Contacted"],
            "LeadSource": ["Web", "Web", "Partner"],
        }
    )
    crm = load_frames({"Lead": leads})
    k = report.kpis(crm, as_of="2024-03-31").iloc[0]
    assert k["leads"] == 3
    for figure in ("leads_converted", "lead_conversion_rate", "lead_conversion_rate_ci_low"):
        assert pd.isna(k[figure]), figure
    conv = report.lead_conversion(crm, as_of="2024-03-31", by="lead_source")
    assert "IsConverted" in missing_reason(conv) and len(conv) == 0
    steps = report.lead_funnel(crm, as_of="2024-03-31").set_index("step")
    assert steps.loc["Working - Contacted", "count"] == 2  # the statuses are known
    assert pd.isna(steps.loc["Converted to opportunity", "count"])


def test_kpis_count_the_won_deals_left_out_of_the_cycle_for_no_creation_date():
    """Bug 7 at the org level: a won deal with a blank CreatedDate is counted, never a cycle."""
    from funnel_analysis.crm import load_frames

    opps = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006D"],
            "StageName": ["Closed Won", "Closed Won", "Closed Won"],
            "Amount": [1000, 500, 300],
            "CreatedDate": ["2024-01-02", "2024-01-11", ""],
            "CloseDate": ["2024-02-01", "2024-02-10", "2024-03-01"],
            "IsClosed": [True, True, True],
            "IsWon": [True, True, True],
        }
    )
    crm = load_frames({"Opportunity": opps})
    k = report.kpis(crm, as_of="2024-06-30").iloc[0]
    # cycles: A 01-02 -> 02-01 = 30, B 01-11 -> 02-10 = 30; D has no start
    assert (k["median_cycle_days"], k["median_cycle_days_n"], k["cycle_undated_excluded"]) == (30, 2, 1)
    w = report.win_rates(crm, as_of="2024-06-30").iloc[0]
    assert (w["cycle_n"], w["n_undated_excluded"]) == (2, 1)


# ---- lead statuses as data, queue owners -----------------------------------------------------------------
def _status_org(with_table=True):
    from funnel_analysis.crm import load_frames

    leads = pd.DataFrame(
        {
            "Id": ["00QA", "00QB", "00QC", "00QD", "00QE"],
            # "QUALIFIED" is a case variant of the table's Qualified; "On hold" is in no table
            "Status": ["New", "QUALIFIED", "Qualified", "On hold", "New"],
            "CreatedDate": ["2024-01-02"] * 5,
            "IsConverted": [False, False, True, False, False],
            "OwnerId": ["005A", "00GQ", "00GQ", "005A", "00GQ"],
        }
    )
    frames = {
        "Lead": leads,
        "User": pd.DataFrame({"Id": ["005A"], "Name": ["Ann Lee"]}),
        "Group": pd.DataFrame({"Id": ["00GQ"], "Name": ["EMEA Queue"], "Type": ["Queue"]}),
    }
    if with_table:
        frames["LeadStatus"] = pd.DataFrame(
            {
                "MasterLabel": ["Qualified", "New", "Nurture", "Converted"],
                "SortOrder": [2, 1, 3, 4],
                "IsConverted": [False, False, False, True],
                "IsDefault": [False, True, False, False],
            }
        )
    return load_frames(frames)


def test_lead_funnel_follows_the_orgs_lead_status_table():
    out = report.lead_funnel(_status_org(), as_of="2024-03-31")
    # by hand: New 2 (A, E), Qualified 2 (B's variant and C), Nurture and Converted listed but unused: 0,
    # On hold after the table: 1, converted 1 (C); of 5 leads
    assert out["step"].tolist() == ["New", "Qualified", "Nurture", "Converted", "On hold", "Converted to opportunity"]
    assert out["count"].tolist() == [2, 2, 0, 0, 1, 1]
    assert out["share"].tolist() == [0.4, 0.4, 0.0, 0.0, 0.2, 0.2]
    assert out.attrs["note"] == (
        "lead statuses in the order of the org's LeadStatus.csv; statuses it does not list come after it: On hold"
        "; statuses as exported (no LeadHistory: not as of the day)"
    )


def test_lead_funnel_without_a_status_table_says_it_used_salesforces_defaults():
    out = report.lead_funnel(_status_org(with_table=False), as_of="2024-03-31")
    # no default status occurs: the statuses in order of first appearance; the loader folds QUALIFIED and
    # Qualified to one spelling (one each: the mixed-case one)
    assert out["step"].tolist() == ["New", "Qualified", "On hold", "Converted to opportunity"]
    assert out["count"].tolist() == [2, 2, 1, 1]
    assert out.attrs["note"].startswith(
        "lead statuses in Salesforce's default order (the export has no LeadStatus.csv)"
    )
    given = report.lead_funnel(_status_org(), as_of="2024-03-31", status_order=["Qualified", "New"])
    assert given["step"].tolist()[:3] == ["Qualified", "New", "On hold"]
    assert given.attrs["note"] == (
        "lead statuses in the order given (status_order); statuses as exported (no LeadHistory: not as of the day)"
    )


def test_lead_funnel_says_how_the_statuses_are_dated_by_leadhistory():
    import pandas as pd

    from funnel_analysis.crm import load_frames

    # the Status history starts 2024-02-01 (C's change); A and C were created before it, B after.
    # On 2024-01-20 A's and C's statuses are unknown (counted as exported, named in the note);
    # on 2024-03-05 all are known: A never changed (Working), C changed (Working), B is before its
    # 03-10 change, so its status is that change's old value (Open), not the exported Working
    leads = pd.DataFrame(
        {
            "Id": ["00QA", "00QB", "00QC"],
            "Status": ["Working"] * 3,
            "CreatedDate": ["2024-01-02", "2024-03-01", "2024-01-05"],
        }
    )
    history = pd.DataFrame(
        {
            "Id": ["017A", "017B"],
            "LeadId": ["00QC", "00QB"],
            "Field": ["Status", "Status"],
            "OldValue": ["Open", "Open"],
            "NewValue": ["Working", "Working"],
            "DataType": ["Text", "Text"],
            "CreatedDate": ["2024-02-01T10:00:00Z", "2024-03-10T10:00:00Z"],
        }
    )
    crm = load_frames({"Lead": leads, "LeadHistory": history})
    early = report.lead_funnel(crm, as_of="2024-01-20").attrs["note"]
    assert early.endswith(
        "; statuses as of 2024-01-20 from LeadHistory, except 2 leads created before it starts, counted at "
        "their exported status (their status on the day is unknown)"
    )
    later = report.lead_funnel(crm, as_of="2024-03-05")
    assert later.attrs["note"].endswith("; statuses as of 2024-03-05 from LeadHistory")
    counts = later.set_index("step")["count"]
    assert (counts["Working"], counts["Open"]) == (2, 1)


def test_a_breakdown_by_owner_names_the_queue():
    out = report.lead_funnel(_status_org(), as_of="2024-03-31", by="owner_id")
    names = out.drop_duplicates("owner_id").set_index("owner_id")["owner_name"].to_dict()
    assert names == {"005A": "Ann Lee", "00GQ": "EMEA Queue"}
    assert list(out.columns[:2]) == ["owner_id", "owner_name"]
    queue = out[(out["owner_id"] == "00GQ")].set_index("step")["count"]
    assert queue[["New", "Qualified", "On hold"]].tolist() == [1, 2, 0]  # E; B and C
    conv = report.lead_conversion(_status_org(), as_of="2024-03-31", by="owner_id").set_index("owner_name")
    assert conv["converted"].to_dict() == {"Ann Lee": 0, "EMEA Queue": 1}


def test_lead_funnel_where_on_the_queue_name():
    out = report.lead_funnel(_status_org(), as_of="2024-03-31", where="owner.name == 'EMEA Queue'")
    assert out.set_index("step")["count"][["New", "Qualified"]].tolist() == [1, 2]
    assert out["total"].iloc[0] == 3
