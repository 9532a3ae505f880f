"""The simulation state every stage reads and extends, and the draws several stages share.

:class:`_Sim` holds the window, independent random streams (``rng["leads"]``,
``rng["ids"]``, ...), the per-country lookups, and the entities drawn so far (``users``,
``co``, ``lead``, ``acct``, ``opp``, ...). Its methods draw what several stages
need: Salesforce IDs, creation times, people's names, titles and phone
numbers. The stages are functions of a ``_Sim`` in :mod:`~funnel_analysis.synth.people`,
:mod:`~funnel_analysis.synth.companies`, :mod:`~funnel_analysis.synth.activity`,
:mod:`~funnel_analysis.synth.pipeline` and :mod:`~funnel_analysis.synth.duplicates`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .arrowtext import (
    _B62,
    _STR,
    _cat,
    _fixed_width,
    _null_where,
    _pool,
    _sf_id_matrix,
    _sf_ids,
    _take,
    _where,
)
from .model import _DAY, _ID_PREFIX, _LEADS
from .pools import _name_pools
from .vocab import _COUNTRIES, _REGION_HOUR_UTC, _REGIONS, _TITLES, _ZH_TITLES

# ----------------------------------------------------------------------------
# Random helpers
# ----------------------------------------------------------------------------


def _lognormal(rng, median, sigma, size):
    return median * np.exp(sigma * rng.standard_normal(size))


def _quarter_end_day(day: np.ndarray) -> np.ndarray:
    """Day number (days since 1970-01-01) of the last day of the quarter."""
    months = np.asarray(day, dtype="int64").astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    next_q = (months // 3 + 1) * 3
    return next_q.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1


def _choice_by_group(rng, group: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """For each row, a random element of ``members[group[row]]`` (vectorised)."""
    sizes = np.array([len(m) for m in members])
    width = max(1, sizes.max())
    table = np.full((len(members), width), -1, dtype=np.int64)
    for g, m in enumerate(members):
        table[g, : len(m)] = m
    pick = np.floor(rng.random(len(group)) * sizes[group]).astype(np.int64)
    return table[group, pick]


def _repeat_children(counts: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng):
    """Children of parents with ``counts`` each, uniformly timed in [lo, hi)."""
    parent = np.repeat(np.arange(len(counts)), counts)
    t = lo[parent] + np.floor(rng.random(len(parent)) * np.maximum(hi[parent] - lo[parent], 1)).astype(np.int64)
    return parent, t


class _Sim:
    """State of one run: window, random streams, lookups, and the entities drawn so far."""

    def __init__(self, seed: int, scale: float, start, years: int, shard=None):
        self.seed, self.scale, self.years = int(seed), float(scale), int(years)
        # one chunk of a chunked run (:mod:`.chunked`): the org's pod, an Id offset, the first chunk's rates
        self.shard = shard
        t0 = pd.Timestamp(start)
        if t0.tzinfo is not None:
            t0 = t0.tz_convert("UTC").tz_localize(None)
        t0 = t0.normalize()
        t1 = t0 + pd.DateOffset(years=self.years)
        self.start_str, self.end_str = t0.date().isoformat(), t1.date().isoformat()
        self.t0, self.t1 = int(t0.value // 10**9), int(t1.value // 10**9)
        self.mature_cut = self.t1 - _LEADS["maturity_days"] * _DAY
        names = (
            "users",
            "companies",
            "leads",
            "campaigns",
            "accounts",
            "contacts",
            "opps",
            "history",
            "members",
            "activities",
            "duplicates",
            "ids",
            "dirty",
        )
        self.rng = dict(zip(names, np.random.default_rng(self.seed).spawn(len(names))))
        self.names = _name_pools()
        # per-country lookups
        self.c_iso = np.array([c[1] for c in _COUNTRIES])
        self.c_region = np.array([_REGIONS.index(c[2]) for c in _COUNTRIES])
        self.c_weight = np.array([c[3] for c in _COUNTRIES])
        self.c_culture = np.array([self.names.cultures.index(c[4]) for c in _COUNTRIES])
        cities = [(ci, *city) for ci, c in enumerate(_COUNTRIES) for city in c[7]]
        self.city_country = np.array([c[0] for c in cities])
        self.city_name = _pool(c[1] for c in cities)
        self.city_area = [c[2] for c in cities]
        self.city_first_digits = [c[3] for c in cities]
        self.city_sub_len = np.array([c[4] for c in cities])
        self.city_e164_prefix = _pool("+" + _COUNTRIES[c[0]][6] + c[2] for c in cities)
        self.country_cities = [np.flatnonzero(self.city_country == ci) for ci in range(len(_COUNTRIES))]
        self.pod = bytes(_B62[self.rng["ids"].integers(36, 62, 2)])  # the org's instance, e.g. "bm"
        self.id_base = 0
        if shard is not None and shard.index > 0:  # later chunks: the first chunk's pod, Ids above its range
            self.pod, self.id_base = shard.pod, shard.id_base
        self.title_pool = _pool([t for level in _TITLES for t in level] + [t for level in _ZH_TITLES for t in level])
        self.id_next = {}
        self.file_counters = {}

    # -- identifiers ---------------------------------------------------------
    def new_counters(self, kind: str, n: int) -> np.ndarray:
        """Increasing ID counters of one key prefix, with small gaps like a real org."""
        rng = self.rng["ids"]
        start = self.id_next.get(kind)
        if start is None:
            start = int(rng.integers(62**5, 3 * 62**5)) + self.id_base
        counters = start + np.cumsum(rng.integers(1, 4, n))
        self.id_next[kind] = int(counters[-1]) + 1 if n else start
        return counters

    def new_ids(self, kind: str, n: int) -> pa.Array:
        return _sf_ids(_ID_PREFIX[kind], self.pod, self.new_counters(kind, n))

    def order_and_ids(self, kind: str, created: np.ndarray):
        """File order (by creation, like an export sorted by Id); Ids in file order and by entity."""
        order = np.argsort(created, kind="stable")
        counters = self.new_counters(kind, len(order))
        self.file_counters[kind] = counters  # in file order: the deleted/merged rows fill their gaps
        pos = np.empty(len(order), np.int64)
        pos[order] = np.arange(len(order))
        m = _sf_id_matrix(_ID_PREFIX[kind], self.pod, counters)
        return order, _fixed_width(m), m.view("S18").ravel()[pos]

    # -- time ----------------------------------------------------------------
    def arrivals(self, rng, n: int, region: np.ndarray, lo: int | None = None, hi: int | None = None):
        """Creation timestamps: business days, yearly growth, seasonality, local office hours."""
        lo = self.t0 if lo is None else lo
        hi = self.t1 if hi is None else hi
        d0, n_days = lo // _DAY, max(1, (hi - lo) // _DAY)
        d = np.arange(n_days)
        dates = (d0 + d).astype("datetime64[D]")
        weekday = (d0 + d + 3) % 7
        month = dates.astype("datetime64[M]").astype(np.int64) % 12
        w = (
            (1 + _LEADS["yearly_growth"]) ** (d / 365.25)
            * np.array(_LEADS["weekday_factor"])[weekday]
            * np.array(_LEADS["month_factor"])[month]
        )
        day = rng.choice(n_days, size=n, p=w / w.sum())
        hour = np.array(_REGION_HOUR_UTC)[region] + 2.5 * rng.standard_normal(n)
        tod = np.clip(hour * 3600, 0, _DAY - 1).astype(np.int64)
        return (d0 + day) * _DAY + tod

    # -- people --------------------------------------------------------------
    def people(self, rng, culture: np.ndarray):
        fr, lr = self.names.first_range, self.names.last_range
        first = fr[culture, 0] + np.floor(rng.random(len(culture)) * (fr[culture, 1] - fr[culture, 0])).astype(np.int64)
        last = lr[culture, 0] + np.floor(rng.random(len(culture)) * (lr[culture, 1] - lr[culture, 0])).astype(np.int64)
        return first, last

    def unique_people(self, rng, group: np.ndarray, culture: np.ndarray, first, last, pattern, fixed=None):
        """Re-draw names until no two people of the same company share a name or an e-mail.

        Accidental namesakes at one company would look like duplicates to a
        de-duplicator and are not in the truth, so they are not allowed.
        ``fixed`` rows (people copied from elsewhere) are never re-drawn. After
        the first pass only the companies that had a clash are checked again.
        """
        n = len(group)
        fixed = np.zeros(n, bool) if fixed is None else fixed
        first, last, pattern = first.copy(), last.copy(), pattern.copy()
        n_first, n_last = len(self.names.first), len(self.names.last)
        rows = np.arange(n)
        for it in range(200):
            g, fx = group[rows], fixed[rows]
            codes = self.email_local(first[rows], last[rows], pattern[rows]).dictionary_encode().indices.to_numpy()
            prio = np.argsort(~fx, kind="stable")  # fixed rows claim their name first
            name_key = (g * n_first + first[rows]) * n_last + last[rows]
            mail_key = g * (int(codes.max(initial=0)) + 1) + codes
            dup = np.zeros(len(rows), bool)
            dup[prio] = (
                pd.Series(name_key[prio]).duplicated().to_numpy() | pd.Series(mail_key[prio]).duplicated().to_numpy()
            )
            bad = rows[dup & ~fx]
            if not len(bad):
                return first, last, pattern
            f2, l2 = self.people(rng, culture[bad])
            first[bad], pattern[bad] = f2, rng.integers(0, 4, len(bad))
            if it > 5:  # small name pools (Chinese) at big companies: vary the surname too
                last[bad] = l2
            rows = np.flatnonzero(np.isin(group, np.unique(group[bad])))
        raise RuntimeError("could not draw unique names")  # pragma: no cover

    def email_local(self, first, last, pattern) -> pa.Array:
        f = _take(self.names.first_ascii, first)
        lname = _take(self.names.last_ascii, last)
        initial = pc.utf8_slice_codeunits(f, 0, 1)
        return _where(
            pattern == 0,
            _cat(f, ".", lname),
            _where(pattern == 1, _cat(initial, lname), _where(pattern == 2, _cat(f, "_", lname), _cat(f, lname))),
        )

    def full_name(self, first_s: pa.Array, last_s: pa.Array, is_zh: np.ndarray) -> pa.Array:
        # Chinese names are written family name first, without a space
        return _where(is_zh, _cat(last_s, first_s), _cat(first_s, " ", last_s))

    def titles(self, rng, seniority: np.ndarray, is_zh: np.ndarray) -> np.ndarray:
        """Index into ``self.title_pool`` (half of the Chinese contacts have Chinese titles)."""
        en = [t for level in _TITLES for t in level]
        off_en = np.cumsum([0] + [len(x) for x in _TITLES])
        off_zh = np.cumsum([0] + [len(x) for x in _ZH_TITLES])
        n_en = np.array([len(x) for x in _TITLES])[seniority]
        n_zh = np.array([len(x) for x in _ZH_TITLES])[seniority]
        u = rng.random(len(seniority))
        use_zh = is_zh & (rng.random(len(seniority)) < 0.5)
        return np.where(
            use_zh, len(en) + off_zh[seniority] + np.floor(u * n_zh), off_en[seniority] + np.floor(u * n_en)
        ).astype(np.int64)

    def phone_str(self, city: np.ndarray, number: np.ndarray, valid=None) -> pa.Array:
        """E.164 text of a (city, subscriber number) pair."""
        out = _cat(_take(self.city_e164_prefix, city), pa.array(np.asarray(number, np.int64)).cast(_STR))
        return out if valid is None else _null_where(out, ~np.asarray(valid, bool))

    def phones(self, rng, city: np.ndarray) -> np.ndarray:
        """Subscriber numbers valid in the city's area code (checked with phonenumbers in the tests)."""
        n = len(city)
        sub_len = self.city_sub_len[city]
        first_digit = np.empty(n, np.int64)
        for ci in np.unique(city):
            m = city == ci
            digits = np.array([int(d) for d in self.city_first_digits[ci]])
            first_digit[m] = digits[rng.integers(0, len(digits), m.sum())]
        rest = np.floor(rng.random(n) * 10.0 ** (sub_len - 1)).astype(np.int64)
        number = first_digit * 10 ** (sub_len - 1) + rest
        # NANP exchanges may not end in "11"
        nanp = np.isin(self.city_country[city], [0, 1])
        exch = number // 10**4
        bad = nanp & (exch % 100 == 11)
        return np.where(bad, number + 10**4, number)
