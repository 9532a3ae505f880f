"""One report per team: the funnel report run with ``where`` records figures equal to plain pandas on
that subset of the CSVs, lead and opportunity figures alike; a filter with code in it runs nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import papermill as pm
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import fold, kept, to_usd

ROOT = Path(__file__).resolve().parents[2]
TEAM = "owner.region in ('EMEA')"


@pytest.mark.slow
def test_a_team_run_of_the_funnel_equals_plain_pandas_on_its_subset(small_sample, tmp_path):
    out = tmp_path / "funnel.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "funnel.ipynb"),
        str(out),
        parameters={"data_dir": str(small_sample), "where": TEAM},
        cwd=str(ROOT / "notebooks"),
        progress_bar=False,
    )
    k = pd.DataFrame(read_records(out)["kpis"])  # one row per lead source, of the team only
    users = kept(small_sample, "User.csv")
    # IDs compared on their 15 case-sensitive characters: a dirty export has some in the short form
    team = {i[:15] for i in users.loc[fold(users["Region__c"]) == "emea", "Id"]}
    leads = kept(small_sample, "Lead.csv")
    mine = leads[leads["OwnerId"].str[:15].isin(team)]
    assert 0 < k["leads"].sum() == len(mine) < len(leads)
    assert k["leads_converted"].sum() == fold(mine["IsConverted"]).isin(["true", "1"]).sum()
    opps = kept(small_sample, "Opportunity.csv")
    opps = opps[opps["OwnerId"].str[:15].isin(team)]
    stages = pd.read_csv(small_sample / "OpportunityStage.csv", dtype=str).set_index("MasterLabel")
    stages.index = fold(stages.index.to_series())
    closed = fold(opps["StageName"]).map(stages["IsClosed"].str.lower() == "true")
    won = fold(opps["StageName"]).map(stages["IsWon"].str.lower() == "true")
    assert k["opportunities"].sum() == len(opps) > 0
    assert k["opportunities_won"].sum() == won.sum() and k["opportunities_open"].sum() == (~closed).sum()
    assert k["open_pipeline_amount"].fillna(0).sum() == pytest.approx(to_usd(small_sample, opps)[~closed].sum())


@pytest.mark.parametrize(
    "where",
    [
        '__import__("os").system("touch PWNED")',
        "region == 'x'; DROP TABLE leads",
        "().__class__",
        "owner.region == 'x' or __import__('os').system('touch PWNED') == 0",
    ],
)
def test_a_filter_with_code_is_refused_before_anything_runs(where, small_sample, tmp_path, monkeypatch):
    """Refused when the run is planned, before the org is loaded or a kernel starts: the file the code would
    create never appears."""
    from funnel_analysis.reporting import run_reports

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "r.yaml"
    config.write_text(
        f"notebooks: {ROOT / 'notebooks'}\nreports:\n  - {{name: funnel, notebook: funnel.ipynb,"
        f" parameters: {{data_dir: {small_sample}}}}}\n"
    )
    from funnel_analysis.reporting.config import ReportConfigError

    with pytest.raises(ReportConfigError, match=r"report 'funnel': parameter 'where': "):
        run_reports(config, overrides={"where": where}, out_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written
    assert not (tmp_path / "PWNED").exists() and not (ROOT / "notebooks" / "PWNED").exists()
