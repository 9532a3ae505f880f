"""The ``business_type`` of each opportunity, from the org profile: new business, renewal or expansion.

Renewals inflate win rate and bookings, so the headline figures are for new business, with the others
beside them. The profile (:class:`~funnel_analysis.project.profile.OrgProfile`) lists which ``Type``
values and which ``RecordTypeId`` values are each business type; :func:`business_type` applies the
lists to an opportunities table, and :func:`with_business_type` adds the column to a loaded org, so
every analysis can use it as ``by="business_type"`` or ``where="business_type == 'new_business'"``.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.project.profile import OrgProfile
>>> opps = pd.DataFrame({"type": ["New Business", " renewal ", "Upsell", None, "Referral"]})
>>> business_type(opps, profile=OrgProfile()).tolist()
['new_business', 'renewal', 'expansion', 'other', 'other']
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pandas as pd

from .profile import BUSINESS_TYPES, OrgProfile

if TYPE_CHECKING:
    from ..crm.model import CrmData

__all__ = ["BUSINESS_TYPE_COLUMN", "business_type", "with_business_type"]

#: The column :func:`with_business_type` adds to the opportunities.
BUSINESS_TYPE_COLUMN = "business_type"
#: Where the opportunity's record type is, by the names a loaded org or a raw export gives it.
_RECORD_TYPE_COLUMNS = ("record_type_id", "RecordTypeId")
_TYPE_COLUMNS = ("type", "Type")


def business_type(opportunities: pd.DataFrame, *, profile: OrgProfile) -> pd.Series:
    """Each opportunity's business type, by the profile's rules: a listed record type first, then the ``Type``.

    Parameters
    ----------
    opportunities : pandas.DataFrame
        Opportunities with a ``type`` column (``Type``) and, when the profile lists record types, a
        ``record_type_id`` column (``RecordTypeId``); neither column is needed for the other rule.
    profile : OrgProfile
        The org profile (``business_types``, ``unlisted_business_type``).

    Returns
    -------
    pandas.Series
        ``"new_business"``, ``"renewal"``, ``"expansion"``, or the profile's
        ``unlisted_business_type`` (default ``"other"``) for a value no rule lists, or a missing one;
        named ``business_type``, on the opportunities' index.

    Raises
    ------
    KeyError
        When the profile lists record types and the table has no ``record_type_id`` column, or
        lists types and it has no ``type`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.project.profile import BusinessRule, OrgProfile
    >>> p = OrgProfile(business_types={"renewal": BusinessRule(record_types=("012000000000001",))})
    >>> opps = pd.DataFrame({"type": ["New Business"], "record_type_id": ["012000000000001AAA"]})
    >>> business_type(opps, profile=p).tolist()
    ['renewal']
    """
    out = pd.Series(
        profile.unlisted_business_type, index=opportunities.index, dtype="string", name=BUSINESS_TYPE_COLUMN
    )
    decided = pd.Series(False, index=opportunities.index)
    rules = profile.business_types
    by_record = {r.strip()[:15]: kind for kind in BUSINESS_TYPES if kind in rules for r in rules[kind].record_types}
    by_type = {t.strip().casefold(): kind for kind in BUSINESS_TYPES if kind in rules for t in rules[kind].types}
    for lookup, columns, what in ((by_record, _RECORD_TYPE_COLUMNS, "RecordTypeId"), (by_type, _TYPE_COLUMNS, "Type")):
        if not lookup:
            continue
        column = next((c for c in columns if c in opportunities.columns), None)
        if column is None:
            raise KeyError(
                f"business_type: the profile lists {what} values, but the opportunities have no "
                f"{columns[0]} column ({what} not exported)"
            )
        values = opportunities[column].astype("string").str.strip()
        # IDs are case-sensitive (15 characters; the 18-character form adds a checksum); Type values are not
        found = (values.str[:15] if what == "RecordTypeId" else values.str.casefold()).map(lookup)
        take = found.notna() & ~decided
        out[take] = found[take]
        decided |= found.notna()
    return out


def with_business_type(crm: CrmData, *, profile: OrgProfile) -> CrmData:
    """The org with a ``business_type`` column on its opportunities (the org given is not changed).

    Parameters
    ----------
    crm : CrmData
        The loaded org (before any as-of cut: the cuts keep the column).
    profile : OrgProfile
        The org profile whose rules give the column (:func:`business_type`).

    Returns
    -------
    CrmData
        A copy whose ``opportunities`` table has the column; its other tables are shared.

    Raises
    ------
    KeyError
        As :func:`business_type`.

    Examples
    --------
    >>> from funnel_analysis.crm import load_org  # doctest: +SKIP
    >>> crm = with_business_type(load_org("data/sample"), profile=profile)  # doctest: +SKIP
    >>> crm.opportunities["business_type"].value_counts()  # doctest: +SKIP
    """
    opps = crm.tables.get("opportunities")
    if opps is None:
        if "opportunities" in crm.meta.get("engine_only", ()):
            return _with_business_type_in_engine(crm, profile=profile)
        return crm
    opps = opps.assign(**{BUSINESS_TYPE_COLUMN: business_type(opps, profile=profile)})
    return dataclasses.replace(crm, tables={**crm.tables, "opportunities": opps})


def _with_business_type_in_engine(crm: CrmData, *, profile: OrgProfile) -> CrmData:
    """An engine-only org's deals with ``business_type``, in its engine.

    The rules read ``type`` and ``record_type_id``: their distinct pairs come back (a few dozen), get
    their business type from :func:`business_type` itself, and go back as a small table joined onto
    the deals (a new relation; the org returned carries an engine org that names it).
    """
    from ..engine.attach import attach, engine_of
    from ..engine.base import quote_identifier

    org = engine_of(crm)
    if org is None or not org.has("opportunities"):
        return crm
    have = org.columns("opportunities")
    keys = [c for c in (*_RECORD_TYPE_COLUMNS[:1], *_TYPE_COLUMNS[:1]) if c in have]
    rel = org.relation("opportunities")
    if keys:
        pairs = org.engine.df(f"SELECT DISTINCT {', '.join(keys)} FROM {rel}")
        pairs = pairs.astype({c: "str" for c in keys})
    else:
        pairs = pd.DataFrame(index=[0])
    pairs[BUSINESS_TYPE_COLUMN] = business_type(pairs, profile=profile).astype("str").to_numpy()
    name = f"{org.relations['opportunities']}_business_{abs(hash((tuple(map(tuple, pairs.astype(str).to_numpy())), id(org)))):x}"
    org.engine.register(f"{name}_map", pairs.reset_index(drop=True))
    on = " AND ".join(f"m.{c} IS NOT DISTINCT FROM o.{c}" for c in keys) or "TRUE"
    cols = ", ".join(f"o.{quote_identifier(c)}" for c in have if c != BUSINESS_TYPE_COLUMN)
    org.engine.materialise(name, f"SELECT {cols}, m.{BUSINESS_TYPE_COLUMN} FROM {rel} o LEFT JOIN {name}_map m ON {on}")
    out = dataclasses.replace(crm, meta=dict(crm.meta))
    attach(out, org=dataclasses.replace(org, relations={**org.relations, "opportunities": name}))
    return out
