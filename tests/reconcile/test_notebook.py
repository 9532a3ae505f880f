"""notebooks/reconciliation.ipynb through papermill on the small generated org, with figures written by hand.

The figures file is made from the org's CSV files with plain pandas (tests/reconcile/sample_figures.py);
the values the notebook records are compared with the same independent computation.
"""

from pathlib import Path

import pandas as pd
import papermill as pm
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import kept
from tests.reconcile.sample_figures import by_quarter, closed_deals, user_figures

pytestmark = pytest.mark.slow
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "reconciliation.ipynb"


@pytest.fixture(scope="module")
def run(small_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("reconciliation")
    won = int(closed_deals(small_sample)["won"].sum())
    latest = by_quarter(small_sample).index.max()
    figures = user_figures(small_sample, unexplained=("opportunities_won", latest, str(10 * won)))
    figures.to_csv(out / "figures.csv", index=False)
    pm.execute_notebook(
        str(NOTEBOOK),
        str(out / "executed.ipynb"),
        parameters={"data_dir": str(small_sample), "salesforce_figures_file": str(out / "figures.csv")},
        kernel_name="python3",
        cwd=str(NOTEBOOK.parent),
        progress_bar=False,
    )
    return read_records(out / "executed.ipynb"), figures


def test_the_notebook_reconciles_the_written_figures(run, small_sample):
    rec, figures = run
    r = pd.DataFrame(rec["reconciliation"])
    assert r[["figure", "period"]].to_dict("records") == figures[["figure", "period"]].to_dict("records")
    t = by_quarter(small_sample)
    assert r.loc[0, "product"] == pytest.approx(t.at[r.loc[0, "period"], "by_count"])
    assert r["status"].tolist()[0] == "matches" and r["status"].tolist()[3] == "unexplained"
    # the win rate by amount and new business only: explained, unless by count they round alike
    for i, (alt, text) in enumerate([("by_amount", "by amount"), ("won_amount_new_business", "Business")], start=1):
        column = "by_count" if alt == "by_amount" else "won_amount"
        same = abs(t.at[r.loc[i, "period"], alt] - t.at[r.loc[i, "period"], column]) <= max(
            0.005, 0.005 * t.at[r.loc[i, "period"], column]
        )
        assert r.loc[i, "status"] == ("matches" if same else "explained")
        if not same:  # the definition explains it (first, or beside a coincidence such as a fiscal-year shift)
            assert text in r.loc[i, "explained_by"] or text in (r.loc[i, "also_explained_by"] or "")


def test_the_definitions_and_the_effects_match_plain_pandas(run, small_sample):
    rec, _ = run
    d = pd.DataFrame(rec["definitions"]).set_index("figure")
    closed = closed_deals(small_sample)
    assert d.loc["win_rate", "value"] == pytest.approx(closed["won"].mean())
    assert d.loc["opportunities", "value"] == len(kept(small_sample, "Opportunity.csv"))
    assert d.loc["win_rate", "definition"].startswith("won / closed (won + lost) opportunities, by count")
    e = pd.DataFrame(rec["definition_effects"])
    configured = e[e["definition"] == "configured"].dropna(subset=["value"]).set_index("fiscal_period")["value"]
    assert configured.to_dict() == pytest.approx(by_quarter(small_sample)["by_count"].to_dict())
