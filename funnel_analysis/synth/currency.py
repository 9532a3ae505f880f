"""Three currencies: corporate USD, EUR and GBP, with dated exchange rates (Salesforce's advanced currency management).

A rate is the number of units of a currency per one US dollar (Salesforce's ``ConversionRate``:
corporate = amount / rate). Rates change on the first day of every month from three years before
the window on, plus a few corrections in the middle of a month (so some changes fall inside a
quarter on a day other than the 1st); the first period is open at its start (``0001-01-01``) and
the last one at its end (``9999-12-31``), as ``DatedConversionRate`` writes them. The static rate
(``CurrencyType``) is the one in effect at the extract.

Rates are drawn as integer millionths, so the value written with six decimals and the value the
truth divides by are the same number.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrowtext import _pool, _s_bool, _s_date, _s_int, _take
from .model import _DAY
from .sim import _Sim
from .vocab import _COUNTRIES

#: iso code, rate per USD at the start of the rates (millionths), monthly log-sigma; the first is corporate
_CURRENCIES = (("USD", 1_000_000, 0.0), ("EUR", 920_000, 0.014), ("GBP", 790_000, 0.013))
#: billing / mailing / lead country -> currency (others: USD)
_COUNTRY_CURRENCY = {"DE": "EUR", "FR": "EUR", "NL": "EUR", "GB": "GBP"}
_FX = dict(months_before_window=36, mid_month_corrections=3, decimal_places=2)
#: how Salesforce writes the open ends of the first and the last period
_OPEN_START, _OPEN_END = "0001-01-01", "9999-12-31"


def make_rates(sim: _Sim, rng) -> None:
    """Dated rates of every currency (``sim.fx``) and each country's currency."""
    shared = getattr(sim.shard, "fx", None) if sim.shard is not None and sim.shard.index > 0 else None
    if shared is not None:  # a later chunk of a chunked run: the org's one rate calendar, the first chunk's
        sim.fx = {key: value.copy() if isinstance(value, np.ndarray) else list(value) for key, value in shared.items()}
        return
    t0 = np.datetime64(sim.start_str, "M")
    t_end = np.datetime64((sim.t1 - 1) // _DAY, "D").astype("datetime64[M]")
    months = np.arange(t0 - _FX["months_before_window"], t_end + 1)
    month_starts = months.astype("datetime64[D]").astype(np.int64)
    # corrections in the middle of the second month of a quarter inside the window
    window_months = months[(months >= t0) & (months <= t_end)]
    second = window_months[window_months.astype(np.int64) % 3 == 1]
    k = min(_FX["mid_month_corrections"], len(second))
    picks = np.sort(rng.choice(len(second), k, replace=False)) if k else np.zeros(0, np.int64)
    mid = second[picks].astype("datetime64[D]").astype(np.int64) + rng.integers(9, 20, k)
    starts = np.unique(np.concatenate([month_starts, mid]))
    starts = starts[starts * _DAY < sim.t1]
    n_cur, n_per = len(_CURRENCIES), len(starts)
    micro = np.empty((n_cur, n_per + 1), np.int64)
    for c, (_iso, base, sigma) in enumerate(_CURRENCIES):
        if sigma == 0:
            micro[c] = 1_000_000
            continue
        walk = np.exp(np.cumsum(sigma * rng.standard_normal(n_per + 1)))
        micro[c] = np.round(base * walk).astype(np.int64)
    cur_of_iso = {iso: i for i, (iso, _, _) in enumerate(_CURRENCIES)}
    sim.fx = dict(
        iso=[c[0] for c in _CURRENCIES],
        starts=starts,  # day numbers where periods 1..n start; period 0 is open at its start
        micro=micro,  # (currency, period) -> rate in millionths
        country=np.array([cur_of_iso.get(_COUNTRY_CURRENCY.get(c[1], "USD")) for c in _COUNTRIES]),
        mid_month=np.sort(mid),
    )


def period_of(sim: _Sim, day) -> np.ndarray:
    """Index of the rate period holding each day number (StartDate <= day < NextStartDate)."""
    return np.searchsorted(sim.fx["starts"], np.asarray(day, np.int64), side="right")


def dated_rate(sim: _Sim, cur, day) -> np.ndarray:
    """Dated rate of currency index ``cur`` on day number ``day`` (float, units per USD)."""
    return sim.fx["micro"][np.asarray(cur, np.int64), period_of(sim, day)] / 1e6


def static_rate(sim: _Sim, cur) -> np.ndarray:
    """The ``CurrencyType`` rate: the dated rate in effect at the extract."""
    return sim.fx["micro"][np.asarray(cur, np.int64), -1] / 1e6


def local_money(usd, rate) -> np.ndarray:
    """``round(usd * rate, 2)`` as the number written and read back (integer cents / 100); NaN stays NaN."""
    x = np.asarray(usd, float) * np.asarray(rate, float)
    ok = np.isfinite(x)
    cents = np.round(np.where(ok, x, 0.0) * 100).astype(np.int64)
    return np.where(ok, cents / 100, np.nan)


def _s_rate(micro) -> pa.Array:
    micro = np.asarray(micro, np.int64)
    whole, frac = micro // 1_000_000, micro % 1_000_000
    return pa.array([f"{w}.{f:06d}" for w, f in zip(whole.tolist(), frac.tolist())], pa.string())


def currency_tables(sim: _Sim) -> dict:
    """Columns (header -> Arrow strings) of ``CurrencyType.csv`` and ``DatedConversionRate.csv``."""
    fx = sim.fx
    n_cur = len(fx["iso"])
    iso_pool = _pool(fx["iso"])
    currency_type = {
        "IsoCode": iso_pool,
        "ConversionRate": _s_rate(fx["micro"][:, -1]),
        "IsCorporate": _s_bool(np.arange(n_cur) == 0),
        "IsActive": _s_bool(np.ones(n_cur, bool)),
        "DecimalPlaces": _s_int(np.full(n_cur, _FX["decimal_places"])),
    }
    # no dated rows for the corporate currency (Salesforce keeps none)
    starts = fx["starts"]
    n_per = len(starts) + 1
    cur = np.repeat(np.arange(1, n_cur), n_per)
    per = np.tile(np.arange(n_per), n_cur - 1)
    start_s = _s_date(np.where(per > 0, starts[np.maximum(per - 1, 0)], 0))
    next_s = _s_date(np.where(per < n_per - 1, starts[np.minimum(per, n_per - 2)], 0))
    start_s = pa.array([_OPEN_START if p == 0 else s for p, s in zip(per.tolist(), start_s.to_pylist())])
    next_s = pa.array([_OPEN_END if p == n_per - 1 else s for p, s in zip(per.tolist(), next_s.to_pylist())])
    dated = {
        "IsoCode": _take(iso_pool, cur),
        "ConversionRate": _s_rate(fx["micro"][cur, per]),
        "StartDate": start_s,
        "NextStartDate": next_s,
    }
    return {"CurrencyType.csv": currency_type, "DatedConversionRate.csv": dated}


def ensure_crossings(sim: _Sim, rng, opp_cur: np.ndarray) -> list[int]:
    """Make sure a won and an open deal see their close date pushed across a rate change.

    Among the history rows that only move a non-USD deal's close date (same stage, same amount),
    if none of the won (or of the still open) deals crosses a rate boundary, a rate correction
    is added the day after the old close date of the first such row. The org is not changed, only
    the rate calendar. Returns the days (day numbers) added.
    """
    if sim.shard is not None and sim.shard.index > 0:
        return []  # a later chunk keeps the first chunk's calendar (its crossings were made there)
    H, O = sim.hist, sim.opp
    order = np.lexsort((H["time"], H["opp"]))
    opp, stage, close, amount = H["opp"][order], H["stage"][order], H["close"][order], H["amount"][order]
    same_deal = np.r_[False, opp[1:] == opp[:-1]]
    prev_close, prev_stage, prev_amount = np.r_[-1, close[:-1]], np.r_[-1, stage[:-1]], np.r_[np.nan, amount[:-1]]
    same_amount = (amount == prev_amount) | (np.isnan(amount) & np.isnan(prev_amount))
    push = same_deal & (stage == prev_stage) & (close > prev_close) & same_amount & (opp_cur[opp] > 0)
    added = []
    for group in (O["is_won"], ~O["is_closed"]):
        rows = np.flatnonzero(push & group[opp])
        if not len(rows):
            continue
        if (period_of(sim, prev_close[rows]) != period_of(sim, close[rows])).any():
            continue
        r = rows[0]
        day = int(prev_close[r]) + 1
        p = int(period_of(sim, day))
        fx = sim.fx
        fx["starts"] = np.insert(fx["starts"], p, day)
        moved = fx["micro"][:, p] * (1 + rng.choice([-1.0, 1.0]) * rng.uniform(0.005, 0.02))
        moved[0] = 1_000_000
        fx["micro"] = np.insert(fx["micro"], p + 1, np.round(moved).astype(np.int64), axis=1)
        fx["mid_month"] = np.sort(np.r_[fx["mid_month"], day])
        added.append(day)
    return added
