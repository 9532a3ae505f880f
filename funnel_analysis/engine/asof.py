"""Every opportunity's state on given days, in SQL: the as-of cut of :meth:`CrmData.as_of`.

The rules are those of :mod:`funnel_analysis.crm.model` (``_opportunities_as_of``), written in
the portable subset (no ASOF JOIN):

- a deal exists on day *d* when it was created before the end of *d* (UTC);
- its state is its last history row before the end of *d*: each row is valid from its time to
  the next row's (``LEAD`` over time, then file order, the last row to a 9999-12-31 sentinel),
  and an equality-keyed range join against the spine of cut instants picks it
  (``state_source = "history"``); ties at one instant keep the last in file order;
- else its first history row (rows without a time last): ``"history_first"``; with no history,
  the record's own values: ``"current"``;
- ``is_closed``/``is_won`` are the stage's flags where the state came from history, else the
  record's (the stage's where it has none, else False);
- without history, a deal closed after *d* is open on *d* with an unknown stage
  (``"current_reopened"``);
- a missing forecast category takes its stage's (when any deal's state came from history).

With ``opportunity_field_history``, the columns the pandas cut takes from it are rebuilt too
(:mod:`.field_history`, the rules of :mod:`funnel_analysis.crm.field_history`): ``owner_id`` is the
deal's owner on the day, with ``owner_source``, when the history has Owner rows, and
``close_date_pushes`` and ``slipped_before`` say how it slipped. They are computed once per spine
(``<spine>_fields``, one query for all its days) and joined in, so every reduction built on the cut
(KPIs, the snapshot funnel, the matrix, activities, the waterfall, durations) sees the owner on the
day. Without that table nothing is added and nothing more is queried. The leads' status and owner
on the day are :func:`funnel_analysis.engine.field_history.lead_state`'s (not part of this cut).

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> asof_state(org, as_of=["2024-03-31", "2024-06-30"]).groupby("as_of")["amount"].sum()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa

from ..crm.model import HISTORY_FIELDS
from .base import EngineError
from .field_history import _opportunity_fields_query
from .org import EngineOrg

__all__ = ["STATE_COLUMNS", "asof_query", "asof_state", "materialise_asof", "state_hash"]

#: The columns of an opportunity's state on a day (what :func:`state_hash` hashes).
STATE_COLUMNS = (
    "opportunity_id",
    "stage_name",
    "amount",
    "probability",
    "close_date",
    "forecast_category",
    "is_closed",
    "is_won",
    "state_source",
    "owner_id",  # on the day: the field history's owner (engine.field_history)
)

_SENTINEL = "TIMESTAMPTZ '9999-12-31 00:00:00+00'"


def _days(dates) -> list[pd.Timestamp]:
    if isinstance(dates, (str, pd.Timestamp)) or not hasattr(dates, "__iter__"):
        dates = [dates]
    out = []
    for d in dates:
        ts = pd.Timestamp(d)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        out.append(ts.normalize())
    if not out:
        raise EngineError("asof_state: no dates given")
    return sorted(set(out))


def _register_spine(org: EngineOrg, days: list[pd.Timestamp], name: str) -> None:
    ends = [d + pd.Timedelta(days=1) for d in days]
    spine = pa.table(
        {
            "as_of": pa.array([d.date() for d in days], type=pa.date32()),
            "cut_end": pa.array([e.to_pydatetime() for e in ends], type=pa.timestamp("us", tz="UTC")),
        }
    )
    org.engine.register(name, spine)
    stages = org.stages.drop_duplicates("stage_name")
    keep = [c for c in ("stage_name", "is_closed", "is_won", "forecast_category") if c in stages.columns]
    org.engine.register(f"{name}_stages", stages[keep].reset_index(drop=True))
    if org.has("opportunities") and org.has("opportunity_field_history"):
        # the deals' owner and close-date pushes on each day, joined into the cut by asof_query
        query, params, _ = _opportunity_fields_query(org, name)
        org.engine.materialise(f"{name}_fields", query, params)


# the columns the cut takes from opportunity_field_history (as CrmData.as_of), in order
_FIELD_COLUMNS = ("owner_source", "close_date_pushes", "slipped_before")


def _field_join(org: EngineOrg, spine: str) -> tuple[str, list[str], bool]:
    """(the join of ``<spine>_fields`` onto ``k``, the columns it adds, whether it values owner_id)."""
    if not (org.has("opportunities") and org.has("opportunity_field_history")):
        return "", [], False
    have = list(org.engine.sql(f"SELECT * FROM {spine}_fields LIMIT 0").schema.names)
    join = f"\nLEFT JOIN {spine}_fields fh ON fh.as_of = k.as_of AND fh.opportunity_id = k.opportunity_id"
    return join, [c for c in _FIELD_COLUMNS if c in have], "owner_id" in have


def asof_query(org: EngineOrg, *, spine: str = "asof_spine", undated: bool = False) -> str:
    """The SQL (DuckDB dialect) of every opportunity's state on each day of the relation ``spine``.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    spine : str
        The relation of days (``as_of`` DATE, ``cut_end`` TIMESTAMPTZ, the end of the day in UTC),
        ``<spine>_stages`` (the stages' flags) and, when the org has ``opportunity_field_history``,
        ``<spine>_fields`` (the deals' owner and pushes on each day), as :func:`asof_state`
        registers them.
    undated : bool
        Instead, the deals without a creation date (which no cut holds), their flags as of each day
        by the same rules (the won deals among them are counted in ``cycle_undated_excluded``).

    Returns
    -------
    str
        A query: ``as_of``, then the opportunity's columns with the state rebuilt, and ``state_source``;
        with ``opportunity_field_history`` (not for ``undated``), ``owner_id`` on the day and
        ``owner_source`` (with Owner rows), ``close_date_pushes`` and ``slipped_before``.

    Raises
    ------
    EngineError
        When the org has no opportunities.

    Examples
    --------
    >>> sql = asof_query(org)  # doctest: +SKIP
    """
    opp_cols = org.columns("opportunities")
    need = {"opportunity_id", "stage_name", "is_closed", "is_won", "close_date"}
    if not need <= set(opp_cols):
        raise EngineError(f"asof: the opportunities lack {sorted(need - set(opp_cols))}")
    hist_cols: list[str] = []
    if org.has("opportunity_history"):
        present = org.columns_present("opportunity_history")
        have = org.columns("opportunity_history")
        hist_cols = [c for c in HISTORY_FIELDS if c in present and c in have]
        if "amount" in hist_cols:  # a history row's amount comes with its own currency and rate
            hist_cols += [c for c in ("amount_original", "conversion_rate") if c in have and c in opp_cols]
    stage_cols = set(org.stages.columns)
    created = "created_date" in org.columns_present("opportunities") and "created_date" in opp_cols
    opp = org.relation("opportunities")
    on = "o.created_date < s.cut_end" if created else "TRUE"
    if undated:
        on = "o.created_date IS NULL" if created else "FALSE"
    base = f"SELECT s.as_of, s.cut_end, o.* FROM {opp} o JOIN {spine} s ON {on}"
    if hist_cols:
        hist = org.relation("opportunity_history")
        cols = ", ".join(hist_cols)
        picked = ", ".join(
            f"CASE WHEN l.opportunity_id IS NOT NULL THEN l.{c} WHEN f.opportunity_id IS NOT NULL THEN f.{c} "
            + (f"ELSE o.{c} END AS {c}" if c in opp_cols else f"END AS {c}")
            for c in hist_cols
        )
        keep_o = ", ".join(["o.as_of", "o.cut_end"] + [f"o.{c}" for c in opp_cols if c not in hist_cols])
        source = (
            "CASE WHEN l.opportunity_id IS NOT NULL THEN 'history' "
            "WHEN f.opportunity_id IS NOT NULL THEN 'history_first' ELSE 'current' END"
        )
        joined = f"""
    h AS (SELECT opportunity_id, created_date AS h_t, row_no, {cols} FROM {hist}),
    iv AS (
        SELECT *, COALESCE(LEAD(h_t) OVER (PARTITION BY opportunity_id ORDER BY h_t, row_no), {_SENTINEL}) AS valid_to
        FROM h WHERE h_t IS NOT NULL
    ),
    f AS (
        SELECT * FROM (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY opportunity_id ORDER BY h_t NULLS LAST, row_no) AS rn FROM h
        ) t WHERE rn = 1
    ),
    j AS (
        SELECT {keep_o}, {picked}, {source} AS _source
        FROM o
        LEFT JOIN iv l ON l.opportunity_id = o.opportunity_id AND l.h_t < o.cut_end AND o.cut_end <= l.valid_to
        LEFT JOIN f ON f.opportunity_id = o.opportunity_id
    ),"""
    else:
        joined = "\n    j AS (SELECT o.*, 'current' AS _source FROM o),"
    flag = "CASE WHEN j._source <> 'current' AND st.{f} IS NOT NULL THEN st.{f} ELSE COALESCE(j.{f}, st.{f}, FALSE) END"
    closed = flag.format(f="is_closed") if "is_closed" in stage_cols else "COALESCE(j.is_closed, FALSE)"
    won = flag.format(f="is_won") if "is_won" in stage_cols else "COALESCE(j.is_won, FALSE)"
    fc_stage = "st2.forecast_category" if "forecast_category" in stage_cols else "NULL"
    fc = "k.forecast_category" if "forecast_category" in opp_cols or "forecast_category" in hist_cols else "NULL"
    rebuilt = [c for c in hist_cols if c not in opp_cols]
    # j holds every column of the deal once: the rebuilt ones (history) and the record's others
    pick_j = ", ".join([f"j.{c}" for c in opp_cols if c not in ("is_closed", "is_won")] + [f"j.{c}" for c in rebuilt])
    out_cols = [c for c in opp_cols if c not in ("stage_name", "is_closed", "is_won", "forecast_category")]
    out_cols += [c for c in rebuilt if c != "forecast_category"]
    fjoin, fcols, owner = _field_join(org, spine) if not undated else ("", [], False)
    # the deal's owner on the day (field history), else the record's (a deal no cut holds)
    final = ", ".join(
        "CASE WHEN fh.opportunity_id IS NOT NULL THEN fh.owner_id ELSE k.owner_id END AS owner_id"
        if c == "owner_id" and owner
        else f"k.{c}"
        for c in out_cols
    )
    extra = "".join(f", fh.{c}" for c in fcols)
    return f"""
WITH
    o AS ({base}),{joined}
    s2 AS (
        SELECT {pick_j}, j.as_of, j._source,
            {closed} AS is_closed, {won} AS is_won
        FROM j LEFT JOIN {spine}_stages st ON st.stage_name = j.stage_name
    ),
    r AS (
        SELECT *, (_source = 'current' AND is_closed AND close_date > CAST(as_of AS TIMESTAMP)) AS _reopen,
            MAX(CASE WHEN _source <> 'current' THEN 1 ELSE 0 END) OVER (PARTITION BY as_of) AS _any_history
        FROM s2 k
    ),
    k AS (
        SELECT * EXCLUDE (stage_name, is_closed, is_won, _source),
            CASE WHEN _reopen THEN NULL ELSE stage_name END AS stage_name,
            is_closed AND NOT _reopen AS is_closed,
            is_won AND NOT _reopen AS is_won,
            CASE WHEN _reopen THEN 'current_reopened' ELSE _source END AS state_source
        FROM r
    )
SELECT k.as_of, {final}, k.stage_name, k.is_closed, k.is_won,
    CASE WHEN k._any_history = 1 AND {fc} IS NULL THEN {fc_stage} ELSE {fc} END AS forecast_category,
    k.state_source{extra}
FROM k LEFT JOIN {spine}_stages st2 ON st2.stage_name = k.stage_name{fjoin}
"""


#: How many days' states :func:`materialise_asof` keeps per org (a few tens of MB each at a million leads).
_ASOF_MEMO_SLOTS = 4


def materialise_asof(org: EngineOrg, *, as_of, name: str = "asof_state") -> str:
    """Store every opportunity's state on each day as the relation ``name`` in the org's engine.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like or list of them
        The days (a timestamp counts as its UTC day).
    name : str
        The relation to create (replaced if it exists).

    Returns
    -------
    str
        The relation's name: ``asof_memo_<org>_<slot>``. The states of the last few sets of days
        are kept per org: asking for the same days again returns the same relation, not another
        query (``name`` is kept for the callers that name one; the days' spine is ``<relation>_spine``).

    Raises
    ------
    EngineError
        When no date is given or the org has no opportunities.

    Examples
    --------
    >>> materialise_asof(org, as_of=["2024-03-31"])  # doctest: +SKIP
    'asof_memo_7f3a_0'
    """
    days = _days(as_of)
    key = (tuple(d.date() for d in days), tuple(sorted(org.relations.items())))
    memo = org.__dict__.setdefault("_asof_memo", {})
    if key in memo:  # the same days' state, already in the engine: every section of a report asks for it
        return memo[key]
    # kept under a name of its own (a caller's name is reused for other days), the last few only: the
    # slot of the oldest goes to the new one (its entry leaves first, then its relation is replaced)
    used = set(memo.values())
    if len(memo) >= _ASOF_MEMO_SLOTS:
        used.discard(memo.pop(next(iter(memo))))
    slot = next(s for s in (f"asof_memo_{id(org):x}_{i}" for i in range(_ASOF_MEMO_SLOTS)) if s not in used)
    spine = f"{slot}_spine"  # callers read the days' stages beside the state: ``<state>_spine_stages``
    _register_spine(org, days, spine)
    org.engine.materialise(slot, asof_query(org, spine=spine))
    memo[key] = slot
    return slot


def asof_state(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """Every opportunity's state on each day of ``as_of``, as :meth:`CrmData.as_of` rebuilds it.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like or list of them
        The days of the cuts (a timestamp counts as its UTC day).

    Returns
    -------
    DataFrame
        One row per day of ``as_of`` and opportunity created by its end: ``as_of`` (Timestamp), the
        opportunity's columns with ``stage_name``, ``amount``, ``probability``, ``close_date``,
        ``forecast_category``, ``is_closed``, ``is_won`` on the day, and ``state_source``; with
        ``opportunity_field_history``, ``owner_id`` on the day and ``owner_source`` (with Owner
        rows), ``close_date_pushes`` (``Int64``) and ``slipped_before`` (``boolean``), as
        :meth:`CrmData.as_of` gives them; sorted by day and opportunity.

    Raises
    ------
    EngineError
        When no date is given or the org has no opportunities.

    Examples
    --------
    >>> asof_state(org, as_of="2024-03-31")["state_source"].value_counts()  # doctest: +SKIP
    """
    name = materialise_asof(org, as_of=as_of, name="asof_state")
    out = org.engine.df(f"SELECT * FROM {name} ORDER BY as_of, opportunity_id")
    out["as_of"] = pd.to_datetime(out["as_of"])
    if "close_date_pushes" in out.columns:  # as the pandas cut types them
        out["close_date_pushes"] = out["close_date_pushes"].astype("Int64")
        out["slipped_before"] = out["slipped_before"].astype("boolean")
    return out


def _canonical(df: pd.DataFrame) -> list[str]:
    """Each state as one line of text: money to the cent, dates to the day, nulls empty."""
    cols = {}
    for c in STATE_COLUMNS:
        s = df[c] if c in df.columns else pd.Series([None] * len(df), index=df.index)
        if c in ("amount", "probability"):
            v = pd.to_numeric(s, errors="coerce").astype("float64").round(2 if c == "amount" else 4)
            cols[c] = np.where(v.isna(), "", v.map(lambda x: f"{x:.4f}"))
        elif c == "close_date":
            t = pd.to_datetime(s, errors="coerce")
            if getattr(t.dt, "tz", None) is not None:
                t = t.dt.tz_convert("UTC").dt.tz_localize(None)
            cols[c] = t.dt.strftime("%Y-%m-%d").fillna("").to_numpy()
        elif c in ("is_closed", "is_won"):
            cols[c] = s.astype("boolean").fillna(False).map({True: "1", False: "0"}).to_numpy()
        else:
            cols[c] = s.astype("object").where(s.notna(), "").astype(str).to_numpy()
    frame = pd.DataFrame(cols)
    return sorted("\x1f".join(row) for row in frame.itertuples(index=False, name=None))


def state_hash(org, *, as_of) -> str:
    """An order-independent hash of every opportunity's state on a day (the conformance check).

    Parameters
    ----------
    org : EngineOrg or CrmData
        The org in an engine, or a loaded org (the pandas reference: ``crm.as_of(as_of)``).
    as_of : date-like
        The day.

    Returns
    -------
    str
        A hex digest of :data:`STATE_COLUMNS` of each deal (amounts to the cent, probabilities
        to 4 decimals, close dates to the day), the rows sorted: the same for the same states,
        whatever the engine or row order.

    Raises
    ------
    EngineError
        When the org has no opportunities (in an engine).

    Examples
    --------
    >>> state_hash(crm, as_of="2024-03-31") == state_hash(org, as_of="2024-03-31")  # doctest: +SKIP
    True
    """
    if isinstance(org, EngineOrg):
        frame = asof_state(org, as_of=[as_of])
    else:
        frame = org.as_of(as_of).opportunities
    h = hashlib.blake2b(digest_size=16)
    for line in _canonical(frame):
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
