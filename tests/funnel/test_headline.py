"""The dashboard's headline rows: this period so far, the last one at the same point, the periods before."""

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.funnel.headline import headline_series


@pytest.fixture(scope="module")
def org():
    leads = pd.DataFrame(
        {
            "Id": ["00QA", "00QB", "00QC", "00QD", "00QE"],
            "CreatedDate": ["2024-01-10", "2024-02-20", "2024-04-05", "2024-05-01", "2024-05-20"],
        }
    )
    opps = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D"],
            "StageName": ["Closed Won", "Closed Lost", "Prospecting", "Closed Won"],
            "Amount": [100, 50, 200, 70],
            "CreatedDate": ["2024-01-05", "2024-01-20", "2024-02-01", "2024-04-02"],
            "CloseDate": ["2024-02-10", "2024-03-01", "2024-06-30", "2024-04-20"],
        }
    )
    return load_frames({"Lead": leads, "Opportunity": opps})


def test_rows_by_hand(org):
    h = headline_series(org, as_of="2024-05-15", period="Q").set_index("row")
    assert h.index.tolist() == ["period", "previous", "current"]
    # 44 days into Q2 (1 April + 44 = 15 May); the same point of Q1 is 14 February
    assert h["as_of"].dt.strftime("%Y-%m-%d").tolist() == ["2024-03-31", "2024-02-14", "2024-05-15"]
    assert h["fiscal_period"].tolist() == ["FY2024-Q1", "FY2024-Q1", "FY2024-Q2"]
    # leads created in the period up to the row's day: Q1 all (10 Jan, 20 Feb); Q1 to 14 Feb (10 Jan);
    # Q2 to 15 May (5 Apr, 1 May; 20 May not yet)
    assert h["leads"].tolist() == [2, 1, 2]
    # deals closed in the period: Q1 A won, B lost; Q1 to 14 Feb only A; Q2 to date D won
    assert h["win_rate"].tolist() == [0.5, 1.0, 1.0]
    # the open pipeline is a stock on the row's day: C (200) on 31 March and on 15 May
    assert h.loc["period", "open_pipeline_amount"] == 200
    assert h.loc["current", "open_pipeline_amount"] == 200


def test_trend_length_and_first_period(org):
    assert headline_series(org, as_of="2024-05-15", periods=0)["row"].tolist() == ["previous", "current"]
    first = headline_series(org, as_of="2024-01-31")
    assert first["row"].tolist() == ["current"]  # no period before the first: no "previous"


def test_the_input_is_not_changed(org):
    before = org.opportunities.copy()
    headline_series(org, as_of="2024-05-15")
    pd.testing.assert_frame_equal(org.opportunities, before)


@pytest.mark.parametrize(("kwargs", "message"), [({"periods": -1}, "periods: expected"), ({"period": "W"}, "period:")])
def test_bad_options(org, kwargs, message):
    with pytest.raises(ValueError, match=message):
        headline_series(org, **kwargs)


@pytest.mark.parametrize(
    "choices",
    # without where the stocks come from the deals' tables alone (headline._deals_org): with exclusions too
    [
        {},
        {"exclude_types": "Renewal", "cohort": "created"},
        {"where": "owner.region == 'EMEA'", "exclude_types": "Renewal"},
    ],
    ids=["defaults", "exclusions", "where_and_exclusions"],
)
def test_stocks_equal_the_overall_figures_of_each_day(sample_org, choices):
    """Each row's open pipeline equals report.kpis of the whole org on that row's own day (the per-row loop)."""
    from funnel_analysis.crm import load_org
    from funnel_analysis.funnel import report

    crm = load_org(sample_org[0])
    h = headline_series(crm, as_of="", period="Q", **choices)
    assert len(h) >= 3
    for _, row in h.iterrows():
        day = report.kpis(crm, as_of=row["as_of"], **choices).iloc[0]
        assert int(row["opportunities_open"]) == int(day["opportunities_open"])
        assert int(row["open_pipeline_amount_n"]) == int(day["open_pipeline_amount_n"])
        assert row["open_pipeline_amount"] == pytest.approx(day["open_pipeline_amount"], rel=0, abs=1e-9)


@pytest.mark.parametrize(
    "choices",
    # without where the previous period's figures come from the deals' and leads' tables alone (_figures_org)
    [{}, {"exclude_types": "Renewal", "cohort": "created", "win_rate_basis": "amount"}],
    ids=["defaults", "exclusions"],
)
def test_every_row_equals_kpis_of_the_whole_org_on_its_day(sample_org, choices):
    """Each row equals report.kpis by period on the whole org: the flows as of the report day (the previous row:
    as of its own day, the same point of the last period), the stocks as of the row's own day."""
    from funnel_analysis.crm import load_org
    from funnel_analysis.funnel import report

    crm = load_org(sample_org[0])
    h = headline_series(crm, as_of="", period="Q", **choices)
    assert h["row"].tolist()[-2:] == ["previous", "current"]
    figures = [
        c
        for c in h.columns
        if c not in ("row", "compared", "period", "currency", "as_of", "fiscal_period", "period_start")
    ]
    report_day = h["as_of"].iloc[-1]
    for _, row in h.iterrows():
        flows_day = row["as_of"] if row["row"] == "previous" else report_day
        day = report.kpis(crm, as_of=flows_day, period="Q", **choices)
        ref = day[day["period_start"] == row["period_start"]].iloc[0]
        stock = report.kpis(crm, as_of=row["as_of"], **choices).iloc[0]
        for f in figures:
            want = stock[f] if f in ("open_pipeline_amount", "open_pipeline_amount_n", "opportunities_open") else ref[f]
            got = row[f]
            assert (pd.isna(got) and pd.isna(want)) or got == want, (row["row"], f, got, want)


def test_an_empty_as_of_follows_a_replaced_table():
    """The latest date of an empty as_of is found once per org, and again when a table is replaced."""
    import dataclasses

    from funnel_analysis.funnel import report

    opps = pd.DataFrame(
        {
            "Id": ["006A", "006B"],
            "StageName": ["Closed Won", "Prospecting"],
            "Amount": [100, 50],
            "CreatedDate": ["2024-01-05", "2024-03-01"],
            "CloseDate": ["2024-02-10", "2024-09-30"],
        }
    )
    crm = load_frames({"Opportunity": opps})
    assert str(report.kpis(crm, as_of="")["as_of"].iloc[0].date()) == "2024-03-01"  # the latest creation
    later = crm.opportunities.assign(created_date=pd.to_datetime(["2024-01-05", "2024-05-20"], utc=True))
    moved = dataclasses.replace(crm, tables={**crm.tables, "opportunities": later})
    assert str(report.kpis(moved, as_of="")["as_of"].iloc[0].date()) == "2024-05-20"
    crm.tables["opportunities"] = later  # the same org object, a table replaced in place
    assert str(report.kpis(crm, as_of=None)["as_of"].iloc[0].date()) == "2024-05-20"


def test_an_org_dropped_after_its_headline_is_freed_with_its_cuts(org):
    """The headline's per-org memos (its sub-orgs, the resolved day) hold the org weakly: a report's scoped org
    (a for_each value's) and its as-of cuts are freed when the notebook drops it, not kept for the next value."""
    import dataclasses
    import gc
    import weakref

    from funnel_analysis.funnel import headline, report

    first = headline_series(org, as_of="", period="Q")
    scoped = dataclasses.replace(org)  # another org object with the same tables, as a value's scoped org is
    pd.testing.assert_frame_equal(headline_series(scoped, as_of="", period="Q"), first)
    sub = headline._deals_org(scoped)
    assert headline._deals_org(scoped) is sub  # kept while the org lives: its cuts are reused
    keys = [k for k in headline._SUB_ORGS if k[0] == id(scoped)]
    assert keys and id(scoped) in report._LATEST
    gone, sub_gone = weakref.ref(scoped), weakref.ref(sub)
    del scoped, sub
    gc.collect()
    assert gone() is None and sub_gone() is None
    assert not [k for k in headline._SUB_ORGS if k in keys]
    assert all(entry[0]() is not None for entry in report._LATEST.values())


@pytest.mark.parametrize("where", ["owner.region == 'EMEA'", "status == 'Converted'"], ids=["owner", "leads"])
def test_a_scoped_orgs_stocks_equal_its_own_figures_of_each_day(sample_org, where):
    """A for_each value's org takes its deals' rows of the whole org's cuts: each row's open pipeline still equals
    report.kpis of the scoped org itself, cut on that row's own day (and again once a table is replaced)."""
    from funnel_analysis.crm import load_org
    from funnel_analysis.crm.scope import scope_source
    from funnel_analysis.funnel import report

    whole = load_org(sample_org[0])
    scoped = whole.where(where)
    assert scope_source(scoped) is whole
    h = headline_series(scoped, as_of="", period="Q")
    assert len(h) >= 3
    for _, row in h.iterrows():
        day = report.kpis(scoped, as_of=row["as_of"]).iloc[0]
        assert int(row["opportunities_open"]) == int(day["opportunities_open"])
        assert int(row["open_pipeline_amount_n"]) == int(day["open_pipeline_amount_n"])
        assert row["open_pipeline_amount"] == pytest.approx(day["open_pipeline_amount"], rel=0, abs=1e-9)
    # the deals of one region only: the scoped org's own cut (scope_source None) gives the same rows
    scoped.tables["opportunities"] = scoped.opportunities.iloc[:10].reset_index(drop=True)
    assert scope_source(scoped) is None
    h = headline_series(scoped, as_of="", period="Q")
    for _, row in h.iterrows():
        day = report.kpis(scoped, as_of=row["as_of"]).iloc[0]
        assert int(row["opportunities_open"]) == int(day["opportunities_open"])
