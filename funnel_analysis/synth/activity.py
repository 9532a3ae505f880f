"""Marketing and sales activity: campaigns and their members, tasks and events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .arrowtext import _pool
from .model import _ACTIVITY, _CAMPAIGN_PLAN, _CAMPAIGN_TYPES, _DAY, _LEAD_SOURCES
from .sim import _repeat_children, _Sim
from .vocab import _EVENT_SUBJECTS, _REGIONS, _TRADE_SHOWS, _WEBINAR_TOPICS


def make_campaigns(sim: _Sim):
    """Campaigns of each type over the window (``sim.camp``), and the responses that created leads.

    Sets ``sim.lead["campaign"]``: the campaign a lead of a campaign source responded to (-1: none).
    """
    rng = sim.rng["campaigns"]
    k = max(1, int(round(np.sqrt(sim.scale))))
    span = sim.t1 - sim.t0
    rows = []
    for ti, ctype in enumerate(_CAMPAIGN_TYPES):
        per_year, promo_days, budget = _CAMPAIGN_PLAN[ctype]
        count = max(2, per_year * k * sim.years)
        spacing = span / count
        # the first campaign of each type starts before the window, so early leads have one
        starts = (sim.t0 - spacing / 2 + spacing * np.arange(count) + rng.uniform(-0.2, 0.2, count) * spacing).astype(
            np.int64
        )
        starts = np.sort(starts // _DAY)
        for sd in starts:
            rows.append((ti, int(sd), int(sd + promo_days), budget))
    nc = len(rows)
    ctype = np.array([r[0] for r in rows])
    start_d = np.array([r[1] for r in rows])
    end_d = np.array([r[2] for r in rows])
    lo = np.array([r[3][0] for r in rows], float)
    hi = np.array([r[3][1] for r in rows], float)
    budget = np.round(lo + rng.random(nc) * (hi - lo), -2)
    end_day = sim.t1 // _DAY
    completed = end_d < end_day
    actual = np.where(
        completed, np.round(budget * rng.uniform(0.8, 1.15, nc), 2), np.round(budget * rng.uniform(0.2, 0.7, nc), 2)
    )
    names = []
    for i in range(nc):
        d = pd.Timestamp(int(start_d[i]) * _DAY, unit="s")
        q = f"{d.year} Q{(d.month - 1) // 3 + 1}"
        t = _CAMPAIGN_TYPES[ctype[i]]
        if t == "Webinar":
            names.append(f"{q} Webinar: {_WEBINAR_TOPICS[i % len(_WEBINAR_TOPICS)]} ({d:%b %d})")
        elif t == "Trade Show":
            names.append(f"{_TRADE_SHOWS[i % len(_TRADE_SHOWS)]} {d.year} ({_REGIONS[i % 4]}, {d:%b %d})")
        elif t == "Email":
            names.append(f"Newsletter {d:%B %Y} #{i}")
        else:
            names.append(f"Paid Search {q} #{i}")
    created = (start_d - rng.integers(7, 45, nc)) * _DAY + rng.integers(8 * 3600, 18 * 3600, nc)
    sim.camp = dict(
        n=nc,
        type=ctype,
        start=start_d,
        end=end_d,
        budget=budget,
        actual=actual,
        completed=completed,
        name=_pool(names),
        created=created,
        owner=sim.managers[rng.integers(0, len(sim.managers), nc)],
    )

    # leads of a campaign-type source mostly responded to the latest campaign of that type
    L = sim.lead
    src_type = np.array([(_CAMPAIGN_TYPES.index(s[4]) if s[4] else -1) for s in _LEAD_SOURCES])[L["source"]]
    lead_camp = np.full(L["n"], -1, np.int64)
    created_day = L["created"] // _DAY
    for ti in range(len(_CAMPAIGN_TYPES)):
        cidx = np.flatnonzero(ctype == ti)
        m = src_type == ti
        pos = np.searchsorted(start_d[cidx], created_day[m], side="right") - 1
        ok = (pos >= 0) & (rng.random(m.sum()) < 0.9)
        lead_camp[np.flatnonzero(m)[ok]] = cidx[pos[ok]]
    L["campaign"] = lead_camp


def make_members(sim: _Sim):
    """Campaign members: the responses that created leads, and e-mail sends to leads and contacts.

    Sets ``sim.member``, one membership per (campaign, person).
    """
    rng, L, K, Cc = sim.rng["members"], sim.lead, sim.camp, sim.contact
    # responses that created the lead
    resp = np.flatnonzero(L["campaign"] >= 0)
    r_created = np.minimum(L["created"][resp] + rng.integers(30, 300, len(resp)), sim.t1 - 1)
    # e-mail sends to existing leads (not yet converted) and contacts
    email_c = np.flatnonzero(K["type"] == _CAMPAIGN_TYPES.index("Email"))
    email_start = K["start"][email_c]

    def sends(created_t, share, p_respond, blocked_after=None):
        k = int(round(share * len(created_t)))
        who = rng.choice(len(created_t), k, replace=True)
        first_ok = np.searchsorted(email_start, created_t[who] // _DAY + 1)
        span = len(email_c) - first_ok
        ok = span > 0
        pick = first_ok + np.floor(rng.random(k) * np.maximum(span, 1)).astype(np.int64)
        pick = np.minimum(pick, len(email_c) - 1)
        camp = email_c[pick]
        t = K["start"][camp] * _DAY + rng.integers(8 * 3600, 18 * 3600, k)
        ok &= t < sim.t1
        if blocked_after is not None:
            ok &= ~((blocked_after[who] >= 0) & (blocked_after[who] < t))
        responded = ok & (rng.random(k) < p_respond)
        t_resp = t + (rng.random(k) * 5 * _DAY).astype(np.int64)
        responded &= t_resp < sim.t1
        return who[ok], camp[ok], t[ok], responded[ok], t_resp[ok]

    lw, lc, lt, lr, ltr = sends(L["created"], 0.4, 0.08, blocked_after=L["conv_t"])
    cw, cc, ct, cr, ctr = sends(Cc["created"], 0.5, 0.15)
    lead = np.concatenate([resp, lw, np.full(len(cw), -1)])
    contact = np.concatenate([np.full(len(resp) + len(lw), -1), cw])
    camp = np.concatenate([L["campaign"][resp], lc, cc])
    created = np.concatenate([r_created, lt, ct])
    responded = np.concatenate([np.ones(len(resp), bool), lr, cr])
    resp_day = np.concatenate([r_created // _DAY, ltr // _DAY, ctr // _DAY])
    # one membership per (campaign, person): keep the earliest
    person = np.where(lead >= 0, lead, L["n"] + contact)
    order = np.lexsort((created, person, camp))
    key = camp[order] * (L["n"] + Cc["n"] + 1) + person[order]
    keep = order[np.r_[True, key[1:] != key[:-1]]]
    keep.sort()
    sim.member = dict(
        n=len(keep),
        lead=lead[keep],
        contact=contact[keep],
        campaign=camp[keep],
        created=created[keep],
        responded=responded[keep],
        resp_day=resp_day[keep],
    )


def make_activities(sim: _Sim):
    """Tasks on leads and deals, and events (meetings) on deals: ``sim.task`` and ``sim.event``."""
    rng, L, O = sim.rng["activities"], sim.lead, sim.opp
    ex = _ACTIVITY["lead_tasks_extra_mean"]
    conv, disq, work = L["status"] == 2, L["status"] == 3, L["status"] == 1
    lam = np.where(conv, ex["converted"], np.where(disq, ex["disqualified"], ex["working"]))
    route = getattr(sim, "routing", None)
    if route is None:
        n_lead_tasks = np.where(conv | disq | work, 1 + rng.poisson(lam), 0)
        lp, lt = _repeat_children(n_lead_tasks, L["created"], L["life_end"], rng)
    else:  # the first touch, then more tasks after it (the sequence e-mails are added below)
        touched = route.touched[: L["n"]]
        n_more = np.where(touched, rng.poisson(lam), 0)
        touch = route.touch[: L["n"]]
        mp, mt = _repeat_children(n_more, touch + 60, np.maximum(L["life_end"], touch + 120), rng)
        first = np.flatnonzero(touched)
        lp, lt = np.concatenate([first, mp]), np.concatenate([touch[first], mt])

    # deals: more activity on deals that win, and on longer deals
    simulated = ~O["imported"]
    closed_in_window = O["is_closed"]
    life_end = np.where(closed_in_window, O["last_time"], sim.t1)
    life_days = (life_end - O["created"]) / _DAY
    f = np.clip(life_days / _ACTIVITY["life_days_norm"], 0.4, 2.5)
    tm, em = _ACTIVITY["opp_tasks_mean"], _ACTIVITY["opp_events_mean"]
    lam_t = np.where(O["is_won"], tm["won"], np.where(O["is_closed"], tm["lost"], tm["open"]))
    lam_e = np.where(O["is_won"], em["won"], np.where(O["is_closed"], em["lost"], em["open"]))
    n_ot = np.where(simulated, rng.poisson(lam_t * f), 0)
    n_oe = np.where(simulated, rng.poisson(lam_e * f), 0)
    op, ot = _repeat_children(n_ot, O["created"], life_end, rng)
    ep, et = _repeat_children(n_oe, O["created"], life_end, rng)

    # tasks: lead tasks then deal tasks
    n_l, n_o = len(lp), len(op)
    n = n_l + n_o
    when = np.concatenate([lt, ot])
    parent_created = np.concatenate([L["created"][lp], O["created"][op]])
    created = np.maximum(when - (rng.random(n) * 2 * _DAY).astype(np.int64), parent_created)
    is_call = rng.random(n) < 0.55
    if route is not None:  # a touch is logged when it is done; later lead tasks never before the first touch
        created[:n_l] = np.maximum(created[:n_l], route.touch[lp])
        created[: len(first)] = when[: len(first)]
    # recent tasks may still be open
    recent = when > sim.t1 - 10 * _DAY
    open_task = recent & (rng.random(n) < 0.5)
    status = np.where(open_task, np.where(rng.random(n) < 0.5, 1, 2), 0)  # Completed, Not Started, In Progress
    opp_contact = L["contact"][O["lead"][op]] if n_o else np.zeros(0, np.int64)
    owner = np.concatenate([L["owner"][lp], O["owner"][op]])
    if route is not None:
        status[: len(first)] = 0  # a touch is done
        owner[:n_l] = route.owner_at(lp, created[:n_l])
    sim.task = dict(
        n=n,
        who_lead=np.concatenate([lp, np.full(n_o, -1)]),
        who_contact=np.concatenate([np.full(n_l, -1), opp_contact]),
        what_opp=np.concatenate([np.full(n_l, -1), op]),
        account=np.concatenate([np.full(n_l, -1), O["account"][op]]),
        when=when,
        created=created,
        is_call=is_call,
        status=status,
        priority=rng.choice(3, n, p=[0.8, 0.15, 0.05]),
        owner=owner,
        subject=rng.integers(0, 5, n),
    )
    if route is not None:
        route.lead_tasks(sim.task, n_l, len(first))
    ev_created = np.maximum(et - (rng.random(len(ep)) * 10 * _DAY).astype(np.int64), O["created"][ep])
    sim.event = dict(
        n=len(ep),
        who_contact=L["contact"][O["lead"][ep]] if len(ep) else np.zeros(0, np.int64),
        what_opp=ep,
        account=O["account"][ep],
        when=et,
        created=ev_created,
        duration=np.array([30, 45, 60, 90])[rng.choice(4, len(ep), p=[0.3, 0.2, 0.4, 0.1])],
        subject=rng.integers(0, len(_EVENT_SUBJECTS), len(ep)),
        owner=O["owner"][ep],
    )
