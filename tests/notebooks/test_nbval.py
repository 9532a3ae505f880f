"""The report notebooks: thin and well formed, they run on a small generated org, and the figures
they show agree with an independent computation from the export's CSV files.

Each notebook is executed once through papermill with the small org's ``data_dir`` (nbval cannot
inject parameters); the values a notebook shows are read back from the outputs of
:func:`funnel_analysis.reporting.notebook.record`. ``test_nbval_lax`` then runs nbval itself, in a
subprocess, over copies of the notebooks whose parameters papermill injected without executing
them: the same check ``pytest --nbval-lax notebooks/`` makes on ``data/sample``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

from funnel_analysis.reporting import read_records

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _fold(s: pd.Series) -> pd.Series:
    """A picklist as the cleaner folds it: trimmed, one space, case-insensitive."""
    return s.str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()


def _kept(org: Path, name: str) -> pd.DataFrame:
    """An export file's rows without those the truth says must be quarantined (plain pandas)."""
    truth = pd.read_csv(f"{org}_truth/dirty_rows.csv")
    df = pd.read_csv(org / name, dtype=str, keep_default_na=False)
    return df.drop(index=truth.loc[(truth["file"] == name) & (truth["expected"] == "quarantine"), "row"].unique())


# ---- form: no kernel needed ---------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_thin_and_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and params[0] is nb.cells[1]
    names = {}
    for stmt in ast.parse(params[0].source).body:  # typed plain literals, nothing computed
        assert isinstance(stmt, ast.AnnAssign) and isinstance(stmt.value, ast.Constant), ast.unparse(stmt)
        names[stmt.target.id] = stmt.value.value
    assert {"data_dir", "mapping", "as_of"} <= set(names) and names["as_of"] == ""
    assert set(pm.inspect_notebook(str(path))) == set(names)  # papermill sees every one of them
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        assert cell.outputs == [] and cell.execution_count is None
        tree = ast.parse(cell.source)
        assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert "plt.show" not in cell.source


# ---- running --------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", IDS)
def test_notebook_runs_without_error(executed, name):
    path, error = executed[name]
    assert error is None, error
    nb = nbformat.read(path, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    warnings = [
        o.text
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and o.name == "stderr"
    ]
    assert errors == [] and warnings == []
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.slow
def test_data_quality_counts_match_the_files_and_the_truth(executed, small_sample):
    tables = {r["table"]: r for r in read_records(executed["data_quality"][0])["tables"]}
    truth = pd.read_csv(f"{small_sample}_truth/dirty_rows.csv")
    quarantined = truth[truth["expected"] == "quarantine"].groupby("file")["row"].nunique()
    for table, files in {
        "leads": ["Lead.csv"],
        "opportunities": ["Opportunity.csv"],
        "opportunity_history": ["OpportunityHistory.csv"],
        "accounts": ["Account.csv"],
        "activities": ["Task.csv", "Event.csv"],
    }.items():
        assert tables[table]["rows_read"] == sum(len(pd.read_csv(small_sample / f, dtype=str)) for f in files)
        assert tables[table]["rows_quarantined"] == sum(quarantined.get(f, 0) for f in files), table
        assert tables[table]["rows_kept"] == tables[table]["rows_read"] - tables[table]["rows_quarantined"]


@pytest.mark.slow
def test_funnel_figures_match_an_independent_computation(executed, small_sample):
    rec = read_records(executed["funnel"][0])
    k = rec["kpis"]
    as_of = pd.Timestamp(k["as_of"])
    # leads
    leads = _kept(small_sample, "Lead.csv")
    converted = _fold(leads["IsConverted"]).isin(["true", "1"])
    assert (k["leads"], k["leads_converted"]) == (len(leads), converted.sum())
    assert k["lead_conversion_rate"] == pytest.approx(converted.mean())
    funnel = pd.DataFrame(rec["lead_funnel"]).set_index("step")["count"]
    statuses = _fold(leads["Status"]).value_counts()
    assert {s.casefold(): n for s, n in funnel.drop("Converted to opportunity").items()} == statuses.to_dict()
    # lead conversion by source within the window: leads old enough, converted within window_days
    window = 90
    created = pd.to_datetime(leads["CreatedDate"], utc=True, format="ISO8601").dt.tz_localize(None).dt.normalize()
    span = (pd.to_datetime(leads["ConvertedDate"].replace("", None)) - created).dt.days
    counted = (created <= as_of - pd.Timedelta(days=window)) & ~(converted & span.isna())
    by_source = (
        pd.DataFrame(
            {"source": _fold(leads["LeadSource"]), "n": counted, "conv": counted & converted & (span <= window)}
        )
        .groupby("source")
        .sum()
    )
    got = pd.DataFrame(rec["lead_conversion"]).assign(source=lambda d: d["lead_source"].str.casefold())
    got = got.set_index("source")
    assert got["leads"].to_dict() == by_source["n"].to_dict()
    assert got["converted"].to_dict() == by_source["conv"].to_dict()
    # opportunities: stage flags from OpportunityStage.csv, open pipeline, win rate
    opps = _kept(small_sample, "Opportunity.csv")
    stages = pd.read_csv(small_sample / "OpportunityStage.csv", dtype=str).set_index("MasterLabel")
    stages.index = _fold(stages.index.to_series())
    closed = _fold(opps["StageName"]).map(stages["IsClosed"].str.lower() == "true")
    won = _fold(opps["StageName"]).map(stages["IsWon"].str.lower() == "true")
    assert (k["opportunities"], k["opportunities_open"]) == (len(opps), (~closed).sum())
    assert (k["opportunities_won"], k["opportunities_lost"]) == (won.sum(), (closed & ~won).sum())
    assert k["win_rate"] == pytest.approx(won.sum() / closed.sum())
    amount = pd.to_numeric(opps["Amount"].replace("", None))
    assert k["open_pipeline_amount"] == pytest.approx(amount[~closed].sum())
    # win rates per calendar quarter of the close date (the default fiscal year starts in January)
    quarter = pd.PeriodIndex(pd.to_datetime(opps["CloseDate"]), freq="Q")
    label = pd.Series([f"FY{q.year}-Q{q.quarter}" for q in quarter], index=opps.index)
    expected = pd.DataFrame({"closed": closed, "won": won, "q": label})[closed].groupby("q").sum()
    got = pd.DataFrame(rec["win_rates"]).set_index("fiscal_period")
    assert got["closed"].to_dict() == expected["closed"].to_dict()
    assert got["won"].to_dict() == expected["won"].to_dict()
    # the pipeline on the day adds up to the open deals
    pipeline = pd.DataFrame(rec["pipeline"])
    assert pipeline["count"].sum() == (~closed).sum()
    assert pipeline["amount"].sum() == pytest.approx(amount[~closed].sum())


# ---- nbval itself -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_nbval_lax(small_sample, tmp_path):
    for nb in NOTEBOOKS:  # parameters injected, nothing executed: nbval runs them
        pm.execute_notebook(
            str(nb),
            str(tmp_path / nb.name),
            parameters={"data_dir": str(small_sample)},
            prepare_only=True,
            progress_bar=False,
        )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # keep the repository's pytest options out
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
