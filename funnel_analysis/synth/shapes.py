"""The org shapes of issue 16: custom lead statuses, queues, contact roles, custom fields, field history.

Each shape is an option of :func:`~funnel_analysis.synth.generate_sample` (``field_history``,
``lead_statuses``, ``queues``, ``contact_roles``, ``custom_fields``, ``joined_source``). They draw from
random streams of their own (spawn key 1016, never used by the org's streams or the deleted/merged/
currency options), so with every shape off the export is byte for byte the one before them, and a
shape changes only the files it is about:

- ``lead_statuses``: ``LeadStatus.csv`` with custom statuses (New, Attempting Contact, Nurture,
  Qualified, Converted, Disqualified), used by ``Lead.csv`` and ``LeadHistory.csv``;
- ``queues``: ``Group.csv`` (one lead queue per region, ``00G`` Ids, and one Regular group) and
  ``GroupMember.csv``; some web leads are created owned by their region's queue and picked up by an
  SDR later (an Owner change), a few are still in a queue at the extract;
- ``contact_roles``: ``OpportunityContactRole.csv``: 1 to 4 contacts of the deal's account, one
  primary (the converted lead's contact when there is one); some deals have none;
- ``custom_fields``: Lead ``Zip__c`` (text, leading zeros kept), ``Lead_Score__c`` (double),
  Opportunity ``Budget_Confirmed__c`` (boolean, a stage gate), ``Discount__c`` (percent), ``ARR__c``
  (currency), and ``Lead.describe.json`` / ``Opportunity.describe.json`` (Salesforce's describe
  shape, one entry per column of the CSV);
- ``field_history``: ``LeadHistory.csv`` and ``OpportunityFieldHistory.csv`` (:mod:`.history`);
- ``joined_source``: the same org as a CRM that keeps conversions in a second file (:mod:`.joined`).

The lead's status over time is drawn here (the simulation knows the creation, working, conversion and
disqualification of each lead; the time a lead started to be worked and its Nurture or Qualified steps
are drawn from the shapes' own stream), so Lead.csv, LeadHistory.csv and the truth agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from .arrowtext import _STR, _id_ref, _pool, _s_bool, _s_money, _s_ts, _sf_ids, _take, _where
from .currency import local_money
from .export import _File
from .extras import _live_bound
from .model import (
    _CONTACT_ROLES,
    _CUSTOM_FIELDS,
    _CUSTOM_LEAD_STATUSES,
    _DAY,
    _FIELD_HISTORY,
    _LEAD_SOURCES,
    _N_OPEN,
    _QUEUES,
    _SHAPE_ID_PREFIX,
)
from .sim import _lognormal, _Sim
from .vocab import _LEAD_STATUS, _REGIONS

#: the custom status code (index into _CUSTOM_LEAD_STATUSES) of each simulated default status
_CODE_OF_DEFAULT = np.array([0, 1, 4, 5])
_NEW, _ATTEMPTING, _NURTURE, _QUALIFIED, _CONVERTED, _DISQUALIFIED = range(6)
#: ZIP-like postal codes by ISO country: number of digits (other countries: no Zip__c)
_ZIP_DIGITS = {"US": 5, "DE": 5, "FR": 5, "ES": 5, "IT": 5, "MX": 5, "IN": 6, "CN": 6, "AU": 4, "NL": 4, "BR": 8}


def set_status_labels(sim: _Sim, custom: bool) -> None:
    """The Lead.Status labels of the run (``sim.lead_status_labels``, by custom code) and the label of
    each simulated default status (``sim.lead_status_of_default``), read by :mod:`.lifecycle`."""
    if custom:
        labels = [s[0] for s in _CUSTOM_LEAD_STATUSES]
    else:
        labels = [_LEAD_STATUS[s[4]] for s in _CUSTOM_LEAD_STATUSES]
    sim.lead_status_labels = labels
    sim.lead_status_of_default = [labels[c] for c in _CODE_OF_DEFAULT]


class _Shapes:
    """State of the org shapes over one run: the drawn facts, the extra columns, the new files."""

    def __init__(self, sim: _Sim, extras, **options: bool):
        self.sim, self.extras = sim, extras
        self.options = options
        for key, value in options.items():
            setattr(self, key, value)
        names = ("leads", "opps", "roles", "custom", "joined", "ids")
        seqs = np.random.SeedSequence(sim.seed, spawn_key=(1016,)).spawn(len(names))
        self.rng = {k: np.random.default_rng(s) for k, s in zip(names, seqs)}
        self.bound = _live_bound(sim)  # every drawn time is before it (so before the extract time)
        self.counter_next: dict[str, int] = {}
        self.nU = sim.users["n"]
        self.n_queues = len(_REGIONS)
        self.lead = None  # the lead timelines, drawn with Lead.csv
        self._opp_owners()
        self.files: dict[str, pa.Table] = {}
        self.truth: dict[str, object] = {}
        self.truth_frames: dict = {}

    # -- identifiers -----------------------------------------------------------------
    def new_ids(self, kind: str, n: int) -> pa.Array:
        """Increasing Ids of one object (its own counter, started from the shapes' stream)."""
        key = _SHAPE_ID_PREFIX[kind]
        start = self.counter_next.get(key)
        if start is None:
            start = int(self.rng["ids"].integers(62**5, 3 * 62**5)) + self.sim.id_base
        counters = start + np.cumsum(self.rng["ids"].integers(1, 4, n))
        self.counter_next[key] = int(counters[-1]) + 1 if n else start
        return _sf_ids(key, self.sim.pod, counters)

    # -- owners of deals ---------------------------------------------------------------
    def _opp_owners(self) -> None:
        """Deals first owned by the converting SDR or another AE, handed to their owner later."""
        sim, rng, FH = self.sim, self.rng["opps"], _FIELD_HISTORY
        O, L, A = sim.opp, sim.lead, sim.acct
        n = O["n"]
        life = O["last_time"] - O["created"]
        long_enough = life > 2 * _DAY
        from_sdr = (O["lead"] >= 0) & long_enough & (rng.random(n) < FH["p_opp_from_sdr"])
        sdr = np.where(O["lead"] >= 0, L["owner"][np.maximum(O["lead"], 0)], -1)
        from_sdr &= sdr != O["owner"]
        u = rng.random(n)
        region = A["region"][O["account"]]
        other_ae = np.full(n, -1, np.int64)
        for r, members in enumerate(sim.ae_by_region):
            m = region == r
            if len(members) > 1:
                pick = members[np.floor(rng.random(m.sum()) * len(members)).astype(np.int64)]
                other_ae[m] = pick
        reassigned = ~from_sdr & long_enough & (u < FH["p_opp_reassigned"]) & (other_ae >= 0) & (other_ae != O["owner"])
        t_sdr = O["created"] + (rng.uniform(1.0, 48.0, n) * 3600).astype(np.int64)
        t_re = O["created"] + (rng.uniform(0.2, 0.8, n) * life).astype(np.int64)
        t = np.where(from_sdr, t_sdr, np.where(reassigned, t_re, -1))
        t = np.where(t >= O["last_time"], O["created"] + life // 2, t)
        first = np.where(from_sdr, sdr, np.where(reassigned, other_ae, O["owner"]))
        self.opp_owner = dict(first=first, final=O["owner"].copy(), t=np.where(from_sdr | reassigned, t, -1))

    # -- per file ------------------------------------------------------------------------
    def prepare(self, name: str, f: _File) -> None:
        """Change or add the columns of one export file (before the other options and the defects)."""
        if name == "Opportunity.csv":
            self.opp_names, self.opp_file_order = f.columns["name"], f.meta["order"]
            if self.custom_fields:
                self._opp_custom(f)
                if self.routing and self.field_history:  # the stage criteria's fields, known at entry
                    from .routing import _NEXT_STEPS, stage_gates

                    g = self.gates = stage_gates(self.sim.routing, self.bound)
                    o = f.meta["order"]
                    f.columns["NextStep"] = _take(_pool(_NEXT_STEPS), g["text"][o], g["t_ns"][o] >= 0)
                    f.columns["Budget_Confirmed__c"] = _s_bool(g["t_bc"][o] >= 0)
        elif name == "Lead.csv":
            self._lead_timelines(f)
            o, cols = f.meta["order"], f.columns
            self.lead_file_order = o
            self.lead_cols = {k: cols[k] for k in ("email", "first_name", "last_name", "company")}
            tl = self.lead
            if self.lead_statuses:
                cols["status"] = _take(_pool(self.sim.lead_status_labels), tl["final_code"][o])
            if self.queues:
                held = tl["final_owner"][o] >= self.nU
                if held.any():
                    q = np.where(held, tl["final_owner"][o] - self.nU, 0)
                    cols["owner_id"] = _where(held, _take(self.queue_ids, q), cols["owner_id"])
            if self.custom_fields:
                self._lead_custom(f)
            if self.field_history or self.queues:
                self.sim.lead_last_change = tl["last_change"]

    # -- leads ---------------------------------------------------------------------------
    def _lead_timelines(self, f: _File) -> None:
        """Status and owner of every lead (real and duplicate) over time, in entity order.

        ``ev_t``/``ev_code`` (n, 3): up to three status changes (-1: none) after ``init_code`` at
        creation; ``first_owner``/``final_owner`` (users, then queues from ``nU``) and ``t_owner``
        (the one owner change, -1: none).
        """
        sim, rng, FH, Q = self.sim, self.rng["leads"], _FIELD_HISTORY, _QUEUES
        L, D = sim.lead, sim.lead_dups
        nL, nD = L["n"], D["n"]
        n = nL + nD
        c = np.asarray(f.meta["created"], np.int64)
        cbc = np.zeros(n, bool)
        cbc[f.meta["cbc"]] = True
        s = np.concatenate([L["status"], D["status"]])
        src = np.concatenate([np.arange(nL), D["src"]])
        region = L["region"][src]
        source = np.concatenate([L["source"], D["source"]])
        owner = np.concatenate([L["owner"], D["owner"]])
        bound = self.bound
        end = np.full(n, -1, np.int64)
        end[:nL] = np.where(L["status"] == 2, L["conv_t"], np.where(L["status"] == 3, L["life_end"], -1))
        dup_disq = np.flatnonzero(s[nL:] == 3) + nL
        hi = np.minimum(c[dup_disq] + 60 * _DAY, bound - 1)
        end[dup_disq] = (
            c[dup_disq] + 2 * 3600 + (rng.random(len(dup_disq)) * np.maximum(hi - c[dup_disq] - 2 * 3600, 1))
        )
        end = np.where(end >= 0, np.minimum(end, bound - 1), -1)
        closed = (s >= 2) & ~cbc
        lim = np.where(closed, end, bound - 1)
        worked = (s >= 1) & ~cbc
        t_w = c + np.maximum((_lognormal(rng, FH["working_median_hours"], FH["working_sigma"], n) * 3600), 60).astype(
            np.int64
        )
        t_w = np.where(closed, np.minimum(t_w, c + (lim - c) // 2), np.where(t_w >= lim, c + (lim - c) // 2, t_w))
        t_w = np.maximum(t_w, c + 1)
        # the middle step: Qualified before a conversion, Nurture for some working or disqualified leads
        u = rng.random(n)
        t_mid = t_w + 1 + (rng.random(n) * np.maximum(lim - t_w - 2, 1)).astype(np.int64)
        tie = (s == 2) & ~cbc & (rng.random(n) < FH["p_same_second_qualified"])
        cand = np.flatnonzero((s == 2) & ~cbc)
        if len(cand) and tie.sum() < FH["min_same_second"]:
            tie[cand[: FH["min_same_second"]]] = True
        t_mid = np.where(tie, end, t_mid)
        t_w = np.where(tie, end, t_w)  # the tie: every step of the conversion written in one second
        age = (sim.t1 - c) / _DAY
        nurture_w = (s == 1) & (age > 30) & (u < FH["p_nurture_working"])
        nurture_d = (s == 3) & ~cbc & (u < FH["p_nurture_disqualified"])
        mid_code = np.where(s == 2, _QUALIFIED, _NURTURE)
        has_mid = ((s == 2) & ~cbc) | nurture_w | nurture_d
        ev_t = np.full((n, 3), -1, np.int64)
        ev_code = np.full((n, 3), -1, np.int64)
        ev_t[:, 0] = np.where(worked, t_w, -1)
        ev_code[:, 0] = np.where(worked, _ATTEMPTING, -1)
        ev_t[:, 1] = np.where(has_mid, t_mid, -1)
        ev_code[:, 1] = np.where(has_mid, mid_code, -1)
        ev_t[:, 2] = np.where(closed, end, -1)
        ev_code[:, 2] = np.where(closed, np.where(s == 2, _CONVERTED, _DISQUALIFIED), -1)
        init_code = np.where(cbc, _CONVERTED, _NEW)
        final_code = np.where(cbc, _CONVERTED, _CODE_OF_DEFAULT[s])
        final_code = np.where(nurture_w, _NURTURE, final_code)

        route = getattr(sim, "routing", None)
        if route is not None:  # the routing's first touch is the first step of the work
            worked = route.touched & ~cbc
            t_w = np.where(worked & ~tie, route.touch, t_w)  # a tie: every status step in the conversion's second
            t_mid = np.where(worked & (t_mid <= t_w), t_w + 1, t_mid)
            end = np.where((end >= 0) & worked & ~tie, np.maximum(end, t_w + 2), end)
            closed = (s >= 2) & ~cbc
            ev_t[:, 0] = np.where(worked, t_w, -1)
            ev_code[:, 0] = np.where(worked, _ATTEMPTING, -1)
            ev_t[:, 1] = np.where(has_mid, np.where(tie, end, np.maximum(t_mid, np.where(worked, t_w + 1, c + 1))), -1)
            ev_t[:, 2] = np.where(closed, end, -1)
        # owners: queued leads picked up by their SDR, a few reassigned between SDRs
        first_owner, final_owner = owner.copy(), owner.copy()
        t_owner = np.full(n, -1, np.int64)
        in_queue = np.zeros(n, bool)
        if route is not None:
            queued = route.queued & ~cbc
            first_owner = np.where(queued, self.nU + region, route.first)
            first_owner = np.where(cbc, owner, first_owner)
            in_queue = route.in_queue & ~cbc & (s == 0)  # still New in the queue at the extract
            final_owner = np.where(in_queue, self.nU + region, np.where(cbc, owner, route.final))
            # a queued lead disqualified untouched: taken from the queue by the rep who disqualified it
            pick = np.where(route.in_queue & (s == 3), np.maximum(c + 60, end - 600), route.pick)
            t_owner = np.where(queued & ~in_queue, pick, np.where(route.reassigned & ~cbc, route.t_re, -1))
            self.queued = queued
        elif self.queues:
            q_src = np.isin(
                np.arange(len(_LEAD_SOURCES)), [i for i, x in enumerate(_LEAD_SOURCES) if x[0] in Q["sources"]]
            )
            queued = q_src[source] & ~cbc & (rng.random(n) < Q["p_queued"])
            pick = c + np.maximum(_lognormal(rng, Q["pickup_median_hours"], Q["pickup_sigma"], n) * 3600, 60).astype(
                np.int64
            )
            pick = np.where(worked, np.minimum(pick, t_w), pick)  # picked up before (or as) it is worked
            never = rng.random(n) < Q["p_never_picked"]
            in_queue = queued & (s == 0) & ((pick >= bound) | never)
            open_queued = np.flatnonzero(queued & (s == 0))
            if in_queue.sum() < Q["min_in_queue"] and len(open_queued):
                latest = open_queued[np.argsort(-c[open_queued], kind="stable")[: Q["min_in_queue"]]]
                in_queue[latest] = True
            first_owner = np.where(queued, self.nU + region, first_owner)
            final_owner = np.where(in_queue, self.nU + region, final_owner)
            t_owner = np.where(queued & ~in_queue, pick, -1)
            self.queued = queued
        else:
            self.queued = np.zeros(n, bool)
        other = np.full(n, -1, np.int64)
        for r, members in enumerate(sim.sdr_by_region):
            m = region == r
            if len(members) > 1:
                other[m] = members[np.floor(rng.random(m.sum()) * len(members)).astype(np.int64)]
        first_event = np.where(worked, t_w, bound - 1)
        re = (
            (route is None)
            & ~self.queued
            & ~cbc
            & (other >= 0)
            & (other != owner)
            & (first_event - c > 2 * 3600)
            & (rng.random(n) < _FIELD_HISTORY["p_lead_reassigned"])
        )
        t_re = c + 1 + (rng.random(n) * (first_event - c - 1)).astype(np.int64)
        first_owner = np.where(re, other, first_owner)
        t_owner = np.where(re, t_re, t_owner)
        last_change = np.maximum(ev_t.max(axis=1), t_owner)
        self.lead = dict(
            n=n,
            created=c,
            src=src,
            region=region,
            cbc=cbc,
            init_code=init_code,
            final_code=final_code,
            ev_t=ev_t,
            ev_code=ev_code,
            first_owner=first_owner,
            final_owner=final_owner,
            t_owner=t_owner,
            in_queue=in_queue,
            tie=tie,
            last_change=np.maximum(last_change, c),
        )

    def merged_timelines(self, g) -> dict:
        """Timelines of the merged-away leads of group ``g`` (created, merged at ``g.stamp``): their status
        (the survivor's, never converted) reached before the merge; their owner the survivor's."""
        L, rng = self.sim.lead, self.rng["leads"]
        k = g.n
        s = np.where(L["status"][g.master] == 2, 0, L["status"][g.master])
        c, stamp = g.created, g.stamp
        span = np.maximum(stamp - c, 3)
        t_w = c + 1 + (rng.random(k) * (span // 2)).astype(np.int64)
        t_d = t_w + 1 + (rng.random(k) * np.maximum(stamp - t_w - 2, 1)).astype(np.int64)
        ev_t = np.full((k, 3), -1, np.int64)
        ev_code = np.full((k, 3), -1, np.int64)
        ev_t[:, 0] = np.where(s >= 1, t_w, -1)
        ev_code[:, 0] = np.where(s >= 1, _ATTEMPTING, -1)
        ev_t[:, 2] = np.where(s == 3, t_d, -1)
        ev_code[:, 2] = np.where(s == 3, _DISQUALIFIED, -1)
        owner = self.lead["final_owner"][g.master]
        return dict(
            n=k,
            created=c,
            init_code=np.zeros(k, np.int64),
            ev_t=ev_t,
            ev_code=ev_code,
            first_owner=owner,
            final_owner=owner,
            t_owner=np.full(k, -1, np.int64),
            region=self.lead["region"][g.master],
        )

    # -- queues and groups ------------------------------------------------------------------
    @property
    def queue_ids(self) -> pa.Array:
        if not hasattr(self, "_queue_ids"):
            self._queue_ids = self.new_ids("groups", self.n_queues + 1)
        return self._queue_ids.slice(0, self.n_queues)

    def queue_names(self) -> list[str]:
        return [f"{r} Inbound Leads" for r in _REGIONS]

    def group_files(self) -> None:
        sim = self.sim
        _ = self.queue_ids  # allocates the Regular group's Id too
        group_ids = self._queue_ids
        names = self.queue_names() + ["Sales Managers"]
        dev = [n.replace(" ", "_") for n in names]
        self.files["Group.csv"] = pa.table(
            {
                "Id": group_ids,
                "Name": _pool(names),
                "DeveloperName": _pool(dev),
                "Type": _pool(["Queue"] * self.n_queues + ["Regular"]),
                "Email": pa.nulls(len(names), _STR),
            }
        )
        g_idx, u_idx = [], []
        for r, members in enumerate(sim.sdr_by_region):
            g_idx += [r] * len(members)
            u_idx += list(members)
        g_idx += [self.n_queues] * len(sim.managers)
        u_idx += list(sim.managers)
        self.files["GroupMember.csv"] = pa.table(
            {
                "Id": self.new_ids("group_members", len(g_idx)),
                "GroupId": group_ids.take(pa.array(np.asarray(g_idx, np.int64))),
                "UserOrGroupId": _id_ref(sim.ids["users"], np.asarray(u_idx, np.int64)),
            }
        )

    def owner_pools(self):
        """Owner Ids and names by owner code (users, then queues): the values of Owner history rows."""
        sim = self.sim
        user_ids = pa.array(sim.ids["users"].astype(str).tolist(), _STR)
        ids = pa.concat_arrays([user_ids, self.queue_ids]) if self.queues else user_ids
        names = pa.concat_arrays([sim.users["name"], _pool(self.queue_names())]) if self.queues else sim.users["name"]
        return ids, names

    # -- lead statuses ------------------------------------------------------------------------
    def lead_status_file(self) -> None:
        S = _CUSTOM_LEAD_STATUSES
        labels = [s[0] for s in S]
        self.files["LeadStatus.csv"] = pa.table(
            {
                "Id": self.new_ids("lead_statuses", len(S)),
                "MasterLabel": _pool(labels),
                "ApiName": _pool(labels),
                "SortOrder": pa.array([s[1] for s in S]).cast(_STR),
                "IsConverted": _s_bool([s[2] for s in S]),
                "IsDefault": _s_bool([s[3] for s in S]),
            }
        )

    # -- custom fields ------------------------------------------------------------------------
    def _lead_custom(self, f: _File) -> None:
        sim, rng, CF = self.sim, self.rng["custom"], _CUSTOM_FIELDS
        L = sim.lead
        n, src = f.n, f.meta["src"]
        iso = sim.c_iso[L["country"][src]]
        digits = np.array([_ZIP_DIGITS.get(str(x), 0) for x in iso])
        value = np.floor(rng.random(n) * 10.0**digits).astype(np.int64)
        value = np.maximum(value, np.where(digits == 5, 501, 1))
        has = (digits > 0) & (rng.random(n) < CF["p_zip"])
        us = np.flatnonzero(has & (iso == "US"))
        value[us[: CF["n_zip_00501"]]] = 501
        text = [str(v).zfill(int(d)) if h else None for v, d, h in zip(value.tolist(), digits.tolist(), has.tolist())]
        f.columns["Zip__c"] = pa.array(text, _STR)
        # a score with signal: the true conversion probability's percentile, blurred
        p = L["p_convert"][src]
        rank = np.argsort(np.argsort(p, kind="stable"), kind="stable") / max(len(p) - 1, 1)
        score = np.clip(np.round(100 * rank + 12 * rng.standard_normal(n), 1), 0, 100)
        has_score = rng.random(n) < CF["p_score"]
        if "score" in L:  # routing: the score drawn before the speed and the conversion it drives
            score, has_score = L["score"][src], L["has_score"][src]
        f.columns["Lead_Score__c"] = pa.array([f"{v:.1f}" if h else None for v, h in zip(score, has_score)], _STR)

    def _opp_custom(self, f: _File) -> None:
        sim, rng, CF = self.sim, self.rng["custom"], _CUSTOM_FIELDS
        O, H = sim.opp, sim.hist
        o, n = f.meta["order"], O["n"]
        # the furthest open stage each deal reached (won deals passed every gate)
        reached = np.full(n, -1, np.int64)
        open_rows = H["stage"] < _N_OPEN
        np.maximum.at(reached, H["opp"][open_rows], H["stage"][open_rows])
        budget = (reached >= CF["budget_confirmed_from_stage"]) | O["is_won"]
        # the discount given on signature: the last history row's amount against the row before
        order = np.lexsort((H["time"], H["opp"]))
        h_opp, h_amount = H["opp"][order], H["amount"][order]
        last = np.r_[h_opp[1:] != h_opp[:-1], True]
        prev_amount = np.full(n, np.nan)
        has_prev = last & np.r_[False, h_opp[1:] == h_opp[:-1]]
        idx = np.flatnonzero(has_prev)
        prev_amount[h_opp[idx]] = h_amount[idx - 1]
        final = O["amount"]
        disc = np.where(np.isfinite(prev_amount) & (final < prev_amount), 100 * (1 - final / prev_amount), 0.0)
        disc = np.round(disc, 1)
        factor = self.extras.opp_factor if self.extras is not None else np.ones(n)
        years = rng.choice(3, n, p=CF["contract_years_weights"]) + 1
        arr = local_money(final, factor) / years
        cols = f.columns
        cols["Budget_Confirmed__c"] = _s_bool(budget[o])
        won = O["is_won"][o]
        cols["Discount__c"] = pa.array([f"{v:.1f}" if w else None for v, w in zip(disc[o], won)], _STR)
        cols["ARR__c"] = _s_money(arr[o])

    def describe(self, out: Path, headers: dict) -> None:
        """``Lead.describe.json`` and ``Opportunity.describe.json``: one field per column written."""
        types = {
            "id": "id",
            "str": "string",
            "picklist": "picklist",
            "bool": "boolean",
            "datetime": "datetime",
            "date": "date",
            "float": "double",
            "int": "int",
            "email": "email",
            "phone": "phone",
        }
        custom = {
            "Zip__c": ("string", "Zip"),
            "Lead_Score__c": ("double", "Lead Score"),
            "Budget_Confirmed__c": ("boolean", "Budget Confirmed"),
            "Discount__c": ("percent", "Discount"),
            "ARR__c": ("currency", "ARR"),
            "Region__c": ("picklist", "Region"),
        }
        money = {"Amount", "AnnualRevenue", "ExpectedRevenue"}
        from ..crm.schema import TABLES

        for sf_object, table, file in (
            ("Lead", "leads", "Lead.csv"),
            ("Opportunity", "opportunities", "Opportunity.csv"),
        ):
            fields = []
            for col, head in headers[file]:
                if head in custom:
                    kind, label = custom[head]
                    fields.append(dict(name=head, type=kind, label=label, custom=True))
                    continue
                spec = TABLES[table].column(col)
                kind = "string" if spec is None else types.get(spec.kind, "string")
                if spec is not None and spec.kind == "id" and head != "Id":
                    kind = "reference"
                if head in money:
                    kind = "currency"
                if head == "Probability":
                    kind = "percent"
                label = "".join(" " + ch if ch.isupper() and i else ch for i, ch in enumerate(head)).replace(
                    " I D", " ID"
                )
                fields.append(dict(name=head, type=kind, label=label, custom=False))
            doc = dict(name=sf_object, custom=False, fields=fields)
            (out / f"{sf_object}.describe.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")

    # -- contact roles ----------------------------------------------------------------------------
    def contact_role_file(self) -> None:
        """1 to 4 contacts of each deal's account (created before the role), one primary; some deals none."""
        sim, rng, CR = self.sim, self.rng["roles"], _CONTACT_ROLES
        O, C, L = sim.opp, sim.contact, sim.lead
        n = O["n"]
        by_acct = np.lexsort((C["created"], C["account"]))
        acct_sorted = C["account"][by_acct]
        lo = np.searchsorted(acct_sorted, O["account"], side="left")
        hi = np.searchsorted(acct_sorted, O["account"], side="right")
        k = rng.choice(4, n, p=CR["n_roles_weights"]) + 1
        none = rng.random(n) < CR["p_no_roles"]
        lead_contact = np.where(O["lead"] >= 0, L["contact"][np.maximum(O["lead"], 0)], -1)
        rows_opp, rows_contact, rows_primary = [], [], []
        size = np.maximum(hi - lo, 1)
        for j in range(4):
            pick = by_acct[np.minimum(lo + np.floor(rng.random(n) * size).astype(np.int64), len(by_acct) - 1)]
            if j == 0:
                pick = np.where(lead_contact >= 0, lead_contact, pick)
            take = (hi > lo) & ~none & (k > j)
            rows_opp.append(np.flatnonzero(take))
            rows_contact.append(pick[take])
            rows_primary.append(np.full(take.sum(), j == 0))
        r_opp, r_con = np.concatenate(rows_opp), np.concatenate(rows_contact)
        r_pri = np.concatenate(rows_primary)
        # one role per (deal, contact), and only contacts that existed before the deal's last change
        first = np.ones(len(r_opp), bool)
        key = r_opp * (C["n"] + 1) + r_con
        _, keep_idx = np.unique(key, return_index=True)
        first[:] = False
        first[keep_idx] = True
        t = np.maximum(O["created"][r_opp], C["created"][r_con]) + (rng.uniform(0.1, 72.0, len(r_opp)) * 3600).astype(
            np.int64
        )
        ok = first & (t < self.bound) & (C["created"][r_con] <= np.maximum(O["last_time"][r_opp], O["created"][r_opp]))
        r_opp, r_con, r_pri, t = r_opp[ok], r_con[ok], r_pri[ok], t[ok]
        # every deal with roles keeps exactly one primary: its first remaining role
        order = np.lexsort((~r_pri, t, r_opp))
        r_opp, r_con, r_pri, t = r_opp[order], r_con[order], r_pri[order], t[order]
        r_pri = np.r_[True, r_opp[1:] != r_opp[:-1]] if len(r_opp) else r_pri
        role = rng.choice(len(CR["roles"]), len(r_opp))
        role = np.where(r_pri & (rng.random(len(r_opp)) < 0.6), 0, role)
        self.roles = dict(opp=r_opp, contact=r_con, primary=r_pri, time=t, role=role)

    def contact_role_table(self, deleted_groups) -> pa.Table:
        sim, R = self.sim, self.roles
        opp_ids = sim.ids["opportunities"]
        rec = [_id_ref(opp_ids, R["opp"])]
        con, pri, t, role = [R["contact"]], [R["primary"]], [R["time"]], [R["role"]]
        deleted = [np.zeros(len(R["opp"]), bool)]
        for g in deleted_groups:  # the roles of a deleted deal go with it
            look = np.full(sim.opp["n"], -1, np.int64)
            look[g.src] = np.arange(g.n)
            j = look[R["opp"]]
            sel = np.flatnonzero((j >= 0) & (R["time"] < g.stamp[np.maximum(j, 0)]))
            rec.append(pa.array([g.ids[i] for i in j[sel]], _STR))
            con.append(R["contact"][sel])
            pri.append(R["primary"][sel])
            t.append(R["time"][sel])
            role.append(R["role"][sel])
            deleted.append(np.ones(len(sel), bool))
        t_all = np.concatenate(t)
        order = np.argsort(t_all, kind="stable")
        cols = {
            "Id": self.new_ids("contact_roles", len(order)),
            "OpportunityId": pa.concat_arrays(rec).take(pa.array(order)),
            "ContactId": _id_ref(sim.ids["contacts"], np.concatenate(con)[order]),
            "Role": _take(_pool(_CONTACT_ROLES["roles"]), np.concatenate(role)[order]),
            "IsPrimary": _s_bool(np.concatenate(pri)[order]),
            "CreatedDate": _s_ts(t_all[order]),
        }
        if self.extras is not None and (self.extras.deleted or self.extras.merged):
            cols["IsDeleted"] = _s_bool(np.concatenate(deleted)[order])
        return pa.table(cols)
