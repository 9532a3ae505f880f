"""Injected duplicates: the same lead, contact or account entered again, with a new Id and a variation.

Every duplicate is recorded in ``sim.clusters`` (and so in
``duplicate_clusters.csv``) with the variation that tells it from its original.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrowtext import _cat, _null_where, _pool, _take, _where
from .model import _DAY, _DUPLICATES, _LEAD_SOURCES
from .sim import _choice_by_group, _Sim
from .vocab import _ZH_CITIES, _ZH_INDUSTRY


def make_duplicates(sim: _Sim):
    """Same person/company entered again, with a new Id and realistic variations."""
    rng = sim.rng["duplicates"]
    if not hasattr(sim, "lead_dups"):  # the routing draws the duplicate leads early (same stream, same draws)
        make_duplicate_leads(sim)
    _dup_contacts(sim, rng)
    _dup_accounts(sim, rng)


def make_duplicate_leads(sim: _Sim):
    """The duplicate leads alone (``sim.lead_dups``): the first draws of the duplicates' stream."""
    sim.clusters = []  # (table, cluster, entity index, is_original, variation)
    _dup_leads(sim, sim.rng["duplicates"])


def _pick_originals(rng, eligible: np.ndarray):
    n_records = eligible.sum()
    share = _DUPLICATES["share"]
    n_orig = int(round(share * n_records / (1 + _DUPLICATES["p_triple"])))
    orig = np.sort(rng.choice(np.flatnonzero(eligible), min(n_orig, int(n_records)), replace=False))
    copies = np.where(rng.random(len(orig)) < _DUPLICATES["p_triple"], 2, 1)
    return orig, np.repeat(orig, copies), np.repeat(np.arange(len(orig)), copies)


def _person_variants(sim: _Sim, rng, src_first, src_last, is_zh, email_local_src, domain, has_email):
    """Varied copies of people; returns first, last strings, name, email and the variation names."""
    N = sim.names
    k = len(src_first)
    f_s, l_s = _take(N.first, src_first), _take(N.last, src_last)
    has_nick = N.first_nick[src_first] >= 0
    # western: nickname, swapped names, initial, typo ; chinese: traditional, pinyin
    kind_w = rng.choice(4, k, p=[0.35, 0.2, 0.2, 0.25])
    kind_w = np.where((kind_w == 0) & ~has_nick, 3, kind_w)
    kind_z = rng.choice(2, k, p=[0.6, 0.4])
    same_trad = pc.equal(_take(N.first_alt, src_first), f_s).to_numpy(zero_copy_only=False) & pc.equal(
        _take(N.last_alt, src_last), l_s
    ).to_numpy(zero_copy_only=False)
    kind_z = np.where(same_trad, 1, kind_z)
    first, last = f_s, l_s
    nick = _take(N.first, np.where(has_nick, N.first_nick[src_first], 0))
    initial = _cat(pc.utf8_slice_codeunits(f_s, 0, 1), ".")
    s = l_s
    a, b = pc.utf8_slice_codeunits(s, 1, 2), pc.utf8_slice_codeunits(s, 2, 3)
    swapped = _cat(pc.utf8_slice_codeunits(s, 0, 1), b, a, pc.utf8_slice_codeunits(s, 3, 100))
    dropped = _cat(pc.utf8_slice_codeunits(s, 0, 2), pc.utf8_slice_codeunits(s, 3, 100))
    same = pc.equal(a, b).to_numpy(zero_copy_only=False) | (pc.utf8_length(s).to_numpy() < 4)
    typo = _where(same, _cat(s, pc.utf8_slice_codeunits(s, -1, 100)), _where(rng.random(k) < 0.5, swapped, dropped))
    w_first = _where(kind_w == 0, nick, _where(kind_w == 1, l_s, _where(kind_w == 2, initial, f_s)))
    w_last = _where(kind_w == 1, f_s, _where(kind_w == 3, typo, l_s))
    z_first = _where(kind_z == 0, _take(N.first_alt, src_first), _take(N.first_pinyin, src_first))
    z_last = _where(kind_z == 0, _take(N.last_alt, src_last), _take(N.last_pinyin, src_last))
    first = _where(is_zh, z_first, w_first)
    last = _where(is_zh, z_last, w_last)
    # pinyin names are written western style
    name = _where(is_zh & (kind_z == 0), _cat(last, first), _cat(first, " ", last))
    variation = np.where(
        is_zh,
        np.array(["traditional", "pinyin"])[kind_z],
        np.array(["nickname", "swapped_names", "initial", "typo"])[kind_w],
    )
    # e-mail: same address, its case changed, or missing
    ek = rng.choice(3, k, p=[0.5, 0.35, 0.15])
    email = _cat(email_local_src, "@", domain)
    email = _where(ek == 1, pc.utf8_title(email), email)
    email = _null_where(email, (ek == 2) | ~has_email)
    variation = np.where(ek == 1, np.char.add(variation, "+email_case"), variation)
    return first, last, name, email, variation


def _dup_leads(sim: _Sim, rng):
    L, co = sim.lead, sim.co
    orig, src, cl = _pick_originals(rng, np.ones(L["n"], bool))
    k = len(src)
    comp = L["comp"][src]
    local = sim.email_local(L["first"][src], L["last"][src], L["pattern"][src])
    first, last, name, email, variation = _person_variants(
        sim,
        rng,
        L["first"][src],
        L["last"][src],
        L["is_zh"][src],
        local,
        co["domain"].take(pa.array(comp)),
        L["has_email"][src],
    )
    company, cvar = _company_variants(sim, rng, comp)
    use_cvar = rng.random(k) < 0.4
    company = _where(use_cvar, company, _lead_company(sim, src))
    variation = np.where(use_cvar, np.char.add(np.char.add(variation, "+"), cvar.astype(str)), variation)
    # the duplicate arrives later (a second form fill), or earlier if that falls outside the window
    shift = (rng.uniform(1, 180, k) * _DAY).astype(np.int64)
    created = L["created"][src] + shift
    created = np.where(created >= sim.t1, np.maximum(L["created"][src] - shift, sim.t0 + 3600), created)
    age = (sim.t1 - created) / _DAY
    status = np.where(age > 60, np.where(rng.random(k) < 0.7, 3, 1), np.where(rng.random(k) < 0.5, 1, 0))
    sim.lead_dups = dict(
        n=k,
        src=src,
        first=first,
        last=last,
        name=name,
        email=email,
        company=company,
        created=created,
        status=status,
        source=rng.integers(0, len(_LEAD_SOURCES), k),
        owner=_choice_by_group(rng, L["region"][src], sim.sdr_by_region),
    )
    _record_clusters(sim, "leads", orig, src, cl, L["n"], variation)


def _dup_contacts(sim: _Sim, rng):
    C, co = sim.contact, sim.co
    orig, src, cl = _pick_originals(rng, np.ones(C["n"], bool))
    k = len(src)
    local = sim.email_local(C["first"][src], C["last"][src], C["pattern"][src])
    first, last, name, email, variation = _person_variants(
        sim,
        rng,
        C["first"][src],
        C["last"][src],
        C["is_zh"][src],
        local,
        co["domain"].take(pa.array(C["comp"][src])),
        C["has_email"][src],
    )
    shift = (rng.uniform(1, 240, k) * _DAY).astype(np.int64)
    created = C["created"][src] + shift
    created = np.where(created >= sim.t1, np.maximum(C["created"][src] - shift, sim.t0 - 30 * _DAY), created)
    no_account = rng.random(k) < 0.2
    variation = np.where(no_account, np.char.add(variation, "+no_account"), variation)
    sim.contact_dups = dict(
        n=k, src=src, first=first, last=last, name=name, email=email, created=created, no_account=no_account
    )
    _record_clusters(sim, "contacts", orig, src, cl, C["n"], variation)


def _dup_accounts(sim: _Sim, rng):
    A, co = sim.acct, sim.co
    orig, src, cl = _pick_originals(rng, np.ones(A["n"], bool))
    k = len(src)
    comp = A["comp"][src]
    name, variation = _company_variants(sim, rng, comp, force=True)
    # websites typed differently
    wk = rng.choice(4, k, p=[0.4, 0.25, 0.2, 0.15])
    dom = co["domain"].take(pa.array(comp))
    website = _where(
        wk == 0,
        _cat("www.", dom),
        _where(wk == 1, dom, _where(wk == 2, _cat("http://www.", dom, "/"), _cat("https://", dom))),
    )
    website = _null_where(website, rng.random(k) < 0.1)
    shift = (rng.uniform(1, 300, k) * _DAY).astype(np.int64)
    created = A["created"][src] + shift
    created = np.where(created >= sim.t1, A["created"][src] - shift, created)
    sim.acct_dups = dict(
        n=k,
        src=src,
        name=name,
        website=website,
        created=created,
        owner=_choice_by_group(rng, A["region"][src], sim.ae_by_region),
        has_phone=rng.random(k) < 0.6,
    )
    _record_clusters(sim, "accounts", orig, src, cl, A["n"], variation.astype(str))


def _record_clusters(sim: _Sim, table, orig, src, cl, n_base, variation):
    sim.clusters.append(
        dict(
            table=table,
            orig=orig,
            dup_index=n_base + np.arange(len(src)),
            cluster=cl,
            variation=np.asarray(variation, dtype=str),
        )
    )


def _company_variants(sim: _Sim, rng, comp, force=False):
    """Company name as somebody else would type it: suffix variant, case, typo, 有限公司, traditional."""
    co, cp = sim.co, sim.cp
    k = len(comp)
    suffix = co["suffix"][comp]
    base = co["base"].take(pa.array(comp))
    is_zh = co["is_zh"][comp]
    # another suffix of the same legal form
    alt = suffix.copy()
    has = suffix >= 0
    group = np.where(has, cp.suffix_group[np.maximum(suffix, 0)], -1)
    for g in np.unique(group[has]):
        members = np.flatnonzero(cp.suffix_group == g)
        m = group == g
        if len(members) > 1:  # another member of the group, never the same text
            j = rng.integers(0, len(members) - 1, m.sum())
            cur = np.searchsorted(members, suffix[m])
            alt[m] = members[np.where(j >= cur, j + 1, j)]
    w = rng.choice(4, k, p=[0.35, 0.25, 0.2, 0.2])  # alt suffix, drop suffix, upper case, typo
    w = np.where((w == 0) & ((alt == suffix) | ~has), 2, w)
    w = np.where((w == 1) & ~has, 2, w)
    with_suffix = lambda b, s: _where(s >= 0, _cat(b, _take(cp.suffix, s, s >= 0)), b)  # noqa: E731
    orig = with_suffix(base, suffix)
    b = base
    a_, b_ = pc.utf8_slice_codeunits(b, 2, 3), pc.utf8_slice_codeunits(b, 3, 4)
    typo_base = _cat(pc.utf8_slice_codeunits(b, 0, 2), b_, a_, pc.utf8_slice_codeunits(b, 4, 200))
    same = pc.equal(a_, b_).to_numpy(zero_copy_only=False)
    typo_base = _where(same, _cat(pc.utf8_slice_codeunits(b, 0, 3), pc.utf8_slice_codeunits(b, 4, 200)), typo_base)
    west = _where(
        w == 0,
        with_suffix(base, alt),
        _where(w == 1, base, _where(w == 2, pc.utf8_upper(orig), with_suffix(typo_base, suffix))),
    )
    wvar = np.array(["suffix_variant", "suffix_dropped", "upper_case", "typo"])[w]
    # chinese: traditional characters, 有限公司 dropped, or the city prefix dropped
    zk = rng.choice(3, k, p=[0.4, 0.35, 0.25])
    zk = np.where((zk == 1) & ~has, 0, zk)
    zc = co["zcity"]
    zpos = np.full(co["n"], -1, np.int64)
    zpos[co["z_idx"]] = np.arange(len(co["z_idx"]))
    zp = np.maximum(zpos[comp], 0)
    trad = _cat(
        _take(_pool(x[1] for x in _ZH_CITIES), zc[zp] if len(zc) else np.zeros(k, np.int64)),
        _take(cp.zh_brand_trad, co["zbrand"][zp] if len(zc) else np.zeros(k, np.int64)),
        _take(_pool(x[1] for x in _ZH_INDUSTRY), co["zind"][zp] if len(zc) else np.zeros(k, np.int64)),
    )
    trad = with_suffix(trad, suffix)
    no_city = with_suffix(pc.utf8_slice_codeunits(base, 2, 200), suffix)
    zh = _where(zk == 0, trad, _where(zk == 1, base, no_city))
    zvar = np.array(["traditional", "suffix_dropped", "city_dropped"])[zk]
    return _where(is_zh, zh, west), np.where(is_zh, zvar, wvar)


def _lead_company(sim: _Sim, lead_idx) -> pa.Array:
    """The Company field of leads: the legal name, or without its suffix (as typed in a web form)."""
    co, L = sim.co, sim.lead
    comp = L["comp"][lead_idx]
    return _where(L["company_no_suffix"][lead_idx], co["base"].take(pa.array(comp)), co["name"].take(pa.array(comp)))
