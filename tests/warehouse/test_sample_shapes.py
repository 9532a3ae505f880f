"""The sample org in Postgres as Fivetran and Airbyte lay it out: what the database holds, and that
``funnel kpis`` on it equals ``funnel kpis`` on the export folder, field by field."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.warehouse.helpers import differences, funnel
from tests.warehouse.shapes import fivetran_name


def _csv(folder, name) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def _query(loaded, query, params=()):
    import psycopg  # not at import time: without it the suite skips with one line (conftest)

    with psycopg.connect(loaded.url, password=loaded.env["PGPASSWORD"]) as conn:
        return conn.execute(query, params).fetchall()


@pytest.mark.parametrize("obj", ["Opportunity", "Lead", "Account", "OpportunityHistory", "Task"])
def test_every_export_row_is_in_both_shapes_with_its_deleted_flag(sample_fivetran, sample_airbyte, obj):
    """Row counts and IsDeleted counts in the database equal plain pandas on the export CSVs."""
    from psycopg import sql

    frame = _csv(sample_fivetran.folder, f"{obj}.csv")
    deleted = int(frame["IsDeleted"].str.lower().eq("true").sum())
    assert deleted > 0 or obj == "OpportunityHistory"  # the sample has deleted rows to carry
    table = fivetran_name(obj)
    extra = 1 if obj in ("Opportunity", "Lead") else 0  # the hard-deleted row (_fivetran_deleted) of the shape
    got = _query(
        sample_fivetran,
        sql.SQL(
            "SELECT count(*), count(*) FILTER (WHERE is_deleted), count(*) FILTER (WHERE _fivetran_deleted) FROM {}"
        ).format(sql.Identifier("salesforce", table)),
    )[0]
    assert got == (len(frame) + extra, deleted, extra)
    got = _query(
        sample_airbyte,
        sql.SQL(
            "SELECT count(*), count(*) FILTER (WHERE \"IsDeleted\"::text IN ('true', 'TRUE')), "
            "count(DISTINCT _airbyte_raw_id) FROM {}"
        ).format(sql.Identifier("airbyte_salesforce", obj)),
    )[0]
    assert got == (len(frame), deleted, len(frame))


def test_fivetran_shape_names_and_types(sample_fivetran):
    """snake_case with digits split and ``__c`` -> ``_c``; typed columns where the export's values allow."""
    rows = _query(
        sample_fivetran,
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'salesforce'",
    )
    columns = {(t, c): d for t, c, d in rows}
    assert columns[("opportunity", "arr_c")] in ("double precision", "text")
    assert columns[("opportunity", "_fivetran_synced")] == "timestamp with time zone"
    assert columns[("opportunity", "is_won")] == "boolean"
    assert columns[("opportunity_stage", "sort_order")] == "double precision"
    assert ("lead", "lead_score_c") in columns and ("user", "region_c") in columns
    assert ("campaign_member", "first_responded_date") in columns
    assert not any(c != c.lower() or "__" in c for _, c in columns)
    assert not any(c == "expected_revenue" for _, c in columns)


def test_fivetran_history_mode_is_scd2(sample_fivetran):
    """salesforce_history.opportunity: one active version per opportunity, versions that do not overlap,
    the active one equal to the current row."""
    active, ids, overlaps = _query(
        sample_fivetran,
        """SELECT count(*) FILTER (WHERE _fivetran_active), count(DISTINCT id),
                  (SELECT count(*) FROM salesforce_history.opportunity a JOIN salesforce_history.opportunity b
                     ON a.id = b.id AND a._fivetran_start < b._fivetran_start AND a._fivetran_end >= b._fivetran_start)
           FROM salesforce_history.opportunity""",
    )[0]
    opportunities = _csv(sample_fivetran.folder, "Opportunity.csv")
    assert active == ids and overlaps == 0
    assert ids == opportunities.loc[opportunities["Id"].ne(""), "Id"].nunique() - _bad_created(opportunities)
    versions = _query(sample_fivetran, "SELECT count(*) FROM salesforce_history.opportunity")[0][0]
    assert versions > ids  # opportunities that moved have older versions
    mismatched = _query(
        sample_fivetran,
        """SELECT count(*) FROM salesforce_history.opportunity h JOIN salesforce.opportunity o USING (id)
           WHERE h._fivetran_active AND NOT o._fivetran_deleted
             AND (h.stage_name IS DISTINCT FROM o.stage_name OR h.amount::text IS DISTINCT FROM o.amount::text)""",
    )[0][0]
    assert mismatched == 0


def _bad_created(frame: pd.DataFrame) -> int:
    """Opportunities (first of their Id) whose CreatedDate is not an ISO timestamp: left out of history mode."""
    first = frame[frame["Id"].ne("")].drop_duplicates("Id")
    parsed = pd.to_datetime(first["CreatedDate"], format="ISO8601", errors="coerce", utc=True)
    return int(parsed.isna().sum())


def test_airbyte_shape_keeps_api_names(sample_airbyte):
    rows = _query(
        sample_airbyte,
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = %s",
        (sample_airbyte.schema,),
    )
    columns = {(t, c): d for t, c, d in rows}
    assert columns[("Opportunity", "StageName")] == "text"
    assert columns[("Opportunity", "IsWon")] == "boolean"
    assert columns[("Lead", "Zip__c")] in ("text", "numeric")
    assert columns[("Opportunity", "_airbyte_meta")] == "jsonb"
    assert columns[("Opportunity", "_airbyte_extracted_at")] == "timestamp with time zone"
    assert ("OpportunityFieldHistory", "OpportunityId") in columns


def _kpis(args, env) -> dict:
    result = funnel(["kpis", *args, "--json"], env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def folder_kpis(warehouse_sample, pg_env):
    """``funnel kpis <export folder> --json``: what every shape must give back."""
    return _kpis([str(warehouse_sample)], pg_env)


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["sample_fivetran", "sample_airbyte"])
def test_kpis_from_postgres_equal_the_export_folders(request, shape, folder_kpis):
    loaded = request.getfixturevalue(shape)
    got = _kpis([loaded.url, "--source", loaded.source, "--schema", loaded.schema], loaded.env)
    assert folder_kpis["opportunities"] > 0 and folder_kpis["leads"] > 0
    assert differences(got, folder_kpis) == {}


def _check(args, env) -> dict:
    result = funnel(["check", *args, "--json"], env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["tables"]


@pytest.fixture(scope="module")
def folder_check(warehouse_sample, pg_env):
    """``funnel check <export folder> --json``'s tables."""
    return _check([str(warehouse_sample)], pg_env)


COUNTS = ("rows_read", "rows_kept", "rows_quarantined", "rows_deleted", "rows_merged", "rows_flagged", "rules")


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["sample_fivetran", "sample_airbyte"])
def test_check_accounts_for_the_sample_as_for_its_export(request, shape, folder_check):
    """Row accounting (read, kept, quarantined by rule, deleted, merged, flagged) per table equals the
    export folder's; in the Fivetran shape the one extra hard-deleted Opportunity and Lead
    (``_fivetran_deleted``) are read and counted as deleted."""
    loaded = request.getfixturevalue(shape)
    expected = dict(folder_check)
    got = _check([loaded.url, "--source", loaded.source, "--schema", loaded.schema], loaded.env)
    assert sorted(got) == sorted(expected)
    if loaded.source == "fivetran":
        for table in ("opportunities", "leads"):
            expected[table] = expected[table] | {
                "rows_read": expected[table]["rows_read"] + 1,
                "rows_deleted": expected[table]["rows_deleted"] + 1,
            }
    for table in expected:
        assert {k: got[table][k] for k in COUNTS} == {k: expected[table][k] for k in COUNTS}, table
