"""Pipeline velocity: time in stage, cycle length and stalled deals (sales velocity: :mod:`~funnel_analysis.velocity.sales_velocity`).

Durations that ignore the deals still open understate how long things take: a deal sitting in
*Negotiate* for 200 days is not in the "closed-only" median at all. Here the open visits count as
**censored** (at least this long), through Kaplan-Meier estimates
(:class:`statsmodels.duration.survfunc.SurvfuncRight`), shown next to the naive closed-only figure.

Rules of the stage visits (:func:`stage_intervals`)
---------------------------------------------------
- History rows (``opportunity_history``) are taken in time order (ties keep file order) up to the
  end of the ``as_of`` day (UTC); rows without a date or a stage are left out. Consecutive rows in
  the same stage (an amount change) are one visit.
- A visit runs from its row to the next stage change. **Skipped stages get no visit**: they were
  not visited. A **backward move** opens a new visit of the earlier stage (``visit`` counts them).
  A **reopened** deal's closed visit ends when it reopens.
- The last visit is **censored** (``exited`` NaT, ``days`` up to ``as_of``) when its stage is open;
  a final closed stage (won or lost) has no duration (``days`` NaN, not censored). Stages missing
  from the stages table count as open.
- An opportunity with **no history** has one visit in its current stage from ``created_date``
  (pass ``crm.as_of(day)`` tables for the stage it had on that day).
- An opportunity **without a creation date** cannot be placed in time: its visits are left out
  (the report's ``stage_durations`` counts such deals in ``n_undated_excluded``).
- Days are UTC calendar days (as in :mod:`funnel_analysis.funnel.conversion`), as floats.

Quantiles: Kaplan-Meier quantiles use statsmodels' (SAS) definition, the first time at which the
survival drops *below* 1 - p. The naive quantile is the same estimator on the completed visits
only, so the two differ by the censoring alone, and the KM quantile is never smaller. Every
function below has a small runnable example; on an org, pass the tables of ``crm.as_of(day)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

from .._util.arrow import index_in
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
    lookup as _lookup,
)
from .._util.frames import (
    require as _require,
)
from .._util.frames import (
    stage_ranks as _stage_ranks,
)
from .._util.frames import (
    utc_naive as _utc_naive,
)

__all__ = ["stage_intervals", "stage_durations", "cycle_length", "stalled_deals", "stage_to_stage_days"]


# ---- helpers --------------------------------------------------------------------------------
def _label(p: float) -> str:
    return "median" if p == 0.5 else f"p{100 * p:g}"


def _km(days, censored, probs) -> dict:
    """KM and naive (completed-only) quantiles with KM 95 % intervals for one group."""
    days, censored = np.asarray(days, float), np.asarray(censored, bool)
    out = {"n": len(days), "n_censored": int(censored.sum())}
    done = days[~censored]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        km = SurvfuncRight(days, (~censored).astype(int)) if len(done) else None
        naive = SurvfuncRight(done, np.ones(len(done))) if len(done) else None
        for p in probs:
            name = _label(p)
            out[f"naive_{name}"] = float(naive.quantile(p)) if naive else np.nan
            out[f"km_{name}"] = float(km.quantile(p)) if km else np.nan
            lo, hi = _km_quantile_ci(km, p) if km else (np.nan, np.nan)
            out[f"km_{name}_ci_low"], out[f"km_{name}_ci_high"] = lo, hi
    return out


def _km_quantile_ci(km, p: float, z: float = 1.959964) -> tuple[float, float]:
    """95 % interval of a KM quantile: where the pointwise band of the curve crosses 1 - p.

    R's ``survfit`` rule (log-transformed Greenwood band): the lower limit is the quantile of the
    lower band, the upper limit that of the upper band (NaN when that band never drops below
    1 - p: the data do not bound it). statsmodels' ``quantile_ci`` inverts a test instead and finds
    no time at all when durations are whole days and the curve steps over 1 - p, a common case.
    """
    surv, se, times = km.surv_prob, km.surv_prob_se, km.surv_times
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(surv > 0, np.exp(z * se / surv), 1.0)
    bands = (surv / spread, np.minimum(surv * spread, 1.0))
    limits = []
    for band in bands:
        below = np.flatnonzero(band < 1 - p)
        limits.append(float(times[below[0]]) if len(below) else np.nan)
    return limits[0], limits[1]


def _groups(df: pd.DataFrame, by: list[str]):
    """(segment key, rows) pairs; one pair with key () without ``by``; NA segments kept."""
    return df.groupby(by, dropna=False, sort=True, observed=True) if by else [((), df)]


# ---- stage visits ---------------------------------------------------------------------------
def stage_intervals(
    opps: pd.DataFrame, history: pd.DataFrame, *, stages: pd.DataFrame, as_of, carry=None
) -> pd.DataFrame:
    """One row per opportunity and stage visit, as of a day (rules in the module notes).

    ``opps`` and ``history`` need ``opportunity_id`` (unique in ``opps``), ``created_date`` and
    ``stage_name``; ``stages`` is the stages table. Visits still open at the end of the ``as_of``
    day (UTC) are censored; later rows are ignored. ``carry`` (str or list) names opportunity
    columns copied onto each visit, as segments for ``by`` further on.

    Parameters
    ----------
    opps : DataFrame
        The opportunities, with ``opportunity_id`` (unique), ``created_date`` and ``stage_name``.
    history : DataFrame
        ``opportunity_history`` with ``opportunity_id``, ``created_date`` (when the change
        happened) and ``stage_name``.
    stages : DataFrame
        The stages table (which stages are closed).
    as_of : date-like
        Visits still open at the end of this day (UTC) are censored; later rows are ignored.
    carry : str or list of str, optional
        Opportunity columns copied onto each visit.

    Returns
    -------
    DataFrame
        ``opportunity_id``, ``visit`` (1, 2... per opportunity and stage), ``stage_name``,
        ``entered``, ``exited`` (NaT while still in it), ``days`` (float), ``censored`` (bool),
        then the ``carry`` columns; ordered by opportunity and time.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["A", "B", "Won"], "sort_order": [1, 2, 3],
    ...                    "is_closed": [False, False, True], "is_won": [False, False, True]})
    >>> h = pd.DataFrame({"opportunity_id": ["X"] * 3, "stage_name": ["A", "B", "A"],
    ...                   "created_date": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-04"], utc=True)})
    >>> o = h.iloc[:1]
    >>> stage_intervals(o, h, stages=st, as_of="2024-01-10")[["stage_name", "visit", "days", "censored"]]
      stage_name  visit  days  censored
    0          A      1   2.0     False
    1          B      1   1.0     False
    2          A      2   6.0      True
    """
    fn, carry = "stage_intervals", _by_list(carry)
    _require(opps, ["opportunity_id", "created_date", "stage_name", *carry], fn, "opportunities")
    _require(history, ["opportunity_id", "created_date", "stage_name"], fn, "history")
    _require(stages, ["stage_name", "sort_order", "is_closed", "is_won"], fn, "stages")
    day = _day_number(as_of, fn)
    if not pd.Index(opps["opportunity_id"]).is_unique:
        raise ValueError(f"{fn}: opportunities.opportunity_id is not unique")
    o = opps[_days(opps["created_date"]) <= day]  # NaN (unknown creation) fails too
    ids = pd.Index(o["opportunity_id"])
    pos = index_in(history["opportunity_id"], o["opportunity_id"])  # get_indexer, in Arrow's C++
    keep = (pos >= 0) & (_days(history["created_date"]) <= day) & history["stage_name"].notna().to_numpy()
    h = history[keep]
    no_hist = np.setdiff1d(np.arange(len(ids)), pos[keep])
    ev = pd.DataFrame(
        {c: pd.concat([h[c], o[c].iloc[no_hist]], ignore_index=True) for c in ("created_date", "stage_name")}
    ).rename(columns={"created_date": "entered"})
    ev["_pos"], ev["_seq"] = np.concatenate([pos[keep], no_hist]), np.arange(len(ev))
    t = _utc_naive(ev["entered"]).to_numpy("datetime64[us]").view("int64")  # every row has a time (kept above)
    ev = ev.take(np.lexsort((ev["_seq"].to_numpy(), t, ev["_pos"].to_numpy()))).reset_index(drop=True)
    p, codes = ev["_pos"].to_numpy(), pd.factorize(ev["stage_name"])[0]
    keep_row = np.r_[True, (p[1:] != p[:-1]) | (codes[1:] != codes[:-1])][: len(ev)]
    ev, codes = ev[keep_row].reset_index(drop=True), codes[keep_row]
    p = ev["_pos"].to_numpy()
    last = np.r_[p[1:] != p[:-1], True][: len(ev)]
    ev["exited"] = ev["entered"].shift(-1).where(~last)
    closed = _lookup(ev["stage_name"], stages.set_index("stage_name")["is_closed"].astype(float)) == 1
    ev["censored"] = last & ~closed
    ed = _days(ev["entered"])
    ev["days"] = np.where(last, np.where(ev["censored"], day - ed, np.nan), _days(ev["exited"]) - ed)
    ev["opportunity_id"] = ids[p]
    ev["visit"] = pd.DataFrame({"p": p, "c": codes}).groupby(["p", "c"], sort=False).cumcount().to_numpy() + 1
    for c in carry:
        ev[c] = o[c].to_numpy()[p]
    cols = ["opportunity_id", "visit", "stage_name", "entered", "exited", "days", "censored", *carry]
    return ev[cols].astype({"opportunity_id": opps["opportunity_id"].dtype, "days": "float64"})


def stage_durations(
    intervals: pd.DataFrame, *, stages: pd.DataFrame, by=None, percentiles=(0.5, 0.75, 0.9)
) -> pd.DataFrame:
    """Days per visit of each open stage: Kaplan-Meier (open visits censored) vs closed-only.

    ``intervals`` come from :func:`stage_intervals` (``stage_name``, ``days``, ``censored``, and
    the ``by`` segment columns, see its ``carry``). Every open stage of ``stages`` gets a row per
    segment, in ``sort_order``. The median is always reported; each other of ``percentiles`` p
    adds ``naive_pXX``, ``km_pXX`` and its bounds.

    Parameters
    ----------
    intervals : DataFrame
        :func:`stage_intervals`, with the ``by`` columns carried.
    stages : DataFrame
        The stages table: its open stages get rows, in ``sort_order``.
    by : str or list of str, optional
        Segment columns of ``intervals``.
    percentiles : sequence of float, default (0.5, 0.75, 0.9)
        Quantiles (strictly between 0 and 1) reported besides the median.

    Returns
    -------
    DataFrame
        ``by``, ``stage_name``, ``n`` (visits with a duration), ``n_censored`` (still open),
        ``naive_median``, ``km_median``, ``km_median_ci_low``, ``km_median_ci_high`` (95 %),
        ``median_gap_days`` (KM - naive: what the naive view understates), then per percentile.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["A", "Won"], "sort_order": [1, 2],
    ...                    "is_closed": [False, True], "is_won": [False, True]})
    >>> iv = pd.DataFrame({"stage_name": ["A"] * 4, "days": [2.0, 4.0, 6.0, 8.0],
    ...                    "censored": [False, False, True, False]})
    >>> stage_durations(iv, stages=st, percentiles=())[["n", "n_censored", "naive_median", "km_median"]]
       n  n_censored  naive_median  km_median
    0  4           1           4.0        8.0
    """
    fn, by = "stage_durations", _by_list(by)
    _require(intervals, ["stage_name", "days", "censored", *by], fn, "intervals")
    open_st = _stage_ranks(stages, fn)[0]["stage_name"].tolist()
    probs = [0.5] + [float(q) for q in percentiles if float(q) != 0.5]
    if any(not 0 < q < 1 for q in probs):
        raise ValueError(f"{fn}: percentiles must lie strictly between 0 and 1, got {percentiles!r}")
    iv = intervals[intervals["days"].notna().to_numpy() & (intervals["days"] >= 0).to_numpy()]
    rows = []
    for key, g in _groups(iv, by):
        for s in open_st:
            v = g[(g["stage_name"] == s).fillna(False).to_numpy()]
            r = _km(v["days"], _flag(v["censored"]), probs)
            rows.append(
                {**dict(zip(by, key)), "stage_name": s, **r, "median_gap_days": r["km_median"] - r["naive_median"]}
            )
    front = [
        *by,
        "stage_name",
        "n",
        "n_censored",
        "naive_median",
        "km_median",
        "km_median_ci_low",
        "km_median_ci_high",
        "median_gap_days",
    ]
    return pd.DataFrame(rows, columns=front + [c for c in (rows[0] if rows else {}) if c not in front])


def cycle_length(opps: pd.DataFrame, *, as_of, by=None) -> pd.DataFrame:
    """Sales cycle (created -> close, won or lost) per segment: Kaplan-Meier vs closed-only.

    Open deals, and deals closed after ``as_of``, are censored at ``as_of``. Deals created after
    ``as_of`` are left out; closed deals without a close date or closing before their creation
    are data errors, counted in ``n_invalid`` and left out. Deals without a creation date (open
    or closed) have no start, so no cycle (never 0 days): they are left out, and counted in
    ``n_undated_excluded`` (not in ``n``).

    Parameters
    ----------
    opps : DataFrame
        With ``created_date``, ``close_date``, ``is_closed``, ``is_won`` and the ``by`` columns.
    as_of : date-like
        The day open deals are censored at.
    by : str or list of str, optional
        Segment columns.

    Returns
    -------
    DataFrame
        ``by``, ``n``, ``n_closed``, ``n_won``, ``n_censored``, ``n_invalid``,
        ``n_undated_excluded``, ``naive_mean``, ``naive_median``, ``km_median``,
        ``km_median_ci_low``, ``km_median_ci_high``, ``median_gap_days``.

    Examples
    --------
    >>> o = pd.DataFrame({"created_date": pd.to_datetime(["2024-01-01"] * 3, utc=True),
    ...                   "close_date": pd.to_datetime(["2024-01-11", "2024-01-21", None]),
    ...                   "is_closed": [True, True, False], "is_won": [True, False, False]})
    >>> cycle_length(o, as_of="2024-03-01")[["n_closed", "n_censored", "naive_median", "km_median"]]
       n_closed  n_censored  naive_median  km_median
    0         2           1          20.0       20.0
    """
    fn, by = "cycle_length", _by_list(by)
    _require(opps, ["created_date", "close_date", "is_closed", "is_won", *by], fn, "opportunities")
    day = _day_number(as_of, fn)
    created, close = _days(opps["created_date"]), _days(opps["close_date"])
    keep = ~(created > day)  # created by the day, or of unknown creation (counted, left out)
    o, created, close = opps[keep], created[keep], close[keep]
    closed = _flag(o["is_closed"]).to_numpy() & ~(close > day)  # closed later: open on as_of
    end = np.where(closed, close, day)
    d = o[by].assign(_days=end - created, _closed=closed, _won=closed & _flag(o["is_won"]).to_numpy())
    d["_undated"] = np.isnan(created)
    d["_bad"] = ~d["_undated"] & (d["_days"].isna() | (d["_days"] < 0))
    rows = []
    for key, g in _groups(d, by):
        ok = g[~g["_bad"] & ~g["_undated"]]
        r = _km(ok["_days"], ~ok["_closed"], [0.5])
        del r["n"]  # visits with a valid duration; n counts all dated deals
        rows.append(
            {
                **dict(zip(by, key)),
                "n": int((~g["_undated"]).sum()),
                "n_closed": int(ok["_closed"].sum()),
                "n_won": int(ok["_won"].sum()),
                "n_censored": r.pop("n_censored"),
                "n_invalid": int(g["_bad"].sum()),
                "n_undated_excluded": int(g["_undated"].sum()),
                "naive_mean": ok.loc[ok["_closed"], "_days"].mean(),
                **r,
                "median_gap_days": r["km_median"] - r["naive_median"],
            }
        )
    return pd.DataFrame(rows)


def stalled_deals(
    opps: pd.DataFrame, intervals: pd.DataFrame, *, stages: pd.DataFrame, as_of, quantile: float = 0.9
) -> pd.DataFrame:
    """Open deals in their current stage longer than that stage's ``quantile`` of days.

    The threshold is the Kaplan-Meier ``quantile`` of all visits of the stage in ``intervals``
    (completed, and open ones censored), so deals stuck today raise the bar instead of being
    ignored. Where KM never reaches the quantile (too many open visits) the threshold is
    unknown and no deal of that stage is flagged. Days in stage are counted to ``as_of``.

    Parameters
    ----------
    opps : DataFrame
        With ``opportunity_id``, ``owner_id``, ``amount`` (shown with each stalled deal).
    intervals : DataFrame
        :func:`stage_intervals` as of the same day.
    stages : DataFrame
        The stages table.
    as_of : date-like
        The day days in stage are counted to.
    quantile : float, default 0.9
        The Kaplan-Meier quantile of the stage's visits a deal must exceed.

    Returns
    -------
    DataFrame
        ``opportunity_id``, ``owner_id``, ``amount``, ``stage_name``, ``entered``,
        ``days_in_stage``, ``threshold_days``, ``days_over``; sorted by ``days_over`` descending.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["A"], "sort_order": [1], "is_closed": [False], "is_won": [False]})
    >>> iv = pd.DataFrame({"opportunity_id": ["X", "Y", "Z"], "stage_name": "A", "days": [5.0, 9.0, 30.0],
    ...                    "entered": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01"]),
    ...                    "censored": [False, False, True]})
    >>> o = pd.DataFrame({"opportunity_id": ["Z"], "owner_id": ["U1"], "amount": [100.0]})
    >>> stalled_deals(o, iv, stages=st, as_of="2024-01-31", quantile=0.5)[["opportunity_id", "days_over"]]
      opportunity_id  days_over
    0              Z       21.0
    """
    fn = "stalled_deals"
    _require(opps, ["opportunity_id", "owner_id", "amount"], fn, "opportunities")
    _require(intervals, ["opportunity_id", "stage_name", "entered", "days", "censored"], fn, "intervals")
    if not 0 < float(quantile) < 1:
        raise ValueError(f"{fn}: quantile must lie strictly between 0 and 1, got {quantile!r}")
    dur = stage_durations(intervals, stages=stages, percentiles=(float(quantile),)).set_index("stage_name")
    threshold = dur[f"km_{_label(float(quantile))}"]
    cur = intervals[_flag(intervals["censored"]).to_numpy()]
    return _stalled(opps, cur, threshold, as_of=as_of)


def _stalled(opps: pd.DataFrame, current: pd.DataFrame, threshold: pd.Series, *, as_of) -> pd.DataFrame:
    """:func:`stalled_deals` from each open deal's current visit and each stage's threshold of days.

    ``current`` holds the censored visits (``opportunity_id``, ``stage_name``, ``entered``), in the
    order ties keep; ``threshold`` is indexed by stage name. The report's engine path gives both
    from the engine (:func:`funnel_analysis.engine.velocity.stalled_inputs`).
    """
    fn = "stalled_deals"
    day = _day_number(as_of, fn)
    out = current[["opportunity_id", "stage_name", "entered"]].reset_index(drop=True)
    out["days_in_stage"] = day - _days(out["entered"])
    if (out["days_in_stage"] < 0).any():
        raise ValueError(f"{fn}: intervals have visits entered after as_of={as_of!r}")
    out["threshold_days"] = _lookup(out["stage_name"], threshold)
    out["days_over"] = out["days_in_stage"] - out["threshold_days"]
    info = opps.drop_duplicates("opportunity_id").set_index("opportunity_id")
    at = info.index.get_indexer(out["opportunity_id"])
    out.insert(1, "owner_id", info["owner_id"].iloc[at].where(at >= 0).to_numpy())
    out.insert(2, "amount", np.where(at >= 0, info["amount"].to_numpy("float64", na_value=np.nan)[at], np.nan))
    out = out[(out["days_over"] > 0).to_numpy()]
    return out.sort_values("days_over", ascending=False, kind="stable").reset_index(drop=True)


def stage_to_stage_days(intervals: pd.DataFrame, *, from_stage: str, to_stage: str, by=None) -> pd.DataFrame:
    """Days from first entering ``from_stage`` to first entering ``to_stage`` after it.

    Only opportunities that visited both count (``n``); ``n_from`` counts those that entered
    ``from_stage``. A deal that skipped ``to_stage`` never entered it and is not counted.

    Parameters
    ----------
    intervals : DataFrame
        :func:`stage_intervals` (``opportunity_id``, ``stage_name``, ``entered``, the ``by`` columns).
    from_stage : str
        The first stage.
    to_stage : str
        The later stage.
    by : str or list of str, optional
        Segment columns of ``intervals``.

    Returns
    -------
    DataFrame
        ``by``, ``from_stage``, ``to_stage``, ``n_from``, ``n``, ``mean_days``, ``median_days``.

    Examples
    --------
    >>> iv = pd.DataFrame({"opportunity_id": ["X", "X", "Y"], "stage_name": ["A", "B", "A"],
    ...                    "entered": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-02"], utc=True)})
    >>> stage_to_stage_days(iv, from_stage="A", to_stage="B")
      from_stage to_stage  n_from  n  mean_days  median_days
    0          A        B       2  1        4.0          4.0
    """
    fn, by = "stage_to_stage_days", _by_list(by)
    _require(intervals, ["opportunity_id", "stage_name", "entered", *by], fn, "intervals")
    if from_stage == to_stage:
        raise ValueError(f"{fn}: from_stage and to_stage are both {from_stage!r}")
    d = intervals.assign(_day=_days(intervals["entered"]))
    first = d[(d["stage_name"] == from_stage).fillna(False).to_numpy()].groupby("opportunity_id")["_day"].min()
    to = d[(d["stage_name"] == to_stage).fillna(False).to_numpy()]
    to = to.assign(_from=_lookup(to["opportunity_id"], first))
    reach = to[(to["_day"] >= to["_from"]).to_numpy()].groupby("opportunity_id")[["_day", "_from"]].min()
    seg = d.drop_duplicates("opportunity_id").set_index("opportunity_id")[by]
    f = seg.loc[first.index].assign(_gap=(reach["_day"] - reach["_from"]).reindex(first.index).to_numpy())
    rows = [
        {
            **dict(zip(by, key)),
            "from_stage": from_stage,
            "to_stage": to_stage,
            "n_from": len(g),
            "n": int(g["_gap"].notna().sum()),
            "mean_days": g["_gap"].mean(),
            "median_days": g["_gap"].median(),
        }
        for key, g in _groups(f, by)
    ]
    return pd.DataFrame(rows, columns=[*by, "from_stage", "to_stage", "n_from", "n", "mean_days", "median_days"])
