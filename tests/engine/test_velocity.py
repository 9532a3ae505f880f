"""The velocity report's other sections on an engine (#19): stalled deals, stage to stage, sales velocity,
its change and the slipped deals, by hand on a tiny export and equal to the pandas reference on it and on
the sample, for an engine attached to a loaded org (DuckDB, Spark) and for an engine-only org."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.crm.load import load_org
from funnel_analysis.engine import EngineError, EngineOrg, connect
from funnel_analysis.engine.attach import attach, detach, engine_of
from funnel_analysis.engine.velocity import day_deals, stage_entries, stages_used, stalled_inputs, undated_deals
from funnel_analysis.velocity import report
from tests.engine.conftest import ENGINE_NAMES, _Maker

DAY = "2024-03-31"

#: The tiny export (Salesforce's default stages), as of 2024-03-31:
#: A  created 01-01, Prospecting 01-01, Qualification 01-21, Closed Won 02-10 (closes 02-10; owner U1, 100);
#:    its close date pushed 01-31 -> 02-10 on 01-02 (before its history is complete: it was created before).
#: B  created 01-05, Prospecting 01-05, Qualification 01-15, back to Prospecting 01-20 and open (U1, 50);
#:    pushed 03-31 -> 06-30 on 03-01, and again after the day (not counted).
#: C  created 03-01 in Qualification, no history, open (U2, 70).
#: D  created 02-01, Prospecting 02-01, open (U2, 30); its close date pulled in on 03-05 (not a push).
#: E  created after the day.  F  no creation date, won, closes 02-15 (U1, 5).
#: G  created 01-10, Prospecting 01-10, Closed Lost 02-09 (U1, 20).
#: H  created 2023-12-01, no history, Closed Lost, closes 03-15 (U2, 40).
#: The CloseDate history starts 01-02 10:00: B, C, D and G were created later (their pushes are known).
OPPORTUNITIES = pd.DataFrame(
    {
        "Id": [f"006{c}" for c in "ABCDEFGH"],
        "StageName": ["Closed Won", "Prospecting", "Qualification", "Prospecting", "Prospecting", "Closed Won"]
        + ["Closed Lost", "Closed Lost"],
        "Amount": [100, 50, 70, 30, 10, 5, 20, 40],
        "CreatedDate": ["2024-01-01", "2024-01-05", "2024-03-01", "2024-02-01", "2024-04-02", ""]
        + ["2024-01-10", "2023-12-01"],
        "CloseDate": ["2024-02-10", "2024-06-30", "2024-06-30", "2024-05-31", "2024-06-30", "2024-02-15"]
        + ["2024-02-09", "2024-03-15"],
        "IsClosed": ["true", "false", "false", "false", "false", "true", "true", "true"],
        "IsWon": ["true", "false", "false", "false", "false", "true", "false", "false"],
        "OwnerId": ["005U1", "005U1", "005U2", "005U2", "005U1", "005U1", "005U1", "005U2"],
        "LeadSource": ["Web", "Web", "Partner", "Web", "Web", "Partner", "Partner", "Web"],
    }
)
HISTORY = pd.DataFrame(
    {
        "Id": [f"h{i}" for i in range(10)],
        "OpportunityId": ["006A"] * 3 + ["006B"] * 4 + ["006D"] + ["006G"] * 2,
        "CreatedDate": [
            "2024-01-01T09:00:00Z",
            "2024-01-21T09:00:00Z",
            "2024-02-10T09:00:00Z",
            "2024-01-05T09:00:00Z",
            "2024-01-15T09:00:00Z",
            "2024-01-20T09:00:00Z",
            "2024-04-05T09:00:00Z",
            "2024-02-01T09:00:00Z",
            "2024-01-10T09:00:00Z",
            "2024-02-09T09:00:00Z",
        ],
        "StageName": ["Prospecting", "Qualification", "Closed Won", "Prospecting", "Qualification", "Prospecting"]
        + ["Qualification", "Prospecting", "Prospecting", "Closed Lost"],
        "Amount": [100, 100, 100, 50, 50, 50, 50, 30, 20, 20],
    }
)
FIELD_HISTORY = pd.DataFrame(
    {
        "Id": ["f1", "f2", "f3", "f4"],
        "OpportunityId": ["006A", "006B", "006D", "006B"],
        "Field": ["CloseDate"] * 4,
        "OldValue": ["2024-01-31", "2024-03-31", "2024-06-30", "2024-06-30"],
        "NewValue": ["2024-02-10", "2024-06-30", "2024-05-31", "2024-07-31"],
        "CreatedDate": ["2024-01-02T10:00:00Z", "2024-03-01T10:00:00Z", "2024-03-05T10:00:00Z", "2024-04-10T10:00:00Z"],
    }
)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("velocity_tiny")
    OPPORTUNITIES.to_csv(folder / "Opportunity.csv", index=False)
    HISTORY.to_csv(folder / "OpportunityHistory.csv", index=False)
    FIELD_HISTORY.to_csv(folder / "OpportunityFieldHistory.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def tiny(tiny_folder):
    """The tiny export loaded by pandas (the reference)."""
    return load_org(tiny_folder)


@pytest.fixture(scope="module")
def tiny_engine_only(tiny_folder):
    crm = load_org(tiny_folder, engine="duckdb", engine_only=True, engine_options={"threads": 1})
    yield crm
    engine_of(crm).engine.close()


@pytest.fixture(scope="module")
def sample_engine_only(sample_org):
    crm = load_org(sample_org[0], engine="duckdb", engine_only=True, engine_options={"threads": 2})
    yield crm
    engine_of(crm).engine.close()


class _Orgs:
    """``orgs(crm)``: the org on one engine, registered once per org for the module (the tests stay fast)."""

    def __init__(self, name: str):
        self.name, self._maker, self._orgs = name, _Maker(name), {}

    def __call__(self, crm) -> EngineOrg:
        if id(crm) not in self._orgs:  # the org is kept beside its EngineOrg, so its id is never reused
            self._orgs[id(crm)] = (crm, self._maker(crm))
        return self._orgs[id(crm)][1]

    def close(self) -> None:
        self._maker.close()


@pytest.fixture(scope="module", params=[n for n in ENGINE_NAMES if n != "pandas"])
def engines(request):
    """The orgs on each engine (pandas is the reference the engines meet)."""
    orgs = _Orgs(request.param)
    yield orgs
    orgs.close()


@contextlib.contextmanager
def attached(crm, maker):
    """``crm`` with its tables in the maker's engine attached (the entry points then use it)."""
    attach(crm, org=maker(crm))
    try:
        yield crm
    finally:
        detach(crm)


# ---- the engine's inputs, by hand ----------------------------------------------------------------
def test_day_deals_by_hand(engines, tiny):
    got = day_deals(engines(tiny), as_of=DAY, by="lead_source").set_index("opportunity_id")
    assert got.index.str[-1].tolist() == list("ABCDGH")  # E created after the day, F undated
    assert got["is_closed"].tolist() == [True, False, False, False, True, True]
    assert got["close_date_pushes"].tolist() == [pd.NA, 1, 0, 0, 0, pd.NA]
    assert got["slipped_before"].tolist() == [True, True, False, False, False, pd.NA]
    assert got.loc["006D", "close_date"] == pd.Timestamp("2024-05-31")  # the pull-in, as of the day
    assert str(got["created_date"].dtype) == "datetime64[us, UTC]" and got["amount"].sum() == 310
    assert got["lead_source"].tolist() == ["Web", "Web", "Partner", "Web", "Partner", "Web"]
    undated = undated_deals(engines(tiny), as_of=DAY)
    assert undated[["opportunity_id", "is_closed", "is_won", "amount"]].values.tolist() == [["006F", True, True, 5.0]]
    assert undated_deals(engines(tiny), as_of="2024-02-14")["is_won"].tolist() == [False]  # closes later: open


def test_stalled_inputs_by_hand(engines, tiny):
    got = stalled_inputs(engines(tiny), as_of=DAY, quantile=0.5)
    # Prospecting visits: 10, 20, 30 days ended, 59 and 71 open: S = .8, .6, .4 -> the median is 30;
    # Qualification: 5, 20 ended, 30 open: S = 2/3, 1/3 -> 20; no visit of the other open stages
    assert got.thresholds[["Prospecting", "Qualification"]].tolist() == [30.0, 20.0]
    assert got.thresholds.drop(["Prospecting", "Qualification"]).isna().all()
    cur = got.current
    assert cur["opportunity_id"].tolist() == ["006B", "006C", "006D"]
    assert cur["stage_name"].tolist() == ["Prospecting", "Qualification", "Prospecting"]
    assert (
        cur["entered"].tolist()
        == pd.to_datetime(["2024-01-20T09:00:00Z", "2024-03-01T00:00:00Z", "2024-02-01T09:00:00Z"]).tolist()
    )
    assert cur["owner_id"].str[-2:].tolist() == ["U1", "U2", "U2"] and cur["amount"].tolist() == [50.0, 70.0, 30.0]
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        stalled_inputs(engines(tiny), as_of=DAY, quantile=1.0)


def test_stage_entries_by_hand(engines, tiny):
    got = stage_entries(engines(tiny), as_of=DAY, stages=["Qualification", "Closed Won"], by="lead_source")
    assert got[["opportunity_id", "stage_name", "lead_source"]].values.tolist() == [
        ["006A", "Qualification", "Web"],
        ["006A", "Closed Won", "Web"],
        ["006B", "Qualification", "Web"],
        ["006C", "Qualification", "Partner"],
    ]  # B's return to Qualification on 04-05 is after the day
    with pytest.raises(EngineError, match="stage names"):
        stage_entries(engines(tiny), as_of=DAY, stages=[])
    # a stage name is a bound value: quotes in it select nothing and change nothing
    assert stage_entries(engines(tiny), as_of=DAY, stages=["x' OR '1'='1"]).empty
    assert stages_used(engines(tiny), as_of=DAY).tolist() == [
        "Closed Lost",
        "Closed Won",
        "Prospecting",
        "Qualification",
    ]


# ---- the entry points, by hand on an engine-only org ---------------------------------------------
def test_stalled_deals_by_hand(tiny_engine_only):
    got = report.stalled_deals(tiny_engine_only, as_of=DAY, quantile=0.5)
    assert got[["opportunity_id", "days_in_stage", "threshold_days", "days_over"]].values.tolist() == [
        ["006B", 71.0, 30.0, 41.0],
        ["006D", 59.0, 30.0, 29.0],
        ["006C", 30.0, 20.0, 10.0],
    ]
    assert report.stalled_deals(tiny_engine_only, as_of=DAY).empty  # no stage reaches its 0.9 quantile


def test_stage_to_stage_days_by_hand(tiny_engine_only):
    got = report.stage_to_stage_days(tiny_engine_only, as_of=DAY, by="owner_id")
    # from Prospecting (the first stage) to Closed Won: A, B, G (U1) and D (U2) entered it; A won in 40 days
    assert got[["from_stage", "to_stage", "n_from", "n", "mean_days"]].values.tolist()[0] == [
        "Prospecting",
        "Closed Won",
        3,
        1,
        40.0,
    ]
    assert got["n_from"].tolist() == [3, 1] and np.isnan(got["mean_days"].iloc[1])
    back = report.stage_to_stage_days(tiny_engine_only, as_of=DAY, from_stage="Qualification", to_stage="Prospecting")
    assert back[["n_from", "n", "median_days"]].values.tolist() == [[3, 1, 5.0]]  # B went back after 5 days
    with pytest.raises(ValueError, match="both 'Prospecting'"):
        report.stage_to_stage_days(tiny_engine_only, as_of=DAY, from_stage="Prospecting", to_stage="Prospecting")


def test_sales_velocity_by_hand(tiny_engine_only):
    got = report.sales_velocity(tiny_engine_only, as_of=DAY, n_boot=20)
    # FY2024-Q1: H open at its start; A won, G and H lost in it; A's cycle 40 days; F won undated
    row = got.iloc[0]
    assert got["period"].tolist() == ["FY2024-Q1"] and bool(row["complete"])
    assert [row[c] for c in ("n_open", "n_closed", "n_won", "n_undated_excluded")] == [1, 3, 1, 1]
    assert (row["win_rate"], row["avg_won_amount"], row["avg_cycle_days"]) == (1 / 3, 100.0, 40.0)
    assert row["velocity"] == pytest.approx(1 * (1 / 3) * 100 / 40, abs=1e-12)
    change = report.velocity_change(tiny_engine_only, as_of=DAY, period="M")
    # February: 4 open at its start (A, B, G, H), velocity 4 x 0.5 x 100 / 40 = 5; March: nothing won
    assert change.empty and "1 complete period(s) had a sales velocity" in change.attrs["missing"]


def test_slipped_deals_by_hand(tiny_engine_only):
    got = report.slipped_deals(tiny_engine_only, as_of=DAY).set_index("slip_history")
    assert got.index.tolist() == ["slipped before", "never slipped", "unknown"]
    counts = got[["n", "n_open", "n_closed", "n_won"]].values.tolist()
    assert counts == [[2, 1, 1, 1], [3, 2, 1, 0], [1, 0, 1, 0]]  # A B | C D G | H
    assert got["win_rate"].tolist() == [1.0, 0.0, 0.0]
    assert got.loc["slipped before", "pushes_mean"] == 1.0 and got.loc["never slipped", "pushes_mean"] == 0.0
    assert pd.isna(got.loc["unknown", "pushes_mean"])  # H's history is not complete
    assert got.loc["slipped before", "naive_median"] == 40.0  # A; B still open (censored at 86 days)


# ---- equal to the pandas reference ---------------------------------------------------------------
#: Each section and the options it is called with (the notebook's, and a segment where it takes one).
CALLS = [
    ("stalled_deals", {}),
    ("stalled_deals", {"quantile": 0.5}),
    ("stage_to_stage_days", {}),
    ("stage_to_stage_days", {"by": "lead_source"}),
    ("stage_to_stage_days", {"from_stage": "Qualification", "to_stage": "Prospecting"}),
    ("sales_velocity", {"n_boot": 50}),
    ("sales_velocity", {"n_boot": 5, "by": "owner_id", "period": "M"}),
    ("velocity_change", {}),
    ("velocity_change", {"period": "M"}),
    ("slipped_deals", {}),
]
CALL_IDS = [f"{name}-{'-'.join(map(str, kw.values())) or 'defaults'}" for name, kw in CALLS]


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal as the report records them: every count exact, money to the cent, days exact, the notes too."""
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=0, atol=0.005)
    assert got.attrs == want.attrs


@pytest.mark.parametrize(("name", "kw"), CALLS, ids=CALL_IDS)
def test_tiny_equals_pandas(engines, tiny, tiny_engine_only, name, kw):
    fn = getattr(report, name)
    for day in (DAY, "2024-02-20"):
        want = fn(tiny, as_of=day, **kw)
        with attached(tiny, engines):
            got = fn(tiny, as_of=day, **kw)
        _same(got, want)
        if engines.name == "duckdb":
            _same(fn(tiny_engine_only, as_of=day, **kw), want)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kw"), CALLS, ids=CALL_IDS)
def test_sample_equals_pandas(engines, sample_crm, sample_engine_only, name, kw):
    fn = getattr(report, name)
    for day in ("2024-12-31",) if kw else ("2024-12-31", None):
        want = fn(sample_crm, as_of=day, **kw)
        assert len(want) or name == "stalled_deals"
        with attached(sample_crm, engines):
            got = fn(sample_crm, as_of=day, **kw)
        _same(got, want)
        if engines.name == "duckdb":
            _same(fn(sample_engine_only, as_of=day, **kw), want)


@pytest.mark.slow
def test_engine_only_with_where(sample_crm, sample_engine_only):
    """The notebook's where scopes the whole org (CrmData.where): the scoped org's engine runs each section."""
    where = "lead_source == 'Web'"
    scoped = sample_engine_only.where(where)
    ref = sample_crm.where(where)
    assert engine_of(scoped) is not None
    for name, kw in CALLS:
        if kw.get("by") == "owner_id":
            continue  # the slowest; the segments are covered above
        _same(
            getattr(report, name)(scoped, as_of="2025-03-31", **kw),
            getattr(report, name)(ref, as_of="2025-03-31", **kw),
        )


def test_a_where_given_to_the_entry_point_stops_on_an_engine_only_org(tiny_engine_only):
    from funnel_analysis.crm.model import EngineOnlyError

    with pytest.raises(EngineOnlyError, match="engine-only"):
        report.sales_velocity(tiny_engine_only, as_of=DAY, where="amount > 10", n_boot=5)


def test_the_engine_is_the_one_used(tiny):
    """With an engine attached, the sections read the day's deals from it (its relations are made)."""
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        attach(tiny, org=org)
        try:
            report.slipped_deals(tiny, as_of=DAY)
            assert org.__dict__.get("_asof_memo")  # the day's state is made in the engine (and kept)
            report.stalled_deals(tiny, as_of=DAY)
            assert len(org.__dict__["_asof_memo"]) == 1  # the same day's state, reused (engine-only runs: below)
        finally:
            detach(tiny)
