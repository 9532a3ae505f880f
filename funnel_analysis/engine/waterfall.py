"""The pipeline waterfall of two as-of cuts, in SQL: :func:`funnel_analysis.sources.pipeline_changes.pipeline_waterfall`.

Every deal's state at the end of ``start`` and of ``end`` comes from :mod:`.asof` (one spine of the
two days); each deal's movement and its components are then worked out in the engine by the rules
of the reference (its module notes: ``carried``, ``won``/``lost``, ``pushed_out``, ``pulled_in``,
``pulled_won``/``pulled_lost``, ``new``, ``new_won``/``new_lost``, ``reopened``, ``outside``; the
exchange-rate part of a carried or closing deal's change split off as ``fx_up``/``fx_down``).

Money is handled as the reference handles it: each amount times ``10**decimals`` rounded half to
even (NumPy's rounding, written out in portable SQL), added up as integers of that minor unit, and
divided by ``10**decimals`` once, in pandas. Only the moving deals (``open_only``) and the totals per
segment come back from the engine; the identity
``end = start + new + pulled_in - pushed_out + amount_up - amount_down + fx_up - fx_down - won - lost``
is checked on the totals before returning.

Not here: ``where`` (an expression of :mod:`funnel_analysis.crm.expression`, evaluated on the
pandas org) and owner names; :func:`funnel_analysis.sources.report.pipeline_waterfall` keeps the
pandas path for a ``where``.

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> waterfall(org, start="2024-03-31", end="2024-06-30",
...           close_window=("2024-04-01", "2024-06-30")).totals  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.frames import to_day as _to_day
from .asof import materialise_asof
from .base import EngineError
from .org import EngineOrg

__all__ = ["WATERFALL_COMPONENTS", "WaterfallFrames", "waterfall"]

#: The components in the order of the reference, and their sign in ``end = start + ...``.
WATERFALL_COMPONENTS = (
    "start",
    "new",
    "pulled_in",
    "pushed_out",
    "amount_up",
    "amount_down",
    "fx_up",
    "fx_down",
    "won",
    "lost",
    "end",
)
_SIGNS = {
    "new": 1,
    "pulled_in": 1,
    "pushed_out": -1,
    "amount_up": 1,
    "amount_down": -1,
    "fx_up": 1,
    "fx_down": -1,
    "won": -1,
    "lost": -1,
}
_COUNTS = ("n_opportunities", "n_amount_missing_start", "n_amount_missing_end")
_FN = "waterfall"


@dataclass(frozen=True)
class WaterfallFrames:
    """The two tables of a waterfall, as the reference's :class:`PipelineWaterfall` holds them.

    Attributes
    ----------
    per_opportunity : DataFrame
        One row per deal (the moving ones with ``open_only``): ``opportunity_id``, the ``by``
        columns, ``movement``, ``in_pipeline_start``, ``in_pipeline_end``, ``stage_start``,
        ``stage_end``, ``close_date_start``, ``close_date_end``, ``amount_start``, ``amount_end``,
        ``amount_missing_start``, ``amount_missing_end``, then the components (floats).
    totals : DataFrame
        One row per segment (one without ``by``): the ``by`` columns, the components summed,
        ``n_opportunities``, ``n_amount_missing_start``, ``n_amount_missing_end``.

    Examples
    --------
    >>> WaterfallFrames(per_opportunity=pd.DataFrame(), totals=pd.DataFrame({"start": [0.0]})).totals.shape
    (1, 1)
    """

    per_opportunity: pd.DataFrame
    totals: pd.DataFrame


def _round_even(x: str) -> str:
    """``x`` rounded half to even (as ``numpy.round``), in SQL both DuckDB and Spark run alike."""
    return f"CAST(CASE WHEN ({x}) - floor({x}) = 0.5 THEN 2 * round(({x}) / 2) ELSE round({x}) END AS BIGINT)"


def _moves_sql(org: EngineOrg, state: str, by: list[str], window: bool) -> str:
    """Each deal at end (and at start, when it existed): its flags, movement and components in minor units."""
    cols = set(org.columns("opportunities"))
    # the state's own-currency amount and rate are those the as-of cut carries (asof_query's rules)
    orig = "amount_original" if "amount_original" in cols else "amount"
    rate = "conversion_rate" if "conversion_rate" in cols else None
    code = "currency_iso_code" if "currency_iso_code" in cols else None
    r0, r1 = (f"CAST(b.{rate} AS DOUBLE)", f"CAST(e.{rate} AS DOUBLE)") if rate else ("1.0", "1.0")
    c0, c1 = (f"b.{code}", f"e.{code}") if code else ("''", "''")
    inside = "COALESCE({t}.close_date >= $w0 AND {t}.close_date <= $w1, FALSE)" if window else "TRUE"
    by_e = "".join(f", e.{c}" for c in by)
    by_m = "".join(f", {c}" for c in by)
    a0 = _round_even("COALESCE(amount_start, 0.0) * $scale")
    a1 = _round_even("COALESCE(amount_end, 0.0) * $scale")
    revalued = _round_even("(orig0 / r1) * $scale")
    return f"""
WITH
    e AS (SELECT * FROM {state} WHERE as_of = $d1),
    b AS (SELECT * FROM {state} WHERE as_of = $d0),
    m AS (
        SELECT e.opportunity_id{by_e},
            b.opportunity_id IS NOT NULL AS ex0,
            COALESCE(b.is_closed, FALSE) AS closed0,
            COALESCE(e.is_closed, FALSE) AS closed1,
            COALESCE(e.is_won, FALSE) AS won1,
            b.opportunity_id IS NOT NULL AND {inside.format(t="b")} AS win0,
            {inside.format(t="e")} AS win1,
            b.stage_name AS stage_start, e.stage_name AS stage_end,
            b.close_date AS close_date_start, e.close_date AS close_date_end,
            CAST(b.amount AS DOUBLE) AS amount_start, CAST(e.amount AS DOUBLE) AS amount_end,
            CAST(b.{orig} AS DOUBLE) AS orig0, {r0} AS r0, {r1} AS r1, {c0} AS c0, {c1} AS c1
        FROM e LEFT JOIN b ON b.opportunity_id = e.opportunity_id
    ),
    p AS (
        SELECT *, {a0} AS a0, {a1} AS a1,
            ex0 AND NOT closed0 AND win0 AS p0,
            NOT closed1 AND win1 AS p1
        FROM m
    ),
    k AS (
        SELECT *,
            p0 AND p1 AS carried,
            p0 AND closed1 AS closing,
            p0 AND NOT p1 AND NOT closed1 AS pushed,
            ex0 AND NOT p0 AND NOT closed0 AND p1 AS pulled,
            ex0 AND closed0 AND p1 AS reopened,
            NOT ex0 AND p1 AS new_open,
            NOT ex0 AND closed1 AND win1 AS new_closed,
            ex0 AND NOT p0 AND NOT closed0 AND closed1 AND win1 AS pulled_closed
        FROM p
    ),
    s AS (
        SELECT *,
            COALESCE(c0 = c1 AND abs(orig0) < CAST('Infinity' AS DOUBLE) AND r0 > 0 AND r1 > 0, FALSE)
                AND (carried OR closing) AND amount_start IS NOT NULL AND amount_end IS NOT NULL AS same
        FROM k
    ),
    f AS (
        SELECT *, CASE WHEN same AND r0 <> r1 THEN (CASE WHEN same THEN {revalued} ELSE 0 END) - a0 ELSE 0 END AS fx
        FROM s
    ),
    d AS (
        SELECT *,
            CASE WHEN carried OR closing THEN a1 - a0 - fx ELSE 0 END AS diff,
            CASE WHEN closing OR new_closed OR pulled_closed THEN a1 ELSE 0 END AS closes
        FROM f
    )
SELECT opportunity_id{by_m},
    CASE
        WHEN carried THEN 'carried'
        WHEN closing AND won1 THEN 'won'
        WHEN closing THEN 'lost'
        WHEN pushed THEN 'pushed_out'
        WHEN pulled THEN 'pulled_in'
        WHEN reopened THEN 'reopened'
        WHEN new_open THEN 'new'
        WHEN new_closed AND won1 THEN 'new_won'
        WHEN new_closed THEN 'new_lost'
        WHEN pulled_closed AND won1 THEN 'pulled_won'
        WHEN pulled_closed THEN 'pulled_lost'
        ELSE 'outside'
    END AS movement,
    p0 AS in_pipeline_start, p1 AS in_pipeline_end,
    stage_start, stage_end, close_date_start, close_date_end, amount_start, amount_end,
    p0 AND amount_start IS NULL AS amount_missing_start,
    (p1 OR closing OR new_closed) AND amount_end IS NULL AS amount_missing_end,
    CASE WHEN p0 THEN a0 ELSE 0 END AS "start",
    CASE WHEN new_open OR new_closed OR reopened THEN a1 ELSE 0 END AS new,
    CASE WHEN pulled OR pulled_closed THEN a1 ELSE 0 END AS pulled_in,
    CASE WHEN pushed THEN a0 ELSE 0 END AS pushed_out,
    CASE WHEN diff > 0 THEN diff ELSE 0 END AS amount_up,
    CASE WHEN diff < 0 THEN -diff ELSE 0 END AS amount_down,
    CASE WHEN fx > 0 THEN fx ELSE 0 END AS fx_up,
    CASE WHEN fx < 0 THEN -fx ELSE 0 END AS fx_down,
    CASE WHEN won1 THEN closes ELSE 0 END AS won,
    CASE WHEN NOT won1 THEN closes ELSE 0 END AS lost,
    CASE WHEN p1 THEN a1 ELSE 0 END AS "end"
FROM d
"""


def _naive(s: pd.Series) -> pd.Series:
    """Timestamps as naive UTC datetimes (Spark hands back its timestamps with a zone)."""
    t = pd.to_datetime(s)
    return t.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(t.dt, "tz", None) is not None else t


def waterfall(
    org: EngineOrg,
    *,
    start,
    end,
    by=None,
    close_window=None,
    open_only: bool = True,
    decimals: int = 2,
) -> WaterfallFrames:
    """The pipeline waterfall between two as-of cuts, reduced in the org's engine.

    The same movements, components and totals as
    :func:`funnel_analysis.sources.pipeline_changes.pipeline_waterfall` without ``where``.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    start, end : date-like
        The two cuts (end of day, UTC); ``end`` must not be before ``start``.
    by : str or list of str, optional
        Opportunity columns splitting the totals (values at ``end``; missing values a segment).
    close_window : (date-like, date-like), optional
        The close window (inclusive) that defines the pipeline; None: every open deal.
    open_only : bool, default True
        True: only deals with a movement other than ``outside`` in ``per_opportunity`` (and the
        totals). False: every deal existing at ``end``.
    decimals : int, default 2
        Money is rounded to this many decimals and added up exactly in that unit.

    Returns
    -------
    WaterfallFrames
        ``per_opportunity`` and ``totals``, as the reference's.

    Raises
    ------
    ValueError
        ``end`` before ``start``, an unparseable date, a window ending before it starts, a
        negative ``decimals``; :class:`EngineError` (a ``ValueError``) for a ``by`` column the
        opportunities do not have or an org without opportunities.

    Examples
    --------
    >>> w = waterfall(org, start="2024-03-31", end="2024-06-30", close_window=("2024-04-01", "2024-06-30"))  # doctest: +SKIP
    >>> w.totals[["start", "won", "end"]]  # doctest: +SKIP
    """
    by = _by_list(by)
    t0, t1 = _to_day(start, _FN, "start"), _to_day(end, _FN, "end")
    if t1 < t0:
        raise ValueError(f"{_FN}: end ({t1.date()}) is before start ({t0.date()})")
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool) or decimals < 0:
        raise ValueError(f"{_FN}: decimals must be a non-negative integer, got {decimals!r}")
    window = None
    if close_window is not None:
        if len(close_window) != 2:
            raise ValueError(f"{_FN}: close_window must be a pair (first, last)")
        window = (_to_day(close_window[0], _FN, "close_window[0]"), _to_day(close_window[1], _FN, "close_window[1]"))
        if window[1] < window[0]:
            raise ValueError(f"{_FN}: close_window ends before it starts: {window}")
    if not org.has("opportunities"):
        raise EngineError(f"{_FN}: the org has no opportunities")
    cols = org.columns("opportunities")
    missing = [c for c in ["opportunity_id", "amount", "close_date", *by] if c not in cols]
    if missing:
        raise EngineError(f"{_FN}: the opportunities have no column {', '.join(map(repr, missing))}")

    state = materialise_asof(org, as_of=[t0, t1], name="waterfall_state")
    scale = 10 ** int(decimals)
    params = {"d0": t0.date(), "d1": t1.date(), "scale": scale}
    if window is not None:
        params.update(w0=window[0].to_pydatetime(), w1=window[1].to_pydatetime())
    org.engine.materialise("waterfall_moves", _moves_sql(org, state, by, window is not None), params)

    keep = "WHERE movement <> 'outside'" if open_only else ""
    per = org.engine.df(f"SELECT * FROM waterfall_moves {keep}")
    sums = ", ".join(f'CAST(COALESCE(sum("{k}"), 0) AS BIGINT) AS "{k}"' for k in WATERFALL_COMPONENTS)
    counts = (
        "CAST(count(*) FILTER (WHERE movement <> 'outside') AS BIGINT) AS n_opportunities, "
        "CAST(count(*) FILTER (WHERE amount_missing_start) AS BIGINT) AS n_amount_missing_start, "
        "CAST(count(*) FILTER (WHERE amount_missing_end) AS BIGINT) AS n_amount_missing_end"
    )
    group = f" GROUP BY {', '.join(by)}" if by else ""
    pick = "".join(f"{c}, " for c in by)
    totals = org.engine.df(f"SELECT {pick}{sums}, {counts} FROM waterfall_moves {keep}{group}")

    # the reference's order: by deal (within segment); totals sorted by segment, missing last
    per = per.sort_values([*by, "opportunity_id"], na_position="last", kind="stable").reset_index(drop=True)
    for c in ("close_date_start", "close_date_end"):
        per[c] = _naive(per[c])
    for c in ("in_pipeline_start", "in_pipeline_end", "amount_missing_start", "amount_missing_end"):
        per[c] = per[c].astype(bool)
    for c in ("amount_start", "amount_end"):
        per[c] = per[c].astype("float64")
    for k in WATERFALL_COMPONENTS:
        per[k] = per[k].astype("int64") / scale
    if by:
        totals = totals.sort_values(by, na_position="last", kind="stable").reset_index(drop=True)
    units = totals[list(WATERFALL_COMPONENTS)].astype("int64")
    check = units["start"] + sum(sign * units[k] for k, sign in _SIGNS.items())
    if not (check == units["end"]).all():  # guaranteed by construction; never silently wrong
        raise AssertionError(f"{_FN}: totals do not reconcile")
    for k in WATERFALL_COMPONENTS:
        totals[k] = units[k] / scale
    for c in _COUNTS:
        totals[c] = totals[c].astype("int64")
    return WaterfallFrames(per_opportunity=per, totals=totals)
