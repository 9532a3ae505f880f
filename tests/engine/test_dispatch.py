"""load_org(engine=...) attaches the org's engine, and funnel.report.kpis runs in it."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm.load import load_org
from funnel_analysis.engine import EngineError
from funnel_analysis.engine.attach import attach, detach, engine_of
from funnel_analysis.funnel import report


@pytest.fixture(scope="module")
def cache(tmp_path_factory, sample_crm):
    return sample_crm.to_parquet(tmp_path_factory.mktemp("a") / "sample")


def test_load_org_attaches_a_duckdb_engine(cache, sample_crm):
    crm = load_org(cache, engine="duckdb", engine_options={"memory_limit": "1GB", "threads": 1})
    org = engine_of(crm)
    assert org is not None and org.engine.name == "duckdb"
    assert engine_of(load_org(cache)) is None  # the default: pandas
    assert engine_of(crm.as_of("2024-06-30")) is None  # a cut is another org: pandas
    n = org.engine.sql(f"SELECT count(*) AS n FROM {org.relation('opportunities')}").to_pydict()["n"][0]
    assert n == len(sample_crm.opportunities)
    # the engine's figures are the reference's, note included
    got, want = report.kpis(crm, as_of="2024-06-30"), report.kpis(sample_crm, as_of="2024-06-30")
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs


def test_kpis_really_run_in_the_engine(cache):
    crm = load_org(cache, engine="duckdb", engine_options={"threads": 1})
    org = engine_of(crm)
    want = report.kpis(crm, as_of="2025-12-31")
    # the engine's opportunities without one won deal: the figures follow the engine, not pandas
    won = crm.opportunities.loc[crm.opportunities["is_won"], "opportunity_id"].iloc[0]
    rel = org.relation("opportunities")
    org.engine.materialise("opps_less", f"SELECT * FROM {rel} WHERE opportunity_id <> $id", {"id": won})
    org.relations["opportunities"] = "opps_less"
    got = report.kpis(crm, as_of="2025-12-31")
    assert int(got["opportunities"].iloc[0]) == int(want["opportunities"].iloc[0]) - 1
    detach(crm)
    assert int(report.kpis(crm, as_of="2025-12-31")["opportunities"].iloc[0]) == int(want["opportunities"].iloc[0])


def test_options_the_engine_does_not_have_run_on_pandas(cache, sample_crm):
    crm = load_org(cache, engine="duckdb", engine_options={"threads": 1})
    got = report.kpis(crm, as_of="2024-06-30", by="lead_source")
    pd.testing.assert_frame_equal(got, report.kpis(sample_crm, as_of="2024-06-30", by="lead_source"))


def test_unknown_engine_and_bad_attach(cache, sample_crm):
    with pytest.raises(EngineError, match="unknown engine 'oracle'"):
        load_org(cache, engine="oracle")
    with pytest.raises(TypeError, match="must be an EngineOrg"):
        attach(sample_crm, org="duckdb")
