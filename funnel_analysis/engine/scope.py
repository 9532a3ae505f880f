"""One ``where`` for an org held in an engine: :func:`scope_engine_org`, the rules of :mod:`funnel_analysis.crm.scope` in SQL.

A report scoped to a team (``where: "owner.region == 'EMEA'"``, one value of a ``for_each``) on an org
whose tables are in DuckDB or Spark must keep its reductions there: copying the org into pandas to
filter it is what the engine is for avoiding. :func:`scope_engine_org` applies the same rules as
:func:`~funnel_analysis.crm.scope.scope_org` (anchors, deals following their leads, leads without the
fields left out, accounts and contacts, children following their parents, orphan activities, reference
tables whole) as queries: the keys each rule keeps are computed in the engine, and each scoped table is
materialised from its relation by a semi-join on them. The expression reaches the engine only as SQL
text of quoted names from the grammar and bound values (:func:`~funnel_analysis.crm.expression.to_sql`),
never pasted.

The result is a new :class:`~funnel_analysis.engine.org.EngineOrg` on the same engine whose
relations are the scoped tables (``scope_<hash>_<table>``) and the reference tables as they were; every
reduction of :mod:`funnel_analysis.engine` runs on it unchanged. Its ``meta["fingerprint"]`` is the
one :func:`~funnel_analysis.crm.scope.scope_org` gives the same org and filter, and ``meta["scope"]``
holds what it records (``rows`` counted in the engine).

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.engine import EngineOrg, connect
>>> from funnel_analysis.crm import load_frames
>>> crm = load_frames({
...     "User": pd.DataFrame({"Id": ["005A", "005B"], "Name": ["Ann", "Bo"], "Region__c": ["EMEA", "APAC"]}),
...     "Opportunity": pd.DataFrame({"Id": ["006A", "006B"], "OwnerId": ["005A", "005B"], "StageName": ["Prospecting"] * 2,
...         "CreatedDate": ["2024-01-02"] * 2, "CloseDate": ["2024-06-30"] * 2}),
... })
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb", threads=1))
>>> emea = scope_engine_org(org, where="owner.region == 'EMEA'")
>>> emea.engine.df(f"SELECT opportunity_id FROM {emea.relation('opportunities')}")["opportunity_id"].str[:4].tolist()
['006A']
>>> emea.meta["scope"]["rows"]["opportunities"]
1
"""

from __future__ import annotations

import hashlib

from ..crm.expression import Expression, ExpressionError, owner_records, parse_expression, to_sql
from ..crm.schema import TABLES
from ..crm.scope import checked_on
from .base import EngineError
from .base import quote_identifier as _q
from .org import EngineOrg

__all__ = ["scope_engine_org", "scoped_fingerprint"]

#: The tables whose rows follow a parent, with (column, the parent's key table) pairs (rule 6).
_CHILDREN = {
    "opportunity_history": (("opportunity_id", "opportunities"),),
    "opportunity_field_history": (("opportunity_id", "opportunities"),),
    "contact_roles": (("opportunity_id", "opportunities"),),
    "lead_history": (("lead_id", "leads"),),
    "campaign_members": (("lead_id", "leads"), ("contact_id", "contacts")),
}
#: The anchor tables' keys (every table not scoped here is a reference table, shared whole: rule 7).
_KEY_COLUMN = {
    "leads": "lead_id",
    "opportunities": "opportunity_id",
    "accounts": "account_id",
    "contacts": "contact_id",
}


def scoped_fingerprint(source: str, where_text: str) -> str:
    """The fingerprint of an org scoped by a filter, as :func:`~funnel_analysis.crm.scope.scope_org` makes it.

    Parameters
    ----------
    source : str
        The whole org's fingerprint.
    where_text : str
        The filter's canonical text (``str(parse_expression(...))``).

    Returns
    -------
    str
        32 hexadecimal digits.

    Examples
    --------
    >>> len(scoped_fingerprint("abc", "amount > 1"))
    32
    """
    return hashlib.sha256(f"{source}\0where\0{where_text}".encode()).hexdigest()[:32]


def _check_frames(org: EngineOrg, reference: dict | None) -> dict:
    """What :func:`~funnel_analysis.crm.expression.check_expression` reads: every table's columns and kinds.

    The engine's tables as frames without rows (their types are the columns' kinds); users and queues
    whole (the ``owner`` relation is :func:`owner_records` of them), from ``reference`` or the engine.
    """
    frames = {}
    for table in org.relations:
        if table in ("users", "groups"):
            continue
        frames[table] = org.engine.df(f"SELECT * FROM {org.relation(table)} LIMIT 0")
    for table in ("users", "groups"):
        if reference and reference.get(table) is not None:
            frames[table] = reference[table]
        elif org.has(table):
            frames[table] = org.engine.df(f"SELECT * FROM {org.relation(table)}")
    return frames


def _selected_sql(org: EngineOrg, expr: Expression, table: str, owners: str | None) -> tuple[str, dict]:
    """``SELECT <key>`` of the rows of ``table`` the checked ``expr`` is true on, and its bound values."""
    key = _KEY_COLUMN.get(table) or TABLES[table].key
    f = to_sql(expr, table="t", paramstyle="dollar")
    joins = []
    for relation in sorted(expr.relations):
        ref = next(r for r in TABLES[table].references if r.column == f"{relation}_id")
        target = TABLES[ref.table].key
        source = owners if relation == "owner" else org.relation(ref.table)
        if source is None or (relation != "owner" and not org.has(ref.table)):
            raise EngineError(f"where: the {ref.table} table is not in the engine")
        joins.append(f"LEFT JOIN {source} AS {_q(relation)} ON {_q(relation)}.{_q(target)} = t.{_q(ref.column)}")
    query = f"SELECT t.{_q(key)} AS k FROM {org.relation(table)} t {' '.join(joins)} WHERE {f.text}"
    return query, f.named


def _unique_keys(org: EngineOrg, expr: Expression, table: str, owners: str | None, frames: dict) -> None:
    """Refuse, as the pandas mask does, a path through a related table whose keys repeat."""
    for relation in sorted(expr.relations):
        ref = next(r for r in TABLES[table].references if r.column == f"{relation}_id")
        key = TABLES[ref.table].key
        if relation == "owner":
            continue  # owner_records of the loaded users and queues: checked in pandas below
        (n, distinct) = org.engine.df(
            f"SELECT CAST(count({_q(key)}) AS BIGINT) AS n, CAST(count(DISTINCT {_q(key)}) AS BIGINT) AS d "
            f"FROM {org.relation(ref.table)}"
        ).iloc[0]
        if int(n) != int(distinct):
            raise ExpressionError(f"where: {ref.table}.{key} repeats, so {relation}.<field> has no single value")


def scope_engine_org(org: EngineOrg, *, where, reference: dict | None = None) -> EngineOrg:
    """The org in its engine with every table following one filter (the rules of :mod:`funnel_analysis.crm.scope`).

    Parameters
    ----------
    org : EngineOrg
        The whole org, as loaded into the engine (not cut).
    where : str or Expression
        A filter in the grammar of :mod:`funnel_analysis.crm.expression`. Blank: ``org`` itself.
    reference : dict, optional
        ``users`` and ``groups`` frames in pandas, when the engine lacks them or they are loaded already
        (the ``owner`` relation is built from them).

    Returns
    -------
    EngineOrg
        On the same engine: the scoped tables materialised (``scope_<hash>_<table>``), the reference
        tables shared; ``meta`` as ``org.meta`` with the scoped ``fingerprint`` and ``scope``
        (``where``, ``source_fingerprint``, ``anchors``, ``unreached``, ``rows``, ``notes``).

    Raises
    ------
    ExpressionError
        When ``where`` does not parse or no anchor table can read it (the message names the column and
        what exists), or a related table's keys repeat.
    EngineError
        When a related table the filter reads is not in the engine.

    Examples
    --------
    >>> scope_engine_org(org, where="account.region == 'EMEA'").meta["scope"]["rows"]["opportunities"]  # doctest: +SKIP
    812
    >>> scope_engine_org(org, where="regon == 'EMEA'")  # doctest: +SKIP
    Traceback (most recent call last):
    ...
    funnel_analysis.crm.expression.ExpressionError: where: unknown column 'regon' on opportunities ...
    """
    if not isinstance(org, EngineOrg):
        raise TypeError(f"scope_engine_org: org must be an EngineOrg, got {type(org).__name__}")
    if where is None or (isinstance(where, str) and not where.strip()):
        return org
    expr = where if isinstance(where, Expression) else parse_expression(where)
    frames = _check_frames(org, reference)
    read = checked_on(where if isinstance(where, str) else expr, frames)
    text = str(expr)
    source = str(org.meta.get("fingerprint", ""))
    fingerprint = scoped_fingerprint(source, text)
    tag = f"scope_{fingerprint[:12]}"
    eng = org.engine
    owners = None
    if any("owner" in e.relations for e in read.values()):
        users, groups = frames.get("users"), frames.get("groups")
        usable = groups is not None and {"group_id", "name"} <= set(groups.columns)
        records = owner_records(users, groups if usable else None)
        if records["owner_id"].duplicated().any():
            raise ExpressionError("where: the owners' IDs repeat, so owner.<field> has no single value")
        owners = _q(f"{tag}_owners")
        eng.register(f"{tag}_owners", records)
    for name, e in read.items():
        _unique_keys(org, e, name, owners, frames)

    keys: dict[str, str] = {}  # table -> the relation of its kept keys (column k)

    def keep(table: str, query: str, params: dict | None = None) -> None:
        rel = f"{tag}_k_{table}"
        eng.materialise(rel, f"SELECT DISTINCT k FROM ({query}) q WHERE k IS NOT NULL", params or None)
        keys[table] = _q(rel)

    def selected(table: str) -> tuple[str, dict]:
        return _selected_sql(org, read[table], table, owners)

    def column_of(table: str, column: str, of: str) -> str:
        """``column`` of the kept rows of ``table`` (``of``: its key table)."""
        return f"SELECT s.{_q(column)} AS k FROM {org.relation(table)} s WHERE s.{_q(_KEY_COLUMN[table])} IN (SELECT k FROM {of})"

    def has_column(table: str, column: str) -> bool:
        return org.has(table) and column in org.columns(table)

    notes, unreached = [], []
    empty = "SELECT CAST(NULL AS VARCHAR) AS k"  # no key: keep() drops the null
    # leads (rule 3) and deals (rule 2)
    if org.has("leads"):
        if "leads" in read:
            keep("leads", *selected("leads"))
        else:
            keep("leads", empty)
            unreached.append("leads")
            notes.append(
                f"leads left out: the filter names {', '.join(expr.columns)}, which leads do not have "
                "(write it in fields leads have too, such as owner.region, for lead figures)"
            )
    if org.has("opportunities"):
        if "opportunities" in read:
            keep("opportunities", *selected("opportunities"))
        else:
            from_leads = (
                column_of("leads", "converted_opportunity_id", keys["leads"])
                if "leads" in keys and has_column("leads", "converted_opportunity_id")
                else empty
            )
            keep("opportunities", from_leads)
            notes.append("deals follow the leads they were converted from (the filter does not reach deals)")
    # accounts (rule 4) and contacts (rule 5)
    if org.has("accounts"):
        parts, params = [], {}
        if "opportunities" in keys and has_column("opportunities", "account_id"):
            parts.append(column_of("opportunities", "account_id", keys["opportunities"]))
        if "contacts" in read and org.has("contacts") and has_column("contacts", "account_id"):
            q, p = _selected_sql(org, read["contacts"], "contacts", owners)
            parts.append(f"SELECT c.account_id AS k FROM {org.relation('contacts')} c WHERE c.contact_id IN ({q})")
            params.update(p)
        if "accounts" in read:
            q, p = selected("accounts")
            if params and set(p) & set(params):
                q, p = _renamed(q, p, "a")
            parts.append(q)
            params.update(p)
        keep("accounts", " UNION ALL ".join(parts) or empty, params)
    if org.has("contacts"):
        if "contacts" in read:
            keep("contacts", *selected("contacts"))
        else:
            parts = []
            if "accounts" in keys and has_column("contacts", "account_id"):
                parts.append(
                    f"SELECT c.contact_id AS k FROM {org.relation('contacts')} c WHERE c.account_id IN (SELECT k FROM {keys['accounts']})"
                )
            if "leads" in keys and has_column("leads", "converted_contact_id"):
                parts.append(column_of("leads", "converted_contact_id", keys["leads"]))
            keep("contacts", " UNION ALL ".join(parts) or empty)

    relations = dict(org.relations)
    rows: dict[str, int] = {}

    def materialise(table: str, condition: str, params: dict | None = None) -> None:
        rel = f"{tag}_{table}"
        eng.materialise(rel, f"SELECT t.* FROM {org.relation(table)} t WHERE {condition}", params or None)
        relations[table] = rel

    def in_keys(column: str, of: str) -> str:
        return f"t.{_q(column)} IN (SELECT k FROM {keys[of]})" if of in keys else "FALSE"

    for table in ("leads", "opportunities", "accounts", "contacts"):
        if table in keys:
            materialise(table, in_keys(_KEY_COLUMN[table], table))
    for table, links in _CHILDREN.items():
        if org.has(table):
            present = [(c, of) for c, of in links if c in org.columns(table)]
            materialise(table, " OR ".join(in_keys(c, of) for c, of in present) or "FALSE")
    if org.has("activities"):
        columns = org.columns("activities")
        parts = []
        # a parent of an activity: what_id a deal or account, who_id a lead or contact, account_id an account
        links = [
            ("what_id", "opportunities"),
            ("what_id", "accounts"),
            ("who_id", "leads"),
            ("who_id", "contacts"),
            ("account_id", "accounts"),
        ]
        parts = [in_keys(c, of) for c, of in links if c in columns]
        condition = " OR ".join(p for p in parts if p != "FALSE") or "FALSE"
        params: dict = {}
        own = checked_on(expr, frames, names=("activities",), required=False).get("activities")
        if own is not None:
            # an activity with no parent in the whole org is kept when the filter selects it on activities
            known = [
                f"SELECT {_q(_KEY_COLUMN[t])} AS k FROM {org.relation(t)}"
                for t in ("opportunities", "accounts", "leads", "contacts")
                if org.has(t)
            ]
            eng.materialise(
                f"{tag}_known", f"SELECT DISTINCT k FROM ({' UNION ALL '.join(known) or empty}) q WHERE k IS NOT NULL"
            )
            linked = [
                f"COALESCE(t.{_q(c)} IN (SELECT k FROM {_q(tag + '_known')}), FALSE)"
                for c in ("what_id", "who_id", "account_id")
                if c in columns
            ]
            orphan = f"NOT ({' OR '.join(linked)})" if linked else "TRUE"
            q, params = _selected_sql(org, own, "activities", owners)
            condition = f"({condition}) OR ({orphan} AND t.{_q(TABLES['activities'].key)} IN ({q}))"
        materialise("activities", condition, params)
    for table, rel in relations.items():
        if rel.startswith(tag):
            (n,) = eng.df(f"SELECT CAST(count(*) AS BIGINT) AS n FROM {_q(rel)}")["n"].tolist()
            rows[table] = int(n)
        elif table in org.relations:
            rows[table] = _count(org, table)
    meta = dict(org.meta)
    meta["fingerprint"] = fingerprint
    meta["scope"] = {
        "where": text,
        "source_fingerprint": source,
        "anchors": sorted(read),
        "unreached": unreached,
        "rows": rows,
        "notes": notes,
    }
    return EngineOrg(engine=eng, relations=relations, stages=org.stages.copy(), meta=meta)


def _count(org: EngineOrg, table: str) -> int:
    (n,) = org.engine.df(f"SELECT CAST(count(*) AS BIGINT) AS n FROM {org.relation(table)}")["n"].tolist()
    return int(n)


def _renamed(query: str, params: dict, prefix: str) -> tuple[str, dict]:
    """``query`` with its ``$w<i>`` placeholders renamed ``$<prefix>w<i>`` (two filters in one statement)."""
    out = query
    for name in sorted(params, key=len, reverse=True):  # $w10 before $w1
        out = out.replace(f"${name}", f"${prefix}{name}")
    return out, {f"{prefix}{k}": v for k, v in params.items()}
