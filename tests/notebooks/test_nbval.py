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
from tests.export_csv import fold, kept, to_usd

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


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
        assert "plt.show" not in cell.source


#: what a notebook may not contain: logic belongs in the package, where it is tested
NOT_IN_A_NOTEBOOK = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.IfExp,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.If,
    ast.For,
    ast.While,
    ast.Try,
)
#: Statements, not lines: a call the formatter spreads over eight lines is still one call.
MAX_STATEMENTS = 30
#: Subpackages of the package a notebook draws on: its report's, reporting, and one more at most.
MAX_NAMESPACES = 3
#: A tour is not a report: it shows one example of each report's namespace (getting_started).
TOURS = {"getting_started": 9}


def _code(nb) -> list[str]:
    """The sources of the code cells after the parameters cell."""
    return [c.source for c in nb.cells[2:] if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_made_of_section_calls(path):
    nb = nbformat.read(path, as_version=4)
    sources = _code(nb)
    statements = sum(len(ast.parse(source).body) for source in sources)
    assert statements <= MAX_STATEMENTS, f"{statements} statements: move logic into the package"
    namespaces = set()
    for source in sources:
        tree = ast.parse(source)
        logic = sorted({type(n).__name__ for n in ast.walk(tree) if isinstance(n, NOT_IN_A_NOTEBOOK)})
        assert logic == [], f"{logic} in a notebook cell: put it in the package\n{source}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                raise AssertionError(f"import {', '.join(a.name for a in node.names)}: import names from the package")
            if isinstance(node, ast.ImportFrom):
                assert node.module.startswith("funnel_analysis."), f"from {node.module} import ...: only the package"
                # a subpackage and its plots are one namespace (velocity, velocity.plots)
                namespaces.add(".".join(node.module.split(".")[:2]))
    assert 1 <= len(namespaces) <= TOURS.get(Path(path).stem, MAX_NAMESPACES), sorted(namespaces)
    assert any("open_report(" in source for source in sources)  # one preamble, the package's


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.stem != "data_quality"], ids=[i for i in IDS if i != "data_quality"]
)
def test_notebook_scopes_the_org_once_by_where(path):
    """An analysis notebook has a ``where`` filter, gives it to ``open_report`` (``CrmData.where``: every
    table scoped once, children following their parents), and no section filters on its own."""
    nb = nbformat.read(path, as_version=4)
    assert "where" in pm.inspect_notebook(str(path))
    opened = [
        n
        for source in _code(nb)
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "open_report"
    ]
    assert len(opened) == 1, "one open_report per notebook"
    where = {k.arg: k.value for k in opened[0].keywords}.get("where")
    assert isinstance(where, ast.Name) and where.id == "where", f"{ast.unparse(opened[0])} ignores the where parameter"
    for source in _code(nb)[1:]:  # the sections, after open_report
        calls = [
            n
            for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Name) and n.args[0].id == "crm"
        ]
        for call in calls:  # a second filter per section would read fields the scoped org already applied
            assert "where" not in {k.arg for k in call.keywords}, f"{ast.unparse(call)} filters again"


def test_the_form_checks_reject_logic(tmp_path):
    """The checks above fail on a notebook with logic (they are not vacuous)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# x"),
        nbformat.v4.new_code_cell('as_of: str = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import pandas as pd\nx = [i for i in range(3)] if True else None"),
    ]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(AssertionError, match="IfExp|ListComp|import"):
        test_notebook_is_made_of_section_calls(path)


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
    gone = pd.read_csv(f"{small_sample}_truth/deleted_records.csv")
    for table, files in {
        "leads": ["Lead.csv"],
        "opportunities": ["Opportunity.csv"],
        "opportunity_history": ["OpportunityHistory.csv"],
        "accounts": ["Account.csv"],
        "activities": ["Task.csv", "Event.csv"],
    }.items():
        assert tables[table]["rows_read"] == sum(len(pd.read_csv(small_sample / f, dtype=str)) for f in files)
        assert tables[table]["rows_quarantined"] == sum(quarantined.get(f, 0) for f in files), table
        # deleted, cascaded and merged-away rows by the truth (computed from the simulation)
        deleted = gone[gone["file"].isin(files)]
        assert tables[table]["rows_merged"] == int((deleted["kind"] == "merged").sum()), table
        assert tables[table]["rows_deleted"] == int((deleted["kind"] != "merged").sum()), table
        assert tables[table]["rows_kept"] == (
            tables[table]["rows_read"]
            - tables[table]["rows_quarantined"]
            - tables[table]["rows_deleted"]
            - tables[table]["rows_merged"]
        )


@pytest.mark.slow
def test_funnel_figures_match_an_independent_computation(executed, small_sample):
    rec = read_records(executed["funnel"][0])

    def by_source(records) -> pd.DataFrame:  # the notebook's segment is lead_source; no source: ""
        d = pd.DataFrame(records)
        return d.assign(source=d["lead_source"].fillna("").replace("(no lead_source)", "").str.casefold())

    k = by_source(rec["kpis"]).set_index("source")  # one row per lead source
    as_of = pd.Timestamp(k["as_of"].iloc[0])
    # leads, per source
    leads = kept(small_sample, "Lead.csv")
    converted = fold(leads["IsConverted"]).isin(["true", "1"])
    lead_counts = pd.DataFrame({"source": fold(leads["LeadSource"]), "n": 1, "conv": converted}).groupby("source")
    lead_counts = lead_counts.sum().reindex(k.index, fill_value=0)
    assert k["leads"].tolist() == lead_counts["n"].tolist()
    assert k["leads_converted"].tolist() == lead_counts["conv"].tolist()
    has_leads = lead_counts["n"] > 0
    assert k.loc[has_leads, "lead_conversion_rate"].to_numpy() == pytest.approx(
        (lead_counts["conv"] / lead_counts["n"])[has_leads].to_numpy()
    )
    # the lead funnel, summed over the sources: every lead by its status
    funnel = pd.DataFrame(rec["lead_funnel"]).groupby("step")["count"].sum()
    statuses = fold(leads["Status"]).value_counts().to_dict()
    if (small_sample / "LeadStatus.csv").exists():  # every status the org lists has a step, 0 when unused
        listed = fold(pd.read_csv(small_sample / "LeadStatus.csv", dtype=str)["MasterLabel"])
        statuses = {s: 0 for s in listed} | statuses
    assert {s.casefold(): n for s, n in funnel.drop("Converted to opportunity").items()} == statuses
    assert funnel["Converted to opportunity"] == converted.sum()
    # lead conversion by source within the window: leads old enough, converted within window_days
    window = 90
    created = pd.to_datetime(leads["CreatedDate"], utc=True, format="ISO8601").dt.tz_localize(None).dt.normalize()
    span = (pd.to_datetime(leads["ConvertedDate"].replace("", None)) - created).dt.days
    counted = (created <= as_of - pd.Timedelta(days=window)) & ~(converted & span.isna())
    windowed = (
        pd.DataFrame(
            {"source": fold(leads["LeadSource"]), "n": counted, "conv": counted & converted & (span <= window)}
        )
        .groupby("source")
        .sum()
    )
    got = by_source(rec["lead_conversion"]).set_index("source")
    assert got["leads"].to_dict() == windowed["n"].to_dict()
    assert got["converted"].to_dict() == windowed["conv"].to_dict()
    # opportunities: stage flags from OpportunityStage.csv, open pipeline, win rate, per source
    opps = kept(small_sample, "Opportunity.csv")
    stages = pd.read_csv(small_sample / "OpportunityStage.csv", dtype=str).set_index("MasterLabel")
    stages.index = fold(stages.index.to_series())
    closed = fold(opps["StageName"]).map(stages["IsClosed"].str.lower() == "true")
    won = fold(opps["StageName"]).map(stages["IsWon"].str.lower() == "true")
    amount = to_usd(small_sample, opps)
    source = fold(opps["LeadSource"])
    o = pd.DataFrame({"source": source, "n": 1, "open": ~closed, "closed": closed, "won": won, "lost": closed & ~won})
    o = o.assign(pipe=amount.where(~closed)).groupby("source").sum().reindex(k.index, fill_value=0)
    assert k["opportunities"].tolist() == o["n"].tolist() and k["opportunities_open"].tolist() == o["open"].tolist()
    assert k["opportunities_won"].tolist() == o["won"].tolist()
    assert k["opportunities_lost"].tolist() == o["lost"].tolist()
    decided = o["closed"] > 0
    assert k.loc[decided, "win_rate"].to_numpy() == pytest.approx((o["won"] / o["closed"])[decided].to_numpy())
    assert k["open_pipeline_amount"].fillna(0).to_numpy() == pytest.approx(o["pipe"].to_numpy())
    # win rates per source and calendar quarter of the close date (the default fiscal year starts in January)
    quarter = pd.PeriodIndex(pd.to_datetime(opps["CloseDate"]), freq="Q")
    label = pd.Series([f"FY{q.year}-Q{q.quarter}" for q in quarter], index=opps.index)
    expected = pd.DataFrame({"source": source, "q": label, "closed": closed, "won": won})[closed]
    expected = expected.groupby(["source", "q"]).sum()
    got = by_source(rec["win_rates"]).set_index(["source", "fiscal_period"])
    assert got["closed"].to_dict() == expected["closed"].to_dict()
    assert got["won"].to_dict() == expected["won"].to_dict()
    # the pipeline on the day adds up to the open deals, per source and over all of them
    pipeline = by_source(rec["pipeline"])
    assert pipeline["count"].sum() == (~closed).sum()
    assert pipeline["amount"].sum() == pytest.approx(amount[~closed].sum())
    per_source = pipeline.groupby("source")["count"].sum()
    assert per_source.to_dict() == o.loc[per_source.index, "open"].to_dict()


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
