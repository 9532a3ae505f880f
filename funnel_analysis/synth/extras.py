"""The options of a real org's export: deleted and merged rows, currencies, modification stamps.

:class:`_Extras` works on each export file around the defect injection of :mod:`.dirty`:

- :meth:`_Extras.prepare` (before): adds the columns (``IsDeleted``, ``MasterRecordId``,
  ``CurrencyIsoCode``, ``LastModifiedDate``, ``SystemModstamp``), writes money in the record's
  currency, points the kept references drawn by :func:`.lifecycle.plan` at merged-away records,
  and builds the file's deleted and merged rows (from the clean rows, with Ids that fill the gaps
  of the org's own Id sequence, so the real rows keep their Ids);
- :meth:`_Extras.finish` (after): inserts those rows among the others in creation order and
  moves the row numbers of the defects' truth accordingly.

Nothing here draws from the org's own random streams: with every option off the files are
byte-identical to a run without this module, and with options on the real rows, their Ids and
their defects are the same (only the added columns, money in another currency and the re-pointed
references differ).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrowtext import _STR, _pool, _s_money, _s_ts, _sf_ids, _take
from .currency import dated_rate, ensure_crossings, local_money, make_rates, static_rate
from .export import _File
from .lifecycle import plan
from .model import _DAY, _ID_PREFIX
from .sim import _Sim

#: files of the objects that have IsDeleted (User and OpportunityStage have none in Salesforce)
_DELETABLE = (
    "Campaign.csv",
    "Account.csv",
    "Contact.csv",
    "Lead.csv",
    "Opportunity.csv",
    "OpportunityHistory.csv",
    "CampaignMember.csv",
    "Task.csv",
    "Event.csv",
)
_MERGEABLE = ("Account.csv", "Contact.csv", "Lead.csv")
#: files of the objects that carry CurrencyIsoCode (the data model's list)
_CURRENCY_FILES = (
    "Campaign.csv",
    "Account.csv",
    "Contact.csv",
    "Lead.csv",
    "Opportunity.csv",
    "OpportunityHistory.csv",
)
#: OpportunityHistory rows never change: SystemModstamp only, as in Salesforce
_NO_LAST_MODIFIED = ("OpportunityHistory.csv",)


def _inverse(order: np.ndarray) -> np.ndarray:
    pos = np.empty(len(order), np.int64)
    pos[order] = np.arange(len(order))
    return pos


class _Extras:
    """State of the options over one run: the plan, the currencies, and the truth collected per file."""

    def __init__(self, sim: _Sim, *, deleted: bool, merged: bool, currencies: bool, modstamps: bool):
        self.sim = sim
        self.deleted, self.merged, self.currencies, self.modstamps = deleted, merged, currencies, modstamps
        # streams of their own (spawn keys the org's streams never use)
        seqs = np.random.SeedSequence(sim.seed, spawn_key=(1015,)).spawn(3)
        rng_deleted, rng_merged, rng_fx = (np.random.default_rng(s) for s in seqs)
        self.rng_fx = rng_fx
        if currencies:
            make_rates(sim, rng_fx)
            self._opp_currency()
        else:
            self.opp_cur = np.zeros(sim.opp["n"], np.int64)
            self.opp_factor = np.ones(sim.opp["n"])
        self.bound = _live_bound(sim)
        self.groups, self.refs = plan(sim, rng_deleted, rng_merged, deleted=deleted, merged=merged, bound=self.bound)
        self.latest = 0  # latest live timestamp written (seconds)
        self.records: list[dict] = []  # deleted_records.csv
        self.repointed: list[dict] = []  # repointed_references.csv
        self.rows_deleted: dict[str, int] = {}
        self._pending: dict = {}

    # -- currencies ------------------------------------------------------------
    def _opp_currency(self) -> None:
        sim = self.sim
        O, A, co = sim.opp, sim.acct, sim.co
        self.opp_cur = sim.fx["country"][co["country"][A["comp"][O["account"]]]]
        self.rate_corrections = ensure_crossings(sim, self.rng_fx, self.opp_cur)
        # a deal is priced in its currency at the rate of its creation day, and keeps that price
        self.opp_factor = dated_rate(sim, self.opp_cur, O["created"] // _DAY)

    def _currency_columns(self, name: str, f: _File) -> None:
        sim, meta, cols = self.sim, f.meta, f.columns
        fx, co, o = sim.fx, sim.co, meta["order"]
        iso = _pool(fx["iso"])
        if name == "Campaign.csv":
            cur = np.zeros(f.n, np.int64)
        elif name == "Account.csv":
            comp = sim.acct["comp"][meta["src"]]
            cur = fx["country"][co["country"][comp]]
            cols["annual_revenue"] = _s_money(local_money(co["revenue"][comp], static_rate(sim, cur)))
        elif name == "Contact.csv":
            cur = fx["country"][sim.contact["country"][meta["src"]]]
        elif name == "Lead.csv":
            L, src = sim.lead, meta["src"]
            comp = L["comp"][src]
            cur = fx["country"][L["country"][src]]
            revenue = np.where(L["has_size"][src], co["revenue"][comp], np.nan)
            cols["annual_revenue"] = _s_money(local_money(revenue, static_rate(sim, cur)))
        elif name == "Opportunity.csv":
            cur = self.opp_cur[o]
            cols["amount"] = _s_money(local_money(sim.opp["amount"][o], self.opp_factor[o]))
        else:  # OpportunityHistory.csv
            h_opp = sim.hist["opp"][o]
            cur = self.opp_cur[h_opp]
            cols["amount"] = _s_money(local_money(sim.hist["amount"][o], self.opp_factor[h_opp]))
        cols["currency_iso_code"] = _take(iso, cur)

    # -- modification stamps -------------------------------------------------------
    def _stamps(self, name: str, f: _File) -> np.ndarray:
        """LastModifiedDate (= SystemModstamp) of every row, in file order: the record's last change."""
        sim, meta = self.sim, f.meta
        o, created = meta["order"], meta["created"]
        last = sim.t1 - 1
        if name == "Campaign.csv":
            K = sim.camp
            t = np.where(K["completed"], K["end"] * _DAY + 17 * 3600, K["start"] * _DAY + 9 * 3600)
        elif name == "Account.csv":
            O = sim.opp
            won_at = np.zeros(len(created), np.int64)
            np.maximum.at(won_at, O["account"][O["is_won"]], O["last_time"][O["is_won"]])  # became a customer
            t = won_at
        elif name == "Lead.csv":
            L = sim.lead
            nL = L["n"]
            st = L["status"]
            real = np.where(
                st == 2, L["conv_t"], np.where(st == 3, L["life_end"], L["created"] + np.where(st == 1, _DAY, 0))
            )
            t = np.concatenate([real, np.zeros(len(created) - nL, np.int64)])
            changed = getattr(sim, "lead_last_change", None)  # the field-history and queue options
            if changed is not None:
                t = np.maximum(t, changed)
        elif name == "Opportunity.csv":
            t = sim.opp["last_time"]
        elif name == "CampaignMember.csv":
            M = sim.member
            t = np.where(M["responded"], M["resp_day"] * _DAY + 12 * 3600, 0)
        elif name == "Task.csv":
            T = sim.task
            t = np.where(T["status"] == 0, T["when"], 0)
        elif name == "Event.csv":
            t = sim.event["when"]
        else:  # users, contacts, history: never changed after creation
            t = created
        return np.clip(np.maximum(t, created), None, np.maximum(last, created))[o]

    # -- per file ----------------------------------------------------------------------
    def prepare(self, name: str, f: _File) -> None:
        """Add the columns and build the extra rows of one file (before the defects are injected)."""
        meta, cols = f.meta, f.columns
        n, o = f.n, meta["order"]
        if "created" not in meta:  # OpportunityStage: set up with the org, before its users' first records
            meta["created"] = np.full(n, int(self.sim.users["created"].min()))
        self.latest = max(self.latest, int(np.max(meta["created"], initial=0)))
        if (self.deleted or self.merged) and name in _DELETABLE:
            cols["is_deleted"] = pa.array(np.full(n, "false"), _STR)
        if self.merged and name in _MERGEABLE:
            cols["master_record_id"] = pa.nulls(n, _STR)
        if self.currencies and name in _CURRENCY_FILES:
            self._currency_columns(name, f)
        if self.modstamps:
            stamps = self._stamps(name, f)
            self.latest = max(self.latest, int(np.max(stamps, initial=0)))
            s_ts = _s_ts(stamps)
            if name not in _NO_LAST_MODIFIED:
                cols["last_modified_date"] = s_ts
            cols["system_modstamp"] = s_ts
        groups = [(key, g) for key, g in self.groups.items() if g.file == name]
        pos = _inverse(o)
        extra = self._extra_rows(name, f, groups, pos) if groups else None
        refs = [r for r in self.refs if r.file == name]
        repointed = []
        for r in refs:
            rows = pos[r.rows]
            g = self.groups[r.group]
            merged_ids = [g.ids[i] for i in r.index]
            mask = np.zeros(n, bool)
            mask[rows] = True
            values = dict(zip(rows.tolist(), merged_ids))
            ordered = [values[i] for i in np.sort(rows).tolist()]
            keys = cols[f.key].take(pa.array(rows)).to_pylist()
            cols[r.column] = pc.replace_with_mask(cols[r.column], pa.array(mask), pa.array(ordered, _STR))
            for row, rid, i in zip(rows.tolist(), keys, r.index.tolist()):
                repointed.append(
                    dict(
                        file=name,
                        base_row=row,
                        record_id=rid,
                        column=r.column,
                        merged_id=g.ids[i],
                        master_id=g.survivor_ids[i],
                        object=g.table,
                    )
                )
        self._pending[name] = (extra, repointed, n)

    def _extra_rows(self, name: str, f: _File, groups, pos):
        sim, meta, cols = self.sim, f.meta, f.columns
        created_file = meta["created"][meta["order"]]
        insert_at = np.concatenate([np.searchsorted(created_file, g.created, side="right") for _, g in groups])
        counters = _gap_counters(sim, f.prefix, insert_at)
        ids = _sf_ids(_ID_PREFIX[f.prefix], sim.pod, counters).to_pylist()
        # where a gap was too small the Id lands a few rows later: the row goes where its Id does
        insert_at = np.searchsorted(sim.file_counters[f.prefix], counters)
        start = 0
        for _, g in groups:
            g.ids = ids[start : start + g.n]
            start += g.n
        key_col = cols[f.key]
        tables, truth = [], []
        for _, g in groups:
            rows = pa.array(pos[g.src])
            copy = {c: v.take(rows) for c, v in cols.items()}
            for c, v in g.overrides.items():
                copy[c] = v
            copy[f.key] = pa.array(g.ids, _STR)
            copy["is_deleted"] = pa.array(["true"] * g.n, _STR)
            parent_ids = [""] * g.n
            masters = [""] * g.n
            if g.parent is not None:
                parent_ids = [self.groups[g.parent].ids[j] for j in g.parent_index]
                copy[g.parent_column] = pa.array(parent_ids, _STR)
            if g.kind == "merged":
                real = key_col.take(pa.array(pos[g.master])).to_pylist()
                masters = [real[i] if v < 0 else g.ids[v] for i, v in enumerate(g.via.tolist())]
                g.master_ids, g.survivor_ids, g.table = masters, real, f.table
                copy["master_record_id"] = pa.array(masters, _STR)
            elif "master_record_id" in copy:
                copy["master_record_id"] = pa.nulls(g.n, _STR)
            if self.modstamps:
                s_ts = _s_ts(g.stamp)
                if "last_modified_date" in copy:
                    copy["last_modified_date"] = s_ts
                copy["system_modstamp"] = s_ts
            tables.append(pa.table({c: copy[c] for c in cols}))
            truth += [
                dict(table=f.table, file=name, record_id=i, kind=g.kind, master_id=m, parent_id=p)
                for i, m, p in zip(g.ids, masters, parent_ids)
            ]
        schema = pa.table({c: v for c, v in cols.items()}).schema
        table = pa.concat_tables([t.cast(schema) for t in tables])
        return table, insert_at, counters, truth

    def finish(self, name: str, f: _File, defects: list[dict]) -> None:
        """Insert the file's extra rows in creation order; renumber the defects' rows (in place)."""
        extra, repointed, n_base = self._pending.pop(name)
        fp, n_now = f.final_pos[:n_base], f.n  # where each row built before the quarantine rows now is
        if extra is None:
            shift = lambda r: r  # noqa: E731
        else:
            table, insert_at, counters, truth = extra
            at = np.where(insert_at < n_base, fp[np.minimum(insert_at, n_base - 1)], n_now)
            order = np.lexsort((counters, at))  # rows before the same base row: in Id order
            ins = at[order]
            k = len(ins)
            live = pa.table(f.columns)
            # one take over live + extra rows: with thousands of rows to insert, cheaper than slices
            new_row = np.empty(k, np.int64)
            new_row[order] = ins + np.arange(k)
            is_extra = np.zeros(n_now + k, bool)
            is_extra[new_row] = True
            perm = np.empty(n_now + k, np.int64)
            perm[~is_extra] = np.arange(n_now)
            perm[new_row] = n_now + np.arange(k)
            joined = pa.concat_tables([live, table]).take(pa.array(perm))
            f.columns = {c: joined.column(c) for c in live.column_names}
            for rec, row in zip(truth, new_row.tolist()):
                self.records.append(dict(rec, row=row))
            self.rows_deleted[name] = k
            shift = lambda r: int(r + np.searchsorted(ins, r, side="right"))  # noqa: E731
        for d in defects:
            d["row"] = shift(d["row"])
        for rec in repointed:
            base = rec.pop("base_row")
            self.repointed.append(dict(rec, row=shift(int(fp[base]))))

    # -- truth -------------------------------------------------------------------------
    def merged_pairs(self) -> list[dict]:
        counts: dict[str, int] = {}
        for r in self.repointed:
            counts[r["merged_id"]] = counts.get(r["merged_id"], 0) + 1
        out = []
        for g in self.groups.values():
            if g.kind != "merged":
                continue
            depth = np.ones(g.n, np.int64)
            depth[g.via >= 0] = 2
            for i in range(g.n):
                out.append(
                    dict(
                        object=g.table,
                        merged_id=g.ids[i],
                        master_id=g.survivor_ids[i],
                        master_record_id=g.master_ids[i],
                        merges_to_master=int(depth[i]),
                        variation=str(g.variation[i]),
                        kept_references=counts.get(g.ids[i], 0),
                    )
                )
        return out


def _live_bound(sim: _Sim) -> int:
    """A time no later than the latest live timestamp: deletions and merges happen before it."""
    return int(
        max(
            sim.hist["time"].max(initial=0),
            sim.lead["created"].max(initial=0),
            sim.contact["created"].max(initial=0),
            sim.task["created"].max(initial=0),
            sim.member["created"].max(initial=0),
        )
        - 60
    )


def _gap_counters(sim: _Sim, kind: str, insert_at: np.ndarray) -> np.ndarray:
    """Id counters for extra rows meant to go before base rows ``insert_at``: the first unused
    counters after their predecessor's (the org's Ids leave gaps), so Id order stays file order."""
    base = sim.file_counters[kind]
    k = len(insert_at)
    order = np.argsort(insert_at, kind="stable")
    lo = int(base[0]) - k - 1
    span = np.arange(lo, int(base[-1]))
    free = span[~np.isin(span, base)]
    at = insert_at[order]
    prev = np.where(at > 0, base[np.maximum(at - 1, 0)], lo - 1)
    target = np.searchsorted(free, prev, side="right")
    step = np.arange(k)
    slot = np.maximum.accumulate(target - step) + step
    slot = np.minimum(slot, len(free) - k + step)
    counters = np.empty(k, np.int64)
    counters[order] = free[slot]
    return counters
