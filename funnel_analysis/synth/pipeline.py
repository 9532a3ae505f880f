"""The pipeline: opportunities, and the stage history that leads to their final state."""

from __future__ import annotations

import numpy as np

from .model import (
    _AMOUNT,
    _CLOSE_DATE,
    _DAY,
    _LEAD_SOURCES,
    _LOST,
    _N_OPEN,
    _PATH,
    _SHARE_IMPORTED_DEALS,
    _SHARE_MISSING_AMOUNT,
    _STAGE_DAYS,
    _STAGES,
    _WON,
)
from .sim import _choice_by_group, _lognormal, _quarter_end_day, _Sim
from .vocab import _PRODUCTS


def make_opportunities(sim: _Sim):
    """Opportunities and their stage history (``sim.opp``, ``sim.hist``).

    One deal per converted lead, whose path is simulated, plus a batch of historical deals imported
    early in the window, already closed.
    """
    rng, L, A, co = sim.rng["opps"], sim.lead, sim.acct, sim.co
    conv = np.flatnonzero(L["converted"])
    n_sim = len(conv)
    n_imp = int(round(_SHARE_IMPORTED_DEALS * n_sim))
    n = n_sim + n_imp
    acct = np.concatenate([L["account"][conv], rng.integers(0, co["n_pre"], n_imp)])
    emp = co["employees"][A["comp"][acct]]
    source = np.concatenate([L["source"][conv], np.full(n_imp, -1)])
    win_rate = np.array([s[3] for s in _LEAD_SOURCES])
    won = np.concatenate([rng.random(n_sim) < win_rate[L["source"][conv]], rng.random(n_imp) < 0.6])
    owner = np.where(rng.random(n) < 0.9, A["owner"][acct], _choice_by_group(rng, A["region"][acct], sim.ae_by_region))
    amount0 = np.round(
        _lognormal(rng, _AMOUNT["median"], _AMOUNT["sigma"], n) * (emp / 150.0) ** _AMOUNT["employees_elasticity"], -2
    )
    amount0 = np.maximum(amount0, 500.0)
    camp = np.concatenate([np.where(rng.random(n_sim) < 0.9, L["campaign"][conv], -1), np.full(n_imp, -1)])
    new_business = np.concatenate([A["creator_lead"][L["account"][conv]] == conv, np.zeros(n_imp, bool)])
    missing_amount = np.zeros(n, bool)
    k_missing = int(round(_SHARE_MISSING_AMOUNT * n_sim))
    missing_amount[rng.choice(n_sim, k_missing, replace=False)] = True
    sim.opp = dict(
        n=n,
        n_sim=n_sim,
        lead=np.concatenate([conv, np.full(n_imp, -1)]),
        account=acct,
        source=source,
        won_draw=won,
        owner=owner,
        campaign=camp,
        new_business=new_business,
        imported=np.arange(n) >= n_sim,
        missing_amount=missing_amount,
        product=rng.integers(0, len(_PRODUCTS), n),
    )
    created = np.empty(n, np.int64)
    created[:n_sim] = L["conv_t"][conv]
    # imported deals: one migration batch early in the window, closed long before
    batch_day = sim.t0 // _DAY + int(rng.integers(20, 60))
    created[n_sim:] = batch_day * _DAY + 2 * 3600 + np.arange(n_imp) * 7
    sim.opp["created"] = created
    hist = _simulate_paths(
        sim, rng, n_sim, won[:n_sim], created[:n_sim], emp[:n_sim], amount0[:n_sim], missing_amount[:n_sim]
    )
    # imported deals: a single history row, already closed, CloseDate in the past
    imp_stage = np.where(won[n_sim:], _WON, _LOST)
    imp_close = batch_day - rng.integers(30, 700, n_imp)
    h_opp = np.concatenate([hist["opp"], np.arange(n_sim, n)])
    h_time = np.concatenate([hist["time"], created[n_sim:]])
    h_stage = np.concatenate([hist["stage"], imp_stage])
    h_close = np.concatenate([hist["close"], imp_close])
    h_amount = np.concatenate([hist["amount"], amount0[n_sim:]])
    sim.hist = dict(n=len(h_opp), opp=h_opp, time=h_time, stage=h_stage, close=h_close, amount=h_amount)
    # the opportunity row is the state of its last history row
    order = np.lexsort((h_time, h_opp))
    last = order[np.r_[h_opp[order][1:] != h_opp[order][:-1], True]]
    sim.opp.update(stage=h_stage[last], close=h_close[last], amount=h_amount[last], last_time=h_time[last])
    assert np.array_equal(h_opp[last], np.arange(n))
    st = np.array(_STAGES, dtype=object)
    sim.opp["is_closed"] = st[:, 3].astype(bool)[sim.opp["stage"]]
    sim.opp["is_won"] = st[:, 4].astype(bool)[sim.opp["stage"]]
    sim.opp["path_stats"] = hist["stats"]


def _simulate_paths(sim: _Sim, rng, n, won, created, emp, amount0, missing_amount):
    """Stage paths, durations, close-date pushes and amount changes, as history events.

    Vectorised over deals; the loops run over path steps (<= 14) and pushes (<= 5).
    """
    P, C, AM = _PATH, _CLOSE_DATE, _AMOUNT
    S = 14
    entry = np.where(rng.random(n) < P["p_enter_at_qualification"], 1, 0)
    drop = np.maximum(rng.choice(_N_OPEN, n, p=P["lost_at_stage_weights"]), entry)
    target = np.where(won, _N_OPEN - 1, drop)
    reopen = rng.random(n) < P["p_reopen"]
    path = np.full((n, S + 1), -1, np.int64)
    path[:, 0] = entry
    cur = entry.copy()
    done = np.zeros(n, bool)
    pending = np.zeros(n, bool)
    reopened = np.zeros(n, bool)
    back_used = np.zeros(n, bool)
    skipped = np.zeros(n, bool)
    for t in range(1, S + 1):
        act = ~done
        nxt = cur.copy()
        # a premature Closed Lost goes back to the stage before the target
        m_re = act & pending
        nxt[m_re] = np.maximum(target[m_re] - 1, 0)
        at = act & ~pending & (cur == target)
        pre = at & reopen & ~reopened
        nxt[at] = np.where(won[at], _WON, _LOST)
        nxt[pre] = _LOST
        mv = act & ~pending & (cur < target)
        u = rng.random(n)
        back = mv & (u < P["p_move_back"]) & (cur > 0) & ~back_used
        skip = mv & ~back & (u >= P["p_move_back"]) & (u < P["p_move_back"] + P["p_skip_stage"]) & (cur + 2 <= target)
        fwd = mv & ~back & ~skip
        nxt[back] = cur[back] - 1
        nxt[skip] = cur[skip] + 2
        nxt[fwd] = cur[fwd] + 1
        back_used |= back
        skipped |= skip
        done |= at & ~pre
        pending = (pending & ~m_re) | pre
        reopened |= pre
        path[act, t] = nxt[act]
        cur = nxt
        if done.all():
            break
    assert done.all(), "stage paths did not terminate"
    steps = (path >= 0).sum(axis=1) - 1  # transitions per deal

    # time spent in each state before the next transition
    state = path[:, :-1]
    valid = path[:, 1:] >= 0
    med = np.array([d[0] for d in _STAGE_DAYS])
    sig = np.array([d[1] for d in _STAGE_DAYS])
    st_safe = np.where(valid, state, 0)
    dur = med[st_safe] * np.exp(sig[st_safe] * rng.standard_normal(state.shape))
    size_f = np.clip((emp / 150.0) ** P["size_duration_elasticity"], 0.7, 1.6)
    dur *= size_f[:, None] * np.where(won, 1.0, P["lost_duration_factor"])[:, None]
    u_stall = rng.random(n)
    stall = u_stall < P["p_stall"] + P["p_long_stall"]
    stall_step = np.floor(rng.random(n) * steps).astype(np.int64)
    stall_f = np.where(
        u_stall < P["p_long_stall"], rng.uniform(*P["long_stall_factor"], n), rng.uniform(*P["stall_factor"], n)
    )
    rows = np.flatnonzero(stall)
    dur[rows, stall_step[rows]] *= stall_f[rows]
    dur = np.where(valid, np.maximum(dur, 0.05), 0.0)
    T = created[:, None] + np.concatenate(
        [np.zeros((n, 1), np.int64), np.cumsum((dur * _DAY).astype(np.int64), axis=1)], axis=1
    )

    # quarter-end seasonality: final closes are pulled into the last days of the quarter
    last_col = steps
    t_final = T[np.arange(n), last_col]
    day = t_final // _DAY
    qe = _quarter_end_day(day)
    p_pull = np.where(won, C["p_pull_to_quarter_end_won"], C["p_pull_to_quarter_end_lost"])
    target_day = qe - np.floor(rng.random(n) * C["quarter_end_last_days"]).astype(np.int64)
    pull = (qe - day <= C["quarter_end_window_days"]) & (rng.random(n) < p_pull) & (target_day > day)
    t_final = np.where(pull, target_day * _DAY + t_final % _DAY, t_final)
    T[np.arange(n), last_col] = t_final

    # expected close date set at creation, often the end of a quarter
    planned = np.array([med[e:_N_OPEN].sum() for e in range(_N_OPEN)])[entry] * _lognormal(rng, 1.0, 0.35, n)
    cd0 = created // _DAY + np.maximum(planned.astype(np.int64), 7)
    snap = rng.random(n) < C["p_snap_expected_to_quarter_end"]
    cd0 = np.where(snap, _quarter_end_day(cd0), cd0)

    # the first close (a premature Closed Lost or the final one)
    is_close = (path == _WON) | (path == _LOST)
    first_close_col = np.argmax(is_close, axis=1)
    t_close1 = T[np.arange(n), first_close_col]

    ev_opp, ev_t, ev_stage, ev_close, ev_amount = [], [], [], [], []

    def add(o, t, stage=None, close=None, amount=None):
        k = len(o)
        ev_opp.append(o)
        ev_t.append(t)
        ev_stage.append(np.full(k, -1) if stage is None else stage)
        ev_close.append(np.full(k, -1) if close is None else close)
        ev_amount.append(np.full(k, np.nan) if amount is None else amount)

    # creation row carries the full state
    add(np.arange(n), created, entry, cd0, np.where(missing_amount, np.nan, amount0))
    # stage changes; closing rows set CloseDate to the day of closing; a
    # reopening sets a fresh expected date
    o_idx, t_idx = np.nonzero(path[:, 1:] >= 0)
    t_idx = t_idx + 1
    stg = path[o_idx, t_idx]
    when = T[o_idx, t_idx]
    closing = (stg == _WON) | (stg == _LOST)
    reopening = path[o_idx, t_idx - 1] == _LOST
    close_val = np.where(closing, when // _DAY, -1)
    close_val = np.where(
        reopening, when // _DAY + np.maximum(_lognormal(rng, 30, 0.4, len(when)), 7).astype(np.int64), close_val
    )
    # amounts: one negotiated change mid-deal, and a discount on signature
    # (recorded on the Closed Won row, as Salesforce logs both in one change)
    change = (rng.random(n) < AM["p_change"]) & ~missing_amount & (t_close1 - created > 2 * _DAY)
    t_change = created + (rng.uniform(0.15, 0.85, n) * (t_close1 - created)).astype(np.int64)
    amount1 = np.maximum(np.round(amount0 * _lognormal(rng, 1.0, AM["change_sigma"], n), -2), 500.0)
    amount1 = np.where(amount1 == amount0, amount0 + 100.0, amount1)  # a change row changes something
    amount_at_close = np.where(change, amount1, amount0)
    disc = np.maximum(np.round(amount_at_close * rng.uniform(*AM["won_discount"], n), -2), 500.0)
    disc = np.where(disc == amount_at_close, np.maximum(disc - 100.0, 400.0), disc)
    final_won = (stg == _WON) & (rng.random(len(stg)) < AM["p_won_discount"]) & ~missing_amount[o_idx]
    add(o_idx, when, stg, close_val, np.where(final_won, disc[o_idx], np.nan))
    add(np.flatnonzero(change), t_change[change], amount=amount1[change])

    # close-date pushes while the deal runs past its expected date
    cd = cd0.copy()
    n_push = np.zeros(n, np.int64)
    for _ in range(C["max_pushes"]):
        need = t_close1 > (cd + 1 + C["push_grace_days"]) * _DAY
        if not need.any():
            break
        tp = (cd + 1) * _DAY + (rng.random(n) * C["push_grace_days"] * _DAY).astype(np.int64)
        push_day = tp // _DAY
        to_q = rng.random(n) < C["p_push_to_quarter_end"]
        new_cd = np.where(
            to_q,
            _quarter_end_day(push_day + 20),
            push_day + np.maximum(_lognormal(rng, C["push_median_days"], 0.5, n), 7).astype(np.int64),
        )
        new_cd = np.maximum(new_cd, push_day + 7)
        idx = np.flatnonzero(need)
        add(idx, tp[idx], close=new_cd[idx])
        cd = np.where(need, new_cd, cd)
        n_push += need

    e_opp = np.concatenate(ev_opp)
    e_t = np.concatenate(ev_t).astype(np.int64)
    e_stage = np.concatenate(ev_stage)
    e_close = np.concatenate(ev_close)
    e_amount = np.concatenate(ev_amount)
    seq = np.arange(len(e_opp))
    order = np.lexsort((seq, e_t, e_opp))
    e_opp, e_t, e_stage, e_close, e_amount = e_opp[order], e_t[order], e_stage[order], e_close[order], e_amount[order]
    # strictly increasing timestamps within a deal: ties get +1 s
    r = np.arange(len(e_opp))
    u = e_t - r + e_opp * (10**12)
    e_t = np.maximum.accumulate(u) + r - e_opp * (10**12)

    # forward-fill the state (each deal starts with a full creation row)
    def ffill(v, valid):
        idx = np.where(valid, r, 0)
        np.maximum.accumulate(idx, out=idx)
        return v[idx]

    e_stage = ffill(e_stage, e_stage >= 0)
    e_close = ffill(e_close, e_close >= 0)
    e_amount = ffill(e_amount, np.isfinite(e_amount) | (np.r_[True, e_opp[1:] != e_opp[:-1]]))
    # the export is taken at window end: later events have not happened yet
    keep = e_t < sim.t1
    stats = dict(
        deals=int(n),
        reopened=int(reopened.sum()),
        moved_back=int(back_used.sum()),
        skipped_a_stage=int(skipped.sum()),
        stalled=int(stall.sum()),
        long_stalled=int((u_stall < P["p_long_stall"]).sum()),
        pulled_to_quarter_end=int(pull.sum()),
        pushes=int(n_push.sum()),
        amount_changes=int(change.sum()),
        **_true_durations(e_opp, e_t, e_stage, created, t_final, sim.t1),
    )
    return dict(
        opp=e_opp[keep], time=e_t[keep], stage=e_stage[keep], close=e_close[keep], amount=e_amount[keep], stats=stats
    )


def _true_durations(e_opp, e_t, e_stage, created, t_final, t1) -> dict:
    """The durations the export can only partly show: every deal's path run to its end.

    Stage visits (runs of one open stage, ended by the next stage change) that began before the
    export, and the cycle (creation to final close) of deals created before it, in UTC calendar
    days as the analyses count them; the ones still running at the export are included with
    their full length, so these are what censoring-aware estimates should recover.
    No random draw is made.
    """
    day = e_t // _DAY
    change = np.r_[True, (e_opp[1:] != e_opp[:-1]) | (e_stage[1:] != e_stage[:-1])]
    start = np.flatnonzero(change)
    nxt = np.r_[start[1:], len(e_opp)]
    ends_in_deal = (nxt < len(e_opp)) & (e_opp[np.minimum(nxt, len(e_opp) - 1)] == e_opp[start])
    ok = ends_in_deal & (e_stage[start] < _N_OPEN) & (e_t[start] < t1)
    visit_days = day[nxt[ok]] - day[start[ok]]
    stage = e_stage[start[ok]]
    by_stage = {
        _STAGES[s][0]: dict(median=float(np.median(visit_days[stage == s])), n=int((stage == s).sum()))
        for s in range(_N_OPEN)
        if (stage == s).any()
    }
    made = created < t1
    cycle = t_final[made] // _DAY - created[made] // _DAY
    return dict(true_stage_visit_days=by_stage, true_cycle_days=dict(median=float(np.median(cycle)), n=int(made.sum())))
