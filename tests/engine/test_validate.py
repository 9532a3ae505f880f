"""``funnel check --engine duckdb`` (engine.validate) against the pandas check, field by field.

The pandas check is the reference; the expected counts of the hand-built exports are worked out
from their lines (in the comments), not from either check.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from funnel_analysis.cli.app import main
from funnel_analysis.crm.read import DataLoadError
from funnel_analysis.engine.validate import check_export
from tests.conftest import TINY

# A bad export written by hand:
#   Opportunity rows 0 ok; 1 blank Id (id_missing); 2 repeats row 0's Id (id_duplicate);
#   3 CloseDate 2024-13-01 (date_unparseable); 4 deleted (IsDeleted true); 5 Amount -3
#   (amount_negative); 6 no Amount (amount_missing, a warning: kept and flagged);
#   7 AccountId of a deleted account (parent_deleted); 8 15-character Id (widened, kept).
BAD = {
    "Account.csv": ("Id,Name,IsDeleted\n001000000000001AAA,Live,false\n001000000000002AAA,Gone,true\n"),
    "Opportunity.csv": (
        "Id,AccountId,Name,StageName,Amount,CloseDate,IsClosed,IsWon,CreatedDate,IsDeleted\n"
        "006000000000001AAA,001000000000001AAA,a,Prospecting,10,2024-06-30,false,false,2024-01-01T00:00:00.000+0000,false\n"
        ",001000000000001AAA,b,Prospecting,10,2024-06-30,false,false,2024-01-01T00:00:00.000+0000,false\n"
        "006000000000001AAA,001000000000001AAA,c,Prospecting,10,2024-06-30,false,false,2024-01-01T00:00:00.000+0000,false\n"
        "006000000000003AAA,001000000000001AAA,d,Prospecting,10,2024-13-01,false,false,2024-01-01T00:00:00.000+0000,false\n"
        "006000000000004AAA,001000000000001AAA,e,Prospecting,10,2024-06-30,false,false,2024-01-01T00:00:00.000+0000,true\n"
        "006000000000005AAA,001000000000001AAA,f,Prospecting,-3,2024-06-30,false,false,2024-01-01T00:00:00.000+0000,false\n"
        "006000000000006AAA,001000000000001AAA,g,Prospecting,,2024-06-30,false,false,2024-01-01T00:00:00.000+0000,false\n"
        "006000000000007AAA,001000000000002AAA,h,Prospecting,10,2024-06-30,false,false,2024-01-01T00:00:00.000+0000,false\n"
        "006000000000008,001000000000001AAA,i,Prospecting,10,2024-06-30,false,false,2024-01-01T00:00:00.000+0000,false\n"
    ),
}


def _write(folder, files):
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _check_json(folder, engine):
    got = CliRunner().invoke(main, ["check", "--json", "--engine", engine, str(folder)])
    assert got.exit_code == 0, got.output
    return json.loads(got.output)


def test_bad_export_counts_by_hand(tmp_path):
    folder = _write(tmp_path / "bad", BAD)
    opps = check_export(folder, threads=1).report.tables["opportunities"]
    assert opps["rows_read"] == 9
    assert opps["rows_deleted"] == 2  # row 4 deleted, row 7 follows its deleted account
    assert opps["rows_quarantined"] == 4  # rows 1, 2, 3, 5
    assert opps["rows_kept"] == 3  # rows 0, 6, 8
    assert opps["rows_flagged"] == 1  # row 6
    assert opps["rules"] == {
        "id_missing": 1,
        "id_duplicate": 1,
        "date_unparseable": 1,
        "amount_negative": 1,
        "amount_missing": 1,
    }
    assert opps["cleaning"]["opportunity_id:ids_widened"] == 1


@pytest.mark.parametrize("files", [BAD, TINY], ids=["bad", "tiny"])
def test_hand_built_exports_equal_pandas(tmp_path, files):
    folder = _write(tmp_path / "org", files)
    assert _check_json(folder, "duckdb") == _check_json(folder, "pandas")


def test_sample_equals_pandas(sample_org):
    folder = sample_org[0]
    duck, pandas = _check_json(folder, "duckdb"), _check_json(folder, "pandas")
    assert duck["tables"].keys() == pandas["tables"].keys()
    for table in pandas["tables"]:
        assert duck["tables"][table] == pandas["tables"][table], table
    assert duck == pandas


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"Opportunity.csv": "Id;StageName\n006A;Won\n"}, "semicolon-separated"),
        ({"Opportunity.csv": "Id,Name,Id\n006A,a,b\n"}, "repeats a column name"),
        ({"Opportunity.csv": "Name,StageName\na,Won\n"}, "required column"),
    ],
    ids=["delimiter", "repeated", "missing"],
)
def test_bad_input_one_line_exit_2_on_both(tmp_path, files, says):
    folder = _write(tmp_path / "org", files)
    for engine in ("duckdb", "pandas"):
        got = CliRunner().invoke(main, ["check", "--engine", engine, str(folder)])
        assert got.exit_code == 2, (engine, got.output)
        lines = got.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], (engine, got.output)


def test_check_export_no_known_file(tmp_path):
    folder = _write(tmp_path / "org", {"Case.csv": "Id\n500A\n"})
    with pytest.raises(DataLoadError, match="holds no file of a known object"):
        check_export(folder)
