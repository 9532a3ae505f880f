"""``load_org(folder, engine="duckdb", engine_only=True)``: the org's tables built in DuckDB from the
export (``EngineOrg.from_export``), none in pandas, and the report entry points whose engine path
covers their options run on it with the pandas loader's figures (the reference)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from funnel_analysis._util.missing import missing_reason
from funnel_analysis.crm.load import load_org
from funnel_analysis.crm.model import EngineOnlyError, latest_date
from funnel_analysis.engine import EngineError
from funnel_analysis.engine.attach import CACHE_PANDAS_TOO, cut_rows, engine_of
from funnel_analysis.forecast import report as forecast_report
from funnel_analysis.funnel import report as funnel_report
from funnel_analysis.sources import report as sources_report
from funnel_analysis.velocity import report as velocity_report

DAY = "2025-06-30"  # the lead history started in July 2024


@pytest.fixture(scope="module")
def engine_only(sample_org):
    crm = load_org(sample_org[0], engine="duckdb", engine_only=True, engine_options={"threads": 2})
    yield crm
    engine_of(crm).engine.close()


def test_the_tables_are_in_the_engine_only(engine_only, sample_crm):
    # in pandas: the stages and the small reference tables (the owners' names and the owner relation
    # of a where, the lead status order, the campaigns)
    assert sorted(engine_only.tables) == ["campaigns", "groups", "lead_statuses", "stages", "users"]
    assert len(engine_only.users) == len(sample_crm.tables["users"])
    pd.testing.assert_frame_equal(engine_only.lead_statuses, sample_crm.lead_statuses)
    pd.testing.assert_frame_equal(engine_only.campaigns, sample_crm.campaigns, check_dtype=False)
    org = engine_of(engine_only)
    assert org is not None and org.engine.name == "duckdb"
    # the tables the engine paths read, both histories included, as many rows as the loader keeps
    assert set(engine_only.meta["engine_only"]) >= {"opportunities", "opportunity_field_history", "lead_history"}
    assert {"accounts", "contacts"} <= set(engine_only.meta["engine_only"])  # what a where scopes
    assert "campaign_members" in engine_only.meta["engine_only"]
    for table in ("opportunities", "leads", "opportunity_field_history"):
        n = org.engine.sql(f"SELECT count(*) AS n FROM {org.relation(table)}").to_pydict()["n"][0]
        assert n == len(sample_crm.tables[table]), table
    # the data's latest date, as the loader's org gives it (from its pandas tables)
    assert engine_only.meta["latest_date"] == str(latest_date(sample_crm).date())
    assert engine_only.stage_order == sample_crm.stage_order
    assert engine_only.meta["fingerprint"] == sample_crm.meta["fingerprint"]  # the same files, the same hash
    assert engine_only.currency == sample_crm.currency


def _drop_names(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in ("owner_name",) if c in frame.columns]).reset_index(drop=True)


@pytest.mark.parametrize(
    ("fn", "kw"),
    [
        (funnel_report.kpis, {}),
        (funnel_report.kpis, {"by": "lead_source", "period": "Q"}),  # the day's deals and leads from the engine
        (funnel_report.snapshot_funnel, {"by": "owner_id"}),
        (velocity_report.stage_durations, {"by": "owner_id", "percentiles": ()}),
        (sources_report.source_matrix, {}),
        (sources_report.source_matrix, {"by": ["status", "owner_id"]}),  # the lead state on the day
        (sources_report.activity_win_relation, {}),
        (funnel_report.win_rates, {"by": "type", "period": "Q"}),
        (funnel_report.cohort_funnel, {"by": "lead_source", "created_from": "2024-01-01", "window_days": 90}),
        (funnel_report.lead_funnel, {"by": "owner_id"}),  # the statuses and owners on the day
        (funnel_report.lead_conversion, {"by": "lead_source", "window_days": 90}),
        (funnel_report.stage_transitions, {"by": "lead_source"}),
        (funnel_report.bottlenecks, {}),
        (velocity_report.stage_intervals, {"by": "lead_source"}),  # one row per visit
        (sources_report.campaign_matrix, {}),
    ],
    ids=[
        "kpis",
        "kpis_by_period",
        "snapshot_funnel",
        "stage_durations",
        "source_matrix",
        "source_matrix_status",
        "activity_win_relation",
        "win_rates",
        "cohort_funnel",
        "lead_funnel",
        "lead_conversion",
        "stage_transitions",
        "bottlenecks",
        "stage_intervals",
        "campaign_matrix",
    ],
)
def test_entry_points_equal_the_loader(engine_only, sample_crm, fn, kw):
    got, want = fn(engine_only, as_of=DAY, **kw), fn(sample_crm, as_of=DAY, **kw)
    assert len(got) and len(got) == len(want)
    # the owners are in pandas too: their names as the loader's org gives them
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
    # not marked missing either: whether the export has leads or activities is asked of the engine
    assert missing_reason(got) == missing_reason(want) is None


def test_the_quarter_waterfall_equals_the_loader(engine_only, sample_crm):
    got = sources_report.pipeline_waterfall(engine_only, as_of="2025-10-15")
    want = sources_report.pipeline_waterfall(sample_crm, as_of="2025-10-15")
    pd.testing.assert_frame_equal(got.totals, want.totals, check_dtype=False)
    assert len(got.per_opportunity) == len(want.per_opportunity) > 0


def test_without_as_of_the_report_day_is_the_loaders(engine_only, sample_crm):
    # the extract time is worked out in the engine: the loader's instant and day (several columns may hold it)
    from funnel_analysis.crm.model import extract_time

    got, want = extract_time(engine_only), extract_time(sample_crm)
    assert (got.timestamp, got.report_date) == (want.timestamp, want.report_date)
    assert sample_crm.tables[got.table][got.column].max().tz_convert("UTC").tz_localize(None) == got.timestamp
    pd.testing.assert_frame_equal(funnel_report.kpis(engine_only), funnel_report.kpis(sample_crm), check_dtype=False)


def test_refusals(sample_org, tmp_path):
    with pytest.raises(ValueError, match="engine='duckdb'"):
        load_org(sample_org[0], engine_only=True)
    with pytest.raises(ValueError, match="not a mapping or a database"):
        load_org(sample_org[0], engine="duckdb", engine_only=True, mapping="maven_crm")
    with pytest.raises(EngineError, match="built by DuckDB, not 'spark'"):
        load_org(sample_org[0], engine="spark", engine_only=True)


#: The one line of a pandas computation on an engine-only org: the call, then what to do.
_REFUSAL = r": this org is engine-only \(load_org\(\.\.\., engine_only=True\)\) and this runs on pandas, .*: load without engine_only$"


@pytest.mark.parametrize(
    ("call", "head"),
    [
        # a where: the pandas path (the engine paths take none)
        (
            lambda c: funnel_report.snapshot_funnel(c, as_of=DAY, where="amount >= 10000"),
            "snapshot_funnel(where='amount >= 10000')",
        ),
        # an entry point without an engine path
        (lambda c: sources_report.attribution_summary(c, as_of=DAY), "attribution_summary()"),
        (lambda c: forecast_report.weighted_pipeline(c, as_of=DAY), "weighted_pipeline()"),
    ],
    ids=["where", "attribution_summary", "weighted_pipeline"],
)
def test_a_pandas_path_refuses_with_one_line(engine_only, call, head):
    with pytest.raises(EngineOnlyError, match="^" + re.escape(head) + _REFUSAL) as info:
        call(engine_only)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)  # what the CLI turns into one line and exit 2


def test_reading_or_scoping_a_table_refuses(engine_only):
    assert engine_only.has("opportunities") and engine_only.has("stages")
    assert not engine_only.has("contact_roles")  # not in the export's engine tables: absent
    assert len(engine_only.contact_roles) == 0
    with pytest.raises(EngineOnlyError, match=r"^reading 'opportunities' in pandas" + _REFUSAL):
        engine_only.rows("opportunities")
    with pytest.raises(EngineOnlyError, match=r"\(leads is in the engine\)"):
        len(engine_only.as_of(DAY).leads)  # a cut is marked too (its meta)


def test_cut_rows_equal_the_cut(engine_only, sample_crm):
    org, cut = engine_of(engine_only), sample_crm.as_of(DAY)
    for table in ("leads", "opportunities", "activities"):
        assert cut_rows(org, table) == len(sample_crm.tables[table]), table
        assert cut_rows(org, table, as_of=DAY) == len(cut.tables[table]), table
    acts, opps = cut.activities, cut.opportunities
    linked = int(acts["what_id"].isin(opps["opportunity_id"]).sum())  # plain pandas, on the cut
    assert 0 < linked < len(acts)
    assert cut_rows(org, "activities", as_of=DAY, linked=("what_id", "opportunities", "opportunity_id")) == linked
    assert cut_rows(org, "campaign_members") == len(sample_crm.tables["campaign_members"])
    assert cut_rows(org, "contact_roles") == 0  # not in the engine


def test_the_cli_turns_it_into_one_line_and_exit_2(engine_only, sample_org, monkeypatch):
    from click.testing import CliRunner

    from funnel_analysis.cli import app

    # the loader stands in for load_org(..., engine_only=True): the CLI offers no such option yet
    monkeypatch.setattr(app, "load_or_fail", lambda *a, **k: engine_only)
    res = CliRunner().invoke(app.main, ["kpis", str(sample_org[0]), "--as-of", DAY, "--where", "amount >= 10000"])
    assert res.exit_code == 2, res.output
    assert res.output.strip().count("\n") == 0
    assert res.output.startswith("error: kpis(where='amount >= 10000'): this org is engine-only")


def test_record_names_read_the_engine(engine_only, sample_crm):
    # the names a report shows for IDs: the key and name columns of the engine's tables, as the loader's
    from funnel_analysis.crm.names import record_names

    got, want = record_names(engine_only), record_names(sample_crm)
    assert len(want) > 1000 and want.index.str.startswith("00Q").any()
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index())


def test_names_of_some_ids_read_the_engine_for_those_ids(engine_only, sample_crm):
    # what a report table asks for: the names of the IDs it shows, never the whole org's
    from funnel_analysis.crm.names import names_of, record_names

    want = record_names(sample_crm)
    ids = [*want.index[::7][:1200], "00Q000000000999AAA", "003000000000999AAA"]  # > one query's 500 IDs
    expected = want.reindex(ids).dropna()
    assert expected.index.str[:3].isin(["00Q", "003", "001", "006", "005"]).all() and len(expected) == 1200
    pd.testing.assert_series_equal(names_of(engine_only, ids=ids[::-1]), expected[::-1], check_index_type=False)
    assert "leads" not in engine_only.tables  # read in the engine, not held in pandas


def _metric(crm):
    from funnel_analysis.custom.report import metric

    return metric(crm, metric="win_rate", by="lead_source")


def _values_at_creation(crm):
    from funnel_analysis.routing.assign import values_at_creation

    return values_at_creation(crm, table="leads", columns=["status"])


@pytest.mark.parametrize(("call", "head"), [(_metric, "metric(by='lead_source')"), (_values_at_creation, "")])
def test_paths_that_read_a_table_directly_refuse_with_one_line(engine_only, call, head):
    # they read crm.tables[...]: a KeyError on an engine-only org before; now the one line of the others
    with pytest.raises(EngineOnlyError, match=re.escape(head) + ".*this org is engine-only") as info:
        call(engine_only)
    assert "\n" not in str(info.value)


def test_the_profile_keeps_the_engine_and_types_the_deals_there(sample_org, sample_crm):
    # apply_profile used to return an org without the engine (every engine path then refused)
    from funnel_analysis.project import apply_profile
    from funnel_analysis.project.profile import BusinessRule, OrgProfile

    profile = OrgProfile(business_types={"renewal": BusinessRule(types=("new business",))})
    eo = apply_profile(load_org(sample_org[0], engine="duckdb", engine_only=True), profile=profile)
    ref = apply_profile(sample_crm, profile=profile)
    assert engine_of(eo) is not None
    want = ref.opportunities["business_type"].value_counts().sort_index()
    assert "renewal" in want.index  # the rule moved the New Business deals
    for kw in ({"by": "business_type"}, {"new_business_only": True}):
        got = funnel_report.kpis(eo, as_of=DAY, **kw)
        pd.testing.assert_frame_equal(got, funnel_report.kpis(ref, as_of=DAY, **kw), check_dtype=False, rtol=1e-12)


def test_the_stage_gates_say_in_one_line_they_need_pandas(engine_only, sample_org):
    from funnel_analysis.routing.gates import stage_gates

    got = stage_gates(engine_only, data_dir=sample_org[0])
    reason = missing_reason(got)
    assert got.empty and reason is not None and "engine-only" in reason and "\n" not in reason


def test_open_report_engine_only(sample_org, sample_crm, monkeypatch, capsys):
    # a report kernel on an org larger than its memory: FUNNEL_ENGINE_ONLY=1 (or engine_only=True)
    from funnel_analysis.reporting import open_report

    monkeypatch.setenv("FUNNEL_ENGINE_ONLY", "1")
    crm = open_report(str(sample_org[0]))
    assert "engine-only" in capsys.readouterr().out
    assert "opportunities" in crm.meta["engine_only"] and engine_of(crm) is not None
    monkeypatch.delenv("FUNNEL_ENGINE_ONLY")
    ref = open_report(str(sample_org[0]))
    assert engine_of(ref) is None
    for kw in ({"by": "business_type"}, {"by": "lead_source", "period": "Q"}):  # the profile's types, in the engine
        pd.testing.assert_frame_equal(
            funnel_report.kpis(crm, as_of=DAY, **kw),
            funnel_report.kpis(ref, as_of=DAY, **kw),
            check_dtype=False,
            rtol=1e-12,
        )
    with pytest.raises(ValueError, match="engine_only reads a Salesforce export folder"):
        open_report(str(sample_org[0]), mapping="maven_crm", engine_only=True)


# ---- an engine-only org opened from a Parquet cache: a pandas path reads its tables from the cache


@pytest.fixture(scope="module")
def parquet_cache(sample_crm, tmp_path_factory):
    """The sample org written as the report runner caches it, and the pandas org read back from it (the reference)."""
    folder = sample_crm.to_parquet(tmp_path_factory.mktemp("cache") / "org")
    return folder, load_org(folder)


@pytest.fixture
def from_cache(parquet_cache):
    crm = load_org(parquet_cache[0], engine="duckdb", engine_only=True, engine_options={"threads": 2})
    yield crm
    engine_of(crm).engine.close()


def test_a_table_is_read_from_the_cache_on_first_use_with_those_read_with_it(from_cache, parquet_cache):
    ref = parquet_cache[1]
    assert "opportunities" not in from_cache.tables
    got = from_cache.opportunities
    # the deals and their two histories (an as-of cut replays them), nothing else: the kernel stays small
    held = {"opportunities", "opportunity_history", "opportunity_field_history"}
    small = {"campaigns", "groups", "lead_statuses", "stages", "users", *CACHE_PANDAS_TOO}
    assert set(from_cache.tables) == (small & set(ref.tables)) | held
    for table in held:
        pd.testing.assert_frame_equal(from_cache.tables[table], ref.tables[table])
    assert got is from_cache.opportunities  # kept
    assert engine_of(from_cache) is not None  # the engine paths still run in the engine
    pd.testing.assert_frame_equal(
        funnel_report.kpis(from_cache, as_of=DAY), funnel_report.kpis(ref, as_of=DAY), check_dtype=False, rtol=1e-12
    )


def test_a_cut_reads_through_the_org_it_was_cut_from(from_cache, parquet_cache):
    cut, ref = from_cache.as_of(DAY), parquet_cache[1].as_of(DAY)
    assert "leads" not in cut.tables
    # the leads' status and owner of the day come from the lead history, read with them
    pd.testing.assert_frame_equal(cut.leads, ref.leads)
    pd.testing.assert_frame_equal(cut.opportunities, ref.opportunities)
    assert (
        ref.leads["status"]
        != parquet_cache[1].leads.set_index("lead_id").loc[ref.leads["lead_id"], "status"].to_numpy()
    ).any()
    # a table the cut keeps rows of as they are is read and cut by the cut alone: held once, not by the org too
    for table in ("activities", "campaign_members", "contact_roles"):
        pd.testing.assert_frame_equal(getattr(cut, table), getattr(ref, table), obj=table)
        assert table not in from_cache.tables
    assert len(cut.activities) < len(parquet_cache[1].activities)  # the day's rows only
    # the histories too, read when asked (a forecast's cuts of past quarters never read theirs)
    assert not {"lead_history", "opportunity_history", "opportunity_field_history"} & set(
        from_cache.as_of("2025-03-31").tables
    )
    for table in ("lead_history", "opportunity_history", "opportunity_field_history"):
        pd.testing.assert_frame_equal(getattr(cut, table), getattr(ref, table), obj=table)
    # a cut of the cut rebuilds its leads from the history of the cut
    again, want = cut.as_of("2025-03-31"), ref.as_of("2025-03-31")
    pd.testing.assert_frame_equal(again.leads, want.leads)
    pd.testing.assert_frame_equal(again.opportunities, want.opportunities)
    assert cut.meta.get("as_of_undated", {}) == ref.meta.get("as_of_undated", {})


def test_a_scoped_org_reads_its_own_rows(from_cache, parquet_cache):
    len(from_cache.leads)  # the whole org holds every lead: the scoped one must not inherit them
    where = "owner.region == 'EMEA'"
    got, ref = from_cache.where(where), parquet_cache[1].where(where)
    assert 0 < len(ref.leads) < len(parquet_cache[1].leads)
    for table in ("leads", "lead_history", "opportunities", "activities"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(ref, table), obj=table)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: forecast_report.weighted_pipeline(c, as_of=DAY),
        lambda c: sources_report.attribution_summary(c, as_of=DAY),
        lambda c: sources_report.speed_to_lead(c, as_of=DAY, by="lead_source"),
        lambda c: __import__("funnel_analysis.custom.report").custom.report.metric(
            c, metric="win_rate", by="account.region", where="account.industry != 'Retail'"
        ),
        lambda c: __import__("funnel_analysis.crm").crm.history_coverage(c),
        lambda c: __import__("funnel_analysis.reconcile.report").reconcile.report.definition_effects(c, as_of=DAY),
    ],
    ids=[
        "weighted_pipeline",
        "attribution_summary",
        "speed_to_lead",
        "metric",
        "history_coverage",
        "definition_effects",
    ],
)
def test_entry_points_without_an_engine_path_equal_the_pandas_org(from_cache, parquet_cache, call):
    got, want = call(from_cache), call(parquet_cache[1])
    assert len(want)  # something to compare
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)


def test_routing_rules_read_the_tables_their_criteria_name(from_cache, parquet_cache, sample_org):
    from funnel_analysis.routing import load_rules, rule_audit

    path = sample_org[1] / "routing_rules.yaml"
    assert "accounts" not in from_cache.tables
    rules = load_rules(path, crm=from_cache)  # its criteria are checked against the org's tables
    assert "accounts" in from_cache.tables  # account.region in a deal rule's criteria
    got = rule_audit(from_cache, rules=rules, as_of=DAY)
    want = rule_audit(parquet_cache[1], rules=load_rules(path, crm=parquet_cache[1]), as_of=DAY)
    assert len(want)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_audits_read_the_tables_their_criteria_name_when_the_rules_did_not(from_cache, parquet_cache, sample_org):
    # rules loaded without the org (no criteria check, nothing read): the audits read what the criteria name
    from funnel_analysis.routing import load_rules, opportunity_audit, rule_audit

    path = sample_org[1] / "routing_rules.yaml"
    assert "accounts" not in from_cache.tables
    got = opportunity_audit(from_cache, rules=load_rules(path), as_of=DAY)  # account.region in a deal rule
    want = opportunity_audit(parquet_cache[1], rules=load_rules(path), as_of=DAY)
    assert len(want) and want["entry"].nunique() > 1
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    got = rule_audit(from_cache, rules=load_rules(path), as_of=DAY)
    pd.testing.assert_frame_equal(
        got, rule_audit(parquet_cache[1], rules=load_rules(path), as_of=DAY), check_dtype=False
    )


def test_a_cache_file_replaced_after_loading_is_caught_on_reading(parquet_cache, tmp_path):
    import shutil

    from funnel_analysis.crm.model import CacheError

    folder = tmp_path / "org"
    shutil.copytree(parquet_cache[0], folder)
    crm = load_org(folder, engine="duckdb", engine_only=True, engine_options={"threads": 2})
    try:
        shutil.copyfile(folder / "contacts.parquet", folder / "leads.parquet")  # a valid Parquet file, not the leads
        with pytest.raises(CacheError, match=r"leads\.parquet.*differs from what was written"):
            len(crm.leads)
        with pytest.raises(CacheError, match=r"leads\.parquet.*differs from what was written"):
            crm.read_cached_batches(folder, "leads", columns=["lead_id"])  # before any batch
    finally:
        engine_of(crm).engine.close()


def test_ensure_tables_on_an_org_built_from_the_export_refuses(engine_only):
    # its tables are the engine's own (no cache to read them from): the one line, not an empty table
    with pytest.raises(EngineOnlyError, match=r"\(accounts is in the engine\)"):
        engine_only.ensure_tables("accounts")
    assert "accounts" not in engine_only.tables


def test_ensure_related_tables_reads_what_the_paths_reach(from_cache, parquet_cache):
    from_cache.ensure_related_tables("opportunities", "amount >= ", None)  # does not parse, none: nothing read
    assert "accounts" not in from_cache.tables and "opportunities" not in from_cache.tables
    from_cache.ensure_related_tables("opportunities", "account.region == 'EMEA' and owner.role == 'AE'")
    assert "accounts" in from_cache.tables and "contacts" not in from_cache.tables
    pd.testing.assert_frame_equal(from_cache.tables["accounts"], parquet_cache[1].accounts)
    from_cache.ensure_related_tables("leads", "converted_contact.email")  # a dotted field, as --by names one
    assert "contacts" in from_cache.tables


def test_each_report_in_a_kernel_gets_its_own_org_and_its_tables_go_with_it(parquet_cache, monkeypatch, capsys):
    # a kernel runs report after report on the one org it keeps: the tables one report read from the
    # cache must not stay held for the next ones (at scale 50 they would add up past a kernel's memory)
    import gc
    import weakref

    from funnel_analysis.reporting import notebook, open_report

    monkeypatch.setenv("FUNNEL_ENGINE_ONLY", "1")
    first = open_report(str(parquet_cache[0]))
    pd.testing.assert_frame_equal(
        forecast_report.weighted_pipeline(first, as_of=DAY),
        forecast_report.weighted_pipeline(parquet_cache[1], as_of=DAY),
        check_dtype=False,
    )
    assert "opportunities" in first.tables
    read = weakref.ref(first.tables["opportunities"])
    second = open_report(str(parquet_cache[0]))
    assert second is not first and engine_of(second) is engine_of(first)
    assert "opportunities" not in second.tables
    for kept in notebook._LOADED.values():
        assert not set(kept.tables) & set(kept.meta["engine_only"])
    del first
    gc.collect()
    assert read() is None  # nothing else held the table the first report read
    capsys.readouterr()


@pytest.mark.parametrize("where", ["", "owner.region == 'EMEA'"])
def test_the_touches_read_only_the_leads_activities_from_the_cache(from_cache, parquet_cache, where):
    from funnel_analysis.engine.attach import cached_rows
    from funnel_analysis.routing.touches import first_touches

    org, ref = (from_cache.where(where), parquet_cache[1].where(where)) if where else (from_cache, parquet_cache[1])
    cut, ref_cut = org.as_of(DAY), ref.as_of(DAY)
    ids = ref_cut.leads["lead_id"]
    got = cached_rows(cut, table="activities", columns=["activity_id", "type"], key="who_id", values=ids)
    # plain pandas on the reference cut: its activities on those leads, in the table's order
    want = ref_cut.activities[ref_cut.activities["who_id"].isin(ids)].reset_index(drop=True)
    assert 0 < len(want) < len(ref_cut.activities)
    pd.testing.assert_frame_equal(got[["activity_id", "type", "who_id"]], want[["activity_id", "type", "who_id"]])
    assert "activities" not in cut.tables and "activities" not in org.tables  # nothing kept
    pd.testing.assert_frame_equal(first_touches(org, as_of=DAY), first_touches(ref, as_of=DAY))
    assert cached_rows(ref_cut, table="activities", columns=["type"], key="who_id", values=ids) is None  # pandas org


@pytest.mark.parametrize("where", [None, "lead_source == 'Web'"])
def test_speed_to_lead_without_rules_reads_only_the_leads_activities(from_cache, parquet_cache, where, monkeypatch):
    """#21: at scale 50 the whole activities table (838 MiB in pandas) was read for two of its columns."""
    from funnel_analysis.crm.model import CrmData

    read, real = [], CrmData.read_cached_batches

    def spy(folder, table, *, columns=None, **kw):
        read.append((table, columns, kw.get("key")))
        return real(folder, table, columns=columns, **kw)

    whole, real_table = [], CrmData.read_cached_table
    monkeypatch.setattr(
        CrmData,
        "read_cached_table",
        staticmethod(lambda folder, table, **k: whole.append(table) or real_table(folder, table, **k)),
    )
    monkeypatch.setattr(CrmData, "read_cached_batches", staticmethod(spy))
    got = sources_report.speed_to_lead(from_cache, as_of=DAY, by="lead_source", where=where)
    assert "activities" not in whole
    if where is None:  # counted in the engine (test_speed_to_lead_without_rules_is_counted_in_the_engine)
        assert read == []
    else:  # by the leads' IDs, batch by batch, a few columns
        assert [(t, k) for t, _, k in read] == [("activities", "who_id")]
        columns = read[0][1]
        assert {"who_id", "created_date"} <= set(columns) and "subject" not in columns and len(set(columns)) < 6
    assert "activities" not in from_cache.tables  # read for the call, not kept
    ref = parquet_cache[1]
    want = sources_report.speed_to_lead(ref, as_of=DAY, by="lead_source", where=where)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)


def test_the_duplicates_report_runs_engine_only_and_equals_the_pandas_org(from_cache, parquet_cache):
    """#21: the duplicates report read ``cut.tables["contacts"]``, which an engine-only org does not hold (KeyError)."""
    from funnel_analysis.dedupe import report as dedupe_report

    kw = dict(as_of=DAY, where="owner.region == 'EMEA'", cache=None)
    got = dedupe_report.lead_contact_matches(from_cache, **kw)
    want = dedupe_report.lead_contact_matches(parquet_cache[1], **kw)
    assert want.leads > 0 and len(want.pairs)
    assert got.leads == want.leads
    pd.testing.assert_frame_equal(got.pairs, want.pairs, check_dtype=False)
    found = dedupe_report.find_duplicates(from_cache, objects="contacts", **kw)
    ref = dedupe_report.find_duplicates(parquet_cache[1], objects="contacts", **kw)
    assert list(found.results) == list(ref.results) == ["contacts"]
    pd.testing.assert_frame_equal(found.records["contacts"], ref.records["contacts"], check_dtype=False)
    pd.testing.assert_frame_equal(
        found.results["contacts"].clusters, ref.results["contacts"].clusters, check_dtype=False
    )


def test_cached_batches_and_touches_read_in_small_batches_equal_the_whole_table(from_cache, parquet_cache, monkeypatch):
    """The batches of a cached table, filtered in Arrow, are the rows plain pandas keeps of the whole file; the
    first touches reduced batch by batch (many batches here) equal the pandas org's."""
    import functools

    from funnel_analysis.crm.model import CrmData
    from funnel_analysis.routing.touches import first_touches

    folder, ref = parquet_cache
    ids = ref.leads["lead_id"].iloc[::3]
    parts = list(
        CrmData.read_cached_batches(folder, "activities", columns=["type"], key="who_id", values=ids, batch_rows=500)
    )
    whole = pd.read_parquet(Path(folder) / "activities.parquet", columns=["type", "who_id"])
    want = whole[whole["who_id"].isin(set(ids))].reset_index(drop=True)
    assert len(parts) > 3 and 0 < len(want) < len(whole)
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), want)
    none = list(CrmData.read_cached_batches(folder, "activities", columns=["type"], key="who_id", values=[]))
    assert len(none) == 1 and list(none[0].columns) == ["type", "who_id"] and not len(none[0])
    small = functools.partial(CrmData.read_cached_batches, batch_rows=700)
    monkeypatch.setattr(CrmData, "read_cached_batches", staticmethod(small))
    pd.testing.assert_frame_equal(first_touches(from_cache, as_of=DAY), first_touches(ref, as_of=DAY))


@pytest.mark.parametrize("where", ["", "owner.region == 'EMEA'"])
@pytest.mark.parametrize("day", [DAY, "2024-12-31"])
def test_attribution_reads_the_converted_leads_from_the_engine(from_cache, parquet_cache, where, day):
    """#21: attribution reads of the leads only the converted ones' IDs, from the engine: the leads and their
    history stay out of pandas, and the credit equals the pandas org's, on an earlier day and a scoped org too."""
    org, ref = (from_cache.where(where), parquet_cache[1].where(where)) if where else (from_cache, parquet_cache[1])
    got = sources_report.attribution_summary(org, as_of=day)
    assert "leads" not in org.tables and "lead_history" not in org.tables
    want = sources_report.attribution_summary(ref, as_of=day)
    assert len(want) and want.attrs.get("note") == got.attrs.get("note")
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)


@pytest.mark.parametrize(
    "kw",
    [
        dict(as_of=DAY, by="lead_source"),
        dict(as_of="2024-12-31", by=["status", "lead_source"], mature_days=30),
        dict(as_of=DAY, by=None, time_column="activity_date", mature_days=0),
        dict(as_of=DAY, by="owner_id"),
    ],
    ids=["source", "status-earlier-day", "no-by-activity-date", "owner"],
)
def test_speed_to_lead_without_rules_is_counted_in_the_engine(from_cache, parquet_cache, kw):
    """#21: the mature leads and their first activities come from the engine; the table equals the pandas org's."""
    got = sources_report.speed_to_lead(from_cache, **kw)
    assert not {"leads", "lead_history", "activities"} & set(from_cache.tables)
    want = sources_report.speed_to_lead(parquet_cache[1], **kw)
    assert want["leads"].sum() > 0 and want.attrs.get("note") == got.attrs.get("note")
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(exclude_types="Existing Business"),
        dict(where="owner.region == 'EMEA'", exclude_stages="Closed Lost"),
    ],
    ids=["defaults", "a type left out", "where and a stage"],
)
def test_kpi_definitions_read_rows_only_to_count_what_is_left_out(from_cache, parquet_cache, kw):
    """#21: the reconciliation report's definitions read every lead and deal in pandas for a count of zero."""
    from funnel_analysis.funnel import report as funnel_report

    got = funnel_report.kpi_definitions(from_cache, as_of=DAY, **kw)
    want = funnel_report.kpi_definitions(parquet_cache[1], as_of=DAY, **kw)
    pd.testing.assert_frame_equal(got, want)
    if not kw:  # nothing to check or leave out: no row read in pandas
        assert not set(from_cache.tables) & set(from_cache.meta["engine_only"])
    if kw.get("exclude_types"):  # by hand: the day's deals of that type, and the org's dropped ones
        cut = parquet_cache[1].as_of(DAY)
        existing = int(
            (cut.opportunities["type"].astype("str").str.strip().str.casefold() == "existing business").sum()
        )
        dropped = len(parquet_cache[1].deleted_rows.get("opportunities", ())) + (
            int(parquet_cache[1].quarantine.query("table == 'opportunities'")["row"].nunique())
            if len(parquet_cache[1].quarantine)
            else 0
        )
        assert existing > 0
        assert (got.loc[~got["figure"].str.startswith("lead"), "rows_left_out"] == existing + dropped).all()
    with pytest.raises(ValueError, match="nope"):
        funnel_report.kpi_definitions(from_cache, as_of=DAY, where="nope == 1")
