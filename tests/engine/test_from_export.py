"""``EngineOrg.from_export``: the org's tables built in DuckDB from the export folder, held to ``load_org``.

The pandas loader is the reference: every column of the leads, the opportunities and their
history equals its, and the KPIs, stage durations and waterfall reduced on the export's tables
equal the pandas figures of the same folder. The money of a hand-built multi-currency export is
worked out by hand (in the comments), not from either loader.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.crm.load import load_org
from funnel_analysis.engine import EngineError, EngineOrg, connect
from funnel_analysis.engine.org import ROW_NO_TABLES

KEYS = {"leads": "lead_id", "opportunities": "opportunity_id", "opportunity_history": "row_no"}
DAYS = ["2023-06-30", "2024-12-31", "2025-12-31"]


def _engine():
    return connect("duckdb", memory_limit="1GB", threads=1)


def _naive_utc(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(s)
    return s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s


def assert_same_table(org: EngineOrg, crm, table: str) -> pd.DataFrame:
    """The engine's relation equals the loader's frame: every column, value and kind of dtype."""
    got = org.engine.df(f"SELECT * FROM {org.relation(table)}")
    want = crm.tables[table]
    derived = set(org.meta["not_in_sql"].get(table, ()))
    # the loader's columns, in its order; only the Python-derived ones are not built
    assert [c for c in got.columns if c != "row_no"] == [c for c in want.columns if c not in derived]
    if table in ROW_NO_TABLES:  # row_no is the row's place among the kept rows, as from_crm numbers them
        assert got["row_no"].sort_values().tolist() == list(range(len(want)))
        want = want.assign(row_no=np.arange(len(want)))
    key = KEYS[table]
    got = got.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    assert len(got) == len(want) > 0
    for col in got.columns:
        g, w = got[col], want[col]
        if pd.api.types.is_datetime64_any_dtype(w):
            # a date-time is a UTC instant on both sides; a date a naive timestamp on both
            assert (getattr(w.dt, "tz", None) is None) == (getattr(pd.to_datetime(g).dt, "tz", None) is None), col
            pd.testing.assert_series_equal(_naive_utc(g), _naive_utc(w), check_dtype=False, check_names=False)
        elif pd.api.types.is_bool_dtype(w) and not w.isna().any():
            assert g.astype(bool).tolist() == w.astype(bool).tolist(), col
        elif pd.api.types.is_float_dtype(w):
            # money converted by the same division: equal to the last bit
            np.testing.assert_array_equal(g.astype("float64").to_numpy(), w.astype("float64").to_numpy(), err_msg=col)
        else:
            gv = g.astype(object).where(g.notna(), None).tolist()
            wv = w.astype(object).where(w.notna(), None).tolist()
            assert gv == wv, col
    return got


def _tiny_org(tiny_export):
    return EngineOrg.from_export(tiny_export, _engine())


def test_tiny_export_tables_equal_the_loader(tiny_export):
    crm = load_org(tiny_export)
    org = _tiny_org(tiny_export)
    for table in ("leads", "opportunities", "opportunity_history"):
        assert_same_table(org, crm, table)
    pd.testing.assert_frame_equal(org.stages, crm.stages)
    assert org.meta["columns_present"]["opportunities"] == crm.meta["columns_present"]["opportunities"]
    assert org.meta["not_in_sql"]["leads"][:2] == ["company_key", "company_legal_form"]
    org.engine.close()


def test_tiny_export_kept_rows_by_hand(tiny_export):
    # Opportunity.csv: kept 001 (ok), 002 (first of its id; " negotiation/review" folded to the
    # stage's spelling), 005 (no amount: a warning), 008 (created "03/15/24 09:30 AM": the %y
    # form, 2024); quarantined -5 (negative), 150 % (range), the repeated 002, the blank id, the
    # 30 February, "12,5k"
    org = _tiny_org(tiny_export)
    opps = org.engine.df(f"SELECT * FROM {org.relation('opportunities')} ORDER BY opportunity_id")
    assert opps["opportunity_id"].str[:18].tolist() == [f"00600000000000{i}AAA" for i in (1, 2, 5, 8)]
    assert opps["stage_name"].tolist()[1] == "Negotiation/Review"
    assert opps["created_date"].iloc[3] == pd.Timestamp("2024-03-15 09:30", tz="UTC")
    assert opps["account_id"].iloc[0] == "001bm00001ZL8U9AAL"  # the 15-character ID widened
    assert org.meta["check"].report.tables["opportunities"]["rows_kept"] == 4
    org.engine.close()


# A multi-currency export (USD corporate; EUR static 0.8, dated 0.5 from 1 Jan 2024 and 0.25
# from 1 April 2024; GBP has no rate):
#   A EUR 100 closing 2024-02-01 -> 100 / 0.5 = 200;  B EUR 100 closing 2024-05-01 -> 100 / 0.25 = 400
#   C EUR 100 closing 2023-06-01 (before the ranges: static) -> 100 / 0.8 = 125
#   D GBP 50 -> no rate, missing;  E USD 10 -> 10;  F no code: the corporate currency, 10
MONEY = {
    "CurrencyType.csv": "IsoCode,ConversionRate,IsCorporate\nUSD,1,true\nEUR,0.8,false\n",
    "DatedConversionRate.csv": (
        "IsoCode,ConversionRate,StartDate,NextStartDate\nEUR,0.5,2024-01-01,2024-04-01\nEUR,0.25,2024-04-01,\n"
    ),
    "Opportunity.csv": (
        "Id,Name,StageName,Amount,CloseDate,CreatedDate,CurrencyIsoCode\n"
        "006000000000001AAA,A,Prospecting,100,2024-02-01,2023-01-01T00:00:00Z,EUR\n"
        "006000000000002AAA,B,Prospecting,100,2024-05-01,2023-01-01T00:00:00Z,eur\n"
        "006000000000003AAA,C,Prospecting,100,2023-06-01,2023-01-01T00:00:00Z,EUR\n"
        "006000000000004AAA,D,Prospecting,50,2024-02-01,2023-01-01T00:00:00Z,GBP\n"
        "006000000000005AAA,E,Prospecting,10,2024-02-01,2023-01-01T00:00:00Z,USD\n"
        "006000000000006AAA,F,Prospecting,10,2024-02-01,2023-01-01T00:00:00Z,\n"
    ),
    "OpportunityHistory.csv": (
        "Id,OpportunityId,CreatedDate,StageName,Amount,CloseDate,CurrencyIsoCode\n"
        "008000000000001AAA,006000000000001AAA,2023-01-01T00:00:00Z,Prospecting,80,2024-05-02,EUR\n"
    ),
}


def test_money_in_the_corporate_currency_by_hand(tmp_path):
    folder = tmp_path / "money"
    folder.mkdir()
    for name, text in MONEY.items():
        (folder / name).write_text(text, encoding="utf-8")
    org = EngineOrg.from_export(folder, _engine(), tables=["opportunities", "opportunity_history"])
    got = org.engine.df(f"SELECT * FROM {org.relation('opportunities')} ORDER BY name")
    assert got["amount"].tolist()[:3] == [200.0, 400.0, 125.0]
    assert np.isnan(got["amount"].iloc[3]) and got["amount"].tolist()[4:] == [10.0, 10.0]
    assert got["amount_original"].tolist()[:3] == [100.0, 100.0, 100.0]
    assert got["currency_iso_code"].tolist() == ["EUR", "EUR", "EUR", "GBP", "USD", "USD"]
    assert got["conversion_rate"].tolist()[:3] == [0.5, 0.25, 0.8]
    hist = org.engine.df(f"SELECT amount, conversion_rate, row_no FROM {org.relation('opportunity_history')}")
    assert hist.values.tolist() == [[320.0, 0.25, 0]]  # its own close date's rate: 80 / 0.25
    assert org.meta["currency"] == "USD"
    assert_same_table(org, load_org(folder), "opportunities")
    org.engine.close()


def test_check_all_is_funnel_check_in_the_same_pass(tiny_export):
    from funnel_analysis.engine.validate import check_export

    want = check_export(tiny_export, threads=1)
    org = EngineOrg.from_export(tiny_export, _engine(), check_all=True)
    got = org.meta["check"]
    assert got.report.tables == want.report.tables and "accounts" in got.report.tables
    assert (got.report.ignored_files, got.report.currency) == (want.report.ignored_files, want.report.currency)
    pd.testing.assert_frame_equal(got.quarantine, want.quarantine)
    assert_same_table(org, load_org(tiny_export), "opportunities")
    org.engine.close()


def test_refusals(tiny_export):
    eng = _engine()
    with pytest.raises(EngineError, match="'nope' is not a table of the schema"):
        EngineOrg.from_export(tiny_export, eng, tables=["nope"])
    with pytest.raises(EngineError, match="holds no file of table 'activities'"):
        EngineOrg.from_export(tiny_export, eng, tables=["activities"])
    with pytest.raises(EngineError, match="database URL"):
        EngineOrg.from_export("postgresql://host/db", eng)
    eng.close()
    with pytest.raises(EngineError, match="needs a DuckDB engine"):  # read_csv is DuckDB's
        EngineOrg.from_export(tiny_export, object())


def test_default_tables_are_those_the_folder_holds(tmp_path, tiny_export):
    folder = tmp_path / "opps_only"
    folder.mkdir()
    (folder / "Opportunity.csv").write_text((tiny_export / "Opportunity.csv").read_text())
    org = EngineOrg.from_export(folder, _engine())
    assert set(org.relations) == {"opportunities", "stages"}
    assert_same_table(org, load_org(folder), "opportunities")
    org.engine.close()


def test_a_parquet_cache_is_read_in_place(tmp_path, tiny_export):
    crm = load_org(tiny_export)
    crm.to_parquet(tmp_path / "cache")
    org = EngineOrg.from_export(tmp_path / "cache", _engine())
    assert "check" not in org.meta  # from_parquet's org: the cache's tables, read in place
    got = org.engine.df(f"SELECT opportunity_id FROM {org.relation('opportunities')} ORDER BY 1")
    assert got["opportunity_id"].tolist() == sorted(crm.opportunities["opportunity_id"])
    org.engine.close()


def test_only_the_tables_the_rules_need_are_read():
    from funnel_analysis.engine.export import tables_needed

    got = tables_needed(["opportunity_history"])
    # the deals (its required reference), their accounts and campaigns (references), owners and queues
    assert set(got) == {
        "opportunity_history",
        "opportunities",
        "accounts",
        "campaigns",
        "users",
        "groups",
        "currencies",
        "dated_rates",
        "stages",
    }
    assert "activities" not in tables_needed(["leads", "opportunities"])


# ---- the generated sample: tables and figures ------------------------------------------------


@pytest.fixture(scope="module")
def sample_pair(sample_org):
    """(the pandas org, the org built from the export) of the generated sample."""
    crm = load_org(sample_org[0])
    eng = connect("duckdb", memory_limit="2GB", threads=2)
    org = EngineOrg.from_export(sample_org[0], eng)
    yield crm, org
    eng.close()


@pytest.mark.parametrize("table", ["leads", "opportunities", "opportunity_history"])
def test_sample_tables_equal_the_loader(sample_pair, table):
    crm, org = sample_pair
    got = assert_same_table(org, crm, table)
    if table == "opportunities":  # the sample is multi-currency: the conversion ran
        assert got["currency_iso_code"].nunique() > 1 and (got["conversion_rate"] != 1).any()


def test_sample_check_all_equals_funnel_check(sample_org):
    from funnel_analysis.engine.validate import check_export

    want = check_export(sample_org[0], threads=2)
    with connect("duckdb", threads=2) as eng:
        got = EngineOrg.from_export(sample_org[0], eng, check_all=True).meta["check"]
    assert len(got.report.tables) == len(want.report.tables) >= 15
    assert got.report.tables == want.report.tables


def test_sample_stages_and_check_equal_the_loader(sample_pair):
    crm, org = sample_pair
    pd.testing.assert_frame_equal(org.stages, crm.stages)
    for table in ("leads", "opportunities", "opportunity_history"):
        mine, ref = org.meta["check"].report.tables[table], crm.report.tables[table]
        for figure in ("rows_read", "rows_kept", "rows_quarantined", "rows_deleted", "rows_merged"):
            assert mine[figure] == ref[figure], (table, figure)


@pytest.mark.parametrize("day", DAYS)
def test_sample_kpis_equal_the_reference(sample_pair, day):
    from funnel_analysis.engine.attach import attach, detach
    from funnel_analysis.funnel import report

    crm, org = sample_pair
    want = report.kpis(crm, as_of=day).reset_index(drop=True)
    attach(crm, org=org)
    try:
        got = report.kpis(crm, as_of=day)
    finally:
        detach(crm)
    assert int(want["opportunities"].iloc[0]) > 0
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("day", DAYS)
def test_sample_stage_durations_equal_the_reference(sample_pair, day):
    from funnel_analysis.engine.durations import stage_durations
    from funnel_analysis.velocity import report

    crm, org = sample_pair
    for by in (None, "lead_source"):
        want = report.stage_durations(crm, as_of=day, by=by).reset_index(drop=True)
        got = stage_durations(org, as_of=day, by=by)
        assert len(want) >= 5
        pd.testing.assert_frame_equal(got, want, check_dtype=False)


@pytest.mark.parametrize("day", DAYS)
def test_sample_quarter_waterfall_equals_the_reference(sample_pair, day):
    from funnel_analysis.engine.waterfall import waterfall
    from funnel_analysis.sources.pipeline_changes import pipeline_waterfall

    crm, org = sample_pair
    end = pd.Timestamp(day)
    start = (end - pd.offsets.QuarterEnd(1)).normalize()  # the quarter before: start at its end
    kw = dict(start=start, end=end, close_window=(start + pd.Timedelta(days=1), end))
    got, want = waterfall(org, **kw), pipeline_waterfall(crm, **kw)
    cols = list(got.per_opportunity.columns)
    assert len(want.per_opportunity) > 0
    pd.testing.assert_frame_equal(got.per_opportunity, want.per_opportunity[cols], check_dtype=False)
    pd.testing.assert_frame_equal(got.totals, want.totals[list(got.totals.columns)], check_dtype=False)
