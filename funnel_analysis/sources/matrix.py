"""Lead sources and campaigns: what each source or campaign brings in, and how fast leads are worked.

Rules
-----
- An opportunity belongs to the segment of the lead converted into it
  (``leads.converted_opportunity_id``); opportunities that no lead converted into are not in the
  source matrix. Several leads of one segment converted into the same opportunity count it once.
- In the campaign matrix a lead counts for every campaign it is a member of (``lead_id`` of
  ``campaign_members``; contact-only members are not leads), so campaigns overlap and their
  columns do not add up to the org's totals; :mod:`funnel_analysis.sources.attribution` splits the credit.
- Win rate is won / closed (a deal is won only when closed); the cycle is counted for won deals,
  in UTC calendar days from creation to close, negative spans (bad data) left out.
- Campaign cost is ``actual_cost``, else ``budgeted_cost``. ``cost_per_lead`` and
  ``return_on_cost`` (won revenue / cost) are missing, never infinite, when the divisor is 0 or
  unknown.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> source_matrix(crm.leads, crm.opportunities)  # doctest: +SKIP
>>> compare_sources(crm.leads, "Referral", "Web")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact, norm
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from .._util.arrow import index_in, lookup
from .._util.frames import (
    by_list as _by_list,
)
from .._util.frames import (
    days as _days,
)
from .._util.frames import (
    flag as _flag,
)
from .._util.frames import (
    require as _require,
)
from .._util.frames import (
    to_day as _to_day,
)
from .._util.frames import (
    utc_naive as _utc_naive,
)
from ..engine.matrix import MATRIX_COUNTS
from ..stats import rate_table

__all__ = [
    "source_matrix",
    "matrix_from_counts",
    "campaign_matrix",
    "campaign_matrix_from_counts",
    "compare_sources",
    "speed_to_lead",
    "speed_to_lead_effect",
    "mature_leads",
    "SPEED_BUCKETS",
    "ASSOCIATION_NOTE",
]

#: What the speed-to-lead conversion figures are, said beside them.
ASSOCIATION_NOTE = (
    "association, not cause: fast replies tend to go to the best leads; the score-band figures adjust for the "
    "score only, not for anything else that drives both speed and conversion"
)

#: Speed-to-lead buckets, in order: hours to the first activity (``[low, high)``), then never.
SPEED_BUCKETS = ("<1h", "1-24h", "1-7d", ">7d", "never")
_EDGES = (0.0, 1.0, 24.0, 168.0, np.inf)


def _opp_metrics(pairs: pd.DataFrame, opps: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Opportunity figures per segment from (segment..., opportunity_id) pairs."""
    pairs = pairs.dropna(subset=["opportunity_id"]).drop_duplicates()
    o = opps.drop_duplicates("opportunity_id")
    closed = _flag(o["is_closed"]).to_numpy()
    won = closed & _flag(o["is_won"]).to_numpy()
    amount = o["amount"].to_numpy("float64")
    span = _days(o["close_date"]) - _days(o["created_date"])
    facts = pd.DataFrame(
        {
            "opportunity_id": o["opportunity_id"].to_numpy(),
            "_opp": 1,
            "_amt": amount,
            "_closed": closed,
            "_won": won,
            "_won_amt": np.where(won, amount, np.nan),
            "_cycle": np.where(won & (span >= 0), span, np.nan),
        }
    )
    d = pairs.merge(facts, on="opportunity_id", how="inner")
    g = d.groupby(keys, dropna=False, sort=False).agg(
        opportunities=("_opp", "sum"),
        pipeline_created=("_amt", "sum"),
        closed=("_closed", "sum"),
        won=("_won", "sum"),
        won_revenue=("_won_amt", "sum"),
        avg_won_deal_size=("_won_amt", "mean"),
        median_cycle_days=("_cycle", "median"),
    )
    return g.reset_index()


def _matrix(members: pd.DataFrame, opps: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The shared matrix: ``members`` has keys, lead_id, is_converted, converted_opportunity_id."""
    members = members.drop_duplicates([*keys, "lead_id"])
    lead_counts = (
        members.assign(_lead=1, _conv=_flag(members["is_converted"]).to_numpy())
        .groupby(keys, dropna=False, sort=False)
        .agg(leads=("_lead", "sum"), converted=("_conv", "sum"))
        .reset_index()
    )
    opp = _opp_metrics(
        members[[*keys, "converted_opportunity_id"]].rename(columns={"converted_opportunity_id": "opportunity_id"}),
        opps,
        keys,
    )
    return matrix_from_counts(lead_counts.merge(opp, on=keys, how="left"), by=keys)


def matrix_from_counts(counts: pd.DataFrame, *, by) -> pd.DataFrame:
    """The source matrix from its counts and sums per segment: the rates, their intervals, the order.

    What :func:`source_matrix` returns, from the figures alone (an engine sums them:
    :func:`funnel_analysis.engine.matrix.source_matrix_counts`).

    Parameters
    ----------
    counts : DataFrame
        The ``by`` columns, ``leads``, ``converted``, ``opportunities``, ``pipeline_created``,
        ``closed``, ``won``, ``won_revenue``, ``avg_won_deal_size``, ``median_cycle_days``
        (missing counts and sums read as 0).
    by : str or list of str
        The segment columns.

    Returns
    -------
    DataFrame
        As :func:`source_matrix`, sorted by segment (missing last).

    Raises
    ------
    ValueError
        A missing column.

    Examples
    --------
    >>> counts = pd.DataFrame({"lead_source": ["Web"], "leads": [4], "converted": [1], "opportunities": [1],
    ...     "pipeline_created": [100.0], "closed": [1], "won": [1], "won_revenue": [100.0],
    ...     "avg_won_deal_size": [100.0], "median_cycle_days": [12.0]})
    >>> matrix_from_counts(counts, by="lead_source")[["lead_source", "conversion_rate", "win_rate"]]
      lead_source  conversion_rate  win_rate
    0         Web             0.25       1.0
    """
    keys = _by_list(by)
    _require(counts, [*keys, *_COUNT_COLS], "matrix_from_counts", "counts")
    out = counts.copy()
    n = ["leads", "converted", "opportunities", "closed", "won"]
    out[n] = out[n].fillna(0).astype("int64")
    out[["pipeline_created", "won_revenue"]] = out[["pipeline_created", "won_revenue"]].fillna(0.0)
    out = rate_table(out, successes="converted", trials="leads", name="conversion_rate")
    out = rate_table(out, successes="won", trials="closed", name="win_rate")
    order = [
        *keys,
        "leads",
        "converted",
        "conversion_rate",
        "conversion_rate_ci_low",
        "conversion_rate_ci_high",
        "opportunities",
        "pipeline_created",
        "closed",
        "won",
        "win_rate",
        "win_rate_ci_low",
        "win_rate_ci_high",
        "won_revenue",
        "avg_won_deal_size",
        "median_cycle_days",
    ]
    return out[order].sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)


def mature_leads(
    leads: pd.DataFrame, *, as_of, mature_days: int = 90, created_column: str = "created_date"
) -> pd.DataFrame:
    """The leads old enough on ``as_of`` to have had their chance to convert.

    A lead converts days or weeks after it is created, so a conversion rate over all leads is
    biased down by the newest ones, which have not converted *yet*. Rates by source compare
    fairly on the leads created at least ``mature_days`` before the end of ``as_of`` (choose it
    from the org's conversion delays: a cut-off most conversions happen within).

    Parameters
    ----------
    leads : DataFrame
        With ``created_column`` (timestamps; naive ones are read as UTC).
    as_of : date-like
        The report date (end of day).
    mature_days : int, default 90
        Minimum age in days; 0 keeps every lead created by the end of ``as_of``.
    created_column : str, default "created_date"
        The creation-time column of ``leads``.

    Returns
    -------
    DataFrame
        The rows of ``leads`` (all columns, index kept) created at least ``mature_days`` days
        before the end of ``as_of``; leads with no creation time are left out.

    Raises
    ------
    ValueError
        A negative ``mature_days``, an unreadable ``as_of`` or a missing column.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3"],
    ...                       "created_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-03-30"], utc=True)})
    >>> mature_leads(leads, as_of="2024-03-31", mature_days=30)["lead_id"].tolist()
    ['L1', 'L2']
    """
    fn = "mature_leads"
    if not isinstance(mature_days, (int, np.integer)) or mature_days < 0:
        raise ValueError(f"{fn}: mature_days must be a non-negative integer, got {mature_days!r}")
    _require(leads, [created_column], fn, "leads")
    end = _to_day(as_of, fn, "as_of") + pd.Timedelta(days=1)  # the end of the as_of day
    created = _utc_naive(leads[created_column])
    return leads[(created <= end - pd.Timedelta(days=int(mature_days))).fillna(False).to_numpy(dtype=bool)]


_LEAD_COLS = ["lead_id", "is_converted", "converted_opportunity_id"]
_COUNT_COLS = list(MATRIX_COUNTS)  # what an engine sums per segment (engine.matrix)
_OPP_COLS = ["opportunity_id", "amount", "is_closed", "is_won", "created_date", "close_date"]


def source_matrix(
    leads: pd.DataFrame, opps: pd.DataFrame, *, campaigns=None, campaign_members=None, by="lead_source"
) -> pd.DataFrame:
    """Leads, conversion, pipeline, revenue and win rate per lead source (or other lead segment).

    Parameters
    ----------
    leads : DataFrame
        With ``lead_id``, ``is_converted``, ``converted_opportunity_id`` and the ``by`` columns.
    opps : DataFrame
        With ``opportunity_id``, ``amount``, ``is_closed``, ``is_won``, ``created_date``, ``close_date``.
    campaigns, campaign_members : DataFrame, optional
        When ``campaign_members`` is given the rows are campaigns: see :func:`campaign_matrix`
        (``by`` must then stay at its default).
    by : str or list of str, default "lead_source"
        Lead columns that form the segments; missing values form their own segment (NA).

    Returns
    -------
    DataFrame
        Per segment: ``leads``, ``converted``, ``conversion_rate`` (+ ``_ci_low``, ``_ci_high``,
        Wilson 95 %), ``opportunities`` (converted from the segment's leads), ``pipeline_created``
        (sum of their amounts), ``closed``, ``won``, ``win_rate`` (+ CI), ``won_revenue``,
        ``avg_won_deal_size``, ``median_cycle_days``.

    Raises
    ------
    TypeError, ValueError
        When a table is not a DataFrame or lacks a column.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "lead_source": ["Web", "Web", "Referral"],
    ...                       "is_converted": [True, False, True], "converted_opportunity_id": ["O1", None, "O2"]})
    >>> opps = pd.DataFrame({"opportunity_id": ["O1", "O2"], "amount": [100.0, 50.0], "is_closed": [True, True],
    ...                      "is_won": [True, False], "created_date": pd.to_datetime(["2024-01-01"] * 2, utc=True),
    ...                      "close_date": pd.to_datetime(["2024-01-11", "2024-01-05"])})
    >>> source_matrix(leads, opps)[["lead_source", "leads", "conversion_rate", "won_revenue", "median_cycle_days"]]
      lead_source  leads  conversion_rate  won_revenue  median_cycle_days
    0    Referral      1              1.0          0.0                NaN
    1         Web      2              0.5        100.0               10.0
    """
    if campaign_members is not None:
        if _by_list(by) != ["lead_source"]:
            raise ValueError("source_matrix: with campaign_members the rows are campaigns; leave `by` as it is")
        return campaign_matrix(leads, opps, campaigns=campaigns, campaign_members=campaign_members)
    keys = _by_list(by)
    if not keys:
        raise ValueError("source_matrix: `by` names no column")
    _require(leads, [*_LEAD_COLS, *keys], "source_matrix", "leads")
    _require(opps, _OPP_COLS, "source_matrix", "opportunities")
    return _matrix(leads[[*keys, *_LEAD_COLS]], opps, keys)


def campaign_matrix(
    leads: pd.DataFrame, opps: pd.DataFrame, *, campaigns=None, campaign_members: pd.DataFrame
) -> pd.DataFrame:
    """The source matrix per campaign, through campaign members, with cost and return on cost.

    Every campaign of ``campaigns`` gets a row (0 leads when it has no lead member); member
    campaigns missing from ``campaigns`` get one too, with unknown cost.

    Parameters
    ----------
    leads : DataFrame
        With ``lead_id``, ``is_converted``, ``converted_opportunity_id``.
    opps : DataFrame
        With ``opportunity_id``, ``amount``, ``is_closed``, ``is_won``, ``created_date``, ``close_date``.
    campaigns : DataFrame, optional
        With ``campaign_id`` and optionally ``name``, ``type``, ``actual_cost``, ``budgeted_cost``;
        without it there is no cost and campaigns without lead members have no row.
    campaign_members : DataFrame
        With ``campaign_id`` and ``lead_id`` (contact-only members are not counted).

    Returns
    -------
    DataFrame
        ``campaign_id``, ``name`` and ``type`` (when ``campaigns`` has them), the columns of
        :func:`source_matrix`, then ``cost`` (``actual_cost``, else ``budgeted_cost``),
        ``cost_per_lead`` and ``return_on_cost`` (won revenue / cost), missing when the divisor
        is 0 or unknown.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2"], "is_converted": [True, False],
    ...                       "converted_opportunity_id": ["O1", None]})
    >>> opps = pd.DataFrame({"opportunity_id": ["O1"], "amount": [300.0], "is_closed": [True], "is_won": [True],
    ...                      "created_date": pd.to_datetime(["2024-01-01"], utc=True),
    ...                      "close_date": pd.to_datetime(["2024-02-01"])})
    >>> members = pd.DataFrame({"campaign_id": ["C1", "C1", "C2"], "lead_id": ["L1", "L2", "L2"]})
    >>> camps = pd.DataFrame({"campaign_id": ["C1", "C2"], "actual_cost": [None, 0.0], "budgeted_cost": [100.0, 5.0]})
    >>> campaign_matrix(leads, opps, campaigns=camps, campaign_members=members)[
    ...     ["campaign_id", "leads", "won_revenue", "cost", "cost_per_lead", "return_on_cost"]]
      campaign_id  leads  won_revenue   cost  cost_per_lead  return_on_cost
    0          C1      2        300.0  100.0           50.0             3.0
    1          C2      1          0.0    0.0            0.0             NaN
    """
    fn = "campaign_matrix"
    _require(leads, _LEAD_COLS, fn, "leads")
    _require(opps, _OPP_COLS, fn, "opportunities")
    _require(campaign_members, ["campaign_id", "lead_id"], fn, "campaign_members")
    m = campaign_members.loc[campaign_members["lead_id"].notna(), ["campaign_id", "lead_id"]]
    m = m.merge(leads[_LEAD_COLS].drop_duplicates("lead_id"), on="lead_id", how="inner")
    return campaign_matrix_from_counts(_matrix(m, opps, ["campaign_id"]), campaigns=campaigns)


def campaign_matrix_from_counts(matrix: pd.DataFrame, *, campaigns=None) -> pd.DataFrame:
    """The campaign matrix from the matrix per campaign: every campaign, its cost and return on cost.

    What :func:`campaign_matrix` returns, from :func:`matrix_from_counts` by ``campaign_id`` (an engine
    sums the counts: :func:`funnel_analysis.engine.matrix.campaign_matrix_counts`).

    Parameters
    ----------
    matrix : DataFrame
        The source matrix by ``campaign_id`` (its campaigns with a lead member).
    campaigns : DataFrame, optional
        With ``campaign_id`` and optionally ``name``, ``type``, ``actual_cost``, ``budgeted_cost``;
        None: ``matrix`` as it is.

    Returns
    -------
    DataFrame
        As :func:`campaign_matrix`.

    Raises
    ------
    ValueError
        A missing ``campaign_id``.

    Examples
    --------
    >>> counts = pd.DataFrame({"campaign_id": ["C1"], "leads": [4], "converted": [1], "opportunities": [1],
    ...     "pipeline_created": [100.0], "closed": [1], "won": [1], "won_revenue": [100.0],
    ...     "avg_won_deal_size": [100.0], "median_cycle_days": [12.0]})
    >>> camps = pd.DataFrame({"campaign_id": ["C1", "C2"], "actual_cost": [50.0, 10.0]})
    >>> campaign_matrix_from_counts(matrix_from_counts(counts, by="campaign_id"), campaigns=camps)[
    ...     ["campaign_id", "leads", "cost", "return_on_cost"]]
      campaign_id  leads  cost  return_on_cost
    0          C1      4  50.0             2.0
    1          C2      0  10.0             0.0
    """
    fn = "campaign_matrix_from_counts"
    _require(matrix, ["campaign_id"], fn, "matrix")
    out = matrix
    if campaigns is None:
        return out
    _require(campaigns, ["campaign_id"], fn, "campaigns")
    c = campaigns.drop_duplicates("campaign_id")
    cost = pd.Series(np.nan, index=c.index)
    for col in ("budgeted_cost", "actual_cost"):  # actual wins where known
        if col in c.columns:
            v = pd.to_numeric(c[col]).astype("float64")
            cost = v.where(v.notna(), cost)
    info = c[["campaign_id"] + [x for x in ("name", "type") if x in c.columns]].assign(cost=cost.to_numpy())
    ids = pd.concat([info["campaign_id"], out["campaign_id"]]).drop_duplicates()
    out = (
        pd.DataFrame({"campaign_id": ids.to_numpy()})
        .merge(info, on="campaign_id", how="left")
        .merge(out, on="campaign_id", how="left")
    )
    counts = ["leads", "converted", "opportunities", "closed", "won"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out[["pipeline_created", "won_revenue"]] = out[["pipeline_created", "won_revenue"]].fillna(0.0)
    out["cost_per_lead"] = out["cost"] / out["leads"].where(out["leads"] > 0)
    out["return_on_cost"] = out["won_revenue"] / out["cost"].where(out["cost"] > 0)
    out = out[[c for c in out.columns if c != "cost"][:-2] + ["cost", "cost_per_lead", "return_on_cost"]]
    return out.sort_values("campaign_id", kind="stable").reset_index(drop=True)


def compare_sources(
    matrix_or_leads: pd.DataFrame,
    a,
    b,
    *,
    metric: str = "conversion",
    by: str = "lead_source",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Is segment ``a``'s rate different from segment ``b``'s? Difference, its CI and a p-value.

    The test is Fisher's exact test when any expected count of the 2x2 table is below 5 (where
    the normal approximation is poor), else the pooled two-proportion z-test
    (:func:`statsmodels.stats.proportion.proportions_ztest`); both two-sided. The interval of
    the difference ``rate_a - rate_b`` is Newcombe's hybrid score interval
    (:func:`statsmodels.stats.proportion.confint_proportions_2indep`, ``method="newcomb"``),
    which stays inside [-1, 1] and behaves for small counts.

    Parameters
    ----------
    matrix_or_leads : DataFrame
        A :func:`source_matrix` / :func:`campaign_matrix` result, or leads (with ``is_converted``).
    a, b : object
        The two segments compared: values of column ``by``.
    metric : {"conversion", "win"}
        converted / leads, or won / closed (needs a matrix).
    by : str, default "lead_source"
        The segment column (``"campaign_id"`` for a campaign matrix).
    confidence : float, default 0.95
        Of the interval of the difference.

    Returns
    -------
    DataFrame
        One row: ``a``, ``b``, ``metric``, ``successes_a``, ``trials_a``, ``rate_a``, the same for
        ``b``, ``difference``, ``difference_ci_low``, ``difference_ci_high``, ``test`` ("fisher" /
        "z"), ``statistic`` (odds ratio / z), ``p_value``.

    Raises
    ------
    ValueError
        An unknown ``metric``, a segment that is not in the table or has no trials, or a table
        that is neither a matrix nor leads.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_source": ["A"] * 4 + ["B"] * 4, "is_converted": [1, 1, 1, 0, 0, 0, 0, 1]})
    >>> compare_sources(leads, "A", "B")[["rate_a", "rate_b", "difference", "test"]]
       rate_a  rate_b  difference    test
    0    0.75    0.25         0.5  fisher
    """
    fn = "compare_sources"
    cols = {"conversion": ("converted", "leads"), "win": ("won", "closed")}
    if metric not in cols:
        raise ValueError(f"{fn}: metric must be one of {sorted(cols)}, got {metric!r}")
    _require(matrix_or_leads, [by], fn, "the table")
    df = matrix_or_leads
    s_col, n_col = cols[metric]
    if s_col not in df.columns:
        if metric != "conversion" or "is_converted" not in df.columns:
            raise ValueError(f"{fn}: the table is neither a source matrix with {[s_col, n_col]} nor leads")
        df = df.assign(converted=_flag(df["is_converted"]).to_numpy(), leads=1)
    _require(df, [s_col, n_col], fn, "the table")
    counts = []
    for seg in (a, b):
        rows = df[df[by] == seg]
        if rows.empty:
            raise ValueError(f"{fn}: no {by} == {seg!r} in the table")
        s, n = int(rows[s_col].sum()), int(rows[n_col].sum())
        if n == 0:
            raise ValueError(f"{fn}: {by} == {seg!r} has no {n_col}, so no rate")
        counts.append((s, n))
    (s1, n1), (s2, n2) = counts
    table = np.array([[s1, n1 - s1], [s2, n2 - s2]], dtype=float)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    if (expected < 5).any():
        test, (stat, p) = "fisher", fisher_exact(table.astype(int))
    else:
        test, (stat, p) = "z", proportions_ztest([s1, s2], [n1, n2])
    low, high = confint_proportions_2indep(s1, n1, s2, n2, method="newcomb", compare="diff", alpha=1 - confidence)
    return pd.DataFrame(
        {
            "a": [a],
            "b": [b],
            "metric": [metric],
            "successes_a": [s1],
            "trials_a": [n1],
            "rate_a": [s1 / n1],
            "successes_b": [s2],
            "trials_b": [n2],
            "rate_b": [s2 / n2],
            "difference": [s1 / n1 - s2 / n2],
            "difference_ci_low": [float(low)],
            "difference_ci_high": [float(high)],
            "test": [test],
            "statistic": [float(stat)],
            "p_value": [float(p)],
        }
    )


def speed_to_lead(
    leads: pd.DataFrame,
    activities: pd.DataFrame | None,
    *,
    by=None,
    time_column: str = "created_date",
    first_touch: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Hours from a lead's creation to its first activity, and conversion by speed bucket.

    A lead's activities are those with ``who_id == lead_id``, timed by ``time_column`` of the
    activity (``created_date``, when it was logged, by default; ``activity_date`` is a date and
    counts as midnight UTC). Activities before the lead's creation are ignored (bad data or a
    date-only field); a lead with none left is ``"never"`` (a lead created recently may simply
    not have been worked yet). Leads with no creation time are left out.

    With ``first_touch`` (:func:`funnel_analysis.routing.first_touches`: the touch definition of a rules file, the
    clock from creation or assignment, business minutes, the SLA), each lead's first touch comes from it instead
    of ``activities``, and the table gains the wall-clock and business-minute median and p90 and the SLA breaches.

    Parameters
    ----------
    leads : DataFrame
        With ``lead_id``, ``created_date``, ``is_converted`` and the ``by`` columns.
    activities : DataFrame or None
        With ``who_id`` and ``time_column``; not read (may be None) when ``first_touch`` is given.
    by : str or list of str, optional
        Lead columns that form the segments (``"owner_id"``: per rep); None for all leads together.
    time_column : str, default "created_date"
        The activity column that times it.
    first_touch : DataFrame, optional
        Per lead: ``lead_id``, ``first_touch_at``, ``minutes_to_touch``, ``business_minutes_to_touch``,
        ``breached`` (nullable: not yet judged).

    Returns
    -------
    DataFrame
        Per segment and ``bucket`` (:data:`SPEED_BUCKETS`, then ``"all"``): ``leads``,
        ``converted``, ``conversion_rate`` (+ Wilson CI), ``contacted`` (leads with a first
        activity), ``median_hours`` and ``mean_hours`` to the first activity. The ``"all"`` row
        gives the segment's figures over all its leads. With ``first_touch`` also ``median_minutes``,
        ``p90_minutes``, ``median_business_minutes``, ``p90_business_minutes`` (of the touched leads),
        ``sla_judged``, ``sla_breaches``, ``breach_share`` (+ Wilson CI); ``attrs["note"]`` says the conversion
        figures are an association.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "owner_id": ["U", "U", "U"],
    ...                       "created_date": pd.to_datetime(["2024-01-01 08:00"] * 3, utc=True),
    ...                       "is_converted": [True, False, False]})
    >>> acts = pd.DataFrame({"who_id": ["L1", "L2", "L2"],
    ...                      "created_date": pd.to_datetime(["2024-01-01 08:30", "2024-01-02 10:00",
    ...                                                      "2024-01-05 08:00"], utc=True)})
    >>> speed_to_lead(leads, acts, by="owner_id")[["bucket", "leads", "conversion_rate", "median_hours"]].round(3)
      bucket  leads  conversion_rate  median_hours
    0    <1h      1            1.000          0.50
    1  1-24h      0              NaN           NaN
    2   1-7d      1            0.000         26.00
    3    >7d      0              NaN           NaN
    4  never      1            0.000           NaN
    5    all      3            0.333         13.25
    """
    fn = "speed_to_lead"
    keys = _by_list(by)
    _require(leads, ["lead_id", "created_date", "is_converted", *keys], fn, "leads")
    lead = leads[[*keys, "lead_id"]].assign(
        _created=_utc_naive(leads["created_date"]).to_numpy(), _conv=_flag(leads["is_converted"]).to_numpy()
    )
    lead = lead[lead["_created"].notna()]
    if first_touch is not None:
        _require(
            first_touch,
            ["lead_id", "first_touch_at", "minutes_to_touch", "business_minutes_to_touch", "breached"],
            fn,
            "first_touch",
        )
        ft = lookup(
            lead["lead_id"],
            first_touch,
            key="lead_id",
            columns=["first_touch_at", "minutes_to_touch", "business_minutes_to_touch", "breached"],
        )
        touched = ft["first_touch_at"].notna().to_numpy()
        lead["_hours"] = np.where(touched, ft["minutes_to_touch"].to_numpy("float64") / 60, np.nan)
        lead["_minutes"] = lead["_hours"] * 60
        lead["_bminutes"] = np.where(touched, ft["business_minutes_to_touch"].to_numpy("float64"), np.nan)
        breached = ft["breached"].astype("boolean")
        lead["_judged"] = breached.notna().to_numpy(dtype=int)
        lead["_breach"] = breached.fillna(False).to_numpy(dtype=int)
    else:
        _require(activities, ["who_id", time_column], fn, "activities")
        acts = pd.DataFrame(
            {"lead_id": activities["who_id"].to_numpy(), "_t": _utc_naive(activities[time_column]).to_numpy()}
        ).dropna()
        acts = acts.merge(lead[["lead_id", "_created"]].drop_duplicates("lead_id"), on="lead_id")
        acts = acts[acts["_t"] >= acts["_created"]]
        first = acts.groupby("lead_id")["_t"].min()
        pos = first.index.get_indexer(lead["lead_id"])  # (no map: empty activities have no str index)
        t_first = first.to_numpy("datetime64[us]")[np.maximum(pos, 0)] if len(first) else lead["_created"].to_numpy()
        span = (t_first - lead["_created"].to_numpy("datetime64[us]")) / np.timedelta64(1, "h")
        lead["_hours"] = np.where(pos >= 0, span, np.nan)
    idx = np.searchsorted(_EDGES, lead["_hours"].fillna(-1).to_numpy(), side="right") - 1
    lead["bucket"] = np.where(lead["_hours"].isna(), "never", np.array(SPEED_BUCKETS)[np.clip(idx, 0, 3)])
    buckets = list(SPEED_BUCKETS) + ["all"]
    both = pd.concat([lead, lead.assign(bucket="all")], ignore_index=True)
    both["bucket"] = pd.Categorical(both["bucket"], categories=buckets, ordered=True)
    both["_lead"] = 1
    aggs = {
        "leads": ("_lead", "sum"),
        "converted": ("_conv", "sum"),
        "contacted": ("_hours", "count"),
        "median_hours": ("_hours", "median"),
        "mean_hours": ("_hours", "mean"),
    }
    if first_touch is not None:
        aggs |= {
            "median_minutes": ("_minutes", "median"),
            "p90_minutes": ("_minutes", lambda v: v.quantile(0.9)),
            "median_business_minutes": ("_bminutes", "median"),
            "p90_business_minutes": ("_bminutes", lambda v: v.quantile(0.9)),
            "sla_judged": ("_judged", "sum"),
            "sla_breaches": ("_breach", "sum"),
        }
    g = both.groupby([*keys, "bucket"], dropna=False, observed=False, sort=True).agg(**aggs).reset_index()
    if keys:  # keep only segments that exist (observed=False crosses all key values)
        seen = lead[keys].drop_duplicates()
        g = g.merge(seen, on=keys, how="inner")
    g = g.astype({"leads": "int64", "converted": "int64", "contacted": "int64"})
    out = rate_table(g, successes="converted", trials="leads", name="conversion_rate")
    order = [
        *keys,
        "bucket",
        "leads",
        "converted",
        "conversion_rate",
        "conversion_rate_ci_low",
        "conversion_rate_ci_high",
        "contacted",
        "median_hours",
        "mean_hours",
    ]
    if first_touch is not None:
        out = out.astype({"sla_judged": "int64", "sla_breaches": "int64"})
        out = rate_table(out, successes="sla_breaches", trials="sla_judged", name="breach_share")
        order += [
            "median_minutes",
            "p90_minutes",
            "median_business_minutes",
            "p90_business_minutes",
            "sla_judged",
            "sla_breaches",
            "breach_share",
            "breach_share_ci_low",
            "breach_share_ci_high",
        ]
    out = out[order].sort_values([*keys, "bucket"], na_position="last", kind="stable").reset_index(drop=True)
    if first_touch is not None:
        out.attrs["note"] = "conversion by speed: " + ASSOCIATION_NOTE
    return out


def _mh_risk_ratio(tables: list[np.ndarray], confidence: float) -> tuple[float, float, float]:
    """Mantel-Haenszel pooled risk ratio (statsmodels) and its Greenland-Robins (1985) interval."""
    st = StratifiedTable(tables)
    rr = float(st.riskratio_pooled)
    a, b, c, d = (np.array([t[i, j] for t in tables], dtype=float) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    n1, n0, n = a + b, c + d, a + b + c + d
    r = np.sum(a * n0 / n)
    s = np.sum(c * n1 / n)
    var = np.sum((n1 * n0 * (a + c) - a * c * n) / n**2) / (r * s) if r > 0 and s > 0 else np.nan
    z = norm.ppf(0.5 + confidence / 2)
    if not np.isfinite(var) or not rr > 0:
        return rr, np.nan, np.nan
    half = z * np.sqrt(var)
    return rr, float(np.exp(np.log(rr) - half)), float(np.exp(np.log(rr) + half))


def speed_to_lead_effect(
    leads: pd.DataFrame,
    first_touch: pd.DataFrame,
    *,
    score_column: str = "lead_score",
    fast_minutes: float = 60,
    business_minutes: bool = True,
    bands=4,
    never_is_slow: bool = False,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Conversion of fast against slow first touches, within score bands and pooled (an association).

    Fast replies often go to the best leads, so the crude ratio mixes the effect of speed with that of the score.
    Within each score band the conversion rates of fast and slow leads are compared; the bands are pooled with the
    Mantel-Haenszel risk ratio (:class:`statsmodels.stats.contingency_tables.StratifiedTable`), whose interval is
    Greenland and Robins' (1985). It adjusts for the score only: it is labelled association, not cause.

    Parameters
    ----------
    leads : DataFrame
        With ``lead_id``, ``is_converted`` and ``score_column``; leads without a score are left out.
    first_touch : DataFrame
        From :func:`funnel_analysis.routing.first_touches`: ``lead_id``, ``first_touch_at``, ``minutes_to_touch``,
        ``business_minutes_to_touch``.
    score_column : str, default "lead_score"
        The score that drives fast replies (``Lead_Score__c``).
    fast_minutes : float, default 60
        A first touch within this many minutes is fast; later is slow.
    business_minutes : bool, default True
        Measure in business minutes (else wall clock).
    bands : int or list of float, default 4
        Quantile bands of the score (that many), or the band edges.
    never_is_slow : bool, default False
        Leads never touched count as slow; by default they are left out (a lead nobody answered is not a slow
        answer, and the sample's true ratio is defined on touched leads).
    confidence : float, default 0.95
        Of the intervals.

    Returns
    -------
    DataFrame
        One row per score ``band`` (``"0-20"``: scores from 0 through 20, the lowest edge included; ``fast_leads``, ``fast_converted``, ``fast_rate``, the same for ``slow``,
        ``rate_ratio``), then ``"crude"`` (all bands together) and ``"pooled (Mantel-Haenszel)"`` with
        ``rate_ratio_ci_low`` / ``_ci_high``. ``attrs["note"]``: :data:`ASSOCIATION_NOTE`.

    Raises
    ------
    ValueError
        A missing column, or bands that do not cut the scores.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": list("abcdefgh"), "lead_score": [10, 10, 10, 10, 90, 90, 90, 90],
    ...                       "is_converted": [True, False, False, False, True, True, True, False]})
    >>> ft = pd.DataFrame({"lead_id": list("abcdefgh"), "first_touch_at": pd.Timestamp("2025-01-01", tz="UTC"),
    ...                    "minutes_to_touch": [5, 100, 100, 100, 5, 5, 100, 100],
    ...                    "business_minutes_to_touch": [5, 100, 100, 100, 5, 5, 100, 100]})
    >>> speed_to_lead_effect(leads, ft, bands=[0, 50, 100])[["band", "fast_rate", "slow_rate", "rate_ratio"]]
                           band  fast_rate  slow_rate  rate_ratio
    0                      0-50        1.0        0.0         NaN
    1                    50-100        1.0        0.5         2.0
    2                     crude        1.0        0.2         5.0
    3  pooled (Mantel-Haenszel)        NaN        NaN         3.5

    Pooled: (1 * 3/4 + 2 * 2/4) / (0 * 1/4 + 1 * 2/4) = 1.75 / 0.5 = 3.5, against a crude 5.
    """
    fn = "speed_to_lead_effect"
    _require(leads, ["lead_id", "is_converted", score_column], fn, "leads")
    _require(
        first_touch, ["lead_id", "first_touch_at", "minutes_to_touch", "business_minutes_to_touch"], fn, "first_touch"
    )
    col = "business_minutes_to_touch" if business_minutes else "minutes_to_touch"
    # the two columns read, not a copy of every first-touch column (a million leads: 255 MiB at scale 50)
    ft = first_touch[["lead_id", "first_touch_at", col]].drop_duplicates("lead_id").set_index("lead_id")
    at = index_in(leads["lead_id"], ft.index.to_series())  # each lead's row in ft, -1 for none: one hash
    found = at >= 0
    # a last element for the leads without a row (-1 takes it): not touched, no minutes
    touched = np.append(ft["first_touch_at"].notna().to_numpy(dtype=bool), False)
    minutes = np.append(ft[col].to_numpy(dtype="float64", na_value=np.nan), np.nan)
    d = pd.DataFrame(
        {
            "score": pd.to_numeric(leads[score_column], errors="coerce").to_numpy("float64"),
            "conv": _flag(leads["is_converted"]).to_numpy(dtype=int),
            "touched": touched[at],
            "minutes": minutes[at],
        }
    )
    d = d[d["score"].notna().to_numpy() & found]
    if not never_is_slow:
        d = d[d["touched"]]
    d["fast"] = (d["touched"] & (d["minutes"] <= fast_minutes)).to_numpy()
    if isinstance(bands, (int, np.integer)):
        d["band"] = pd.qcut(d["score"], int(bands), duplicates="drop")
        d["band"] = d["band"].cat.rename_categories(lambda iv: f"{iv.left:.3g}-{iv.right:.3g}")
    else:
        edges = list(bands)
        labels = [f"{a:g}-{b:g}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
        d["band"] = pd.cut(d["score"], edges, include_lowest=True, labels=labels)
        if d["band"].isna().any():
            raise ValueError(f"{fn}: {int(d['band'].isna().sum())} scores fall outside the bands {list(bands)}")
    rows, tables = [], []
    groups = [(str(k), g) for k, g in d.groupby("band", observed=True, sort=True)] + [("crude", d)]
    for name, g in groups:
        f, sl = g[g["fast"]], g[~g["fast"]]
        row = {
            "band": name,
            "fast_leads": len(f),
            "fast_converted": int(f["conv"].sum()),
            "slow_leads": len(sl),
            "slow_converted": int(sl["conv"].sum()),
        }
        if name != "crude" and len(f) and len(sl):
            tables.append(
                np.array(
                    [
                        [row["fast_converted"], len(f) - row["fast_converted"]],
                        [row["slow_converted"], len(sl) - row["slow_converted"]],
                    ],
                    dtype=float,
                )
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["fast_rate"] = out["fast_converted"] / out["fast_leads"].where(out["fast_leads"] > 0)
    out["slow_rate"] = out["slow_converted"] / out["slow_leads"].where(out["slow_leads"] > 0)
    out["rate_ratio"] = (out["fast_rate"] / out["slow_rate"].where(out["slow_rate"] > 0)).astype("float64")
    out["rate_ratio_ci_low"] = np.nan
    out["rate_ratio_ci_high"] = np.nan
    rr, low, high = _mh_risk_ratio(tables, confidence) if tables else (np.nan, np.nan, np.nan)
    pooled = {
        "band": "pooled (Mantel-Haenszel)",
        "fast_leads": int(out["fast_leads"].iloc[-1]),
        "fast_converted": int(out["fast_converted"].iloc[-1]),
        "slow_leads": int(out["slow_leads"].iloc[-1]),
        "slow_converted": int(out["slow_converted"].iloc[-1]),
        "fast_rate": np.nan,
        "slow_rate": np.nan,
        "rate_ratio": rr,
        "rate_ratio_ci_low": low,
        "rate_ratio_ci_high": high,
    }
    out = pd.concat([out, pd.DataFrame([pooled])], ignore_index=True)
    cols = ["band", "fast_leads", "fast_converted", "fast_rate", "slow_leads", "slow_converted", "slow_rate"]
    out = out[[*cols, "rate_ratio", "rate_ratio_ci_low", "rate_ratio_ci_high"]]
    out.attrs["note"] = ASSOCIATION_NOTE
    return out
