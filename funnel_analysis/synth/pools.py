"""Name and company-name pools as Arrow arrays, built once per process from :mod:`.vocab`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .arrowtext import _ascii, _pool
from .vocab import (
    _ADJ,
    _COUNTRIES,
    _COUNTRY_SUFFIX_GROUPS,
    _FIRST,
    _INDUSTRIES,
    _LAST,
    _NOUN,
    _SUFFIXES,
    _SYL1,
    _SYL2,
    _ZH_B1,
    _ZH_B2,
    _ZH_GIVEN,
    _ZH_SURNAMES,
)


@dataclass
class _NamePools:
    first: pa.Array
    first_ascii: pa.Array
    first_alt: pa.Array  # traditional characters for Chinese, else the same name
    first_pinyin: pa.Array  # romanised Chinese, else the same name
    first_nick: np.ndarray  # index of the nickname entry, -1 if none
    last: pa.Array
    last_ascii: pa.Array
    last_alt: pa.Array
    last_pinyin: pa.Array
    first_range: np.ndarray  # (n_cultures, 2) half-open index ranges of formal names
    last_range: np.ndarray
    cultures: tuple


def _build_name_pools() -> _NamePools:
    cultures = ("en", "de", "fr", "nl", "ja", "in", "es", "pt", "zh")
    firsts, f_rng, nick_of = [], [], []  # rows: (name, ascii slug, traditional, pinyin)
    for cu in cultures:
        lo = len(firsts)
        if cu == "zh":
            firsts += [(simp, _ascii(pin), trad, pin) for simp, trad, pin in _ZH_GIVEN]
        else:
            for entry in _FIRST[cu]:
                name, _, nick = entry.partition(":")
                if nick:
                    nick_of.append((len(firsts), nick))
                firsts.append((name, _ascii(name), name, name))
        f_rng.append((lo, len(firsts)))
    # nicknames live after the formal names so they are never drawn for a clean record
    f_nick = np.full(len(firsts) + len(nick_of), -1)
    for owner, nick in nick_of:
        f_nick[owner] = len(firsts)
        firsts.append((nick, _ascii(nick), nick, nick))
    lasts, l_rng = [], []
    for cu in cultures:
        lo = len(lasts)
        if cu == "zh":
            lasts += [(simp, _ascii(pin), trad, pin) for simp, trad, pin in _ZH_SURNAMES]
        else:
            lasts += [(name, _ascii(name), name, name) for name in _LAST[cu]]
        l_rng.append((lo, len(lasts)))
    f_cols = [_pool(col) for col in zip(*firsts)]
    l_cols = [_pool(col) for col in zip(*lasts)]
    return _NamePools(
        f_cols[0],
        f_cols[1],
        f_cols[2],
        f_cols[3],
        f_nick,
        l_cols[0],
        l_cols[1],
        l_cols[2],
        l_cols[3],
        np.array(f_rng),
        np.array(l_rng),
        cultures,
    )


@dataclass
class _CompanyPools:
    brand: pa.Array  # western brand names, nice ones first
    brand_slug: pa.Array
    n_brand_base: int  # two-syllable + adjective/noun brands
    desc: pa.Array  # descriptor words ("Analytics")
    desc_slug: pa.Array
    desc_industry: np.ndarray
    zh_brand: pa.Array  # simplified, traditional, pinyin of 2- then 3-character brands
    zh_brand_trad: pa.Array
    zh_brand_pinyin: pa.Array
    n_zh_brand_base: int
    suffix: pa.Array  # suffix text as joined to a name (leading space unless a comma or Chinese)
    suffix_group: np.ndarray
    country_suffixes: list  # per country: suffix indices allowed in clean data


def _build_company_pools(extended: bool) -> _CompanyPools:
    brands = [a + b for a in _SYL1 for b in _SYL2]
    brands += [f"{a} {b}" for a in _ADJ for b in _NOUN]
    n_base = len(brands)
    if extended:  # three-syllable brands, only for large scales (building them takes a while)
        brands += [a + b + c for a in _SYL1 for b in _SYL2 for c in _SYL2 if b[-1] != c[0] and b != c]
    # "Ac"+"ar"+"a" spells "Ac"+"ara": keep one brand per slug, or two companies
    # would share a name and a website without being in the duplicate truth
    by_slug = {}
    for b in brands:
        by_slug.setdefault(b.replace(" ", "").lower(), b)
    slugs, brands = list(by_slug), list(by_slug.values())
    assert brands[:n_base] == [a + b for a in _SYL1 for b in _SYL2] + [f"{a} {b}" for a in _ADJ for b in _NOUN]
    desc, desc_ind = [], []
    for i, (_, words, _) in enumerate(_INDUSTRIES):
        desc += list(words)
        desc_ind += [i] * len(words)
    # (simplified, traditional, pinyin) of each brand: two characters, then three if needed
    zh_rows = [tuple(x + y for x, y in zip(a, b)) for a in _ZH_B1 for b in _ZH_B2]
    n_zh_base = len(zh_rows)
    if extended:
        zh_rows += [
            tuple(x + y + z for x, y, z in zip(a, b, c)) for a in _ZH_B1 for b in _ZH_B2[:18] for c in _ZH_B2[18:]
        ]
    zh_rows = list({row[2]: row for row in reversed(zh_rows)}.values())[::-1]  # one brand per pinyin
    assert len({row[2] for row in zh_rows[:n_zh_base]}) == n_zh_base
    zh, zh_t, zh_p = zip(*zh_rows)
    suffix_text = [(s if s.startswith(",") or not s.isascii() else " " + s) for s, _ in _SUFFIXES]
    groups = [g for _, g in _SUFFIXES]
    group_ids = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    country_suffixes = []
    for c in _COUNTRIES:
        allowed = _COUNTRY_SUFFIX_GROUPS[c[1]]
        country_suffixes.append(np.array([i for i, g in enumerate(groups) if g in allowed]))
    return _CompanyPools(
        _pool(brands),
        _pool(slugs),
        n_base,
        _pool(desc),
        _pool(_ascii(d) for d in desc),
        np.array(desc_ind),
        _pool(zh),
        _pool(zh_t),
        _pool(zh_p),
        n_zh_base,
        _pool(suffix_text),
        np.array([group_ids[g] for g in groups]),
        country_suffixes,
    )


_POOLS: dict = {}


def _name_pools() -> _NamePools:
    if "names" not in _POOLS:
        _POOLS["names"] = _build_name_pools()
    return _POOLS["names"]


def _company_pools(extended: bool) -> _CompanyPools:
    if extended not in _POOLS:
        _POOLS[extended] = _build_company_pools(extended)
    return _POOLS[extended]
