"""The `funnel` command line: help everywhere, check's JSON, clear errors without a traceback."""

import json

import pytest
from click.testing import CliRunner

from funnel_analysis.cli import main


@pytest.mark.parametrize("args", [[], ["check"], ["sample"], ["cache"]])
def test_help_on_every_command(args):
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_check_json(tiny_export):
    result = CliRunner().invoke(main, ["check", str(tiny_export), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    opp = doc["tables"]["opportunities"]
    assert {k: opp[k] for k in ("rows_read", "rows_kept", "rows_quarantined", "rows_flagged")} == {
        "rows_read": 10,
        "rows_kept": 4,
        "rows_quarantined": 6,
        "rows_flagged": 1,
    }
    assert opp["rules"]["id_duplicate"] == 1
    for table in doc["tables"].values():
        assert set(table) >= {"rows_read", "rows_kept", "rows_quarantined", "rows_flagged", "rules"}


def test_check_text_and_quarantine_file(tiny_export, tmp_path):
    out = tmp_path / "q.csv"
    result = CliRunner().invoke(main, ["check", str(tiny_export), "--quarantine-out", str(out)])
    assert result.exit_code == 0
    assert "opportunities" in result.output and "amount_negative" in result.output
    assert len(out.read_text().splitlines()) == 1 + 8  # header + 6 opportunity + 1 history + 1 lead issues


def test_check_unusable_file_exits_2_with_one_line(tiny_export):
    (tiny_export / "Account.csv").write_text("Id;Name\n1;x\n")
    result = CliRunner().invoke(main, ["check", str(tiny_export)])
    assert result.exit_code == 2
    assert "Account.csv" in result.output and "Traceback" not in result.output


def test_cache_then_check_reads_parquet(tiny_export, tmp_path):
    cache = tmp_path / "cache"
    assert CliRunner().invoke(main, ["cache", str(tiny_export), str(cache)]).exit_code == 0
    result = CliRunner().invoke(main, ["check", str(cache), "--json"])
    assert json.loads(result.output)["tables"]["leads"]["rows_quarantined"] == 1


# ---- funnel kpis ------------------------------------------------------------------------------------
# The tiny export keeps 4 opportunities (conftest.TINY): 001 won 1000 (Web, created 01-10, closed 03-15:
# 21 + 29 + 15 = 65 days), 002 open 500 (Web), 005 open without an amount (Partner), 008 lost (Web); and
# 4 leads: L1 Web converted, L2 Web working, L3 Partner open, L4 Partner converted. The latest date in
# the data is 008's last history row, 2024-05-05.
@pytest.mark.parametrize("engine", [[], ["--engine", "pandas"], ["--engine", "duckdb"]])
def test_kpis_json_by_hand(tiny_export, engine):
    result = CliRunner().invoke(main, ["kpis", str(tiny_export), "--json", *engine])
    assert result.exit_code == 0, result.output
    k = json.loads(result.output)
    assert k["as_of"] == "2024-05-05"
    assert (k["leads"], k["leads_converted"], k["lead_conversion_rate"]) == (4, 2, 0.5)
    assert (k["opportunities"], k["opportunities_open"], k["opportunities_won"], k["opportunities_lost"]) == (
        4,
        2,
        1,
        1,
    )
    assert (k["win_rate"], k["win_rate_n"], k["avg_won_deal_size"], k["median_cycle_days"]) == (0.5, 2, 1000, 65)
    assert (k["open_pipeline_amount"], k["open_pipeline_amount_n"]) == (500, 1)
    assert isinstance(k["leads"], int) and isinstance(k["win_rate"], float)


def test_kpis_by_segment_and_where(tiny_export):
    args = ["kpis", str(tiny_export), "--json", "--by", "lead_source"]
    rows = json.loads(CliRunner().invoke(main, args).output)
    assert [(r["by"], r["segment"]) for r in rows] == [("lead_source", "Partner"), ("lead_source", "Web")]
    assert [r["opportunities"] for r in rows] == [1, 3] and [r["leads"] for r in rows] == [2, 2]
    result = CliRunner().invoke(main, ["kpis", str(tiny_export), "--json", "--where", "lead_source == 'Partner'"])
    assert result.exit_code == 0, result.output
    k = json.loads(result.output)
    # Partner: lead L3 and L4 (converted); opportunity 005 open without an amount, nothing closed
    assert (k["leads"], k["leads_converted"], k["opportunities"], k["opportunities_open"]) == (2, 1, 1, 1)
    assert k["win_rate"] is None and k["open_pipeline_amount"] is None  # unknown, not 0
    text = CliRunner().invoke(main, ["kpis", str(tiny_export), "--as-of", "2024-03-31"]).output
    assert "as_of                        2024-03-31" in text and "win_rate                     1.0000" in text


def test_kpis_bad_input_is_one_line(tiny_export):
    assert "--where" in CliRunner().invoke(main, ["kpis", "--help"]).output
    for option in (["--by", "region"], ["--where", "amount >>= 3"], ["--as-of", "not a day"]):
        result = CliRunner().invoke(main, ["kpis", str(tiny_export), *option])
        assert result.exit_code == 2 and result.output.startswith("error:"), (option, result.output)
        assert "Traceback" not in result.output


# ---- --engine on every command that reads an org ----------------------------------------------------
ORG_COMMANDS = [["check"], ["kpis"], ["metric", "win_rate"], ["routing"], ["forecast"], ["score", "train"]]
ORG_COMMANDS += [["score", "evaluate"], ["score", "predict"], ["report", "run"], ["dedup"]]


@pytest.mark.parametrize("args", ORG_COMMANDS)
def test_every_org_command_takes_an_engine(args):
    text = CliRunner().invoke(main, [*args, "--help"]).output
    assert "--engine [duckdb|spark|pandas]" in text, text


def test_spark_without_java_is_one_line(tiny_export, tmp_path):
    # a PATH with no java on it: refused before anything is loaded, one line, exit 2
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    org = str(tiny_export)
    runs = (["kpis", org], ["routing", org, "--rules", str(rules)], ["forecast", org, "--next-quarter"])
    runs += (["dedup", org, "--object", "accounts"],)
    for args in (*runs, ["report", "run", "--data-dir", org, "--out", str(tmp_path / "out")]):
        result = CliRunner().invoke(main, [*args, "--engine", "spark"], env={"PATH": str(tmp_path)})
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("error: --engine spark:") and len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output


def test_unknown_engine_is_refused(tiny_export):
    result = CliRunner().invoke(main, ["kpis", str(tiny_export), "--engine", "polars"])
    assert result.exit_code == 2 and "'polars' is not one of" in result.output
