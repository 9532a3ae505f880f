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


# Values of each kind that the check's fast shapes read (a Salesforce date-time, an ISO date, a plain
# number, true/false, an 18-character ID, text with no edge whitespace) and the ones beside them
# that must fall through to the reference rules: edges of whitespace, impossible days, other shapes.
TRICKY = {
    "datetime": [
        "2024-03-15T09:30:00.000+0000",
        " 2024-03-15T09:30:00.000+0000",
        "2024-03-15T09:30:00.000+0000\t",
        "2024-02-29T23:59:59.999+0000",
        "2023-02-29T10:00:00.000+0000",
        "2024-13-01T00:00:00.000+0000",
        "2024-03-15T23:59:60.000+0000",
        "0000-01-01T00:00:00.000+0000",
        "9999-12-31T23:59:59.999+0000",
        "2024-03-15T09:30:00.000-0800",
        "2024-03-15T09:30:00+05:30",
        "2024-03-15T09:30:00Z",
        "2024-03-15 09:30:00",
        "2024-03-15",
        "03/15/2024 09:30 AM",
        "03/15/24",
        "15.03.2024",
        "2024/03/15",
        "2024-03-15T9:30:00.000+0000",
        "2024-03-15T09:30:00.000+0000x",
        "\uff12\uff10\uff12\uff14-03-15T09:30:00.000+0000",
        "garbage",
        "",
        "   ",
        None,
    ],
    "date": ["2024-03-15", " 2024-03-15 ", "2024-02-30", "2024-03-15T09:30:00.000+0000", "03/15/2024", "\x0b2024-03-15"]
    + ["x", "", None],
    "bool": ["true", "false", "TRUE", "False", " true", "true\n", "1", "0", "yes", "n", "1.0", "t", "maybe", "", None],
    "float": ["1", "-1", "0", "-0", "10.50", "00012", "1" * 30, "1,234.50", "USD 1,234", "$5", "\u20ac3.5", "1e3"]
    + ["inf", "-Infinity", "nan", ".", "1.", ".5", " 12 ", "12,5k", "n/a", "-", "", None],
    "id": ["006000000000001AAA", "006000000000008", " 006000000000008 ", "00600000000000", "006-00000000008"]
    + ["abcdefghijklmno", "x", "", None],
    "str": ["a", " a ", "\ta\n", "\x0b\x0c", "\u00e9", " \u00e9", "\r\n", "", " ", None],
}


@pytest.mark.parametrize("kind", list(TRICKY))
def test_fast_typing_equals_the_reference_rules_and_pandas(kind):
    """The check's typing (trim skipped at clean edges, common shapes cast once) = the rules written once = pandas."""
    import duckdb
    import pandas as pd

    from funnel_analysis.crm.parse import parse_column
    from funnel_analysis.engine.validate import _edge_trim, _typed, _typed_fast

    values = TRICKY[kind]
    ref_v, ref_bad = _typed("x", kind)
    fast_v, fast_bad = _typed_fast("t", kind, "v")
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE raw AS SELECT unnest($1::VARCHAR[]) AS x, generate_subscripts($1::VARCHAR[], 1) AS i", [values]
    )
    got = con.execute(
        f"SELECT {ref_v} AS ref_v, {ref_bad or 'FALSE'} AS ref_bad, v AS fast_v, {fast_bad or 'FALSE'} AS fast_bad "
        f"FROM (SELECT i, x, t, {fast_v} AS v FROM (SELECT i, x, {_edge_trim('x')} AS t FROM raw)) ORDER BY i"
    ).df()
    pandas = parse_column(pd.Series(values, dtype=object), kind)
    want_v = pandas.values
    if kind == "datetime":
        want_v = want_v.dt.tz_convert(None)
    for j, value in enumerate(values):
        row = got.iloc[j]
        assert (pd.isna(row.ref_v) and pd.isna(row.fast_v)) or row.ref_v == row.fast_v, (value, row)
        assert bool(row.ref_bad) == bool(row.fast_bad), (value, row)
        want = want_v.iloc[j]
        assert (pd.isna(want) and pd.isna(row.fast_v)) or want == row.fast_v, (value, want, row)
        if ref_bad is not None:
            assert bool(row.fast_bad) == bool(pandas.invalid.iloc[j]), (value, row)
