"""Records by name: what a person reads in place of an 18-character Salesforce ID.

A report's reader knows "Acme Corp — Platform renewal" and "Ann Lee", not ``006bm00001ZL8U9AAL`` and
``005bm000003XyZqAAK``. :func:`record_names` gives every record of the org that a table may show (users
and queues, accounts, contacts, leads, opportunities, campaigns) its display name, and
:func:`looks_like_record_id` tells an ID from other text by its shape and Salesforce's key prefix, so a
report can show the name and keep the ID as a link or a tooltip.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> org = load_frames({
...     "User": pd.DataFrame({"Id": ["005000000000001AAA"], "FirstName": ["Ann"], "LastName": ["Lee"]}),
...     "Account": pd.DataFrame({"Id": ["001000000000001AAA"], "Name": ["Acme"]}),
... })
>>> record_names(org).to_dict()
{'005000000000001AAA': 'Ann Lee', '001000000000001AAA': 'Acme'}
>>> names_of(org, ids=["001000000000001AAA", "001000000000009AAA"]).to_dict()
{'001000000000001AAA': 'Acme'}
>>> looks_like_record_id("006bm00001ZL8U9AAL"), looks_like_record_id("Professionalism")
(True, False)
"""

from __future__ import annotations

import re

import pandas as pd

from .model import CrmData
from .sections import owners

__all__ = ["KEY_PREFIXES", "NAMED_TABLES", "record_names", "names_of", "looks_like_record_id", "record_kind"]

#: Salesforce's key prefixes (the first three characters of an ID) of the objects a report shows.
KEY_PREFIXES = {
    "001": "account",
    "003": "contact",
    "005": "user",
    "006": "opportunity",
    "00Q": "lead",
    "701": "campaign",
    "00G": "queue",
    "00T": "task",
    "00U": "event",
    "00v": "campaign member",
    "00k": "opportunity contact role",
    "012": "record type",
    "00E": "role",
    "00D": "org",
}

_ID = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")

# table -> (its id column, the columns that make its name, in order of preference)
_NAMED = (
    ("accounts", "account_id", ("name",)),
    ("contacts", "contact_id", ("name", "first_name+last_name")),
    ("leads", "lead_id", ("name", "first_name+last_name", "company")),
    ("opportunities", "opportunity_id", ("name",)),
    ("campaigns", "campaign_id", ("name",)),
)
#: The tables whose records :func:`record_names` names, besides the owners.
NAMED_TABLES = tuple(table for table, _, _ in _NAMED)


def looks_like_record_id(value) -> bool:
    """Whether ``value`` is a Salesforce record ID of an object a report shows (shape and key prefix).

    Parameters
    ----------
    value : object
        A cell.

    Returns
    -------
    bool
        True for a 15- or 18-character ID with a digit in it whose prefix is in :data:`KEY_PREFIXES`.

    Examples
    --------
    >>> looks_like_record_id("00Qbm00000AbCdEFGH"), looks_like_record_id("L1"), looks_like_record_id(5)
    (True, False, False)
    """
    return (
        isinstance(value, str)
        and bool(_ID.match(value))
        and value[:3] in KEY_PREFIXES
        and any(ch.isdigit() for ch in value[3:])
    )


def record_kind(record_id: str) -> str:
    """The object a record ID belongs to, from its key prefix (``"lead"``, ``"user"``...), or ``"record"``.

    Parameters
    ----------
    record_id : str
        A Salesforce ID.

    Returns
    -------
    str
        The object's name in lower case.

    Examples
    --------
    >>> record_kind("006bm00001ZL8U9AAL"), record_kind("a0X000000000001AAA")
    ('opportunity', 'record')
    """
    return KEY_PREFIXES.get(str(record_id)[:3], "record")


def _name_of(table: pd.DataFrame, choices) -> pd.Series:
    name = pd.Series(pd.NA, index=table.index, dtype="object")
    for choice in choices:
        cols = choice.split("+")
        if not set(cols) <= set(table.columns):
            continue
        parts = [table[c].astype("str").fillna("").str.strip() for c in cols]
        text = parts[0].str.cat(parts[1:], sep=" ").str.strip() if len(parts) > 1 else parts[0]
        name = name.where(name.notna(), text.where(text != "", pd.NA))
    return name


#: The most IDs bound in one query of an engine (each its own parameter).
_IDS_PER_QUERY = 500


def _from_engine(crm: CrmData, table: str, key: str, choices, ids=None) -> pd.DataFrame | None:
    """The key and the name columns of an engine-only org's ``table``, read from its engine.

    With ``ids``, only the rows whose key is one of them: each ID a bound parameter, never SQL text.
    """
    import importlib

    # by name: the data model does not import the engine package (imports flow one way)
    org = importlib.import_module("funnel_analysis.engine.attach").engine_of(crm)
    if org is None or not org.has(table):
        return None
    have = set(org.columns(table))
    wanted = [key, *dict.fromkeys(c for choice in choices for c in choice.split("+"))]
    cols = [c for c in wanted if c in have]
    if key not in cols:
        return None
    quote = importlib.import_module("funnel_analysis.engine.base").quote_identifier
    select = f"SELECT {', '.join(quote(c) for c in cols)} FROM {org.relation(table)}"
    if ids is None:
        return org.engine.df(select).astype({c: "str" for c in cols})
    parts = []
    for at in range(0, len(ids), _IDS_PER_QUERY):  # in the table's order within each part
        chunk = ids[at : at + _IDS_PER_QUERY]
        marks = ", ".join(f"$id{i}" for i in range(len(chunk)))
        query = f"{select} WHERE CAST({quote(key)} AS STRING) IN ({marks})"
        parts.append(org.engine.df(query, {f"id{i}": v for i, v in enumerate(chunk)}).astype({c: "str" for c in cols}))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0] if parts else None


def record_names(crm: CrmData) -> pd.Series:
    """Every named record of the org: record ID -> the name a person reads.

    Users by their name (else first and last names), queues by theirs, accounts, opportunities and
    campaigns by ``Name``, contacts and leads by ``Name`` or first and last names (a lead without
    either by its company). Records without any of these are left out. An engine-only org's tables
    are read in its engine, their key and name columns only.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).

    Returns
    -------
    Series
        Names (str) indexed by record ID; the first name wins where an ID repeats.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`CrmData`.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> org = load_frames({"Lead": pd.DataFrame({"Id": ["00Q000000000001AAA"], "LastName": [""],
    ...                                          "Company": ["Globex"], "CreatedDate": ["2024-01-02"]})})
    >>> record_names(org).tolist()
    ['Globex']
    """
    if not isinstance(crm, CrmData):
        raise TypeError(f"record_names: expected a CrmData (fa.load_org(...)), got {type(crm).__name__}")
    parts = []
    people = owners(crm)
    if len(people):
        parts.append(pd.Series(people["name"].to_numpy(), index=people["owner_id"].to_numpy(), dtype="object"))
    for table, key, choices in _NAMED:
        t = crm.tables.get(table)
        if t is None and table in crm.meta.get("engine_only", ()):
            t = _from_engine(crm, table, key, choices)  # an engine-only org: its key and name columns alone
        if t is None or key not in t.columns:
            continue
        parts.append(pd.Series(_name_of(t, choices).to_numpy(), index=t[key].astype("str").to_numpy(), dtype="object"))
    if not parts:
        return pd.Series(dtype="str", name="name")
    out = pd.concat(parts).dropna()
    out = out[~out.index.duplicated(keep="first")].astype("str")
    out.name = "name"
    return out


def names_of(crm: CrmData, *, ids) -> pd.Series:
    """The names of some records: :func:`record_names` for these IDs only, without naming the whole org.

    What a report's table needs: the names of the few hundred IDs it shows, not a dictionary of every
    lead of a million-lead org. Each named table is searched only for the IDs still unnamed, in
    :func:`record_names`' order, so an ID gets the name :func:`record_names` gives it. An engine-only
    org's tables are searched in its engine, each ID a bound value.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    ids : iterable of str
        Record IDs (repeats and missing values are ignored).

    Returns
    -------
    Series
        Names (str) indexed by the IDs that have one, in the order first given; IDs the org has no
        name for are left out.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`CrmData`.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> org = load_frames({"Account": pd.DataFrame({"Id": ["001000000000001AAA", "001000000000002AAA"],
    ...                                             "Name": ["Acme", "Globex"]})})
    >>> names_of(org, ids=["001000000000002AAA", "005000000000009AAA", None]).tolist()
    ['Globex']
    """
    if not isinstance(crm, CrmData):
        raise TypeError(f"names_of: expected a CrmData (fa.load_org(...)), got {type(crm).__name__}")
    wanted = [str(i) for i in dict.fromkeys(ids) if isinstance(i, str) or not pd.isna(i)]
    found: dict[str, str] = {}
    left = list(wanted)

    def take(keys, names) -> None:
        nonlocal left
        for k, name in zip(keys, names, strict=True):
            if k not in found and not pd.isna(name):
                found[k] = str(name)
        left = [i for i in left if i not in found]

    people = owners(crm) if left else None
    if people is not None and len(people):
        mine = people[people["owner_id"].astype("str").isin(left)]
        take(mine["owner_id"].astype("str").tolist(), mine["name"].tolist())
    for table, key, choices in _NAMED:
        if not left:
            break
        t = crm.tables.get(table)
        if t is None and table in crm.meta.get("engine_only", ()):
            t = _from_engine(crm, table, key, choices, ids=left)
        elif t is not None and key in t.columns:
            t = t[t[key].astype("str").isin(left).to_numpy(dtype=bool)]
        if t is None or key not in t.columns or not len(t):
            continue
        take(t[key].astype("str").tolist(), _name_of(t, choices).tolist())
    return pd.Series(
        [found[i] for i in wanted if i in found], index=[i for i in wanted if i in found], dtype="str", name="name"
    )
