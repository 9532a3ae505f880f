"""crm.warehouse without a server: Fivetran's names, the profiles, the SQL it builds, refused passwords,
and a real DuckDB database file in Fivetran's layout read end to end (hand-counted accounting).

The Postgres tests (Fivetran's seeds, the sample org in both shapes, bad connections) are in
tests/warehouse/.
"""

from __future__ import annotations

import pytest

from funnel_analysis.crm import DataLoadError, load_org
from funnel_analysis.crm.warehouse import (
    PROFILES,
    UrlPasswordError,
    _flag,
    _Plan,
    _rows_query,
    fivetran_name,
    is_database_url,
    safe_url,
)


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        ("Pricebook2Id", "pricebook_2_id"),
        ("Territory2Id", "territory_2_id"),
        ("IsExcludedFromTerritory2Filter", "is_excluded_from_territory_2_filter"),
        ("Foo__c", "foo_c"),
        ("Lead_Source_Detail__c", "lead_source_detail_c"),
        # headers of Fivetran's own seeds (tests/data/realdata/fivetran_dbt_salesforce_seeds)
        ("MC4SF_MC_Subscriber__c", "mc_4_sf_mc_subscriber_c"),
        ("CBIT__Clearbit__c", "cbit_clearbit_c"),
        ("LastCURequestDate", "last_curequest_date"),
        ("ForecastCategoryName", "forecast_category_name"),
        ("SBQQ__Quote__c", "sbqq_quote_c"),
        ("Product2", "product_2"),
        ("Id", "id"),
        ("OpportunityFieldHistory", "opportunity_field_history"),
    ],
)
def test_fivetran_name(api, expected):
    assert fivetran_name(api) == expected


def test_the_seed_headers_hold_the_schema_fields_under_fivetran_names():
    """Fivetran's opportunity seed carries these API fields under these names (read off its header)."""
    import csv
    from pathlib import Path

    header = next(
        csv.reader(
            open(Path(__file__).parents[1] / "data/realdata/fivetran_dbt_salesforce_seeds/sf_opportunity_data.csv")
        )
    )
    for api in ("StageName", "CloseDate", "IsWon", "ForecastCategoryName", "Pricebook2Id", "OwnerId", "IsDeleted"):
        assert fivetran_name(api) in header


def test_profiles_name_tables_their_way():
    assert PROFILES["fivetran"].table_candidates("CampaignMember") == ["campaign_member", "campaignmember"]
    assert PROFILES["airbyte"].table_candidates("CampaignMember") == ["campaignmember", "campaign_member"]
    assert PROFILES["fivetran"].column_candidates("Region__c") == ["region_c", "region__c"]
    assert PROFILES["fivetran"].default_schema == "salesforce" and PROFILES["airbyte"].default_schema == "public"


def test_is_database_url():
    assert is_database_url("postgresql://db/crm") and is_database_url("postgresql+psycopg://db/crm")
    assert is_database_url("duckdb:///x.duckdb")
    assert not is_database_url("data/sample") and not is_database_url("https://example.com")
    assert not is_database_url(None)


def test_a_password_in_the_url_is_refused_without_showing_it():
    with pytest.raises(UrlPasswordError) as err:
        safe_url("postgresql://analyst:s3cr3t-pw@db.example.com/crm")
    assert "s3cr3t-pw" not in str(err.value) and "password" in str(err.value)
    assert safe_url("postgresql://analyst@db.example.com/crm") == "postgresql://analyst@db.example.com/crm"
    # load_org refuses it before any connection (the host does not exist: no attempt is made)
    with pytest.raises(DataLoadError) as err:
        load_org("postgresql://analyst:s3cr3t-pw@no-such-host.invalid/crm")
    assert "s3cr3t-pw" not in str(err.value)


def test_source_and_schema_are_for_a_url(tmp_path):
    with pytest.raises(DataLoadError, match="for a database URL"):
        load_org(tmp_path, source="fivetran")


def test_a_profile_and_a_report_refuse_a_password_url(tmp_path):
    from funnel_analysis.project.profile import ProfileError, load_profile
    from funnel_analysis.reporting.config import ReportConfigError, _database_url

    f = tmp_path / "profile.yaml"
    f.write_text("data_dir: postgresql://me:hunter22@db/crm\nsource: fivetran\n")
    with pytest.raises(ProfileError) as err:
        load_profile(f)
    assert "hunter22" not in str(err.value) and "data_dir" in str(err.value)
    f.write_text("data_dir: postgresql://me@db/crm\nsource: fivetran\nschema: sf\n")
    p = load_profile(f)
    assert (p.data_dir, p.source, p.schema) == ("postgresql://me@db/crm", "fivetran", "sf")
    f.write_text("source: fivetran\n")  # a folder data_dir
    with pytest.raises(ProfileError, match="source: is for a database data_dir"):
        load_profile(f)
    with pytest.raises(ReportConfigError) as err:
        _database_url("data_dir", "postgresql://me:hunter22@db/crm")
    assert "hunter22" not in str(err.value)


def test_the_sql_takes_identifiers_from_the_catalog_quoted_and_values_as_parameters():
    """A hostile column name read from the catalog is a quoted identifier, never SQL; flag values are bound."""
    from sqlalchemy.dialects import postgresql

    evil = 'name"; DROP TABLE opportunity; --'
    plan = _Plan(
        obj="Opportunity",
        table="opportunities",
        activity_kind=None,
        schema="salesforce",
        name="user",  # a reserved word: quoted
        columns={"Id": ["id"], "Name": [evil], "StageName": ["stage_name", "StageName"]},
        flags={"deleted": ("is_deleted", "text"), "active": ("_fivetran_active", "boolean")},
        sync=[],
        n_columns=5,
        history_mode=False,
    )
    compiled = _rows_query(plan, deleted=False).compile(dialect=postgresql.dialect())
    sql = str(compiled)
    assert 'FROM salesforce."user"' in sql
    assert '"name""; DROP TABLE opportunity; --"' in sql  # the quote doubled inside a quoted identifier
    assert 'coalesce(salesforce."user".stage_name, salesforce."user"."StageName")' in sql
    bound = [v for p in compiled.params.values() for v in (p if isinstance(p, (list, tuple)) else [p])]
    assert "'true'" not in sql and {"true", "t", "1", "yes"} <= set(bound)


def test_a_text_flag_reads_true_1_t_yes():
    import sqlalchemy as sa

    eng = sa.create_engine("sqlite://")
    t = sa.table("x", sa.column("f"))
    with eng.connect() as c:
        c.exec_driver_sql("create table x (f text)")
        c.exec_driver_sql("insert into x values ('TRUE'), (' 1 '), ('t'), ('yes'), ('false'), ('0'), (NULL)")
        got = [r[0] for r in c.execute(sa.select(_flag(t.c.f, "text", False)))]
        default_true = [r[0] for r in c.execute(sa.select(_flag(t.c.f, "text", True)))]
    assert [bool(v) for v in got] == [True, True, True, True, False, False, False]
    assert bool(default_true[-1]) is True


@pytest.fixture
def fivetran_duckdb(tmp_path):
    """A DuckDB file in Fivetran's layout, every row written by hand (ids shortened to 18 characters).

    opportunity: O1 live, O2 deleted (is_deleted), O3 deleted at the source (_fivetran_deleted),
    O4 two versions (one current, live), O5 one ended version (history mode: deleted); a custom
    column ``secret_note_c`` the product does not know.
    opportunity_history: H1 of O1, H2 and H3 of O2 (follow the deletion), H4 of O1 with an
    unparseable created date (quarantined, named by its Id).
    lead: L1 live, L2 merged into L1 (deleted, master_record_id), L3 live.
    """
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_engine", reason="duckdb-engine (the warehouse extra) reads DuckDB files")
    path = tmp_path / "fivetran.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema salesforce")
    con.execute(
        "create table salesforce.opportunity (id varchar, name varchar, stage_name varchar, amount double, "
        "probability double, close_date date, created_date timestamp, is_closed boolean, is_won boolean, "
        "is_deleted boolean, _fivetran_deleted boolean, _fivetran_active boolean, _fivetran_start timestamp, "
        "_fivetran_synced timestamp, secret_note_c varchar)"
    )
    rows = [
        (
            "006000000000001AAA",
            "one",
            "Prospecting",
            100.0,
            10.0,
            "2024-03-01",
            "2024-01-01",
            False,
            False,
            False,
            False,
            True,
        ),
        (
            "006000000000002AAA",
            "two",
            "Closed Won",
            200.0,
            100.0,
            "2024-03-01",
            "2024-01-02",
            True,
            True,
            True,
            False,
            True,
        ),
        (
            "006000000000003AAA",
            "three",
            "Prospecting",
            300.0,
            10.0,
            "2024-03-01",
            "2024-01-03",
            False,
            False,
            False,
            True,
            True,
        ),
        (
            "006000000000004AAA",
            "four v1",
            "Prospecting",
            400.0,
            10.0,
            "2024-03-01",
            "2024-01-04",
            False,
            False,
            False,
            False,
            False,
        ),
        (
            "006000000000004AAA",
            "four v2",
            "Closed Won",
            400.0,
            100.0,
            "2024-03-01",
            "2024-01-04",
            True,
            True,
            False,
            False,
            True,
        ),
        (
            "006000000000005AAA",
            "five",
            "Prospecting",
            500.0,
            10.0,
            "2024-03-01",
            "2024-01-05",
            False,
            False,
            False,
            False,
            False,
        ),
    ]
    for r in rows:
        con.execute(
            "insert into salesforce.opportunity values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2024-01-01', '2024-06-01', 'x')",
            list(r),
        )
    con.execute(
        "create table salesforce.opportunity_history (id varchar, opportunity_id varchar, created_date varchar, "
        "stage_name varchar, amount double, is_deleted boolean, _fivetran_synced timestamp)"
    )
    for r in [
        ("008000000000001AAA", "006000000000001AAA", "2024-01-01T00:00:00Z"),
        ("008000000000002AAA", "006000000000002AAA", "2024-01-02T00:00:00Z"),
        ("008000000000003AAA", "006000000000002AAA", "2024-01-03T00:00:00Z"),
        ("008000000000004AAA", "006000000000001AAA", "2024-02-30T00:00:00Z"),
    ]:
        con.execute(
            "insert into salesforce.opportunity_history values (?, ?, ?, 'Prospecting', 1, false, '2024-06-01')",
            list(r),
        )
    con.execute(
        "create table salesforce.lead (id varchar, company varchar, status varchar, created_date timestamp, "
        "is_converted boolean, is_deleted boolean, master_record_id varchar, _fivetran_synced timestamp)"
    )
    for r in [
        ("00Q000000000001AAA", "Acme", False, None),
        ("00Q000000000002AAA", "ACME Inc", True, "00Q000000000001AAA"),
        ("00Q000000000003AAA", "Beta", False, None),
    ]:
        con.execute(
            "insert into salesforce.lead values (?, ?, 'Open', '2024-01-01', false, ?, ?, '2024-06-01')", list(r)
        )
    con.close()
    return path


def test_a_duckdb_file_in_fivetran_layout_reads_with_hand_counted_accounting(fivetran_duckdb):
    crm = load_org(f"duckdb:///{fivetran_duckdb}", source="fivetran")
    t = crm.report.tables
    # opportunities: 5 records (O4's first version is not a record), O2 O3 O5 deleted, O1 O4 kept
    o = t["opportunities"]
    assert (o["rows_read"], o["rows_kept"], o["rows_deleted"], o["rows_quarantined"]) == (5, 2, 3, 0)
    assert sorted(crm.opportunities["opportunity_id"]) == ["006000000000001AAA", "006000000000004AAA"]
    assert crm.opportunities.set_index("opportunity_id").loc["006000000000004AAA", "name"] == "four v2"
    assert o["cleaning"]["salesforce.opportunity:history_versions_not_current"] == 1
    # ExpectedRevenue is a formula field: amount x probability / 100 (100 x 10 %, 400 x 100 %)
    assert sorted(crm.opportunities["expected_revenue"]) == [10.0, 400.0]
    # the custom column nobody asked for is not read
    assert "secret_note_c" not in crm.opportunities.columns and "secret_note" not in crm.opportunities.columns
    # deleted rows: only their keys came back
    gone = crm.deleted_rows["opportunities"]
    assert sorted(gone["opportunity_id"]) == ["006000000000002AAA", "006000000000003AAA", "006000000000005AAA"]
    assert gone["stage_name"].isna().all() and gone["amount"].isna().all()
    # history: H2, H3 follow deleted O2; H4 quarantined, named by its Id (a database has no row numbers)
    h = t["opportunity_history"]
    assert (h["rows_read"], h["rows_kept"], h["rows_deleted"], h["rows_quarantined"]) == (4, 1, 2, 1)
    q = crm.quarantine[crm.quarantine["table"] == "opportunity_history"]
    assert q["row"].tolist() == ["008000000000004AAA"] and q["record_id"].tolist() == ["008000000000004AAA"]
    assert q["file"].tolist() == ["salesforce.opportunity_history"]
    # leads: L2 merged into L1
    lead = t["leads"]
    assert (lead["rows_read"], lead["rows_kept"], lead["rows_merged"], lead["rows_deleted"]) == (3, 2, 1, 0)
    assert crm.merges[["merged_id", "master_id"]].values.tolist() == [["00Q000000000002AAA", "00Q000000000001AAA"]]
    for table in t.values():
        assert table["rows_read"] == (
            table["rows_kept"] + table["rows_quarantined"] + table["rows_deleted"] + table["rows_merged"]
        )
    assert crm.meta["source"] == f"duckdb:///{fivetran_duckdb}"
    assert crm.meta["warehouse"]["tables"]["Opportunity"]["deleted"] == 3


def test_a_duckdb_fingerprint_is_stable_and_follows_the_data(fivetran_duckdb):
    import duckdb

    from funnel_analysis.crm.warehouse import warehouse_fingerprint

    url = f"duckdb:///{fivetran_duckdb}"
    first = load_org(url, source="fivetran").meta["fingerprint"]
    assert warehouse_fingerprint(url, source="fivetran") == first == load_org(url).meta["fingerprint"]  # auto: fivetran
    con = duckdb.connect(str(fivetran_duckdb))
    con.execute("update salesforce.lead set _fivetran_synced = '2024-06-02' where id = '00Q000000000003AAA'")
    con.close()
    assert warehouse_fingerprint(url, source="fivetran") != first


def test_a_schema_without_opportunity_is_one_line(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_engine")
    path = tmp_path / "x.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema salesforce; create table salesforce.lead (id varchar)")
    con.close()
    with pytest.raises(DataLoadError) as err:
        load_org(f"duckdb:///{path}", source="fivetran")
    assert str(err.value).count("\n") == 0 and "Opportunity" in str(err.value) and "'opportunity'" in str(err.value)


def test_history_mode_versions_stand_in_for_a_missing_opportunity_history(tmp_path):
    """No opportunity_history, Opportunity in history mode: one history row per version that changed a
    tracked field (a rename is not one), dated by ``_fivetran_start``; the deal's stages as of a day follow."""
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_engine")
    path = tmp_path / "h.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema salesforce; create table salesforce.lead (id varchar)")
    con.execute(
        "create table salesforce.opportunity (id varchar, name varchar, stage_name varchar, amount double, "
        "close_date date, created_date timestamp, is_closed boolean, is_won boolean, is_deleted boolean, "
        "_fivetran_active boolean, _fivetran_start timestamp, _fivetran_end timestamp, _fivetran_synced timestamp)"
    )
    o1 = "006000000000001AAA"
    for name, stage, closed, active, start, end in [
        ("a", "Prospecting", False, False, "2024-01-01", "2024-02-01"),
        ("a renamed", "Prospecting", False, False, "2024-02-01", "2024-03-01"),
        ("a renamed", "Closed Won", True, True, "2024-03-01", "9999-12-31"),
    ]:
        con.execute(
            "insert into salesforce.opportunity values (?, ?, ?, 100, '2024-03-01', '2024-01-01', ?, ?, false, ?, ?, ?, now())",
            [o1, name, stage, closed, closed, active, start, end],
        )
    con.close()
    crm = load_org(f"duckdb:///{path}", source="fivetran")
    hist = crm.tables["opportunity_history"].sort_values("created_date")
    assert hist["history_id"].tolist() == [f"{o1}.v1", f"{o1}.v2"]
    assert hist["stage_name"].tolist() == ["Prospecting", "Closed Won"]
    assert [str(d.date()) for d in hist["created_date"]] == ["2024-01-01", "2024-03-01"]
    assert crm.report.tables["opportunities"]["rows_read"] == 1
    assert crm.as_of("2024-02-15").opportunities["stage_name"].tolist() == ["Prospecting"]


def test_a_mapping_names_the_custom_columns_to_read(fivetran_duckdb, tmp_path):
    """Only what the data model knows is read, unless a mapping names a custom field (any spelling)."""
    m = tmp_path / "custom.yaml"
    m.write_text("tables:\n  opportunities:\n    files: [Opportunity]\n    columns: {Secret_Note__c: secret_note}\n")
    crm = load_org(f"duckdb:///{fivetran_duckdb}", source="fivetran", mapping=m)
    assert crm.opportunities["secret_note"].tolist() == ["x", "x"]
    assert crm.report.tables["opportunities"]["rows_kept"] == 2
