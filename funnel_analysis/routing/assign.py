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

from ..crm import field_changes
from ..crm.expression import expression_values
from ._fast import isin
from ._memo import memoised
from .rules import RoutingRules, _checked

__all__ = ["assign_leads", "assign_opportunities", "values_at_creation"]


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
    return _assign(leads, rules, "leads", "lead_id", rules.lead_assignment, rules.default_owner, tables, users)


def assign_opportunities(
    opportunities: pd.DataFrame, rules: RoutingRules, *, tables=None, users: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Where the rules' ``opportunity_assignment`` sends each deal (the same rules as for leads).

    Parameters
    ----------
    opportunities : DataFrame
        With ``opportunity_id``, ``created_date`` and the columns the criteria name.
    rules : RoutingRules
        The rules (checked against ``tables`` first); a deal matching no entry goes to
        ``default_opportunity_owner`` (``entry = "default"``; no target without one).
    tables : mapping of str to DataFrame, optional
        The org's tables for related fields (``account.region``); ``opportunities`` replaces its own.
    users : DataFrame, optional
        With ``owner_id`` and ``created_date`` (a member's first active day without ``active_from``).

    Returns
    -------
    DataFrame
        Aligned to ``opportunities`` (index reset): ``opportunity_id``, ``entry``, ``target_kind``, ``target``,
        ``expected_owner_id``.

    Examples
    --------
    >>> from funnel_analysis.routing import parse_rules
    >>> rules = parse_rules({"teams": {"S": {"members": ["005000000000001AAA", "005000000000002AAA"]}},
    ...     "opportunity_assignment": [{"name": "Large", "criteria": "amount >= 75000", "assign_to": {"team": "S"}}]})
    >>> deals = pd.DataFrame({"opportunity_id": ["O1", "O2", "O3"], "amount": [90000.0, 500.0, 80000.0],
    ...     "created_date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True)})
    >>> out = assign_opportunities(deals, rules)
    >>> out["entry"].tolist(), out["expected_owner_id"].fillna("none").tolist()
    (['Large', 'default', 'Large'], ['005000000000001AAA', 'none', '005000000000002AAA'])
    """
    return _assign(
        opportunities,
        rules,
        "opportunities",
        "opportunity_id",
        rules.opportunity_assignment,
        rules.default_opportunity_owner,
        tables,
        users,
    )


def _assign(records, rules, table, key, entries, default, tables, users) -> pd.DataFrame:
    base = dict(tables or {})
    base[table] = records.reset_index(drop=True)
    typed = rules.tables_for(base)
    # only the tables a criterion reaches: without a related field (owner.region) the owners are not built
    paths = {c.split(".")[0] for e in entries for c in e.criteria.columns if "." in c}
    if not paths:
        typed = {table: typed[table]}
    for e in entries:  # every entry checked before any is evaluated
        _checked(rules.path, e.criteria, typed, table, f"{e.label}.criteria")
    frame = typed[table]
    n = len(frame)
    entry = np.full(n, "default", dtype=object)
    kind = np.full(n, None, dtype=object)
    target = np.full(n, None, dtype=object)
    if default is not None:
        kind[:] = default.kind
        target[:] = default.value
    taken = np.zeros(n, dtype=bool)
    for e in entries:
        hit = expression_values(typed, table, where=e.criteria, label=f"{e.label}.criteria")
        hit = hit.fillna(False).to_numpy(dtype=bool) & ~taken
        entry[hit], kind[hit], target[hit] = e.name, e.target.kind, e.target.value
        taken |= hit
    expected = np.where(np.isin(kind, ["user", "queue"]), target, None).astype(object)
    created = frame["created_date"] if "created_date" in frame else pd.Series(pd.NaT, index=frame.index)
    day = _day_number(created)
    order = np.lexsort((frame[key].astype(str).to_numpy(), np.nan_to_num(day, nan=np.inf)))
    joined = _joined(users)
    for name, team in rules.teams.items():
        rows = order[kind[order] == "team"]
        rows = rows[target[rows] == name]
        if not len(rows):
            continue
        ids, active = _activity(rules, name, day[rows], joined)
        picked = np.full(len(rows), None, dtype=object)
        size, p = len(ids), 0
        flags, names = active.tolist(), ids.tolist()  # Python lists: a numpy scalar read per step is slow
        for r, on in enumerate(flags):  # the pointer walks the listed order, skipping the inactive
            start = 0 if team.method == "first_member" else p
            for step in range(size):
                j = (start + step) % size
                if on[j]:
                    picked[r], p = names[j], j + 1
                    break
        expected[rows] = picked
    return pd.DataFrame(
        {
            key: frame[key].to_numpy(dtype=object),
            "entry": entry,
            "target_kind": kind,
            "target": target,
            "expected_owner_id": expected,
        }
    )


_HISTORY = {"leads": ("lead_history", "lead_id"), "opportunities": ("opportunity_field_history", "opportunity_id")}


def values_at_creation(crm, *, table: str, columns) -> pd.DataFrame:
    """The records of ``table`` with ``columns`` as they were when each record was created.

    From the field history (``lead_history`` / ``opportunity_field_history``): a record whose field changed
    takes the old value of its first recorded change; a record whose field never changed keeps its value. A
    deal's ``amount`` is its first stage-history row's (Salesforce writes it there). Fields without history
    keep their values in the cut (nothing better is known).

    Parameters
    ----------
    crm : CrmData
        The org (or a cut of it, :func:`~funnel_analysis.crm.cut_as_of`: its history holds the rows before its day).
    table : str
        ``"leads"`` or ``"opportunities"``.
    columns : iterable of str
        The record's columns the criteria read (related ``a.b`` paths are ignored).

    Returns
    -------
    DataFrame
        A copy of the table (the org's frame is not modified); ``attrs["from_history"]`` is the number of
        records with a value taken from history.

    Raises
    ------
    ValueError
        When ``table`` is neither ``"leads"`` nor ``"opportunities"``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> lead = pd.DataFrame({"Id": ["00Q000000000001AAA"], "Country": ["France"], "LastName": ["A"],
    ...     "Company": ["C"], "Status": ["Open"], "CreatedDate": ["2025-01-01T09:00:00Z"]})
    >>> hist = pd.DataFrame({"Id": ["017000000000001AAA"], "LeadId": ["00Q000000000001AAA"],
    ...     "Field": ["Country"], "OldValue": ["Germany"], "NewValue": ["France"],
    ...     "CreatedDate": ["2025-01-03T09:00:00Z"]})
    >>> crm = load_frames({"Lead": lead, "LeadHistory": hist})
    >>> values_at_creation(crm, table="leads", columns=["country"])["country"].tolist()
    ['Germany']
    """
    if table not in _HISTORY:
        raise ValueError(f"values_at_creation: table must be 'leads' or 'opportunities', got {table!r}")
    history, key = _HISTORY[table]
    cut = crm
    frame = getattr(cut, table).copy()  # an engine-only org: one line (EngineOnlyError), not a KeyError
    changed = np.zeros(len(frame), dtype=bool)
    ids = frame[key].astype(str)
    tracked = None  # the fields the history has rows of, folded (Lead_Score__c -> leadscore), read once
    if cut.has(history) and "field" in getattr(cut, history):
        names = pd.Series(getattr(cut, history)["field"].dropna().unique()).astype(str)
        tracked = {_fold(n) for n in names}
    for column in sorted({c for c in columns if "." not in c and c in frame.columns}):
        if table == "opportunities" and column == "amount" and cut.has("opportunity_history"):
            h = cut.opportunity_history.sort_values(["opportunity_id", "created_date", "history_id"], kind="stable")
            first = h.drop_duplicates("opportunity_id").set_index("opportunity_id")["amount"]
            m = isin(ids, first.index)
            frame.loc[m, column] = ids[m].map(first).to_numpy()
            changed |= m
            continue
        if tracked is None or not ({_fold(column), _fold(column).removesuffix("id")} & tracked):
            continue  # no history of this field: skip the (costly) parse of the history table
        try:
            ch = field_changes(cut, table=history, field=column)
        except ValueError:
            continue
        if not len(ch):
            continue
        old = ch.drop_duplicates(key).set_index(key)["old_value"]
        m = isin(ids, old.index.astype(str))
        if not m.any():
            continue
        values = ids[m].map(pd.Series(old.to_numpy(), index=old.index.astype(str)))
        frame[column] = _coerced(frame[column], m, values)
        changed |= m
    frame.attrs["from_history"] = int(changed.sum())
    return frame


def _leads_at_creation(cut, rules: RoutingRules) -> pd.DataFrame:
    """The cut's leads with the fields the lead rules read as they were at creation (:func:`values_at_creation`)."""
    columns = {c for e in rules.lead_assignment for c in e.criteria.columns}
    return values_at_creation(cut, table="leads", columns=columns)


def _fold(name: str) -> str:
    """A field's name folded so the column and the API name meet: ``Lead_Score__c``, ``lead_score`` -> leadscore."""
    return str(name).lower().removesuffix("__c").replace("_", "")


def _coerced(current: pd.Series, rows: np.ndarray, values: pd.Series) -> pd.Series:
    """``current`` with ``values`` (history text or typed) put at ``rows``, in the current column's type."""
    out = current.copy()
    v = values.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(current.dtype):
        words = {"true": True, "false": False}
        v = v.map(
            lambda x: (
                x if isinstance(x, (bool, np.bool_)) or x is None or x is pd.NA else words.get(str(x).strip().lower())
            )
        )
    elif pd.api.types.is_numeric_dtype(current.dtype):
        v = pd.to_numeric(v, errors="coerce")
    elif isinstance(current.dtype, pd.DatetimeTZDtype):
        v = pd.to_datetime(v, utc=True, errors="coerce")
    else:
        v = v.astype(object).where(v.notna(), None)
        out = out.astype(object)
    if pd.api.types.is_integer_dtype(out.dtype) and not isinstance(out.dtype, pd.api.extensions.ExtensionDtype):
        out = out.astype("float64")
    out.iloc[np.flatnonzero(rows)] = v.to_numpy()
    return out


def _routed_leads(cut, rules: RoutingRules) -> pd.DataFrame:
    """:func:`assign_leads` of the cut's leads at creation (the audit, fairness, first touches and what-if each
    need it): computed once per cut and rules, a copy each call."""

    def build():
        users = cut.users if cut.has("users") else None
        # an engine-only cut reads the tables the criteria reach (account.region: the accounts) before handing
        # over its tables, also for rules loaded without the org
        cut.ensure_related_tables("leads", *(e.criteria for e in rules.lead_assignment))
        return assign_leads(_leads_at_creation(cut, rules), rules, tables=cut.tables, users=users)

    return memoised(cut, "routed_leads", rules, build)
