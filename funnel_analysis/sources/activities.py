"""Sales activity per opportunity, and how the activity count of closed deals relates to winning.

Activities (Salesforce Tasks and Events) relate to an opportunity through ``what_id`` (the
opportunity's ID) and to a lead or contact through ``who_id``. :func:`activity_summary` counts an
activity for an opportunity through ``what_id``; given ``leads``, the activities logged on the
lead(s) converted into the deal (``who_id``), up to the conversion, are counted apart in
``n_lead_activities``: the work that created the deal, before it existed.

Rules
-----
- An activity counts on ``as_of`` when its ``activity_date`` is on or before ``as_of`` (later ones
  are scheduled, not done). Activities with no ``activity_date`` are not counted in any dated
  figure; they are counted in ``n_undated``, so nothing is dropped silently.
- ``type`` is mapped case-insensitively, ignoring spaces, hyphens and underscores: ``call`` -> call;
  ``email``, ``e-mail``, ``list email``, ``send email`` -> email; ``meeting``, ``event`` -> meeting; anything
  else (including missing) -> other.
- ``n_before_close`` is, for a closed deal, the number of activities dated on or before its close
  date (and ``as_of``); for an open deal it is missing, because the deal has no close yet. Counting
  only up to the close keeps activities caused by the outcome (onboarding calls after a win) out
  of :func:`activity_win_relation`.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> cut = fa.load_org("data/sample").as_of("2024-06-30")  # doctest: +SKIP
>>> summary = activity_summary(cut.activities, cut.opportunities, as_of="2024-06-30")  # doctest: +SKIP
>>> activity_win_relation(summary, cut.opportunities)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import flag as _flag
from .._util.frames import require as _require
from .._util.frames import to_day as _to_day
from .._util.frames import utc_naive as _utc_naive
from ..crm.activity_types import KINDS, TYPE_MAP
from ..stats import rate_table

__all__ = [
    "activity_summary",
    "activity_win_relation",
    "activity_win_table",
    "activity_kind",
    "BUCKETS",
    "KINDS",
    "TYPE_MAP",
]
#: Activity-count buckets of :func:`activity_win_relation`: (label, lowest, highest) inclusive.
BUCKETS = (("0", 0, 0), ("1-2", 1, 2), ("3-5", 3, 5), ("6+", 6, np.inf))


def activity_kind(types) -> pd.Series:
    """Map activity ``type`` values to call / email / meeting / other.

    Parameters
    ----------
    types : Series or sequence
        Activity ``type`` values; matched case-insensitively, ignoring spaces, hyphens and
        underscores (:data:`TYPE_MAP`).

    Returns
    -------
    Series
        The kind of each value (str), in order; unknown and missing values are ``"other"``.

    Examples
    --------
    >>> activity_kind(pd.Series(["Call", " EMAIL", "List Email", "Event", None, "Task"])).tolist()
    ['call', 'email', 'email', 'meeting', 'other', 'other']
    """
    s = pd.Series(types, dtype="object")
    norm = s.map(
        lambda v: (
            None
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
            else str(v).lower().replace(" ", "").replace("_", "").replace("-", "")
        )
    )
    return norm.map(TYPE_MAP).fillna("other").astype("str")


def activity_summary(
    activities: pd.DataFrame, opps: pd.DataFrame, *, as_of, by: str = "type", leads: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per opportunity: activities by kind, before close, and days since the last one.

    Parameters
    ----------
    activities : DataFrame
        With ``what_id``, ``activity_date`` (date) and the ``by`` column. Not modified.
    opps : DataFrame
        With ``opportunity_id``, ``is_closed``, ``close_date`` (for example
        ``crm.as_of(day).opportunities``). Every opportunity gets a row, activities or not.
    as_of : date-like
        The day the counts stand on (inclusive).
    by : str, default "type"
        The activity column the counts are split by. ``"type"`` is mapped to call / email /
        meeting / other (module notes); any other column is split by its values, lower-cased
        and stripped (missing -> ``other``).
    leads : DataFrame, optional
        With ``lead_id``, ``converted_opportunity_id`` and (if known) ``converted_date``. Adds
        ``n_lead_activities``: activities with ``who_id`` a lead converted into the opportunity,
        dated on or before the conversion (and ``as_of``); ``activities`` then needs ``who_id``.

    Returns
    -------
    DataFrame
        One row per opportunity, in the order of ``opps``: ``opportunity_id``, ``n_activities``,
        ``n_<kind>`` per kind (``n_call, n_email, n_meeting, n_other`` for ``by="type"``),
        ``n_before_close`` (Int64, missing for open deals), ``last_activity_date``,
        ``days_since_last_activity`` (float, NaN without activity), ``n_undated``, and with
        ``leads`` ``n_lead_activities``.

    Raises
    ------
    ValueError
        Missing columns, an unparseable ``as_of``, or duplicate opportunity IDs.

    Examples
    --------
    >>> acts = pd.DataFrame({"what_id": ["o1", "o1", "o1", "o2"], "type": ["Call", "email", "Call", "Meeting"],
    ...                      "activity_date": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-02-01", None])})
    >>> opps = pd.DataFrame({"opportunity_id": ["o1", "o2"], "is_closed": [True, False],
    ...                      "close_date": pd.to_datetime(["2024-01-10", "2024-03-31"])})
    >>> s = activity_summary(acts, opps, as_of="2024-02-11")
    >>> s[["opportunity_id", "n_activities", "n_call", "n_before_close", "n_undated"]]
      opportunity_id  n_activities  n_call  n_before_close  n_undated
    0             o1             3       2               2          0
    1             o2             0       0            <NA>          1
    >>> s["days_since_last_activity"].tolist()
    [10.0, nan]
    """
    fn = "activity_summary"
    if not isinstance(by, str):
        raise TypeError(f"{fn}: by must be one column name, got {by!r}")
    _require(activities, ["what_id", "activity_date", by], fn, "activities")
    _require(opps, ["opportunity_id", "is_closed", "close_date"], fn, "opps")
    day = _to_day(as_of, fn)
    ids = pd.Index(opps["opportunity_id"])
    if not ids.is_unique:
        raise ValueError(f"{fn}: opportunity_id is not unique in opps")
    pos = ids.get_indexer(activities["what_id"])
    linked = activities[pos >= 0]
    pos = pos[pos >= 0]
    date = _utc_naive(linked["activity_date"]).dt.normalize().to_numpy()
    undated = np.isnat(date)
    done = ~undated & (date <= day.to_datetime64())
    if by == "type":
        kind = activity_kind(linked["type"]).to_numpy()
        kinds = list(KINDS)
    else:
        raw = linked[by].astype("str").str.strip().str.lower().fillna("other").to_numpy()
        kind = raw
        kinds = sorted(set(raw[done].tolist()))
    n = len(ids)

    def count(mask):
        return np.bincount(pos[mask], minlength=n).astype("int64")

    out = pd.DataFrame({"opportunity_id": opps["opportunity_id"].to_numpy()})
    out["n_activities"] = count(done)
    for k in kinds:
        out[f"n_{k}"] = count(done & (kind == k))
    closed = _flag(opps["is_closed"]).to_numpy()
    close = pd.to_datetime(opps["close_date"]).dt.normalize().to_numpy()
    before = done & (date <= close[pos])  # a missing close date is never after an activity
    nb = pd.array(count(before), dtype="Int64")
    nb[~closed] = pd.NA
    out["n_before_close"] = nb
    last = pd.Series(date[done]).groupby(pos[done]).max().reindex(range(n))
    out["last_activity_date"] = last.to_numpy().astype("datetime64[us]")
    out["days_since_last_activity"] = ((day - last) / pd.Timedelta(days=1)).to_numpy("float64")
    out["n_undated"] = count(undated)
    if leads is not None:
        out["n_lead_activities"] = _lead_activities(activities, leads, ids, day, fn)
    return out


def _lead_activities(activities, leads, ids: pd.Index, day: pd.Timestamp, fn: str) -> np.ndarray:
    """Per opportunity: dated activities on its converted lead(s), up to conversion and ``as_of``."""
    _require(leads, ["lead_id", "converted_opportunity_id"], fn, "leads")
    _require(activities, ["who_id"], fn, "activities")
    conv = leads[leads["converted_opportunity_id"].notna()]
    until = pd.Series(day, index=conv.index)
    if "converted_date" in conv.columns:
        c = _utc_naive(conv["converted_date"])
        until = c.dt.normalize().where(c.notna() & (c.dt.normalize() < day), day)
    link = pd.DataFrame(
        {
            "who_id": conv["lead_id"].to_numpy(),
            "_opp": ids.get_indexer(conv["converted_opportunity_id"]),
            "_until": until.to_numpy(),
        }
    )
    acts = pd.DataFrame(
        {"who_id": activities["who_id"].to_numpy(), "_date": _utc_naive(activities["activity_date"]).to_numpy()}
    )
    m = acts.dropna().merge(link[link["_opp"] >= 0], on="who_id")
    m = m[m["_date"].dt.normalize() <= m["_until"]]
    return np.bincount(m["_opp"].to_numpy("int64"), minlength=len(ids)).astype("int64")


def activity_win_relation(summary: pd.DataFrame, opps: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Win rate of closed deals by how many activities they had before closing.

    This is a **correlation, not a causal effect**. Deals that are going well get more meetings
    and calls, deals that die early get few; bigger deals get both more activity and a different
    win rate; reps who log diligently may also sell differently. A higher win rate in the 6+
    bucket does not mean that adding calls to a deal would make it more likely to be won.

    Parameters
    ----------
    summary : DataFrame
        From :func:`activity_summary` (``opportunity_id``, ``n_before_close``).
    opps : DataFrame
        With ``opportunity_id``, ``is_closed``, ``is_won``; only closed deals count.
    confidence : float, default 0.95
        Of the Wilson intervals.

    Returns
    -------
    DataFrame
        One row per bucket (``0``, ``1-2``, ``3-5``, ``6+``, always all four): ``bucket``,
        ``closed``, ``won``, ``win_rate`` (NaN when no closed deal), ``win_rate_ci_low``,
        ``win_rate_ci_high`` (Wilson, at ``confidence``).

    Raises
    ------
    ValueError
        A closed deal with no ``n_before_close`` in ``summary`` (it is missing there, or the
        summary was made when the deal was still open), or missing columns.

    Examples
    --------
    >>> summary = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "n_before_close": [0, 4, 5]})
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "is_closed": [True, True, True],
    ...                      "is_won": [False, True, False]})
    >>> activity_win_relation(summary, opps)[["bucket", "closed", "won", "win_rate"]]
      bucket  closed  won  win_rate
    0      0       1    0       0.0
    1    1-2       0    0       NaN
    2    3-5       2    1       0.5
    3     6+       0    0       NaN
    """
    fn = "activity_win_relation"
    _require(summary, ["opportunity_id", "n_before_close"], fn, "summary")
    _require(opps, ["opportunity_id", "is_closed", "is_won"], fn, "opps")
    closed = opps[_flag(opps["is_closed"]).to_numpy()]
    counts = summary.drop_duplicates("opportunity_id").set_index("opportunity_id")["n_before_close"]
    n = pd.to_numeric(counts.reindex(closed["opportunity_id"]), errors="coerce").astype("float64").to_numpy()
    if np.isnan(n).any():
        raise ValueError(
            f"{fn}: {int(np.isnan(n).sum())} closed opportunities have no n_before_close in "
            "summary; build the summary from the same as-of cut as opps"
        )
    won = _flag(closed["is_won"]).to_numpy()
    counts = pd.DataFrame({"n_before_close": n.astype("int64"), "won": won.astype("int64")})
    counts = counts.groupby("n_before_close", as_index=False).agg(closed=("won", "size"), won=("won", "sum"))
    return activity_win_table(counts, confidence=confidence)


def activity_win_table(counts: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """The closed and won deals per number of activities before close, in :data:`BUCKETS`, with win rates.

    What :func:`activity_win_relation` returns, from the counts alone (an engine sums them:
    :func:`funnel_analysis.engine.activities.closed_deals_by_activity_count`).

    Parameters
    ----------
    counts : DataFrame
        ``n_before_close`` (a non-negative count), ``closed`` and ``won`` (deals with that count).
    confidence : float, default 0.95
        Of the Wilson intervals.

    Returns
    -------
    DataFrame
        As :func:`activity_win_relation`.

    Raises
    ------
    ValueError
        Missing columns, or a negative or missing ``n_before_close``.

    Examples
    --------
    >>> counts = pd.DataFrame({"n_before_close": [0, 4, 7], "closed": [2, 3, 1], "won": [0, 2, 1]})
    >>> activity_win_table(counts)[["bucket", "closed", "won", "win_rate"]]
      bucket  closed  won  win_rate
    0      0       2    0  0.000000
    1    1-2       0    0       NaN
    2    3-5       3    2  0.666667
    3     6+       1    1  1.000000
    """
    fn = "activity_win_table"
    _require(counts, ["n_before_close", "closed", "won"], fn, "counts")
    n = pd.to_numeric(counts["n_before_close"], errors="coerce").astype("float64").to_numpy()
    if np.isnan(n).any() or (n < 0).any():
        raise ValueError(f"{fn}: n_before_close must be a non-negative count in every row")
    closed = counts["closed"].astype("int64").to_numpy()
    won = counts["won"].astype("int64").to_numpy()
    rows = []
    for label, lo, hi in BUCKETS:
        m = (n >= lo) & (n <= hi)
        rows.append({"bucket": label, "closed": int(closed[m].sum()), "won": int(won[m].sum())})
    table = pd.DataFrame(rows).astype({"bucket": "str"})
    return rate_table(table, successes="won", trials="closed", name="win_rate", confidence=confidence)
