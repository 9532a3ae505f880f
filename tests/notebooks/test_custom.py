"""The custom report notebook, run through papermill with the four parameters, against plain pandas.

One run on the small generated org (``small_sample``): the win rate by ``owner.region`` for the deals
of 5,000 or more, per fiscal year. The expected table comes from the export's CSV files without the
package: the rows the truth says are quarantined, deleted or merged away dropped
(:func:`tests.export_csv.kept`), picklists folded, money divided by the org's rates, the owner joined
on the first 15 characters of its ID (a queue is no user: no region), a deal in the calendar year of
its close date (the fiscal year starts in January).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import fold, kept, to_usd

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "custom.ipynb"
PARAMETERS = {"metric": "win_rate", "by": "owner.region", "where": "amount >= 5000", "period": "Y"}


@pytest.fixture(scope="module")
def recorded(small_sample, tmp_path_factory):
    import papermill as pm

    out = tmp_path_factory.mktemp("custom") / "custom.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"data_dir": str(small_sample), **PARAMETERS},
        kernel_name="python3",
        cwd=str(NOTEBOOK.parent),
        progress_bar=False,
    )
    return out, read_records(out)


def test_the_recorded_table_equals_plain_pandas(recorded, small_sample):
    _, rec = recorded
    got = pd.DataFrame(rec["metric"])
    o = kept(small_sample, "Opportunity.csv")
    users = kept(small_sample, "User.csv")
    region = dict(zip(users["Id"].str[:15], fold(users["Region__c"]).where(users["Region__c"] != "")))
    o = o.assign(usd=to_usd(small_sample, o), region=o["OwnerId"].str[:15].map(region))
    o = o[(o["usd"] >= 5000) & fold(o["IsClosed"]).isin(["true", "1"])]
    o = o.assign(won=fold(o["IsWon"]).isin(["true", "1"]), year=pd.to_datetime(o["CloseDate"]).dt.year)
    expected = o.groupby([o["region"].fillna("(no owner.region)"), "year"])["won"].agg(["sum", "count"])
    got = got.assign(
        region=got["owner.region"].where(
            got["owner.region"].str.startswith("(no "), got["owner.region"].str.casefold()
        ),
        year=got["fiscal_period"].str[2:6].astype(int),
    )
    played = got[got["win_rate_n"] > 0].set_index(["region", "year"]).sort_index()
    assert list(played.index) == list(expected.index)
    assert played["win_rate_n"].tolist() == expected["count"].tolist()
    assert played["win_rate"].tolist() == pytest.approx((expected["sum"] / expected["count"]).tolist())
    assert (played["win_rate_ci_low"] <= played["win_rate"]).all() and (
        played["win_rate"] <= played["win_rate_ci_high"]
    ).all()
    assert got.loc[got["win_rate_n"] == 0, "win_rate"].isna().all()  # no closed deal: no rate, never 0
    assert expected["count"].sum() > 50


def test_the_notebook_draws_one_chart_and_writes_the_definition(recorded):
    import nbformat

    path, rec = recorded
    nb = nbformat.read(path, as_version=4)
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1
    text = "".join(o["data"].get("text/plain", "") for c in nb.cells for o in c.get("outputs", []) if "data" in o)
    assert "win_rate: won / closed (won + lost) opportunities" in text and "fiscal year" in text
