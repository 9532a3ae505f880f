"""One org's routing results, kept for the calls after the first (a report asks for the same first touches,
owner timeline and assignment four to six times).

The memo lives in the org object (a cut, :meth:`CrmData.as_of`, is itself memoised), as
:mod:`funnel_analysis.crm.field_history` keeps its changes: an entry is used only while every table of the org
is the very object it was built from and the rules are the same (the same object, or equal), and each call gets
its own copy, so a caller that changes its result changes nothing kept. An engine-only org reads tables as they
are asked for; one read after an entry was built leaves the entry in use (it was built without it).

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> org = load_frames({"Lead": pd.DataFrame({"Id": ["00Q000000000001AAA"]})})
>>> calls = []
>>> build = lambda: calls.append(1) or pd.DataFrame({"x": [1]})
>>> a, b = memoised(org, "demo", None, build), memoised(org, "demo", None, build)
>>> len(calls), a.equals(b), a is b
(1, True, False)
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

__all__ = ["memoised"]

_SLOT = "_routing_memo"
_PER_NAME = 4  # rule sets kept per result (the rules in force and a proposal, typically)


def _same(a, b) -> bool:
    return a is b or (a is not None and b is not None and type(a) is type(b) and a == b)


def memoised(org, name: str, rules, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``build()`` for this org, result name and rules: computed once, a copy on every call.

    Parameters
    ----------
    org : CrmData
        The org (or cut) the result is of; the memo is kept in it.
    name : str
        Which result (``"first_touches"``).
    rules : RoutingRules or None
        The rules it depends on (compared by identity, then equality).
    build : callable
        Computes the result from the org as it is now (no arguments).

    Returns
    -------
    DataFrame
        A copy of the result (its ``attrs`` too): a shallow one, which pandas' copy on write keeps apart from
        the kept result whatever the caller changes (a deep copy of a million leads' first touches was
        255 MiB a call).
    """
    memo = org.__dict__.setdefault(_SLOT, {})
    entries = memo.setdefault(name, [])
    # an engine-only org (or cut) reads its tables from the cache as they are asked for: a table read
    # after the result was built does not make it stale, only a table it was built with that changed
    grows = bool(org.meta.get("engine_only"))
    for kept_tables, kept_rules, result in entries:
        if _current(org, kept_tables, grows=grows) and _same(kept_rules, rules):
            return result.copy(deep=False)
    result = build()
    entries[:] = [e for e in entries if _current(org, e[0], grows=grows)]  # a stale entry is never used again
    entries.append((tuple(org.tables.items()), rules, result.copy(deep=False)))
    del entries[:-_PER_NAME]
    return result


def _current(org, kept_tables, *, grows: bool) -> bool:
    """Whether the org's tables are still those an entry was built with (with tables added since, if it ``grows``)."""
    tables = org.tables
    if not grows and len(tables) != len(kept_tables):
        return False
    return all(tables.get(k) is a for k, a in kept_tables)
