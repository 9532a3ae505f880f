"""Funnel analytics: lead funnel and conversion, pipeline snapshot and cohort funnel.

Win rates, stage transitions and bottlenecks are in :mod:`funnel_analysis.funnel.winrates`, the headline
figures in :mod:`funnel_analysis.funnel.kpis`.

Every function is pure: it takes DataFrames and keyword options, and returns a new tidy
DataFrame. Every rate comes with its counts and a 95 % Wilson interval
(:mod:`funnel_analysis.stats`), because segmented CRM counts are small. ``by`` (``None``, a column
name or a list of them) splits any result into segments; missing segment values form their own
segment (NA), so segment counts always add up to the total.

Stages are data: the order, and which stages are closed or won, come from the ``stages`` table
(``crm.stages``), never from stage names.

How a stage counts as *reached* (cohort funnel, stage transitions)
------------------------------------------------------------------
Evidence that an opportunity was at least at open stage *k* (the *k*-th open stage by
``sort_order``) is:

- a history row in stage *k* or any later open stage, dated by the row;
- a history row in a won stage, or the opportunity being won now: a won deal passed every
  open stage (dated by the row, or by ``close_date``);
- its current stage, dated by its last history row, or by its creation date when it has no
  history at all (as :meth:`CrmData.as_of` does, the current values stand from creation).

So a deal that skipped a stage still passed it, a deal that moved backwards is counted once,
and a lost deal reached only the highest open stage it was in. Evidence with an unknown date
counts without a conversion window and never within one. *Won* is the current state: a deal
that was once in a won stage and is lost now passed every open stage, but is not a win.

Days and durations are counted in UTC calendar days: a timestamp is placed on its UTC date,
date-only fields are used as they are. Durations that come out negative (a close date before
the creation date, which real exports contain) are data errors and are left out of the
timing figures, never clipped to 0; their ``*_n`` columns say how many durations remain.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages,
...               created_from="2024-01-01", created_to="2024-03-31", window_days=90)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import (
    by_list as _by_list,
)
from .._util.frames import (
    day_number as _day_number,
)
from .._util.frames import (
    days as _days,
)
from .._util.frames import (
    flag as _flag,
)
from .._util.frames import (
    group_sum as _group_sum,
)
from .._util.frames import (
    reach_days as _reach_days,
)
from .._util.frames import (
    require as _require,
)
from .._util.frames import (
    stage_ranks as _stage_ranks,
)
from .._util.frames import (
    to_day as _to_day,
)
from ..crm.sections import DEFAULT_LEAD_STATUSES  # Salesforce's standard statuses: the order without LeadStatus.csv
from ..stats import rate_table

__all__ = [
    "lead_funnel",
    "lead_funnel_from_sums",
    "lead_conversion",
    "snapshot_funnel",
    "snapshot_from_sums",
    "cohort_window",
    "cohort_funnel",
    "cohort_from_sums",
    "DEFAULT_LEAD_STATUSES",
]

CONVERTED_STEP = "Converted to opportunity"
UNKNOWN_STAGE = "(unknown stage)"
MISSING_STATUS = "(no status)"


# ---- helpers --------------------------------------------------------------------------------
def _conversion_unknown(leads: pd.DataFrame) -> bool:
    """Whether the leads' conversion is unknown: there are rows, and not one ``is_converted`` value.

    The loader gives a column the source lacked (an export without ``IsConverted``) as all null, so
    an all-null ``is_converted`` means "not recorded", never "not converted"; a single known value
    makes the column known, and its missing values then read as not converted.
    """
    return len(leads) > 0 and not leads["is_converted"].notna().any()


def _segments(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if not by:
        return pd.DataFrame(index=[0])
    return df[by].drop_duplicates().sort_values(by, na_position="last").reset_index(drop=True)


# ---- leads ----------------------------------------------------------------------------------
def lead_funnel(leads: pd.DataFrame, *, by=None, status_order=None) -> pd.DataFrame:
    """Leads by status, in the org's status order, then the share converted to an opportunity.

    Parameters
    ----------
    leads : DataFrame
        With ``status`` and ``is_converted`` (missing read as not converted).
    by : str or list of str, optional
        Segment columns.
    status_order : list of str, optional
        The org's lead statuses in funnel order. Every listed status gets a row (0 when
        unused); statuses found but not listed follow, in order of first appearance. Default:
        Salesforce's standard statuses (:data:`DEFAULT_LEAD_STATUSES`) that occur, then the
        others in order of first appearance. Leads without status form ``"(no status)"``.

    Returns
    -------
    DataFrame
        Per segment and step: ``step`` (status, or ``"Converted to opportunity"``), ``kind``
        (``"status"`` / ``"converted"``), ``count``, ``total`` (leads in the segment),
        ``share`` = count / total with ``share_ci_low``, ``share_ci_high``. When the leads'
        conversion is unknown (no ``is_converted`` value at all: an export without
        ``IsConverted``) the converted step's ``count`` is null (the column is then
        nullable ``Int64``) and its share NaN.

    Examples
    --------
    >>> leads = pd.DataFrame({"status": ["Working - Contacted", "Closed - Converted"],
    ...                       "is_converted": [False, True]})
    >>> lead_funnel(leads)[["step", "count", "share"]]
                           step  count  share
    0       Working - Contacted      1    0.5
    1        Closed - Converted      1    0.5
    2  Converted to opportunity      1    0.5
    """
    by = _by_list(by)
    _require(leads, ["status", "is_converted", *by], "lead_funnel", "leads")
    status = leads["status"].astype("str").fillna(MISSING_STATUS)
    rows = leads[by].assign(
        status=status.to_numpy(),
        n=1,
        converted=_flag(leads["is_converted"]).to_numpy().astype("int64"),
        first_row=np.arange(len(leads), dtype="int64"),
    )
    keys = [*by, "status"]
    sums = rows.groupby(keys, dropna=False, observed=True, sort=False).agg(
        n=("n", "sum"), converted=("converted", "sum"), first_row=("first_row", "min")
    )
    sums = sums.reset_index()
    return lead_funnel_from_sums(sums, by=by, status_order=status_order, conversion_unknown=_conversion_unknown(leads))


def lead_funnel_from_sums(
    sums: pd.DataFrame, *, by=None, status_order=None, conversion_unknown: bool = False
) -> pd.DataFrame:
    """The table of :func:`lead_funnel` from its counts per segment and status (the pandas path's or an engine's).

    Parameters
    ----------
    sums : DataFrame
        One row per segment and status: the ``by`` columns, ``status`` (:data:`MISSING_STATUS` or
        missing for leads without one), ``n`` (leads), ``converted`` (of them converted) and
        ``first_row`` (the place of the first such lead among all the leads, which orders the
        statuses not listed; :func:`funnel_analysis.engine.funnel.lead_status_sums` gives them).
    by : str or list of str, optional
        The segment columns.
    status_order : list of str, optional
        As in :func:`lead_funnel`.
    conversion_unknown : bool, default False
        The leads record no conversion at all (no ``is_converted`` value): the converted step's
        count is null, its share NaN.

    Returns
    -------
    DataFrame
        As :func:`lead_funnel`. ``sums`` is not changed.

    Raises
    ------
    ValueError
        When ``sums`` lacks a column, or ``status_order`` lists a status twice.

    Examples
    --------
    >>> sums = pd.DataFrame({"status": ["Open", "Closed - Converted"], "n": [3, 1],
    ...                      "converted": [0, 1], "first_row": [1, 0]})
    >>> lead_funnel_from_sums(sums)[["step", "count", "total"]]
                           step  count  total
    0        Closed - Converted      1      4
    1                      Open      3      4
    2  Converted to opportunity      1      4
    """
    by = _by_list(by)
    _require(sums, [*by, "status", "n", "converted", "first_row"], "lead_funnel_from_sums", "sums")
    if status_order is not None and len(set(status_order)) != len(list(status_order)):
        raise ValueError("lead_funnel: status_order lists a status twice")
    status = sums["status"].astype("str").fillna(MISSING_STATUS)
    listed = status != MISSING_STATUS
    first = sums["first_row"].to_numpy()[listed.to_numpy()]
    named = status[listed].to_numpy()
    seen = list(dict.fromkeys(named[np.argsort(first, kind="stable")]))  # order of first appearance
    if status_order is None:
        order = [s for s in DEFAULT_LEAD_STATUSES if s in seen]
    else:
        order = list(status_order)
    order += [s for s in seen if s not in order] + ([MISSING_STATUS] if (~listed).any() else [])
    if by:
        groups = sums.groupby(by, dropna=False, observed=True, sort=True)
        segment = groups.ngroup().to_numpy()
        segments = groups[["n", "converted"]].sum().reset_index()
    else:
        segment = np.zeros(len(sums), dtype="int64")
        segments = pd.DataFrame({"n": [sums["n"].sum()], "converted": [sums["converted"].sum()]})
    step_of = pd.Categorical(status.to_numpy(), categories=order).codes
    counts = np.zeros((len(segments), len(order)), dtype="int64")
    np.add.at(counts, (segment, step_of), sums["n"].to_numpy(dtype="int64"))
    total = segments["n"].to_numpy(dtype="int64")
    steps = [
        segments[by].assign(step=s, kind="status", count=counts[:, i], total=total, _o=i) for i, s in enumerate(order)
    ]
    steps.append(
        segments[by].assign(
            step=CONVERTED_STEP,
            kind="converted",
            count=segments["converted"].to_numpy(dtype="int64"),
            total=total,
            _o=len(order),
        )
    )
    out = pd.concat(steps, ignore_index=True)
    out = out.sort_values([*by, "_o"], na_position="last", kind="stable").drop(columns="_o")
    out = out.astype({"count": "int64", "total": "int64"}).reset_index(drop=True)
    out = rate_table(out, successes="count", trials="total", name="share")
    if conversion_unknown:  # the export has no conversion flag: that step is unknown, not 0
        unknown = (out["kind"] == "converted").to_numpy()
        out["count"] = out["count"].astype("Int64").mask(unknown)
        out.loc[unknown, ["share", "share_ci_low", "share_ci_high"]] = np.nan
    return out


def lead_conversion(leads: pd.DataFrame, *, by=None, window_days=None, as_of=None) -> pd.DataFrame:
    """Lead-to-opportunity conversion rate and time to convert, per segment.

    With ``window_days`` the rate is a *windowed* conversion rate: only leads created at least
    ``window_days`` before ``as_of`` count, and only if they converted within ``window_days`` of
    creation. Why: a lead created last week has had no time to convert, so a plain "converted /
    all leads" rate is biased down by every young lead, and more so for a segment (or a month)
    whose leads are younger. Holding every lead to the same window makes segments and periods
    comparable.

    Parameters
    ----------
    leads : DataFrame
        With ``is_converted``, ``created_date`` (timestamp) and ``converted_date`` (date).
    by : str or list of str, optional
    window_days : int, optional
        Conversion window in days; needs ``as_of``.
    as_of : date-like, optional
        Leads created after this day are left out, and conversions after it do not count.
        For a full as-of cut use ``crm.as_of(date).leads``.

    Returns
    -------
    DataFrame
        Per segment: ``leads`` (counted), ``converted``, ``conversion_rate`` with
        ``conversion_rate_ci_low`` / ``_ci_high``, ``excluded`` (leads of the segment not counted:
        created after ``as_of``, too young for the window, or - with a window - of unknown
        creation date or converted on an unknown date), ``days_n``, ``median_days_to_convert``,
        ``mean_days_to_convert``. Days run from the creation day (UTC) to the conversion day;
        a negative span (conversion before creation, a data error) is left out of the timing.
        When the leads' conversion is unknown (not one ``is_converted``
        value: an export without ``IsConverted``) every conversion figure is
        null: ``converted`` (nullable ``Int64``), the rate, its bounds and the days; ``leads``
        still counts the leads.

    Examples
    --------
    >>> leads = pd.DataFrame({"is_converted": [True, False],
    ...                       "created_date": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
    ...                       "converted_date": pd.to_datetime(["2024-01-11", None])})
    >>> lead_conversion(leads)[["leads", "converted", "conversion_rate", "median_days_to_convert"]]
       leads  converted  conversion_rate  median_days_to_convert
    0      2          1              0.5                    10.0
    """
    by = _by_list(by)
    _require(leads, ["is_converted", "created_date", "converted_date", *by], "lead_conversion", "leads")
    if window_days is not None and (as_of is None or window_days < 0):
        raise ValueError(
            "lead_conversion: window_days needs as_of (the day the window is measured back from) and must be >= 0"
        )
    created, conv_day = _days(leads["created_date"]), _days(leads["converted_date"])
    converted = _flag(leads["is_converted"]).to_numpy()
    counted = np.ones(len(leads), dtype=bool)
    if as_of is not None:
        cut = _day_number(as_of, "lead_conversion", "as_of")
        counted &= ~(created > cut)  # undated leads are kept without a window: their age is unknown
        converted = converted & ~(conv_day > cut)
    span = conv_day - created
    if window_days is not None:
        counted &= created <= cut - window_days
        counted &= ~(converted & np.isnan(conv_day))  # outcome within the window unknown
        converted = converted & (span <= window_days)
    data = leads[by].copy()
    data["_lead"] = counted
    data["_conv"] = counted & converted
    data["_excl"] = ~counted
    data["_days"] = np.where(data["_conv"] & (span >= 0), span, np.nan)
    if by:
        g = data.groupby(by, dropna=False, observed=True, sort=True)
    else:
        g = data.assign(_all=0).groupby("_all")
    out = g.agg(
        leads=("_lead", "sum"),
        converted=("_conv", "sum"),
        excluded=("_excl", "sum"),
        days_n=("_days", "count"),
        median_days_to_convert=("_days", "median"),
        mean_days_to_convert=("_days", "mean"),
    )
    out = out.reset_index(drop=not by)
    if not by and out.empty:
        out = pd.DataFrame(
            {
                "leads": [0],
                "converted": [0],
                "excluded": [0],
                "days_n": [0],
                "median_days_to_convert": [np.nan],
                "mean_days_to_convert": [np.nan],
            }
        )
    out = out.astype({c: "int64" for c in ("leads", "converted", "excluded", "days_n")})
    out = rate_table(out, successes="converted", trials="leads", name="conversion_rate")
    if _conversion_unknown(leads):
        out["converted"] = pd.array([pd.NA] * len(out), dtype="Int64")
        rates = ["conversion_rate", "conversion_rate_ci_low", "conversion_rate_ci_high"]
        out[[*rates, "median_days_to_convert", "mean_days_to_convert"]] = np.nan
        out["days_n"] = 0  # no conversion day is known
    first = [*by, "leads", "converted", "conversion_rate", "conversion_rate_ci_low", "conversion_rate_ci_high"]
    return out[first + [c for c in out.columns if c not in first]]


# ---- opportunities --------------------------------------------------------------------------
def snapshot_funnel(opps: pd.DataFrame, *, stages: pd.DataFrame, by=None, include_closed: bool = False) -> pd.DataFrame:
    """Pipeline on one day: number and amount of opportunities per stage.

    Pass the opportunities of an as-of cut, ``crm.as_of(day).opportunities``, for the pipeline
    as it stood that day. No interval is given: this is a census of the pipeline, not a sample.

    Parameters
    ----------
    opps : DataFrame
        With ``stage_name``, ``is_closed`` and ``amount``.
    stages : DataFrame
        The stages table (``crm.stages``): the rows and their order (``sort_order``).
    by : str or list of str, optional
    include_closed : bool, default False
        Also give rows for the closed stages (and count closed deals).

    Returns
    -------
    DataFrame
        Per segment and stage, in stage order: ``stage_name``, ``sort_order``, ``is_closed``,
        ``is_won``, ``count``, ``amount`` (sum; 0 for none), ``amount_missing`` (deals without an
        amount), ``share_count`` and ``share_amount`` (of the segment's pipeline). Deals in a
        stage the stages table does not list (or unknown, as :meth:`CrmData.as_of` leaves a deal
        without history that closed later) form a last row ``"(unknown stage)"``, so that the
        rows add up to the pipeline.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["Open", "Won"], "sort_order": [1, 2],
    ...                    "is_closed": [False, True], "is_won": [False, True]})
    >>> o = pd.DataFrame({"stage_name": ["Open", "Open", "Won"], "is_closed": [False, False, True],
    ...                   "amount": [10.0, None, 5.0]})
    >>> snapshot_funnel(o, stages=st)[["stage_name", "count", "amount", "amount_missing"]]
      stage_name  count  amount  amount_missing
    0       Open      2    10.0               1
    """
    by = _by_list(by)
    _require(opps, ["stage_name", "is_closed", "amount", *by], "snapshot_funnel", "opportunities")
    if not include_closed:
        opps = opps[~_flag(opps["is_closed"])]
    data = opps[by].assign(
        stage_name=opps["stage_name"].astype("str").to_numpy(),
        _n=1,
        _amt=opps["amount"].to_numpy(),
        _miss=opps["amount"].isna().to_numpy(),
    )
    sums = (
        data.groupby([*by, "stage_name"], dropna=False, observed=True)
        .agg(count=("_n", "sum"), amount=("_amt", "sum"), amount_missing=("_miss", "sum"))
        .reset_index()
    )
    return snapshot_from_sums(sums, stages=stages, by=by, include_closed=include_closed)


def snapshot_from_sums(
    sums: pd.DataFrame, *, stages: pd.DataFrame, by=None, include_closed: bool = False
) -> pd.DataFrame:
    """The snapshot funnel from its sums per segment and stage (an engine sums them).

    What :func:`snapshot_funnel` returns, from ``count``, ``amount`` and ``amount_missing`` per
    segment and stage name (:func:`funnel_analysis.engine.funnel.snapshot_sums`): the stage rows in
    order, stages the table does not list gathered in ``"(unknown stage)"``, the shares.

    Parameters
    ----------
    sums : DataFrame
        The ``by`` columns, ``stage_name`` (missing: unknown), ``count``, ``amount``,
        ``amount_missing``, of the deals the funnel counts (closed ones only with
        ``include_closed``).
    stages : DataFrame
        The stages table (``crm.stages``).
    by : str or list of str, optional
        The segment columns.
    include_closed : bool, default False
        Also give rows for the closed stages.

    Returns
    -------
    DataFrame
        As :func:`snapshot_funnel`.

    Raises
    ------
    ValueError
        A missing column.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["Open", "Won"], "sort_order": [1, 2],
    ...                    "is_closed": [False, True], "is_won": [False, True]})
    >>> sums = pd.DataFrame({"stage_name": ["Open", "Elsewhere"], "count": [2, 1], "amount": [10.0, 5.0],
    ...                      "amount_missing": [1, 0]})
    >>> snapshot_from_sums(sums, stages=st)[["stage_name", "count", "amount", "share_count"]]
            stage_name  count  amount  share_count
    0             Open      2    10.0     0.666667
    1  (unknown stage)      1     5.0     0.333333
    """
    by = _by_list(by)
    _require(sums, [*by, "stage_name", "count", "amount", "amount_missing"], "snapshot_from_sums", "sums")
    _require(stages, ["stage_name", "sort_order", "is_closed", "is_won"], "snapshot_funnel", "stages")
    st = stages.drop_duplicates("stage_name").sort_values("sort_order", kind="stable")
    st = st.assign(is_closed=_flag(st["is_closed"]), is_won=_flag(st["is_won"]))
    if not include_closed:
        st = st[~st["is_closed"]]
    rows = st[["stage_name", "sort_order", "is_closed", "is_won"]].reset_index(drop=True)
    stage = sums["stage_name"].astype("str").where(sums["stage_name"].isin(rows["stage_name"]), UNKNOWN_STAGE)
    if (stage == UNKNOWN_STAGE).any():
        rows = pd.concat(
            [
                rows,
                pd.DataFrame(
                    {"stage_name": [UNKNOWN_STAGE], "sort_order": [np.nan], "is_closed": [pd.NA], "is_won": [pd.NA]}
                ),
            ],
            ignore_index=True,
        )
    merged = (
        sums[[*by, "count", "amount", "amount_missing"]]
        .assign(stage_name=stage.to_numpy())
        .groupby([*by, "stage_name"], dropna=False, observed=True)
        .agg(count=("count", "sum"), amount=("amount", "sum"), amount_missing=("amount_missing", "sum"))
        .reset_index()
    )
    grid = _segments(sums, by).merge(rows, how="cross") if by else rows
    out = grid.merge(merged, on=[*by, "stage_name"], how="left")
    out = out.fillna({"count": 0, "amount": 0.0, "amount_missing": 0})
    out = out.astype({"count": "int64", "amount_missing": "int64", "amount": "float64"})
    seg = out.groupby(by, dropna=False)[["count", "amount"]].transform("sum") if by else out[["count", "amount"]].sum()
    out["share_count"] = out["count"] / (seg["count"].where(seg["count"] > 0) if by else (seg["count"] or np.nan))
    out["share_amount"] = out["amount"] / (seg["amount"].where(seg["amount"] > 0) if by else (seg["amount"] or np.nan))
    return out.reset_index(drop=True)


def cohort_window(*, as_of, cohort_days: int, window_days: int | None = None) -> pd.DataFrame:
    """The cohort a report follows: ``cohort_days`` days of creation, ending ``window_days`` before ``as_of``.

    Ending the cohort a whole conversion window before the report date gives every deal of it
    the full window to move on, so the shares are not pulled down by young deals.

    Parameters
    ----------
    as_of : date-like
        The report date.
    cohort_days : int
        Days of the cohort (both ends included), at least 1.
    window_days : int, optional
        The conversion window; ``None`` for 0 (the cohort ends on ``as_of``).

    Returns
    -------
    DataFrame
        One row: ``created_from`` and ``created_to`` (naive days).

    Examples
    --------
    >>> cohort_window(as_of="2024-06-30", cohort_days=30, window_days=10)
      created_from created_to
    0   2024-05-22 2024-06-20
    """
    if int(cohort_days) < 1:
        raise ValueError(f"cohort_window: cohort_days must be at least 1, got {cohort_days!r}")
    if window_days is not None and int(window_days) < 0:
        raise ValueError(f"cohort_window: window_days must be >= 0, got {window_days!r}")
    day = _to_day(as_of, "cohort_window")
    created_to = day - pd.Timedelta(days=int(window_days or 0))
    created_from = created_to - pd.Timedelta(days=int(cohort_days) - 1)
    return pd.DataFrame({"created_from": [created_from], "created_to": [created_to]})


def cohort_funnel(
    opps: pd.DataFrame,
    history: pd.DataFrame,
    *,
    stages: pd.DataFrame,
    by=None,
    created_from=None,
    created_to=None,
    window_days=None,
) -> pd.DataFrame:
    """Of the opportunities created in a period, the share that reached each stage.

    An opportunity reached open stage *k* when there is evidence (see the module notes) that
    it was at stage *k* or later, or it was won; the last row is the won stage(s), reached by
    the deals that are won now. A skipped stage counts as passed, a backward move is not
    counted twice, and a lost deal reached only the highest open stage it was in.

    Parameters
    ----------
    opps : DataFrame
        With ``opportunity_id``, ``created_date``, ``stage_name``, ``is_won``, ``close_date``,
        ``amount``.
    history : DataFrame
        ``opportunity_history`` with ``opportunity_id``, ``created_date``, ``stage_name``
        (take both tables from the same as-of cut).
    stages : DataFrame
        The stages table; the funnel's steps are its open stages by ``sort_order``.
    by : str or list of str, optional
    created_from, created_to : date-like, optional
        The cohort: opportunities created on or after ``created_from`` and on or before the
        end of ``created_to`` (UTC days, both inclusive).
    window_days : int, optional
        Conversion window: only evidence dated within ``window_days`` days of creation counts
        (a win by its ``close_date``). Use it to compare cohorts fairly, and end the cohort at
        least ``window_days`` before the data's as-of day, or young deals pull the shares down.

    Returns
    -------
    DataFrame
        Per segment and step: ``step`` (1, 2, ...), ``stage_name``, ``sort_order``, ``cohort``
        (opportunities created in the period), ``reached``, ``cohort_amount`` and ``amount`` (sums
        of the amounts of the cohort and of the deals that reached the step),
        ``share`` = reached / cohort (cumulative conversion) with ``share_ci_low/high``, and
        ``stage_conversion`` = reached / reached at the step before (the cohort for step 1)
        with ``stage_conversion_ci_low/high``. With several won stages the last row's
        ``stage_name`` joins them with " / ".

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["A", "B", "Won", "Lost"], "sort_order": [1, 2, 3, 4],
    ...                    "is_closed": [False, False, True, True], "is_won": [False, False, True, False]})
    >>> o = pd.DataFrame({"opportunity_id": ["1", "2"], "stage_name": ["Won", "Lost"],
    ...                   "created_date": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
    ...                   "is_won": [True, False], "close_date": pd.to_datetime(["2024-02-01", "2024-02-01"]),
    ...                   "amount": [1.0, 2.0]})
    >>> h = pd.DataFrame({"opportunity_id": ["2"], "stage_name": ["A"],
    ...                   "created_date": pd.to_datetime(["2024-01-02"], utc=True)})
    >>> cohort_funnel(o, h, stages=st)[["stage_name", "reached", "share", "stage_conversion"]]
      stage_name  reached  share  stage_conversion
    0          A        2    1.0               1.0
    1          B        1    0.5               0.5
    2        Won        1    0.5               1.0
    """
    by = _by_list(by)
    fn = "cohort_funnel"
    _require(
        opps,
        ["opportunity_id", "created_date", "stage_name", "is_won", "close_date", "amount", *by],
        fn,
        "opportunities",
    )
    _require(history, ["opportunity_id", "created_date", "stage_name"], fn, "history")
    if window_days is not None and window_days < 0:
        raise ValueError(f"{fn}: window_days must be >= 0, got {window_days!r}")
    open_st, ranks, k, won_names = _stage_ranks(stages, fn)
    created = _days(opps["created_date"])
    keep = np.ones(len(opps), dtype=bool)
    if created_from is not None:
        keep &= created >= _day_number(created_from, fn, "created_from")
    if created_to is not None:
        keep &= created <= _day_number(created_to, fn, "created_to")
    opps = opps[keep].reset_index(drop=True)
    reach = _reach_days(opps, history, ranks, k, window_days)
    won = _flag(opps["is_won"]).to_numpy()
    if window_days is not None:
        won = won & ((_days(opps["close_date"]) - _days(opps["created_date"])) <= window_days)
    flags = np.column_stack([~np.isnan(reach), won]) if len(opps) else np.zeros((0, k + 1), dtype=bool)
    amount = opps["amount"].to_numpy("float64")
    data = opps[by].copy()
    data["cohort"] = 1
    data["cohort_amount"] = amount
    for i in range(k + 1):
        data[f"reached_{i + 1}"] = flags[:, i]
        data[f"amount_{i + 1}"] = np.where(flags[:, i], amount, np.nan)
    cols = ["cohort", "cohort_amount"] + [f"reached_{i + 1}" for i in range(k + 1)]
    sums = _group_sum(data, by, cols + [f"amount_{i + 1}" for i in range(k + 1)])
    return cohort_from_sums(sums, stages=stages, by=by)


def cohort_from_sums(sums: pd.DataFrame, *, stages: pd.DataFrame, by=None) -> pd.DataFrame:
    """The table of :func:`cohort_funnel` from its per-segment sums (the pandas path's or an engine's).

    Parameters
    ----------
    sums : DataFrame
        One row per segment: the ``by`` columns, ``cohort``, ``cohort_amount``, and for each step
        *i* = 1 .. K+1 (the K open stages of ``stages``, then the won step) ``reached_<i>`` and
        ``amount_<i>`` (:func:`funnel_analysis.engine.funnel.cohort_sums` gives them).
    stages : DataFrame
        The stages table the sums were made with.
    by : str or list of str, optional
        The segment columns.

    Returns
    -------
    DataFrame
        As :func:`cohort_funnel`. ``sums`` is not changed.

    Raises
    ------
    ValueError
        When ``sums`` lacks a column, or the stages have no open stage.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["A", "Won", "Lost"], "sort_order": [1, 2, 3],
    ...                    "is_closed": [False, True, True], "is_won": [False, True, False]})
    >>> sums = pd.DataFrame({"cohort": [4], "cohort_amount": [40.0], "reached_1": [3], "reached_2": [1],
    ...                      "amount_1": [30.0], "amount_2": [10.0]})
    >>> cohort_from_sums(sums, stages=st)[["stage_name", "reached", "share", "stage_conversion"]]
      stage_name  reached  share  stage_conversion
    0          A        3   0.75          0.750000
    1        Won        1   0.25          0.333333
    """
    fn = "cohort_from_sums"
    by = _by_list(by)
    open_st, _, k, won_names = _stage_ranks(stages, fn)
    steps = range(1, k + 2)
    _require(
        sums,
        [*by, "cohort", "cohort_amount", *(f"reached_{i}" for i in steps), *(f"amount_{i}" for i in steps)],
        fn,
        "sums",
    )
    names = open_st["stage_name"].tolist() + [" / ".join(won_names) or "Won"]
    orders = open_st["sort_order"].tolist() + [stages.loc[stages["stage_name"].isin(won_names), "sort_order"].min()]
    parts = []
    for i in range(k + 1):
        prev = sums["cohort"] if i == 0 else sums[f"reached_{i}"]
        parts.append(
            sums[by].assign(
                step=i + 1,
                stage_name=names[i],
                sort_order=orders[i],
                cohort=sums["cohort"],
                reached=sums[f"reached_{i + 1}"],
                cohort_amount=sums["cohort_amount"],
                amount=sums[f"amount_{i + 1}"],
                _prev=prev,
            )
        )
    out = pd.concat(parts, ignore_index=True).sort_values([*by, "step"], na_position="last", kind="stable")
    out = out.astype(
        {"cohort": "int64", "reached": "int64", "_prev": "int64", "amount": "float64", "cohort_amount": "float64"}
    )
    out = rate_table(out, successes="reached", trials="cohort", name="share")
    out = rate_table(out, successes="reached", trials="_prev", name="stage_conversion")
    return out.drop(columns="_prev").reset_index(drop=True)
