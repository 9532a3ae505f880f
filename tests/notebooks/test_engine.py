"""Report notebooks on an engine (#19): the funnel, velocity and sources reports run with
``FUNNEL_ENGINE=duckdb`` (what ``funnel report run --engine duckdb`` sets for its kernels) record the
same values as on pandas, and say which engine they ran on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import papermill as pm
import pytest

from funnel_analysis.reporting import read_records

ROOT = Path(__file__).resolve().parents[2]


def _frames(records: dict) -> dict[str, pd.DataFrame]:
    return {k: pd.DataFrame(v) for k, v in records.items() if isinstance(v, list)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["funnel", "velocity", "sources"])
def test_a_report_on_duckdb_records_the_pandas_values(name, executed, small_sample, tmp_path, monkeypatch):
    reference, error = executed[name]
    assert error is None, error
    monkeypatch.setenv("FUNNEL_ENGINE", "duckdb")
    out = tmp_path / f"{name}.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / f"{name}.ipynb"),
        str(out),
        parameters={"data_dir": str(small_sample)},
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    assert "engine: duckdb" in out.read_text(encoding="utf-8")
    want, got = _frames(read_records(reference)), _frames(read_records(out))
    assert set(got) == set(want) and len(want) >= 3
    for key in want:  # counts exact; money and rates to far below a cent or a basis point
        pd.testing.assert_frame_equal(got[key], want[key], check_exact=False, rtol=1e-9, obj=f"{name}: {key}")


def test_an_unknown_engine_is_one_line(small_sample, monkeypatch):
    from funnel_analysis.reporting.notebook import open_report

    with pytest.raises(ValueError, match="engine must be one of duckdb, spark"):
        open_report(small_sample, engine="polars")
