"""Stage durations in an engine: stage visits reduced in SQL to Kaplan-Meier life tables.

The visits follow the rules of :func:`funnel_analysis.velocity.stage_intervals` (its module notes):
history rows up to the end of the ``as_of`` day (UTC), in time order then file order
(``row_no``), rows without a time or a stage left out; consecutive rows in one stage are one
visit; a visit ends at the next stage change; the last visit is censored (days up to ``as_of``)
when its stage is open and has no duration when it is closed; a deal without history has one
visit in its stage *on the day* (:func:`funnel_analysis.engine.asof.asof_state`) from its
creation; a deal without a creation date has no visits and is counted in ``n_undated_excluded``.
Days are UTC calendar days.

The sales cycle (:func:`cycle_length`, created to close, open deals censored at the day) is reduced
the same way, one life table per segment, with :func:`funnel_analysis.velocity.cycle_length`'s
counts (closed, won, invalid, undated).

Only the life tables leave the engine: per segment, stage and duration in days, the visits at
risk, the events (visits that ended) and the censored ones. The Kaplan-Meier quantiles of
:func:`funnel_analysis.velocity.report.stage_durations` are computed from them in pandas
(the estimator of statsmodels' ``SurvfuncRight`` the pandas path uses, written over the life
table's counts: the same SAS quantile and the same log-transformed Greenwood interval).

``by`` names opportunity columns; the state columns (stage, amount, probability, close date,
forecast category, flags) are taken as they stood on the day, the others as the record holds
them (field history is not rebuilt, as in :mod:`funnel_analysis.engine.asof`).

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> stage_durations(org, as_of="2024-06-30", percentiles=())[["stage_name", "km_median"]]  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .asof import _days, materialise_asof
from .base import EngineError
from .org import EngineOrg

__all__ = [
    "CYCLE_COLUMNS",
    "cycle_length",
    "km_from_life_table",
    "life_table_query",
    "stage_durations",
    "stage_life_tables",
    "visit_ctes",
]

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
#: The life table's own columns after the ``by`` columns.
LIFE_COLUMNS = ["stage_name", "days", "at_risk", "events", "censored"]


def _by_list(by) -> list[str]:
    if by is None or by == "":
        return []
    return [by] if isinstance(by, str) else list(by)


def _check_by(org: EngineOrg, by: list[str], fn: str) -> None:
    cols = set(org.columns("opportunities"))
    for c in by:
        if not isinstance(c, str) or not _IDENT.match(c) or c not in cols:
            raise EngineError(f"{fn}: by: {c!r} is not a column of the opportunities")
        if c in LIFE_COLUMNS:
            raise EngineError(f"{fn}: by: {c!r} is a column of the life table itself")


def visit_ctes(org: EngineOrg, *, state: str, keys=()) -> str:
    """The ``WITH`` clause of the stage visits of the deals of ``state`` up to ``$day``: ``o`` and ``visits``.

    The rules of :func:`funnel_analysis.velocity.stage_intervals`: the history rows up to the day in
    time then file order (``row_no``), consecutive rows of one stage one visit, a deal without history
    one visit in its stage of the day from its creation. The stage life tables
    (:func:`life_table_query`) and the velocity report's queries (:mod:`funnel_analysis.engine.velocity`)
    continue it with their own CTEs.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    state : str
        The relation of the opportunities' state on the day (:func:`~funnel_analysis.engine.asof.materialise_asof`).
    keys : list of str
        Columns of ``state`` that ``o`` carries beside ``opportunity_id``, ``created_date``, ``stage_name``.

    Returns
    -------
    str
        ``WITH o AS (...), ..., visits AS (opportunity_id, stage_name, entered, exited)``, without a
        trailing comma, with one ``$day`` placeholder.

    Examples
    --------
    >>> sql = visit_ctes(org, state="asof_memo_7f3a_0") + " SELECT * FROM visits"  # doctest: +SKIP
    """
    o_keys = "".join(f", {c}" for c in keys)
    if org.has("opportunity_history"):
        hist = org.relation("opportunity_history")
        events = f"""
    h AS (
        SELECT x.opportunity_id, x.created_date AS t, x.row_no, x.stage_name
        FROM {hist} x JOIN o ON o.opportunity_id = x.opportunity_id
        WHERE x.created_date IS NOT NULL AND x.stage_name IS NOT NULL AND CAST(x.created_date AS DATE) <= $day
    ),
    ev AS (
        SELECT opportunity_id, t, row_no, stage_name FROM h
        UNION ALL
        SELECT o.opportunity_id, o.created_date AS t, CAST(0 AS BIGINT) AS row_no, o.stage_name
        FROM o WHERE NOT EXISTS (SELECT 1 FROM h WHERE h.opportunity_id = o.opportunity_id)
    ),"""
    else:
        events = """
    ev AS (SELECT opportunity_id, created_date AS t, CAST(0 AS BIGINT) AS row_no, stage_name FROM o),"""
    return f"""
WITH
    o AS (
        SELECT opportunity_id, created_date, stage_name{o_keys} FROM {state}
        WHERE created_date IS NOT NULL AND CAST(created_date AS DATE) <= $day
    ),{events}
    marked AS (
        SELECT *, LAG(stage_name) OVER (PARTITION BY opportunity_id ORDER BY t, row_no) AS prev_stage,
            ROW_NUMBER() OVER (PARTITION BY opportunity_id ORDER BY t, row_no) AS rn
        FROM ev
    ),
    visits AS (
        SELECT opportunity_id, stage_name, t AS entered,
            LEAD(t) OVER (PARTITION BY opportunity_id ORDER BY t, row_no) AS exited
        FROM marked WHERE rn = 1 OR prev_stage IS DISTINCT FROM stage_name
    )"""


def life_table_query(org: EngineOrg, *, state: str, by=None) -> str:
    """The SQL (DuckDB dialect) of the stage life tables, from a materialised as-of state.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine (opportunities, their history and the stages).
    state : str
        The relation of the opportunities' state on one day
        (:func:`funnel_analysis.engine.asof.materialise_asof`) and ``<state>_spine_stages``.
    by : str or list of str, optional
        Opportunity columns to segment by (checked against the schema before this is called).

    Returns
    -------
    str
        A query with one ``$day`` placeholder (the as-of DATE): ``by``, ``stage_name``, ``days``,
        ``at_risk``, ``events``, ``censored``, for the visits with a duration (``days`` >= 0).

    Examples
    --------
    >>> sql = life_table_query(org, state="asof_state")  # doctest: +SKIP
    """
    by = _by_list(by)
    keys = "".join(f"{c}, " for c in by)
    o_keys = "".join(f"o.{c}, " for c in by)
    stages = f"{state}_spine_stages"
    return f"""{visit_ctes(org, state=state, keys=by)},
    timed AS (
        SELECT {o_keys}v.stage_name,
            v.exited IS NULL AND NOT COALESCE(st.is_closed, FALSE) AS is_censored,
            CASE
                WHEN v.exited IS NOT NULL THEN DATE_DIFF('day', CAST(v.entered AS DATE), CAST(v.exited AS DATE))
                WHEN NOT COALESCE(st.is_closed, FALSE) THEN DATE_DIFF('day', CAST(v.entered AS DATE), $day)
            END AS days
        FROM visits v
        JOIN o ON o.opportunity_id = v.opportunity_id
        LEFT JOIN {stages} st ON st.stage_name = v.stage_name
    ),
    counted AS (
        SELECT {keys}stage_name, days,
            SUM(CASE WHEN is_censored THEN 0 ELSE 1 END) AS events,
            SUM(CASE WHEN is_censored THEN 1 ELSE 0 END) AS censored
        FROM timed
        WHERE days IS NOT NULL AND days >= 0 AND stage_name IS NOT NULL
        GROUP BY {keys}stage_name, days
    )
SELECT {keys}stage_name, days,
    SUM(events + censored) OVER (
        PARTITION BY {keys}stage_name ORDER BY days DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS at_risk,
    events, censored
FROM counted
"""


def _day(as_of, fn: str) -> pd.Timestamp:
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        raise EngineError(f"{fn}: as_of is required (a day)")
    try:
        return _days(as_of)[0]
    except (ValueError, TypeError) as exc:
        raise EngineError(f"{fn}: as_of {as_of!r} is not a date ({exc})") from None


def stage_life_tables(org: EngineOrg, *, as_of, by=None) -> pd.DataFrame:
    """Kaplan-Meier life tables of the stage visits as of a day, reduced in the engine.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day: visits still open at its end are censored; later history is ignored.
    by : str or list of str, optional
        Opportunity columns to segment by.

    Returns
    -------
    DataFrame
        ``by``, ``stage_name``, ``days`` (int), ``at_risk`` (visits lasting at least ``days``),
        ``events`` (visits that ended after ``days``), ``censored`` (still open after ``days``);
        sorted by segment, stage and days. Every stage a visit was in, closed ones included
        (a closed stage's visits end when the deal moves on).

    Raises
    ------
    EngineError
        When ``as_of`` is not a date, ``by`` names no column of the opportunities, or the org has
        no opportunities.

    Examples
    --------
    >>> stage_life_tables(org, as_of="2024-06-30").head()  # doctest: +SKIP
    """
    day, by, state = _day_state(org, as_of, by, "stage_life_tables", "life_state")
    out = org.engine.df(life_table_query(org, state=state, by=by), {"day": day.date()})
    out = out.sort_values([*by, "stage_name", "days"], kind="stable", na_position="last").reset_index(drop=True)
    return out.astype({"days": "int64", "at_risk": "int64", "events": "int64", "censored": "int64"})


def _label(p: float) -> str:
    return "median" if p == 0.5 else f"p{100 * p:g}"


class _Curve:
    """A Kaplan-Meier curve from a life table, as statsmodels' ``SurvfuncRight`` computes it unweighted.

    ``days`` sorted ascending, ``at_risk`` the visits lasting at least each, ``events`` those ending
    there; kept at the days with an event. Greenwood's standard errors, statsmodels' guards included
    (its frequency weights would switch to Tsiatis' formula: a different interval).
    """

    def __init__(self, days, at_risk, events):
        keep = events > 0
        t, n, d = days[keep], at_risk[keep].astype(np.float64), events[keep].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            sp = 1 - d / n
            zero = sp < 1e-16
            sp[zero] = 1e-16
            sp = np.exp(np.cumsum(np.log(sp)))
            sp[zero] = 0
            se = d / np.clip(n * (n - d), 1e-12, np.inf)
            se[(n == d) | (n == 0)] = np.nan
            se = np.sqrt(np.cumsum(se))
            locs = np.isfinite(se) | (sp != 0)
            se[locs] *= sp[locs]
            se[~locs] = np.nan
        self.surv_times, self.surv_prob, self.surv_prob_se = t, sp, se

    def quantile(self, p: float) -> float:
        """The first day at which the curve drops strictly below 1 - p (SAS), NaN if never."""
        below = np.flatnonzero(self.surv_prob < 1 - p)
        return float(self.surv_times[below[0]]) if len(below) else np.nan


def _quantile_ci(km, p: float, z: float = 1.959964) -> tuple[float, float]:
    """95 % interval of a KM quantile: where the log-transformed Greenwood band crosses 1 - p.

    The rule of :func:`funnel_analysis.velocity.durations.stage_durations` (R's ``survfit``):
    the lower limit from the lower band, the upper from the upper band, NaN when it never drops
    below 1 - p.
    """
    surv, se, times = km.surv_prob, km.surv_prob_se, km.surv_times
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(surv > 0, np.exp(z * se / surv), 1.0)
    limits = []
    for band in (surv / spread, np.minimum(surv * spread, 1.0)):
        below = np.flatnonzero(band < 1 - p)
        limits.append(float(times[below[0]]) if len(below) else np.nan)
    return limits[0], limits[1]


def km_from_life_table(table: pd.DataFrame, *, percentiles=(0.5, 0.75, 0.9)) -> Mapping[str, float]:
    """Kaplan-Meier and completed-only quantiles of one life table (one segment and stage).

    Parameters
    ----------
    table : DataFrame
        Rows of :func:`stage_life_tables` for one segment and stage (``days``, ``events``,
        ``censored``); empty for a stage nobody visited.
    percentiles : sequence of float, default (0.5, 0.75, 0.9)
        Quantiles strictly between 0 and 1; the median is always given.

    Returns
    -------
    dict
        ``n``, ``n_censored``, then per quantile ``naive_<q>``, ``km_<q>``, ``km_<q>_ci_low``,
        ``km_<q>_ci_high`` (``median``, ``p75``...): NaN without a completed visit.

    Raises
    ------
    ValueError
        When a percentile is not strictly between 0 and 1, or the table lacks a column.

    Examples
    --------
    >>> lt = pd.DataFrame({"days": [2, 4, 6, 8], "events": [1, 1, 0, 1], "censored": [0, 0, 1, 0]})
    >>> r = km_from_life_table(lt, percentiles=())
    >>> r["n"], r["n_censored"], r["naive_median"], r["km_median"]
    (4, 1, 4.0, 8.0)
    """
    missing = [c for c in ("days", "events", "censored") if c not in table.columns]
    if missing:
        raise ValueError(f"km_from_life_table: the life table lacks {missing}")
    probs = [0.5] + [float(q) for q in percentiles if float(q) != 0.5]
    if any(not 0 < q < 1 for q in probs):
        raise ValueError(f"km_from_life_table: percentiles must lie strictly between 0 and 1, got {percentiles!r}")
    table = table.sort_values("days", kind="stable")
    days = table["days"].to_numpy(float)
    ev, ce = table["events"].to_numpy(float), table["censored"].to_numpy(float)
    out = {"n": int(ev.sum() + ce.sum()), "n_censored": int(ce.sum())}
    at_risk = np.cumsum((ev + ce)[::-1])[::-1]  # the table sorted by days: visits lasting at least each
    km = _Curve(days, at_risk, ev) if (ev > 0).any() else None
    naive = _Curve(days, np.cumsum(ev[::-1])[::-1], ev) if km else None
    for p in probs:
        name = _label(p)
        out[f"naive_{name}"] = naive.quantile(p) if naive else np.nan
        out[f"km_{name}"] = km.quantile(p) if km else np.nan
        lo, hi = _quantile_ci(km, p) if km else (np.nan, np.nan)
        out[f"km_{name}_ci_low"], out[f"km_{name}_ci_high"] = lo, hi
    return out


def _undated(org: EngineOrg, by: list[str]) -> pd.DataFrame:
    """Deals without a creation date, counted per segment (the record's own values)."""
    keys = ", ".join(by)
    rel = org.relation("opportunities")
    if "created_date" not in org.columns("opportunities"):
        return pd.DataFrame(columns=[*by, "n_undated_excluded"])
    group = f" GROUP BY {keys}" if by else ""
    select = f"{keys}, " if by else ""
    return org.engine.df(f"SELECT {select}COUNT(*) AS n_undated_excluded FROM {rel} WHERE created_date IS NULL{group}")


def _with_undated(out: pd.DataFrame, org: EngineOrg, by: list[str]) -> pd.DataFrame:
    """``out`` with ``n_undated_excluded`` set to each segment's deals without a creation date."""
    undated = _undated(org, by)
    if len(undated) and len(out):
        if by:
            merged = out[by].merge(undated, on=by, how="left")["n_undated_excluded"]
            out["n_undated_excluded"] = merged.fillna(0).astype("int64").to_numpy()
        else:
            out["n_undated_excluded"] = int(undated["n_undated_excluded"].sum())
    return out


def stage_durations(org: EngineOrg, *, as_of, by=None, percentiles=(0.5, 0.75, 0.9)) -> pd.DataFrame:
    """Days in each open stage, open visits censored: :func:`funnel_analysis.velocity.report.stage_durations` on an engine.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day.
    by : str or list of str, optional
        Opportunity columns to segment by.
    percentiles : sequence of float, default (0.5, 0.75, 0.9)
        Quantiles reported besides the median.

    Returns
    -------
    DataFrame
        The columns of the pandas report: ``by``, ``stage_name``, ``n``, ``n_censored``,
        ``n_undated_excluded``, ``naive_median``, ``km_median``, its interval,
        ``median_gap_days``, then per other percentile; a row per segment (those with visits)
        and open stage of the stages table, in ``sort_order``.

    Raises
    ------
    EngineError
        As :func:`stage_life_tables`.
    ValueError
        When a percentile is not strictly between 0 and 1.

    Examples
    --------
    >>> stage_durations(org, as_of="2024-06-30", by="lead_source")  # doctest: +SKIP
    """
    by = _by_list(by)
    km_from_life_table(pd.DataFrame(columns=["days", "events", "censored"]), percentiles=percentiles)  # checks
    lt = stage_life_tables(org, as_of=as_of, by=by)
    st = org.stages
    open_st = st[~st["is_closed"].astype("boolean").fillna(False).to_numpy()]
    open_st = open_st.sort_values("sort_order", kind="stable").drop_duplicates("stage_name")["stage_name"].tolist()
    groups = lt.groupby(by, dropna=False, sort=True) if by else [((), lt)]
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        for s in open_st:
            r = km_from_life_table(g[(g["stage_name"] == s).to_numpy()], percentiles=percentiles)
            rows.append(
                {**dict(zip(by, key)), "stage_name": s, **r, "median_gap_days": r["km_median"] - r["naive_median"]}
            )
    front = [*by, "stage_name", "n", "n_censored", "naive_median", "km_median", "km_median_ci_low"]
    front += ["km_median_ci_high", "median_gap_days"]
    out = pd.DataFrame(rows, columns=front + [c for c in (rows[0] if rows else {}) if c not in front])
    out.insert(len(by) + 3, "n_undated_excluded", 0)
    return _with_undated(out, org, by)


#: The columns of :func:`cycle_length`, as ``velocity.durations.cycle_length`` gives them after ``by``.
CYCLE_COLUMNS = [
    "n",
    "n_closed",
    "n_won",
    "n_censored",
    "n_invalid",
    "n_undated_excluded",
    "naive_mean",
    "naive_median",
    "km_median",
    "km_median_ci_low",
    "km_median_ci_high",
    "median_gap_days",
]


def _day_state(org: EngineOrg, as_of, by, fn: str, name: str) -> tuple[pd.Timestamp, list[str], str]:
    """The day, the ``by`` columns checked, and the opportunities' state on it materialised as ``name``."""
    by = _by_list(by)
    day = _day(as_of, fn)
    if not org.has("opportunities"):
        raise EngineError(f"{fn}: the org has no opportunities")
    _check_by(org, by, fn)
    return day, by, materialise_asof(org, as_of=day, name=name)


def _cycle_life_tables(org: EngineOrg, *, as_of, by=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sales cycle's life tables per segment of the day's cut, and each segment's counts.

    The rules of :func:`funnel_analysis.velocity.cycle_length`: deals created by the end of the day
    (UTC days); a deal closed on the day (closed, its close date not after it) ends at its close
    date, any other is censored at the day; a closed deal without a close date, or closing before
    its creation, is invalid (counted, left out). Returns (``by``, ``days``, ``events``, ``censored``)
    of the valid deals and (``by``, ``n``, ``n_closed``, ``n_won``, ``n_invalid``).
    """
    day, by, state = _day_state(org, as_of, by, "cycle_length", "cycle_state")
    keys = "".join(f"{c}, " for c in by)
    group = f"GROUP BY {', '.join(by)}" if by else ""
    deals = f"""
WITH o AS (
    SELECT {keys}
        COALESCE(is_closed, FALSE) AND NOT COALESCE(CAST(close_date AS DATE) > $day, FALSE) AS closed,
        COALESCE(is_won, FALSE) AS won,
        CAST(created_date AS DATE) AS created, CAST(close_date AS DATE) AS closes
    FROM {state}
    WHERE created_date IS NOT NULL AND CAST(created_date AS DATE) <= $day
),
d AS (
    SELECT {keys}closed, closed AND won AS won,
        DATE_DIFF('day', created, CASE WHEN closed THEN closes ELSE $day END) AS days
    FROM o
),
v AS (SELECT *, days IS NULL OR days < 0 AS bad FROM d)"""
    tables = org.engine.df(
        f"""{deals}
SELECT {keys}days, CAST(count(*) FILTER (WHERE closed) AS BIGINT) AS events,
    CAST(count(*) FILTER (WHERE NOT closed) AS BIGINT) AS censored
FROM v WHERE NOT bad {group}{", " if by else "GROUP BY "}days""",
        {"day": day.date()},
    )
    counts = org.engine.df(
        f"""{deals}
SELECT {keys}CAST(count(*) AS BIGINT) AS n,
    CAST(count(*) FILTER (WHERE closed AND NOT bad) AS BIGINT) AS n_closed,
    CAST(count(*) FILTER (WHERE won AND NOT bad) AS BIGINT) AS n_won,
    CAST(count(*) FILTER (WHERE bad) AS BIGINT) AS n_invalid
FROM v {group}""",
        {"day": day.date()},
    )
    tables = tables.sort_values([*by, "days"], kind="stable", na_position="last").reset_index(drop=True)
    counts = counts.sort_values(by, kind="stable", na_position="last").reset_index(drop=True) if by else counts
    return tables.astype({"days": "int64", "events": "int64", "censored": "int64"}), counts


def cycle_length(org: EngineOrg, *, as_of, by=None) -> pd.DataFrame:
    """The sales cycle, open deals censored: :func:`funnel_analysis.velocity.report.cycle_length` on an engine.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day.
    by : str or list of str, optional
        Opportunity columns to segment by.

    Returns
    -------
    DataFrame
        ``by``, then :data:`CYCLE_COLUMNS`: one row per segment of the day's cut (sorted, missing
        last); ``n_undated_excluded`` counts the segment's deals without a creation date.

    Raises
    ------
    EngineError
        When ``as_of`` is not a date, ``by`` names no column of the opportunities, or the org has
        no opportunities.

    Examples
    --------
    >>> cycle_length(org, as_of="2024-06-30", by="lead_source")  # doctest: +SKIP
    """
    by = _by_list(by)
    tables, counts = _cycle_life_tables(org, as_of=as_of, by=by)
    groups = (
        {k if isinstance(k, tuple) else (k,): g for k, g in tables.groupby(by, dropna=False, sort=False)}
        if by
        else {(): tables}
    )
    rows = []
    for _, c in counts.iterrows():
        key = tuple(c[k] for k in by)
        lt = next((g for k, g in groups.items() if all(_same(a, b) for a, b in zip(k, key))), tables.iloc[0:0])
        r = km_from_life_table(lt, percentiles=())
        closed_days = lt["days"].to_numpy(float) * lt["events"].to_numpy(float)
        n_events = float(lt["events"].sum())
        rows.append(
            {
                **dict(zip(by, key)),
                "n": int(c["n"]),
                "n_closed": int(c["n_closed"]),
                "n_won": int(c["n_won"]),
                "n_censored": r["n_censored"],
                "n_invalid": int(c["n_invalid"]),
                "n_undated_excluded": 0,
                "naive_mean": closed_days.sum() / n_events if n_events else np.nan,
                **{k: r[k] for k in ("naive_median", "km_median", "km_median_ci_low", "km_median_ci_high")},
                "median_gap_days": r["km_median"] - r["naive_median"],
            }
        )
    return _with_undated(pd.DataFrame(rows, columns=[*by, *CYCLE_COLUMNS]), org, by)


def _same(a, b) -> bool:
    """Two segment values are one segment (missing matches missing)."""
    return (pd.isna(a) and pd.isna(b)) if (pd.isna(a) or pd.isna(b)) else a == b
