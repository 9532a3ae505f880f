"""Scores written for spreadsheets: formulas neutralised in CSV and Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.scoring import neutralise_formulas, write_scores

RISKY = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "Acme", None]


def test_formulas_get_a_quote_and_numbers_do_not():
    df = pd.DataFrame({"company": RISKY, "score": [-3, 80, 1, 2, 3, 4, 5, 6]})
    out = neutralise_formulas(df)
    assert out["company"].tolist()[:7] == ["'" + v for v in RISKY[:6]] + ["Acme"]
    assert pd.isna(out["company"].iloc[7])
    assert out["score"].tolist() == df["score"].tolist()
    assert df["company"].iloc[0].startswith("=")  # input unchanged
    with pytest.raises(TypeError):
        neutralise_formulas(["=1"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_written_files_hold_no_live_formula(tmp_path, suffix):
    df = pd.DataFrame({"lead_id": ["a", "b"], "reason_1_value": ["=cmd|' /C calc'!A0", "Web"], "score": [10, 20]})
    path = write_scores(df, tmp_path / f"scores{suffix}")
    back = pd.read_csv(path, dtype=str) if suffix == ".csv" else pd.read_parquet(path)
    assert back["reason_1_value"].tolist() == ["'=cmd|' /C calc'!A0", "Web"]
    if suffix == ".csv":
        assert not any(line.split(",")[1].startswith("=") for line in path.read_text().splitlines()[1:])


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="expected .csv or .parquet"):
        write_scores(pd.DataFrame({"a": [1]}), tmp_path / "scores.xlsx")
