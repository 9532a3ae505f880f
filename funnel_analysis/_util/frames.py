"""DataFrame helpers shared by the analyses (:mod:`funnel_analysis.funnel`, :mod:`~funnel_analysis.velocity`,
:mod:`~funnel_analysis.sources`, :mod:`~funnel_analysis.forecast`).

Input checks (``require``), segment handling (``by_list``, ``group_sum``), UTC calendar days
(``days``), boolean flags with missing read as False (``flag``), and the stage-reach evidence of
the cohort funnel and the stage transitions (``stage_ranks``, ``reach_days``; the rules are in
the notes of :mod:`funnel_analysis.funnel.conversion`). Not part of the public API: names and
signatures may change; callers import them under a private alias (``flag as _flag``).

Examples
--------
>>> days(pd.to_datetime(["2024-01-02 23:30", None]).tz_localize("America/New_York")).tolist()
[19725.0, nan]
>>> flag(pd.Series([True, None, False])).tolist()
[True, False, False]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "by_list",
    "require",
    "days",
    "flag",
    "group_sum",
    "lookup",
    "stage_ranks",
    "reach_days",
    "to_day",
    "day_number",
    "utc_naive",
]


def by_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def require(df, columns, fn: str, table: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{fn}: {table} must be a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{fn}: {table} has no column(s) {missing}; it has {list(df.columns)}")


def days(values) -> np.ndarray:
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


def flag(s: pd.Series) -> pd.Series:
    """A bool column with missing read as False (a missing is_won is not a win)."""
    return s.astype("boolean").fillna(False).astype(bool)


def group_sum(df: pd.DataFrame, by: list[str], cols: list[str]) -> pd.DataFrame:
    """Column sums per segment (NA segments kept); one row of sums, zeros if empty, without by."""
    if by:
        return df.groupby(by, dropna=False, observed=True, sort=True)[cols].sum().reset_index()
    return pd.DataFrame({c: [df[c].sum()] for c in cols})


def lookup(values: pd.Series, mapping: pd.Series) -> np.ndarray:
    """``values.map(mapping)`` as floats, looking up each distinct value once (fast on text)."""
    codes, uniques = pd.factorize(values)
    mapped = mapping[~mapping.index.duplicated()].reindex(uniques).to_numpy("float64")
    return np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else np.nan, np.nan)


def stage_ranks(stages: pd.DataFrame, fn: str):
    """(open stages in order, stage -> rank map with won stages at K, K, won stage names)."""
    require(stages, ["stage_name", "sort_order", "is_closed", "is_won"], fn, "stages")
    st = stages.drop_duplicates("stage_name").sort_values("sort_order", kind="stable")
    won = flag(st["is_won"])
    open_st = st[~flag(st["is_closed"]) & ~won].reset_index(drop=True)
    if open_st.empty:
        raise ValueError(f"{fn}: the stages table has no open stage (is_closed False)")
    k = len(open_st)
    ranks = pd.Series(np.arange(1, k + 1, dtype="float64"), index=open_st["stage_name"].to_numpy())
    won_names = st.loc[won, "stage_name"].tolist()
    ranks = pd.concat([ranks, pd.Series(float(k), index=won_names)])
    return open_st, ranks, k, won_names


def reach_days(opps, history, ranks, k, window_days=None) -> np.ndarray:
    """First day each opportunity reached open rank >= r, as an (n, k) array (NaN = never).

    Undated evidence is +inf: it proves the stage was reached, but never within a window.
    """
    ids = pd.Index(opps["opportunity_id"])
    if not ids.is_unique:
        raise ValueError("opportunity_id is not unique in opportunities")
    created = days(opps["created_date"])
    h_pos = ids.get_indexer(history["opportunity_id"])  # (faster than isin on arrow strings)
    h = history[h_pos >= 0]
    h_pos = h_pos[h_pos >= 0]
    h_day = np.nan_to_num(days(h["created_date"]), nan=np.inf)
    last = pd.Series(h_day).groupby(h_pos).max().reindex(range(len(ids))).to_numpy()
    cur_day = np.where(np.isnan(last), created, last)
    won = flag(opps["is_won"]).to_numpy()
    pos = np.concatenate([h_pos, np.arange(len(ids)), np.flatnonzero(won)])
    rank = np.concatenate([lookup(h["stage_name"], ranks), lookup(opps["stage_name"], ranks), np.full(won.sum(), k)])
    day = np.concatenate(
        [h_day, np.nan_to_num(cur_day, nan=np.inf), np.nan_to_num(days(opps["close_date"])[won], nan=np.inf)]
    )
    keep = ~np.isnan(rank)
    if window_days is not None:
        keep &= (day - created[pos]) <= window_days  # inf and unknown creation fail the test
    reach = np.full((len(ids), k), np.nan)
    np.fmin.at(reach, (pos[keep], rank[keep].astype(int) - 1), day[keep])
    # reaching rank r means having passed every rank below it: running minimum from the top
    return np.fmin.accumulate(reach[:, ::-1], axis=1)[:, ::-1]


def to_day(value, fn: str, name: str = "as_of") -> pd.Timestamp:
    """A date argument as a naive day (UTC); a clear error naming the function and argument."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{fn}: {name}={value!r} is not a date") from exc
    if ts is pd.NaT:
        raise ValueError(f"{fn}: {name} is missing")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def day_number(value, fn: str, name: str = "as_of") -> float:
    """A date argument as float days since the epoch (as :func:`days`); clear error when it is none."""
    try:
        day = float(days([pd.Timestamp(value)])[0])
    except (TypeError, ValueError):
        day = np.nan
    if np.isnan(day):
        raise ValueError(f"{fn}: {name}={value!r} is not a date")
    return day


def utc_naive(values) -> pd.Series:
    """Timestamps (text, naive or aware) as naive UTC datetime64[us], on a fresh RangeIndex."""
    s = pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, format="mixed", utc=True)
    if s.dt.tz is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.astype("datetime64[us]").reset_index(drop=True)
