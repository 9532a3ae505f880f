"""Blocking: the explicit rules that choose which pairs of records are compared, and their recall.

A rule is a tuple of feature columns, or the same written as one text joined by ``+``
(``("last_key", "first_initial")`` is ``"last_key+first_initial"``, the spelling :func:`rules_for`
returns and the ``rule`` column of :func:`candidate_pairs` shows); two records form a candidate pair
when they agree on every column of at least one rule (missing values never agree). An element
``"a=b"`` compares column ``a`` of the left record with column ``b`` of the right one (names swapped
against an initial). The same rules drive splink's
``blocking_rules_to_generate_predictions`` (:func:`splink_rules`), so the recall measured here
with :func:`blocking_recall` is the recall of the pairs the model scores.

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"unique_id": ["a", "b", "c"], "email": ["x@y.io", "x@y.io", None],
...                   "last_key": ["lee", "li", "lee"]})
>>> candidate_pairs(f, rules=[("email",), ("last_key",)])[["id_l", "id_r", "rule"]].values.tolist()
[['a', 'b', 'email'], ['a', 'c', 'last_key']]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._util.arrow import isin

__all__ = [
    "PERSON_RULES",
    "COMPANY_RULES",
    "BlockingRecall",
    "rules_for",
    "candidate_pairs",
    "blocking_recall",
    "splink_rules",
    "MAX_PAIRS_PER_RECORD",
    "BoundRules",
    "bound_rules",
    "count_candidate_pairs",
]

#: People (leads, contacts): each rule catches what the others can miss.
PERSON_RULES: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("phone",),
    ("name_tokens",),  # same two names, in either order
    ("last_key", "first_initial"),  # initials, typos in the first name
    ("last_key", "first_key"),  # nicknames
    ("first_key", "last_phonetic"),  # typos in the last name
    ("first_initial", "last_phonetic"),  # an initial and a typo together
    ("first_key", "last_initial"),  # typos the phonetic key does not absorb
    ("last_key=first_raw", "first_initial=last_initial"),  # swapped names against an initial,
    ("first_raw=last_key", "last_initial=first_initial"),  # in both directions
    ("email_local", "last_phonetic"),  # same local part at a company's other domain
    ("first_key", "company_key"),  # typo in the last name, no e-mail
    ("last_key", "company_key"),  # initial and nickname, no e-mail
    ("last_key", "postal_code"),
    ("first_key", "postal_code"),
    ("national_id",),
    ("birth_date", "postal_code"),
    ("birth_date", "last_phonetic"),
)

#: Companies (accounts).
COMPANY_RULES: tuple[tuple[str, ...], ...] = (
    ("company_key",),
    ("company_tokens",),
    ("domain",),
    ("phone",),
    ("company_phonetic",),
    ("company_first", "city"),
    ("street", "city"),  # same billing address: a company renamed or written another way
    ("company_acronym", "country"),
)


@dataclass(frozen=True)
class BlockingRecall:
    """How many of the true pairs the blocking rules find (:func:`blocking_recall`).

    Attributes
    ----------
    true_pairs : int
        Distinct true pairs.
    found : int
        True pairs among the candidate pairs.
    recall : float
        ``found / true_pairs``; NaN without true pairs.
    candidate_pairs : int
        Distinct candidate pairs.
    """

    true_pairs: int
    found: int
    recall: float
    candidate_pairs: int


def _parse(rule) -> tuple[str, ...]:
    """A rule as a tuple of columns, from a tuple or its ``+``-joined text."""
    return tuple(rule.split("+")) if isinstance(rule, str) else tuple(rule)


def _sides(rule) -> tuple[list[str], list[str]]:
    """Left and right columns of a rule."""
    rule = _parse(rule)
    left = [c.split("=")[0] for c in rule]
    return left, [c.split("=")[-1] for c in rule]


def _columns(rule) -> set[str]:
    left, right = _sides(rule)
    return set(left) | set(right)


def rules_for(features: pd.DataFrame, rules=None) -> list[str]:
    """The rules (default: people or companies, by the feature columns) whose columns are all present
    and not entirely missing.

    Parameters
    ----------
    features : DataFrame
        The features the rules block on.
    rules : sequence of str or of tuple of str, optional
        Default :data:`PERSON_RULES`, or :data:`COMPANY_RULES` for company features.

    Returns
    -------
    list of str
        The usable rules, each its columns joined by ``+``, in the given order.

    Raises
    ------
    ValueError
        When no rule can be used.

    >>> rules_for(pd.DataFrame({"unique_id": ["a"], "email": ["x@y.io"], "phone": [None]}))
    ['email']
    """
    if rules is None:
        rules = COMPANY_RULES if "company_phonetic" in features.columns else PERSON_RULES
    usable = [
        "+".join(_parse(r))
        for r in rules
        if all(c in features.columns and features[c].notna().any() for c in _columns(r))
    ]
    if not usable:
        raise ValueError(f"no blocking rule can be used on columns {list(features.columns)}")
    return usable


def candidate_pairs(features: pd.DataFrame, *, rules=None, other: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairs of records that agree on all columns of at least one rule.

    Parameters
    ----------
    features : DataFrame
        Has ``unique_id`` and the rules' columns.
    rules : sequence of str or of tuple of str, optional
        Default: :data:`PERSON_RULES` or :data:`COMPANY_RULES`, those whose columns exist.
    other : DataFrame, optional
        Link ``features`` (left) to ``other`` (right) instead of de-duplicating ``features``.

    Returns
    -------
    DataFrame
        ``id_l``, ``id_r`` (``id_l < id_r`` when de-duplicating) and ``rule``: the first rule that
        found the pair, its columns joined by ``+``. One row per pair.

    Raises
    ------
    ValueError
        When ``unique_id`` is missing or not unique, or no rule can be used.
    """
    for f in (features,) if other is None else (features, other):
        if "unique_id" not in f.columns or f["unique_id"].duplicated().any():
            raise ValueError("candidate_pairs: features need a unique, present unique_id column")
    rules = rules_for(features, rules)
    right = features if other is None else other
    found = []
    for rule in rules:
        lcols, rcols = _sides(rule)
        if not all(c in right.columns for c in rcols):
            continue
        keys = [f"k{i}" for i in range(len(lcols))]
        lhs = features[["unique_id", *lcols]].dropna(subset=lcols).set_axis(["unique_id", *keys], axis=1)
        rhs = right[["unique_id", *rcols]].dropna(subset=rcols).set_axis(["unique_id", *keys], axis=1)
        m = lhs.merge(rhs, on=keys, suffixes=("_l", "_r"))[["unique_id_l", "unique_id_r"]]
        if other is None:  # splink's orientation: the left record has the smaller ID
            m = m[m["unique_id_l"] < m["unique_id_r"]]
        found.append(
            pd.DataFrame({"id_l": m["unique_id_l"].to_numpy(), "id_r": m["unique_id_r"].to_numpy(), "rule": rule})
        )
    if not found:
        return pd.DataFrame(
            {"id_l": pd.Series(dtype="str"), "id_r": pd.Series(dtype="str"), "rule": pd.Series(dtype="str")}
        )
    pairs = pd.concat(found, ignore_index=True).drop_duplicates(["id_l", "id_r"], keep="first")
    return pairs.reset_index(drop=True)


def blocking_recall(pairs: pd.DataFrame, true_pairs: pd.DataFrame) -> BlockingRecall:
    """Share of the true pairs among the candidate pairs (order within a pair does not matter).

    Parameters
    ----------
    pairs : DataFrame
        Candidate pairs (``id_l``, ``id_r``).
    true_pairs : DataFrame
        True pairs (``id_l``, ``id_r``), e.g. :func:`.evaluate.pairs_from_clusters` of the truth.

    Returns
    -------
    BlockingRecall
        True pairs, those found, the recall (NaN without true pairs) and the candidate pairs.

    Raises
    ------
    ValueError
        When either frame lacks ``id_l`` / ``id_r``.

    >>> cand = pd.DataFrame({"id_l": ["a", "b"], "id_r": ["b", "c"]})
    >>> blocking_recall(cand, pd.DataFrame({"id_l": ["b", "c"], "id_r": ["a", "d"]})).recall
    0.5
    """
    for f in (pairs, true_pairs):
        if not {"id_l", "id_r"} <= set(f.columns):
            raise ValueError("blocking_recall: frames need id_l and id_r columns")
    key = lambda f: set(zip(np.minimum(f["id_l"], f["id_r"]), np.maximum(f["id_l"], f["id_r"])))  # noqa: E731
    truth, cand = key(true_pairs.astype({"id_l": str, "id_r": str})), key(pairs.astype({"id_l": str, "id_r": str}))
    hit = len(truth & cand)
    return BlockingRecall(
        true_pairs=len(truth), found=hit, recall=hit / len(truth) if truth else float("nan"), candidate_pairs=len(cand)
    )


def splink_rules(rules) -> list:
    """The rules as splink blocking rules (same semantics: all columns equal, nulls never match).

    Parameters
    ----------
    rules : sequence of str or of tuple of str
        Blocking rules.

    Returns
    -------
    list
        One splink blocking rule per rule: ``block_on(...)``, or SQL text for a rule that compares
        two different columns.

    >>> splink_rules([("email",), "last_key=first_raw+first_initial"])[1]
    'l.last_key = r.first_raw AND l.first_initial = r.first_initial'
    """
    from splink import block_on

    out = []
    for r in map(_parse, rules):
        if any("=" in c for c in r):
            left, right = _sides(r)
            out.append(" AND ".join(f"l.{a} = r.{b}" for a, b in zip(left, right)))
        else:
            out.append(block_on(*r))
    return out


#: A rule may yield at most this many candidate pairs per record (:func:`bound_rules`). The name rules'
#: pairs per record grow with the org (a common name is shared by more people): at 200k leads six of
#: them yield 10 each, nearly all strangers, while each finds almost no true pair the e-mail, phone or
#: company rules miss. Measured on the generated orgs' true pairs: at 200k leads a budget of 10 gives
#: 28.6 pairs per lead and a blocking recall of 0.9981, 3 gives 11.9 and 0.9966, 1.5 gives 6.0 and
#: 0.9962; on the sample org (20k leads) 2 keeps the blocking recall at 1.0 (704 of 704 true pairs,
#: 4.5 pairs per lead against 10.9 unbounded).
MAX_PAIRS_PER_RECORD = 2.0

_SEP = "\x1f"

_log = logging.getLogger(__name__)


_BOUND = "cap__"


def _bounded_name(rule: tuple[str, ...]) -> str:
    return _BOUND + "__".join(c.replace("=", "_eq_") for c in rule)


def _without_bound_keys(features: pd.DataFrame) -> pd.DataFrame:
    """The features without the key columns :func:`bound_rules` added (the same object when it added none)."""
    added = [c for c in features.columns if c.startswith(_BOUND)]
    return features.drop(columns=added) if added else features


def _key(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    """The rule's columns as one text key per row; missing where any is missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(cols) == 1:
        return frame[cols[0]].astype("str")
    parts = [pa.array(frame[c].astype("str")) for c in cols]
    # one pass in Arrow (a missing part makes the key missing), not a text Series per column
    key = pc.binary_join_element_wise(*parts, pa.scalar(_SEP, pa.large_string()))
    return pd.Series(pd.array(key, dtype="str"), index=frame.index)


class BoundRules(NamedTuple):
    """What :func:`bound_rules` gives.

    Parameters
    ----------
    features : DataFrame
        The features, with the bounded rules' key columns added.
    other : DataFrame or None
        The other side's features when linking two sets, likewise; None without one.
    rules : list
        The rules to block on, a bounded rule replaced by its key column.
    pairs : dict
        Per rule of ``rules``: the candidate pairs it yields alone (a bounded rule: those of the blocks
        it keeps; a pair several rules find counts under each). Zero everywhere means no candidate pair.
    """

    features: pd.DataFrame
    other: pd.DataFrame | None
    rules: list
    pairs: dict = {}


def bound_rules(
    features: pd.DataFrame,
    rules=None,
    *,
    other: pd.DataFrame | None = None,
    max_pairs_per_record: float = MAX_PAIRS_PER_RECORD,
) -> BoundRules:
    """Bound each rule's candidate pairs by leaving out its largest blocks (a key shared by too many records).

    At a million leads a common full name is shared by hundreds of people: a rule on the names alone
    yields a billion pairs, nearly all of them strangers. A rule whose pairs exceed
    ``max_pairs_per_record`` times the records keeps only its blocks of up to *K* records, *K* the
    largest size that keeps it within that budget; the records of larger blocks are left to the other
    rules (their e-mail, phone or company). A bounded rule is replaced by one key column
    ``cap__<columns>`` (missing in the blocks left out; for a rule across two columns,
    ``cap__...`` on each side) added to the features. Rules within the budget are unchanged, so
    on a small org this returns its input.

    Parameters
    ----------
    features : DataFrame
        The features (``unique_id`` and the rules' columns).
    rules : sequence of str or of tuple of str, optional
        Default :func:`rules_for`.
    other : DataFrame, optional
        The right-hand features when linking two sets (``link_only``).
    max_pairs_per_record : float
        The budget of each rule, per record (of ``features`` plus ``other``).

    Returns
    -------
    BoundRules
        ``(features, other, rules, pairs)``: the features with the bounded rules' key columns added (the
        same objects when no rule is bounded), the rules, bounded ones replaced by their key, and each
        rule's pairs. Each bounded rule is logged (``funnel_analysis.dedupe.blocking``, INFO): its pairs
        per record before and after, and the largest block it keeps.

    Raises
    ------
    ValueError
        When no rule can be used, or ``max_pairs_per_record`` is not positive.

    >>> f = pd.DataFrame({"unique_id": list("abcdef"), "last_key": ["lee"] * 4 + ["wu"] * 2})
    >>> g, _, r, n = bound_rules(f, [("last_key",)], max_pairs_per_record=0.2)
    >>> r, g["cap__last_key"].notna().tolist(), n
    (['cap__last_key'], [False, False, False, False, True, True], {'cap__last_key': 1})
    """
    if not max_pairs_per_record > 0:
        raise ValueError(f"bound_rules: max_pairs_per_record {max_pairs_per_record} is not positive")
    rules = rules_for(features, rules)
    right = features if other is None else other
    n_records = len(features) + (0 if other is None else len(other))
    budget = max_pairs_per_record * n_records
    left_new, right_new, out, pairs = {}, {}, [], {}
    for rule in rules:
        lcols, rcols = _sides(rule)
        if not all(c in right.columns for c in rcols):
            out.append(rule)
            pairs[rule] = 0
            continue
        lk, rk = _key(features, lcols), _key(right, rcols)
        nl = lk.value_counts()
        nr = nl if (other is None and lcols == rcols) else rk.value_counts()
        sizes = pd.DataFrame({"nl": nl}).join(pd.DataFrame({"nr": nr}), how="inner")
        if other is None and lcols == rcols:
            sizes["pairs"] = sizes["nl"] * (sizes["nl"] - 1) / 2
        else:
            sizes["pairs"] = sizes["nl"] * sizes["nr"]
        if sizes["pairs"].sum() <= budget:
            out.append(rule)
            pairs[rule] = int(sizes["pairs"].sum())
            continue
        # the largest block size (in pairs) that keeps the rule within the budget
        per = sizes.groupby("pairs").size()
        cum = (per.index.to_numpy() * per.to_numpy()).cumsum()
        cap = per.index[cum <= budget].max() if (cum <= budget).any() else 0
        keep = set(sizes.index[sizes["pairs"] <= cap])
        name = _bounded_name(_parse(rule))
        # every frame gets the key of each side, so that rules_for finds them present on either
        sides = {name: lcols} if lcols == rcols else {f"{name}__l": lcols, f"{name}__r": rcols}
        for col, cols in sides.items():
            for frame, new in ((features, left_new), (right, right_new)):
                key = lk if (frame is features and cols == lcols) else _key(frame, cols)
                new[col] = key.where(key.isin(keep), None)
            if other is None:
                right_new.pop(col)
        out.append(name if lcols == rcols else f"{name}__l={name}__r")
        kept = sizes["pairs"] <= cap
        pairs[out[-1]] = int(sizes.loc[kept, "pairs"].sum())
        _log.info(
            "blocking rule %s bounded: %.1f candidate pairs per record, %.1f kept (blocks of up to %d x %d records)",
            rule,
            sizes["pairs"].sum() / n_records,
            pairs[out[-1]] / n_records,
            int(sizes.loc[kept, "nl"].max()) if kept.any() else 0,
            int(sizes.loc[kept, "nr"].max()) if kept.any() else 0,
        )
    if not left_new:
        return BoundRules(features, other, out, pairs)
    features = features.assign(**left_new)
    return BoundRules(features, None if other is None else other.assign(**right_new), out, pairs)


def count_candidate_pairs(features: pd.DataFrame, *, rules=None, memory_limit: str = "2GB") -> int:
    """The number of distinct candidate pairs of :func:`candidate_pairs`, counted in DuckDB without listing them.

    Each rule counts the pairs no earlier rule found (the pairs splink scores), so the sum is the
    distinct pairs; memory stays within ``memory_limit`` at any size.

    Parameters
    ----------
    features : DataFrame
        Has ``unique_id`` and the rules' columns (de-duplication of one set).
    rules : sequence of str or of tuple of str, optional
        Default :func:`rules_for`.
    memory_limit : str
        DuckDB's memory limit for the count.

    Returns
    -------
    int
        ``len(candidate_pairs(features, rules=rules))``.

    Raises
    ------
    ValueError
        When ``unique_id`` is missing or not unique, or no rule can be used.

    >>> f = pd.DataFrame({"unique_id": ["a", "b", "c"], "email": ["x@y.io", "x@y.io", None],
    ...                   "last_key": ["lee", "li", "lee"]})
    >>> count_candidate_pairs(f, rules=[("email",), ("last_key",)])
    2
    """
    import duckdb

    if "unique_id" not in features.columns or features["unique_id"].duplicated().any():
        raise ValueError("count_candidate_pairs: features need a unique, present unique_id column")
    rules = rules_for(features, rules)
    conds = []
    for rule in rules:
        left, right = _sides(rule)
        conds.append(" AND ".join(f'l."{a}" = r."{b}"' for a, b in zip(left, right)))
    used = sorted({c for r in rules for c in _columns(r)})
    frame = features[["unique_id", *used]].astype({c: "str" for c in ["unique_id", *used]})
    frame = frame.where(features[["unique_id", *used]].notna(), None)
    con = duckdb.connect(
        config={
            "memory_limit": memory_limit,
            "threads": 2,
            "preserve_insertion_order": False,
        }
    )
    try:
        _no_progress_bar(con)
        con.register("f", frame)
        total = 0
        for i, cond in enumerate(conds):
            earlier = " OR ".join(f"coalesce(({c}), false)" for c in conds[:i])
            query = f"SELECT count(*) FROM f l JOIN f r ON {cond} WHERE l.unique_id < r.unique_id"
            if earlier:
                query += f" AND NOT ({earlier})"
            total += con.execute(query).fetchall()[0][0]
        return int(total)
    finally:
        con.close()


def _no_progress_bar(con) -> None:
    """Switch DuckDB's progress bar off on connection ``con`` (no bar on the command line's stderr).

    In a Jupyter kernel DuckDB starts with the bar off and refuses to change the setting at all, either way,
    when ipywidgets is missing (``InvalidInputException``): so the setting is changed only when it is on.
    """
    if con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
        con.execute("SET enable_progress_bar = false")


def _bounded_columns(name: str, features: pd.DataFrame) -> list[str]:
    """The feature columns of the bounded rule whose key column is ``name`` (:func:`bound_rules`:
    ``cap__<cols>``, or one side of a rule across two columns, ``cap__<cols>__l`` / ``cap__<cols>__r``)."""
    body, side = name[len(_BOUND) :], None
    if "_eq_" in body and body.endswith(("__l", "__r")):
        body, side = body[:-3], body[-3:]
    left, right = _sides(tuple(c.replace("_eq_", "=") for c in body.split("__")))
    cols = right if side == "__r" else left
    if not all(c in features.columns for c in cols):
        raise ValueError(f"bounded rule key {name!r}: the features lack its columns {cols}")
    return cols


def _could_share(frame: pd.DataFrame, cols: list[str], keys: pd.Series) -> np.ndarray:
    """The records of ``frame`` whose every column of ``cols`` holds a value of that part of one of ``keys``
    (:func:`_key` texts, few): the only ones whose key can be one of them. Each column is tested
    against the few values by Arrow (no Python set of a large column's values)."""
    keys = keys.dropna()
    if len(cols) == 1:  # the key is the value (a bounded rule's key column holds keys of several columns)
        return isin(frame[cols[0]], keys).to_numpy(dtype=bool)
    parts = keys.str.split(_SEP, regex=False)
    maybe = np.ones(len(frame), dtype=bool) if len(parts) else np.zeros(len(frame), dtype=bool)
    for i, c in enumerate(cols):
        if not maybe.any():
            break
        maybe &= isin(frame[c], parts.str[i]).to_numpy(dtype=bool)
    return maybe


def _keys_in(frame: pd.DataFrame, cols: list[str], keys: pd.Series) -> pd.Series:
    """Whether each of ``keys`` (:func:`_key` texts, few) is the key over ``cols`` of a record of ``frame``."""
    return _values_in(keys, _key(frame.loc[_could_share(frame, cols, keys), cols], cols))


def _extend_bound_keys(bounded: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``new`` records' features with the key columns of the rules :func:`bound_rules` bounded on
    ``bounded`` (its output), as that bound leaves them: a new record keeps its key in a block the bound
    kept, and in a block of new records only; in a block the bound left out its key is missing, so it
    is left to the other rules there, as the bounded records are."""
    added = {}
    for name in (c for c in bounded.columns if c.startswith(_BOUND)):
        key = _key(new, _bounded_columns(name, new))
        kept = _values_in(key, bounded[name])
        cross = "_eq_" in name and name.endswith(("__l", "__r"))
        sides = [name[:-3] + "__l", name[:-3] + "__r"] if cross else [name]
        # left out: a key the bounded records have (on either side of a rule across two columns) not kept
        out = pd.Series(True, index=key.index)
        for side in sides:
            out &= _keys_in(bounded, _bounded_columns(side, bounded), key)
        added[name] = key.where((kept | ~out).to_numpy(dtype=bool), None)
    return new.assign(**added) if added else new


def _near(features: pd.DataFrame, new: pd.DataFrame, rules) -> pd.Series:
    """Which records of ``features`` share a key of one of ``rules`` with a record of ``new`` (either way
    round for a rule across two columns): the only ones a candidate pair with a new record can hold."""
    out = np.zeros(len(features), dtype=bool)
    for rule in rules:
        lcols, rcols = _sides(rule)
        for mine, theirs in ((lcols, rcols), (rcols, lcols)):
            if not all(c in features.columns for c in mine) or not all(c in new.columns for c in theirs):
                continue
            out |= _has_key(features, mine, _key(new, theirs))
    return pd.Series(out, index=features.index)


def _values_in(few: pd.Series, many: pd.Series) -> pd.Series:
    """Whether each value of ``few`` is a value of ``many`` (a large column: tested against the few, by Arrow)."""
    wanted = pd.unique(few.dropna().to_numpy(dtype=object))
    have = many[isin(many, wanted).to_numpy(dtype=bool)] if len(wanted) else many.iloc[0:0]
    return isin(few, have)


def _has_key(frame: pd.DataFrame, cols: list[str], keys: pd.Series) -> np.ndarray:
    """Per record of ``frame``: whether its key over ``cols`` is one of ``keys`` (few; ``frame`` large)."""
    hit = np.zeros(len(frame), dtype=bool)
    maybe = _could_share(frame, cols, keys)
    if maybe.any():
        wanted = pd.unique(keys.dropna().to_numpy(dtype=object))
        hit[np.flatnonzero(maybe)] = isin(_key(frame.loc[maybe, cols], cols), wanted).to_numpy(dtype=bool)
    return hit
