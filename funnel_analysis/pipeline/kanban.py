"""The board: the open deals of a day as cards in one column per open stage, largest first.

A column per open stage of the org, in the stages table's ``sort_order`` (the stages table is data:
every org has its own), then a column for each stage the open deals use that the table does not list
(in the order they first appear, by size), and one for deals whose stage on the day is unknown. The
cards of a column are its deals, the largest amount first (deals without an amount last), each with
its name, owner, amount, days in its stage and next step. *Days in stage* are those of the deal's
current, still open visit to its stage (:func:`funnel_analysis.velocity.stage_intervals`: from the
history row that moved it there, or its creation when it has no history), counted to the day.

Examples
--------
>>> BOARD_COLUMNS[:4]
['column', 'stage_name', 'card', 'opportunity_id']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import days as _days
from .._util.frames import flag as _flag
from .._util.frames import require as _require
from .._util.frames import to_day as _to_day

__all__ = ["board", "BOARD_COLUMNS", "UNKNOWN_STAGE"]

#: The columns of :func:`board`.
BOARD_COLUMNS = [
    "column",
    "stage_name",
    "card",
    "opportunity_id",
    "name",
    "owner_id",
    "amount",
    "days_in_stage",
    "next_step",
    "close_date",
    "stage_deals",
    "stage_amount",
]
#: The column of open deals whose stage on the day is unknown.
UNKNOWN_STAGE = "(stage unknown)"


def _max_cards(value, fn: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{fn}: max_cards must be a whole number of cards, at least 1, or None; got {value!r}")
    return int(value)


def board(
    opps: pd.DataFrame, intervals: pd.DataFrame, *, stages: pd.DataFrame, as_of, max_cards: int | None = 8
) -> pd.DataFrame:
    """The open deals as cards in one column per open stage, the largest first in each.

    Parameters
    ----------
    opps : DataFrame
        The opportunities as of the day (``crm.as_of(day).opportunities``): ``opportunity_id``,
        ``owner_id``, ``stage_name``, ``amount``, ``is_closed``, ``close_date``; ``name`` and
        ``next_step`` when the export has them.
    intervals : DataFrame
        :func:`funnel_analysis.velocity.stage_intervals` of the same day (``opportunity_id``,
        ``stage_name``, ``entered``, ``censored``): the open visit of each deal gives its days in
        stage.
    stages : DataFrame
        The stages table (``stage_name``, ``sort_order``, ``is_closed``): its open stages are the
        columns, in ``sort_order``.
    as_of : date-like
        The day.
    max_cards : int or None, default 8
        Cards kept per column (the largest); ``None`` keeps every deal. ``stage_deals`` still counts
        them all, so a chart can say "+N more".

    Returns
    -------
    DataFrame
        :data:`BOARD_COLUMNS`: ``column`` (1, 2 ... left to right), ``stage_name``, ``card`` (1 for the
        largest), the deal's ``opportunity_id``, ``name``, ``owner_id``, ``amount``, ``days_in_stage``
        (whole days, missing when the visit is unknown), ``next_step``, ``close_date``, and the whole
        column's ``stage_deals`` and ``stage_amount``. ``attrs["columns"]`` lists every column's stage,
        empty ones too; ``attrs["note"]`` what was assumed.

    Raises
    ------
    ValueError
        A missing column, an ``as_of`` that is not a date, or a ``max_cards`` that is not a whole
        number >= 1.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["Qualify", "Propose", "Won"], "sort_order": [1, 2, 3],
    ...                    "is_closed": [False, False, True], "is_won": [False, False, True]})
    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B"], "owner_id": "U", "name": ["Acme", "Globex"],
    ...     "stage_name": ["Qualify", "Qualify"], "amount": [100.0, 900.0], "is_closed": False,
    ...     "close_date": pd.to_datetime(["2024-03-31", "2024-03-31"]),
    ...     "created_date": pd.to_datetime(["2024-01-01", "2024-01-20"], utc=True)})
    >>> iv = pd.DataFrame({"opportunity_id": ["A", "B"], "stage_name": ["Qualify", "Qualify"],
    ...     "entered": pd.to_datetime(["2024-01-01", "2024-01-20"], utc=True), "censored": True})
    >>> board(opps, iv, stages=st, as_of="2024-01-31")[["stage_name", "card", "name", "days_in_stage"]]
      stage_name  card    name  days_in_stage
    0    Qualify     1  Globex             11
    1    Qualify     2    Acme             30
    >>> board(opps, iv, stages=st, as_of="2024-01-31", max_cards=1)[["card", "name", "stage_deals"]]
       card    name  stage_deals
    0     1  Globex            2
    """
    fn = "board"
    max_cards = _max_cards(max_cards, fn)
    day = _to_day(as_of, fn)
    _require(
        opps, ["opportunity_id", "owner_id", "stage_name", "amount", "is_closed", "close_date"], fn, "opportunities"
    )
    _require(intervals, ["opportunity_id", "stage_name", "entered", "censored"], fn, "intervals")
    _require(stages, ["stage_name", "sort_order", "is_closed"], fn, "stages")
    st = stages.drop_duplicates("stage_name").sort_values("sort_order", kind="stable")
    ordered = st.loc[~_flag(st["is_closed"]).to_numpy(), "stage_name"].astype("str").tolist()
    d = opps[~_flag(opps["is_closed"]).to_numpy()].copy()
    for c in ("name", "next_step"):
        if c not in d.columns:
            d[c] = None
    d["stage_name"] = d["stage_name"].astype("str").fillna(UNKNOWN_STAGE)
    # the deal's open visit: the censored (last, open) one; its days counted to the day
    cur = intervals[_flag(intervals["censored"]).to_numpy()].drop_duplicates("opportunity_id", keep="last")
    entered = cur.set_index("opportunity_id")["entered"]
    today = float(day.to_datetime64().astype("datetime64[D]").astype("int64"))
    at = pd.Index(entered.index).get_indexer(d["opportunity_id"])
    since = np.where(at >= 0, today - _days(entered.iloc[np.maximum(at, 0)]) if len(entered) else np.nan, np.nan)
    d["days_in_stage"] = pd.array(np.where(np.isnan(since), np.nan, since)).astype("Int64")
    d["amount"] = pd.to_numeric(d["amount"], errors="coerce").astype("float64")
    d = d.sort_values(["amount", "opportunity_id"], ascending=[False, True], na_position="last", kind="stable")
    extra = [s for s in d["stage_name"].drop_duplicates() if s not in ordered and s != UNKNOWN_STAGE]
    columns = ordered + extra + ([UNKNOWN_STAGE] if (d["stage_name"] == UNKNOWN_STAGE).any() else [])
    position = {s: i + 1 for i, s in enumerate(columns)}
    d["column"] = d["stage_name"].map(position).astype("int64")
    d = d.sort_values("column", kind="stable")
    g = d.groupby("column", sort=False)
    d["card"] = g.cumcount() + 1
    d["stage_deals"] = g["opportunity_id"].transform("size").astype("int64")
    d["stage_amount"] = g["amount"].transform("sum")
    if max_cards is not None:
        d = d[(d["card"] <= max_cards).to_numpy()]
    out = d[BOARD_COLUMNS].reset_index(drop=True)
    out.attrs["columns"] = columns
    notes = [
        f"open deals on {day:%Y-%m-%d}, one column per open stage in the stages table's order, the largest "
        "amount first; days in stage since the deal entered its stage (its history), or its creation"
    ]
    if extra:
        notes.append(f"stages the stages table does not list, after its own: {', '.join(extra)}")
    if "next_step" not in opps.columns:
        notes.append("the export has no next step (NextStep)")
    if max_cards is not None and (out["stage_deals"] > max_cards).any():
        notes.append(f"at most {max_cards} cards per column")
    out.attrs["note"] = "; ".join(notes)
    return out
