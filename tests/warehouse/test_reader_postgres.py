"""The warehouse reader on the session's real Postgres: Fivetran's seeds counted against pandas on the seed
CSVs, only the product's columns read, deleted rows as keys only, history mode, Airbyte's lower-cased
names, auto-detection and the fingerprint. The fixtures (server, seeds) are tests/warehouse/conftest.py's."""

from __future__ import annotations

import secrets

import pandas as pd
import pytest

from funnel_analysis.crm import TABLES, load_org, read_warehouse, warehouse_fingerprint


@pytest.fixture
def reader_env(fivetran_seeds, monkeypatch):
    """The reader role's password in this process's environment (as a user sets PGPASSWORD)."""
    monkeypatch.setenv("PGPASSWORD", fivetran_seeds.server.password)
    monkeypatch.delenv("FUNNEL_DB_PASSWORD", raising=False)
    return fivetran_seeds


def _seed(folder, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"sf_{name}_data.csv")


def _gone(df: pd.DataFrame) -> pd.Series:
    """Rows Fivetran says are not live: is_deleted, _fivetran_deleted, or no current version."""
    out = pd.Series(False, index=df.index)
    for col in ("is_deleted", "_fivetran_deleted"):
        if col in df:
            out |= df[col].astype(str).str.lower().eq("true")
    if "_fivetran_active" in df:
        out |= df["_fivetran_active"].astype(str).str.lower().eq("false")
    return out


def test_seeds_every_row_accounted_as_pandas_counts_them(reader_env):
    seeds = reader_env.folder
    crm = load_org(reader_env.url, source="fivetran", schema="salesforce")
    t = crm.report.tables
    for table, name in [("opportunities", "opportunity"), ("accounts", "account"), ("users", "user")]:
        df = _seed(seeds, name)
        assert df["id"].is_unique
        gone = _gone(df)
        merged = (
            gone & df["master_record_id"].notna() if "master_record_id" in df and table == "accounts" else gone & False
        )
        assert t[table]["rows_read"] == len(df), table
        assert t[table]["rows_deleted"] == int((gone & ~merged).sum()), table
        assert t[table]["rows_merged"] == int(merged.sum()), table
    assert t["opportunities"]["rows_kept"] == 0 and t["opportunities"]["rows_deleted"] == 10
    assert t["activities"]["rows_read"] == len(_seed(seeds, "task")) + len(_seed(seeds, "event"))
    assert t["leads"]["rows_read"] == len(_seed(seeds, "lead")) and t["contacts"]["rows_read"] == len(
        _seed(seeds, "contact")
    )
    for figures in t.values():
        assert figures["rows_read"] == (
            figures["rows_kept"] + figures["rows_quarantined"] + figures["rows_deleted"] + figures["rows_merged"]
        )
    assert crm.meta["source"] == reader_env.url
    # auto-detection finds the same: the Fivetran layout, schema salesforce
    auto = load_org(reader_env.url)
    assert auto.meta["warehouse"]["source"] == "fivetran" and auto.meta["warehouse"]["schema"] == "salesforce"
    assert auto.meta["fingerprint"] == crm.meta["fingerprint"] == warehouse_fingerprint(reader_env.url)


def test_only_the_products_columns_are_read_and_deleted_rows_as_keys(reader_env):
    read = read_warehouse(reader_env.url, source="fivetran")
    header = list(_seed(reader_env.folder, "contact").columns)
    assert read.counts["Contact"]["columns_in_table"] == len(header)
    known = {c.sf_name for c in TABLES["contacts"].columns} | {a for c in TABLES["contacts"].columns for a in c.aliases}
    assert set(read.frames["Contact"].columns) <= known | {"IsDeleted"}
    assert read.counts["Contact"]["columns_read"] < 30 < len(header)
    # every seed opportunity is deleted: only Id (and IsDeleted) came back for them
    opp = read.frames["Opportunity"]
    assert len(opp) == 10 and opp["IsDeleted"].all()
    assert opp.drop(columns=["Id", "IsDeleted"]).isna().all().all()
    assert sorted(opp["Id"]) == sorted(_seed(reader_env.folder, "opportunity")["id"])


@pytest.fixture
def own_schema(fivetran_seeds):
    """A fresh schema (and its ``_history`` twin) in database ``seeds`` that the reader role may read."""
    from psycopg import sql

    server = fivetran_seeds.server
    name = f"reader_{secrets.token_hex(3)}"
    conn = server.admin("seeds")
    conn.autocommit = True

    def grant():
        for schema in (name, f"{name}_history"):
            ident = sql.Identifier(schema)
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, sql.Identifier(server.user)))
            conn.execute(
                sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(ident, sql.Identifier(server.user))
            )

    for schema in (name, f"{name}_history"):
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    yield name, conn, grant
    for schema in (name, f"{name}_history"):
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    conn.close()


def test_history_mode_table_read_where_the_regular_one_is_missing(reader_env, own_schema):
    """No ``opportunity`` in the schema: its history-mode twin gives the current rows; an ended record
    is deleted; an earlier version is no record."""
    name, conn, grant = own_schema
    conn.execute(f'CREATE TABLE "{name}".lead (id text, company text, is_deleted boolean, _fivetran_synced timestamp)')
    conn.execute(f"INSERT INTO \"{name}\".lead VALUES ('00Q000000000001AAA', 'Acme', false, now())")
    conn.execute(
        f'CREATE TABLE "{name}_history".opportunity (id text, stage_name text, amount double precision, '
        "is_deleted boolean, _fivetran_active boolean, _fivetran_start timestamp, _fivetran_end timestamp, "
        "_fivetran_synced timestamp)"
    )
    conn.execute(
        f'INSERT INTO "{name}_history".opportunity VALUES '
        "('006000000000001AAA', 'Prospecting', 10, false, false, '2024-01-01', '2024-02-01', now()),"
        "('006000000000001AAA', 'Closed Won', 10, false, true, '2024-02-01', '9999-12-31', now()),"
        "('006000000000002AAA', 'Prospecting', 20, false, false, '2024-01-01', '2024-03-01', now())"
    )
    grant()
    crm = load_org(reader_env.url, source="fivetran", schema=name)
    o = crm.report.tables["opportunities"]
    assert (o["rows_read"], o["rows_kept"], o["rows_deleted"]) == (2, 1, 1)
    assert crm.opportunities["stage_name"].tolist() == ["Closed Won"]
    assert any("history-mode" in n for n in crm.meta["warehouse"]["notes"])
    before = warehouse_fingerprint(reader_env.url, source="fivetran", schema=name)
    assert before == crm.meta["fingerprint"]
    conn.execute(f"INSERT INTO \"{name}\".lead VALUES ('00Q000000000002AAA', 'Beta', false, now())")
    assert warehouse_fingerprint(reader_env.url, source="fivetran", schema=name) != before


def test_airbyte_names_in_lower_case_and_its_columns_ignored(reader_env, own_schema):
    """A destination that lower-cases identifiers: ``opportunity.stagename``; ``_airbyte_*`` are not data;
    auto-detection takes it for Airbyte."""
    name, conn, grant = own_schema
    conn.execute(
        f'CREATE TABLE "{name}".opportunity (id text, stagename text, amount numeric, isdeleted boolean, '
        "_airbyte_raw_id text, _airbyte_extracted_at timestamptz, _airbyte_meta jsonb)"
    )
    conn.execute(
        f"INSERT INTO \"{name}\".opportunity VALUES ('006000000000001AAA', 'Prospecting', 12.5, false, 'a', now(), '{{}}'),"
        "('006000000000002AAA', 'Prospecting', 7, true, 'b', now(), '{}')"
    )
    conn.execute(f'CREATE TABLE "{name}".lead (id text, company text, _airbyte_raw_id text)')
    grant()
    crm = load_org(reader_env.url, schema=name)  # source detected
    assert crm.meta["warehouse"]["source"] == "airbyte"
    o = crm.report.tables["opportunities"]
    assert (o["rows_read"], o["rows_kept"], o["rows_deleted"]) == (2, 1, 1)
    assert crm.opportunities["amount"].tolist() == [12.5] and crm.opportunities["stage_name"].tolist() == [
        "Prospecting"
    ]
    assert not [c for c in crm.opportunities.columns if "airbyte" in c]


def test_user_role_names_joined_from_user_role(reader_env, own_schema):
    """Fivetran syncs User.UserRoleId only: the role's name comes from ``user_role`` (its ``name``)."""
    name, conn, grant = own_schema
    conn.execute(f'CREATE TABLE "{name}".opportunity (id text, owner_id text, _fivetran_synced timestamp)')
    conn.execute(f'CREATE TABLE "{name}".lead (id text, _fivetran_synced timestamp)')
    conn.execute(f'CREATE TABLE "{name}"."user" (id text, name text, user_role_id text, _fivetran_synced timestamp)')
    conn.execute(f'CREATE TABLE "{name}".user_role (id text, name text, _fivetran_synced timestamp)')
    conn.execute(
        f"INSERT INTO \"{name}\".\"user\" VALUES ('005000000000001AAA', 'Ann', '00E000000000001AAA', now()),"
        "('005000000000002AAA', 'Bob', NULL, now()), ('005000000000003AAA', 'Cy', '00E000000000002AAA', now())"
    )
    conn.execute(
        f"INSERT INTO \"{name}\".user_role VALUES ('00E000000000001AAA', 'AE EMEA', now()),"
        "('00E000000000002AAA', 'SDR', now())"
    )
    grant()
    crm = load_org(reader_env.url, source="fivetran", schema=name)
    roles = crm.users.set_index("owner_id")["role"].to_dict()
    assert roles["005000000000001AAA"].casefold() == "ae emea" and roles["005000000000003AAA"].casefold() == "sdr"
    assert pd.isna(roles["005000000000002AAA"])


def test_a_project_whose_data_dir_is_the_database(reader_env, tmp_path):
    """``profile.yaml``: ``data_dir`` a URL, ``source`` and ``schema``: ``funnel check`` reads it with no argument."""
    import json

    from tests.warehouse.helpers import funnel

    (tmp_path / "profile.yaml").write_text(f"data_dir: {reader_env.url}\nsource: fivetran\nschema: salesforce\n")
    result = funnel(["--project", str(tmp_path), "check", "--json"], reader_env.env)
    assert result.exit_code == 0, result.output
    tables = json.loads(result.stdout)["tables"]
    assert tables["opportunities"]["rows_read"] == 10 and tables["opportunities"]["rows_deleted"] == 10
    shown = funnel(["--project", str(tmp_path), "profile"], reader_env.env)
    assert f"data_dir: {reader_env.url}  (a database: source fivetran, schema salesforce)" in shown.stdout
    # a schema the profile names that is not there: one line, exit 2
    (tmp_path / "profile.yaml").write_text(f"data_dir: {reader_env.url}\nsource: fivetran\nschema: nowhere\n")
    bad = funnel(["--project", str(tmp_path), "check", "--json"], reader_env.env)
    assert bad.exit_code == 2 and len(bad.lines) == 1 and "nowhere" in bad.output
