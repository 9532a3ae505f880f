"""``funnel metric``: three metrics with a dotted ``--by`` and a ``--where``, against plain pandas on the CSVs.

The org is a small generated sample (``funnel sample --scale 0.2``, its truth folder beside it). The
expected values come from the export's CSV files without the package: the rows the truth says are
quarantined, deleted or merged away are dropped and merged references re-pointed
(:func:`tests.export_csv.kept`), picklists folded by hand, money divided by the org's rates
(:func:`tests.export_csv.to_usd`), and a related record joined on the first 15 characters of its
ID (a 15-character reference names the same record as its 18-character form). The report day is
the latest date in the data, so every record counts in its exported state. The first command reads
the CSV folder, the others a Parquet cache of it (``funnel cache``), which loads faster.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from funnel_analysis.cli import main
from tests.export_csv import fold, kept, to_usd


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("metric") / "org"
    result = CliRunner().invoke(main, ["sample", "--scale", "0.2", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def cache(org, tmp_path_factory) -> Path:
    """The same org loaded once into a Parquet cache (``funnel cache``): each command reloads it fast."""
    folder = tmp_path_factory.mktemp("metric_cache") / "cache"
    result = CliRunner().invoke(main, ["cache", str(org), str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def _run(*args) -> list[dict]:
    result = CliRunner().invoke(main, ["metric", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _related(org: Path, rows: pd.DataFrame, column: str, name: str, field: str) -> pd.Series:
    """``rows[column]``'s record's ``field`` in ``name`` (kept rows, folded), by the 15-character ID."""
    other = kept(org, name)
    values = dict(zip(other["Id"].str[:15], fold(other[field]).where(other[field] != "")))
    return rows[column].str[:15].map(values)


def _flag(s: pd.Series) -> pd.Series:
    return fold(s).isin(["true", "1"])


def _by_value(rows: list[dict], by: str) -> dict:
    return {(r[by].casefold() if not r[by].startswith("(no ") else None): r for r in rows}


@pytest.mark.slow
def test_win_rate_by_account_industry_where_amount(org):
    rows = _run("win_rate", org, "--by", "account.industry", "--where", "amount >= 10000")
    o = kept(org, "Opportunity.csv")
    o = o.assign(usd=to_usd(org, o), industry=_related(org, o, "AccountId", "Account.csv", "Industry"))
    o = o[o["usd"] >= 10000]  # a deal without an amount is not selected (unknown is not true)
    closed = o[_flag(o["IsClosed"])]
    expected = closed.assign(won=_flag(closed["IsWon"])).groupby("industry", dropna=False)["won"].agg(["sum", "count"])
    got = _by_value(rows, "account.industry")
    assert set(got) == {None if pd.isna(k) else k for k in expected.index}
    for industry, (won, n) in expected.iterrows():
        row = got[None if pd.isna(industry) else industry]
        assert row["win_rate_n"] == n and row["win_rate"] == pytest.approx(won / n)
        assert row["win_rate_ci_low"] <= row["win_rate"] <= row["win_rate_ci_high"]
    assert sum(r["win_rate_n"] for r in rows) == len(closed) > 100


@pytest.mark.slow
def test_lead_conversion_rate_by_owner_region_where_lead_source(org, cache):
    rows = _run("lead_conversion_rate", cache, "--by", "owner.region", "--where", "lead_source == 'Web'")
    leads = kept(org, "Lead.csv")
    leads = leads[fold(leads["LeadSource"]) == "web"]
    # an owner is a user (User.csv) or a queue (Group.csv, no region): a queue's leads have no region
    region = _related(org, leads, "OwnerId", "User.csv", "Region__c")
    expected = leads.assign(region=region, conv=_flag(leads["IsConverted"])).groupby("region", dropna=False)["conv"]
    expected = expected.agg(["sum", "count"])
    got = _by_value(rows, "owner.region")
    assert set(got) == {None if pd.isna(k) else k for k in expected.index}
    for key, (converted, n) in expected.iterrows():
        row = got[None if pd.isna(key) else key]
        assert row["lead_conversion_rate_n"] == n
        assert row["lead_conversion_rate"] == pytest.approx(converted / n)
    assert sum(r["lead_conversion_rate_n"] for r in rows) == len(leads) > 200


@pytest.mark.slow
def test_open_pipeline_by_owner_role_where_region(org, cache):
    rows = _run(
        "pipeline", cache, "--by", "owner.role", "--where", "owner.region == 'EMEA' and stage_name != 'Prospecting'"
    )
    o = kept(org, "Opportunity.csv")
    o = o.assign(
        usd=to_usd(org, o),
        role=_related(org, o, "OwnerId", "User.csv", "Role__c"),
        region=_related(org, o, "OwnerId", "User.csv", "Region__c"),
    )
    o = o[(o["region"] == "emea") & (fold(o["StageName"]) != "prospecting") & ~_flag(o["IsClosed"])]
    with_amount = o[o["usd"].notna()]
    expected = with_amount.groupby("role")["usd"].agg(["sum", "count"])
    got = _by_value(rows, "owner.role")
    assert set(got) == set(expected.index)
    for role, (amount, n) in expected.iterrows():
        assert got[role]["open_pipeline_amount"] == pytest.approx(amount, abs=0.01)
        assert got[role]["open_pipeline_amount_n"] == n
    assert sum(r["open_pipeline_amount_n"] for r in rows) == len(with_amount) > 3


@pytest.mark.slow
def test_text_table_and_period(org, cache):
    result = CliRunner().invoke(main, ["metric", "bookings", str(cache), "--by", "owner.region", "--period", "Y"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["as_of", "owner.region", "fiscal_period", "period_start", "won_amount", "won_amount_n"]
    assert lines[-1].startswith("won_amount: ")  # the definition under the table
    rows = _run("won_amount", cache, "--period", "Y")
    o = kept(org, "Opportunity.csv")
    won = o[_flag(o["IsWon"])]
    by_year = to_usd(org, won).groupby(pd.to_datetime(won["CloseDate"]).dt.year).agg(["sum", "count"])
    got = {int(r["fiscal_period"][2:6]): r for r in rows}
    for year, (amount, n) in by_year.iterrows():
        assert got[year]["won_amount"] == pytest.approx(amount, abs=0.01) and got[year]["won_amount_n"] == n


@pytest.mark.slow
def test_in_a_project_folder_and_definitions_come_from_the_profile(org, tmp_path, monkeypatch):
    import shutil

    project = tmp_path / "proj"
    assert CliRunner().invoke(main, ["init", str(project)]).exit_code == 0
    shutil.copytree(org, project / "data" / "salesforce")
    profile = project / "profile.yaml"
    profile.write_text(
        profile.read_text(encoding="utf-8").replace("kpis: {}", "kpis: {exclude_types: [Existing Business]}"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["--project", str(project), "metric", "win_rate", "--by", "type", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    o = kept(org, "Opportunity.csv")
    o = o[(fold(o["Type"]) != "existing business") & _flag(o["IsClosed"])]
    assert sum(r["win_rate_n"] for r in rows) == len(o)
    assert {r["type"].casefold() for r in rows} == {"new business"}  # the renewals' type is left out
    assert rows[0]["win_rate"] == pytest.approx(_flag(o["IsWon"]).mean())
    monkeypatch.chdir(tmp_path)  # no profile.yaml here or above: FOLDER is needed
    monkeypatch.delenv("FUNNEL_PROJECT", raising=False)
    no_folder = CliRunner().invoke(main, ["metric", "win_rate"])
    assert no_folder.exit_code == 2 and "no FOLDER given" in no_folder.output


# ---- refused before anything runs -------------------------------------------------------------
CODE = [
    '__import__("os").system("id")',
    "region == 'x'; DROP TABLE leads",
    "().__class__",
    "amount > 1) or __import__('os').system('touch {marker}') or (1",
    "lead_source == '' or exec(\"open('{marker}', 'w')\")",
]


@pytest.mark.parametrize("where", CODE)
def test_code_or_sql_in_the_filter_is_refused_and_nothing_runs(where, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    where = where.format(marker=marker)
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "no_such_org"  # refused before the folder is even looked at: no load either
    missing.mkdir()
    result = CliRunner().invoke(main, ["metric", "win_rate", str(missing), "--where", where])
    assert result.exit_code == 2
    assert result.output.startswith("error: where: ") and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not marker.exists() and not (tmp_path / "id").exists()


@pytest.mark.slow
def test_unknown_metric_and_field_are_one_line(cache):
    cases = {
        ("wins",): "unknown metric 'wins'; choices: leads, ",
        (
            "win_rate",
            "--by",
            "account.regon",
        ): "unknown field 'regon' of account (accounts); did you mean account.region?",
        ("win_rate", "--by", "regon"): "did you mean account.region or owner.region?",
        ("lead_conversion_rate", "--by", "account.industry"): "unknown relation 'account' on leads",
        ("win_rate", "--by", "owner.__class__"): "is not a field",
        ("win_rate", "--where", "regon == 'EMEA'"): "unknown column 'regon' on opportunities",
    }
    for args, message in cases.items():
        result = CliRunner().invoke(main, ["metric", args[0], str(cache), *args[1:]])
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1, result.output
        assert message in result.output, (args, result.output)


def test_help_lists_every_metric():
    from funnel_analysis.custom import METRICS

    text = CliRunner().invoke(main, ["metric", "--help"]).output
    assert all(name in text for name in METRICS)


def test_the_same_figures_on_every_engine(cache):
    # the reference (pandas) and the default engine (duckdb) give the same table, row for row
    args = ("win_rate", cache, "--by", "owner.region", "--period", "Q")
    assert _run(*args, "--engine", "pandas") == _run(*args, "--engine", "duckdb")
    args = ("pipeline", cache, "--by", "owner.role")
    assert _run(*args, "--engine", "pandas") == _run(*args, "--engine", "duckdb")
