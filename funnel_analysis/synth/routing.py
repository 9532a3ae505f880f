"""Routing of the sample org (issue 20): teams, lead assignment rules, first touches and their truth.

The generator decides every lead's owner from rules of the form of ``routing_rules.yaml`` (the contract in
``/work/routing_spec.md``) by its own code: the criteria are evaluated here on the simulated values (the
ones Lead.csv shows), never through :mod:`funnel_analysis.crm.expression` or :mod:`funnel_analysis.routing`,
so the product's evaluator can be checked against this truth.

- **Teams** of SDRs: ``Enterprise`` (one SDR of North America and one of EMEA), one team per region
  (North America, EMEA, APAC); the last North America member joins mid-window (``active_from`` in the
  YAML, and his ``User.CreatedDate`` that day). LATAM leads fall to the default owner (a LATAM SDR).
- **Entries**, first match wins: company size (``number_of_employees >= 1000``), an industry
  (Healthcare, to a user), web leads of North America and EMEA to their region's queue, then one entry
  per region by country.
- **Round robin** inside a team: members in the listed order, skipping members not active on the
  lead's creation day (UTC); the pointer moves to the member after the one assigned, one lead at a
  time in (CreatedDate, Id) order.
- **Misroutes**: a known share of each entry's leads go to a rep outside the target (the queue's leads
  straight to a rep); **manual reassignments** after the first touch; queued leads taken by a rep of the
  region just before the rep's first touch.
- **First touches** in business minutes of the calendar (09:00-17:00 on weekdays but holidays, in the
  owner's ``TimeZoneSidKey``): a rep's own pace, faster for a higher ``Lead_Score__c``, slower from a
  queue, and a morning backlog for leads created out of hours; some leads are never touched. Some
  leads first get an automated ``[Outreach]`` e-mail logged as the owner's task, which is not a touch.
- **Conversion** depends on the score (through the lead's true probability) and on speed:
  ``p = p0 * (fast_multiplier if fast else 1) * g[source, maturity]`` (``g`` keeps each source's mean
  conversion), so the true fast/slow rate ratio is the same in every score band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import _DAY, _LEAD_SOURCES, _LEADS
from .sim import _lognormal
from .vocab import _COUNTRIES, _INDUSTRIES, _REGIONS

#: The routing model (written to truth.json ``routing.parameters``).
_ROUTING = dict(
    misroute={  # share of each entry's leads first given to an owner outside the target
        "Enterprise companies": 0.06,
        "Healthcare specialist": 0.05,
        "North America web to queue": 0.04,
        "EMEA web to queue": 0.04,
        "North America": 0.08,
        "EMEA": 0.08,
        "APAC": 0.10,
        "default": 0.05,
    },
    p_reassigned=0.06,  # a worked lead handed to a team mate after its first touch
    p_never_touched=0.06,
    rep_median_minutes=(15.0, 120.0),  # each rep's median first-touch delay (business minutes), uniform
    score_slope=0.03,  # log delay per score point above 50 (reps answer high scores first)
    sigma=0.9,
    queue_factor=2.0,  # slower out of a queue
    backlog_minutes=90.0,  # created out of hours: up to this many business minutes of morning backlog
    p_team_touch=0.10,  # the first touch logged by a team mate
    p_sequence=0.25,  # an automated [Outreach] e-mail before the first touch (not a touch)
    fast_minutes=60,
    fast_multiplier=1.6,  # the true effect: conversion probability fast / slow
    max_p=0.97,
    sla_minutes=120,
    joiner_at=0.4,  # the mid-window joiner starts this share of the way through the window
    score_noise=12.0,
)
#: The opportunity routing (by deal size, then by the account's region; truth.json ``routing.opportunities``).
_OPP_ROUTING = dict(
    large_amount=75000,  # the deal's Amount at creation (corporate currency): the Strategic AEs' round robin
    misroute=0.05,  # share of large deals given to an AE outside the Strategic team
)
_TZ = ("America/New_York", "Europe/London", "Asia/Singapore", "America/Sao_Paulo")
_CAL_TZ = "America/New_York"
_HOURS = (9 * 3600, 17 * 3600)
_COUNTRY_NAMES = [c[0] for c in _COUNTRIES]
_REGION_COUNTRIES = [[c[0] for c in _COUNTRIES if c[2] == r] for r in _REGIONS]
_HEALTHCARE = [x[0] for x in _INDUSTRIES].index("Healthcare")
_WEB = [s[0] for s in _LEAD_SOURCES].index("Web")
_SEQ_SUBJECT = "[Outreach] Intro email"


def _holidays(first_year: int, last_year: int) -> list[str]:
    """New Year's Day, the last Monday of May, Christmas and Boxing Day of each year (weekdays only)."""
    out = []
    for y in range(first_year, last_year + 1):
        may = pd.Timestamp(f"{y}-05-31")
        last_monday = may - pd.Timedelta(days=may.weekday())
        for d in (pd.Timestamp(f"{y}-01-01"), last_monday, pd.Timestamp(f"{y}-12-25"), pd.Timestamp(f"{y}-12-26")):
            if d.weekday() < 5:
                out.append(d.date().isoformat())
    return sorted(out)


class _Clock:
    """Business seconds of one time zone: 09:00-17:00 local on weekdays that are not holidays."""

    def __init__(self, tz: str, d0: int, d1: int, holidays: list[str]):
        days = pd.date_range(pd.Timestamp(d0 * _DAY, unit="s"), pd.Timestamp(d1 * _DAY, unit="s"), freq="D")
        hol = pd.DatetimeIndex(pd.to_datetime(holidays))
        days = days[(days.day_of_week < 5) & ~days.isin(hol)]
        start = (days + pd.Timedelta(seconds=_HOURS[0])).tz_localize(tz).tz_convert("UTC")
        end = (days + pd.Timedelta(seconds=_HOURS[1])).tz_localize(tz).tz_convert("UTC")
        self.start = start.as_unit("s").asi8.astype(np.int64)
        self.end = end.as_unit("s").asi8.astype(np.int64)
        length = self.end - self.start
        self.cum = np.r_[0, np.cumsum(length)[:-1]]
        self.cum_end = self.cum + length

    def pos(self, t: np.ndarray) -> np.ndarray:
        """Business seconds from the calendar's start to ``t``."""
        t = np.asarray(t, np.int64)
        i = np.searchsorted(self.start, t, side="right") - 1
        ok = i >= 0
        j = np.maximum(i, 0)
        inside = np.clip(t - self.start[j], 0, self.end[j] - self.start[j])
        return np.where(ok, self.cum[j] + inside, 0)

    def at(self, pos: np.ndarray) -> np.ndarray:
        """The instant ``pos`` business seconds after the calendar's start (inside business hours)."""
        pos = np.asarray(pos, np.int64)
        j = np.minimum(np.searchsorted(self.cum_end, pos, side="left"), len(self.start) - 1)
        return self.start[j] + (pos - self.cum[j])


class _Routing:
    """The routing of one run: teams, entries, each lead's route and first touch (real leads then duplicates)."""

    def __init__(self, sim, queues: bool):
        self.sim, self.queues = sim, queues
        seqs = np.random.SeedSequence(sim.seed, spawn_key=(1020,)).spawn(3)
        self.rng = [np.random.default_rng(s) for s in seqs]
        self.R = _ROUTING
        self._teams()
        y0 = pd.Timestamp(sim.t0, unit="s").year
        y1 = pd.Timestamp(sim.t1, unit="s").year + 1
        self.holidays = _holidays(y0 - 1, y1)
        d0, d1 = sim.t0 // _DAY - 400, sim.t1 // _DAY + 400
        self.clocks = [_Clock(tz, d0, d1, self.holidays) for tz in _TZ]

    # -- teams and rules --------------------------------------------------------------------
    def _teams(self) -> None:
        sim = self.sim
        U = sim.users
        sdr = [list(m) for m in sim.sdr_by_region]
        ent = [sdr[0][-1]] + ([sdr[1][-1]] if len(sdr[1]) > 1 else [])
        na = [u for u in sdr[0] if u not in ent]
        emea = [u for u in sdr[1] if u not in ent] or sdr[1]
        self.teams = {"Enterprise": ent, "North America": na, "EMEA": emea, "APAC": sdr[2]}
        self.start_day = np.full(U["n"], -(10**9), np.int64)
        self.joiner = na[-1] if len(na) > 1 else -1
        if self.joiner >= 0:
            day = (sim.t0 + int(self.R["joiner_at"] * (sim.t1 - sim.t0))) // _DAY
            self.start_day[self.joiner] = day
            U["created"][self.joiner] = day * _DAY + 9 * 3600 + 1234
        self.specialist = na[0]
        self.default_owner = sdr[3][0]
        self.sdrs = np.array(sorted(u for m in sdr for u in m))
        self.team_of_user = {}
        for name, members in self.teams.items():
            for u in members:
                self.team_of_user.setdefault(int(u), name)
        # the entries: (name, kind, target); kind team | user | queue (the queue of a region)
        e = [("Enterprise companies", "team", "Enterprise"), ("Healthcare specialist", "user", self.specialist)]
        if self.queues:
            e += [("North America web to queue", "queue", 0), ("EMEA web to queue", "queue", 1)]
        e += [("North America", "team", "North America"), ("EMEA", "team", "EMEA"), ("APAC", "team", "APAC")]
        self.entries = e

    def criteria(self, name: str) -> str:
        na = ", ".join(f"'{c}'" for c in _REGION_COUNTRIES[0])
        emea = ", ".join(f"'{c}'" for c in _REGION_COUNTRIES[1])
        apac = ", ".join(f"'{c}'" for c in _REGION_COUNTRIES[2])
        return {
            "Enterprise companies": "number_of_employees >= 1000",
            "Healthcare specialist": "industry == 'Healthcare'",
            "North America web to queue": f"lead_source == 'Web' and country in ({na})",
            "EMEA web to queue": f"lead_source == 'Web' and country in ({emea})",
            "North America": f"country in ({na})",
            "EMEA": f"country in ({emea})",
            "APAC": f"country in ({apac})",
        }[name]

    def _match(self, name, employees, industry, source, region):
        """The generator's own evaluation of an entry's criteria (null fields never match)."""
        if name == "Enterprise companies":
            return employees >= 1000
        if name == "Healthcare specialist":
            return industry == _HEALTHCARE
        if name == "North America web to queue":
            return (source == _WEB) & (region == 0)
        if name == "EMEA web to queue":
            return (source == _WEB) & (region == 1)
        return region == {"North America": 0, "EMEA": 1, "APAC": 2}[name]

    def active(self, users: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.asarray(t) // _DAY >= self.start_day[np.asarray(users)]

    # -- the route of every lead ------------------------------------------------------------------
    def route(self) -> None:
        """Entry, target, round-robin rep, first and final owner, touches; updates the leads' outcome."""
        sim, R, rng = self.sim, self.R, self.rng[0]
        L, D, co = sim.lead, sim.lead_dups, sim.co
        nL, nD = L["n"], D["n"]
        n = nL + nD
        src = np.concatenate([np.arange(nL), D["src"]])
        comp = L["comp"][src]
        created = np.concatenate([L["created"], D["created"]])
        employees = np.where(L["has_size"][src], co["employees"][comp], -1)
        industry = np.where(L["has_industry"][src], co["industry"][comp], -1)
        source = np.concatenate([L["source"], D["source"]])
        region = L["region"][src]
        entry = np.full(n, -1, np.int64)
        for k, (name, _, _) in enumerate(self.entries):
            m = (entry < 0) & self._match(name, employees, industry, source, region)
            entry[m] = k
        self.n, self.src, self.created, self.region, self.entry = n, src, created, region, entry
        kind = np.array([e[1] for e in self.entries] + ["user"])[entry]  # -1 -> the default (last)
        # round robin inside each team, in (CreatedDate, Id) order: Ids follow (created, entity index)
        expected = np.full(n, -1, np.int64)
        for k, (_, knd, target) in enumerate(self.entries):
            if knd == "user":
                expected[entry == k] = target
            elif knd == "team":
                members = np.array(self.teams[target])
                idx = np.flatnonzero(entry == k)
                idx = idx[np.lexsort((idx, created[idx]))]
                day = created[idx] // _DAY
                ok = day[:, None] >= self.start_day[members][None, :]
                p = 0
                for row, i in enumerate(idx):
                    for step in range(len(members)):
                        j = (p + step) % len(members)
                        if ok[row, j]:
                            expected[i] = members[j]
                            p = j + 1
                            break
        expected[entry < 0] = self.default_owner
        self.expected = expected
        # misroutes: the first owner outside the target
        share = np.array([R["misroute"][e[0]] for e in self.entries] + [R["misroute"]["default"]])
        mis = rng.random(n) < share[entry]
        u = rng.random((n, 4))
        first = expected.copy()  # users; queues as -1 - region
        queue_target = np.array([e[2] if e[1] == "queue" else -1 for e in self.entries] + [-1])[entry]
        is_queue = queue_target >= 0
        first[is_queue] = -1 - queue_target[is_queue]
        team_members = {name: set(m) for name, m in self.teams.items()}
        for i in np.flatnonzero(mis):
            k = entry[i]
            if is_queue[i]:
                pool = self.teams[_TEAM_OF_REGION[region[i]]]
            elif kind[i] == "team":
                pool = [s for s in self.sdrs if s not in team_members[self.entries[k][2]]]
            else:
                pool = [s for s in self.sdrs if s != expected[i]]
            pool = [s for s in pool if self.start_day[s] <= created[i] // _DAY]
            if not pool:
                mis[i] = False
                continue
            first[i] = pool[int(u[i, 0] * len(pool))]
        self.misrouted = mis
        queued = first < 0
        # the touch: business seconds from creation in the clock of the rep who works the lead
        rep_median = rng.uniform(*R["rep_median_minutes"], sim.users["n"])
        score, has_score = self._scores(rng)
        self.score, self.has_score = score, has_score
        picker = first.copy()
        for i in np.flatnonzero(queued):
            pool = [s for s in self.teams[_TEAM_OF_REGION[region[i]]] if self.start_day[s] <= created[i] // _DAY]
            picker[i] = pool[int(u[i, 1] * len(pool))]
        worker = picker  # the first user owner: touches the lead
        minutes = _lognormal(rng, 1.0, R["sigma"], n) * rep_median[worker]
        minutes *= np.exp(-R["score_slope"] * (np.where(has_score, score, 50.0) - 50.0))
        minutes *= np.where(queued, R["queue_factor"], 1.0)
        tz = np.asarray(sim.users["region"])[worker]
        pos_c = np.zeros(n, np.int64)
        for r, clock in enumerate(self.clocks):
            m = tz == r
            pos_c[m] = clock.pos(created[m])
        out_of_hours = np.zeros(n, bool)
        for r, clock in enumerate(self.clocks):
            m = tz == r
            out_of_hours[m] = clock.pos(created[m] + 1) == pos_c[m]
        minutes += np.where(out_of_hours, rng.random(n) * R["backlog_minutes"], 0.0)
        delay = np.maximum(np.round(minutes * 60), 60).astype(np.int64)
        touch = np.zeros(n, np.int64)
        for r, clock in enumerate(self.clocks):
            m = tz == r
            touch[m] = clock.at(pos_c[m] + delay[m])
        limit = int(created.max()) - 3600
        never = rng.random(n) < R["p_never_touched"]
        touched = ~never & (touch < limit)
        self.tz, self.touch, self.touched, self.worker = tz, touch, touched, worker
        self.business_seconds = delay
        pick = np.maximum(touch - rng.integers(60, 1200, n), created + 60)
        self.pick = np.where(queued & touched, pick, -1)
        self.queued, self.in_queue = queued, queued & ~touched
        self._outcome(rng)
        # manual reassignments after the first touch, to a team mate active then
        end = self.end
        lim = np.where(end >= 0, end, limit)
        t_re = touch + 600 + (rng.random(n) * np.maximum(lim - touch - 1200, 1)).astype(np.int64)
        re = touched & ~queued & (lim - touch > 3 * 3600) & (rng.random(n) < R["p_reassigned"])
        final = np.where(queued, picker, first)
        for i in np.flatnonzero(re):
            team = self.team_of_user.get(int(first[i]))
            pool = [
                s for s in (self.teams[team] if team else []) if s != first[i] and self.start_day[s] <= t_re[i] // _DAY
            ]
            if not pool:
                re[i] = False
                continue
            final[i] = pool[int(u[i, 2] * len(pool))]
        self.reassigned = re
        self.t_re = np.where(re, t_re, -1)
        # a lead still in a queue: its owner field stays a user for the simulation (the queue in Lead.csv)
        self.first, self.final = first, final
        L["owner"] = final[:nL].copy()
        D["owner"] = final[nL:].copy()
        L["cbc_ok"] = (kind[:nL] != "team") & ~queued[:nL]

    def _scores(self, rng):
        """Lead_Score__c of every lead (a duplicate shows its original's): the true probability's
        percentile, blurred (drawn before speed and conversion, which it drives)."""
        L = self.sim.lead
        p = L["p_convert"]
        rank = np.argsort(np.argsort(p, kind="stable"), kind="stable") / max(len(p) - 1, 1)
        score = np.clip(np.round(100 * rank + self.R["score_noise"] * rng.standard_normal(len(p)), 1), 0, 100)
        has = rng.random(len(p)) < 0.9
        L["score"], L["has_score"] = score, has
        return score[self.src], has[self.src]

    def _outcome(self, rng) -> None:
        """Conversion from score and speed; disqualification and working status after the touch."""
        sim, R = self.sim, self.R
        L, D = sim.lead, sim.lead_dups
        nL = L["n"]
        touched, touch = self.touched[:nL], self.touch[:nL]
        created = L["created"]
        fast = touched & (self.business_seconds[:nL] <= R["fast_minutes"] * 60)
        p0 = L["p_convert"]
        raw = np.where(touched, p0 * np.where(fast, R["fast_multiplier"], 1.0), 0.0)
        rate = np.array([s[2] for s in _LEAD_SOURCES])
        p = raw.copy()
        for s in range(len(_LEAD_SOURCES)):
            for mat in (True, False):
                g = np.flatnonzero((L["source"] == s) & (L["mature"] == mat))
                if len(g) and raw[g].sum() > 0:
                    q = raw[g]
                    for _ in range(30):  # the group's mean is the source's rate, a few capped at max_p
                        q = np.minimum(q * rate[s] / q.mean(), R["max_p"])
                        if abs(q.mean() - rate[s]) < 1e-12:
                            break
                    p[g] = q
        self.clipped = int((p >= R["max_p"]).sum())
        will = rng.random(nL) < p
        delay = np.minimum(
            _lognormal(rng, _LEADS["conversion_delay_median_days"], _LEADS["conversion_delay_sigma"], nL),
            _LEADS["conversion_delay_max_days"],
        )
        conv_t = np.maximum(created + (delay * _DAY).astype(np.int64), touch + 600)
        converted = will & touched & (conv_t < sim.t1) & (conv_t <= created + int(85 * _DAY))
        disq_t = created + (_lognormal(rng, _LEADS["disqualify_median_days"], _LEADS["disqualify_sigma"], nL) * _DAY)
        disq_t = np.where(touched, np.maximum(disq_t.astype(np.int64), touch + 3600), disq_t.astype(np.int64))
        disqualified = ~converted & (disq_t < sim.t1)
        working = ~converted & ~disqualified & touched
        # what is known when a lead is created (before its reply speed): the best a lead score can rank by
        L["p_convert_at_creation"] = np.asarray(p0, dtype=float).copy()
        L["p_convert"], L["will_convert"], L["converted"] = p, will, converted
        L["conv_t"] = np.where(converted, conv_t, -1)
        L["status"] = np.where(converted, 2, np.where(disqualified, 3, np.where(working, 1, 0)))
        L["life_end"] = np.where(converted, conv_t, np.where(disqualified, disq_t, sim.t1))
        self.fast = np.concatenate([fast, np.zeros(D["n"], bool)])
        # duplicates: worked when touched; a disqualified one may never have been touched
        dt = self.touched[nL:]
        D["status"] = np.where(D["status"] == 3, 3, np.where(dt, 1, 0))
        self.end = np.concatenate(
            [np.where(converted, conv_t, np.where(disqualified, disq_t, -1)), np.full(D["n"], -1)]
        )


_TEAM_OF_REGION = {0: "North America", 1: "EMEA", 2: "APAC", 3: "APAC"}
_AE_TEAMS = ("North America AEs", "EMEA AEs", "APAC AEs", "LATAM AEs")


def route_opportunities(route) -> None:
    """Opportunity owners by deal size (call after ``make_opportunities``): a deal whose Amount at creation is at
    least ``large_amount`` goes to the Strategic AEs' round robin (in (CreatedDate, Id) order), a known share of
    them to another AE instead; every other deal keeps the owner the pipeline gave it (its account's owner, or
    an AE of its region), which the rules send to its account region's AE team (the Strategic AEs are members
    of their region's team too). Sets ``sim.opp["owner"]`` and the truth's ``route.opp_*``."""
    sim, R = route.sim, _OPP_ROUTING
    O, A = sim.opp, sim.acct
    rng = np.random.default_rng(np.random.SeedSequence(sim.seed, spawn_key=(1021,)))
    ae = [list(map(int, m)) for m in sim.ae_by_region]
    strategic = [m[-1] for m in ae[:2] if len(m) > 1]
    route.ae_teams = {"Strategic AEs": strategic}
    for r, name in enumerate(_AE_TEAMS):
        route.ae_teams[name] = ae[r]  # the Strategic AEs keep their region's smaller deals
    n = O["n"]
    created = O["created"]
    amount = np.where(O["missing_amount"], np.nan, sim.hist["amount"][_first_rows(sim.hist, n)])
    large = np.isfinite(amount) & (amount >= R["large_amount"]) if strategic else np.zeros(n, bool)
    region = A["region"][O["account"]]
    owner = O["owner"].copy()
    idx = np.flatnonzero(large)
    idx = idx[np.lexsort((idx, created[idx]))]
    expected = np.full(n, -1, np.int64)
    for k, i in enumerate(idx):
        expected[i] = strategic[k % len(strategic)]
    others = np.array(sorted(set(u for m in ae for u in m) - set(strategic)))
    mis = large & (rng.random(n) < R["misroute"]) & (len(others) > 0)
    pick = (
        others[(rng.random(n) * max(len(others), 1)).astype(np.int64) % max(len(others), 1)] if len(others) else owner
    )
    owner = np.where(large, np.where(mis, pick, expected), owner)
    O["owner"] = owner
    team = np.where(large, "Strategic AEs", np.array(_AE_TEAMS, dtype=object)[region])
    members = {t: set(m) for t, m in route.ae_teams.items()}
    route.opp_team = team
    route.opp_expected = expected
    route.opp_large = large
    route.opp_misrouted = np.array([int(o) not in members[t] for o, t in zip(owner, team, strict=True)], bool)


def _first_rows(H, n: int) -> np.ndarray:
    """Each deal's first stage-history row (by time, then row order)."""
    order = np.lexsort((np.arange(H["n"]), H["time"], H["opp"]))
    opp = H["opp"][order]
    first = order[np.r_[True, opp[1:] != opp[:-1]]]
    out = np.zeros(n, np.int64)
    out[H["opp"][first]] = first
    return out


def opportunity_truth(route, opp_ids: list[str], user_ids: list[str], keep=None) -> tuple[pd.DataFrame, dict]:
    """``routing_opportunities.csv`` (per deal: entry, target team, round-robin AE, owner, misrouted) and its
    summary for ``routing_truth.json`` (``opportunities``); ``keep`` (bool per deal) leaves deleted deals out."""
    n = len(route.opp_team)
    keep = np.ones(n, bool) if keep is None else np.asarray(keep, bool)
    uid = np.array(user_ids, dtype=object)
    entry = np.where(route.opp_large, "Large deals", route.opp_team)
    exp = np.where(route.opp_expected >= 0, uid[np.maximum(route.opp_expected, 0)], "")
    df = pd.DataFrame(
        {
            "opportunity_id": np.asarray(opp_ids, dtype=object),
            "entry": entry,
            "target": route.opp_team,
            "expected_owner_id": exp,
            "owner_id": uid[route.sim.opp["owner"]],
            "misrouted": np.where(route.opp_misrouted, "true", "false"),
        }
    )[keep]
    m = route.opp_misrouted[keep]
    e = entry[keep]
    info = dict(
        misroute_share=float(m.mean()) if len(m) else None,
        misroute_share_by_entry={x: float(m[e == x].mean()) for x in sorted(set(e))},
        n_deals=int(keep.sum()),
        n_large=int(route.opp_large[keep].sum()),
        parameters=dict(_OPP_ROUTING),
    )
    return df.reset_index(drop=True), info


def _owner_at(route, lead: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The user who owns each lead at time ``t`` (after its first touch): the rep who worked it, then
    the team mate it was reassigned to."""
    after = (route.t_re[lead] >= 0) & (t >= route.t_re[lead])
    return np.where(after, route.final[lead], route.worker[lead])


def _lead_tasks(route, T: dict, n_l: int, n_first: int) -> None:
    """Who logged each task (``created_by``), its subtype and completion; add the sequence e-mails."""
    sim, R, rng = route.sim, route.R, route.rng[1]
    n = T["n"]
    by = T["owner"].copy()
    # some first touches are logged by a team mate of the rep (covering): still a touch by the team
    mate = by[:n_first].copy()
    for j in np.flatnonzero(rng.random(n_first) < R["p_team_touch"]):
        team = route.team_of_user.get(int(mate[j]))
        pool = [s for s in (route.teams[team] if team else []) if s != mate[j]]
        pool = [s for s in pool if route.start_day[s] <= T["created"][j] // _DAY]
        if pool:
            mate[j] = pool[int(rng.random() * len(pool))]
    by[:n_first] = mate
    T["created_by"] = by
    T["sequence"] = np.zeros(n, bool)
    T["completed"] = np.where(T["status"] == 0, np.maximum(T["when"], T["created"]), -1)
    # automated sequence e-mails, logged as the owner's tasks minutes after creation: not a touch
    nL = sim.lead["n"]
    limit = int(route.created.max()) - 3600
    cand = np.flatnonzero(~route.queued[:nL] & (route.created[:nL] + 900 < limit))
    seq = cand[rng.random(len(cand)) < R["p_sequence"]]
    t = route.created[seq] + rng.integers(60, 900, len(seq))
    n_seq = len(seq)
    # the duplicates' first touches (their leads are after the simulated ones in entity order)
    dups = nL + np.flatnonzero(route.touched[nL:])
    t = np.concatenate([t, route.touch[dups]])
    seq = np.concatenate([seq, dups])
    k = len(seq)
    is_seq = np.arange(k) < n_seq
    who = np.where(is_seq, route.first[seq], route.worker[seq])
    add = dict(
        who_lead=seq,
        who_contact=np.full(k, -1),
        what_opp=np.full(k, -1),
        account=np.full(k, -1),
        when=t,
        created=t,
        is_call=~is_seq & (rng.random(k) < 0.55),
        status=np.zeros(k, np.int64),
        priority=np.zeros(k, np.int64),
        owner=who,
        subject=np.where(is_seq, 0, rng.integers(0, 5, k)),
        created_by=who,
        sequence=is_seq,
        completed=t,
    )
    for key, v in add.items():
        T[key] = np.concatenate([np.asarray(T[key]), np.asarray(v).astype(np.asarray(T[key]).dtype)])
    T["n"] = n + k
    route.n_sequence = n_seq


_Routing.owner_at = _owner_at
_Routing.route_opportunities = route_opportunities
_Routing.lead_tasks = _lead_tasks


# -- the rules file, the calendar files and the truth --------------------------------------------------
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def rules_yaml(route, user_ids: list[str], queue_ids: list[str]) -> str:
    """``routing_rules.yaml``: the rules the generator routed by, in the contract's form."""
    R = route.R

    def members(team):
        out = []
        for u in route.teams[team]:
            if route.start_day[u] > -(10**8):
                day = pd.Timestamp(int(route.start_day[u]) * _DAY, unit="s").date().isoformat()
                out.append(f'{{id: {user_ids[u]}, active_from: "{day}"}}')
            else:
                out.append(user_ids[u])
        return "[" + ", ".join(out) + "]"

    lines = [
        "# The sample org's routing rules (written by funnel_analysis.synth.routing, GENERATOR_VERSION 1.3).",
        "# data/examples/routing_rules.yaml is this file of the default sample (funnel sample --scale 1 --seed 0):",
        "#   make sample && cp data/sample_truth/routing_rules.yaml data/examples/routing_rules.yaml",
        "version: 1",
        "teams:",
    ]
    for team in route.teams:
        lines += [f"  {team}:", f"    members: {members(team)}", "    method: round_robin"]
    ae_teams = getattr(route, "ae_teams", {})
    for team, m in ae_teams.items():
        lines += [f"  {team}:", "    members: [" + ", ".join(user_ids[u] for u in m) + "]", "    method: round_robin"]
    lines.append("lead_assignment:")
    for name, kind, target in route.entries:
        crit = route.criteria(name).replace('"', '\\"')
        if kind == "team":
            to = f"{{team: {target}}}"
        elif kind == "user":
            to = f"{{user: {user_ids[target]}}}"
        else:
            to = f"{{queue: {queue_ids[target]}}}"
        lines += [f"  - name: {name}", f'    criteria: "{crit}"', f"    assign_to: {to}"]
    lines += [
        f"default_owner: {{user: {user_ids[route.default_owner]}}}",
    ]
    if ae_teams:
        lines.append("opportunity_assignment:")
        big = _OPP_ROUTING["large_amount"]
        lines += ["  - name: Large deals", f'    criteria: "amount >= {big}"', "    assign_to: {team: Strategic AEs}"]
        for r, team in enumerate(_AE_TEAMS):
            lines += [
                f"  - name: {team}",
                f"    criteria: \"account.region == '{_REGIONS[r]}'\"",
                f"    assign_to: {{team: {team}}}",
            ]
    else:
        lines.append("opportunity_assignment: []")
    lines += [
        "sla:",
        f"  first_touch_minutes: {R['sla_minutes']}",
        "  business_hours: true",
        "touches:",
        "  task_types: [Call, Email, Meeting]",
        "  event: true",
        "  by: owner_or_team",
        "  exclude_subtypes: []",
        "  exclude_subjects: ['[[]Outreach]*']   # fnmatch: '[[]' is a literal '['",
        "calendar:",
        f"  time_zone: {_CAL_TZ}",
        '  hours: {mon: "09:00-17:00", tue: "09:00-17:00", wed: "09:00-17:00", thu: "09:00-17:00", fri: "09:00-17:00"}',
        "  holidays: [" + ", ".join(f'"{d}"' for d in route.holidays) + "]",
        "stage_criteria:",
        "  Needs Analysis:",
        "    - amount > 0",
        "    - next_step is not null",
        "  Proposal/Price Quote:",
        "    - budget_confirmed == true",
    ]
    return "\n".join(lines) + "\n"


def calendar_tables(route, new_ids) -> dict:
    """``BusinessHours.csv`` (one default row, 09:00-17:00 on weekdays) and ``Holiday.csv`` (all-day,
    not recurring), in Salesforce's shape."""
    import pyarrow as pa

    bh = {"Id": new_ids("business_hours", 1).to_pylist(), "Name": ["Default"], "IsDefault": ["true"]}
    bh.update({"IsActive": ["true"], "TimeZoneSidKey": [_CAL_TZ]})
    for i, day in enumerate(_DAYS):
        bh[f"{day}StartTime"] = ["09:00:00.000Z" if i < 5 else None]
        bh[f"{day}EndTime"] = ["17:00:00.000Z" if i < 5 else None]
    names = {"01-01": "New Year's Day", "12-25": "Christmas Day", "12-26": "Boxing Day"}
    hol = route.holidays
    h = {
        "Id": new_ids("holidays", len(hol)).to_pylist(),
        "Name": [names.get(d[5:], "Spring Bank Holiday") for d in hol],
        "ActivityDate": hol,
        "IsAllDay": ["true"] * len(hol),
        "StartTimeInMinutes": [None] * len(hol),
        "EndTimeInMinutes": [None] * len(hol),
        "IsRecurrence": ["false"] * len(hol),
    }
    string = pa.string()
    return {
        "BusinessHours.csv": pa.table({k: pa.array(v, string) for k, v in bh.items()}),
        "Holiday.csv": pa.table({k: pa.array(v, string) for k, v in h.items()}),
    }


def routing_truth(route, lead_ids, user_ids, queue_ids, cbc: np.ndarray, first_code: np.ndarray, t_owner):
    """``routing_leads.csv`` (one row per kept lead, real then duplicates) and ``routing_truth.json``."""
    sim, R = route.sim, route.R
    n = route.n
    names = [e[0] for e in route.entries] + ["default"]
    kinds = [e[1] for e in route.entries] + ["user"]
    k = np.where(route.entry < 0, len(route.entries), route.entry)
    owner_text = np.array(user_ids + queue_ids, dtype=object)
    first = np.asarray(first_code)  # the history's first owner: users, then queues from nU
    targets = []
    for e in route.entries:
        targets.append(e[2] if e[1] == "team" else (user_ids[e[2]] if e[1] == "user" else queue_ids[e[2]]))
    targets.append(user_ids[route.default_owner])
    expected = np.where(np.array(kinds)[k] == "queue", -1, route.expected)
    exp_text = np.where(expected >= 0, owner_text[np.maximum(expected, 0)], np.array(targets, dtype=object)[k])
    misrouted = np.where(cbc, (expected >= 0) & (first != expected), route.misrouted)
    touched = route.touched & ~cbc
    bmin = route.business_seconds / 60.0
    created = route.created
    breached = ~touched | (bmin > R["sla_minutes"])
    iso = np.char.add(np.datetime_as_string(route.touch.astype("datetime64[s]"), unit="s"), "Z")
    touch_at = np.where(touched, iso, "").astype(object)
    df = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "entry": np.array(names, dtype=object)[k],
            "target_kind": np.array(kinds, dtype=object)[k],
            "target": np.array(targets, dtype=object)[k],
            "expected_owner_id": exp_text,
            "first_owner_id": owner_text[first],
            "misrouted": misrouted,
            "reassignments": (np.asarray(t_owner) >= 0).astype(int),
            "first_touch_at": touch_at,
            "business_minutes_to_touch": np.where(touched, np.round(bmin, 3), np.nan),
            "breached": np.where(cbc, None, breached),
        }
    )
    df["misrouted"] = np.where(df["misrouted"], "true", "false")
    df["breached"] = df["breached"].map({True: "true", False: "false"}).fillna("")
    # the SLA population: created at least 30 days before the window's end, not re-created (cbc)
    pop = (created <= sim.t1 - 30 * _DAY) & ~cbc
    team_of = np.array([route.team_of_user.get(int(w), "none") for w in route.worker], dtype=object)
    by_entry = {nm: float(misrouted[k == i].mean()) for i, nm in enumerate(names) if (k == i).any()}
    by_team = {t: float(breached[pop & (team_of == t)].mean()) for t in sorted(set(team_of[pop]))}
    # the delay effect: the true ratio, and what a raw and a per-band comparison of the probabilities gives
    L = sim.lead
    nL = L["n"]
    real = np.zeros(n, bool)
    real[:nL] = True
    p = np.zeros(n)
    p[:nL] = L["p_convert"]
    has = route.has_score & real & touched
    band = np.clip((route.score // 20).astype(int), 0, 4)
    fast = route.fast & touched
    slow = ~route.fast & touched

    def ratio(m):
        a, b = p[m & fast], p[m & slow]
        return float(a.mean() / b.mean()) if len(a) and len(b) and b.mean() > 0 else None

    bands = {f"{20 * b}-{20 * b + 20}": ratio(has & (band == b)) for b in range(5)}
    info = dict(
        misroute_share=float(misrouted.mean()),
        misroute_share_by_entry=by_entry,
        sla_breach_share=float(breached[pop].mean()),
        sla_breach_share_by_team=by_team,
        sla=dict(
            first_touch_minutes=R["sla_minutes"],
            population="leads created at least 30 days before the window's end, converted-before-created "
            "leads (ConvertedDate < CreatedDate, flag rows) excluded",
            clock="business minutes, 09:00-17:00 on weekdays but the holidays, in the TimeZoneSidKey of the "
            "lead's owner at its first touch (the rep who first worked it: reassignments come after it)",
            n_leads=int(pop.sum()),
        ),
        delay_effect=dict(
            fast=f"<= {R['fast_minutes']} business minutes",
            slow=f"> {R['fast_minutes']} business minutes",
            conversion_rate_ratio=R["fast_multiplier"],
            expected_raw_ratio=ratio(real & touched),
            expected_ratio_by_score_band=bands,
            note="conversion probability = p0 (source, seniority, size, industry: the score is its blurred "
            "percentile) x fast_multiplier when fast, renormalised per (source, maturity); the expected "
            "ratios are of the true probabilities among touched simulated leads (duplicates never convert); "
            f"{route.clipped} probabilities capped at {R['max_p']}; lead_probabilities.csv's p_convert is that "
            "probability (the draw's), its p_convert_at_creation is p0, what a score made at creation can know",
        ),
        score_column="lead_score",
        teams={t: [user_ids[u] for u in m] for t, m in route.teams.items()},
        mid_period_joiner=user_ids[route.joiner] if route.joiner >= 0 else None,
        n_leads=n,
        n_misrouted=int(misrouted.sum()),
        n_reassigned=int(route.reassigned.sum()),
        n_queued=int(route.queued.sum()),
        n_never_touched=int((~route.touched).sum()),
        n_sequence_tasks=int(getattr(route, "n_sequence", 0)),
        parameters={k2: v for k2, v in R.items()},
    )
    return df, info


# -- stage entry criteria ----------------------------------------------------------------------------
_GATES = dict(
    p_next_step_at_creation=0.45,
    p_next_step_before_entry=0.75,  # of the others entering Needs Analysis
    p_budget_before_entry=0.80,  # of the deals entering Proposal/Price Quote
    p_late_after_close=0.35,  # of the late fills: after the deal closed (no compliance)
    p_late_never=0.2,
)
_NEXT_STEPS = ("Schedule demo", "Send proposal", "Call economic buyer", "Security review", "Pricing call")
_GATED = ((2, "Needs Analysis"), (3, "Proposal/Price Quote"))


def stage_gates(route, bound: int) -> dict:
    """When each deal's NextStep and Budget_Confirmed__c were filled (-1: never), and each deal's entry
    into the gated stages (open stage >= the gate, or Closed Won: a skip counts as entering)."""
    from .model import _N_OPEN, _WON

    sim, G = route.sim, _GATES
    rng = route.rng[2]
    O, H = sim.opp, sim.hist
    n = O["n"]
    order = np.lexsort((H["time"], H["opp"]))
    h_opp, h_t, h_stage, h_amount = H["opp"][order], H["time"][order], H["stage"][order], H["amount"][order]
    entry = {}
    amount_at = {}
    for g, _ in _GATED:
        m = ((h_stage >= g) & (h_stage < _N_OPEN)) | (h_stage == _WON)
        idx = np.flatnonzero(m)
        first = idx[np.r_[True, h_opp[idx][1:] != h_opp[idx][:-1]]] if len(idx) else idx
        e = np.full(n, -1, np.int64)
        a = np.full(n, np.nan)
        e[h_opp[first]] = h_t[first]
        a[h_opp[first]] = h_amount[first]
        entry[g], amount_at[g] = e, a
    created, last = O["created"], np.maximum(O["last_time"], O["created"] + 60)
    closed = O["is_closed"]
    u = rng.random((n, 6))

    def late(e):
        """A fill after the entry: before the close, after it (no compliance), or never."""
        after_close = closed & (u[:, 4] < G["p_late_after_close"])
        never = u[:, 5] < G["p_late_never"]
        t_in = e + 60 + (u[:, 3] * np.maximum(last - e - 120, 1)).astype(np.int64)
        t_after = last + ((1 + 29 * u[:, 3]) * _DAY).astype(np.int64)
        t = np.where(after_close, t_after, t_in)
        return np.where(never, -1, t)

    na, pr = entry[2], entry[3]
    at_creation = u[:, 0] < G["p_next_step_at_creation"]
    before = u[:, 1] < G["p_next_step_before_entry"]
    t_before = created + (u[:, 2] * np.maximum(na - created, 1)).astype(np.int64)
    t_ns = np.where(na >= 0, np.where(before, t_before, late(na)), np.where(u[:, 1] < 0.5, t_before, -1))
    t_ns = np.where(na < 0, np.where(u[:, 1] < 0.5, created + (u[:, 2] * (last - created)).astype(np.int64), -1), t_ns)
    at_creation |= (na >= 0) & before & (t_before >= na)  # the same second as the entry: set at creation
    t_ns = np.where(at_creation, created, t_ns)
    t_ns = np.where(t_ns >= bound, -1, t_ns)
    start = np.where((na >= 0) & (na < pr), na, created)
    b_before = u[:, 1] < G["p_budget_before_entry"]
    t_b_in = start + (u[:, 2] * np.maximum(pr - start, 1)).astype(np.int64)
    t_bc = np.where(pr >= 0, np.where(b_before, t_b_in, late(pr)), -1)
    t_bc = np.where(
        (pr < 0) & (na >= 0) & (u[:, 0] < 0.4), na + (u[:, 2] * np.maximum(last - na, 1)).astype(np.int64), t_bc
    )
    t_bc = np.where(t_bc >= bound, -1, t_bc)
    text = rng.integers(0, len(_NEXT_STEPS), n)
    return dict(
        entry=entry,
        amount_at=amount_at,
        t_ns=t_ns,
        ns_at_creation=at_creation & (t_ns == created),
        t_bc=t_bc,
        text=text,
    )


def stage_gate_truth(gates: dict, opp_ids: list[str], cut: int) -> tuple[pd.DataFrame, dict]:
    """``stage_gate_truth.csv`` and the violation counts, per deal and gated stage, at the deal's first entry
    into it (its first history row in an open stage at or past the gate, or Closed Won: a skip enters it).

    Judged on the values at that entry with Kleene's ``and``: a criterion known to fail fails the gate even
    beside an unknown one (the Amount is on the history row itself: always known); NextStep and
    Budget_Confirmed__c are unknown when the entry is older than the field history's retention cut. The
    compliance is ``"true"``, ``"false"`` or ``""`` (unknown); ``entered_at`` the entry's instant (UTC).
    """
    rows = []
    counts = {}
    for g, name in _GATED:
        e = gates["entry"][g]
        i = np.flatnonzero(e >= 0)
        t = gates["t_ns"][i] if g == 2 else gates["t_bc"][i]
        filled = (t >= 0) & (t <= e[i])
        known = e[i] >= cut
        if g == 2:
            amount = gates["amount_at"][g][i]
            amount_ok = np.isfinite(amount) & (amount > 0)
            fails = ~amount_ok | (known & ~filled)
        else:
            fails = known & ~filled
        comp = np.where(fails, "false", np.where(known, "true", ""))
        at = np.char.add(np.datetime_as_string(e[i].astype("datetime64[s]"), unit="s"), "Z")
        rows.append(
            pd.DataFrame({"opportunity_id": np.asarray(opp_ids)[i], "stage": name, "entered_at": at, "compliant": comp})
        )
        counts[name] = int(fails.sum())
    return pd.concat(rows, ignore_index=True), counts
