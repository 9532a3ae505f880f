"""engine.scope.scope_engine_org and CrmData.where on an org with an engine: the scope's rules in SQL.

The hand-built org is the one of tests/crm/test_scope.py, whose expected rows are written out from the
rules by hand; on the generated sample the engine's rows are held to the pandas reference
(crm.scope.scope_org), and the reports of a scoped engine org to those of the scoped pandas org.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm.expression import ExpressionError
from funnel_analysis.crm.load import load_org
from funnel_analysis.crm.scope import scope_org
from funnel_analysis.engine import EngineOrg
from funnel_analysis.engine.attach import engine_of
from funnel_analysis.engine.scope import scope_engine_org
from funnel_analysis.funnel import report as funnel_report
from funnel_analysis.sources import report as sources_report
from funnel_analysis.velocity import report as velocity_report
from tests.crm.test_scope import org  # noqa: F401 (the hand-built org, a fixture)

KEYS = {
    "leads": "lead_id",
    "opportunities": "opportunity_id",
    "accounts": "account_id",
    "contacts": "contact_id",
    "opportunity_history": "history_id",
    "contact_roles": "contact_role_id",
    "campaign_members": "campaign_member_id",
    "activities": "activity_id",
}


def _short(scoped: EngineOrg, table: str) -> list[str]:
    column = KEYS[table]
    got = scoped.engine.df(f"SELECT {column} FROM {scoped.relation(table)}")[column]
    return sorted(got.astype(str).str[:4])


#: filter -> table -> the rows kept, written out by hand in tests/crm/test_scope.py
HAND = {
    "owner.region == 'EMEA'": {
        "leads": ["00QA"],
        "opportunities": ["006A", "006C"],
        "accounts": ["001A", "001B"],
        "contacts": ["003A"],
        "opportunity_history": ["008A", "008D"],
        "contact_roles": ["00KA", "00KC"],
        "campaign_members": ["00vA"],
        "activities": ["00TA", "00TC", "00TD"],  # 00TD: no parent, an EMEA owner
    },
    'account.region == "EMEA"': {
        "accounts": ["001A"],
        "opportunities": ["006A"],
        "contacts": ["003A"],
        "opportunity_history": ["008A"],
        "contact_roles": ["00KA"],
        "activities": ["00TC"],
        "leads": [],
        "campaign_members": [],
    },
    "status == 'Closed - Converted'": {
        "leads": ["00QB"],
        "opportunities": ["006B"],
        "accounts": ["001B"],
        "contacts": ["003B"],
        "opportunity_history": ["008B", "008C"],
        "activities": ["00TB"],
    },
}


@pytest.mark.parametrize("where", list(HAND))
def test_the_rules_on_the_hand_built_org(org, engines_only, where):  # noqa: F811
    scoped = scope_engine_org(engines_only(org), where=where)
    for table, want in HAND[where].items():
        assert _short(scoped, table) == want, (table, where)
    # reference tables are shared whole; the record says what the pandas scope says
    assert scoped.relation("users") == engines_only(org).relation("users")
    assert scoped.meta["scope"]["rows"]["opportunities"] == len(HAND[where]["opportunities"])
    want_meta = scope_org(org, where=where).meta
    assert scoped.meta["fingerprint"] == want_meta["fingerprint"]
    for key in ("where", "anchors", "unreached", "notes"):
        assert scoped.meta["scope"][key] == want_meta["scope"][key], key


#: filters over the sample's own fields, through every relation the scope reads
SAMPLE_FILTERS = [
    "owner.region == 'EMEA'",
    "account.region in ('EMEA', 'APAC')",
    "status == 'Working - Contacted' or lead_source == 'Web'",
    "amount >= 50000 and stage_name != 'Closed Lost'",
    "not (amount > 20000)",
    "created_date < date '2024-06-01'",
    "owner.owner_kind == 'queue'",
    "lead_source is null",
]


@pytest.mark.parametrize("where", SAMPLE_FILTERS)
def test_the_sample_scoped_in_the_engine_keeps_the_pandas_rows(sample_crm, engines_only, where):
    scoped = scope_engine_org(engines_only(sample_crm), where=where)
    want = scope_org(sample_crm, where=where)
    kept = want.meta["scope"]["rows"]
    assert 0 < kept["opportunities"] < len(sample_crm.opportunities) or 0 < kept["leads"] < len(sample_crm.leads)
    for table, column in KEYS.items():
        if table not in want.tables:
            continue
        got = set(scoped.engine.df(f"SELECT {column} FROM {scoped.relation(table)}")[column])
        assert got == set(want.tables[table][column]), (table, where)
    assert scoped.meta["scope"]["rows"] == {
        t: n for t, n in want.meta["scope"]["rows"].items() if t in scoped.relations
    }


@pytest.fixture(scope="module")
def duckdb_org(sample_org):
    crm = load_org(sample_org[0], engine="duckdb", engine_options={"threads": 2})
    yield crm
    engine_of(crm).engine.close()


DAY = "2025-06-30"


@pytest.mark.parametrize("where", ["owner.region == 'EMEA'", "account.industry == 'Technology'"])
def test_a_scoped_engine_org_reports_the_scoped_pandas_figures(duckdb_org, sample_crm, where):
    scoped, want = duckdb_org.where(where), sample_crm.where(where)
    assert engine_of(scoped) is not None  # the reductions stay in the engine
    assert engine_of(scoped).meta["fingerprint"] == scoped.meta["fingerprint"] == want.meta["fingerprint"]
    for fn, kw in [
        (funnel_report.kpis, {}),
        (funnel_report.snapshot_funnel, {"by": "owner_id"}),
        (funnel_report.win_rates, {"by": "type", "period": "Q"}),
        (velocity_report.stage_durations, {"percentiles": ()}),
        (sources_report.activity_win_relation, {}),
    ]:
        got, ref = fn(scoped, as_of=DAY, **kw), fn(want, as_of=DAY, **kw)
        assert len(ref), fn.__name__
        pd.testing.assert_frame_equal(got.reset_index(drop=True), ref.reset_index(drop=True), check_dtype=False)
    got = sources_report.pipeline_waterfall(scoped, as_of="2025-10-15").totals
    pd.testing.assert_frame_equal(
        got, sources_report.pipeline_waterfall(want, as_of="2025-10-15").totals, check_dtype=False
    )


def test_an_engine_only_org_is_scoped_in_the_engine(sample_org, sample_crm):
    crm = load_org(sample_org[0], engine="duckdb", engine_only=True, engine_options={"threads": 2})
    try:
        where = "owner.region == 'EMEA'"
        scoped, want = crm.where(where), sample_crm.where(where)
        assert list(scoped.tables) == list(crm.tables)  # still nothing of the org in pandas but the owners
        assert scoped.meta["scope"]["rows"]["leads"] == len(want.leads) > 0
        for fn in (funnel_report.kpis, funnel_report.snapshot_funnel):
            pd.testing.assert_frame_equal(
                fn(scoped, as_of=DAY).reset_index(drop=True),
                fn(want, as_of=DAY).reset_index(drop=True),
                check_dtype=False,
            )
        assert crm.where("") is crm
    finally:
        engine_of(crm).engine.close()


@pytest.mark.parametrize(
    "bad",
    ["regon == 'EMEA'", '__import__("os").system("id")', "region == 'x'; DROP TABLE leads", "().__class__"],
)
def test_bad_filters_are_refused_as_in_pandas(org, engines_only, bad):  # noqa: F811
    with pytest.raises(ExpressionError) as want:
        scope_org(org, where=bad)
    with pytest.raises(ExpressionError) as got:
        scope_engine_org(engines_only(org), where=bad)
    assert str(got.value) == str(want.value)


def test_scope_engine_org_refuses_what_is_not_an_engine_org(org):  # noqa: F811
    with pytest.raises(TypeError, match="must be an EngineOrg"):
        scope_engine_org(org, where="owner.region == 'EMEA'")
