"""funnel_analysis.custom: a metric by a field one hop away, its filter, its errors and its chart, by hand.

The org (built with ``load_frames``): six opportunities of two accounts and three owners (two users,
one queue), and five leads. Every expected figure below is counted by hand from these rows.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.crm.expression import ExpressionError
from funnel_analysis.custom import METRIC_ALIASES, METRICS, MetricError, field_values, metric, metric_spec
from funnel_analysis.custom.plots import plot_metric

# 006A won 1000 (Retail, EMEA user), 006B lost 500 (Retail, EMEA), 006C won 800 (Energy, NA user),
# 006D open 300 (Energy, NA), 006E open 700 (no account, queue), 006F lost 200 (an account not in the
# export: dangling, queue). Closed in 2024 Q1 except 006F (2024 Q2); the open ones are due 2024 Q3.
OPPORTUNITIES = pd.DataFrame(
    {
        "Id": ["006A", "006B", "006C", "006D", "006E", "006F"],
        "AccountId": ["001A", "001A", "001B", "001B", None, "001Z"],
        "OwnerId": ["005E", "005E", "005N", "005N", "00GQ", "00GQ"],
        "StageName": ["Closed Won", "Closed Lost", "Closed Won", "Prospecting", "Prospecting", "Closed Lost"],
        "Amount": [1000, 500, 800, 300, 700, 200],
        "CreatedDate": ["2024-01-02"] * 6,
        "CloseDate": ["2024-02-01", "2024-02-10", "2024-03-01", "2024-07-30", "2024-08-15", "2024-04-20"],
        "IsClosed": [True, True, True, False, False, True],
        "IsWon": [True, False, True, False, False, False],
    }
)
ACCOUNTS = pd.DataFrame({"Id": ["001A", "001B"], "Name": ["Acme", "Globex"], "Industry": ["Retail", "Energy"]})
USERS = pd.DataFrame(
    {"Id": ["005E", "005N"], "Name": ["Ann Lee", "Bo Chen"], "Region__c": ["EMEA", "NA"], "Role__c": ["AE", "AE"]}
)
GROUPS = pd.DataFrame({"Id": ["00GQ"], "Name": ["Inbound Queue"], "Type": ["Queue"]})
# L1 EMEA converted, L2 EMEA open, L3 NA converted, L4 NA open, L5 queue open; L1-L3 from the Web
LEADS = pd.DataFrame(
    {
        "Id": ["00QA", "00QB", "00QC", "00QD", "00QE"],
        "OwnerId": ["005E", "005E", "005N", "005N", "00GQ"],
        "LeadSource": ["Web", "Web", "Web", "Partner", "Partner"],
        "Status": ["Converted", "Open", "Converted", "Open", "Open"],
        "CreatedDate": ["2024-01-05", "2024-01-06", "2024-02-01", "2024-02-02", "2024-03-01"],
        "IsConverted": [True, False, True, False, False],
        "ConvertedDate": ["2024-01-20", None, "2024-02-20", None, None],
    }
)


@pytest.fixture(scope="module")
def crm():
    return load_frames(
        {"Opportunity": OPPORTUNITIES, "Account": ACCOUNTS, "User": USERS, "Group": GROUPS, "Lead": LEADS}
    )


def _table(df: pd.DataFrame, key: str, *columns: str) -> dict:
    return {r[key]: tuple(r[c] for c in columns) for r in df.to_dict("records")}


def test_win_rate_by_account_industry_counts_the_dangling_and_missing_as_no_value(crm):
    t = metric(crm, metric="win_rate", by="account.industry", as_of="2024-12-31")
    assert list(t.columns) == [
        "as_of",
        "account.industry",
        "win_rate",
        "win_rate_n",
        "win_rate_ci_low",
        "win_rate_ci_high",
    ]
    # Energy: 006C won of 1 closed; Retail: 1 of 2; no industry: 006F lost (its account is not there)
    got = _table(t, "account.industry", "win_rate", "win_rate_n")
    assert got == {"Energy": (1.0, 1), "Retail": (0.5, 2), "(no account.industry)": (0.0, 1)}
    # Wilson 95 % for 1 of 2, by its formula: centre 0.5, half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)
    z = 1.959963984540054
    n, p = 2, 0.5
    half = z * (p * (1 - p) / n + z**2 / (4 * n**2)) ** 0.5 / (1 + z**2 / n)
    retail = t[t["account.industry"] == "Retail"].iloc[0]
    assert (retail["win_rate_ci_low"], retail["win_rate_ci_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    assert t.attrs["metric"] == "win_rate" and t.attrs["note"].startswith("win_rate: won / closed")


def test_owner_region_reaches_users_and_queues_and_where_filters_the_deals(crm):
    t = metric(crm, metric="open_pipeline_amount", by="owner.region", where="amount >= 300", as_of="2024-12-31")
    # open: 006D 300 (NA), 006E 700 (queue: no region); EMEA has deals but none open
    got = _table(t, "owner.region", "open_pipeline_amount", "open_pipeline_amount_n")
    assert got == {"EMEA": (0.0, 0), "NA": (300.0, 1), "(no owner.region)": (700.0, 1)}
    queue = metric(
        crm, metric="opportunities", by="owner.name", where="owner.owner_kind == 'queue'", as_of="2024-12-31"
    )
    assert _table(queue, "owner.name", "opportunities") == {"Inbound Queue": (2,)}


def test_lead_metrics_count_leads_and_where_applies_to_them(crm):
    t = metric(crm, metric="conversion", by="owner.region", where="lead_source == 'Web'", as_of="2024-12-31")
    # Web leads: L1 (EMEA, converted), L2 (EMEA), L3 (NA, converted)
    got = _table(t, "owner.region", "lead_conversion_rate", "lead_conversion_rate_n")
    assert got == {"EMEA": (0.5, 2), "NA": (1.0, 1)}
    assert metric(crm, metric="leads", as_of="2024-12-31")["leads"].tolist() == [5]


def test_period_and_as_of(crm):
    t = metric(crm, metric="won_amount", period="Q", as_of="2024-12-31")
    # by close date: Q1 006A 1000 + 006C 800 won; Q2 006F lost; Q3 the open ones
    got = _table(t, "fiscal_period", "won_amount", "won_amount_n")
    assert got == {"FY2024-Q1": (1800.0, 2), "FY2024-Q2": (0.0, 0), "FY2024-Q3": (0.0, 0)}
    # the cut keeps what was created by the day: all six deals by 2024-02-15, two leads by 2024-01-31
    early = metric(crm, metric="opportunities", as_of="2024-02-15")
    assert early["as_of"].iloc[0] == pd.Timestamp("2024-02-15") and early["opportunities"].iloc[0] == 6
    assert metric(crm, metric="leads", as_of="2024-01-31")["leads"].tolist() == [2]  # L1, L2 created by then


def test_by_owner_id_shows_the_owner_names(crm):
    t = metric(crm, metric="opportunities_won", by="owner_id", as_of="2024-12-31")
    assert _table(t, "owner_name", "opportunities_won") == {"Ann Lee": (1,), "Bo Chen": (1,), "Inbound Queue": (0,)}


def test_unknown_metric_and_field_are_one_error_naming_the_choices(crm):
    with pytest.raises(MetricError, match=r"unknown metric 'revenue'; choices: leads, .*win_rate.*\(or bookings"):
        metric(crm, metric="revenue")
    with pytest.raises(
        MetricError, match=r"by: unknown field 'industri' of account \(accounts\); did you mean account.industry\?"
    ):
        metric(crm, metric="win_rate", by="account.industri")
    with pytest.raises(MetricError, match=r"by: unknown relation 'account' on leads"):
        metric(crm, metric="lead_conversion_rate", by="account.industry")
    with pytest.raises(MetricError, match="is not a field"):
        metric(crm, metric="win_rate", by="account.industry.name")
    with pytest.raises(ExpressionError, match="unknown column 'regon' on opportunities"):
        metric(crm, metric="win_rate", where="regon == 'EMEA'")
    for error in (MetricError, ExpressionError):
        assert issubclass(error, ValueError)


def test_the_org_is_not_changed(crm):
    before = crm.opportunities.copy()
    metric(crm, metric="win_rate", by="account.industry", where="amount > 100")
    pd.testing.assert_frame_equal(crm.opportunities, before)
    assert "account.industry" not in crm.opportunities.columns


def test_field_values_refuses_a_repeated_key():
    tables = {
        "opportunities": pd.DataFrame({"opportunity_id": ["o1"], "account_id": ["a1"]}),
        "accounts": pd.DataFrame({"account_id": ["a1", "a1"], "industry": ["Retail", "Energy"]}),
    }
    with pytest.raises(MetricError, match=r"needs one accounts row per account_id, but 1 keys repeat"):
        field_values(tables, "opportunities", by="account.industry")


def test_every_metric_is_a_kpi_with_its_definition():
    assert {"win_rate", "lead_conversion_rate", "open_pipeline_amount", "won_amount", "avg_won_deal_size"} <= set(
        METRICS
    )
    assert {"median_cycle_days", "leads", "opportunities_won"} <= set(METRICS)
    for name, m in METRICS.items():
        assert m.definition.startswith(f"{name}: ") and m.table in ("leads", "opportunities")
    assert all(metric_spec(alias).name == name for alias, name in METRIC_ALIASES.items())


@pytest.mark.parametrize("period", [None, "Q"])
def test_plot_draws_bars_or_lines(crm, period):
    t = metric(crm, metric="win_rate", by="owner.region", period=period, as_of="2024-12-31")
    ax = plot_metric(t)
    assert ax.get_title() == "win_rate by owner.region"
    if period is None:
        assert len(ax.patches) == len(t)  # one bar per region
    else:
        assert len(ax.get_lines()) >= t["owner.region"].nunique()
    plt.close(ax.figure)
    empty = plot_metric(metric(crm, metric="win_rate", where="amount > 1e9", by="owner.region"))
    assert "nothing to show" in " ".join(x.get_text() for x in empty.texts).lower()
    plt.close(empty.figure)


@pytest.mark.parametrize(
    "where", ['__import__("os").system("id")', "region == 'x'; DROP TABLE leads", "().__class__", "amount > 1; 1"]
)
def test_code_in_the_filter_is_refused_before_anything_runs(where):
    fresh = load_frames({"Opportunity": OPPORTUNITIES, "Account": ACCOUNTS, "User": USERS})
    with pytest.raises(ExpressionError, match="^where: "):
        metric(fresh, metric="win_rate", where=where)
    assert not fresh.__dict__.get("_cuts")  # refused before the org was cut
    metric(fresh, metric="win_rate", where="amount > 1")
    assert fresh.__dict__.get("_cuts")  # (a filter that parses does cut it)


def test_the_org_s_custom_fiscal_quarters(tmp_path):
    from funnel_analysis.project import apply_profile, load_profile

    # a 4-4-5 year from 2024-02-04: Q1 ends 2024-05-04, Q2 ends 2024-08-03
    (tmp_path / "Period.csv").write_text(
        "Id,FiscalYearSettingsId,Type,StartDate,EndDate,Number\n"
        "0260001,0220001,Year,2024-02-04,2025-02-01,1\n"
        "0260002,0220001,Quarter,2024-02-04,2024-05-04,1\n"
        "0260003,0220001,Quarter,2024-05-05,2024-08-03,2\n"
        "0260004,0220001,Quarter,2024-08-04,2024-11-02,3\n"
        "0260005,0220001,Quarter,2024-11-03,2025-02-01,4\n"
    )
    (tmp_path / "profile.yaml").write_text("fiscal_year: {periods: Period.csv}\n")
    opps = pd.DataFrame(
        {
            "Id": ["006A", "006B"],
            "StageName": ["Closed Won", "Closed Lost"],
            "Amount": [100, 50],
            "CreatedDate": ["2024-02-10"] * 2,
            "CloseDate": ["2024-05-04", "2024-05-05"],  # Q1's last day, Q2's first
        }
    )
    org = apply_profile(load_frames({"Opportunity": opps}), profile=load_profile(tmp_path / "profile.yaml"))
    t = metric(org, metric="win_rate", period="Q", fiscal_year_start_month=2, as_of="2024-06-30")
    assert _table(t, "fiscal_period", "win_rate", "win_rate_n") == {"FY2025-Q1": (1.0, 1), "FY2025-Q2": (0.0, 1)}
    assert t["period_start"].tolist() == [pd.Timestamp("2024-02-04"), pd.Timestamp("2024-05-05")]
    # the standard February year would put both in FY2025-Q2 (May to July)
    plain = load_frames({"Opportunity": opps})
    standard = metric(plain, metric="win_rate", period="Q", fiscal_year_start_month=2, as_of="2024-06-30")
    assert _table(standard, "fiscal_period", "win_rate_n") == {"FY2025-Q2": (2,)}
