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

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "PERSON_RULES",
    "COMPANY_RULES",
    "BlockingRecall",
    "rules_for",
    "candidate_pairs",
    "blocking_recall",
    "splink_rules",
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
