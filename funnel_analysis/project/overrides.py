"""The org profile applied to a loaded org: business types, and the stage and lead-status overrides.

:func:`apply_profile` is what a report does with the profile before its sections run: every
opportunity gets its ``business_type`` (:func:`~funnel_analysis.project.business.with_business_type`),
and the profile's ``stages:`` / ``lead_statuses:`` correct the org's stage table (``OpportunityStage``,
or Salesforce's standard stages) and its ``LeadStatus`` table where the export gets them wrong (a
"Closed Lost - Duplicate" stage the export lists as open, a status that is not really converted).
A stage the table lacks is added; a status override needs the org's ``LeadStatus`` table (without it
the default statuses have no flags to correct), and says so. What was changed is listed in
``crm.meta["profile_overrides"]``, one line each, for the report header. The profile's custom fiscal
periods become ``crm.meta["fiscal_calendar"]`` (:func:`profile_calendar`), which every report's
``fiscal_year_start_month`` resolves against (:func:`funnel_analysis.periods.fiscal_calendar`).

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> from funnel_analysis.project import OrgProfile
>>> crm = load_frames({"Opportunity": pd.DataFrame({"Id": ["006A"], "StageName": ["Prospecting"],
...                                                 "Type": ["Renewal"]})})
>>> org = apply_profile(crm, profile=OrgProfile(stages={"Prospecting": {"default_probability": 5}}))
>>> org.opportunities["business_type"].tolist(), org.meta["profile_overrides"]
(['renewal'], ['stage Prospecting: default_probability 5'])
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..periods import FiscalCalendar
from .business import with_business_type
from .profile import OrgProfile, ProfileError

if TYPE_CHECKING:
    from ..crm.model import CrmData

__all__ = ["apply_profile", "profile_calendar"]


def profile_calendar(profile: OrgProfile) -> FiscalCalendar:
    """The org's fiscal calendar: the profile's custom fiscal periods, or its standard fiscal year.

    Parameters
    ----------
    profile : OrgProfile
        The org profile; its ``fiscal_periods`` come from ``fiscal_year: {periods: Period.csv}``.

    Returns
    -------
    FiscalCalendar
        With the custom periods (years from the ``Year`` rows, or else from the quarters and months
        of each ``FiscalYearSettingsId``), or the standard year of ``fiscal_year_start_month``.

    Raises
    ------
    ProfileError
        When the periods name no years, or overlap.

    Examples
    --------
    >>> profile_calendar(OrgProfile(fiscal_year_start_month=2)).describe()
    'the fiscal year starting in February'
    """
    if not profile.fiscal_periods:
        return FiscalCalendar.standard(profile.fiscal_year_start_month)
    rows = [(p.type, p.start, p.end) for p in profile.fiscal_periods]
    if not any(p.type.casefold() == "year" for p in profile.fiscal_periods):
        spans: dict[str, list] = {}
        for p in profile.fiscal_periods:
            if p.fiscal_year:
                spans.setdefault(p.fiscal_year, []).append(p)
        rows += [("Year", min(p.start for p in ps), max(p.end for p in ps)) for ps in spans.values()]
    source = f"{profile.path}: fiscal_year.periods"
    try:
        return FiscalCalendar.from_periods(rows, start_month=profile.fiscal_year_start_month, source=source)
    except ValueError as exc:
        raise ProfileError(str(exc).removeprefix("FiscalCalendar: ")) from None


def _key(values: pd.Series) -> pd.Series:
    """Names as compared: trimmed, single spaces, case-folded."""
    return values.astype("str").str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()


def _override(table: pd.DataFrame, name_column: str, overrides, what: str, lines: list[str], *, add: bool):
    """``table`` with each named row's given fields replaced (a missing row added when ``add``)."""
    out = table.copy()
    keys = _key(out[name_column])
    for name, fields in overrides.items():
        fields = dict(fields)
        hit = (keys == _key(pd.Series([name])).iloc[0]).to_numpy()
        if not hit.any():
            if not add:
                lines.append(f"{what} {name}: not in the org's table, override not applied")
                continue
            row = {c: None for c in out.columns} | {name_column: name, "sort_order": out["sort_order"].max() + 1}
            row |= {"is_closed": False, "is_won": False} if "is_won" in out.columns else {}
            out = pd.concat([out, pd.DataFrame([row | fields])], ignore_index=True)
            keys = _key(out[name_column])
            lines.append(f"{what} {name}: added ({', '.join(f'{k} {v}' for k, v in fields.items())})")
            continue
        for column, value in fields.items():
            if column not in out.columns:
                out[column] = None
            out.loc[hit, column] = value
        lines.append(f"{what} {name}: " + ", ".join(f"{k} {v}" for k, v in fields.items()))
    if "sort_order" in out.columns:
        out = out.sort_values("sort_order", kind="stable").reset_index(drop=True)
    return out


def apply_profile(crm: CrmData, *, profile: OrgProfile) -> CrmData:
    """The org as the profile describes it: ``business_type`` on the deals, stages and statuses corrected.

    Parameters
    ----------
    crm : CrmData
        The loaded org (before any as-of cut; the cuts keep what is applied here). It is not changed.
    profile : OrgProfile
        The org profile (:func:`~funnel_analysis.project.load_profile`).

    Returns
    -------
    CrmData
        A copy with ``business_type`` on its opportunities, its ``stages`` and ``lead_statuses``
        tables overridden as the profile says, and ``meta["profile_overrides"]``: one line per
        override applied (or not applied, and why).

    Raises
    ------
    TypeError
        When ``profile`` is not an :class:`~funnel_analysis.project.OrgProfile`.
    """
    if not isinstance(profile, OrgProfile):
        raise TypeError(f"apply_profile: profile must be an OrgProfile, got {type(profile).__name__}")
    org = with_business_type(crm, profile=profile)
    tables, lines = dict(org.tables), []
    if profile.stages:
        tables["stages"] = _override(tables["stages"], "stage_name", profile.stages, "stage", lines, add=True)
        for flag in ("is_closed", "is_won"):
            tables["stages"][flag] = tables["stages"][flag].fillna(False).astype(bool)
        tables["stages"]["sort_order"] = np.arange(1, len(tables["stages"]) + 1)
    if profile.lead_statuses:
        if "lead_statuses" in tables:
            tables["lead_statuses"] = _override(
                tables["lead_statuses"], "status", profile.lead_statuses, "lead status", lines, add=False
            )
        else:
            lines.append("lead_statuses overrides need the org's LeadStatus.csv: not applied")
    meta = dict(org.meta, profile_overrides=lines)
    if profile.fiscal_periods:
        calendar = profile_calendar(profile)
        meta["fiscal_calendar"] = calendar
        lines.append(calendar.describe()[0].upper() + calendar.describe()[1:])
    out = dataclasses.replace(org, tables=tables, meta=meta)
    return _with_engine(org, out)


def _with_engine(before: CrmData, after: CrmData) -> CrmData:
    """``after`` with ``before``'s engine attached (its stages the profile's): an engine-only org keeps it."""
    from ..engine.attach import attach, engine_of

    org = engine_of(before)
    if org is not None:
        attach(after, org=dataclasses.replace(org, stages=after.tables["stages"].copy()))
    return after
