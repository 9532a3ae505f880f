"""Field history: ``LeadHistory.csv`` and ``OpportunityFieldHistory.csv``, with a real org's gaps.

The rows follow the simulated lifecycle: a lead's Status and Owner changes (:mod:`.shapes` draws them),
a deal's StageName, CloseDate and Amount changes (every change between two consecutive rows of
OpportunityHistory, at the same second) and Owner changes. The gaps, each recorded in truth.json:

- ``Lead.Status`` tracking switched on mid-life: no Status row before ``status_tracking_on`` (the first
  row after it has the OldValue the lead had then), while ``created`` and Owner rows go back further;
- retention: rows older than the extract time minus 18 months are gone (``created`` rows included);
- an Owner change is two rows at the same second, one ``EntityId`` (the Ids) and one ``Text`` (the
  names), in either Id order;
- one save that changes several fields writes several rows at the same second (a deal closed: its
  StageName, CloseDate and often Amount), and some conversions write every Status step in the same
  second, so only the rows' Id order tells the last value;
- a ``created`` row for every record created while the history was kept.

The history of a deleted record (and of a merged-away lead) is written with ``IsDeleted = true``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .arrowtext import _STR, _id_ref, _pool, _s_bool, _s_date, _s_money, _s_ts, _take
from .currency import local_money
from .model import _DAY, _FIELD_HISTORY, _STAGES

_NULL = pa.nulls(0, _STR)


def gap_times(sim, extract: int) -> dict:
    """The retention cut (extract minus 18 months), when Status tracking began, the truth's three dates."""
    ts = pd.Timestamp(extract, unit="s")
    cut = int((ts - pd.DateOffset(months=_FIELD_HISTORY["retention_months"])).value // 10**9)
    lo = max(cut, sim.t0)
    on = pd.Timestamp(lo + _FIELD_HISTORY["status_tracking_on_at"] * (sim.t1 - lo), unit="s")
    on = (on + pd.offsets.MonthBegin(1)).normalize()
    t_on = int(on.value // 10**9)
    day = lambda t: pd.Timestamp(int(t), unit="s").date().isoformat()  # noqa: E731
    d1 = day((sim.t0 + lo) // 2) if lo - sim.t0 > 60 * _DAY else day(sim.t0 + 15 * _DAY)
    d2 = day((lo + t_on) // 2)
    d3 = day(sim.t1 - 46 * _DAY)
    return dict(cut=cut, status_on=t_on, dates=[d1, d2, d3])


def _table(rows: list[dict], id_of_kind) -> tuple[pa.Table, np.ndarray]:
    """Concatenate row groups, order them by (time, record, step), give them Ids in that order."""
    t = np.concatenate([r["t"] for r in rows])
    ent = np.concatenate([r["ent"] for r in rows])
    seq = np.concatenate([r["seq"] for r in rows])
    order = np.lexsort((seq, ent, t))
    take = pa.array(order)

    def col(k):
        return pa.concat_arrays([r[k].cast(_STR) for r in rows]).take(take)

    return dict(
        record=col("record"),
        field=col("field"),
        old=col("old"),
        new=col("new"),
        dtype=col("dtype"),
        by=col("by"),
        t=t[order],
        deleted=np.concatenate([r["deleted"] for r in rows])[order],
    ), order


def _rows(t, ent, seq, record, field, old, new, dtype, by, deleted) -> dict:
    k = len(t)
    rep = lambda v: pa.array([v] * k, _STR) if isinstance(v, str) or v is None else v  # noqa: E731
    return dict(
        t=np.asarray(t, np.int64),
        ent=np.asarray(ent, np.int64),
        seq=np.broadcast_to(np.asarray(seq, np.int64), (k,)).copy(),
        record=record,
        field=rep(field),
        old=rep(old),
        new=rep(new),
        dtype=rep(dtype),
        by=by,
        deleted=np.broadcast_to(np.asarray(deleted, bool), (k,)).copy(),
    )


def _write(shapes, name: str, kind: str, key: str, parts: dict, cut: int, keep_deleted: bool):
    keep = parts["t"] >= cut
    idx = pa.array(np.flatnonzero(keep))
    cols = {
        "Id": shapes.new_ids(kind, int(keep.sum())),
        key: parts["record"].take(idx),
        "Field": parts["field"].take(idx),
        "OldValue": parts["old"].take(idx),
        "NewValue": parts["new"].take(idx),
        "DataType": parts["dtype"].take(idx),
        "CreatedDate": _s_ts(parts["t"][keep]),
        "CreatedById": parts["by"].take(idx),
    }
    if keep_deleted:
        cols["IsDeleted"] = _s_bool(parts["deleted"][keep])
    shapes.files[name] = pa.table(cols)
    return int((~keep).sum())


def lead_history(shapes, gaps: dict) -> dict:
    """Write ``LeadHistory.csv`` (into ``shapes.files``); return its truth figures."""
    sim, ex, tl = shapes.sim, shapes.extras, shapes.lead
    rng = shapes.rng["leads"]
    labels = _pool(sim.lead_status_labels)
    label_of = np.array(sim.lead_status_labels, dtype=object)
    owner_ids, owner_names = shapes.owner_pools()
    user_ids = sim.ids["users"]
    managers = sim.managers
    ids = sim.ids["leads"]
    ents = [
        dict(
            record=pa.array(ids.astype(str).tolist(), _STR),
            deleted=False,
            **{
                k: tl[k]
                for k in ("created", "init_code", "ev_t", "ev_code", "first_owner", "final_owner", "t_owner", "region")
            },
        )
    ]
    groups = ex.groups if ex is not None else {}
    if "Lead.csv:deleted" in groups:  # a deleted lead's history, up to its deletion
        g = groups["Lead.csv:deleted"]
        e = {
            k: tl[k][g.src]
            for k in ("created", "init_code", "ev_t", "ev_code", "first_owner", "final_owner", "t_owner", "region")
        }
        e["ev_t"] = np.where(e["ev_t"] < g.stamp[:, None], e["ev_t"], -1)
        e["ev_code"] = np.where(e["ev_t"] >= 0, e["ev_code"], -1)
        e["t_owner"] = np.where(e["t_owner"] < g.stamp, e["t_owner"], -1)
        ents.append(dict(record=pa.array(g.ids, _STR), deleted=True, **e))
    if "Lead.csv:merged" in groups:
        g = groups["Lead.csv:merged"]
        e = shapes.merged_timelines(g)
        e.pop("n")
        ents.append(dict(record=pa.array(g.ids, _STR), deleted=True, **e))

    def by_user(owner, region):
        return _id_ref(user_ids, np.where(owner < shapes.nU, owner, managers[region]))

    rows, base = [], 0
    not_tracked = 0
    for e in ents:
        k = len(e["created"])
        ent = base + np.arange(k)
        rows.append(
            _rows(
                e["created"],
                ent,
                0,
                e["record"],
                "created",
                None,
                None,
                "Text",
                by_user(e["first_owner"], e["region"]),
                e["deleted"],
            )
        )
        prev = e["init_code"].copy()
        for j in range(3):
            t, new = e["ev_t"][:, j], e["ev_code"][:, j]
            valid = t >= 0
            change = valid & (label_of[np.maximum(new, 0)] != label_of[prev])
            tracked = change & (t >= gaps["status_on"])
            not_tracked += int((change & ~tracked).sum()) if not e["deleted"] else 0
            i = np.flatnonzero(tracked)
            if len(i):
                owner_then = np.where(
                    (e["t_owner"][i] >= 0) & (t[i] >= e["t_owner"][i]), e["final_owner"][i], e["first_owner"][i]
                )
                rows.append(
                    _rows(
                        t[i],
                        ent[i],
                        10 + j,
                        e["record"].take(pa.array(i)),
                        "Status",
                        _take(labels, prev[i]),
                        _take(labels, new[i]),
                        "DynamicEnum",
                        by_user(owner_then, e["region"][i]),
                        e["deleted"],
                    )
                )
            prev = np.where(valid, new, prev)
        i = np.flatnonzero(e["t_owner"] >= 0)
        if len(i):
            text_first = rng.random(len(i)) < _FIELD_HISTORY["p_owner_text_first"]
            old, new = e["first_owner"][i], e["final_owner"][i]
            by = by_user(new, e["region"][i])
            rec = e["record"].take(pa.array(i))
            t = e["t_owner"][i]
            rows.append(
                _rows(
                    t,
                    ent[i],
                    np.where(text_first, 6, 5),
                    rec,
                    "Owner",
                    _take(owner_ids, old),
                    _take(owner_ids, new),
                    "EntityId",
                    by,
                    e["deleted"],
                )
            )
            rows.append(
                _rows(
                    t,
                    ent[i],
                    np.where(text_first, 5, 6),
                    rec,
                    "Owner",
                    _take(owner_names, old),
                    _take(owner_names, new),
                    "Text",
                    by,
                    e["deleted"],
                )
            )
        base += k
    parts, _ = _table(rows, None)
    keep_deleted = ex is not None and (ex.deleted or ex.merged)
    dropped = _write(shapes, "LeadHistory.csv", "lead_history", "LeadId", parts, gaps["cut"], keep_deleted)
    # the conversions written in one second whose rows survive the cut and the tracking switch
    tie = tl["tie"] & (tl["ev_t"][:, 2] >= max(gaps["cut"], gaps["status_on"]))
    tie_rows = ids[np.flatnonzero(tie)].astype(str).tolist()
    owner_changes = int((tl["t_owner"] >= 0).sum())
    return dict(
        rows_dropped_by_retention=dropped,
        status_changes_before_tracking=not_tracked,
        owner_changes=owner_changes,
        owner_changes_in_file=int((tl["t_owner"] >= gaps["cut"]).sum()),
        same_second_status_steps=tie_rows,
    )


def opportunity_history(shapes, gaps: dict) -> tuple[dict, pd.DataFrame]:
    """Write ``OpportunityFieldHistory.csv``; return its truth figures and ``close_date_pushes.csv``."""
    sim, ex = shapes.sim, shapes.extras
    rng = shapes.rng["opps"]
    O, H = sim.opp, sim.hist
    owner_ids, owner_names = shapes.owner_pools()
    user_ids = sim.ids["users"]
    factor = ex.opp_factor if ex is not None else np.ones(O["n"])
    own = shapes.opp_owner
    opp_ids = sim.ids["opportunities"].astype(str)
    # the rows of the org, then those of each deleted deal (up to its deletion), as virtual records
    h_opp, h_t = H["opp"], H["time"]
    rec_src, rec_id, rec_stamp, rec_del = (
        [np.arange(O["n"])],
        [opp_ids.tolist()],
        [np.full(O["n"], 2**62)],
        [np.zeros(O["n"], bool)],
    )
    groups = ex.groups if ex is not None else {}
    if "Opportunity.csv:deleted" in groups:
        g = groups["Opportunity.csv:deleted"]
        rec_src.append(g.src)
        rec_id.append(list(g.ids))
        rec_stamp.append(g.stamp)
        rec_del.append(np.ones(g.n, bool))
    src = np.concatenate(rec_src)
    stamp = np.concatenate(rec_stamp)
    deleted = np.concatenate(rec_del)
    record = pa.array([x for ids in rec_id for x in ids], _STR)
    # history rows of every virtual record
    order = np.lexsort((h_t, h_opp))
    h_opp, h_t = h_opp[order], h_t[order]
    stage, close, amount = H["stage"][order], H["close"][order], H["amount"][order]
    starts = np.searchsorted(h_opp, src, side="left")
    ends = np.searchsorted(h_opp, src, side="right")
    counts = ends - starts
    v = np.repeat(np.arange(len(src)), counts)
    pos = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)]) if len(src) else np.zeros(0, np.int64)
    keep = h_t[pos] < stamp[v]
    v, pos = v[keep], pos[keep]
    t = h_t[pos]
    first = np.r_[True, v[1:] != v[:-1]]
    money = local_money(amount[pos], factor[src[v]])
    stage_v, close_v = stage[pos], close[pos]
    stage_pool = _pool(s[0] for s in _STAGES)

    def owner_at(i, tt):
        o_src = src[i]
        changed = (own["t"][o_src] >= 0) & (tt >= own["t"][o_src])
        return np.where(changed, own["final"][o_src], own["first"][o_src])

    rows = []
    i = np.flatnonzero(first)
    rows.append(
        _rows(
            t[i],
            v[i],
            0,
            record.take(pa.array(v[i])),
            "created",
            None,
            None,
            "Text",
            _id_ref(user_ids, owner_at(v[i], t[i])),
            deleted[v[i]],
        )
    )
    nxt = np.flatnonzero(~first)
    prv = nxt - 1
    for seq, field, dtype, changed, old, new in (
        (
            1,
            "StageName",
            "DynamicEnum",
            stage_v[nxt] != stage_v[prv],
            _take(stage_pool, stage_v[prv]),
            _take(stage_pool, stage_v[nxt]),
        ),
        (2, "CloseDate", "Date", close_v[nxt] != close_v[prv], _s_date(close_v[prv]), _s_date(close_v[nxt])),
        (
            3,
            "Amount",
            "Currency",
            np.isfinite(money[nxt]) & (~np.isfinite(money[prv]) | (np.round(money[nxt], 2) != np.round(money[prv], 2))),
            _s_money(money[prv]),
            _s_money(money[nxt]),
        ),
    ):
        j = np.flatnonzero(changed)
        if len(j):
            r = nxt[j]
            rows.append(
                _rows(
                    t[r],
                    v[r],
                    seq,
                    record.take(pa.array(v[r])),
                    field,
                    old.take(pa.array(j)),
                    new.take(pa.array(j)),
                    dtype,
                    _id_ref(user_ids, owner_at(v[r], t[r])),
                    deleted[v[r]],
                )
            )
    gates = getattr(shapes, "gates", None)
    if gates is not None:  # routing: the stage criteria's fields, tracked (NextStep, Budget_Confirmed__c)
        from .routing import _NEXT_STEPS

        steps = _pool(_NEXT_STEPS)
        for seq, field, dtype, t_fill, skip in (
            (6, "NextStep", "Text", gates["t_ns"], gates["ns_at_creation"]),
            (7, "Budget_Confirmed__c", "Boolean", gates["t_bc"], np.zeros(O["n"], bool)),
        ):
            tf = t_fill[src]
            i = np.flatnonzero((tf >= 0) & (tf < stamp) & ~skip[src])
            if not len(i):
                continue
            if field == "NextStep":
                old, new = pa.nulls(len(i), _STR), _take(steps, gates["text"][src[i]])
            else:
                old, new = pa.array(["false"] * len(i), _STR), pa.array(["true"] * len(i), _STR)
            rows.append(
                _rows(
                    tf[i],
                    i,
                    seq,
                    record.take(pa.array(i)),
                    field,
                    old,
                    new,
                    dtype,
                    _id_ref(user_ids, owner_at(i, tf[i])),
                    deleted[i],
                )
            )
    t_own = own["t"][src]
    i = np.flatnonzero((t_own >= 0) & (t_own < stamp))
    if len(i):
        text_first = rng.random(len(i)) < _FIELD_HISTORY["p_owner_text_first"]
        old, new = own["first"][src[i]], own["final"][src[i]]
        rec = record.take(pa.array(i))
        by = _id_ref(user_ids, new)
        rows.append(
            _rows(
                t_own[i],
                i,
                np.where(text_first, 5, 4),
                rec,
                "Owner",
                _take(owner_ids, old),
                _take(owner_ids, new),
                "EntityId",
                by,
                deleted[i],
            )
        )
        rows.append(
            _rows(
                t_own[i],
                i,
                np.where(text_first, 4, 5),
                rec,
                "Owner",
                _take(owner_names, old),
                _take(owner_names, new),
                "Text",
                by,
                deleted[i],
            )
        )
    parts, _ = _table(rows, None)
    keep_deleted = ex is not None and (ex.deleted or ex.merged)
    dropped = _write(
        shapes,
        "OpportunityFieldHistory.csv",
        "opportunity_field_history",
        "OpportunityId",
        parts,
        gaps["cut"],
        keep_deleted,
    )

    # the truth: every close-date push of every deal of the org, from the simulation
    real = ~deleted[v[nxt]]
    r = nxt[real]
    push = close_v[r] > close_v[r - 1]
    o = src[v[r]][push]
    days = (close_v[r] - close_v[r - 1])[push]
    in_file = t[r][push] >= gaps["cut"]
    n = O["n"]
    pushes = pd.DataFrame(
        dict(
            opportunity_id=opp_ids,
            pushes=np.bincount(o, minlength=n),
            days_pushed=np.bincount(o, weights=days, minlength=n).astype(np.int64),
            pushes_in_history=np.bincount(o[in_file], minlength=n),
            complete_in_history=np.where(O["created"] >= gaps["cut"], "true", "false"),
        )
    )
    info = dict(
        rows_dropped_by_retention=dropped,
        owner_changes=int((own["t"] >= 0).sum()),
        same_second_rows=int(_same_second(parts)),
        deals_pushed_three_times_or_more=int((pushes["pushes"] >= 3).sum()),
    )
    return info, pushes


def _same_second(parts) -> int:
    """Rows that share their record and second with another row of a different field."""
    df = pd.DataFrame(dict(r=parts["record"].to_numpy(zero_copy_only=False), t=parts["t"]))
    return int(df.duplicated(["r", "t"], keep=False).sum())


def lead_status_on_dates(shapes, gaps: dict) -> pd.DataFrame:
    """Every kept lead's status at the end of each truth date; known: the history can tell it."""
    sim, tl = shapes.sim, shapes.lead
    ids = sim.ids["leads"].astype(str)
    out = []
    labels = np.array(sim.lead_status_labels, dtype=object)
    for d in gaps["dates"]:
        end = (pd.Timestamp(d) + pd.Timedelta(days=1)).value // 10**9
        exists = tl["created"] < end
        code = tl["init_code"].copy()
        for j in range(3):
            hit = (tl["ev_t"][:, j] >= 0) & (tl["ev_t"][:, j] < end)
            code = np.where(hit, tl["ev_code"][:, j], code)
        since = np.maximum(np.maximum(tl["created"], gaps["cut"]), gaps["status_on"])
        i = np.flatnonzero(exists)
        out.append(
            pd.DataFrame(
                dict(lead_id=ids[i], on_date=d, status=labels[code[i]], known=np.where(since[i] < end, "true", "false"))
            )
        )
    return pd.concat(out, ignore_index=True)


def queue_time(shapes, gaps: dict | None) -> pd.DataFrame:
    """Every kept lead that was created owned by a queue: when it was picked up, by whom, and how long it waited."""
    sim, tl = shapes.sim, shapes.lead
    i = np.flatnonzero(shapes.queued)
    ids = sim.ids["leads"].astype(str)
    user_ids = sim.ids["users"].astype(str)
    q = tl["first_owner"][i] - shapes.nU
    picked = ~tl["in_queue"][i]
    t = tl["t_owner"][i]
    fmt = lambda s: pd.Series(pd.to_datetime(s, unit="s")).dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")  # noqa: E731
    entered = fmt(tl["created"][i])
    picked_at = fmt(np.where(picked, t, 0)).where(picked, "")
    by = np.where(picked, user_ids[np.minimum(tl["final_owner"][i], shapes.nU - 1)], "")
    hours = np.where(picked, np.round((t - tl["created"][i]) / 3600.0, 3), np.nan)
    in_history = picked & (t >= gaps["cut"]) if gaps is not None else np.zeros(len(i), bool)
    return pd.DataFrame(
        dict(
            lead_id=ids[i],
            queue_id=shapes.queue_ids.take(pa.array(q)).to_pylist(),
            queue_name=np.array(shapes.queue_names(), dtype=object)[q],
            entered_queue_at=entered.to_numpy(),
            picked_up_at=picked_at.to_numpy(),
            picked_up_by=by,
            hours_in_queue=hours,
            still_in_queue=np.where(picked, "false", "true"),
            pickup_in_history=np.where(in_history, "true", "false"),
        )
    )
