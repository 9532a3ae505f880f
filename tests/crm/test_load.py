"""Loading the hand-written tiny export: row accounting, quarantine, flags, cleaning, joins."""

import json

import pandas as pd
import phonenumbers
import pytest

import funnel_analysis as fa
from funnel_analysis.crm import DataLoadError


@pytest.fixture
def tiny(tiny_export):
    return fa.load_org(tiny_export)


def test_row_accounting_by_hand(tiny):
    t = tiny.report.table().set_index("table")[["rows_read", "rows_kept", "rows_quarantined", "rows_flagged"]]
    # opportunities: 10 rows; rows 2,3,4,5,7,8 break an error rule; row 6 only warnings
    assert t.loc["opportunities"].tolist() == [10, 4, 6, 1]
    # history: 11 rows, the last one points at no opportunity
    assert t.loc["opportunity_history"].tolist() == [11, 10, 1, 0]
    # leads: 5 rows, one unparseable boolean; bad email and converted-before-created flagged
    assert t.loc["leads"].tolist() == [5, 4, 1, 2]
    assert t.loc["accounts"].tolist() == [2, 2, 0, 0]
    for _name, d in tiny.report.tables.items():
        assert d["rows_read"] == d["rows_kept"] + d["rows_quarantined"]
        assert d["rows_deleted"] == d["rows_merged"] == 0  # the tiny export has no deleted rows
    assert tiny.report.ignored_files == ["Case.csv"]


def test_quarantine_rows_and_rules(tiny):
    q = tiny.quarantine[tiny.quarantine.table == "opportunities"]
    got = sorted(zip(q["row"].astype(int), q["rule"], q["column"]))
    assert got == [
        (2, "amount_negative", "amount"),
        (3, "probability_out_of_range", "probability"),
        (4, "id_duplicate", "opportunity_id"),
        (5, "id_missing", "opportunity_id"),
        (7, "date_unparseable", "close_date"),
        (8, "number_unparseable", "amount"),
    ]
    assert q.set_index("row").loc[7, "value"] == "2024-02-30"
    assert q.set_index("row").loc[8, "value"] == "12,5k"
    assert set(q["file"]) == {"Opportunity.csv"}
    h = tiny.quarantine[tiny.quarantine.table == "opportunity_history"]
    assert h[["row", "rule", "column"]].values.tolist() == [[10, "reference_unresolved", "opportunity_id"]]
    # nothing is lost: the quarantined rows themselves are kept
    assert len(tiny.quarantined_rows["opportunities"]) == 6
    assert tiny.report.tables["opportunities"]["rules"] == {
        "amount_missing": 1,
        "amount_negative": 1,
        "close_before_created": 1,
        "date_unparseable": 1,
        "id_duplicate": 1,
        "id_missing": 1,
        "number_unparseable": 1,
        "probability_out_of_range": 1,
    }


def test_flags_keep_the_row(tiny):
    f = tiny.flags
    opp = f[f.table == "opportunities"]
    assert sorted(opp["rule"]) == ["amount_missing", "close_before_created"]
    assert set(opp["record_id"]) == {"006000000000005AAA"}
    assert "006000000000005AAA" in set(tiny.opportunities["opportunity_id"])
    leads = f[f.table == "leads"].sort_values("row")
    assert leads[["row", "rule"]].values.tolist() == [[2, "email_invalid"], [3, "converted_before_created"]]


def test_types_and_cleaning(tiny):
    o = tiny.opportunities.set_index("opportunity_id")
    assert str(o["created_date"].dtype) == "datetime64[us, UTC]"
    # US report format "03/15/24 09:30 AM"
    assert o.loc["006000000000008AAA", "created_date"] == pd.Timestamp("2024-03-15 09:30", tz="UTC")
    assert o.loc["006000000000001AAA", "close_date"] == pd.Timestamp("2024-03-15")
    # "1" / empty booleans
    assert o.loc["006000000000008AAA", ["is_closed", "is_won"]].tolist() == [True, False]
    # the stage variant takes the stages table's spelling; the source variant the common one
    assert o.loc["006000000000002AAA", "stage_name"] == "Negotiation/Review"
    assert o.loc["006000000000002AAA", "lead_source"] == "Web"
    # the 15-character AccountId is widened and joins
    assert o.loc["006000000000001AAA", "account_id"] == "001bm00001ZL8U9AAL"
    joined = tiny.opportunities.merge(tiny.accounts, on="account_id", how="left", validate="m:1")
    assert joined["name_y"].notna().all()
    leads = tiny.leads.set_index("lead_id")
    assert leads.loc["00Q000000000002AAA", "email"] == "john.doe@example.com"
    # E.164 checked against phonenumbers itself (an independent implementation)
    de = phonenumbers.format_number(phonenumbers.parse("030 1234567", "DE"), phonenumbers.PhoneNumberFormat.E164)
    assert leads.loc["00Q000000000002AAA", "phone_e164"] == de
    assert leads.loc["00Q000000000003AAA", "company_key"] == "北京华信科技"
    assert leads.loc["00Q000000000003AAA", "company_legal_form"] == "有限公司"
    acc = tiny.accounts.set_index("account_id")
    assert acc.loc["001bm00001ZL8U9AAL", "company_key"] == "edge communications"
    assert acc.loc["001bm00001ZL8U9AAL", "phone_e164"] == "+15127576000"


def test_parquet_round_trip(tiny, tmp_path):
    tiny.to_parquet(tmp_path / "cache")
    back = fa.load_org(tmp_path / "cache")
    assert set(back.tables) == set(tiny.tables)
    for name, df in tiny.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], df, check_dtype=False)
    assert back.report.to_dict() == json.loads(json.dumps(tiny.report.to_dict()))
    assert len(back.quarantine) == len(tiny.quarantine)


def test_missing_required_column_names_file_and_column(tiny_export):
    (tiny_export / "OpportunityHistory.csv").write_text("Id,StageName\n008000000000001AAA,Prospecting\n")
    with pytest.raises(DataLoadError) as exc:
        fa.load_org(tiny_export)
    msg = str(exc.value)
    assert "OpportunityHistory.csv" in msg and "opportunity_id" in msg and "OpportunityId" in msg


def test_wrong_delimiter_and_encoding(tiny_export):
    (tiny_export / "Account.csv").write_text("Id;Name\n001bm00001ZL8U9AAL;Edge\n")
    with pytest.raises(DataLoadError, match="Account.csv.*semicolon"):
        fa.load_org(tiny_export)
    (tiny_export / "Account.csv").write_bytes("Id,Name\n001bm00001ZL8U9AAL,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataLoadError, match="Account.csv.*UTF-8"):
        fa.load_org(tiny_export)


def test_load_frames_matches_folder(tiny_export, tiny):
    frames = {
        p.stem: pd.read_csv(p, dtype=str, keep_default_na=False).replace("", None) for p in tiny_export.glob("*.csv")
    }
    crm = fa.load_frames(frames)

    def by_table(c):
        return c.report.table().sort_values("table").reset_index(drop=True)

    pd.testing.assert_frame_equal(by_table(crm), by_table(tiny))


def test_stage_missing_from_the_stages_table_is_inferred_and_placed(tiny_export):
    opp = tiny_export / "Opportunity.csv"
    opp.write_text(
        opp.read_text() + "006000000000009AAA,001bm00001ZL8U9AAL,New stage,Discovery,10,55,2024-06-30,"
        "false,false,2024-02-01T09:00:00.000+0000,Web\n"
    )
    crm = fa.load_org(tiny_export)
    # 55% sits between the standard Value Proposition (50%) and Id. Decision Makers (60%)
    order = crm.stage_order
    assert order.index("Discovery") == order.index("Value Proposition") + 1
    row = crm.stages.set_index("stage_name").loc["Discovery"]
    assert bool(row["inferred"]) and not row["is_closed"]
    assert crm.report.stages_origin == "default"


def test_newlines_inside_quoted_values_are_kept(tiny_export):
    from funnel_analysis.crm.read import read_csv_text

    path = tiny_export / "Account.csv"
    path.write_text('Id,Name,Description\n001bm00001ZL8U9AAL,Edge,"two\nlines"\n001bm00001ZL8UAAA1,Burlington,\n')
    df = read_csv_text(path)
    assert len(df) == 2 and df.loc[0, "Description"] == "two\nlines" and df.loc[1, "Name"] == "Burlington"
    crm = fa.load_org(tiny_export)
    assert crm.report.rows_read("accounts") == 2


def test_blank_values_are_not_counted_as_normalised(tmp_path):
    folder = tmp_path / "blank"
    folder.mkdir()
    # by hand: one e-mail needs lowering; the other two cells are blank or spaces
    (folder / "Lead.csv").write_text(
        "Id,LastName,Company,Email\n"
        "00Q000000000001AAA,A,X,Ann@X.COM\n00Q000000000002AAA,B,Y,\n00Q000000000003AAA,C,Z,   \n"
    )
    crm = fa.load_org(folder)
    assert crm.report.tables["leads"]["cleaning"].get("email:normalised") == 1
