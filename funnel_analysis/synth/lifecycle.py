"""Deleted and merged records: the extra rows an "export all" (``queryAll``) holds besides the org.

Every row planned here is an *extra* row with ``IsDeleted = true``, never a real record of the
simulated org, so removing them gives back exactly the org (the design of the quarantine rows):

- *deleted*: a copy of a real record (a deal, lead, contact, account, campaign member, task or
  event entered twice, then deleted), with a fresh Id;
- *child_of_deleted*: the history rows, tasks and events of a deleted deal, the campaign
  memberships and tasks of a deleted lead, a contact of a deleted account (copies of the source
  record's children created before the deletion, pointing at the deleted record);
- *merged*: a near-duplicate of a real lead, contact or account (the variations of
  :mod:`.duplicates`: a nickname or typo in the name, the e-mail's case, the phone in national
  format, the company's legal suffix) that Salesforce merged into it: ``MasterRecordId`` is the
  survivor's Id. One chain per object: A merged into B, then B into C.

Some kept records still reference a merged-away record (a task's WhoId, a campaign member's
LeadId or ContactId, an opportunity's or contact's AccountId): :func:`plan` draws which, and
:mod:`.extras` writes them; a loader must re-point them to the final survivor.

The plan is made in entity terms (indices into ``sim.lead``, ``sim.opp``, ...) from its own random
streams, so the real org's rows, Ids and defects are the same with or without these rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .arrowtext import _cat, _s_ts, _where
from .dirty import _phone_format
from .duplicates import _company_variants, _lead_company, _person_variants
from .model import _DAY
from .sim import _Sim
from .vocab import _LEAD_STATUS

#: share of the real records of each object copied as deleted records, and the least number
_DELETED = {
    "Account.csv": (0.005, 2),
    "Contact.csv": (0.01, 2),
    "Lead.csv": (0.01, 3),
    "Opportunity.csv": (0.01, 3),
    "CampaignMember.csv": (0.005, 2),
    "Task.csv": (0.005, 2),
    "Event.csv": (0.005, 2),
}
_P_DELETED_ACCOUNT_CONTACT = 0.5  # a deleted account takes a (deleted) contact with it
#: share of the real leads, contacts and accounts that absorbed a merged-away near-duplicate
_MERGED = dict(share=0.01, minimum=3, chains=1, p_phone_national=0.6, p_company_variant=0.4, shift_days=(1.0, 200.0))
#: kept references to a merged-away record: (file, column, probability per merged record)
_MERGE_REFS = {
    "Lead.csv": (("Task.csv", "who_id", 0.5), ("CampaignMember.csv", "lead_id", 0.4)),
    "Contact.csv": (
        ("Task.csv", "who_id", 0.3),
        ("Event.csv", "who_id", 0.3),
        ("CampaignMember.csv", "contact_id", 0.3),
    ),
    "Account.csv": (("Opportunity.csv", "account_id", 0.5), ("Contact.csv", "account_id", 0.3)),
}


@dataclass
class _Group:
    """Extra rows of one file that share a kind and a recipe."""

    file: str
    kind: str  # deleted | merged | child_of_deleted
    src: np.ndarray  # entity index (the file's entity order) of the real row each extra row copies
    created: np.ndarray  # seconds: where the row goes in the file (and a merged row's CreatedDate)
    stamp: np.ndarray  # seconds: when it was deleted or merged
    parent: str | None = None  # child_of_deleted: the key of the parent group ...
    parent_index: np.ndarray | None = None  # ... the parent row of each row ...
    parent_column: str | None = None  # ... and the column that points at it
    master: np.ndarray | None = None  # merged: entity index of the real survivor (the end of the chain)
    via: np.ndarray | None = None  # merged: index in this group of the record it was merged into, -1: the survivor
    overrides: dict = field(default_factory=dict)  # column -> Arrow strings (one per row)
    variation: np.ndarray | None = None
    ids: list | None = None  # the Ids, once allocated
    master_ids: list | None = None  # merged: the written MasterRecordId and the final survivor's Id
    survivor_ids: list | None = None
    table: str = ""  # merged: the canonical table, once the file is built

    @property
    def n(self) -> int:
        return len(self.src)


@dataclass
class _Ref:
    """Kept rows of ``file`` whose ``column`` points at merged-away records of ``group``."""

    file: str
    column: str
    group: str
    rows: np.ndarray  # entity index of the kept row (the file's entity order)
    index: np.ndarray  # index into the group


def _pick(rng, eligible: np.ndarray, share: float, minimum: int) -> np.ndarray:
    pool = np.flatnonzero(eligible)
    k = min(len(pool), max(minimum, int(round(share * len(eligible)))))
    return np.sort(rng.choice(pool, k, replace=False))


def _between(rng, lo, hi) -> np.ndarray:
    lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
    return lo + np.floor(rng.random(len(lo)) * np.maximum(hi - lo, 1)).astype(np.int64)


def _cluster_members(sim: _Sim, table: str, n: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    for c in sim.clusters:
        if c["table"] == table:
            mask[c["orig"]] = True
    return mask


def _children(parent_src, parent_stamp, child_parent, child_created):
    """Children (entity index, index of their parent) of parents ``parent_src`` created before its deletion."""
    look = np.full(int(max(child_parent.max(initial=0), parent_src.max(initial=0))) + 2, -1, np.int64)
    look[parent_src] = np.arange(len(parent_src))
    cp = np.where(child_parent >= 0, child_parent, len(look) - 1)
    j = look[cp]
    idx = np.flatnonzero(j >= 0)
    j = j[idx]
    keep = child_created[idx] < parent_stamp[j]
    return idx[keep], j[keep]


def plan(sim: _Sim, rng_deleted, rng_merged, *, deleted: bool, merged: bool, bound: int) -> tuple[dict, list]:
    """The extra rows of every file (groups by key) and the kept references to merged-away records.

    ``bound``: deletions and merges happen before it (the latest live timestamp of the org).
    """
    groups: dict[str, _Group] = {}
    refs: list[_Ref] = []
    young = bound - 30 * _DAY
    if deleted:
        _plan_deleted(sim, rng_deleted, groups, young, bound)
    if merged:
        _plan_merged(sim, rng_merged, groups, refs, young, bound)
    return groups, refs


def _plan_deleted(sim: _Sim, rng, groups: dict, young: int, bound: int) -> None:
    A, C, L, O, H, M, T, E = sim.acct, sim.contact, sim.lead, sim.opp, sim.hist, sim.member, sim.task, sim.event

    def deleted_copies(file, eligible, created, life_end):
        share, minimum = _DELETED[file]
        src = _pick(rng, eligible & (life_end < young), share, minimum)
        stamp = _between(rng, np.maximum(life_end[src], created[src]) + 3600, np.full(len(src), bound))
        groups[f"{file}:deleted"] = _Group(file, "deleted", src, created[src], stamp)
        return groups[f"{file}:deleted"]

    # accounts, and one of their contacts
    g_acct = deleted_copies("Account.csv", ~_cluster_members(sim, "accounts", A["n"]), A["created"], A["created"])
    real_c = np.arange(C["n"])
    idx, j = _children(g_acct.src, g_acct.stamp, C["account"], C["created"])
    if len(idx):
        by_parent = np.lexsort((idx, j))
        idx, j = idx[by_parent], j[by_parent]
        take = rng.random(len(g_acct.src)) < _P_DELETED_ACCOUNT_CONTACT
        take[j[0]] = True
        first = np.r_[True, j[1:] != j[:-1]]  # one contact per deleted account
        sel = first & take[j]
        idx, j = idx[sel], j[sel]
        groups["Contact.csv:child"] = _Group(
            "Contact.csv",
            "child_of_deleted",
            real_c[idx],
            C["created"][idx],
            g_acct.stamp[j],
            "Account.csv:deleted",
            j,
            "account_id",
        )
    deleted_copies("Contact.csv", ~_cluster_members(sim, "contacts", C["n"]), C["created"], C["created"])

    # opportunities with their history, tasks and events
    special = O["missing_amount"] | O["imported"]
    g_opp = deleted_copies("Opportunity.csv", ~special, O["created"], O["last_time"])
    for file, parent, created, col in (
        ("OpportunityHistory.csv", H["opp"], H["time"], "opportunity_id"),
        ("Task.csv", T["what_opp"], T["created"], "what_id"),
        ("Event.csv", E["what_opp"], E["created"], "what_id"),
    ):
        idx, j = _children(g_opp.src, g_opp.stamp, parent, created)
        groups[f"{file}:child_opp"] = _Group(
            file, "child_of_deleted", idx, created[idx], g_opp.stamp[j], "Opportunity.csv:deleted", j, col
        )

    # leads (never converted ones: a copy of a converted lead would claim its deal) with memberships and tasks
    eligible = ~L["converted"] & ~_cluster_members(sim, "leads", L["n"])
    g_lead = deleted_copies("Lead.csv", eligible, L["created"], L["created"])
    for file, parent, created, col in (
        ("CampaignMember.csv", M["lead"], M["created"], "lead_id"),
        ("Task.csv", T["who_lead"], T["created"], "who_id"),
    ):
        idx, j = _children(g_lead.src, g_lead.stamp, parent, created)
        groups[f"{file}:child_lead"] = _Group(
            file, "child_of_deleted", idx, created[idx], g_lead.stamp[j], "Lead.csv:deleted", j, col
        )

    # campaign members, tasks and events removed on their own
    deleted_copies("CampaignMember.csv", np.ones(M["n"], bool), M["created"], M["created"])
    deleted_copies("Task.csv", np.ones(T["n"], bool), T["created"], T["created"])
    deleted_copies("Event.csv", np.ones(E["n"], bool), E["created"], E["created"])


def _merge_times(rng, created_master, bound):
    """Creation of a near-duplicate and the time it was merged into its master."""
    k = len(created_master)
    lo_d, hi_d = _MERGED["shift_days"]
    shift = (rng.uniform(lo_d, hi_d, k) * _DAY).astype(np.int64)
    created = created_master + shift
    created = np.where(created < bound - 5 * _DAY, created, created_master - shift)
    stamp = _between(rng, np.maximum(created, created_master) + 3600, np.full(k, bound))
    return created, stamp


def _plan_merged(sim: _Sim, rng, groups: dict, refs: list, young: int, bound: int) -> None:
    A, C, L, O, M, T, E = sim.acct, sim.contact, sim.lead, sim.opp, sim.member, sim.task, sim.event
    for file, table, ent in (("Account.csv", "accounts", A), ("Contact.csv", "contacts", C), ("Lead.csv", "leads", L)):
        n = ent["n"]
        eligible = ~_cluster_members(sim, table, n) & (ent["created"] < young)
        for key in (f"{file}:deleted", f"{file}:child"):
            if key in groups:
                eligible[groups[key].src] = False
        masters = _pick(rng, eligible, _MERGED["share"], _MERGED["minimum"] + _MERGED["chains"])
        chain_masters = masters[rng.choice(len(masters), _MERGED["chains"], replace=False)]
        direct = np.setdiff1d(masters, chain_masters)
        # the chains: B merged into C, A merged into B (A before B)
        master = np.concatenate([direct, np.repeat(chain_masters, 2)])
        k, kd = len(master), len(direct)
        via = np.full(k, -1, np.int64)
        via[kd + 1 :: 2] = np.arange(kd, k, 2)
        created, stamp = _merge_times(rng, ent["created"][master], bound)
        b, a = np.arange(kd, k, 2), np.arange(kd + 1, k, 2)
        # A: created before B was merged, merged into B before B was merged into C
        created[a] = np.minimum(created[a], stamp[b] - 2 * 3600)
        stamp[a] = _between(rng, np.maximum(created[a], created[b]) + 600, stamp[b])
        g = _Group(file, "merged", master, created, stamp, master=master, via=via)
        _merged_fields(sim, rng, g, table)
        groups[f"{file}:merged"] = g

        # kept references to the merged-away records
        used: dict[tuple[str, str], set] = {}
        for ref_file, column, p in _MERGE_REFS[file]:
            parent = {
                ("Task.csv", "who_id", "Lead.csv"): T["who_lead"],
                ("CampaignMember.csv", "lead_id", "Lead.csv"): M["lead"],
                ("Task.csv", "who_id", "Contact.csv"): T["who_contact"],
                ("Event.csv", "who_id", "Contact.csv"): E["who_contact"],
                ("CampaignMember.csv", "contact_id", "Contact.csv"): M["contact"],
                ("Opportunity.csv", "account_id", "Account.csv"): O["account"],
                ("Contact.csv", "account_id", "Account.csv"): C["account"],
            }[(ref_file, column, file)]
            # candidates: the kept rows of the survivor, one drawn per merged record
            order = np.argsort(parent, kind="stable")
            sorted_parent = parent[order]
            lo = np.searchsorted(sorted_parent, master, side="left")
            hi = np.searchsorted(sorted_parent, master, side="right")
            has = hi > lo
            want = has & (rng.random(k) < p)
            want[a[has[a]]] = True  # the head of each chain is referenced when it can be
            if has.any() and not want.any():
                want[np.flatnonzero(has)[0]] = True
            pick = lo + np.floor(rng.random(k) * np.maximum(hi - lo, 1)).astype(np.int64)
            rows = order[np.minimum(pick, len(order) - 1)]
            taken = used.setdefault((ref_file, column), set())
            sel = []
            for i in np.flatnonzero(want):  # a kept row references one merged-away record at most
                if int(rows[i]) not in taken:
                    taken.add(int(rows[i]))
                    sel.append(i)
            if sel:
                sel = np.array(sel)
                refs.append(_Ref(ref_file, column, f"{file}:merged", rows[sel], sel))


def _merged_fields(sim: _Sim, rng, g: _Group, table: str) -> None:
    """The fields a merged-away near-duplicate shows instead of its master's (names, e-mail, phone, ...)."""
    co, m, k = sim.co, g.master, g.n
    if table == "accounts":
        A = sim.acct
        comp = A["comp"][m]
        name, variation = _company_variants(sim, rng, comp, force=True)
        dom = co["domain"].take(pa.array(comp))
        wk = rng.choice(3, k)
        website = _where(wk == 0, dom, _where(wk == 1, _cat("http://www.", dom, "/"), _cat("https://", dom)))
        phone = sim.phone_str(co["city"][comp], co["phone_num"][comp], A["has_phone"][m])
        country = co["country"][comp]
        g.overrides.update(name=name, website=website, type=pa.array(["Prospect"] * k, pa.string()))
        variation = variation.astype(object)
    else:
        P = sim.contact if table == "contacts" else sim.lead
        comp = P["comp"][m]
        local = sim.email_local(P["first"][m], P["last"][m], P["pattern"][m])
        first, last, name, email, variation = _person_variants(
            sim,
            rng,
            P["first"][m],
            P["last"][m],
            P["is_zh"][m],
            local,
            co["domain"].take(pa.array(comp)),
            P["has_email"][m],
        )
        phone = sim.phone_str(P["phone_city"][m], P["phone_num"][m], P["has_phone"][m])
        country = P["country"][m]
        g.overrides.update(first_name=first, last_name=last, name=name, email=email)
        variation = variation.astype(object)
        if table == "leads":
            L = sim.lead
            company_v, cvar = _company_variants(sim, rng, comp)
            use = rng.random(k) < _MERGED["p_company_variant"]
            g.overrides["company"] = _where(use, company_v, _lead_company(sim, m))
            variation = np.where(use, variation + "+" + cvar.astype(object), variation)
            status = np.where(L["status"][m] == 2, 0, L["status"][m])  # merged-away leads were never converted
            labels = getattr(sim, "lead_status_of_default", _LEAD_STATUS)  # custom statuses (the shapes option)
            g.overrides["status"] = pa.array([labels[s] for s in status], pa.string())
            g.overrides["is_converted"] = pa.array(["false"] * k, pa.string())
            for col in ("converted_date", "converted_account_id", "converted_contact_id", "converted_opportunity_id"):
                g.overrides[col] = pa.nulls(k, pa.string())
    # the phone as typed at home, some of the time
    e164 = phone.to_pylist()
    national = rng.random(k) < _MERGED["p_phone_national"]
    has_phone = np.array([v is not None for v in e164])
    if has_phone.any() and not (national & has_phone).any():
        national[np.flatnonzero(has_phone)[0]] = True  # every object shows the variation at least once
    styles = rng.integers(0, 1000, k)
    iso = sim.c_iso[country]
    out = []
    for i, v in enumerate(e164):
        if v is not None and national[i]:
            out.append(_phone_format(v, str(iso[i]), int(styles[i])))
            variation[i] = variation[i] + "+phone_national"
        else:
            out.append(v)
    g.overrides["phone"] = pa.array(out, pa.string())
    g.overrides["created_date"] = _s_ts(g.created)
    g.variation = np.asarray(variation, dtype=str)
