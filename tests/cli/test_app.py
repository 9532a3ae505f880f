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
