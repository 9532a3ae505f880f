"""What the sources notebook shows, checked against plain pandas on the export's CSV files.

The notebook runs once on the small generated org (the ``executed`` fixture); its report date is
the latest date in the data, which the funnel notebook records as ``kpis.as_of``. The expected
values below are computed from the CSV files and the generator's truth folder, without the
package: the rows the truth says are quarantined are dropped, picklists folded by hand, and each
opportunity's state on a day rebuilt from its history rows as the as-of rules say (last change
before the end of the day, else the first change, else the opportunity row).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import fold, kept, report_as_of, to_usd

pytestmark = pytest.mark.slow


def _utc(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True, format="ISO8601").dt.tz_localize(None)


@pytest.fixture(scope="module")
def rec(executed):
    path, error = executed["sources"]
    assert error is None, error
    return read_records(path)


@pytest.fixture(scope="module")
def as_of(executed):
    return report_as_of(executed)


def test_source_matrix_counts_mature_leads_only(rec, as_of, small_sample):
    leads = kept(small_sample, "Lead.csv")
    mature = _utc(leads["CreatedDate"]) <= as_of + pd.Timedelta(days=1) - pd.Timedelta(days=90)
    leads = leads[mature]
    conv = fold(leads["IsConverted"]).isin(["true", "1"])
    expected = pd.DataFrame({"src": fold(leads["LeadSource"]), "n": 1, "conv": conv}).groupby("src").sum()
    got = pd.DataFrame(rec["source_matrix"])
    got = got.assign(src=got["lead_source"].str.casefold()).set_index("src")
    assert got["leads"].to_dict() == expected["n"].to_dict()
    assert got["converted"].to_dict() == expected["conv"].to_dict()
    assert got["conversion_rate"].to_dict() == pytest.approx((expected["conv"] / expected["n"]).to_dict())


def _open_due_in(org: Path, cut_end: pd.Timestamp, first: pd.Timestamp, last: pd.Timestamp) -> float:
    """The open amount due to close in [first, last], at the end of the day before ``cut_end``."""
    opps = kept(org, "Opportunity.csv")
    opps = opps[_utc(opps["CreatedDate"]) < cut_end]
    hist = kept(org, "OpportunityHistory.csv")
    hist = hist[hist["OpportunityId"].isin(opps["Id"])].assign(_t=lambda d: _utc(d["CreatedDate"]))
    hist = hist.reset_index(drop=True).reset_index().sort_values(["_t", "index"], kind="stable")
    last_row = hist[hist["_t"] < cut_end].drop_duplicates("OpportunityId", keep="last").set_index("OpportunityId")
    first_row = hist.drop_duplicates("OpportunityId", keep="first").set_index("OpportunityId")
    stages = pd.read_csv(org / "OpportunityStage.csv", dtype=str)
    closed_stage = dict(zip(fold(stages["MasterLabel"]), stages["IsClosed"].str.lower() == "true"))
    total = 0.0
    for _, o in opps.iterrows():
        row = (
            last_row.loc[o["Id"]]
            if o["Id"] in last_row.index
            else (first_row.loc[o["Id"]] if o["Id"] in first_row.index else o)
        )
        closed = closed_stage.get(fold(pd.Series([row["StageName"]])).iloc[0])
        if closed is None:  # no history: the row itself (a deal closed after the cut was open then)
            closed = o["IsClosed"].lower() == "true" and pd.Timestamp(o["CloseDate"]) <= cut_end
        due = pd.Timestamp(row["CloseDate"]) if row["CloseDate"] else None
        if not closed and due is not None and first <= due <= last and row["Amount"]:
            total += float(to_usd(org, pd.DataFrame([row])).iloc[0])
    return round(total, 2)


def test_waterfall_starts_and_ends_on_the_two_snapshots(rec, as_of, small_sample):
    w = rec["pipeline_waterfall"][0]
    start_day, end_day = pd.Timestamp(w["start_date"]), pd.Timestamp(w["end_date"])
    # the last full calendar quarter before the report date (fiscal year starts in January)
    q = pd.Period(as_of, freq="Q")
    if q.end_time.normalize() != as_of:
        q = q - 1
    assert (end_day, start_day) == (q.end_time.normalize(), q.start_time.normalize() - pd.Timedelta(days=1))
    first, last = q.start_time.normalize(), q.end_time.normalize()
    one = pd.Timedelta(days=1)
    assert w["start"] == pytest.approx(_open_due_in(small_sample, start_day + one, first, last))
    assert w["end"] == pytest.approx(_open_due_in(small_sample, end_day + one, first, last))
    flows = w["new"] + w["pulled_in"] - w["pushed_out"] + w["amount_up"] - w["amount_down"] - w["won"] - w["lost"]
    flows += w["fx_up"] - w["fx_down"]  # the exchange-rate movement of the EUR and GBP deals
    assert w["fx_up"] + w["fx_down"] > 0  # the three-currency sample has some in the quarter
    assert w["start"] + flows == pytest.approx(w["end"], abs=0.005)


def test_attribution_credits_add_up_to_the_won_revenue(rec, small_sample):
    # every model splits each won deal's amount whole (deals without a touch go to "(no campaign)"),
    # so each model's credits add up to the amount won in the org on the report date (its latest day)
    opps = kept(small_sample, "Opportunity.csv")
    won = to_usd(small_sample, opps.loc[opps["IsWon"].str.lower() == "true"]).sum()
    att = pd.DataFrame(rec["attribution"])
    for model in ("first_touch", "last_touch", "linear", "u_shaped"):
        assert att[f"{model}_value"].sum() == pytest.approx(won, abs=0.01), model


def _mature_by_source(org: Path, as_of: pd.Timestamp) -> pd.Series:
    leads = kept(org, "Lead.csv")
    leads = leads[_utc(leads["CreatedDate"]) <= as_of + pd.Timedelta(days=1) - pd.Timedelta(days=90)]
    return fold(leads["LeadSource"]).value_counts()


def test_speed_to_lead_is_per_segment(rec, as_of, small_sample):
    # the report's segment (lead_source) reaches speed to lead: each source's "all" row counts its mature leads
    got = pd.DataFrame(rec["speed_to_lead"])
    every = got[got["bucket"] == "all"]
    assert every.assign(src=every["lead_source"].str.casefold()).set_index("src")["leads"].to_dict() == (
        _mature_by_source(small_sample, as_of).to_dict()
    )


def test_compare_sources_takes_the_two_largest_sources(rec, as_of, small_sample):
    counts = _mature_by_source(small_sample, as_of)
    r = rec["compare_sources"][0]
    assert [r["a"].casefold(), r["b"].casefold()] == counts.index[:2].tolist()
    assert (r["trials_a"], r["trials_b"]) == tuple(counts.iloc[:2].tolist())
    assert r["difference_ci_low"] <= r["difference"] <= r["difference_ci_high"]


def test_an_export_without_activities_or_members_says_so(tmp_path):
    """The notebook on the hand-built export of ``tests/sources/test_report.py`` without Task.csv and
    CampaignMember.csv: the four sections that need them record one line, the others their tables."""
    import papermill as pm

    from tests.sources.test_report import AS_OF, EXPORT

    org = tmp_path / "org"
    org.mkdir()
    for name, text in EXPORT.items():
        if name not in ("Task.csv", "CampaignMember.csv"):
            (org / name).write_text(text, encoding="utf-8")
    nb = Path(__file__).parents[2] / "notebooks" / "sources.ipynb"
    out = tmp_path / "sources.ipynb"
    pm.execute_notebook(
        str(nb),
        str(out),
        parameters={"data_dir": str(org), "as_of": AS_OF},
        kernel_name="python3",
        cwd=str(nb.parent),
        progress_bar=False,
    )
    rec = read_records(out)
    for name, what in (
        ("speed_to_lead", "activities (Task.csv, Event.csv)"),
        ("activity_win_relation", "activities (Task.csv, Event.csv)"),
        ("campaign_matrix", "campaign members (CampaignMember.csv)"),
        ("attribution", "campaign members (CampaignMember.csv)"),
    ):
        assert rec[name]["missing"].startswith(f"the export has no {what}: "), name
    assert [r["leads"] for r in rec["source_matrix"]] == [1, 2, 3]  # Event, Referral, Web (L6 too new)
