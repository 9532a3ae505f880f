"""The velocity report's inputs in an engine: the day's deals, the open visits, the stage entries (#19).

The velocity report's sections that are not life tables (:mod:`.durations` has those) need, per
deal, a few values of the day: sales velocity and the slipped deals read each deal's state
(:func:`day_deals`, the as-of cut of :func:`funnel_analysis.engine.asof.materialise_asof`, close-date
pushes included), the stalled deals read each open deal's current visit and the stages' quantiles
of days (:func:`stalled_inputs`), the days from stage to stage read the visits of two stages
(:func:`stage_entries`). These are computed in the engine, where the big tables stay (the history
is turned into visits there, by the rules of :mod:`.durations`); only the per-deal rows of the day
and the small life tables come back. The report entry points
(:mod:`funnel_analysis.velocity.report`) finish with the pandas functions of the reference, so the
bootstrap and the means are the same code.

Rows come back ordered by ``opportunity_id`` (the engines' relations have no file order for deals;
the pandas entry points order the cut the same way, so the bootstrap resamples the same deals).
Timestamps come back as the pandas cut types them: ``created_date`` and ``entered`` in UTC,
``close_date`` as a day without a zone.

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> day_deals(org, as_of="2024-06-30")[["opportunity_id", "is_closed"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .base import EngineError
from .durations import _day_state, km_from_life_table, life_table_query
from .frames import naive_days, utc_times
from .org import EngineOrg

__all__ = [
    "DEAL_COLUMNS",
    "StalledInputs",
    "day_deals",
    "stage_entries",
    "stages_used",
    "stalled_inputs",
    "undated_deals",
]

#: The columns of :func:`day_deals` before the ``by`` columns (those the opportunities have).
DEAL_COLUMNS = (
    "opportunity_id",
    "created_date",
    "close_date",
    "is_closed",
    "is_won",
    "amount",
    "owner_id",
    "stage_name",
)
#: What the cut takes from ``opportunity_field_history``, added by :func:`day_deals` when present.
_PUSH_COLUMNS = ("close_date_pushes", "slipped_before")


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """The engine's rows typed as the pandas cut types them (Spark and DuckDB hand back different types)."""
    out = df.copy()
    for c in ("created_date", "entered"):
        if c in out.columns:
            out[c] = utc_times(out[c])
    if "close_date" in out.columns:
        out["close_date"] = naive_days(out["close_date"])
    for c in ("is_closed", "is_won"):
        if c in out.columns:
            out[c] = out[c].astype("boolean").fillna(False).astype(bool)
    if "amount" in out.columns:
        out["amount"] = pd.to_numeric(out["amount"]).astype("float64")
    if "close_date_pushes" in out.columns:
        out["close_date_pushes"] = out["close_date_pushes"].astype("Int64")
        out["slipped_before"] = out["slipped_before"].astype("boolean")
    for c in ("opportunity_id", "owner_id", "stage_name"):
        if c in out.columns:
            out[c] = out[c].astype("str")
    return out.reset_index(drop=True)


def _state_columns(org: EngineOrg, state: str) -> list[str]:
    return list(org.engine.sql(f"SELECT * FROM {state} LIMIT 0").schema.names)


def day_deals(org: EngineOrg, *, as_of, by=None) -> pd.DataFrame:
    """Every deal of the day's cut, its state as of the day: what sales velocity and the slipped deals read.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day (the end of it, UTC).
    by : str or list of str, optional
        Opportunity columns to bring too (segments), as they stood on the day where the cut rebuilds
        them (``owner_id``), else as the record holds them.

    Returns
    -------
    DataFrame
        One row per deal created by the end of the day, ordered by ``opportunity_id``: the columns of
        :data:`DEAL_COLUMNS` the opportunities have, with ``opportunity_field_history`` also
        ``close_date_pushes`` (``Int64``) and ``slipped_before`` (``boolean``), then ``by``.

    Raises
    ------
    EngineError
        When ``as_of`` is not a date, ``by`` names no column of the opportunities, or the org has
        no opportunities.

    Examples
    --------
    >>> day_deals(org, as_of="2024-06-30", by="lead_source").columns[-1]  # doctest: +SKIP
    'lead_source'
    """
    _, by, state = _day_state(org, as_of, by, "day_deals", "velocity_deals")
    have = _state_columns(org, state)
    cols = [c for c in (*DEAL_COLUMNS, *_PUSH_COLUMNS) if c in have]
    cols += [c for c in by if c not in cols]
    out = org.engine.df(f"SELECT {', '.join(cols)} FROM {state} ORDER BY opportunity_id")
    return _typed(out)


def undated_deals(org: EngineOrg, *, as_of, by=None) -> pd.DataFrame:
    """The deals without a creation date, which no cut holds, closed on the day by their own flags.

    As :func:`funnel_analysis.crm.sections.dropped_undated`: a deal closing after the day is open
    on it, and then not won; the record's values otherwise (no history can place it in time).

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day.
    by : str or list of str, optional
        Opportunity columns to bring too, as the record holds them.

    Returns
    -------
    DataFrame
        ``opportunity_id``, ``created_date`` (all missing), ``close_date``, ``is_closed``,
        ``is_won``, ``amount``, then ``by``; ordered by ``opportunity_id``; no rows when the
        opportunities have no ``created_date`` column.

    Raises
    ------
    EngineError
        As :func:`day_deals`.

    Examples
    --------
    >>> undated_deals(org, as_of="2024-06-30")["is_won"].sum()  # doctest: +SKIP
    3
    """
    day, by, _ = _day_state(org, as_of, by, "undated_deals", "velocity_undated")
    have = org.columns("opportunities")
    base = [c for c in ("opportunity_id", "created_date", "close_date", "amount") if c in have]
    cols = base + [c for c in by if c not in base]
    if "created_date" not in have:
        return pd.DataFrame(columns=[*base, "is_closed", "is_won", *by])
    closed = "COALESCE(is_closed, FALSE) AND NOT COALESCE(CAST(close_date AS DATE) > $day, FALSE)"
    out = org.engine.df(
        f"""SELECT {", ".join(cols)}, {closed} AS is_closed, ({closed}) AND COALESCE(is_won, FALSE) AS is_won
FROM {org.relation("opportunities")} WHERE created_date IS NULL ORDER BY opportunity_id""",
        {"day": day.date()},
    )
    return _typed(out)[[*base, "is_closed", "is_won", *[c for c in by if c not in base]]]


def _visits_query(org: EngineOrg, *, state: str, keys: list[str]) -> str:
    """The CTEs of the stage visits of the deals of ``state`` up to ``$day`` (``o``, ``visits``), and ``st``.

    The visits of :func:`funnel_analysis.engine.durations.visit_ctes` (the life tables' own), then the
    stages' closed flags: history rows up to the day in time then file order, consecutive rows of one
    stage one visit, a deal without history one visit in its stage of the day from its creation.
    ``o`` carries ``keys``.
    """
    from .durations import visit_ctes

    return f"""{visit_ctes(org, state=state, keys=keys)},
    st AS (SELECT stage_name, is_closed FROM {state}_spine_stages)"""


def _label(p: float) -> str:
    return "median" if p == 0.5 else f"p{100 * p:g}"


@dataclass(frozen=True)
class StalledInputs:
    """What :func:`funnel_analysis.velocity.report.stalled_deals` reads from the engine.

    Attributes
    ----------
    current : DataFrame
        Each open deal's current visit (still open on the day, in an open stage):
        ``opportunity_id``, ``owner_id`` and ``amount`` on the day, ``stage_name``, ``entered``;
        ordered by ``opportunity_id``.
    thresholds : Series
        Per open stage of the stages table (index ``stage_name``), the Kaplan-Meier quantile of
        days of all its visits (open ones censored); NaN where the curve never reaches it.
    """

    current: pd.DataFrame
    thresholds: pd.Series


def stalled_inputs(org: EngineOrg, *, as_of, quantile: float = 0.9) -> StalledInputs:
    """The open deals' current visits and each open stage's quantile of days, from one cut in the engine.

    The quantile is :func:`funnel_analysis.velocity.stage_durations`' Kaplan-Meier quantile, computed
    from the stage's life table (:func:`funnel_analysis.engine.durations.km_from_life_table`, the
    estimator of statsmodels written over counts); the visits follow the rules of
    :func:`funnel_analysis.velocity.stage_intervals`.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day.
    quantile : float, default 0.9
        The quantile, strictly between 0 and 1.

    Returns
    -------
    StalledInputs
        ``current`` (one row per open deal in an open stage) and ``thresholds``.

    Raises
    ------
    EngineError
        When ``as_of`` is not a date or the org has no opportunities.
    ValueError
        When ``quantile`` is not strictly between 0 and 1.

    Examples
    --------
    >>> stalled_inputs(org, as_of="2024-06-30", quantile=0.8).thresholds  # doctest: +SKIP
    """
    q = float(quantile)
    if not 0 < q < 1:
        raise ValueError(f"stalled_inputs: quantile must lie strictly between 0 and 1, got {quantile!r}")
    day, _, state = _day_state(org, as_of, None, "stalled_inputs", "velocity_stall")
    params = {"day": day.date()}
    lt = org.engine.df(life_table_query(org, state=state), params)
    lt = lt.astype({"days": "int64", "events": "int64", "censored": "int64"})
    st = org.stages
    open_st = st[~st["is_closed"].astype("boolean").fillna(False).to_numpy()]
    names = open_st.sort_values("sort_order", kind="stable").drop_duplicates("stage_name")["stage_name"].tolist()
    col = f"km_{_label(q)}"
    thresholds = pd.Series(
        [km_from_life_table(lt[(lt["stage_name"] == s).to_numpy()], percentiles=(q,))[col] for s in names],
        index=pd.Index(names, name="stage_name"),
        name=col,
        dtype="float64",
    )
    have = _state_columns(org, state)
    info = [c for c in ("owner_id", "amount") if c in have]
    current = org.engine.df(
        f"""{_visits_query(org, state=state, keys=[])}
SELECT v.opportunity_id{"".join(f", s.{c}" for c in info)}, v.stage_name, v.entered
FROM visits v
JOIN {state} s ON s.opportunity_id = v.opportunity_id
LEFT JOIN st ON st.stage_name = v.stage_name
WHERE v.exited IS NULL AND v.stage_name IS NOT NULL AND NOT COALESCE(st.is_closed, FALSE)
ORDER BY v.opportunity_id""",
        params,
    )
    for c in ("owner_id", "amount"):
        if c not in current.columns:
            current[c] = pd.NA
    current = _typed(current[["opportunity_id", "owner_id", "amount", "stage_name", "entered"]])
    return StalledInputs(current=current, thresholds=thresholds)


def stage_entries(org: EngineOrg, *, as_of, stages, by=None) -> pd.DataFrame:
    """The visits of a few stages as of a day: when each deal entered each of them.

    What :func:`funnel_analysis.velocity.stage_to_stage_days` reads (the first entry into one
    stage, the first into a later one): the visits of the other stages leave it unchanged.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day: later history is ignored.
    stages : list of str
        The stage names (bound as values, never written into the SQL).
    by : str or list of str, optional
        Opportunity columns carried onto each visit (their values on the day).

    Returns
    -------
    DataFrame
        ``opportunity_id``, ``stage_name``, ``entered`` (UTC), then ``by``; one row per visit of
        one of ``stages``, ordered by deal and time.

    Raises
    ------
    EngineError
        When ``as_of`` is not a date, ``by`` names no column of the opportunities, ``stages`` is
        empty, or the org has no opportunities.

    Examples
    --------
    >>> stage_entries(org, as_of="2024-06-30", stages=["Qualification", "Closed Won"])  # doctest: +SKIP
    """
    names = [stages] if isinstance(stages, str) else list(stages)
    if not names or not all(isinstance(s, str) for s in names):
        raise EngineError(f"stage_entries: stages must be stage names, got {stages!r}")
    day, by, state = _day_state(org, as_of, by, "stage_entries", "velocity_entries")
    params: dict = {"day": day.date()}
    params.update({f"s{i}": s for i, s in enumerate(names)})
    keys = "".join(f", o.{c}" for c in by)
    out = org.engine.df(
        f"""{_visits_query(org, state=state, keys=by)}
SELECT v.opportunity_id, v.stage_name, v.entered{keys}
FROM visits v JOIN o ON o.opportunity_id = v.opportunity_id
WHERE v.stage_name IN ({", ".join(f"$s{i}" for i in range(len(names)))})
ORDER BY v.opportunity_id, v.entered""",
        params,
    )
    return _typed(out)


def stages_used(org: EngineOrg, *, as_of) -> pd.Series:
    """The stage names the day's cut uses: the deals' stages on the day and the history's up to its end.

    What :func:`funnel_analysis.crm.sections.stage_order_unknown` reads from a cut
    (its opportunities' and history's stages), counted in the engine.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day.

    Returns
    -------
    Series
        The distinct stage names, sorted.

    Raises
    ------
    EngineError
        As :func:`day_deals`.

    Examples
    --------
    >>> stages_used(org, as_of="2024-06-30").tolist()  # doctest: +SKIP
    ['Closed Lost', 'Closed Won', 'Prospecting']
    """
    day, _, state = _day_state(org, as_of, None, "stages_used", "velocity_used")
    parts = [f"SELECT stage_name FROM {state}"]
    if org.has("opportunity_history"):
        parts.append(f"SELECT stage_name FROM {org.relation('opportunity_history')} WHERE created_date < $cut_end")
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize("UTC").to_pydatetime()
    params = {"cut_end": end} if len(parts) > 1 else None
    got = org.engine.df(
        f"SELECT DISTINCT stage_name FROM ({' UNION ALL '.join(parts)}) u WHERE stage_name IS NOT NULL",
        params,
    )
    return pd.Series(sorted(got["stage_name"].astype(str)), name="stage_name", dtype="str")
