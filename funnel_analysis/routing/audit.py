"""The rule audit: per lead, the entry that matches, where the rules send it, and where it went.

Rules
-----
- **First match wins.** The entries of ``lead_assignment`` are evaluated in file order on the lead's values in the
  cut (:meth:`~funnel_analysis.crm.CrmData.as_of`); the first whose criteria are true gives the ``entry`` and the
  target; a lead matching none gets ``entry = "default"`` and ``default_owner``. A criterion that is unknown for a
  lead (a missing value) does not match it, as in Salesforce. Every expression is checked against the org before
  any is evaluated (:meth:`~funnel_analysis.routing.rules.RoutingRules.check`).
- **Round robin** (``expected_owner_id``): a team's members flattened (:meth:`RoutingRules.members`); the team's
  leads in ``created_date`` then ``lead_id`` order; a pointer walks the members in that order from the first: each
  lead goes to the first member at or after the pointer who is active on the lead's creation day (UTC; from
  ``active_from`` in the file, else the user's ``created_date`` day, else always), and the pointer moves to the
  member after them (``first_member``: always the first active member). No member active: no expected rep. For a
  user or queue target it is that user or queue.
- **Misrouted**: the first owner (:func:`~funnel_analysis.routing.touches.owner_timeline`) is not the target user or
  queue, or not a member of the target team: judged at the target level, not against the expected rep. A lead sent
  to a queue whose owner history is missing and that a user owns now counts as routed when that user is a member
  of the queue (GroupMember: they took it from the queue), as misrouted otherwise.
- ``reassignments``: Owner changes after creation, not counting a pick-up from a queue; missing without owner
  history for the lead. ``queue_hours``: hours the lead spent in queues (:func:`funnel_analysis.crm.queue_time`).

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> rules = fa.routing.load_rules("data/examples/routing_rules.yaml")  # doctest: +SKIP
>>> misroute_summary(rule_audit(crm, rules=rules), by="entry")  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .._util.arrow import lookup
from ..crm import cut_as_of, queue_time
from ..stats import rate_table
from ._fast import isin
from .assign import _leads_at_creation, _routed_leads, assign_opportunities, values_at_creation
from .rules import RoutingRules, resolve_rules
from .touches import owner_timeline

__all__ = ["rule_audit", "opportunity_audit", "misroute_summary", "AUDIT_COLUMNS", "OPPORTUNITY_AUDIT_COLUMNS"]

#: The columns of :func:`rule_audit`, in order.
AUDIT_COLUMNS = [
    "lead_id",
    "created_date",
    "entry",
    "target_kind",
    "target",
    "expected_owner_id",
    "first_owner_id",
    "first_owner_source",
    "owner_id",
    "misrouted",
    "reassignments",
    "queue_hours",
]


def rule_audit(crm, *, rules: RoutingRules | None = None, rules_file=None, as_of=None, where=None) -> pd.DataFrame:
    """Per lead: the matching entry, the rules' target and expected rep, the first owner, misrouted or not.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    rules : RoutingRules, optional
        From :func:`~funnel_analysis.routing.load_rules`.
    rules_file : str or Path, optional
        The rules file instead (exactly one of the two).
    as_of : date-like, optional
        The day seen (its end); None or ``""``: the latest date in the data.
    where : str, optional
        Only the leads this expression selects are returned (the round robin still counts every lead a team
        received).

    Returns
    -------
    DataFrame
        Columns :data:`AUDIT_COLUMNS`, one row per lead, in lead order; ``misrouted`` is nullable boolean (missing
        without a first owner or a target). ``attrs["note"]`` says where the first owners come from.

    Raises
    ------
    RulesError
        When a rule names a column the org does not have (before any rule is evaluated).
    """
    rules = resolve_rules(rules, rules_file)
    cut = cut_as_of(crm, as_of=as_of)
    leads = _leads_at_creation(cut, rules)
    from_history = leads.attrs["from_history"]
    out = _routed_leads(cut, rules)
    out.insert(1, "created_date", leads["created_date"].array if "created_date" in leads else pd.NaT)
    tl = owner_timeline(cut)
    first = lookup(out["lead_id"], tl[tl["stint"] == 0], key="lead_id", columns=["owner_id", "first_owner_source"])
    out["first_owner_id"], out["first_owner_source"] = first["owner_id"], first["first_owner_source"]
    out["owner_id"] = leads["owner_id"].to_numpy(dtype=object) if "owner_id" in leads else None
    fo = out["first_owner_id"].astype("string")
    ok = pd.Series(pd.NA, index=out.index, dtype="boolean")
    for kind in ("user", "queue"):
        m = (out["target_kind"] == kind).to_numpy(dtype=bool) & fo.notna().to_numpy(dtype=bool)
        ok[m] = (fo[m] == out.loc[m, "target"].astype("string")).to_numpy(dtype=bool)
    # without owner history a queue's lead is now owned by whoever took it: a member of the queue took it from
    # the queue (not misrouted), anyone else did not
    gm = cut.tables.get("group_members")
    picked = (
        (out["target_kind"] == "queue")
        & (out["first_owner_source"] == "current_owner")
        & fo.str.startswith("005").fillna(False)
    ).to_numpy(dtype=bool)
    if picked.any():
        pairs = set()
        if gm is not None and len(gm):
            pairs = set(zip(gm["group_id"].astype(str), gm["user_or_group_id"].astype(str), strict=True))
        took = [
            (q, u) in pairs for q, u in zip(out.loc[picked, "target"].astype(str), fo[picked].astype(str), strict=True)
        ]
        ok[picked] = took
    for name in rules.teams:
        m = ((out["target_kind"] == "team") & (out["target"] == name)).to_numpy(dtype=bool) & fo.notna().to_numpy(
            dtype=bool
        )
        ok[m] = fo[m].isin(list(rules.members(name))).to_numpy(dtype=bool)
    out["misrouted"] = ~ok
    # reassignments: changes after the first stint, not counting a pick-up from a queue
    changes = tl[tl["stint"] > 0].copy()
    prev = tl.groupby("lead_id")["owner_id"].shift(1).loc[changes.index]
    manual = ~prev.astype("string").str.startswith("00G").fillna(False)
    counts = changes[manual.to_numpy(dtype=bool)].groupby("lead_id").size()
    known = out["first_owner_source"].isin(["history", "no_change"])
    out["reassignments"] = pd.array(out["lead_id"].map(counts).fillna(0).astype("int64"), dtype="Int64")
    out.loc[~known.to_numpy(dtype=bool), "reassignments"] = pd.NA
    q = queue_time(cut) if cut.has("lead_history") else pd.DataFrame(columns=["lead_id", "hours_in_queue"])
    hours = q.groupby("lead_id")["hours_in_queue"].sum(min_count=1) if len(q) else pd.Series(dtype="float64")
    out["queue_hours"] = out["lead_id"].map(hours).astype("float64")
    if where is not None and str(where).strip():
        keep = cut.rows("leads", where=where)["lead_id"]
        out = out[isin(out["lead_id"], keep)].reset_index(drop=True)
    src = out["first_owner_source"].value_counts()
    out = out[AUDIT_COLUMNS]
    out.attrs["note"] = (
        "first owners from LeadHistory Owner changes where present, else the current owner ("
        + ", ".join(f"{k}: {v}" for k, v in src.items())
        + "); criteria judged on the values at creation ("
        + f"{from_history} leads' from LeadHistory, the others' unchanged since)"
    )
    return out


#: The columns of :func:`opportunity_audit`, in order.
OPPORTUNITY_AUDIT_COLUMNS = [
    "opportunity_id",
    "created_date",
    "entry",
    "target_kind",
    "target",
    "expected_owner_id",
    "owner_id",
    "misrouted",
]


def opportunity_audit(
    crm, *, rules: RoutingRules | None = None, rules_file=None, as_of=None, where=None
) -> pd.DataFrame:
    """Per deal: the ``opportunity_assignment`` entry that matches, its target and round-robin rep, and the owner.

    The same rules as the lead audit (first match wins, round robin by ``created_date`` then ID), evaluated on the
    deal's values at creation (:func:`~funnel_analysis.routing.assign.values_at_creation`: the Amount of its first
    stage-history row, other fields from OpportunityFieldHistory; related fields such as ``account.region`` as
    they stand on the day). ``misrouted`` compares the deal's **owner on the day** with the target (a user, a
    queue, or any member of a team): deals are handed over after creation (an SDR's deal goes to an AE), so the
    owner who works the deal, not the creator, is what the rules decide.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    rules : RoutingRules, optional
        From :func:`~funnel_analysis.routing.load_rules`.
    rules_file : str or Path, optional
        The rules file instead (exactly one of the two).
    as_of : date-like, optional
        The day seen (its end); None or ``""``: the latest date in the data.
    where : str, optional
        Only the deals this expression selects are returned (the round robin still counts every deal).

    Returns
    -------
    DataFrame
        Columns :data:`OPPORTUNITY_AUDIT_COLUMNS`, one row per deal; ``misrouted`` nullable boolean (missing
        without an owner or a target); empty (those columns) when the rules have no ``opportunity_assignment``.
        :func:`misroute_summary` reads it as it reads the lead audit.

    Raises
    ------
    RulesError
        When a rule names a column the org does not have (before any rule is evaluated).

    Examples
    --------
    >>> import funnel_analysis as fa  # doctest: +SKIP
    >>> audit = opportunity_audit(crm, rules_file="data/examples/routing_rules.yaml")  # doctest: +SKIP
    >>> misroute_summary(audit, by="entry")  # doctest: +SKIP
    """
    rules = resolve_rules(rules, rules_file)
    cut = cut_as_of(crm, as_of=as_of)
    if not rules.opportunity_assignment or not cut.has("opportunities"):
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in OPPORTUNITY_AUDIT_COLUMNS})
        out["misrouted"] = out["misrouted"].astype("boolean")
        out.attrs["note"] = "the rules have no opportunity_assignment"
        return out
    columns = {c for e in rules.opportunity_assignment for c in e.criteria.columns}
    opps = values_at_creation(cut, table="opportunities", columns=columns)
    from_history = opps.attrs["from_history"]
    # an engine-only cut reads the tables the criteria reach (account.region: the accounts), also for rules
    # loaded without the org
    cut.ensure_related_tables("opportunities", *(e.criteria for e in rules.opportunity_assignment))
    out = assign_opportunities(opps, rules, tables=cut.tables, users=cut.users if cut.has("users") else None)
    out.insert(1, "created_date", opps["created_date"].array if "created_date" in opps else pd.NaT)
    owner = opps["owner_id"].astype("string") if "owner_id" in opps else pd.Series(pd.NA, index=opps.index)
    owner = owner.reset_index(drop=True)
    out["owner_id"] = owner.astype(object).where(owner.notna(), None).to_numpy()
    ok = pd.Series(pd.NA, index=out.index, dtype="boolean")
    has = owner.notna().to_numpy(dtype=bool)
    for kind in ("user", "queue"):
        m = (out["target_kind"] == kind).to_numpy(dtype=bool) & has
        ok[m] = (owner[m] == out.loc[m, "target"].astype("string")).to_numpy(dtype=bool)
    for name in rules.teams:
        m = ((out["target_kind"] == "team") & (out["target"] == name)).to_numpy(dtype=bool) & has
        ok[m] = owner[m].isin(list(rules.members(name))).to_numpy(dtype=bool)
    out["misrouted"] = ~ok
    if where is not None and str(where).strip():
        keep = cut.rows("opportunities", where=where)["opportunity_id"]
        out = out[isin(out["opportunity_id"], keep)].reset_index(drop=True)
    out = out[OPPORTUNITY_AUDIT_COLUMNS]
    out.attrs["note"] = (
        "owners on the day; criteria judged on the values at creation "
        f"({from_history} deals' from their first history rows and field history)"
    )
    return out


def misroute_summary(audit: pd.DataFrame, *, by: str = "entry", confidence: float = 0.95) -> pd.DataFrame:
    """The misrouted share per entry (or team, or another audit column), with its Wilson interval.

    Parameters
    ----------
    audit : DataFrame
        From :func:`rule_audit`.
    by : str, default "entry"
        ``"entry"``, ``"team"`` (the leads sent to a team, by team), or another column of ``audit``.
    confidence : float, default 0.95
        Of the intervals.

    Returns
    -------
    DataFrame
        ``by``, ``leads`` (with a known first owner), ``misrouted``, ``misroute_share`` (+ ``_ci_low``,
        ``_ci_high``), then a row ``"all"`` over every lead counted.

    Examples
    --------
    >>> audit = pd.DataFrame({"entry": ["A", "A", "B", "B"], "target_kind": ["team"] * 4,
    ...     "target": ["T", "T", "U", "U"], "misrouted": pd.array([True, False, False, None], dtype="boolean")})
    >>> misroute_summary(audit)[["entry", "leads", "misrouted", "misroute_share"]].values.tolist()
    [['A', 2, 1, 0.5], ['B', 1, 0, 0.0], ['all', 3, 1, 0.3333333333333333]]
    """
    a = audit
    key = by
    if by == "team":
        a = audit[audit["target_kind"] == "team"].assign(team=lambda d: d["target"])
    if key not in a.columns:
        raise ValueError(f"misroute_summary: `by` must be 'entry', 'team' or a column of the audit, got {by!r}")
    known = a[a["misrouted"].notna()]
    flag = known["misrouted"].astype(bool).astype("int64")
    g = known.assign(_n=1, _m=flag.to_numpy()).groupby(key, sort=True).agg(leads=("_n", "sum"), misrouted=("_m", "sum"))
    g = g.reset_index()
    total = pd.DataFrame({key: ["all"], "leads": [int(len(known))], "misrouted": [int(flag.sum())]})
    g = pd.concat([g, total], ignore_index=True).astype({"leads": "int64", "misrouted": "int64"})
    return rate_table(g, successes="misrouted", trials="leads", name="misroute_share", confidence=confidence)
