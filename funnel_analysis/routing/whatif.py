"""What-if: a proposed rule set replayed on past leads, next to what happened.

Rules
-----
- The proposed rules assign every past lead (:func:`~funnel_analysis.routing.assign_leads`: first match wins, round
  robin over the members active that day); the **actual** owner is the lead's first owner.
- **Expected breaches** under the proposal: each lead is given the SLA breach share its proposed owner showed on
  the leads they actually received (the proposal's SLA and touch definition, :func:`first_touches`); an owner with
  no judged lead of their own gets the share of all judged leads. It assumes a rep's speed does not change with
  their load: a first estimate, not a forecast.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> what_if(crm, proposed_rules_file="proposed_rules.yaml")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..crm import cut_as_of
from ._fast import isin
from .assign import _routed_leads
from .rules import RoutingRules, resolve_rules
from .touches import first_touches

__all__ = ["what_if", "WHAT_IF_COLUMNS"]

#: The columns of :func:`what_if`, in order.
WHAT_IF_COLUMNS = [
    "level",
    "name",
    "actual_leads",
    "proposed_leads",
    "actual_breaches",
    "actual_breach_share",
    "expected_breaches",
    "expected_breach_share",
]


def what_if(
    crm, *, proposed_rules: RoutingRules | None = None, proposed_rules_file=None, as_of=None, where=None
) -> pd.DataFrame:
    """Load and expected SLA breaches per owner and team under a proposed rule set, next to what happened.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    proposed_rules : RoutingRules, optional
        The proposal (its teams, entries, SLA and touch definition).
    proposed_rules_file : str or Path, optional
        Its file instead (exactly one of the two).
    as_of : date-like, optional
        The day seen; None or ``""``: the latest date in the data.
    where : str, optional
        Only the leads this expression selects.

    Returns
    -------
    DataFrame
        Columns :data:`WHAT_IF_COLUMNS`: one row per owner (``level = "owner"``, ``name`` the user or queue ID),
        then per team of the proposal (``level = "team"``; actual: leads whose first owner is a member) and
        ``"all"``. ``actual_breaches`` counts judged leads that breached; ``expected_*`` is the proposal's estimate.
    """
    proposed_rules = resolve_rules(proposed_rules, proposed_rules_file, name="proposed_rules")
    cut = cut_as_of(crm, as_of=as_of)
    prop = _routed_leads(cut, proposed_rules)
    ft = first_touches(cut, rules=proposed_rules, as_of=cut.as_of_date)
    d = prop[["lead_id", "expected_owner_id"]].merge(ft[["lead_id", "first_owner_id", "breached"]], on="lead_id")
    if where is not None and str(where).strip():
        d = d[isin(d["lead_id"], cut.rows("leads", where=where)["lead_id"])]
    judged = d["breached"].notna()
    b = d["breached"].fillna(False).astype(bool)
    per = pd.DataFrame({"o": d["first_owner_id"], "j": judged.astype(int), "b": (b & judged).astype(int)})
    rate = per.groupby("o").agg(j=("j", "sum"), b=("b", "sum"))
    overall = per["b"].sum() / per["j"].sum() if per["j"].sum() else np.nan
    share = (rate["b"] / rate["j"].where(rate["j"] > 0)).fillna(overall)
    d = d.assign(_exp=d["expected_owner_id"].map(share).fillna(overall).astype("float64"))
    owners = sorted(set(d["first_owner_id"].dropna()) | set(d["expected_owner_id"].dropna()))
    rows = []

    def row(level, name, actual, proposed):
        a, p = actual, proposed
        n_judged = int(judged.to_numpy()[a].sum())
        breaches = int((b & judged).to_numpy()[a].sum())
        exp = float(d["_exp"].to_numpy()[p].sum())
        rows.append(
            {
                "level": level,
                "name": name,
                "actual_leads": int(a.sum()),
                "proposed_leads": int(p.sum()),
                "actual_breaches": breaches,
                "actual_breach_share": breaches / n_judged if n_judged else np.nan,
                "expected_breaches": exp,
                "expected_breach_share": exp / int(p.sum()) if p.sum() else np.nan,
            }
        )

    for o in owners:
        row(
            "owner",
            o,
            (d["first_owner_id"] == o).to_numpy(dtype=bool),
            (d["expected_owner_id"] == o).to_numpy(dtype=bool),
        )
    for t in proposed_rules.teams:
        m = list(proposed_rules.members(t))
        row(
            "team",
            t,
            d["first_owner_id"].isin(m).to_numpy(dtype=bool),
            d["expected_owner_id"].isin(m).to_numpy(dtype=bool),
        )
    everyone = np.ones(len(d), dtype=bool)
    row("all", "all", everyone, everyone)
    return pd.DataFrame(rows, columns=WHAT_IF_COLUMNS)
