"""Headline figures of an org: leads and lead conversion, opportunities open, won and lost, win
rate, deal size, sales cycle and open pipeline, optionally as of a day and per segment.

Built on :func:`funnel_analysis.funnel.lead_conversion` and
:func:`funnel_analysis.funnel.winrates.win_rates`; the result is plain Python values, ready for
``json.dumps`` (the ``funnel kpis`` command prints it).

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> kpis(crm, as_of="2025-06-30", by="lead_source")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import flag as _flag
from .._util.frames import group_sum as _group_sum
from .conversion import lead_conversion
from .winrates import win_rates

__all__ = ["kpis"]


def _plain(value):
    """JSON-ready: NaN/NA -> None, NumPy scalars -> int/float."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value.isoformat() if isinstance(value, pd.Timestamp) else value


def kpis(crm, *, as_of=None, by: str | None = None):
    """Headline figures of an org, optionally as of a day and per segment.

    Figures: ``leads``, ``leads_converted``, ``lead_conversion_rate``, ``opportunities``,
    ``opportunities_open``, ``opportunities_won``, ``opportunities_lost``, ``win_rate``,
    ``avg_won_deal_size``, ``median_cycle_days``, ``mean_cycle_days``,
    ``open_pipeline_amount``. Each rate or average has ``<figure>_n``, its denominator (leads,
    closed deals, won deals with an amount or a valid cycle, open deals with an amount), and
    the two rates their Wilson bounds (``<figure>_ci_low``, ``<figure>_ci_high``). A figure the
    data cannot give is ``None``, never 0: no leads or opportunities table (``crm.has``), a
    segment column the table lacks, or a zero denominator. The open pipeline is 0 when nothing
    is open, and ``None`` when open deals exist but none has an amount.

    Parameters
    ----------
    crm : CrmData
    as_of : date-like, optional
        Cut the org at the end of this day first (:meth:`CrmData.as_of`).
    by : str, optional
        A column of the leads and/or opportunities table.

    Returns
    -------
    dict, or list of dict with ``by`` (each with ``"by"`` and ``"segment"`` keys)
        Plain Python values, ready for ``json.dumps``; ``as_of`` is an ISO date or None.

    Examples
    --------
    >>> kpis(crm, as_of="2024-06-30")["win_rate"]  # doctest: +SKIP
    0.42
    """
    if not all(hasattr(crm, a) for a in ("has", "as_of", "tables")):
        raise TypeError(f"kpis: crm must be a CrmData, got {type(crm).__name__}")
    if by is not None and not isinstance(by, str):
        raise TypeError("kpis: by must be one column name")
    c = crm.as_of(as_of) if as_of is not None else crm
    day = None if as_of is None else c.as_of_date.date().isoformat()
    tabs = {t: c.tables[t] for t in ("leads", "opportunities") if c.has(t)}
    if by is not None and not any(by in df.columns for df in tabs.values()):
        raise ValueError(f"kpis: no leads or opportunities column {by!r}")
    keys = [by] if by else []
    figs: dict = {}

    used: dict = {}  # the zero figures of each table used, for segments absent from it

    def put(table: pd.DataFrame, fields: dict, zeros: dict):
        used.update(zeros)
        for row in table.to_dict("records"):  # records keep each column's type (ints stay ints)
            seg = _plain(row[by]) if by else None
            figs.setdefault(seg, {}).update({k: _plain(row[v]) for k, v in fields.items()})

    if "leads" in tabs and (not by or by in tabs["leads"].columns):
        put(
            lead_conversion(tabs["leads"], by=keys or None),
            {
                "leads": "leads",
                "leads_converted": "converted",
                "lead_conversion_rate": "conversion_rate",
                "lead_conversion_rate_n": "leads",
                "lead_conversion_rate_ci_low": "conversion_rate_ci_low",
                "lead_conversion_rate_ci_high": "conversion_rate_ci_high",
            },
            {"leads": 0, "leads_converted": 0, "lead_conversion_rate_n": 0},
        )
    if "opportunities" in tabs and (not by or by in tabs["opportunities"].columns):
        o = tabs["opportunities"]
        is_open = ~_flag(o["is_closed"])
        amt = o["amount"].where(is_open)
        data = o[keys].assign(_n=1, _open=is_open, _amt=amt, _has=amt.notna())
        pipe = _group_sum(data, keys, ["_n", "_open", "_amt", "_has"])
        pipe["_amt"] = pipe["_amt"].where((pipe["_has"] > 0) | (pipe["_open"] == 0))
        put(
            pipe,
            {
                "opportunities": "_n",
                "opportunities_open": "_open",
                "open_pipeline_amount": "_amt",
                "open_pipeline_amount_n": "_has",
            },
            {"opportunities": 0, "opportunities_open": 0, "open_pipeline_amount": 0.0, "open_pipeline_amount_n": 0},
        )
        put(
            win_rates(o, by=keys or None),
            {
                "opportunities_won": "won",
                "opportunities_lost": "lost",
                "win_rate": "win_rate",
                "win_rate_n": "closed",
                "win_rate_ci_low": "win_rate_ci_low",
                "win_rate_ci_high": "win_rate_ci_high",
                "avg_won_deal_size": "avg_won_deal_size",
                "avg_won_deal_size_n": "deal_size_n",
                "median_cycle_days": "median_cycle_days",
                "median_cycle_days_n": "cycle_n",
                "mean_cycle_days": "mean_cycle_days",
                "mean_cycle_days_n": "cycle_n",
            },
            {
                "opportunities_won": 0,
                "opportunities_lost": 0,
                "win_rate_n": 0,
                "avg_won_deal_size_n": 0,
                "median_cycle_days_n": 0,
                "mean_cycle_days_n": 0,
            },
        )
    names = [
        "leads",
        "leads_converted",
        "lead_conversion_rate",
        "lead_conversion_rate_n",
        "lead_conversion_rate_ci_low",
        "lead_conversion_rate_ci_high",
        "opportunities",
        "opportunities_open",
        "opportunities_won",
        "opportunities_lost",
        "win_rate",
        "win_rate_n",
        "win_rate_ci_low",
        "win_rate_ci_high",
        "avg_won_deal_size",
        "avg_won_deal_size_n",
        "median_cycle_days",
        "median_cycle_days_n",
        "mean_cycle_days",
        "mean_cycle_days_n",
        "open_pipeline_amount",
        "open_pipeline_amount_n",
    ]
    if not by:
        return {"as_of": day, **{n: figs.get(None, {}).get(n) for n in names}}
    order = sorted(figs, key=lambda s: (s is None, str(s)))
    return [{"as_of": day, "by": by, "segment": s, **{n: {**used, **figs[s]}.get(n) for n in names}} for s in order]
