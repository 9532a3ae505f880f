"""``funnel forecast``: the file mode writes the documented columns; bad input is one line and exit 2."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from funnel_analysis.cli import main


def _series(n=30, sid="a"):
    t = np.arange(n)
    return pd.DataFrame(
        {
            "series_id": sid,
            "ds": pd.date_range("2022-01-31", periods=n, freq="ME").strftime("%Y-%m-%d"),
            "y": 50 + 2.0 * t + 5 * np.sin(t),
        }
    )


def test_series_file_to_csv_and_parquet(tmp_path):
    src = tmp_path / "in.csv"
    pd.concat([_series(sid="a"), _series(sid="b")]).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(
        main,
        [
            "forecast",
            "--series",
            str(src),
            "--horizon",
            "3",
            "--period",
            "M",
            "--out",
            str(out),
            "--methods",
            "naive,snaive,theta",
            "--jobs",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, parse_dates=["ds"])
    assert list(got.columns) == [
        "series_id",
        "ds",
        "yhat",
        "yhat_ci_low_80",
        "yhat_ci_high_80",
        "yhat_ci_low_95",
        "yhat_ci_high_95",
        "method",
    ]
    assert got.groupby("series_id").size().to_dict() == {"a": 3, "b": 3}
    assert got["ds"].drop_duplicates().dt.strftime("%Y-%m-%d").tolist() == ["2024-07-31", "2024-08-31", "2024-09-30"]
    assert (got["yhat_ci_low_95"] <= got["yhat_ci_low_80"]).all()
    assert (got["yhat_ci_low_80"] <= got["yhat_ci_high_80"]).all()
    pq = tmp_path / "in.parquet"
    _series().assign(ds=lambda d: pd.to_datetime(d["ds"])).to_parquet(pq)
    res = CliRunner().invoke(
        main,
        [
            "forecast",
            "--series",
            str(pq),
            "--horizon",
            "2",
            "--out",
            str(tmp_path / "o.parquet"),
            "--methods",
            "naive",
            "--jobs",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 2  # period inferred: monthly


def test_bad_series_is_one_line_and_exit_2(tmp_path):
    src = tmp_path / "in.csv"
    bad = _series(sid="north")
    bad = bad.drop(index=5)  # a missing month
    bad.to_csv(src, index=False)
    res = CliRunner().invoke(
        main,
        [
            "forecast",
            "--series",
            str(src),
            "--horizon",
            "3",
            "--freq",  # the former name of --period
            "M",
            "--out",
            str(tmp_path / "o.csv"),
            "--jobs",
            "1",
        ],
    )
    assert res.exit_code == 2
    assert res.output.startswith("error: series 'north': column 'ds'") and "rule: gap" in res.output
    assert "Traceback" not in res.output and res.output.count("\n") == 1


def test_missing_arguments_and_wrong_file_type(tmp_path):
    res = CliRunner().invoke(main, ["forecast", "--horizon", "3"])
    assert res.exit_code == 2 and res.output.startswith("error: --series")
    txt = tmp_path / "in.json"
    txt.write_text("{}")
    res = CliRunner().invoke(
        main, ["forecast", "--series", str(txt), "--horizon", "3", "--out", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 2 and "expected a .csv or .parquet file" in res.output


def test_org_next_quarter_json(small_sample):
    res = CliRunner().invoke(main, ["forecast", str(small_sample), "--next-quarter", "--as-of", "2024-08-15", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["as_of"] == "2024-08-15"
    assert [q["fiscal_period"] for q in doc["quarters"]] == ["FY2024-Q3", "FY2024-Q4"]
    for q in doc["quarters"]:
        assert q["forecast_ci_low_80"] <= q["forecast"] <= q["forecast_ci_high_80"]
        assert abs(q["forecast"] - (q["won_to_date"] + q["pipeline_expected"] + q["new_deals_expected"])) < 1e-6


def test_org_next_quarter_where_and_text(small_sample):
    from funnel_analysis import load_org

    crm = load_org(small_sample)
    owner = crm.opportunities["owner_id"].value_counts().index[0]
    args = ["forecast", str(small_sample), "--next-quarter", "--as-of", "2024-08-15"]
    everyone = json.loads(CliRunner().invoke(main, [*args, "--json"]).output)
    res = CliRunner().invoke(main, [*args, "--json", "--where", f"owner_id == '{owner}'"])
    assert res.exit_code == 0, res.output
    mine = json.loads(res.output)
    assert [q["open_deals"] for q in mine["quarters"]] < [q["open_deals"] for q in everyone["quarters"]]
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0 and text.output.startswith("as of 2024-08-15\nFY2024-Q3: ")
    bad = CliRunner().invoke(main, [*args, "--where", "owner_id =="])
    assert bad.exit_code == 2 and bad.output.startswith("error: ") and "Traceback" not in bad.output


def test_org_mode_errors(small_sample):
    res = CliRunner().invoke(main, ["forecast", str(small_sample)])
    assert res.exit_code == 2 and res.output.startswith("error: give either")
    res = CliRunner().invoke(main, ["forecast", str(small_sample), "--next-quarter", "--series", __file__])
    assert res.exit_code == 2 and res.output.startswith("error: give either")
