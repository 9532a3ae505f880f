"""Pipeline waterfall: how the open pipeline moved from one as-of cut to another.

:func:`pipeline_waterfall` compares the org at the end of ``start`` with the org at the end of
``end`` (two :meth:`~funnel_analysis.crm.CrmData.as_of` cuts) and splits the change of the open
pipeline amount, per opportunity and in total, into signed components.

The pipeline
------------
An opportunity is *in the pipeline* on a day when it exists, is open (``is_closed`` False) and,
when a ``close_window=(first, last)`` is given, its close date on that day lies in the window
(both ends inclusive; a missing close date is outside). Without a window every open deal counts,
and ``pulled_in`` / ``pushed_out`` are always 0. A missing amount counts as 0 and is counted in
``amount_missing_start`` / ``amount_missing_end`` (and the ``n_amount_missing_*`` totals).

Rules (one opportunity, values in the cuts at ``start`` and at ``end``)
-----------------------------------------------------------------------
The movement of each deal, by where it stood at the two cuts::

    ==========================================  ============  ==========================================
    at start                / at end             movement      components
    ==========================================  ============  ==========================================
    in pipeline             / in pipeline        ``carried``   start=a0, amount and fx up/down, end=a1
    in pipeline             / closed won (lost)  ``won``       start=a0, amount and fx up/down, won=a1
    in pipeline             / open, out of win.  ``pushed_out`` start=a0, pushed_out=a0
    open, out of window     / in pipeline        ``pulled_in`` pulled_in=a1, end=a1
    open, out of window     / closed won (lost)  ``pulled_won`` pulled_in=a1, won=a1 (only if its close
                                                 (pulled_lost) date is in the window at end)
    not yet created         / in pipeline        ``new``       new=a1, end=a1
    not yet created         / closed won (lost)  ``new_won``   new=a1, won=a1 (only if its close date
                                                 (new_lost)    is in the window, when there is one)
    closed                  / in pipeline        ``reopened``  new=a1, end=a1 (re-entered the pipeline)
    anything else (never in the pipeline)        ``outside``   all 0
    ==========================================  ============  ==========================================

(a0, a1: the amount at start and at end, missing read as 0.) So closing beats moving: a deal in
the pipeline at start that closed by ``end`` is won or lost whatever its close date, and the
change of amount on the way to closing is an amount change. A move in or out of the window is
valued at the amount the deal had while inside it. Only the two cuts count: a deal that closed
and reopened between them, or left the window and came back, shows only its net change.

Exchange rates
--------------
Amounts are in the corporate currency (:mod:`funnel_analysis.crm.currency`): a deal in another
currency is valued at the dated rate of its close date, so its value moves when the rate changes or
its close date crosses a rate boundary, with no change of its amount. For a carried or closing deal
in the same currency at both cuts, the change ``a1 - a0`` is split in two, and the waterfall says
which part is which:

- ``fx_up`` / ``fx_down``: the start amount *in its own currency* revalued at the end rate, minus
  its start value: the exchange-rate movement;
- ``amount_up`` / ``amount_down``: the rest, the change of the amount itself, valued at the end rate.

A single-currency org (or a deal in the corporate currency) has no exchange-rate movement.

Signs and reconciliation
------------------------
Every component is a non-negative magnitude (for non-negative amounts), and::

    end = start + new + pulled_in - pushed_out + amount_up - amount_down + fx_up - fx_down - won - lost

holds *exactly*, per opportunity and in total: amounts are rounded to ``decimals`` (cents by
default) and added up as integers of that minor unit; the float columns are those integers
divided by ``10**decimals``. The function checks the identity before returning.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> w = pipeline_waterfall(crm, start="2024-03-31", end="2024-06-30",
...                        close_window=("2024-07-01", "2024-09-30"))  # doctest: +SKIP
>>> w.totals  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.frames import flag as _flag
from .._util.frames import require as _require
from .._util.frames import to_day as _to_day

__all__ = ["pipeline_waterfall", "PipelineWaterfall", "COMPONENTS", "SIGNS"]

#: The waterfall components, in order, and their sign in ``end = start + ...``.
COMPONENTS = (
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
SIGNS = {
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

_FN = "pipeline_waterfall"


@dataclasses.dataclass(frozen=True)
class PipelineWaterfall:
    """A pipeline waterfall between two as-of cuts: per opportunity, in total, and what it covers.

    Attributes
    ----------
    per_opportunity : DataFrame
        One row per opportunity: ``opportunity_id``, the ``by`` columns, ``movement``,
        ``in_pipeline_start``, ``in_pipeline_end``, ``stage_start``, ``stage_end``,
        ``close_date_start``, ``close_date_end``, ``amount_start``, ``amount_end`` (as recorded,
        NaN when missing), ``amount_missing_start``, ``amount_missing_end``, then the components
        ``start, new, pulled_in, pushed_out, amount_up, amount_down, fx_up, fx_down, won, lost,
        end`` (floats).
    totals : DataFrame
        One row per segment (one row without ``by``): the ``by`` columns, the components summed,
        ``n_opportunities`` (deals with a movement other than ``outside``),
        ``n_amount_missing_start`` and ``n_amount_missing_end``.
    start, end : Timestamp
        The two cuts (naive days; each cut is taken at the end of its day).
    close_window : (Timestamp, Timestamp) or None
        The close window that defines the pipeline (both ends inclusive), None for every open deal.
    period : str
        The fiscal period the waterfall covers (``"FY2025-Q4"``), ``""`` for two days given by hand.
    summary : DataFrame
        ``totals`` with ``period``, ``start_date`` and ``end_date`` columns: what a report records.

    Examples
    --------
    >>> w = PipelineWaterfall(per_opportunity=pd.DataFrame(), totals=pd.DataFrame({"start": [1.0], "end": [1.0]}),
    ...                       start=pd.Timestamp("2024-03-31"), end=pd.Timestamp("2024-06-30"), period="FY2024-Q2")
    >>> w.summary.columns.tolist()
    ['start', 'end', 'period', 'start_date', 'end_date']
    """

    per_opportunity: pd.DataFrame
    totals: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    close_window: tuple[pd.Timestamp, pd.Timestamp] | None = None
    period: str = ""

    @property
    def summary(self) -> pd.DataFrame:
        """``totals`` with the ``period``, ``start_date`` and ``end_date`` it covers (a new frame)."""
        return self.totals.assign(period=self.period, start_date=self.start, end_date=self.end)


_NEEDED = ["opportunity_id", "amount", "close_date", "is_closed", "is_won", "stage_name"]


#: The tables of the copy :func:`pipeline_waterfall` cuts: the deals, their stage and field history, the stages.
_DEAL_TABLES = ("opportunities", "opportunity_history", "opportunity_field_history", "stages")


def _state(crm, day, window, by, suffix: str, keep=None) -> pd.DataFrame:
    """One cut: id, stage, amount, close date, closed/won flags, in-pipeline flag, minor-unit amount."""
    opps = crm.as_of(day).opportunities
    _require(opps, [*_NEEDED, *by], _FN, "opportunities")
    if keep is not None:  # the opportunities `where` selected
        opps = opps[opps["opportunity_id"].isin(keep).to_numpy()]
    if not opps["opportunity_id"].is_unique:
        raise ValueError(f"{_FN}: opportunity_id is not unique in opportunities")
    closed = _flag(opps["is_closed"]).to_numpy()
    close = pd.to_datetime(opps["close_date"])
    in_window = np.ones(len(opps), dtype=bool)
    if window is not None:
        in_window = ((close >= window[0]) & (close <= window[1])).fillna(False).to_numpy(dtype=bool)
    amount = pd.to_numeric(opps["amount"]).astype("float64")
    # the amount in the deal's own currency and the rate it was valued at (1 in a single-currency org)
    original = opps["amount_original"] if "amount_original" in opps else amount
    rate = opps["conversion_rate"] if "conversion_rate" in opps else pd.Series(1.0, index=opps.index)
    code = opps["currency_iso_code"] if "currency_iso_code" in opps else pd.Series("", index=opps.index)
    out = pd.DataFrame(
        {
            "opportunity_id": opps["opportunity_id"].to_numpy(),
            f"stage_{suffix}": opps["stage_name"].to_numpy(),
            f"amount_{suffix}": amount.to_numpy(),
            f"close_date_{suffix}": close.to_numpy(),
            "_original": pd.to_numeric(original).astype("float64").to_numpy(),
            "_rate": pd.to_numeric(rate).astype("float64").to_numpy(),
            "_code": code.astype("object").to_numpy(),
            "_closed": closed,
            "_won": _flag(opps["is_won"]).to_numpy(),
            "_in_window": in_window,
            "_exists": True,
        }
    )
    for c in by:
        out[c] = opps[c].to_numpy()
    out[f"in_pipeline_{suffix}"] = ~closed & in_window
    return out


def pipeline_waterfall(
    crm,
    *,
    start,
    end,
    by=None,
    where=None,
    open_only: bool = True,
    close_window=None,
    decimals: int = 2,
    period: str = "",
) -> PipelineWaterfall:
    """Split the change of the open pipeline between two as-of cuts into a waterfall.

    Parameters
    ----------
    crm : CrmData
        The org; it is cut with ``crm.as_of(start)`` and ``crm.as_of(end)`` and not modified.
    start, end : date-like
        The two cuts (end of day, UTC). ``end`` must not be before ``start``.
    by : str or list of str, optional
        Opportunity columns to split the totals by (values taken from the ``end`` cut, so
        ``owner_id`` is the owner at ``end`` where the field history records it; missing values
        form their own segment).
    where : str, optional
        Only the opportunities this expression of :mod:`funnel_analysis.crm.expression` selects
        in the ``end`` cut (``"owner.region == 'EMEA'"``), at both cuts: as with ``by``, a deal is
        judged by what it is at ``end``, so it cannot leave or enter the selection in between.
    open_only : bool, default True
        True: ``per_opportunity`` lists only deals in the pipeline at either cut or with a
        non-zero component. False: every opportunity existing at ``end``.
    close_window : (date-like, date-like), optional
        The target close window (inclusive) that defines the pipeline; see the module notes.
    decimals : int, default 2
        Money is rounded to this many decimals and added up exactly in that unit.
    period : str, default ""
        The name of the period the two cuts span (``"FY2025-Q4"``), kept in the result.

    Returns
    -------
    PipelineWaterfall
        ``per_opportunity`` (one row per deal, its movement and components), ``totals`` (one row
        per segment), the two days, the close window and ``period``.

    Raises
    ------
    ValueError
        ``end`` before ``start``, an unparseable date, a window whose first day is after its last,
        a negative ``decimals``, or a missing column.
    ExpressionError
        A ``where`` that is not an expression of the grammar (a ``ValueError`` too).

    Examples
    --------
    >>> from funnel_analysis.crm import CrmData, DataQualityReport
    >>> opps = pd.DataFrame({"opportunity_id": ["a", "b"], "stage_name": ["Open", "Won"],
    ...     "amount": [100.0, 50.0], "close_date": pd.to_datetime(["2024-06-30", "2024-05-01"]),
    ...     "is_closed": [False, True], "is_won": [False, True],
    ...     "created_date": pd.to_datetime(["2024-01-01", "2024-04-01"], utc=True)})
    >>> stages = pd.DataFrame({"stage_name": ["Open", "Won"], "sort_order": [1, 2],
    ...                        "is_closed": [False, True], "is_won": [False, True]})
    >>> crm = CrmData(tables={"opportunities": opps, "stages": stages}, quarantine=pd.DataFrame(),
    ...     flags=pd.DataFrame(), quarantined_rows={}, report=DataQualityReport(),
    ...     meta={"columns_present": {"opportunities": list(opps.columns)}})
    >>> w = pipeline_waterfall(crm, start="2024-03-31", end="2024-06-30")
    >>> w.per_opportunity[["opportunity_id", "movement", "start", "new", "won", "end"]]
      opportunity_id movement  start   new   won    end
    0              a  carried  100.0   0.0   0.0  100.0
    1              b  new_won    0.0  50.0  50.0    0.0
    >>> w.totals[["start", "new", "won", "end"]]
       start   new   won    end
    0  100.0  50.0  50.0  100.0
    """
    by = _by_list(by)
    t0, t1 = _to_day(start, _FN, "start"), _to_day(end, _FN, "end")
    if t1 < t0:
        raise ValueError(f"{_FN}: end ({t1.date()}) is before start ({t0.date()})")
    if not isinstance(decimals, (int, np.integer)) or decimals < 0:
        raise ValueError(f"{_FN}: decimals must be a non-negative integer, got {decimals!r}")
    window = None
    if close_window is not None:
        if len(close_window) != 2:
            raise ValueError(f"{_FN}: close_window must be a pair (first, last)")
        window = (_to_day(close_window[0], _FN, "close_window[0]"), _to_day(close_window[1], _FN, "close_window[1]"))
        if window[1] < window[0]:
            raise ValueError(f"{_FN}: close_window ends before it starts: {window}")

    # only the deals matter: cut a copy holding the opportunity tables, not the whole org, twice; the
    # field history too, so a deal's owner (a `by` value) is the one on the day, as crm.as_of gives it
    deals = dataclasses.replace(crm, tables={k: v for k, v in crm.tables.items() if k in _DEAL_TABLES})
    keep = None
    if where is not None and not (isinstance(where, str) and not where.strip()):
        # the expression may reach related records (owner.region): judge it on the whole org's end cut
        keep = crm.as_of(t1).rows("opportunities", where=where)["opportunity_id"]
    s0 = _state(deals, t0, window, by, "start", keep)
    s1 = _state(deals, t1, window, by, "end", keep)
    df = s1.merge(s0.drop(columns=by), on="opportunity_id", how="outer", suffixes=("_1", "_0"), sort=False)
    ex0 = df["_exists_0"].fillna(False).to_numpy(dtype=bool)
    ex1 = df["_exists_1"].fillna(False).to_numpy(dtype=bool)
    if (ex0 & ~ex1).any():  # cannot happen with as_of, which only adds rows over time
        raise ValueError(f"{_FN}: opportunities present at start are missing at end")
    p0 = df["in_pipeline_start"].fillna(False).to_numpy(dtype=bool)
    p1 = df["in_pipeline_end"].fillna(False).to_numpy(dtype=bool)
    closed0 = df["_closed_0"].fillna(False).to_numpy(dtype=bool)
    closed1 = df["_closed_1"].fillna(False).to_numpy(dtype=bool)
    won1 = df["_won_1"].fillna(False).to_numpy(dtype=bool)
    win1 = df["_in_window_1"].fillna(False).to_numpy(dtype=bool)
    scale = 10 ** int(decimals)
    a0 = np.round(df["amount_start"].fillna(0).to_numpy("float64") * scale).astype("int64")
    a1 = np.round(df["amount_end"].fillna(0).to_numpy("float64") * scale).astype("int64")

    carried = p0 & p1
    closing = p0 & closed1  # in the pipeline at start, closed at end
    pushed = p0 & ~p1 & ~closed1
    pulled = ex0 & ~p0 & ~closed0 & p1
    reopened = ex0 & closed0 & p1
    new_open = ~ex0 & p1
    new_closed = ~ex0 & closed1 & win1
    # a deal due later at start that was brought forward and closed inside the window: the
    # quarter's won revenue must show it (it entered the window, then left it by closing)
    pulled_closed = ex0 & ~p0 & ~closed0 & closed1 & win1
    movement = np.select(
        [
            carried,
            closing & won1,
            closing,
            pushed,
            pulled,
            reopened,
            new_open,
            new_closed & won1,
            new_closed,
            pulled_closed & won1,
            pulled_closed,
        ],
        [
            "carried",
            "won",
            "lost",
            "pushed_out",
            "pulled_in",
            "reopened",
            "new",
            "new_won",
            "new_lost",
            "pulled_won",
            "pulled_lost",
        ],
        "outside",
    )

    z = np.zeros(len(df), dtype="int64")
    # exchange-rate movement: the start amount in its own currency at the end rate, minus its start value
    orig0 = df["_original_0"].to_numpy("float64")
    r0, r1 = df["_rate_0"].to_numpy("float64"), df["_rate_1"].to_numpy("float64")
    same = (df["_code_0"].to_numpy() == df["_code_1"].to_numpy()) & np.isfinite(orig0) & (r0 > 0) & (r1 > 0)
    same &= (carried | closing) & df["amount_start"].notna().to_numpy() & df["amount_end"].notna().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        revalued = np.where(same, np.round(np.where(same, orig0 / r1, 0.0) * scale), 0).astype("int64")
    fx = np.where(same & (r0 != r1), revalued - a0, 0)
    diff = np.where(carried | closing, a1 - a0 - fx, 0)
    closes = np.where(closing | new_closed | pulled_closed, a1, 0)
    comp = {
        "start": np.where(p0, a0, z),
        "new": np.where(new_open | new_closed | reopened, a1, z),
        "pulled_in": np.where(pulled | pulled_closed, a1, z),
        "pushed_out": np.where(pushed, a0, z),
        "amount_up": np.maximum(diff, 0),
        "amount_down": np.maximum(-diff, 0),
        "fx_up": np.maximum(fx, 0),
        "fx_down": np.maximum(-fx, 0),
        "won": np.where(won1, closes, z),
        "lost": np.where(~won1, closes, z),
        "end": np.where(p1, a1, z),
    }
    check = comp["start"] + sum(SIGNS[k] * comp[k] for k in SIGNS)
    if not np.array_equal(check, comp["end"]):  # guaranteed by construction; never silently wrong
        raise AssertionError(f"{_FN}: waterfall does not reconcile")

    uses_end = p1 | closing | new_closed
    out = df[["opportunity_id", *by]].copy()
    out["movement"] = movement
    out["in_pipeline_start"], out["in_pipeline_end"] = p0, p1
    for c in ("stage", "close_date", "amount"):
        out[f"{c}_start"], out[f"{c}_end"] = df[f"{c}_start"].to_numpy(), df[f"{c}_end"].to_numpy()
    out["amount_missing_start"] = p0 & df["amount_start"].isna().to_numpy()
    out["amount_missing_end"] = uses_end & df["amount_end"].isna().to_numpy()
    for k in COMPONENTS:
        out[k] = comp[k] / scale
    counted = movement != "outside"
    if open_only:
        out = out[counted].reset_index(drop=True)
        units = {k: v[counted] for k, v in comp.items()}
    else:
        units = comp
        out = out.reset_index(drop=True)
    out = (
        out.sort_values("opportunity_id", kind="stable").reset_index(drop=True)
        if not by
        else out.sort_values([*by, "opportunity_id"], na_position="last", kind="stable").reset_index(drop=True)
    )

    # totals: exact integer sums per segment, converted once
    data = pd.DataFrame({k: v for k, v in units.items()})
    keep = counted if open_only else np.ones(len(df), dtype=bool)
    src = df[keep].reset_index(drop=True)
    for c in by:
        data[c] = src[c].to_numpy()
    data["n_opportunities"] = (movement[keep] != "outside").astype("int64")
    data["n_amount_missing_start"] = (p0 & df["amount_start"].isna().to_numpy())[keep].astype("int64")
    data["n_amount_missing_end"] = (uses_end & df["amount_end"].isna().to_numpy())[keep].astype("int64")
    cols = [*COMPONENTS, "n_opportunities", "n_amount_missing_start", "n_amount_missing_end"]
    if by:
        totals = data.groupby(by, dropna=False, observed=True, sort=True)[cols].sum().reset_index()
    else:
        totals = pd.DataFrame({c: [int(data[c].sum())] for c in cols})
    tsum = totals["start"] + sum(SIGNS[k] * totals[k] for k in SIGNS)
    if not (tsum == totals["end"]).all():
        raise AssertionError(f"{_FN}: totals do not reconcile")
    for k in COMPONENTS:
        totals[k] = totals[k].astype("int64") / scale
    return PipelineWaterfall(
        per_opportunity=out, totals=totals, start=t0, end=t1, close_window=window, period=str(period or "")
    )
