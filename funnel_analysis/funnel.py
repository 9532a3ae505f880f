"""Funnel analytics: lead funnel and conversion, pipeline snapshot, cohort funnel, win rates,
bottlenecks and headline KPIs.

Every function is pure: it takes DataFrames (or a :class:`~funnel_analysis.crm.CrmData`) and
keyword options, and returns a new tidy DataFrame. Every rate comes with its counts and a 95 %
Wilson interval (:mod:`funnel_analysis.stats`), because segmented CRM counts are small. ``by``
(``None``, a column name or a list of them) splits any result into segments; missing segment
values form their own segment (NA), so segment counts always add up to the total.

Stages are data: the order, and which stages are closed or won, come from the ``stages`` table
(``crm.stages``), never from stage names.

How a stage counts as *reached* (cohort funnel, transitions)
-----------------------------------------------------------
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

from .periods import fiscal_period
from .stats import rate_table

__all__ = ["lead_funnel", "lead_conversion", "snapshot_funnel", "cohort_funnel", "win_rates",
           "stage_transitions", "bottlenecks", "kpis", "DEFAULT_LEAD_STATUSES"]

#: Salesforce's standard LeadStatus picklist, the default order of the lead funnel.
DEFAULT_LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                         "Closed - Not Converted")
CONVERTED_STEP = "Converted to opportunity"
UNKNOWN_STAGE = "(unknown stage)"
MISSING_STATUS = "(no status)"


# ---- shared helpers -------------------------------------------------------------------------
def _by_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _require(df, columns, fn: str, table: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{fn}: {table} must be a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{fn}: {table} has no column(s) {missing}; it has {list(df.columns)}")


def _days(values) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01, float, NaN when missing), UTC for tz-aware."""
    s = pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, format="mixed")
    if s.dt.tz is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    d = s.to_numpy().astype("datetime64[D]")
    out = d.astype("int64").astype("float64")
    out[np.isnat(d)] = np.nan
    return out


def _day(value, fn: str, name: str) -> float:
    try:
        return float(_days([pd.Timestamp(value)])[0])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{fn}: {name}={value!r} is not a date") from exc


def _to_dates(days) -> pd.Series:
    days = np.where(np.isfinite(days), days, np.nan)
    return pd.Series(pd.to_datetime(days, unit="D")).astype("datetime64[us]")


def _flag(s: pd.Series) -> pd.Series:
    """A bool column with missing read as False (a missing is_won is not a win)."""
    return s.astype("boolean").fillna(False).astype(bool)


def _group_sum(df: pd.DataFrame, by: list[str], cols: list[str]) -> pd.DataFrame:
    """Column sums per segment (NA segments kept); one row of sums, zeros if empty, without by."""
    if by:
        return df.groupby(by, dropna=False, observed=True, sort=True)[cols].sum().reset_index()
    return pd.DataFrame({c: [df[c].sum()] for c in cols})


def _segments(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if not by:
        return pd.DataFrame(index=[0])
    return df[by].drop_duplicates().sort_values(by, na_position="last").reset_index(drop=True)


def _lookup(values: pd.Series, mapping: pd.Series) -> np.ndarray:
    """``values.map(mapping)`` as floats, looking up each distinct value once (fast on text)."""
    codes, uniques = pd.factorize(values)
    mapped = mapping[~mapping.index.duplicated()].reindex(uniques).to_numpy("float64")
    return np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else np.nan, np.nan)


def _stage_ranks(stages: pd.DataFrame, fn: str):
    """(open stages in order, stage -> rank map with won stages at K, K, won stage names)."""
    _require(stages, ["stage_name", "sort_order", "is_closed", "is_won"], fn, "stages")
    st = stages.drop_duplicates("stage_name").sort_values("sort_order", kind="stable")
    won = _flag(st["is_won"])
    open_st = st[~_flag(st["is_closed"]) & ~won].reset_index(drop=True)
    if open_st.empty:
        raise ValueError(f"{fn}: the stages table has no open stage (is_closed False)")
    k = len(open_st)
    ranks = pd.Series(np.arange(1, k + 1, dtype="float64"), index=open_st["stage_name"].to_numpy())
    won_names = st.loc[won, "stage_name"].tolist()
    ranks = pd.concat([ranks, pd.Series(float(k), index=won_names)])
    return open_st, ranks, k, won_names


def _reach_days(opps, history, ranks, k, window_days=None) -> np.ndarray:
    """First day each opportunity reached open rank >= r, as an (n, k) array (NaN = never).

    Undated evidence is +inf: it proves the stage was reached, but never within a window.
    """
    ids = pd.Index(opps["opportunity_id"])
    if not ids.is_unique:
        raise ValueError("opportunity_id is not unique in opportunities")
    created = _days(opps["created_date"])
    h_pos = ids.get_indexer(history["opportunity_id"])  # (faster than isin on arrow strings)
    h = history[h_pos >= 0]
    h_pos = h_pos[h_pos >= 0]
    h_day = np.nan_to_num(_days(h["created_date"]), nan=np.inf)
    last = pd.Series(h_day).groupby(h_pos).max().reindex(range(len(ids))).to_numpy()
    cur_day = np.where(np.isnan(last), created, last)
    won = _flag(opps["is_won"]).to_numpy()
    pos = np.concatenate([h_pos, np.arange(len(ids)), np.flatnonzero(won)])
    rank = np.concatenate([_lookup(h["stage_name"], ranks), _lookup(opps["stage_name"], ranks),
                           np.full(won.sum(), k)])
    day = np.concatenate([h_day, np.nan_to_num(cur_day, nan=np.inf),
                          np.nan_to_num(_days(opps["close_date"])[won], nan=np.inf)])
    keep = ~np.isnan(rank)
    if window_days is not None:
        keep &= (day - created[pos]) <= window_days  # inf and unknown creation fail the test
    reach = np.full((len(ids), k), np.nan)
    np.fmin.at(reach, (pos[keep], rank[keep].astype(int) - 1), day[keep])
    # reaching rank r means having passed every rank below it: running minimum from the top
    return np.fmin.accumulate(reach[:, ::-1], axis=1)[:, ::-1]


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
        ``share`` = count / total with ``share_ci_low``, ``share_ci_high``.

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
    if status_order is not None and len(set(status_order)) != len(list(status_order)):
        raise ValueError("lead_funnel: status_order lists a status twice")
    status = leads["status"].astype("str").fillna(MISSING_STATUS)
    seen = list(dict.fromkeys(status[status != MISSING_STATUS]))
    if status_order is None:
        order = [s for s in DEFAULT_LEAD_STATUSES if s in seen]
    else:
        order = list(status_order)
    order += [s for s in seen if s not in order] + ([MISSING_STATUS] if (status == MISSING_STATUS).any() else [])
    data = leads[by].copy()
    for i, s in enumerate(order):
        data[f"_s{i}"] = (status == s).to_numpy()
    data["_conv"] = _flag(leads["is_converted"]).to_numpy()
    data["_total"] = 1
    cols = [f"_s{i}" for i in range(len(order))] + ["_conv", "_total"]
    sums = _group_sum(data, by, cols)
    steps = [(s, "status", f"_s{i}") for i, s in enumerate(order)] + [(CONVERTED_STEP, "converted", "_conv")]
    out = pd.concat([sums[by].assign(step=step, kind=kind, count=sums[col], total=sums["_total"], _o=j)
                     for j, (step, kind, col) in enumerate(steps)], ignore_index=True)
    out = out.sort_values([*by, "_o"], na_position="last", kind="stable").drop(columns="_o")
    out = out.astype({"count": "int64", "total": "int64"}).reset_index(drop=True)
    return rate_table(out, successes="count", trials="total", name="share")


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
        raise ValueError("lead_conversion: window_days needs as_of (the day the window is measured "
                         "back from) and must be >= 0")
    created, conv_day = _days(leads["created_date"]), _days(leads["converted_date"])
    converted = _flag(leads["is_converted"]).to_numpy()
    counted = np.ones(len(leads), dtype=bool)
    if as_of is not None:
        cut = _day(as_of, "lead_conversion", "as_of")
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
    out = g.agg(leads=("_lead", "sum"), converted=("_conv", "sum"), excluded=("_excl", "sum"),
                days_n=("_days", "count"), median_days_to_convert=("_days", "median"),
                mean_days_to_convert=("_days", "mean"))
    out = out.reset_index(drop=not by)
    if not by and out.empty:
        out = pd.DataFrame({"leads": [0], "converted": [0], "excluded": [0], "days_n": [0],
                            "median_days_to_convert": [np.nan], "mean_days_to_convert": [np.nan]})
    out = out.astype({c: "int64" for c in ("leads", "converted", "excluded", "days_n")})
    out = rate_table(out, successes="converted", trials="leads", name="conversion_rate")
    first = [*by, "leads", "converted", "conversion_rate", "conversion_rate_ci_low", "conversion_rate_ci_high"]
    return out[first + [c for c in out.columns if c not in first]]


# ---- opportunities --------------------------------------------------------------------------
def snapshot_funnel(opps: pd.DataFrame, *, stages: pd.DataFrame, by=None,
                    include_closed: bool = False) -> pd.DataFrame:
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
    _require(stages, ["stage_name", "sort_order", "is_closed", "is_won"], "snapshot_funnel", "stages")
    st = stages.drop_duplicates("stage_name").sort_values("sort_order", kind="stable")
    st = st.assign(is_closed=_flag(st["is_closed"]), is_won=_flag(st["is_won"]))
    if not include_closed:
        st = st[~st["is_closed"]]
        opps = opps[~_flag(opps["is_closed"])]
    rows = st[["stage_name", "sort_order", "is_closed", "is_won"]].reset_index(drop=True)
    stage = opps["stage_name"].astype("str").where(opps["stage_name"].isin(rows["stage_name"]), UNKNOWN_STAGE)
    if (stage == UNKNOWN_STAGE).any():
        rows = pd.concat([rows, pd.DataFrame({"stage_name": [UNKNOWN_STAGE], "sort_order": [np.nan],
                                              "is_closed": [pd.NA], "is_won": [pd.NA]})], ignore_index=True)
    data = opps[by].assign(stage_name=stage.to_numpy(), _n=1, _amt=opps["amount"].to_numpy(),
                           _miss=opps["amount"].isna().to_numpy())
    sums = data.groupby([*by, "stage_name"], dropna=False, observed=True).agg(
        count=("_n", "sum"), amount=("_amt", "sum"), amount_missing=("_miss", "sum")).reset_index()
    grid = _segments(opps, by).merge(rows, how="cross") if by else rows
    out = grid.merge(sums, on=[*by, "stage_name"], how="left")
    out = out.fillna({"count": 0, "amount": 0.0, "amount_missing": 0})
    out = out.astype({"count": "int64", "amount_missing": "int64", "amount": "float64"})
    seg = out.groupby(by, dropna=False)[["count", "amount"]].transform("sum") if by else out[["count", "amount"]].sum()
    out["share_count"] = out["count"] / (seg["count"].where(seg["count"] > 0) if by else (seg["count"] or np.nan))
    out["share_amount"] = out["amount"] / (seg["amount"].where(seg["amount"] > 0) if by else (seg["amount"] or np.nan))
    return out.reset_index(drop=True)


def cohort_funnel(opps: pd.DataFrame, history: pd.DataFrame, *, stages: pd.DataFrame, by=None,
                  created_from=None, created_to=None, window_days=None) -> pd.DataFrame:
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
    _require(opps, ["opportunity_id", "created_date", "stage_name", "is_won", "close_date", "amount", *by],
             fn, "opportunities")
    _require(history, ["opportunity_id", "created_date", "stage_name"], fn, "history")
    if window_days is not None and window_days < 0:
        raise ValueError(f"{fn}: window_days must be >= 0, got {window_days!r}")
    open_st, ranks, k, won_names = _stage_ranks(stages, fn)
    created = _days(opps["created_date"])
    keep = np.ones(len(opps), dtype=bool)
    if created_from is not None:
        keep &= created >= _day(created_from, fn, "created_from")
    if created_to is not None:
        keep &= created <= _day(created_to, fn, "created_to")
    opps = opps[keep].reset_index(drop=True)
    reach = _reach_days(opps, history, ranks, k, window_days)
    won = _flag(opps["is_won"]).to_numpy()
    if window_days is not None:
        won = won & ((_days(opps["close_date"]) - _days(opps["created_date"])) <= window_days)
    flags = np.column_stack([~np.isnan(reach), won]) if len(opps) else np.zeros((0, k + 1), dtype=bool)
    names = open_st["stage_name"].tolist() + [" / ".join(won_names) or "Won"]
    orders = open_st["sort_order"].tolist() + [stages.loc[stages["stage_name"].isin(won_names), "sort_order"].min()]
    amount = opps["amount"].to_numpy("float64")
    data = opps[by].copy()
    data["_cohort"] = 1
    data["_camt"] = amount
    for i in range(k + 1):
        data[f"_r{i}"] = flags[:, i]
        data[f"_a{i}"] = np.where(flags[:, i], amount, np.nan)
    sums = _group_sum(data, by, ["_cohort", "_camt"] + [f"_r{i}" for i in range(k + 1)]
                      + [f"_a{i}" for i in range(k + 1)])
    parts = []
    for i in range(k + 1):
        prev = sums["_cohort"] if i == 0 else sums[f"_r{i - 1}"]
        parts.append(sums[by].assign(step=i + 1, stage_name=names[i], sort_order=orders[i], cohort=sums["_cohort"],
                                     reached=sums[f"_r{i}"], cohort_amount=sums["_camt"], amount=sums[f"_a{i}"],
                                     _prev=prev))
    out = pd.concat(parts, ignore_index=True).sort_values([*by, "step"], na_position="last", kind="stable")
    out = out.astype({"cohort": "int64", "reached": "int64", "_prev": "int64", "amount": "float64",
                      "cohort_amount": "float64"})
    out = rate_table(out, successes="reached", trials="cohort", name="share")
    out = rate_table(out, successes="reached", trials="_prev", name="stage_conversion")
    return out.drop(columns="_prev").reset_index(drop=True)


def _cycle_days(opps: pd.DataFrame) -> np.ndarray:
    """Days from the creation day (UTC) to the close day; negative spans (bad data) are NaN."""
    span = _days(opps["close_date"]) - _days(opps["created_date"])
    return np.where(span >= 0, span, np.nan)


def win_rates(opps: pd.DataFrame, *, by=None, period=None, fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Win rate (won / closed), deal size and sales-cycle length, per segment and/or period.

    Parameters
    ----------
    opps : DataFrame
        With ``is_closed``, ``is_won``, ``amount``, ``created_date``, ``close_date``.
    by : str or list of str, optional
    period : {"Q", "M", "Y"}, optional
        Also split by the fiscal period of ``close_date`` (closed deals only; a closed deal
        without a close date has a missing period).
    fiscal_year_start_month : int, default 1

    Returns
    -------
    DataFrame
        Per segment (and ``fiscal_period``, ``period_start``): ``closed``, ``won``, ``lost``,
        ``win_rate`` with ``win_rate_ci_low/high``, ``won_amount`` (sum), ``avg_won_deal_size``
        (mean over won deals with an amount) and its ``deal_size_n``, ``cycle_n``,
        ``mean_cycle_days``, ``median_cycle_days``. The cycle is counted for won deals, from
        the creation day (UTC) to ``close_date``; a close date before the creation date (bad
        data) is left out of the cycle figures. A deal counts as won only when closed.

    Examples
    --------
    >>> o = pd.DataFrame({"is_closed": [True, True, False], "is_won": [True, False, False],
    ...                   "amount": [100.0, 50.0, 70.0],
    ...                   "created_date": pd.to_datetime(["2024-01-01"] * 3, utc=True),
    ...                   "close_date": pd.to_datetime(["2024-01-31", "2024-02-10", "2024-06-30"])})
    >>> win_rates(o)[["closed", "won", "win_rate", "avg_won_deal_size", "median_cycle_days"]]
       closed  won  win_rate  avg_won_deal_size  median_cycle_days
    0       2    1       0.5              100.0               30.0
    """
    by = _by_list(by)
    _require(opps, ["is_closed", "is_won", "amount", "created_date", "close_date", *by], "win_rates", "opportunities")
    closed = _flag(opps["is_closed"]).to_numpy()
    won = closed & _flag(opps["is_won"]).to_numpy()
    data = opps[by].assign(_closed=closed, _won=won, _amt=np.where(won, opps["amount"].to_numpy("float64"), np.nan),
                           _cycle=np.where(won, _cycle_days(opps), np.nan))
    keys = list(by)
    if period is not None:
        fp = fiscal_period(opps["close_date"], period, fiscal_year_start_month)
        data = data.assign(fiscal_period=fp["fiscal_period"], period_start=fp["period_start"])[closed]
        keys += ["fiscal_period", "period_start"]
    g = data.groupby(keys, dropna=False, observed=True, sort=True) if keys else data.assign(_k=0).groupby("_k")
    out = g.agg(closed=("_closed", "sum"), won=("_won", "sum"), won_amount=("_amt", "sum"),
                avg_won_deal_size=("_amt", "mean"), deal_size_n=("_amt", "count"), cycle_n=("_cycle", "count"),
                mean_cycle_days=("_cycle", "mean"), median_cycle_days=("_cycle", "median")).reset_index(drop=not keys)
    if not keys and out.empty:
        out = pd.DataFrame({"closed": [0], "won": [0], "won_amount": [0.0], "avg_won_deal_size": [np.nan],
                            "deal_size_n": [0], "cycle_n": [0], "mean_cycle_days": [np.nan],
                            "median_cycle_days": [np.nan]})
    out = out.astype({c: "int64" for c in ("closed", "won", "deal_size_n", "cycle_n")})
    out.insert(len(keys) + 2, "lost", out["closed"] - out["won"])
    out = rate_table(out, successes="won", trials="closed", name="win_rate")
    first = [*keys, "closed", "won", "lost", "win_rate", "win_rate_ci_low", "win_rate_ci_high"]
    return out[first + [c for c in out.columns if c not in first]]


def stage_transitions(opps: pd.DataFrame, history: pd.DataFrame, *, stages: pd.DataFrame, by=None,
                      period: str = "Q", fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Stage-to-stage conversion per fiscal period, counted when each deal's outcome was decided.

    For each transition from open stage *k* to the next (the last open stage leads to won), a
    deal that reached *k* is *decided* when it reached the next stage (it advanced, dated by the
    first evidence of it) or when it closed without reaching it (it dropped, dated by
    ``close_date``). Deals still open at *k* are undecided and left out. Counting by decision
    date rather than by creation cohort keeps recent periods from looking worse only because
    their deals are young.

    Parameters
    ----------
    opps, history, stages : DataFrame
        As for :func:`cohort_funnel`.
    by : str or list of str, optional
    period : {"Q", "M", "Y"}, default "Q"
    fiscal_year_start_month : int, default 1

    Returns
    -------
    DataFrame
        Per segment, ``fiscal_period`` (with ``period_start``) and transition: ``step`` (1 =
        first to second open stage), ``from_stage``, ``to_stage``, ``decided``, ``advanced``,
        ``conversion`` with ``conversion_ci_low/high``, ``value_in`` (amount of the decided
        deals), ``value_out`` (of those that advanced), ``value_drop`` = in - out. Decisions of
        unknown date have a missing period.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["A", "B", "Won", "Lost"], "sort_order": [1, 2, 3, 4],
    ...                    "is_closed": [False, False, True, True], "is_won": [False, False, True, False]})
    >>> o = pd.DataFrame({"opportunity_id": ["1", "2"], "stage_name": ["Won", "Lost"], "amount": [1.0, 2.0],
    ...                   "created_date": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
    ...                   "is_closed": [True, True], "is_won": [True, False],
    ...                   "close_date": pd.to_datetime(["2024-02-01", "2024-04-01"])})
    >>> h = pd.DataFrame({"opportunity_id": ["1", "2"], "stage_name": ["A", "A"],
    ...                   "created_date": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)})
    >>> stage_transitions(o, h, stages=st)[["fiscal_period", "from_stage", "to_stage", "decided", "advanced"]]
      fiscal_period from_stage to_stage  decided  advanced
    0     FY2024-Q1          A        B        1         1
    1     FY2024-Q1          B      Won        1         1
    2     FY2024-Q2          A        B        1         0
    """
    by = _by_list(by)
    fn = "stage_transitions"
    _require(opps, ["opportunity_id", "created_date", "stage_name", "is_closed", "is_won", "close_date", "amount",
                    *by], fn, "opportunities")
    _require(history, ["opportunity_id", "created_date", "stage_name"], fn, "history")
    open_st, ranks, k, won_names = _stage_ranks(stages, fn)
    reach = _reach_days(opps, history, ranks, k)
    won = _flag(opps["is_won"]).to_numpy()
    lost = _flag(opps["is_closed"]).to_numpy() & ~won
    close_day = np.nan_to_num(_days(opps["close_date"]), nan=np.inf)
    names = open_st["stage_name"].tolist() + [" / ".join(won_names) or "Won"]
    pos, steps, days, adv = [], [], [], []
    for i in range(1, k + 1):
        entered = ~np.isnan(reach[:, i - 1])
        if i == k:  # last open stage -> won: advanced means won, on the close date
            advanced, adv_day = won, close_day
        else:
            advanced, adv_day = ~np.isnan(reach[:, i]), reach[:, i]
        decided = np.flatnonzero(entered & (advanced | lost))
        pos.append(decided)
        steps.append(np.full(len(decided), i))
        days.append(np.where(advanced, adv_day, close_day)[decided])
        adv.append(advanced[decided])
    pos, steps = np.concatenate(pos), np.concatenate(steps)
    data = opps[by].iloc[pos].reset_index(drop=True) if by else pd.DataFrame(index=pd.RangeIndex(len(pos)))
    data = data.assign(step=steps, from_stage=pd.array(np.asarray(names, dtype=object)[steps - 1], dtype="str"),
                       to_stage=pd.array(np.asarray(names, dtype=object)[steps], dtype="str"),
                       _day=np.concatenate(days), _adv=np.concatenate(adv),
                       _amt=opps["amount"].to_numpy("float64")[pos])
    fp = fiscal_period(_to_dates(data["_day"].to_numpy()), period, fiscal_year_start_month)
    data = data.assign(fiscal_period=fp["fiscal_period"].to_numpy(), period_start=fp["period_start"].to_numpy(),
                       _in=data["_amt"], _out=data["_amt"].where(data["_adv"]))
    keys = [*by, "fiscal_period", "period_start", "step", "from_stage", "to_stage"]
    out = data.groupby(keys, dropna=False, observed=True, sort=True).agg(
        decided=("_adv", "size"), advanced=("_adv", "sum"), value_in=("_in", "sum"),
        value_out=("_out", "sum")).reset_index()
    out = out.astype({"decided": "int64", "advanced": "int64", "step": "int64"})
    out["value_drop"] = out["value_in"] - out["value_out"]
    out = rate_table(out, successes="advanced", trials="decided", name="conversion")
    first = [*keys, "decided", "advanced", "conversion", "conversion_ci_low", "conversion_ci_high"]
    return out[first + ["value_in", "value_out", "value_drop"]]


def bottlenecks(opps: pd.DataFrame, history: pd.DataFrame, *, stages: pd.DataFrame, period: str = "Q",
                fiscal_year_start_month: int = 1, latest=None, lookback: int | None = None) -> pd.DataFrame:
    """Stage transitions of the latest period, ranked by lowest conversion and largest value lost.

    Built on :func:`stage_transitions` (deals counted in the period their outcome at the stage
    was decided). Each transition is compared with its own history: the mean of its per-period
    conversion (and value drop) over the previous periods that had decisions.

    Parameters
    ----------
    opps, history, stages : DataFrame
        As for :func:`cohort_funnel`.
    period : {"Q", "M", "Y"}, default "Q"
    fiscal_year_start_month : int, default 1
    latest : date-like, optional
        A day in the period to assess; default the last period with a decision.
    lookback : int, optional
        Compare with at most this many previous periods (default: all of them).

    Returns
    -------
    DataFrame
        One row per transition (all of them, 0 decided when idle): ``step``, ``from_stage``,
        ``to_stage``, ``fiscal_period``, the counts, ``conversion`` and interval and values of
        :func:`stage_transitions`, ``prev_periods``, ``prev_conversion``, ``conversion_change``
        (latest - previous mean), ``prev_value_drop``, ``value_drop_change``,
        ``rank_conversion`` (1 = lowest conversion) and ``rank_value_drop`` (1 = most value
        lost); ties share a rank. Sorted by ``rank_conversion`` then ``rank_value_drop``.

    Examples
    --------
    >>> b = bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages,
    ...                 latest="2024-06-30", lookback=4)  # doctest: +SKIP
    >>> b[["from_stage", "to_stage", "conversion", "prev_conversion", "value_drop"]].head(3)  # doctest: +SKIP
    """
    if lookback is not None and lookback < 1:
        raise ValueError(f"bottlenecks: lookback must be >= 1, got {lookback!r}")
    t = stage_transitions(opps, history, stages=stages, period=period, fiscal_year_start_month=fiscal_year_start_month)
    t = t[t["fiscal_period"].notna()]
    if latest is not None:
        label = fiscal_period([pd.Timestamp(latest)], period, fiscal_year_start_month)["fiscal_period"].iloc[0]
    elif len(t):
        label = t["fiscal_period"].max()
    else:
        raise ValueError("bottlenecks: no stage transition was ever decided (no dated history or closed deals)")
    open_st, _, k, won_names = _stage_ranks(stages, "bottlenecks")
    names = open_st["stage_name"].tolist() + [" / ".join(won_names) or "Won"]
    grid = pd.DataFrame({"step": np.arange(1, k + 1), "from_stage": names[:-1], "to_stage": names[1:]})
    cur = grid.merge(t[t["fiscal_period"] == label].drop(columns=["from_stage", "to_stage"]), on="step", how="left")
    cur = cur.assign(fiscal_period=label).fillna({"decided": 0, "advanced": 0, "value_in": 0.0, "value_out": 0.0,
                                                  "value_drop": 0.0})
    prev = t[t["fiscal_period"] < label]
    if lookback is not None:
        keep = sorted(prev["fiscal_period"].unique())[-lookback:]
        prev = prev[prev["fiscal_period"].isin(keep)]
    hist = prev.groupby("step").agg(prev_periods=("fiscal_period", "nunique"), prev_conversion=("conversion", "mean"),
                                    prev_value_drop=("value_drop", "mean")).reset_index()
    out = cur.drop(columns="period_start").merge(hist, on="step", how="left").fillna({"prev_periods": 0})
    out = out.astype({"decided": "int64", "advanced": "int64", "prev_periods": "int64"})
    out["conversion_change"] = out["conversion"] - out["prev_conversion"]
    out["value_drop_change"] = out["value_drop"] - out["prev_value_drop"]
    out["rank_conversion"] = out["conversion"].rank(method="min")
    out["rank_value_drop"] = out["value_drop"].where(out["decided"] > 0).rank(method="min", ascending=False)
    return out.sort_values(["rank_conversion", "rank_value_drop", "step"], na_position="last").reset_index(drop=True)


# ---- headline figures -----------------------------------------------------------------------
def _plain(value):
    """JSON-ready: NaN/NA -> None, NumPy scalars -> int/float."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value.isoformat() if isinstance(value, pd.Timestamp) else value


def kpis(crm, *, as_of=None, by: str | None = None):
    """Headline figures of an org, optionally as of a day and per segment.

    Figures: ``leads``, ``leads_converted``, ``lead_conversion_rate``, ``opportunities``,
    ``opportunities_open``, ``opportunities_won``, ``opportunities_lost``, ``win_rate``,
    ``avg_won_deal_size``, ``median_cycle_days``, ``mean_cycle_days``,
    ``open_pipeline_amount``. Each rate or average has ``<figure>_n``, its denominator (leads,
    closed deals, won deals with an amount or a valid cycle, open deals with an amount), and
    the two rates their Wilson bounds (``<figure>_ci_low``, ``<figure>_ci_high``). A figure the
    data cannot give is ``None``, never 0: no leads or opportunities table (``crm.has``), a
    segment column the table lacks, or a zero denominator. The open pipeline is 0 when nothing
    is open, and ``None`` when open deals exist but none has an amount.

    Parameters
    ----------
    crm : CrmData
    as_of : date-like, optional
        Cut the org at the end of this day first (:meth:`CrmData.as_of`).
    by : str, optional
        A column of the leads and/or opportunities table.

    Returns
    -------
    dict, or list of dict with ``by`` (each with ``"by"`` and ``"segment"`` keys)
        Plain Python values, ready for ``json.dumps``; ``as_of`` is an ISO date or None.

    Examples
    --------
    >>> kpis(crm, as_of="2024-06-30")["win_rate"]  # doctest: +SKIP
    0.42
    """
    if not all(hasattr(crm, a) for a in ("has", "as_of", "tables")):
        raise TypeError(f"kpis: crm must be a CrmData, got {type(crm).__name__}")
    if by is not None and not isinstance(by, str):
        raise TypeError("kpis: by must be one column name")
    c = crm.as_of(as_of) if as_of is not None else crm
    day = None if as_of is None else c.as_of_date.date().isoformat()
    tabs = {t: c.tables[t] for t in ("leads", "opportunities") if c.has(t)}
    if by is not None and not any(by in df.columns for df in tabs.values()):
        raise ValueError(f"kpis: no leads or opportunities column {by!r}")
    keys = [by] if by else []
    figs: dict = {}

    used: dict = {}  # the zero figures of each table used, for segments absent from it

    def put(table: pd.DataFrame, fields: dict, zeros: dict):
        used.update(zeros)
        for row in table.to_dict("records"):  # records keep each column's type (ints stay ints)
            seg = _plain(row[by]) if by else None
            figs.setdefault(seg, {}).update({k: _plain(row[v]) for k, v in fields.items()})

    if "leads" in tabs and (not by or by in tabs["leads"].columns):
        put(lead_conversion(tabs["leads"], by=keys or None),
            {"leads": "leads", "leads_converted": "converted", "lead_conversion_rate": "conversion_rate",
             "lead_conversion_rate_n": "leads", "lead_conversion_rate_ci_low": "conversion_rate_ci_low",
             "lead_conversion_rate_ci_high": "conversion_rate_ci_high"},
            {"leads": 0, "leads_converted": 0, "lead_conversion_rate_n": 0})
    if "opportunities" in tabs and (not by or by in tabs["opportunities"].columns):
        o = tabs["opportunities"]
        is_open = ~_flag(o["is_closed"])
        amt = o["amount"].where(is_open)
        data = o[keys].assign(_n=1, _open=is_open, _amt=amt, _has=amt.notna())
        pipe = _group_sum(data, keys, ["_n", "_open", "_amt", "_has"])
        pipe["_amt"] = pipe["_amt"].where((pipe["_has"] > 0) | (pipe["_open"] == 0))
        put(pipe, {"opportunities": "_n", "opportunities_open": "_open", "open_pipeline_amount": "_amt",
                   "open_pipeline_amount_n": "_has"},
            {"opportunities": 0, "opportunities_open": 0, "open_pipeline_amount": 0.0, "open_pipeline_amount_n": 0})
        put(win_rates(o, by=keys or None),
            {"opportunities_won": "won", "opportunities_lost": "lost", "win_rate": "win_rate",
             "win_rate_n": "closed", "win_rate_ci_low": "win_rate_ci_low", "win_rate_ci_high": "win_rate_ci_high",
             "avg_won_deal_size": "avg_won_deal_size", "avg_won_deal_size_n": "deal_size_n",
             "median_cycle_days": "median_cycle_days", "median_cycle_days_n": "cycle_n",
             "mean_cycle_days": "mean_cycle_days", "mean_cycle_days_n": "cycle_n"},
            {"opportunities_won": 0, "opportunities_lost": 0, "win_rate_n": 0, "avg_won_deal_size_n": 0,
             "median_cycle_days_n": 0, "mean_cycle_days_n": 0})
    names = ["leads", "leads_converted", "lead_conversion_rate", "lead_conversion_rate_n",
             "lead_conversion_rate_ci_low", "lead_conversion_rate_ci_high", "opportunities", "opportunities_open",
             "opportunities_won", "opportunities_lost", "win_rate", "win_rate_n", "win_rate_ci_low",
             "win_rate_ci_high", "avg_won_deal_size", "avg_won_deal_size_n", "median_cycle_days",
             "median_cycle_days_n", "mean_cycle_days", "mean_cycle_days_n", "open_pipeline_amount",
             "open_pipeline_amount_n"]
    if not by:
        return {"as_of": day, **{n: figs.get(None, {}).get(n) for n in names}}
    order = sorted(figs, key=lambda s: (s is None, str(s)))
    return [{"as_of": day, "by": by, "segment": s, **{n: {**used, **figs[s]}.get(n) for n in names}}
            for s in order]
