"""Stage gates on a hand-built org: entries, a skip, values at entry, unknown where nothing is known."""

import pandas as pd

from funnel_analysis.crm import load_frames
from funnel_analysis.routing import parse_rules, stage_gate_audit, stage_gate_win_rates

OPP = [f"00600000000000{i}AAA" for i in range(1, 6)]
RULES = parse_rules(
    {
        "stage_criteria": {
            "Needs Analysis": ["amount > 0", "next_step is not null"],
            "Proposal/Price Quote": ["budget_confirmed == true"],
        }
    }
)


def org():
    opps = pd.DataFrame(
        {
            "Id": OPP,
            "StageName": ["Value Proposition", "Closed Won", "Closed Lost", "Needs Analysis", "Needs Analysis"],
            "Amount": ["5000", "1000", "10", "100", "300"],
            "NextStep": ["Demo", "Demo", None, "Call", "Call"],
            "Budget_Confirmed__c": ["false", "true", "false", "false", "false"],
            "IsClosed": ["false", "true", "true", "false", "false"],
            "IsWon": ["false", "true", "false", "false", "false"],
            "CreatedDate": [
                "2025-01-01T09:00:00Z",
                "2025-01-02T09:00:00Z",
                "2025-01-03T09:00:00Z",
                "2025-01-12T09:00:00Z",
                "2024-12-01T09:00:00Z",
            ],  # fmt: skip
            "CloseDate": ["2025-03-31", "2025-02-01", "2025-01-20", "2025-03-31", "2025-03-31"],
        }
    )
    # O1 Prospecting (amount 0) -> Value Proposition on 10 Jan with 5000: skips Needs Analysis
    # O2 Prospecting -> Needs Analysis (1000) -> Proposal -> Closed Won
    # O3 Prospecting -> Closed Lost: a loss skips nothing
    # O4 created in Needs Analysis on 12 Jan; O5 created in Needs Analysis on 1 December (before the NextStep history)
    hist = [
        (OPP[0], "2025-01-01T09:00:00Z", "Prospecting", "0"),
        (OPP[0], "2025-01-10T09:00:00Z", "Value Proposition", "5000"),
        (OPP[1], "2025-01-02T09:00:00Z", "Prospecting", "1000"),
        (OPP[1], "2025-01-10T09:00:00Z", "Needs Analysis", "1000"),
        (OPP[1], "2025-01-25T09:00:00Z", "Proposal/Price Quote", "1000"),
        (OPP[1], "2025-02-01T09:00:00Z", "Closed Won", "1000"),
        (OPP[2], "2025-01-03T09:00:00Z", "Prospecting", "10"),
        (OPP[2], "2025-01-20T09:00:00Z", "Closed Lost", "10"),
        (OPP[3], "2025-01-12T09:00:00Z", "Needs Analysis", "100"),
        (OPP[4], "2024-12-01T09:00:00Z", "Needs Analysis", "300"),
    ]
    history = pd.DataFrame(
        {
            "Id": [f"00800000000000{i}AAA" for i in range(len(hist))],
            "OpportunityId": [h[0] for h in hist],
            "CreatedDate": [h[1] for h in hist],
            "StageName": [h[2] for h in hist],
            "Amount": [h[3] for h in hist],
        }
    )
    # NextStep: O1 filled on 5 Jan (before its skip); O2 filled on 20 Jan, after it entered Needs Analysis.
    # Budget_Confirmed__c (tracked since O3's change on 4 January): O2 ticked on 10 February, after it closed.
    fh = [
        (OPP[0], "NextStep", None, "Demo", "2025-01-05T09:00:00Z"),
        (OPP[1], "NextStep", None, "Demo", "2025-01-20T09:00:00Z"),
        (OPP[2], "Budget_Confirmed__c", "true", "false", "2025-01-04T09:00:00Z"),
        (OPP[1], "Budget_Confirmed__c", "false", "true", "2025-02-10T09:00:00Z"),
    ]
    field_history = pd.DataFrame(
        {
            "Id": [f"01700000000000{i}AAA" for i in range(len(fh))],
            "OpportunityId": [f[0] for f in fh],
            "Field": [f[1] for f in fh],
            "OldValue": [f[2] for f in fh],
            "NewValue": [f[3] for f in fh],
            "DataType": ["Text", "Text", "Boolean", "Boolean"],
            "CreatedDate": [f[4] for f in fh],
        }
    )
    return load_frames({"Opportunity": opps, "OpportunityHistory": history, "OpportunityFieldHistory": field_history})


def test_a_deal_entering_a_gated_stage_by_a_skip_and_values_at_entry():
    a = stage_gate_audit(org(), rules=RULES, as_of="2025-03-01")
    got = {(r.opportunity_id, r.stage): (r.entered_by, r.compliant) for r in a.itertuples()}
    assert set(got) == {(OPP[0], "Needs Analysis"), (OPP[1], "Needs Analysis"), (OPP[1], "Proposal/Price Quote"),
                        (OPP[3], "Needs Analysis"), (OPP[4], "Needs Analysis")}  # fmt: skip
    # O1 skipped Needs Analysis on 10 Jan with amount 5000 (the history row) and NextStep "Demo" since 5 Jan
    assert got[(OPP[0], "Needs Analysis")] == ("skip", True)
    # O2 entered Needs Analysis on 10 Jan without a next step (filled on 20 Jan)
    assert got[(OPP[1], "Needs Analysis")] == ("change", False)
    row = a[(a["opportunity_id"] == OPP[1]) & (a["stage"] == "Needs Analysis")].iloc[0]
    assert row["failed"] == "next_step is not null"
    # O2's budget was ticked after it closed: it does not count
    assert got[(OPP[1], "Proposal/Price Quote")] == ("change", False)
    # O4, created after the NextStep history starts and never changed: its current value holds since creation
    assert got[(OPP[3], "Needs Analysis")] == ("creation", True)
    # O5, older than that history: unknown, not compliant and not failed
    assert got[(OPP[4], "Needs Analysis")][0] == "creation" and pd.isna(got[(OPP[4], "Needs Analysis")][1])
    assert a.loc[a["opportunity_id"] == OPP[4], "unknown"].iloc[0] == "next_step is not null"


def test_win_rates_by_compliance():
    w = stage_gate_win_rates(stage_gate_audit(org(), rules=RULES, as_of="2025-03-01")).set_index(["stage", "compliant"])
    # only O2 closed (won), non-compliant at both gates
    assert w.loc[("Needs Analysis", "False"), ["deals", "closed", "won"]].tolist() == [1, 1, 1]
    assert w.loc[("Needs Analysis", "True"), ["deals", "closed"]].tolist() == [2, 0]
    assert w.loc[("Needs Analysis", "unknown"), "deals"] == 1
    assert w.loc[("Proposal/Price Quote", "False"), "win_rate"] == 1.0


def test_a_deal_created_or_reopened_past_a_gate_enters_it_and_a_failed_criterion_beside_an_unknown_one_fails():
    p1, p2 = "006000000000P01AAA", "006000000000P02AAA"
    opps = pd.DataFrame(
        {
            "Id": [p1, p2],
            "StageName": ["Proposal/Price Quote", "Negotiation/Review"],
            "Amount": ["0", "500"],
            "NextStep": [None, "Call"],
            "Budget_Confirmed__c": ["false", "true"],
            "IsClosed": ["false", "false"],
            "IsWon": ["false", "false"],
            "CreatedDate": ["2024-12-01T09:00:00Z", "2025-01-05T09:00:00Z"],
            "CloseDate": ["2025-03-31", "2025-03-31"],
        }
    )
    # P1 created in Proposal with amount 0 (before the field history starts on 10 Jan): it skipped Needs Analysis.
    # P2 Prospecting -> Closed Lost -> reopened into Negotiation on 20 Jan: skips Needs Analysis and Proposal.
    hist = [
        (p1, "2024-12-01T09:00:00Z", "Proposal/Price Quote", "0"),
        (p2, "2025-01-05T09:00:00Z", "Prospecting", "500"),
        (p2, "2025-01-06T09:00:00Z", "Closed Lost", "500"),
        (p2, "2025-01-20T09:00:00Z", "Negotiation/Review", "500"),
    ]
    history = pd.DataFrame(
        {
            "Id": [f"00800000000001{i}AAA" for i in range(len(hist))],
            "OpportunityId": [h[0] for h in hist],
            "CreatedDate": [h[1] for h in hist],
            "StageName": [h[2] for h in hist],
            "Amount": [h[3] for h in hist],
        }
    )
    # P2: NextStep filled on 10 Jan (before the reopening), the budget ticked on 1 Feb (after it)
    field_history = pd.DataFrame(
        {
            "Id": ["017000000000010AAA", "017000000000011AAA"],
            "OpportunityId": [p2, p2],
            "Field": ["NextStep", "Budget_Confirmed__c"],
            "OldValue": [None, "false"],
            "NewValue": ["Call", "true"],
            "DataType": ["Text", "Boolean"],
            "CreatedDate": ["2025-01-10T09:00:00Z", "2025-02-01T09:00:00Z"],
        }
    )
    crm = load_frames({"Opportunity": opps, "OpportunityHistory": history, "OpportunityFieldHistory": field_history})
    a = stage_gate_audit(crm, rules=RULES, as_of="2025-03-01")
    got = {(r.opportunity_id, r.stage): (r.entered_by, r.compliant, r.failed, r.unknown) for r in a.itertuples()}
    assert set(got) == {(p1, "Needs Analysis"), (p1, "Proposal/Price Quote"), (p2, "Needs Analysis"),
                        (p2, "Proposal/Price Quote")}  # fmt: skip
    # P1: amount 0 fails beside the unknown next step (Kleene's and): the gate failed, not unknown
    assert got[(p1, "Needs Analysis")] == ("skip", False, "amount > 0", "next_step is not null")
    assert got[(p1, "Proposal/Price Quote")][0] == "creation" and pd.isna(got[(p1, "Proposal/Price Quote")][1])
    assert got[(p2, "Needs Analysis")][:2] == ("skip", True)
    assert got[(p2, "Proposal/Price Quote")][:2] == ("skip", False)
    assert a.loc[a["opportunity_id"] == p2, "entered_at"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-20"] * 2


def test_stage_gates_for_a_report_with_rules_and_without(tmp_path):
    """The velocity report's section: the win rates under the org's rules file, or one line without one."""
    from funnel_analysis._util.missing import missing_reason
    from funnel_analysis.routing import stage_gates

    crm = org()
    none = stage_gates(crm, data_dir=tmp_path, as_of="2025-03-31")
    assert len(none) == 0 and "no routing rules" in missing_reason(none)
    (tmp_path / "routing_rules.yaml").write_text("version: 1\nlead_assignment: []\n", encoding="utf-8")
    ungated = stage_gates(crm, data_dir=tmp_path, as_of="2025-03-31")
    assert len(ungated) == 0 and "sets no stage_criteria" in missing_reason(ungated)
    (tmp_path / "routing_rules.yaml").write_text(
        "version: 1\nstage_criteria:\n  Needs Analysis: ['amount > 0', 'next_step is not null']\n"
        "  Proposal/Price Quote: ['budget_confirmed == true']\n",
        encoding="utf-8",
    )
    got = stage_gates(crm, data_dir=tmp_path, as_of="2025-03-31")
    want = stage_gate_win_rates(stage_gate_audit(crm, rules=RULES, as_of="2025-03-31"))
    pd.testing.assert_frame_equal(got, want)
    assert missing_reason(got) is None
