"""The market: companies (where the leads work), and the accounts they become on conversion."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .arrowtext import _cat, _pool, _take, _where
from .model import _DAY, _LEADS
from .pools import _company_pools
from .sim import _choice_by_group, _lognormal, _Sim
from .vocab import _ADJ, _CN, _COUNTRIES, _INDUSTRIES, _NOUN, _SYL1, _SYL2, _ZH_CITIES, _ZH_INDUSTRY


def make_companies(sim: _Sim):
    """Companies the leads work for: names, web domains, HQ city, size (``sim.co``).

    The first ``n_pre`` companies are customers from before the window.
    """
    rng = sim.rng["companies"]
    # a company of a given size creates leads at a given rate: longer windows hold more of them
    n_leads = max(100, int(round(_LEADS["leads_per_year_at_scale_1"] * sim.years * sim.scale)))
    n_pre = max(20, int(round(1000 * sim.scale)))
    n = n_pre + max(50, int(round(0.8 * n_leads)))
    country = rng.choice(len(_COUNTRIES), n, p=sim.c_weight / sim.c_weight.sum())
    is_zh = country == _CN
    w_idx, z_idx = np.flatnonzero(~is_zh), np.flatnonzero(is_zh)
    # the nicer two-syllable brands suffice while they fill at most half of the name space
    base_space = (len(_SYL1) * len(_SYL2) + len(_ADJ) * len(_NOUN)) * sum(len(x[1]) for x in _INDUSTRIES)
    sim.cp = cp = _company_pools(extended=2 * len(w_idx) > base_space)
    # western: unique (brand, descriptor) pairs; nicer brands first unless the scale needs more
    n_desc = len(cp.desc)
    n_city, n_ind = len(_ZH_CITIES), len(_ZH_INDUSTRY)
    if len(w_idx) > len(cp.brand) * n_desc or len(z_idx) > len(cp.zh_brand) * n_city * n_ind:
        raise ValueError(f"scale {sim.scale:g} needs more distinct company names than the pools hold")
    space = min(len(cp.brand) * n_desc, max(2 * len(w_idx), cp.n_brand_base * n_desc))
    codes = rng.choice(space, len(w_idx), replace=False)
    brand, desc = codes // n_desc, codes % n_desc
    # chinese: unique (city, industry word, brand)
    zspace = min(len(cp.zh_brand) * n_city * n_ind, max(2 * len(z_idx), cp.n_zh_brand_base * n_city * n_ind))
    zcodes = rng.choice(zspace, len(z_idx), replace=False)
    zcity, zind, zbrand = zcodes % n_city, (zcodes // n_city) % n_ind, zcodes // (n_city * n_ind)

    industry = np.empty(n, np.int64)
    industry[w_idx] = cp.desc_industry[desc]
    ind_names = [x[0] for x in _INDUSTRIES]
    industry[z_idx] = np.array([ind_names.index(x[3]) for x in _ZH_INDUSTRY])[zind]

    # name parts: base (without legal suffix) and suffix index (-1: none)
    base_w = _cat(_take(cp.brand, brand), " ", _take(cp.desc, desc))
    zc = [x[0] for x in _ZH_CITIES]
    zi = [x[0] for x in _ZH_INDUSTRY]
    base_z = _cat(_take(_pool(zc), zcity), _take(cp.zh_brand, zbrand), _take(_pool(zi), zind))
    suffix = np.full(n, -1, np.int64)
    has_suffix = np.where(is_zh, rng.random(n) < 0.92, rng.random(n) < 0.75)
    for ci in range(len(_COUNTRIES)):
        m = (country == ci) & has_suffix
        allowed = cp.country_suffixes[ci]
        if ci == _CN:  # 有限公司 is far more common than 股份有限公司
            suffix[m] = np.where(rng.random(m.sum()) < 0.85, allowed[0], allowed[-1])
        else:
            suffix[m] = allowed[rng.integers(0, len(allowed), m.sum())]
    base = _merge(n, w_idx, base_w, z_idx, base_z)
    name = _where(suffix >= 0, _cat(base, _take(cp.suffix, suffix, suffix >= 0)), base)

    # web domains: unique because the name parts are unique
    tld = _take(_pool(c[5] for c in _COUNTRIES), country)
    dom_w = _cat(_take(cp.brand_slug, brand), "-", _take(cp.desc_slug, desc))
    dom_z = _cat(
        _take(cp.zh_brand_pinyin, zbrand),
        "-",
        _take(_pool(x[2] for x in _ZH_INDUSTRY), zind),
        "-",
        _take(_pool(x[3] for x in _ZH_CITIES), zcity),
    )
    domain = _cat(_merge(n, w_idx, dom_w, z_idx, dom_z), ".", tld)

    # the HQ city: chinese names carry theirs
    city = _choice_by_group(rng, country, sim.country_cities)
    zh_city_names = [x[2] for x in _ZH_CITIES]
    cn_cities = sim.country_cities[_CN]
    cn_lookup = np.array(
        [cn_cities[[_COUNTRIES[_CN][7][k][0] for k in range(len(cn_cities))].index(nm)] for nm in zh_city_names]
    )
    city[z_idx] = cn_lookup[zcity]

    employees = np.clip(np.round(_lognormal(rng, 150, 1.4, n)), 3, 250_000).astype(np.int64)
    revenue = np.round(employees * _lognormal(rng, 180_000, 0.5, n), -3)
    sim.co = dict(
        n=n,
        n_pre=n_pre,
        n_leads=n_leads,
        country=country,
        is_zh=is_zh,
        industry=industry,
        base=base,
        suffix=suffix,
        name=name,
        domain=domain,
        website=_cat("www.", domain),
        city=city,
        employees=employees,
        revenue=revenue,
        phone_num=sim.phones(rng, city),
        z_idx=z_idx,
        zcity=zcity,
        zbrand=zbrand,
        zind=zind,
        popularity=_lognormal(rng, 1.0, 1.0, n),
        # pre-existing accounts became customers before the window
        pre_created=sim.t0 - rng.integers(30, 5 * 365, n_pre) * _DAY + rng.integers(8 * 3600, 18 * 3600, n_pre),
    )


def _merge(n, idx_a, a: pa.Array, idx_b, b: pa.Array) -> pa.Array:
    """Interleave two arrays computed for disjoint row sets back into row order."""
    order = np.empty(n, np.int64)
    order[idx_a] = np.arange(len(idx_a))
    order[idx_b] = len(idx_a) + np.arange(len(idx_b))
    return pa.concat_arrays([a, b]).take(pa.array(order))


def make_accounts(sim: _Sim):
    """Accounts: the customers from before the window, and each other company at its first converted lead.

    Sets ``sim.acct``, ``sim.comp_to_acct`` and ``sim.lead["account"]``.
    """
    rng, co, L = sim.rng["accounts"], sim.co, sim.lead
    n_pre = co["n_pre"]
    conv = np.flatnonzero(L["converted"])
    conv = conv[np.argsort(L["conv_t"][conv], kind="stable")]
    comp_conv = L["comp"][conv]
    new = comp_conv >= n_pre
    uniq, first_pos = np.unique(comp_conv[new], return_index=True)
    creators = conv[new][first_pos]
    acct_comp = np.concatenate([np.arange(n_pre), uniq])
    created = np.concatenate([co["pre_created"], L["conv_t"][creators]])
    comp_to_acct = np.full(co["n"], -1, np.int64)
    comp_to_acct[acct_comp] = np.arange(len(acct_comp))
    creator_lead = np.full(len(acct_comp), -1, np.int64)
    creator_lead[n_pre:] = creators
    region = sim.c_region[co["country"][acct_comp]]
    n = len(acct_comp)
    sim.acct = dict(
        n=n,
        comp=acct_comp,
        created=created,
        region=region,
        creator_lead=creator_lead,
        owner=_choice_by_group(rng, region, sim.ae_by_region),
        has_phone=rng.random(n) < 0.9,
        has_website=rng.random(n) < 0.95,
        pre=np.arange(n) < n_pre,
    )
    L["account"] = np.where(L["converted"], comp_to_acct[L["comp"]], -1)
    sim.comp_to_acct = comp_to_acct
