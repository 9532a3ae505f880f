"""One ``where`` for the whole org: :func:`scope_org` (``CrmData.where``) keeps the rows a filter selects
in every table, children following their parents.

A report scoped to a team or a region (``where: "owner.region == 'EMEA'"``, a ``for_each`` run) must
count the same leads, deals, activities and accounts in every section. Filtering each table on its own
cannot do that: an activity has no ``account.region`` of its own, and a deal's history has no owner.
:func:`scope_org` applies the expression once, to the tables it can be read on, and lets every other
table follow the records it belongs to.

The rules
---------
1. **Anchors.** The expression is evaluated on each of ``leads``, ``opportunities``, ``accounts`` and
   ``contacts`` on which every column it names can be read (:func:`~.expression.check_expression`): a
   column of the table itself, or ``relation.field`` through one of its references (``owner.region``
   through ``owner_id``, ``account.region`` through ``account_id``). On a table the relation points at,
   the relation's own name reads the table's field: on ``accounts``, ``account.region`` is the account's
   ``region`` (so an account filter selects the accounts themselves).
2. **Deals without the fields follow their leads.** When the expression cannot be read on
   ``opportunities`` (``status == 'Working'``), the deals kept are those a kept lead converted into.
3. **Leads without the fields are left out**, never guessed: a lead is not the child of the deal it may
   later become, and keeping only converted leads would make every conversion rate 100 %. The scope
   says so (``meta["scope"]["unreached"]`` and a line in ``meta["scope"]["notes"]``): write the filter
   in fields the leads have too (``owner.region``) for lead figures.
4. **Accounts** are the accounts the expression selects (when it can be read on them) plus the accounts
   of the kept deals and contacts, so every kept deal keeps its account; when the expression cannot be
   read on accounts, only those parents.
5. **Contacts** are those the expression selects (an account filter, read through their
   ``account_id``, keeps the account's contacts); when it cannot be read on contacts, the contacts of
   the kept accounts and the contacts kept leads converted into.
6. **Children follow their parents:** ``opportunity_history``, ``opportunity_field_history`` and
   ``contact_roles`` follow their deal; ``lead_history`` its lead; ``campaign_members`` their lead or
   contact; ``activities`` any of their parents (``what_id`` a kept deal or account, ``who_id`` a kept
   lead or contact, ``account_id`` a kept account). An activity with no parent in the org is kept when
   the expression selects it on ``activities`` (when it can be read there).
7. **Reference tables stay whole**: users, queues and their members, stages, lead statuses, campaigns,
   currencies, business hours, holidays. The data-quality report, quarantine and flags are the whole
   org's (they describe the export, not the team).
8. The expression reads the records' **current values** (as exported); an as-of cut of the scoped org
   (:meth:`~.model.CrmData.as_of`) then rebuilds their state on the day. A filter that no anchor table
   can read is refused with the error of the first table (one line naming the column and what exists).

The scoped org's ``meta["fingerprint"]`` is a new 32-hex-digit hash of the whole org's fingerprint and
the expression's canonical text, so caches keyed on it never mix a team with the org;
``meta["scope"]`` records the expression, the whole org's fingerprint, rows kept per table and the notes.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> crm = load_frames({
...     "User": pd.DataFrame({"Id": ["005A", "005B"], "Name": ["Ann", "Bo"], "Region__c": ["EMEA", "APAC"]}),
...     "Opportunity": pd.DataFrame({"Id": ["006A", "006B"], "OwnerId": ["005A", "005B"], "StageName": ["Prospecting"] * 2,
...         "CreatedDate": ["2024-01-02"] * 2, "CloseDate": ["2024-06-30"] * 2}),
... })
>>> scope_org(crm, where="owner.region == 'EMEA'").opportunities["opportunity_id"].str[:4].tolist()
['006A']
"""

from __future__ import annotations

import dataclasses
import hashlib
import weakref
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._util.arrow import isin
from .expression import (
    And,
    ColumnRef,
    Compare,
    Expression,
    ExpressionError,
    InList,
    IsNull,
    Not,
    Or,
    _owners,
    check_expression,
    expression_mask,
    parse_expression,
)
from .schema import TABLES

__all__ = ["ANCHOR_TABLES", "SELF_RELATIONS", "checked_on", "field_values", "scope_org", "scope_source"]

#: The tables the expression is evaluated on, when it can be read there (rule 1).
ANCHOR_TABLES = ("leads", "opportunities", "accounts", "contacts")
#: On these tables, ``<relation>.<field>`` names the table's own field (rule 1).
SELF_RELATIONS = {"accounts": "account", "opportunities": "opportunity", "leads": "lead", "contacts": "contact"}


def _self_refs(node: Expression, relation: str) -> Expression:
    """``node`` with every ``relation.field`` read as the table's own ``field``."""

    def ref(x):
        if isinstance(x, ColumnRef) and x.relation == relation:
            return ColumnRef(x.name, None, position=x.position)
        return x

    if isinstance(node, Compare):
        return replace(node, left=ref(node.left), right=ref(node.right))
    if isinstance(node, (InList, IsNull)):
        return replace(node, column=ref(node.column))
    if isinstance(node, (And, Or)):
        return replace(node, items=tuple(_self_refs(i, relation) for i in node.items))
    if isinstance(node, Not):
        return replace(node, item=_self_refs(node.item, relation))
    return node


def _readable(expr: Expression, tables: dict, table: str):
    """The checked expression on ``table`` (its own relation read as itself), or the error why not."""
    own = SELF_RELATIONS.get(table)
    if own and own in expr.relations:
        expr = _self_refs(expr, own)
    try:
        return check_expression(expr, tables, table), None
    except ExpressionError as e:
        return None, e


def checked_on(expr, tables, *, names=ANCHOR_TABLES, required: bool = True) -> Mapping[str, Expression]:
    """The tables of ``names`` that can read a filter, each with the filter as checked there (rule 1).

    Parameters
    ----------
    expr : str or Expression
        The filter.
    tables : mapping of str to DataFrame
        The org's tables: their columns and kinds are read, not their rows (frames without rows do).
    names : sequence of str
        The tables to try, those of ``tables`` among them (default the anchors).
    required : bool, default True
        Refuse a filter that none of them can read.

    Returns
    -------
    dict of str to Expression
        Table -> the checked filter (a table's own relation read as its own field), in ``names`` order.

    Raises
    ------
    ExpressionError
        With ``required``, when none can read it: the opportunities', else the leads', else the first
        table's error (the unknown column and what exists).

    Examples
    --------
    >>> import pandas as pd
    >>> tables = {"leads": pd.DataFrame({"status": ["Open"]}), "accounts": pd.DataFrame({"account_id": ["001A"]})}
    >>> list(checked_on("status == 'Open'", tables))
    ['leads']
    >>> checked_on("stage == 'x'", tables)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    funnel_analysis.crm.expression.ExpressionError: where: unknown column 'stage' on leads ...
    """
    parsed = expr if isinstance(expr, Expression) else parse_expression(expr)
    read, errors = {}, {}
    for name in names:
        if name in tables:
            read[name], errors[name] = _readable(parsed, tables, name)
    out = {n: e for n, e in read.items() if e is not None}
    if not out and required:
        first = next((errors[n] for n in ("opportunities", "leads", *names) if errors.get(n)), None)
        if first is None:
            raise ExpressionError("the org has none of the tables a where filters (leads, opportunities, accounts)")
        raise first._in_context(label="where", text=expr if isinstance(expr, str) else None)
    return out


def _ids(frame: pd.DataFrame | None, column: str) -> pa.Array:
    """The distinct IDs of ``frame[column]`` as text, missing ones left out (an empty array without the column).

    In Arrow, not as a Python set: building a set walked every ID of the table in Python, and :func:`_isin`
    turned it back into an Arrow array (half of a for_each value's scoping on the sample).
    """
    if frame is None or column not in frame.columns or not len(frame):
        return pa.array([], type=pa.string())
    values = pa.array(frame[column].astype("str"), type=pa.string(), from_pandas=True)
    return pc.unique(values.drop_null())


def _union(*ids: pa.Array) -> pa.Array:
    """The IDs of any of ``ids``, each once."""
    return pc.unique(pa.concat_arrays(list(ids)))


def _isin(frame: pd.DataFrame, column: str, ids: pa.Array) -> np.ndarray:
    if column not in frame.columns or not len(ids):
        return np.zeros(len(frame), dtype=bool)
    # in Arrow's C++: pandas' own isin on Arrow strings walks the ID set in Python (0.7 s of each
    # for_each value's scoping on the sample, seconds at a million leads)
    return np.array(isin(frame[column], ids), dtype=bool)  # a writable copy: callers or-in more


def _orphans(crm, tables: dict) -> np.ndarray:
    """The activities with no parent in the whole org (rule 6), the same for every filter: found once per org.

    Kept in the org object (``_scope_orphans``, with the tables it was worked out on: replacing one of them
    works it out again), so that the values of a ``for_each``, scoped from one kernel's org, share it.
    """
    acts = tables["activities"]
    parents = ("opportunities", "accounts", "leads", "contacts")
    key = tuple(id(tables.get(n)) for n in ("activities", *parents))
    kept = crm.__dict__.get("_scope_orphans")
    if kept is not None and kept[0] == key and kept[1] is acts:
        return kept[2]
    known = _union(
        _ids(tables.get("opportunities"), "opportunity_id"),
        _ids(tables.get("accounts"), "account_id"),
        _ids(tables.get("leads"), "lead_id"),
        _ids(tables.get("contacts"), "contact_id"),
    )
    orphan = ~(_isin(acts, "what_id", known) | _isin(acts, "who_id", known) | _isin(acts, "account_id", known))
    orphan.flags.writeable = False  # shared by every scope of the org
    crm.__dict__["_scope_orphans"] = (key, acts, orphan)
    return orphan


def _keep(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    return frame if mask.all() else frame[mask].reset_index(drop=True)


def scope_org(crm, *, where: str) -> CrmData:  # noqa: F821 (model imports this module: no import back)
    """The org in which every table follows one filter: the implementation of :meth:`CrmData.where`.

    Parameters
    ----------
    crm : CrmData
        The whole org, as loaded (not cut: cut the scoped org afterwards).
    where : str or Expression
        A filter in the grammar of :mod:`funnel_analysis.crm.expression`, such as
        ``"account.region == 'EMEA'"`` or ``"owner.role in ('Enterprise AE', 'Mid-Market AE')"``.
        Blank (``""`` or None): the org itself.

    Returns
    -------
    CrmData
        A new org with the rows the rules of this module keep (the input is not changed), its own
        fingerprint and ``meta["scope"]``: ``where`` (canonical text), ``source_fingerprint``,
        ``anchors`` (the tables the expression was read on), ``unreached`` (anchor tables it could
        not be read on that were left out), ``rows`` (table -> rows kept) and ``notes``.

    Raises
    ------
    ExpressionError
        When ``where`` does not parse, or no anchor table can read it (the message is the
        opportunities' or leads' error: the unknown column and what exists).
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.model.CrmData`.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> crm = load_frames({
    ...     "Account": pd.DataFrame({"Id": ["001A", "001B"], "Name": ["Acme", "Bolt"], "Region__c": ["EMEA", "APAC"]}),
    ...     "Opportunity": pd.DataFrame({"Id": ["006A", "006B"], "AccountId": ["001A", "001B"],
    ...         "StageName": ["Prospecting"] * 2, "CreatedDate": ["2024-01-02"] * 2, "CloseDate": ["2024-06-30"] * 2}),
    ... })
    >>> emea = scope_org(crm, where="account.region == 'EMEA'")
    >>> emea.accounts["name"].tolist(), emea.opportunities["opportunity_id"].str[:4].tolist()
    (['Acme'], ['006A'])
    >>> scope_org(crm, where="regon == 'EMEA'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    funnel_analysis.crm.expression.ExpressionError: where: unknown column 'regon' on opportunities ...
    """
    if not (dataclasses.is_dataclass(crm) and isinstance(getattr(crm, "tables", None), dict)):
        raise TypeError(f"scope_org: crm must be a CrmData (funnel_analysis.load_org), got {type(crm).__name__}")
    if where is None or (isinstance(where, str) and not where.strip()):
        return crm
    expr = where if isinstance(where, Expression) else parse_expression(where)
    tables = dict(crm.tables)
    read = checked_on(where if isinstance(where, str) else expr, tables)

    def selected(name):
        return np.array(expression_mask(tables, name, where=read[name]), dtype=bool)

    out = dict(tables)
    notes, unreached = [], []
    # leads (rule 3) and deals (rule 2)
    if "leads" in tables:
        if "leads" in read:
            out["leads"] = _keep(tables["leads"], selected("leads"))
        else:
            out["leads"] = tables["leads"].iloc[0:0]
            unreached.append("leads")
            notes.append(
                f"leads left out: the filter names {', '.join(expr.columns)}, which leads do not have "
                "(write it in fields leads have too, such as owner.region, for lead figures)"
            )
    if "opportunities" in tables:
        opps = tables["opportunities"]
        if "opportunities" in read:
            out["opportunities"] = _keep(opps, selected("opportunities"))
        else:
            from_leads = _ids(out.get("leads"), "converted_opportunity_id")
            out["opportunities"] = _keep(opps, _isin(opps, "opportunity_id", from_leads))
            notes.append("deals follow the leads they were converted from (the filter does not reach deals)")
    deal_ids = _ids(out.get("opportunities"), "opportunity_id")
    # accounts (rule 4) and contacts (rule 5)
    if "accounts" in tables:
        accounts = tables["accounts"]
        parents = _ids(out.get("opportunities"), "account_id")
        if "contacts" in read and "contacts" in tables:
            parents = _union(parents, _ids(tables["contacts"][selected("contacts")], "account_id"))
        mask = _isin(accounts, "account_id", parents)
        if "accounts" in read:
            mask |= selected("accounts")
        out["accounts"] = _keep(accounts, mask)
    account_ids = _ids(out.get("accounts"), "account_id")
    if "contacts" in tables:
        contacts = tables["contacts"]
        if "contacts" in read:
            mask = selected("contacts")
        else:
            mask = _isin(contacts, "account_id", account_ids)
            mask |= _isin(contacts, "contact_id", _ids(out.get("leads"), "converted_contact_id"))
        out["contacts"] = _keep(contacts, mask)
    lead_ids = _ids(out.get("leads"), "lead_id")
    contact_ids = _ids(out.get("contacts"), "contact_id")
    # children (rule 6)
    for name, column, ids in (
        ("opportunity_history", "opportunity_id", deal_ids),
        ("opportunity_field_history", "opportunity_id", deal_ids),
        ("contact_roles", "opportunity_id", deal_ids),
        ("lead_history", "lead_id", lead_ids),
    ):
        if name in tables:
            out[name] = _keep(tables[name], _isin(tables[name], column, ids))
    if "campaign_members" in tables:
        members = tables["campaign_members"]
        mask = _isin(members, "lead_id", lead_ids) | _isin(members, "contact_id", contact_ids)
        out["campaign_members"] = _keep(members, mask)
    if "activities" in tables:
        acts = tables["activities"]
        whats = _union(deal_ids, account_ids)
        mask = _isin(acts, "what_id", whats) | _isin(acts, "who_id", _union(lead_ids, contact_ids))
        mask |= _isin(acts, "account_id", account_ids)
        orphan = _orphans(crm, tables)
        own, _ = _readable(expr, tables, "activities")
        if own is not None and orphan.any():
            mask |= orphan & expression_mask(tables, "activities", where=own).to_numpy(dtype=bool)
        out["activities"] = _keep(acts, mask)
    text = str(expr)
    source = str(crm.meta.get("fingerprint", ""))
    meta = dict(crm.meta)
    meta["fingerprint"] = hashlib.sha256(f"{source}\0where\0{text}".encode()).hexdigest()[:32]
    meta["scope"] = {
        "where": text,
        "source_fingerprint": source,
        "anchors": sorted(read),
        "unreached": unreached,
        "rows": {n: len(df) for n, df in out.items()},
        "notes": notes,
    }
    # the CrmData class without importing it (model imports us)
    scoped = dataclasses.replace(crm, tables=out, meta=meta)
    # which org, and which of its tables, this one was scoped from (scope_source): held weakly, never pickled
    scoped.__dict__["_scope_source"] = (weakref.ref(crm), _table_refs(crm.tables), _table_refs(out))
    return scoped


def _table_refs(tables: dict) -> tuple:
    return tuple((name, weakref.ref(df)) for name, df in tables.items())


def _same_tables(refs: tuple, tables: dict) -> bool:
    return len(refs) == len(tables) and all(ref() is tables.get(name) for name, ref in refs)


def scope_source(crm) -> CrmData | None:  # noqa: F821 (model imports this module: no import back)
    """The org ``crm`` was scoped from by :func:`scope_org` (:meth:`CrmData.where`), while both hold the same tables.

    A scoped org's records are rows of that org's, each with all its children (the rules of this module), so
    what holds per record there holds here: the as-of state of a deal, rebuilt from its own history, is the
    same in both. The values of a ``for_each`` (each an org scoped from one kernel's org) read such per-record
    results from the whole org's memoised cuts instead of cutting again (:func:`funnel_analysis.funnel.headline_series`).

    Parameters
    ----------
    crm : CrmData
        Any org.

    Returns
    -------
    CrmData or None
        The org it was scoped from; None for an org not made by :func:`scope_org`, when that org is gone,
        or when a table of either was replaced since (the rows would no longer correspond).

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> crm = load_frames({"Lead": pd.DataFrame({"Id": ["00QA", "00QB"], "Status": ["Open", "Working"]})})
    >>> scope_source(crm.where("status == 'Open'")) is crm, scope_source(crm)
    (True, None)
    """
    kept = getattr(crm, "__dict__", {}).get("_scope_source")
    if kept is None:
        return None
    source = kept[0]()
    if source is None or not _same_tables(kept[1], source.tables) or not _same_tables(kept[2], crm.tables):
        return None
    return source


def _path_values(tables: dict, table: str, ref: ColumnRef) -> pd.Series:
    """The values ``ref`` (a checked column or path) takes on the rows of ``tables[table]``."""
    frame = tables[table]
    if ref.relation is None:
        return frame[ref.name]
    link = next(r for r in TABLES[table].references if r.column == f"{ref.relation}_id")
    if ref.relation == "owner":
        target = _owners(tables.get("users"), tables.get("groups"))  # read only: the filters' shared owners
    else:
        target = tables[link.table]
    key = TABLES[link.table].key
    lookup = target.drop_duplicates(key).set_index(key)[ref.name]
    return frame[link.column].map(lookup)


def field_values(crm, *, path: str) -> list:
    """The distinct values a field takes on the org's records: what a ``for_each`` fans a report out over.

    The field is read on each anchor table it can be read on (:data:`ANCHOR_TABLES`, rule 1 of this
    module: ``account.region`` on deals and contacts through ``account_id``, on accounts as their own
    ``region``), and the values of all of them are pooled: every value some record in scope of
    ``path == value`` has. Missing values are left out (a record without one is in no run).

    Parameters
    ----------
    crm : CrmData
        The whole org.
    path : str
        A column or ``relation.field`` of the grammar (``"account.region"``, ``"owner.role"``).

    Returns
    -------
    list
        The values, sorted (as text), each once.

    Raises
    ------
    ExpressionError
        When ``path`` is not a column name of the grammar, or no anchor table can read it.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> crm = load_frames({"Account": pd.DataFrame({"Id": ["001A", "001B", "001C"], "Name": ["A", "B", "C"],
    ...     "Region__c": ["EMEA", "APAC", None]})})
    >>> field_values(crm, path="account.region")
    ['APAC', 'EMEA']
    """
    expr = parse_expression(f"{path} is not null", label="for_each")
    if not isinstance(expr, IsNull) or expr.column.path != str(path).strip():
        raise ExpressionError(f"{path!r} is not a field (a column or relation.field)", label="for_each")
    tables = dict(crm.tables)
    values, first_error = [], None
    for name in ANCHOR_TABLES:
        if name not in tables:
            continue
        checked, error = _readable(expr, tables, name)
        if checked is None:
            first_error = first_error or error
            continue
        values.append(_path_values(tables, name, checked.column).dropna())
    if not values:
        if first_error is None:
            raise ExpressionError("the org has none of the tables a for_each reads (leads, opportunities, accounts)")
        raise first_error._in_context(label="for_each", text=f"{path} is not null")
    pooled = pd.concat(values, ignore_index=True)
    pooled = pooled[pooled.astype(str).str.strip() != ""]
    return sorted(pd.unique(pooled.astype(object)).tolist(), key=str)
