"""The people of the org: its users (sales reps), the leads, and the contacts of the accounts."""

from __future__ import annotations

import numpy as np

from .arrowtext import _cat, _take
from .model import _DAY, _LEAD_SOURCES, _LEADS
from .sim import _choice_by_group, _lognormal, _Sim
from .vocab import _CN, _INDUSTRIES


def make_users(sim: _Sim):
    """Sales users of each region: a manager, SDRs (who own leads) and AEs (who own accounts and deals).

    Sets ``sim.users``, ``sim.sdr_by_region``, ``sim.ae_by_region`` and ``sim.managers``.
    """
    rng = sim.rng["users"]
    n_target = max(12, int(round(30 * sim.scale**0.25)))
    region_w = np.array([sim.c_weight[sim.c_region == r].sum() for r in range(4)])
    region, role = [], []
    for r in range(4):
        n_r = max(3, int(round(region_w[r] * n_target)))
        n_sdr = max(1, int(round(0.4 * (n_r - 1))))
        region += [r] * n_r
        role += ["Manager"] + ["SDR"] * n_sdr + ["AE"] * (n_r - 1 - n_sdr)
    region, role = np.array(region), np.array(role)
    n = len(region)
    country = np.array(
        [
            rng.choice(
                np.flatnonzero(sim.c_region == r),
                p=sim.c_weight[sim.c_region == r] / sim.c_weight[sim.c_region == r].sum(),
            )
            for r in region
        ]
    )
    culture = sim.c_culture[country]
    first, last = sim.people(rng, culture)
    first, last, _ = sim.unique_people(rng, np.zeros(n, np.int64), culture, first, last, np.zeros(n, np.int64))
    is_zh = country == _CN
    f_s, l_s = _take(sim.names.first, first), _take(sim.names.last, last)
    email = _cat(sim.email_local(first, last, np.zeros(n, np.int64)), "@salesorg.example.com")
    active = rng.random(n) > 0.08
    # every region keeps an active manager, SDR and AE
    for r in range(4):
        for ro in ("Manager", "SDR", "AE"):
            active[np.flatnonzero((region == r) & (role == ro))[0]] = True
    created = sim.t0 - (rng.integers(60, 1200, n) * _DAY) + (rng.integers(8, 18, n) * 3600)
    manager = np.array([np.flatnonzero((region == r) & (role == "Manager"))[0] for r in region])
    manager = np.where(role == "Manager", -1, manager)
    sim.users = dict(
        n=n,
        region=region,
        role=role,
        first=f_s,
        last=l_s,
        name=sim.full_name(f_s, l_s, is_zh),
        email=email,
        active=active,
        created=created,
        manager=manager,
    )
    sim.sdr_by_region = [np.flatnonzero((region == r) & (role == "SDR") & active) for r in range(4)]
    sim.ae_by_region = [np.flatnonzero((region == r) & (role == "AE") & active) for r in range(4)]
    sim.managers = np.flatnonzero(role == "Manager")


def make_leads(sim: _Sim):
    """Leads: company, person, source, creation time, and whether and when each converts (``sim.lead``).

    The conversion model is described in the package docstring.
    """
    rng, co = sim.rng["leads"], sim.co
    n, n_pre = co["n_leads"], co["n_pre"]
    from_existing = rng.random(n) < _LEADS["share_from_existing_accounts"]
    pop = co["popularity"][n_pre:]
    comp = np.where(from_existing, rng.integers(0, n_pre, n), n_pre + rng.choice(co["n"] - n_pre, n, p=pop / pop.sum()))
    country = co["country"][comp]
    region = sim.c_region[country]
    culture = sim.c_culture[country]
    created = sim.arrivals(rng, n, region)
    first, last = sim.people(rng, culture)
    pattern = rng.integers(0, 4, n)
    first, last, pattern = sim.unique_people(rng, comp, culture, first, last, pattern)
    is_zh = culture == sim.names.cultures.index("zh")
    seniority = rng.choice(5, n, p=_LEADS["seniority_weights"])
    source = rng.choice(len(_LEAD_SOURCES), n, p=[s[1] for s in _LEAD_SOURCES])

    # conversion: true rate of the source, tilted by seniority/size/industry,
    # renormalised so that the mean probability of each (source, maturity)
    # group is exactly the true rate
    emp = co["employees"][comp]
    size_band = np.digitize(emp, [50, 1000])
    m = (
        np.array(_LEADS["seniority_multiplier"])[seniority]
        * np.array(_LEADS["size_multiplier"])[size_band]
        * np.array([x[2] for x in _INDUSTRIES])[co["industry"][comp]]
    )
    mature = created < sim.mature_cut
    rate = np.array([s[2] for s in _LEAD_SOURCES])
    p = np.empty(n)
    for s in range(len(_LEAD_SOURCES)):
        for mat in (True, False):
            g = (source == s) & (mature == mat)
            if g.any():
                p[g] = rate[s] * m[g] / m[g].mean()
    assert p.max() < 1.0
    will_convert = rng.random(n) < p
    delay = np.minimum(
        _lognormal(rng, _LEADS["conversion_delay_median_days"], _LEADS["conversion_delay_sigma"], n),
        _LEADS["conversion_delay_max_days"],
    )
    conv_t = created + np.maximum((delay * _DAY).astype(np.int64), 600)
    converted = will_convert & (conv_t < sim.t1)
    disq_t = created + (_lognormal(rng, _LEADS["disqualify_median_days"], _LEADS["disqualify_sigma"], n) * _DAY).astype(
        np.int64
    )
    disqualified = ~converted & (disq_t < sim.t1)
    age_days = (sim.t1 - created) / _DAY
    working = ~converted & ~disqualified & (rng.random(n) < 1 - np.exp(-age_days / 7.0))
    status = np.where(converted, 2, np.where(disqualified, 3, np.where(working, 1, 0)))
    life_end = np.where(converted, conv_t, np.where(disqualified, disq_t, sim.t1))

    person_city = co["city"][comp]
    sim.lead = dict(
        n=n,
        comp=comp,
        country=country,
        region=region,
        culture=culture,
        is_zh=is_zh,
        created=created,
        first=first,
        last=last,
        pattern=pattern,
        seniority=seniority,
        title=sim.titles(rng, seniority, is_zh),
        has_title=rng.random(n) < 0.9,
        phone_city=person_city,
        phone_num=sim.phones(rng, person_city),
        has_phone=rng.random(n) < 0.8,
        has_email=rng.random(n) < 0.97,
        has_size=rng.random(n) < 0.55,
        has_industry=rng.random(n) < 0.85,
        has_website=rng.random(n) < 0.5,
        company_no_suffix=rng.random(n) < 0.25,
        source=source,
        p_convert=p,
        mature=mature,
        will_convert=will_convert,
        converted=converted,
        conv_t=np.where(converted, conv_t, -1),
        status=status,
        life_end=life_end,
        owner=_choice_by_group(rng, region, sim.sdr_by_region),
    )


def make_contacts(sim: _Sim):
    """Contacts: every converted lead, plus other people of each account (``sim.contact``).

    Also sets ``sim.lead["contact"]``, the contact each converted lead became.
    """
    rng, L, A, co = sim.rng["contacts"], sim.lead, sim.acct, sim.co
    conv = np.flatnonzero(L["converted"])
    # every converted lead became a contact of its account
    lam = np.where(A["pre"], 1.8, 0.7)
    n_extra = rng.poisson(lam)
    e_acct = np.repeat(np.arange(A["n"]), n_extra)
    lo = A["created"][e_acct]
    hi = np.where(A["pre"][e_acct], sim.t1, np.minimum(lo + 365 * _DAY, sim.t1))
    e_created = lo + (rng.random(len(e_acct)) * (hi - lo)).astype(np.int64)
    acct = np.concatenate([L["account"][conv], e_acct])
    comp = A["comp"][acct]
    country = co["country"][comp]
    culture = sim.c_culture[country]
    ne = len(e_acct)
    f_e, l_e = sim.people(rng, culture[len(conv) :])
    first = np.concatenate([L["first"][conv], f_e])
    last = np.concatenate([L["last"][conv], l_e])
    pattern = np.concatenate([L["pattern"][conv], rng.integers(0, 4, ne)])
    fixed = np.arange(len(acct)) < len(conv)
    first, last, pattern = sim.unique_people(rng, acct, culture, first, last, pattern, fixed=fixed)
    seniority = rng.choice(5, ne, p=_LEADS["seniority_weights"])
    is_zh = culture == sim.names.cultures.index("zh")
    n = len(acct)
    src = np.concatenate(
        [L["source"][conv], np.where(rng.random(ne) < 0.6, rng.integers(0, len(_LEAD_SOURCES), ne), -1)]
    )
    extra_city = co["city"][comp[len(conv) :]]
    phone_extra = sim.phones(rng, extra_city)
    sim.contact = dict(
        n=n,
        lead=np.concatenate([conv, np.full(ne, -1)]),
        account=acct,
        comp=comp,
        country=country,
        culture=culture,
        is_zh=is_zh,
        first=first,
        last=last,
        pattern=pattern,
        title=np.concatenate([L["title"][conv], sim.titles(rng, seniority, is_zh[len(conv) :])]),
        has_title=np.concatenate([L["has_title"][conv], rng.random(ne) < 0.9]),
        phone_city=np.concatenate([L["phone_city"][conv], extra_city]),
        phone_num=np.concatenate([L["phone_num"][conv], phone_extra]),
        has_phone=np.concatenate([L["has_phone"][conv], rng.random(ne) < 0.85]),
        has_email=np.concatenate([L["has_email"][conv], rng.random(ne) < 0.97]),
        created=np.concatenate([L["conv_t"][conv], e_created]),
        source=src,
        owner=A["owner"][acct],
    )
    L["contact"] = np.full(L["n"], -1, np.int64)
    L["contact"][conv] = np.arange(len(conv))
