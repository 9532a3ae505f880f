"""Mapping joins: columns from a second file by key, repeated keys resolved or refused, no row added.

Every expected value is worked out by hand from the few rows written here (or, for the property
test, by plain pandas).
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnel_analysis as fa
from funnel_analysis.crm import DataLoadError
from funnel_analysis.crm.mapping import load_mapping

LEADS = (
    "lead_id,created_at,email,first_name,last_name,company,source,status,owner_id\n"
    "L1,2024-01-01T09:00:00Z,ann@x.com,Ann,A,Acme,Web,Open,U1\n"
    "L2,2024-01-02T09:00:00Z,bob@x.com,Bob,B,Beta,Web,Open,U1\n"
    "L3,2024-01-03T09:00:00Z,cy@x.com,Cy,C,Gamma,Phone,Open,U2\n"
)
# L1 has two deals: D2 is the earliest (Feb 5), D1 the latest (Feb 10); L2 has none; L3 one
DEALS = (
    "deal_id,lead_id,account_id,name,created_at,stage,amount,close_date,owner_id\n"
    "D1,L1,A1,Acme 1,2024-02-10T00:00:00Z,Closed Won,100,2024-03-01,U1\n"
    "D2,L1,A1,Acme 2,2024-02-05T00:00:00Z,Prospecting,50,2024-04-01,U1\n"
    "D3,L3,A3,Gamma,2024-02-07T00:00:00Z,Closed Lost,70,2024-03-05,U2\n"
)


def _folder(tmp_path, leads=LEADS, deals=DEALS):
    folder = tmp_path / "org"
    folder.mkdir(exist_ok=True)
    (folder / "leads.csv").write_text(leads)
    (folder / "deals.csv").write_text(deals)
    return folder


def _mapping(tmp_path, join: str, *, extra: str = "", derive: str = "") -> str:
    """A leads-only mapping with the given join entry (YAML lines indented under `join:`)."""
    m = tmp_path / "m.yaml"
    m.write_text(
        "name: t\ntables:\n  leads:\n    files: [leads.csv]\n"
        "    columns: {lead_id: lead_id, created_at: created_date}\n"
        f"{extra}    join:\n{join}{derive}"
    )
    return m


JOIN = "      - file: deals.csv\n        on: {lead_id: lead_id}\n        columns: {deal_id: converted_opportunity_id}\n"


def _deal_of(crm) -> dict:
    leads = crm.leads.set_index("lead_id")["converted_opportunity_id"]
    return {k: (None if pd.isna(v) else v) for k, v in leads.items()}


def test_the_shipped_example_joins_leads_to_their_earliest_deal(tmp_path):
    crm = fa.load_org(_folder(tmp_path), mapping="leads_and_deals")
    leads = crm.leads.set_index("lead_id")
    assert leads["is_converted"].tolist() == [True, False, True]
    assert leads["has_deal"].tolist() == [True, False, True]
    assert _deal_of(crm) == {"L1": "D2", "L2": None, "L3": "D3"}
    assert leads.loc["L1", "converted_date"] == pd.Timestamp("2024-02-05")
    assert leads.loc["L3", "converted_date"] == pd.Timestamp("2024-02-07")
    assert pd.isna(leads.loc["L2", "converted_date"])
    assert leads.loc["L1", "converted_account_id"] == "A1"
    assert str(leads["converted_date"].dtype) == "datetime64[us]"  # typed like the table's own
    report = crm.report.tables["leads"]
    assert report["rows_read"] == report["rows_kept"] == 3  # no row added by the two deals of L1
    assert report["cleaning"]["join:deals.csv:matched"] == 2
    assert report["cleaning"]["join:deals.csv:repeated_keys_resolved"] == 1
    assert report["cleaning"]["join:deals.csv:rows_not_taken"] == 1
    # deals.csv is also the opportunities table, all three deals
    opps = crm.opportunities.set_index("opportunity_id")
    assert opps["is_won"].tolist() == [True, False, False]
    assert opps["is_closed"].tolist() == [True, False, True]
    assert opps.loc["D2", "lead_id"] == "L1"
    # the converted deal resolves as a reference: nothing flagged
    assert crm.flags.empty and crm.quarantine.empty
    m = load_mapping("leads_and_deals")
    assert m.description and m.tables["leads"].joins[0].keep == "earliest"


def test_latest_keeps_the_last_deal(tmp_path):
    join = JOIN + "        repeated: {keep: latest, by: created_at}\n"
    crm = fa.load_org(_folder(tmp_path), mapping=_mapping(tmp_path, join))
    assert _deal_of(crm) == {"L1": "D1", "L2": None, "L3": "D3"}


@pytest.mark.parametrize("keep", ["earliest", "latest"])
def test_a_tie_on_the_date_keeps_the_row_first_in_the_file(tmp_path, keep):
    deals = (
        "deal_id,lead_id,created_at\nD9,L1,2024-02-05\nD8,L1,2024-02-05\nD7,L1,2024-01-01\n"
        if keep == "latest"
        else "deal_id,lead_id,created_at\nD9,L1,2024-02-05\nD8,L1,2024-02-05\nD7,L1,2024-03-01\n"
    )
    join = JOIN + f"        repeated: {{keep: {keep}, by: created_at}}\n"
    crm = fa.load_org(_folder(tmp_path, deals=deals), mapping=_mapping(tmp_path, join))
    assert _deal_of(crm)["L1"] == "D9"


def test_a_row_without_a_date_never_wins(tmp_path):
    deals = "deal_id,lead_id,created_at\nD1,L1,\nD2,L1,2024-05-01\nD3,L1,not a date\n"
    for keep in ("earliest", "latest"):
        join = JOIN + f"        repeated: {{keep: {keep}, by: created_at}}\n"
        crm = fa.load_org(_folder(tmp_path, deals=deals), mapping=_mapping(tmp_path, join))
        assert _deal_of(crm)["L1"] == "D2"


def test_a_repeated_key_without_a_rule_is_refused_in_one_line(tmp_path):
    folder = _folder(tmp_path)
    m = _mapping(tmp_path, JOIN)
    with pytest.raises(DataLoadError) as e:
        fa.load_org(folder, mapping=m)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("deals.csv: column 'lead_id':")
    assert "'L1' is on 2 rows" in msg and "repeated: {keep: earliest" in msg


def test_keys_match_trimmed_and_as_18_character_ids_missing_keys_never(tmp_path):
    # 00Q000000000001 (15) widens to 00Q000000000001EAA (the capital Q is bit 2 of the first five
    # characters: 4 -> E; the other two chunks have none -> A); " L2 " trims to L2; a blank key matches nothing
    leads = "lead_id,created_at\n00Q000000000001,2024-01-01\nL2,2024-01-02\n,2024-01-03\n"
    deals = "deal_id,lead_id\nD1,00Q000000000001EAA\nD2, L2 \nD3,\nD4,\n"
    crm = fa.load_org(_folder(tmp_path, leads=leads, deals=deals), mapping=_mapping(tmp_path, JOIN))
    leads_out = crm.leads  # the lead without an id is quarantined (id_missing); its join was computed
    assert dict(zip(leads_out["lead_id"], leads_out["converted_opportunity_id"])) == {
        "00Q000000000001EAA": "D1",
        "L2": "D2",
    }
    report = crm.report.tables["leads"]
    assert report["cleaning"]["join:deals.csv:matched"] == 2
    assert report["rows_read"] == report["rows_kept"] + report["rows_quarantined"] == 3


def test_a_composite_key(tmp_path):
    leads = "lead_id,created_at,region\nL1,2024-01-01,EU\nL1b,2024-01-01,US\n"
    deals = "deal_id,lead,region\nD1,L1,EU\nD2,L1,US\nD3,L1b,US\n"
    join = (
        "      - file: deals.csv\n        on: {lead_id: lead, region: region}\n"
        "        columns: {deal_id: converted_opportunity_id}\n"
    )
    crm = fa.load_org(_folder(tmp_path, leads=leads, deals=deals), mapping=_mapping(tmp_path, join))
    assert _deal_of(crm) == {"L1": "D1", "L1b": "D3"}


def test_joined_columns_are_typed_and_usable_by_derive(tmp_path):
    join = (
        "      - file: deals.csv\n        on: {lead_id: lead_id}\n"
        "        columns: {amount: deal_amount, close_date: converted_date}\n"
        "        repeated: {keep: earliest, by: created_at}\n"
    )
    m = _mapping(
        tmp_path,
        join,
        extra="    types: {deal_amount: float}\n",
        derive='    derive:\n      big_deal: "deal_amount >= 60"\n',
    )
    leads = fa.load_org(_folder(tmp_path), mapping=m).leads.set_index("lead_id")
    # L1 takes D2 (amount 50, closing 2024-04-01); L3 takes D3 (70, 2024-03-05); L2 nothing
    assert leads.loc["L1", "deal_amount"] == 50.0 and leads.loc["L3", "deal_amount"] == 70.0
    assert leads["deal_amount"].sum() == 120.0
    assert leads.loc["L1", "converted_date"] == pd.Timestamp("2024-04-01")
    assert leads.loc["L1", "big_deal"] == False  # noqa: E712
    assert leads.loc["L3", "big_deal"] == True  # noqa: E712
    assert pd.isna(leads.loc["L2", "big_deal"])  # no deal: unknown, as the grammar keeps it


def test_row_accounting_holds_with_quarantined_and_deleted_rows(tmp_path):
    # L2's creation date does not parse (quarantined); L3 is deleted; L1 matches D2 (earliest)
    leads = "lead_id,created_at,is_deleted\nL1,2024-01-01,false\nL2,2024-02-30,false\nL3,2024-01-03,true\n"
    join = JOIN + "        repeated: {keep: earliest, by: created_at}\n"
    crm = fa.load_org(_folder(tmp_path, leads=leads), mapping=_mapping(tmp_path, join))
    r = crm.report.tables["leads"]
    assert (r["rows_read"], r["rows_kept"], r["rows_quarantined"], r["rows_deleted"]) == (3, 1, 1, 1)
    assert r["cleaning"]["join:deals.csv:matched"] == 2  # L1 and L3, counted on the rows read
    assert _deal_of(crm) == {"L1": "D2"}


@settings(max_examples=40, deadline=None)
@given(
    lead_keys=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=8),
    deals=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "x"]), st.sampled_from(["2024-01-01", "2024-01-02", ""])),
        max_size=8,
    ),
)
def test_a_join_never_adds_or_drops_rows_and_takes_what_pandas_takes(tmp_path_factory, lead_keys, deals):
    tmp = tmp_path_factory.mktemp("prop")
    leads = "lead_id,created_at,ref\n" + "".join(f"L{i},2024-01-01,{k}\n" for i, k in enumerate(lead_keys))
    deals_csv = "deal_id,ref,created_at\n" + "".join(f"D{i},{k},{d}\n" for i, (k, d) in enumerate(deals))
    join = (
        "      - file: deals.csv\n        on: {ref: ref}\n        columns: {deal_id: deal}\n"
        "        exists: has_deal\n        repeated: {keep: earliest, by: created_at}\n"
    )
    crm = fa.load_org(_folder(tmp, leads=leads, deals=deals_csv), mapping=_mapping(tmp, join))
    # plain pandas: per key, the earliest dated deal (file order on ties), undated ones last
    d = pd.DataFrame(deals, columns=["ref", "created_at"]).assign(deal=[f"D{i}" for i in range(len(deals))])
    d["when"] = pd.to_datetime(d["created_at"].replace("", None))
    first = d.sort_values("when", kind="stable", na_position="last").drop_duplicates("ref")
    expected = pd.Series(lead_keys).map(dict(zip(first["ref"], first["deal"])))
    assert len(crm.leads) == len(lead_keys) == crm.report.tables["leads"]["rows_read"]
    got = crm.leads["deal"].astype(object).where(crm.leads["deal"].notna(), None).tolist()
    assert got == expected.astype(object).where(expected.notna(), None).tolist()
    assert crm.leads["has_deal"].tolist() == expected.notna().tolist()


@pytest.mark.parametrize(
    "join, says",
    [
        (JOIN + "        how: left\n", "unknown key(s) ['how']"),
        (JOIN + "        repeated: {by: created_at}\n", "`by` without `keep`"),
        (JOIN + "        repeated: {keep: earliest}\n", "keep earliest without `by`"),
        (JOIN + "        repeated: {keep: first, by: created_at}\n", "keep 'first'"),
        (JOIN + "        repeated: earliest\n", "`repeated` is 'earliest'"),
        ("      - file: deals.csv\n        columns: {deal_id: converted_opportunity_id}\n", "`on` is None"),
        ("      - on: {lead_id: lead_id}\n        columns: {deal_id: x}\n", "names no `file`"),
        ("      - file: deals.csv\n        on: {lead_id: lead_id}\n", "takes nothing"),
        ("      file: deals.csv\n", "is not a list"),
        (JOIN + "        exists: status\n", "a picklist column of the schema"),
        (JOIN + JOIN, "writes column 'converted_opportunity_id', which join 'deals.csv' writes too"),
        (
            "      - file: deals.csv\n        on: {lead_id: lead_id}\n        columns: {created_at: created_date}\n",
            "which columns: created_at writes too",
        ),
    ],
)
def test_a_bad_join_is_refused_when_the_mapping_loads(tmp_path, join, says):
    m = _mapping(tmp_path, join)
    with pytest.raises(DataLoadError) as e:
        load_mapping(m)
    msg = str(e.value)
    assert "\n" not in msg and str(m) in msg and says in msg


def test_a_missing_joined_file_is_one_line_before_anything_is_read(tmp_path):
    folder = _folder(tmp_path)
    (folder / "deals.csv").unlink()
    with pytest.raises(DataLoadError, match=r"deals.csv: joined by mapping 't' to table 'leads' does not exist"):
        fa.load_org(folder, mapping=_mapping(tmp_path, JOIN))


@pytest.mark.parametrize(
    "join, file, says",
    [
        (
            "      - file: deals.csv\n        on: {owner: lead_id}\n        columns: {deal_id: d}\n",
            "leads.csv",
            "has no column 'owner', the key of join 'deals.csv'",
        ),
        (
            "      - file: deals.csv\n        on: {lead_id: lead}\n        columns: {deal_id: d}\n",
            "deals.csv",
            "column 'lead': column named by join 'deals.csv' of table 'leads' is missing",
        ),
        (
            "      - file: deals.csv\n        on: {lead_id: lead_id}\n        columns: {deal_id: email}\n"
            "        repeated: {keep: earliest, by: created_at}\n",
            "leads.csv",
            "already has column 'email'",
        ),
    ],
)
def test_a_join_that_does_not_fit_the_files_is_one_line(tmp_path, join, file, says):
    with pytest.raises(DataLoadError) as e:
        fa.load_org(_folder(tmp_path), mapping=_mapping(tmp_path, join))
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(file) and says in msg


def test_load_frames_refuses_a_mapping_that_joins_files(tmp_path):
    frames = {"Lead": pd.read_csv(_folder(tmp_path) / "leads.csv", dtype=str)}
    with pytest.raises(DataLoadError, match="joins 'deals.csv', a file: frames have none"):
        fa.load_frames(frames, mapping=_mapping(tmp_path, JOIN))


def test_a_row_the_joined_file_marks_deleted_matches_nothing(tmp_path):
    # D2 (L1's earliest) is deleted: L1 takes D1; D3 (L3's only deal) deleted by Fivetran: L3 has none
    deals = (
        "deal_id,lead_id,created_at,IsDeleted,_fivetran_deleted\n"
        "D1,L1,2024-02-10T00:00:00Z,false,false\n"
        "D2,L1,2024-02-05T00:00:00Z,true,false\n"
        "D3,L3,2024-02-07T00:00:00Z,false,true\n"
    )
    join = JOIN + "        repeated: {keep: earliest, by: created_at}\n"
    crm = fa.load_org(_folder(tmp_path, deals=deals), mapping=_mapping(tmp_path, join))
    assert _deal_of(crm) == {"L1": "D1", "L2": None, "L3": None}
    assert crm.report.cleaning().loc["join:deals.csv:deleted_rows_not_joined", "leads"] == 2
