"""The same org as a CRM that keeps conversions in a second file: ``<out>/joined_source/``.

``leads.csv`` (lead_id, created_at, email, first_name, last_name, company, source, status, owner_id)
and ``deals.csv`` (deal_id, lead_id, account_id, name, created_at, stage, amount, close_date,
owner_id). A lead converted iff a deal holds its lead_id: its status never says so (a converted lead
stays ``contacted``), so a mapping must join the two files. Some converted leads have a second deal
(an expansion, created later): the earliest deal by ``created_at`` is the conversion. ``deals.csv`` is
in no particular order (the second deal may come first). Ids are this CRM's own (``L0000001``,
``D000001``, ``A000001``), amounts in USD, times ``2024-01-19 09:42:24`` (UTC).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .model import _DAY, _JOINED, _LEAD_SOURCES, _STAGES

#: this CRM's lead status of each custom status code
_STATUS = ("new", "contacted", "contacted", "contacted", "contacted", "unqualified")


def _fmt(sec: np.ndarray) -> np.ndarray:
    return pd.to_datetime(np.asarray(sec, np.int64), unit="s").strftime("%Y-%m-%d %H:%M:%S").to_numpy()


def _day(days: np.ndarray) -> np.ndarray:
    return pd.to_datetime(np.asarray(days, np.int64), unit="D").strftime("%Y-%m-%d").to_numpy()


def write_joined_source(shapes, out: Path) -> pd.DataFrame:
    """Write ``joined_source/leads.csv`` and ``deals.csv``; return the converted leads (the truth)."""
    sim, tl, rng = shapes.sim, shapes.lead, shapes.rng["joined"]
    folder = Path(out) / "joined_source"
    folder.mkdir(parents=True, exist_ok=True)
    L, O = sim.lead, sim.opp
    n = tl["n"]
    # leads: every lead of the org (duplicates included), Ids in creation order
    by_time = np.argsort(tl["created"], kind="stable")
    rank = np.empty(n, np.int64)
    rank[by_time] = np.arange(n)
    lead_id = np.char.add("L", np.char.zfill((rank + 1).astype(str), 7))
    o = shapes.lead_file_order
    pos = np.empty(n, np.int64)
    pos[o] = np.arange(n)  # the Lead.csv row of each lead

    def col(name):
        return np.asarray(shapes.lead_cols[name].to_numpy(zero_copy_only=False), dtype=object)[pos]

    owner = tl["final_owner"]
    owner_id = np.where(
        owner < shapes.nU,
        np.char.add("u", np.char.zfill(np.minimum(owner, 999).astype(str), 3)),
        np.char.add("queue-", (owner - shapes.nU).astype(str)),
    )
    source = np.concatenate([L["source"], sim.lead_dups["source"]])
    leads = pd.DataFrame(
        dict(
            lead_id=lead_id,
            created_at=_fmt(tl["created"]),
            email=col("email"),
            first_name=col("first_name"),
            last_name=col("last_name"),
            company=col("company"),
            source=np.array([s[0] for s in _LEAD_SOURCES], dtype=object)[source],
            status=np.array(_STATUS, dtype=object)[tl["final_code"]],
            owner_id=owner_id,
        )
    ).iloc[by_time]
    leads.to_csv(folder / "leads.csv", index=False, lineterminator="\n")

    # deals: every deal of the org, plus a later second deal of some converted leads
    n_opp = O["n"]
    has_lead = O["lead"] >= 0
    second = np.flatnonzero(has_lead & (rng.random(n_opp) < _JOINED["p_second_deal"]))
    lo, hi = _JOINED["second_deal_days"]
    t2 = O["created"][second] + (rng.uniform(lo, hi, len(second)) * _DAY).astype(np.int64)
    ok = t2 < shapes.bound
    second, t2 = second[ok], t2[ok]
    k = len(second)
    won2 = rng.random(k) < 0.4
    stage2 = np.where(won2, [s[0] for s in _STAGES].index("Closed Won"), 0)
    amount2 = np.maximum(np.round(O["amount"][second] * rng.uniform(0.2, 0.8, k), -2), 500.0)
    src = np.concatenate([np.arange(n_opp), second])
    created = np.concatenate([O["created"], t2])
    stage = np.concatenate([O["stage"], stage2])
    amount = np.concatenate([O["amount"], amount2])
    close = np.concatenate([O["close"], t2 // _DAY + 45])
    by_time = np.argsort(created, kind="stable")
    rank = np.empty(len(src), np.int64)
    rank[by_time] = np.arange(len(src))
    deal_id = np.char.add("D", np.char.zfill((rank + 1).astype(str), 6))
    lead_of = np.where(has_lead[src], lead_id[np.maximum(O["lead"][src], 0)], "")
    names = np.asarray(shapes.opp_names.to_numpy(zero_copy_only=False), dtype=object)
    opp_pos = np.empty(n_opp, np.int64)
    opp_pos[shapes.opp_file_order] = np.arange(n_opp)
    name = names[opp_pos[src]]
    name = np.where(np.arange(len(src)) >= n_opp, name + " (expansion)", name)
    deals = pd.DataFrame(
        dict(
            deal_id=deal_id,
            lead_id=lead_of,
            account_id=np.char.add("A", np.char.zfill((O["account"][src] + 1).astype(str), 6)),
            name=name,
            created_at=_fmt(created),
            stage=np.array([s[0] for s in _STAGES], dtype=object)[stage],
            amount=np.where(np.isfinite(amount), np.char.mod("%.2f", np.nan_to_num(amount)), ""),
            close_date=_day(close),
            owner_id=np.char.add("u", np.char.zfill(np.minimum(O["owner"][src], 999).astype(str), 3)),
        )
    )
    deals = deals.iloc[rng.permutation(len(deals))]  # exported in no particular order
    deals.to_csv(folder / "deals.csv", index=False, lineterminator="\n")

    # the truth: the converted leads and the deal that converted them (the earliest)
    conv = has_lead
    first = pd.DataFrame(
        dict(
            lead_id=lead_id[O["lead"][conv]],
            sf_lead_id=sim.ids["leads"][O["lead"][conv]].astype(str),
            deal_id=deal_id[:n_opp][conv],
            converted_at=_fmt(O["created"][conv]),
        )
    )
    n_deals = pd.Series(lead_of[lead_of != ""]).value_counts()
    first["n_deals"] = first["lead_id"].map(n_deals).astype(int)
    return first.sort_values("lead_id", kind="stable").reset_index(drop=True)
