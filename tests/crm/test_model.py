"""CrmData.as_of on the tiny export, where every state is known by hand."""

import pandas as pd
import pytest

A, B, E, H = (f"00600000000000{i}AAA" for i in (1, 2, 5, 8))


@pytest.fixture(scope="module")
def tiny(tiny_crm):
    return tiny_crm


def state(crm, day):
    cut = crm.as_of(day).opportunities.set_index("opportunity_id")
    return cut


def test_as_of_before_anything_is_empty(tiny):
    cut = tiny.as_of("2023-12-31")
    assert len(cut.opportunities) == 0 and len(cut.leads) == 0 and len(cut.opportunity_history) == 0


def test_as_of_mid_february(tiny):
    s = state(tiny, "2024-02-15")
    # created by the end of 2024-02-15: A (01-10), B (02-01), E (01-05); H only on 03-15
    assert sorted(s.index) == [A, B, E]
    # A: last history row on or before the day is 02-01 Negotiation/Review, 1000, 90%, close 03-31
    assert s.loc[A, ["stage_name", "amount", "probability"]].tolist() == ["Negotiation/Review", 1000, 90]
    assert s.loc[A, "close_date"] == pd.Timestamp("2024-03-31")
    assert s.loc[A, "forecast_category"] == "Commit"
    assert not s.loc[A, "is_closed"] and not s.loc[A, "is_won"]
    # B: its first row, Prospecting 500
    assert s.loc[B, ["stage_name", "amount", "state_source"]].tolist() == ["Prospecting", 500, "history"]
    # E has no history: its current record stands
    assert s.loc[E, ["stage_name", "state_source"]].tolist() == ["Prospecting", "current"]


def test_as_of_end_of_day_is_inclusive(tiny):
    # A's Closed Won row is stamped 2024-03-15 16:00 UTC: won at the end of 03-15, not on 03-14
    assert state(tiny, "2024-03-14").loc[A, "is_won"] == False  # noqa: E712
    assert state(tiny, "2024-03-15").loc[A, ["stage_name", "is_closed", "is_won"]].tolist() == [
        "Closed Won",
        True,
        True,
    ]


def test_as_of_reopened_deal(tiny):
    # H: Prospecting 03-15, Closed Lost 04-10 (200), Qualification 04-20 (300), Closed Lost 05-05
    assert state(tiny, "2024-04-15").loc[H, ["stage_name", "amount", "is_closed"]].tolist() == [
        "Closed Lost",
        200,
        True,
    ]
    assert state(tiny, "2024-04-25").loc[H, ["stage_name", "amount", "is_closed", "is_won"]].tolist() == [
        "Qualification",
        300,
        False,
        False,
    ]
    assert state(tiny, "2024-05-10").loc[H, ["stage_name", "amount", "is_closed"]].tolist() == [
        "Closed Lost",
        300,
        True,
    ]


def test_as_of_today_equals_current_records(tiny):
    now = state(tiny, "2030-01-01")
    cur = tiny.opportunities.set_index("opportunity_id")
    for col in ("stage_name", "amount", "close_date", "is_closed", "is_won"):
        pd.testing.assert_series_equal(now[col], cur[col], check_names=False, check_dtype=False)


def test_as_of_leads_conversion_undone(tiny):
    # L1 converted on 2024-01-10: not yet converted on 01-05, converted on 01-10
    early = tiny.as_of("2024-01-05").leads.set_index("lead_id")
    assert sorted(early.index) == ["00Q000000000001AAA", "00Q000000000002AAA", "00Q000000000003AAA"]
    assert not early.loc["00Q000000000001AAA", "is_converted"]
    assert pd.isna(early.loc["00Q000000000001AAA", "converted_opportunity_id"])
    later = tiny.as_of("2024-01-10").leads.set_index("lead_id")
    assert later.loc["00Q000000000001AAA", "is_converted"]


def test_as_of_does_not_change_the_org(tiny):
    before = tiny.opportunities.copy()
    tiny.as_of("2024-02-15")
    pd.testing.assert_frame_equal(tiny.opportunities, before)


def test_as_of_history_cut(tiny):
    h = tiny.as_of("2024-02-15").opportunity_history
    # rows stamped on or before 02-15: A 01-10, A 02-01, B 02-01
    assert len(h) == 3


def test_as_of_rejects_garbage(tiny):
    with pytest.raises(ValueError):
        tiny.as_of("not a date")


# ---- the memo of cuts, rows(where=), resolve_as_of --------------------------------------------
def test_as_of_memoises_each_day(tiny_export):
    import funnel_analysis as fa

    crm = fa.load_org(tiny_export)
    first = crm.as_of("2024-02-15")
    assert crm.as_of(pd.Timestamp("2024-02-15 13:00")) is first  # the same day: the same cut
    assert crm.as_of("2024-02-16") is not first
    crm.tables["opportunities"] = crm.tables["opportunities"].head(1)  # a replaced table: a new cut
    again = crm.as_of("2024-02-15")
    assert again is not first and len(again.opportunities) == 1


def test_as_of_memo_is_bounded_and_not_pickled(tiny_export):
    import pickle

    import funnel_analysis as fa
    from funnel_analysis.crm import MAX_CUTS

    crm = fa.load_org(tiny_export)
    for day in pd.date_range("2024-01-01", periods=MAX_CUTS + 5):
        crm.as_of(day)
    assert len(crm.__dict__["_cuts"]) == MAX_CUTS
    assert "_cuts" not in pickle.loads(pickle.dumps(crm)).__dict__
    # an analysis' memo kept in the org (routing, scoring) is not pickled either; the fields are
    crm.__dict__["_routing_memo"] = {"first_touches": object()}
    back = pickle.loads(pickle.dumps(crm))
    assert "_routing_memo" not in back.__dict__ and len(back.leads) == len(crm.leads)


def test_rows_selects_with_the_grammar(tiny):
    # plain pandas on the tiny org: the kept opportunities with amount of at least 500
    opps = tiny.opportunities
    expected = sorted(opps.loc[opps["amount"] >= 500, "opportunity_id"])
    got = tiny.rows("opportunities", where="amount >= 500")
    assert sorted(got["opportunity_id"]) == expected and len(expected) == 2
    assert tiny.rows("opportunities", where="") is opps and tiny.rows("opportunities") is opps
    # a dotted path through the account: Edge Communications is in Electronics
    edge = tiny.rows("opportunities", where="account.industry == 'Electronics'")
    assert set(edge["account_id"]) == {"001bm00001ZL8U9AAL"} and len(edge) == 2


def test_rows_refuses_an_expression_outside_the_grammar(tiny):
    from funnel_analysis.crm.expression import ExpressionError

    with pytest.raises(ExpressionError):
        tiny.rows("opportunities", where="__import__('os').system('true')")
    with pytest.raises(ExpressionError, match="regon"):
        tiny.rows("opportunities", where="regon == 'EMEA'")


def test_resolve_as_of_takes_the_day_by_keyword(tiny):
    from funnel_analysis.crm import latest_date, resolve_as_of

    assert resolve_as_of(tiny, as_of="") == resolve_as_of(tiny) == latest_date(tiny)
    assert resolve_as_of(tiny, as_of="2024-03-15T23:30:00+00:00") == pd.Timestamp("2024-03-15")
    with pytest.raises(TypeError):
        resolve_as_of(tiny, "2024-03-15")  # by keyword only


def test_quality_report_cleaning_and_notes(tiny):
    cleaning = tiny.report.cleaning()
    # by hand from the tiny export: one 15-character AccountId on the kept opportunities, one
    # "web " lead source on a lead and on a kept opportunity, one e-mail with spaces and capitals
    assert cleaning.loc["account_id:ids_widened", "opportunities"] == 1
    assert cleaning.loc["lead_source:normalised", ["leads", "opportunities"]].tolist() == [1, 1]
    assert cleaning.loc["email:normalised", "leads"] == 1 and cleaning["accounts"].sum() == 0
    notes = tiny.report.notes().set_index("note")["value"]
    assert notes["ignored files"] == "Case.csv" and notes["stages from"] == tiny.report.stages_origin


def test_resolve_as_of_names_the_parameter_on_a_bad_date(tiny):
    from funnel_analysis.crm import resolve_as_of

    with pytest.raises(ValueError, match="as_of='2024-13-45' is not a date"):
        resolve_as_of(tiny, as_of="2024-13-45")


def test_as_of_without_closed_flags_takes_them_from_the_stage():
    """An export without IsClosed/IsWon: the flags of each deal's stage (by hand from the stages table)."""
    import funnel_analysis as fa

    opps = pd.DataFrame(
        {
            "Id": ["006000000000001AAA", "006000000000002AAA", "006000000000003AAA"],
            "StageName": ["Closed Won", "Prospecting", "Closed Lost"],
            "Amount": ["10", "20", "30"],
            "CloseDate": ["2024-01-31", "2024-06-30", "2024-02-15"],
            "CreatedDate": ["2024-01-01T00:00:00Z"] * 3,
        }
    )
    cut = fa.load_frames({"Opportunity": opps}).as_of("2024-03-31").opportunities.set_index("opportunity_id")
    assert cut["is_closed"].tolist() == [True, False, True]
    assert cut["is_won"].tolist() == [True, False, False]


def test_cut_as_of_resolves_the_day_and_shares_the_memo(tiny):
    from funnel_analysis.crm import cut_as_of, latest_date

    assert cut_as_of(tiny, as_of="2024-02-15") is tiny.as_of("2024-02-15")
    assert cut_as_of(tiny, as_of="").as_of_date == latest_date(tiny)
    with pytest.raises(TypeError, match="CrmData"):
        cut_as_of(tiny.opportunities, as_of="2024-02-15")


def test_history_of_keeps_the_history_of_the_given_deals(tiny):
    cut = tiny.as_of("2024-06-30")
    assert cut.history_of(cut.opportunities) is cut.opportunity_history  # no filter: the table itself
    big = cut.rows("opportunities", where="amount >= 1000")
    hist = cut.history_of(big)
    # by hand: only deal A (1000) qualifies; its three history rows
    assert set(hist["opportunity_id"]) == {A} and len(hist) == 3


# ---- the report date: the extract time ---------------------------------------------------------
def _extract_org(tmp_path, opp_extra=""):
    import funnel_analysis as fa

    folder = tmp_path / "ext"
    folder.mkdir()
    (folder / "Opportunity.csv").write_text(
        "Id,Name,StageName,CloseDate,CreatedDate,SystemModstamp\n"
        # a close date far in the future never dates the extract; the modstamp of the second deal does
        "006000000000001AAA,A,Prospecting,2031-01-01,2024-01-02T10:00:00.000+0000,2024-02-01T10:00:00.000+0000\n"
        "006000000000002AAA,B,Closed Won,2024-03-01,2024-01-03T10:00:00.000+0000,2024-03-09T23:59:00.000+0000\n"
        + opp_extra
    )
    (folder / "Task.csv").write_text(
        "Id,Subject,ActivityDate,CreatedDate\n00T000000000001AAA,Due later,2030-05-05,2024-01-04T10:00:00.000+0000\n"
    )
    return fa.load_org(folder)


def test_the_default_report_date_is_the_extract_time_not_a_future_date(tmp_path):
    from funnel_analysis.crm import extract_time, latest_date

    crm = _extract_org(tmp_path)
    when = extract_time(crm)
    # by hand: the latest SystemModstamp is 2024-03-09 23:59 on deal B; creation dates are earlier and
    # the close date 2031-01-01 and the task due 2030-05-05 are not change timestamps
    assert (when.report_date, when.table, when.column) == (
        pd.Timestamp("2024-03-09"),
        "opportunities",
        "system_modstamp",
    )
    assert latest_date(crm) == pd.Timestamp("2024-03-09")
    assert when.describe() == "latest SystemModstamp of Opportunity"


def test_wins_after_the_last_creation_date_are_in_the_default_cut(tmp_path):
    from funnel_analysis.crm import cut_as_of

    crm = _extract_org(tmp_path)
    # the last creation is 2024-01-04: a cut on it would reopen deal B (closed 2024-03-01)
    assert cut_as_of(crm).opportunities.set_index("name").loc["B", "is_won"]


def test_extract_time_needs_a_timestamp():
    from funnel_analysis.crm import extract_time
    from funnel_analysis.crm.model import CrmData, DataQualityReport

    empty = CrmData(
        tables={}, quarantine=pd.DataFrame(), flags=pd.DataFrame(), quarantined_rows={}, report=DataQualityReport()
    )
    with pytest.raises(ValueError, match="give as_of"):
        extract_time(empty)


# ---- the cut with a field history ---------------------------------------------------------------
def test_without_field_history_the_cut_adds_no_column(tiny):
    cut = tiny.as_of("2024-02-15")
    assert list(cut.leads.columns) == list(tiny.leads.columns)
    assert list(cut.opportunities.columns) == [*tiny.opportunities.columns, "state_source"]


def _deal_owner_org():
    import funnel_analysis as fa

    opps = pd.DataFrame(
        {
            "Id": ["006000000000001AAA", "006000000000002AAA", "006000000000003AAA"],
            "StageName": ["Prospecting"] * 3,
            "CloseDate": ["2024-06-30"] * 3,
            "OwnerId": ["005000000000002AAA", "005000000000003AAA", "005000000000005AAA"],
            "CreatedDate": ["2024-01-01T00:00:00Z", "2023-11-01T00:00:00Z", "2023-12-01T00:00:00Z"],
        }
    )
    hist = pd.DataFrame(
        {
            "Id": ["017000000000001AAA", "017000000000002AAA", "017000000000003AAA"],
            "OpportunityId": ["006000000000003AAA", "006000000000001AAA", "006000000000001AAA"],
            "Field": ["Owner"] * 3,
            "OldValue": ["005000000000004AAA", "005000000000001AAA", "Ann Lee"],
            "NewValue": ["005000000000005AAA", "005000000000002AAA", "Bo Chen"],
            "DataType": ["EntityId", "EntityId", "Text"],
            "CreatedDate": ["2024-01-01T00:00:00Z", "2024-03-01T12:00:00Z", "2024-03-01T12:00:00Z"],
        }
    )
    return fa.load_frames({"Opportunity": opps, "OpportunityFieldHistory": hist})


def test_a_cut_carries_the_deal_owner_of_the_day():
    crm = _deal_owner_org()
    # the Owner history starts 2024-01-01 (deal 3's change): before it, older deals' owners are unknown
    dec = crm.as_of("2023-12-15").opportunities.set_index("opportunity_id")
    assert dec["owner_id"].tolist() == ["005000000000003AAA", "005000000000005AAA"]  # as exported
    assert dec["owner_source"].tolist() == ["as_exported", "as_exported"]
    feb = crm.as_of("2024-02-15").opportunities.set_index("opportunity_id")
    # deal 1 (created with the history): its owner before its first change (03-01) is that change's old value
    assert feb["owner_id"].tolist() == ["005000000000001AAA", "005000000000003AAA", "005000000000005AAA"]
    assert feb["owner_source"].tolist() == ["first_change_old_value", "no_change", "history"]
    mar = crm.as_of("2024-03-01").opportunities.set_index("opportunity_id")
    assert mar.loc["006000000000001AAA", ["owner_id", "owner_source"]].tolist() == ["005000000000002AAA", "history"]
    # no CloseDate rows at all: whether the deals slipped is unknown, never "no"
    assert mar["close_date_pushes"].isna().all() and mar["slipped_before"].isna().all()
    assert crm.opportunities["owner_id"].tolist()[0] == "005000000000002AAA"  # the org is unchanged


def test_field_history_memo_is_not_pickled():
    import pickle

    crm = _deal_owner_org()
    crm.as_of("2024-03-01")
    assert "_field_history_cache" in crm.__dict__
    assert "_field_history_cache" not in pickle.loads(pickle.dumps(crm)).__dict__
