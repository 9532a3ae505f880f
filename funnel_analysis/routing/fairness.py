"""Fairness and load: leads per rep against the round robin's equal share, weighted by score, open leads over time.

Rules
-----
- **Equal share.** Each lead a team received (its target in :func:`~funnel_analysis.routing.assign_leads`) is owed in
  equal parts to the team's members active on its creation day (the round robin's own notion of active): a rep who
  joined in the middle of the period is owed a share of the leads created after they joined only, so they are not
  "unfair" for having fewer. ``expected_leads`` sums those parts; ``leads`` counts the team's leads whose first
  owner is the rep; ``ratio = leads / expected_leads`` (1 is fair).
- **Score-weighted**: the same with each lead weighted by its score (``Lead_Score__c``, column ``score``): does one rep
  get the best leads? ``score_ratio = score_received / expected_score``.
- **Open leads over time**: at the end of each period, the leads each owner held (from the owner history) that were
  created by then and neither converted nor **closed by status** by then. A closed status is one of
  ``closed_statuses`` (default: the org's statuses, folded, that begin with "Closed" or are "Disqualified",
  "Unqualified", "Junk" or "Dead", the converted ones aside). A lead whose status on the day is closed closed at
  its last Status change into a closed status (LeadHistory); without one, at its ``last_modified_date`` (the
  closing edit is usually the last), else at its creation. A lead closed and reopened since counts as open.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> fairness(crm, rules_file="data/examples/routing_rules.yaml", score="lead_score")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..crm import cut_as_of, field_changes
from ._fast import isin
from .assign import _activity, _day_number, _joined, _routed_leads
from .rules import RoutingRules, resolve_rules
from .touches import owner_timeline

__all__ = ["fairness", "open_leads_over_time", "FAIRNESS_COLUMNS"]

#: The columns of :func:`fairness`, in order.
FAIRNESS_COLUMNS = [
    "team",
    "owner_id",
    "active_from",
    "leads",
    "expected_leads",
    "ratio",
    "score_received",
    "expected_score",
    "score_ratio",
    "mean_score",
]


def fairness(
    crm, *, rules: RoutingRules | None = None, rules_file=None, as_of=None, where=None, score: str | None = None
) -> pd.DataFrame:
    """Per team and rep: leads received against the round robin's equal share over the days they were active.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    rules : RoutingRules, optional
        From :func:`~funnel_analysis.routing.load_rules`.
    rules_file : str or Path, optional
        The rules file instead (exactly one of the two).
    as_of : date-like, optional
        The day seen; None or ``""``: the latest date in the data.
    where : str, optional
        Only the leads this expression selects count (their equal shares too).
    score : str, optional
        A lead column to weight by (``"lead_score"``); None: no score columns (missing).

    Returns
    -------
    DataFrame
        Columns :data:`FAIRNESS_COLUMNS`, one row per (team, member); ``active_from`` is the first day the member
        takes leads (NaT: from the start).
    """
    rules = resolve_rules(rules, rules_file)
    cut = cut_as_of(crm, as_of=as_of)
    leads = cut.leads
    users = cut.users if cut.has("users") else None
    routed = _routed_leads(cut, rules)
    tl = owner_timeline(cut)
    first = tl[tl["stint"] == 0].set_index("lead_id")["owner_id"]
    routed["first_owner_id"] = routed["lead_id"].map(first)
    routed["day"] = _day_number(leads["created_date"]) if "created_date" in leads else np.nan
    w = (
        pd.to_numeric(leads[score], errors="coerce").to_numpy("float64")
        if score is not None and score in leads
        else np.full(len(leads), np.nan)
    )
    routed["w"] = w
    if where is not None and str(where).strip():
        keep = cut.rows("leads", where=where)["lead_id"]
        routed = routed[isin(routed["lead_id"], keep)]
    joined = _joined(users)
    rows = []
    for name in rules.teams:
        got = routed[(routed["target_kind"] == "team") & (routed["target"] == name)]
        ids, active = _activity(rules, name, got["day"].to_numpy("float64"), joined)
        n_active = active.sum(axis=1)
        share = np.where(n_active[:, None] > 0, active / np.maximum(n_active, 1)[:, None], 0.0)
        weights = got["w"].to_numpy("float64")
        scored = ~np.isnan(weights)
        for j, uid in enumerate(ids):
            mine = (got["first_owner_id"] == uid).to_numpy(dtype=bool)
            m = rules.member_records(name)[j]
            start = pd.Timestamp(m.active_from) if m.active_from is not None else None
            if start is None and uid in joined and np.isfinite(joined[uid]):
                start = pd.Timestamp("1970-01-01") + pd.Timedelta(days=float(joined[uid]))
            expected = float(share[:, j].sum())
            exp_score = float((share[scored, j] * weights[scored]).sum()) if score is not None else np.nan
            got_score = float(weights[mine & scored].sum()) if score is not None else np.nan
            rows.append(
                {
                    "team": name,
                    "owner_id": uid,
                    "active_from": start,
                    "leads": int(mine.sum()),
                    "expected_leads": expected,
                    "ratio": int(mine.sum()) / expected if expected > 0 else np.nan,
                    "score_received": got_score,
                    "expected_score": exp_score,
                    "score_ratio": got_score / exp_score if score is not None and exp_score > 0 else np.nan,
                    "mean_score": float(np.nanmean(weights[mine]))
                    if score is not None and (mine & scored).any()
                    else np.nan,
                }
            )
    out = pd.DataFrame(rows, columns=FAIRNESS_COLUMNS)
    out["active_from"] = pd.to_datetime(out["active_from"])
    return out


_CLOSED_WORDS = ("disqualified", "unqualified", "junk", "dead")


def _closed_statuses(cut, leads, closed_statuses) -> set[str]:
    """The folded labels of the statuses that close a lead (see the module rules)."""
    if closed_statuses is not None:
        return {
            str(x).strip().lower() for x in ([closed_statuses] if isinstance(closed_statuses, str) else closed_statuses)
        }
    labels = set(leads["status"].dropna().astype(str)) if "status" in leads else set()
    converted = set()
    if cut.has("lead_statuses") and len(cut.lead_statuses):
        t = cut.lead_statuses
        labels |= set(t["status"].dropna().astype(str)) if "status" in t else set()
        if "is_converted" in t and "status" in t:
            converted = set(
                t.loc[t["is_converted"].fillna(False).astype(bool), "status"].astype(str).str.strip().str.lower()
            )
    folded = {x.strip().lower() for x in labels}
    return {
        x
        for x in folded
        if (x.startswith("closed") or x in _CLOSED_WORDS)
        and x not in converted
        and "converted" != x.removeprefix("closed - ")
    }


def _closed_at(cut, leads, closed: set[str]) -> pd.Series:
    """When each lead closed by status (NaT: open on the day, or converted); aligned to ``leads``."""
    out = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[us, UTC]")
    if "status" not in leads or not closed:
        return out
    now = leads["status"].astype("string").str.strip().str.lower().isin(closed).fillna(False).to_numpy(dtype=bool)
    if "is_converted" in leads:
        now = now & ~leads["is_converted"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if not now.any():
        return out
    fallback = (
        pd.to_datetime(leads["last_modified_date"], utc=True)
        if "last_modified_date" in leads
        else pd.Series(pd.NaT, index=leads.index, dtype="datetime64[us, UTC]")
    )
    fallback = fallback.fillna(pd.to_datetime(leads["created_date"], utc=True))
    when = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[us, UTC]")
    if cut.has("lead_history"):
        try:
            ch = field_changes(cut, table="lead_history", field="status")
        except ValueError:
            ch = None
        if ch is not None and len(ch):
            into = ch[ch["new_value"].astype("string").str.strip().str.lower().isin(closed).fillna(False)]
            last = into.groupby("lead_id")["created_date"].max()
            when = leads["lead_id"].map(last)
            when = pd.to_datetime(when, utc=True)
    when = when.fillna(fallback)
    out[now] = when[now].astype("datetime64[us, UTC]")
    return out


def open_leads_over_time(crm, *, as_of=None, where=None, period: str = "W", closed_statuses=None) -> pd.DataFrame:
    """Open leads per owner at the end of each period (see the module rules).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The last day; None or ``""``: the latest date in the data.
    where : str, optional
        Only the leads this expression selects.
    period : str, default "W"
        A pandas period frequency (``"W"``, ``"M"``).
    closed_statuses : str or list of str, optional
        The lead statuses that close a lead (compared folded: trimmed, any case); default: see the module rules.

    Returns
    -------
    DataFrame
        ``period_end`` (UTC timestamp, the end of the period or the end of ``as_of``), ``owner_id``,
        ``open_leads``; owners with none are left out.
    """
    cut = cut_as_of(crm, as_of=as_of)
    leads = cut.rows("leads", where=where)
    end = pd.Timestamp(cut.as_of_date).tz_localize("UTC") + pd.Timedelta(days=1)
    if not len(leads):
        return pd.DataFrame(
            {"period_end": pd.Series([], dtype="datetime64[us, UTC]"), "owner_id": [], "open_leads": []}
        )
    created = pd.to_datetime(leads["created_date"], utc=True)
    start = created.min()
    ends = pd.period_range(start.tz_localize(None), end.tz_localize(None) - pd.Timedelta(microseconds=1), freq=period)
    stamps = [min(p.end_time.tz_localize("UTC").ceil("D"), end) for p in ends]
    tl = owner_timeline(cut)
    tl = tl[isin(tl["lead_id"], leads["lead_id"])].dropna(subset=["since"]).sort_values("since", kind="stable")
    conv = (
        pd.to_datetime(leads["converted_date"], utc=True)
        if "converted_date" in leads
        else pd.Series(pd.NaT, index=leads.index, dtype="datetime64[us, UTC]")
    )
    shut = _closed_at(cut, leads, _closed_statuses(cut, leads, closed_statuses))
    info = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(),
            "created": created.to_numpy(),
            "conv": conv.to_numpy(),
            "shut": shut.array,
        }
    )
    frames = []
    for t in stamps:
        alive = info[(info["created"] < t) & ~(info["conv"] < t).fillna(False) & ~(info["shut"] < t).fillna(False)]
        held = tl[tl["since"] < t].drop_duplicates("lead_id", keep="last")
        held = held[isin(held["lead_id"], alive["lead_id"])]
        counts = held.groupby("owner_id").size()
        frames.append(pd.DataFrame({"period_end": t, "owner_id": counts.index, "open_leads": counts.to_numpy()}))
    out = pd.concat(frames, ignore_index=True)
    out["open_leads"] = out["open_leads"].astype("int64")
    return out
