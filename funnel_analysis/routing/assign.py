"""Where the rules send each lead: the matching entry, the target and the expected round-robin rep.

The rules are those of :mod:`funnel_analysis.routing.audit` (first match wins; round robin over the members active
on the lead's creation day); this module evaluates them on a leads table, the audit compares them with the owners.

Examples
--------
>>> from funnel_analysis.routing import parse_rules
>>> rules = parse_rules({"lead_assignment": [{"name": "Web", "criteria": "lead_source == 'Web'",
...     "assign_to": {"queue": "00G000000000001AAA"}}]})
>>> assign_leads(pd.DataFrame({"lead_id": ["L1", "L2"], "lead_source": ["Web", None]}), rules)["entry"].tolist()
['Web', 'default']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..crm.expression import expression_values
from .rules import RoutingRules, _checked

__all__ = ["assign_leads"]


def _day_number(values) -> np.ndarray:
    s = pd.Series(values)
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, utc=True)
    s = s.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    return (s.to_numpy("datetime64[D]").astype("int64")).astype("float64") + np.where(s.isna(), np.nan, 0.0)


def _joined(users) -> dict:
    """User ID -> the day number (UTC) of its CreatedDate."""
    if users is None or not len(users) or "created_date" not in users:
        return {}
    u = users.drop_duplicates("owner_id")
    return dict(zip(u["owner_id"], _day_number(u["created_date"]), strict=True))


def _activity(rules: RoutingRules, team: str, day: np.ndarray, joined: dict) -> tuple[np.ndarray, np.ndarray]:
    """The team's flattened member IDs and, per day number, which of them are active (a matrix)."""
    members = rules.member_records(team)
    ids = np.array([m.user_id for m in members], dtype=object)
    start = np.array(
        [
            (pd.Timestamp(m.active_from) - pd.Timestamp("1970-01-01")).days
            if m.active_from is not None
            else joined.get(m.user_id, -np.inf)
            for m in members
        ],
        dtype="float64",
    )
    start = np.nan_to_num(start, nan=-np.inf)
    return ids, np.asarray(day)[:, None] >= start[None, :]  # no creation day: nobody active


def assign_leads(
    leads: pd.DataFrame, rules: RoutingRules, *, tables=None, users: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Where the rules send each lead: the entry, the target and the expected round-robin rep.

    Parameters
    ----------
    leads : DataFrame
        With ``lead_id``, ``created_date`` and the columns the criteria name.
    rules : RoutingRules
        The rules (checked against ``tables`` first).
    tables : mapping of str to DataFrame, optional
        The org's tables for related fields (``owner.region``); ``leads`` replaces its ``leads``.
    users : DataFrame, optional
        With ``owner_id`` and ``created_date``: a member without ``active_from`` is active from that day.

    Returns
    -------
    DataFrame
        Aligned to ``leads`` (index reset): ``lead_id``, ``entry``, ``target_kind``, ``target``,
        ``expected_owner_id``.

    Examples
    --------
    >>> from funnel_analysis.routing import parse_rules
    >>> rules = parse_rules({"teams": {"T": {"members": ["005000000000001AAA", "005000000000002AAA"]}},
    ...     "lead_assignment": [{"name": "Big", "criteria": "number_of_employees >= 1000", "assign_to": {"team": "T"}}],
    ...     "default_owner": {"user": "005000000000009AAA"}})
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "number_of_employees": [5000, 10, 2000],
    ...     "created_date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True)})
    >>> assign_leads(leads, rules)[["entry", "expected_owner_id"]].values.tolist()
    [['Big', '005000000000001AAA'], ['default', '005000000000009AAA'], ['Big', '005000000000002AAA']]
    """
    base = dict(tables or {})
    base["leads"] = leads.reset_index(drop=True)
    typed = rules.tables_for(base)
    # only the tables a criterion reaches: without a related field (owner.region) the owners are not built
    paths = {c.split(".")[0] for e in rules.lead_assignment for c in e.criteria.columns if "." in c}
    if not paths:
        typed = {"leads": typed["leads"]}
    for e in rules.lead_assignment:  # every entry checked before any is evaluated
        _checked(rules.path, e.criteria, typed, "leads", f"{e.label}.criteria")
    frame = typed["leads"]
    n = len(frame)
    entry = np.full(n, "default", dtype=object)
    kind = np.full(n, None, dtype=object)
    target = np.full(n, None, dtype=object)
    if rules.default_owner is not None:
        kind[:] = rules.default_owner.kind
        target[:] = rules.default_owner.value
    taken = np.zeros(n, dtype=bool)
    for e in rules.lead_assignment:
        hit = expression_values(typed, "leads", where=e.criteria, label=f"{e.label}.criteria")
        hit = hit.fillna(False).to_numpy(dtype=bool) & ~taken
        entry[hit], kind[hit], target[hit] = e.name, e.target.kind, e.target.value
        taken |= hit
    expected = np.where(np.isin(kind, ["user", "queue"]), target, None).astype(object)
    created = frame["created_date"] if "created_date" in frame else pd.Series(pd.NaT, index=frame.index)
    day = _day_number(created)
    order = np.lexsort((frame["lead_id"].astype(str).to_numpy(), np.nan_to_num(day, nan=np.inf)))
    joined = _joined(users)
    for name, team in rules.teams.items():
        rows = order[kind[order] == "team"]
        rows = rows[target[rows] == name]
        if not len(rows):
            continue
        ids, active = _activity(rules, name, day[rows], joined)
        picked = np.full(len(rows), None, dtype=object)
        size, p = len(ids), 0
        for r in range(len(rows)):  # the pointer walks the listed order, skipping the inactive
            start = 0 if team.method == "first_member" else p
            for step in range(size):
                j = (start + step) % size
                if active[r, j]:
                    picked[r], p = ids[j], j + 1
                    break
        expected[rows] = picked
    return pd.DataFrame(
        {
            "lead_id": frame["lead_id"].to_numpy(dtype=object),
            "entry": entry,
            "target_kind": kind,
            "target": target,
            "expected_owner_id": expected,
        }
    )
