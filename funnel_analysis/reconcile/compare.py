"""Compare the figures a user wrote down from Salesforce with the product's, and explain each difference.

Each figure of the file (:func:`funnel_analysis.reconcile.read_salesforce_figures`) is computed under
the configured definitions (:func:`funnel_analysis.funnel.kpis` per fiscal period). A figure
*matches* when the product's value rounds to what the user wrote or lies within ``tolerance``
(relative) of it. A figure that does not is recomputed under the alternative definitions, one
change at a time, then two at a time:

- the win rate by amount instead of by count (or the reverse);
- deals placed in a period by creation date instead of close date (or the reverse);
- the excluded opportunity types or stages counted after all; only the most frequent type (new
  business, when renewals have a type of their own); each other type or stage left out;
- all business types instead of new business only (or the reverse, when ``business_type`` exists);
- the deleted records counted (Salesforce's reports leave the Recycle Bin out, an export of
  ``queryAll`` or a warehouse sync may not);
- a fiscal year starting in another month.

The alternative that reproduces the user's value (the closest, when several do) *explains* the
difference; a difference no alternative reproduces is *unexplained*: a filter on the Salesforce
report, a different as-of day, or data the export does not hold.

Examples
--------
>>> import pandas as pd
>>> o = pd.DataFrame({"is_closed": [True, True, True], "is_won": [True, False, True],
...                   "amount": [900.0, 50.0, 50.0], "type": ["New", "New", "New"],
...                   "created_date": pd.to_datetime(["2025-01-02"] * 3, utc=True),
...                   "close_date": pd.to_datetime(["2025-02-01"] * 3)})
>>> figures = pd.DataFrame({"figure": ["win_rate"], "period": ["FY2025-Q1"], "value": [0.95],
...                         "written_step": [0.005]})
>>> r = reconcile_figures(figures, o)
>>> r[["product", "status", "explained_by", "explained_value"]].to_dict("records")
[{'product': 0.6666666666666666, 'status': 'explained', 'explained_by': 'win rate by amount instead of by count', 'explained_value': 0.95}]
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..funnel.definitions import NEW_BUSINESS, KpiChoices, business_key, definitions_note, kpi_definitions
from ..funnel.kpis import kpis
from .figures import WRITTEN_STEP, period_frequency

__all__ = ["STATUSES", "reconcile_figures", "definition_effects", "alternative_definitions", "Alternative"]

#: A figure's status, in the order they are counted.
STATUSES = ("matches", "explained", "unexplained", "not in the product")
#: At most this many other types or stages are tried one by one (the most frequent first).
_MAX_VALUES = 12


@dataclass(frozen=True)
class Alternative:
    """One alternative definition: what it changes, in words, and how.

    Attributes
    ----------
    label : str
        What it changes, in words (``"win rate by amount instead of by count"``).
    changes : dict
        The keyword arguments of :func:`funnel_analysis.funnel.kpis` it changes; the key
        ``with_deleted`` (True) counts the deleted records.
    kind : str
        Which choice it changes (``basis``, ``cohort``, ``types``, ``stages``, ``business``,
        ``deleted``, ``fiscal_year``): two alternatives combine only when their kinds differ.
    combines : bool
        Whether it is tried together with another one (not a single other type or stage left
        out, nor another fiscal year: there are too many of those to pair).
    """

    label: str
    changes: dict = field(default_factory=dict)
    kind: str = ""
    combines: bool = True


def _folded(values) -> set[str]:
    return {" ".join(str(v).split()).casefold() for v in values}


def _frequent(table: pd.DataFrame | None, column: str, skip) -> list[str]:
    if table is None or column not in table.columns:
        return []
    counts = table[column].dropna().astype("str").str.strip().value_counts()
    skip = _folded(skip)
    return [v for v in counts.index if v and " ".join(v.split()).casefold() not in skip][:_MAX_VALUES]


def alternative_definitions(
    opportunities: pd.DataFrame,
    *,
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
    with_deleted: bool = False,
) -> list[Alternative]:
    """The single changes of the configured definitions that :func:`reconcile_figures` tries.

    Parameters
    ----------
    opportunities : DataFrame
        The org's opportunities: the other types and stages to leave out are those they use.
    fiscal_year_start_month : int, default 1
        First month of the configured fiscal year.
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The configured choices (:class:`funnel_analysis.funnel.KpiChoices`).
    with_deleted : bool, default False
        Also try counting the deleted records.

    Returns
    -------
    list of Alternative
        In the order tried: basis, cohort, types, stages, business type, deleted records, fiscal year.

    Raises
    ------
    ValueError
        When a choice is not one of its values.

    Examples
    --------
    >>> o = pd.DataFrame({"type": ["New", "Renewal", "New"], "stage_name": ["Won", "Lost", "Won"]})
    >>> [a.label for a in alternative_definitions(o)][:4]
    ['win rate by amount instead of by count', 'deals placed by creation date instead of close date', 'only opportunities of type New', 'opportunities of type New left out']
    """
    choices = KpiChoices(
        win_rate_basis=win_rate_basis,
        cohort=cohort,
        exclude_stages=exclude_stages,
        exclude_types=exclude_types,
        new_business_only=new_business_only,
    )
    other = {"count": "amount", "amount": "count"}[choices.win_rate_basis]
    out = [
        Alternative(f"win rate by {other} instead of by {choices.win_rate_basis}", {"win_rate_basis": other}, "basis")
    ]
    dates = {"closed": "close date", "created": "creation date"}
    flip = {"closed": "created", "created": "closed"}[choices.cohort]
    out.append(
        Alternative(f"deals placed by {dates[flip]} instead of {dates[choices.cohort]}", {"cohort": flip}, "cohort")
    )
    for column, key, kind, word in (
        ("type", "exclude_types", "types", "type"),
        ("stage_name", "exclude_stages", "stages", "stage"),
    ):
        configured = getattr(choices, key)
        if configured:
            out.append(
                Alternative(f"opportunities of {word} {', '.join(configured)} counted after all", {key: ()}, kind)
            )
        values = _frequent(opportunities, column, configured)
        if kind == "types" and not configured and len(values) > 1:  # new business only, by type: the others left out
            out.append(Alternative(f"only opportunities of type {values[0]}", {key: tuple(values[1:])}, kind))
        for value in values:
            out.append(
                Alternative(f"opportunities of {word} {value} left out", {key: (*configured, value)}, kind, False)
            )
    if "business_type" in opportunities.columns or choices.new_business_only:
        if choices.new_business_only:
            out.append(
                Alternative("all business types instead of new business only", {"new_business_only": False}, "business")
            )
        elif opportunities["business_type"].map(business_key).eq(NEW_BUSINESS).any():
            out.append(
                Alternative("new business only instead of all business types", {"new_business_only": True}, "business")
            )
    if with_deleted:
        out.append(Alternative("the deleted records counted", {"with_deleted": True}, "deleted"))
    for month in range(1, 13):
        if month != fiscal_year_start_month:
            out.append(
                Alternative(
                    f"the fiscal year starting in {calendar.month_name[month]}",
                    {"fiscal_year_start_month": month},
                    "fiscal_year",
                    False,
                )
            )
    return out


def _within(sf: float, value: float, step: float, tolerance: float) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return False
    return abs(sf - value) <= max(step, tolerance * abs(value)) + 1e-12


def reconcile_figures(
    figures: pd.DataFrame,
    opportunities: pd.DataFrame | None,
    leads: pd.DataFrame | None = None,
    opportunities_with_deleted: pd.DataFrame | None = None,
    leads_with_deleted: pd.DataFrame | None = None,
    *,
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
    tolerance: float = 0.005,
) -> pd.DataFrame:
    """Each written-down figure against the product's, with the definition that explains a difference.

    Parameters
    ----------
    figures : DataFrame
        ``figure``, ``period``, ``value`` and optionally ``written_step`` (half the last written
        digit; 0 when absent), as :func:`funnel_analysis.reconcile.read_salesforce_figures` reads them.
    opportunities, leads : DataFrame or None
        The org's tables as of the day (a cut), as for :func:`funnel_analysis.funnel.kpis`.
    opportunities_with_deleted, leads_with_deleted : DataFrame, optional
        The same tables with the deleted records counted (as of the same day); when given, "the
        deleted records counted" is one of the alternatives.
    fiscal_year_start_month : int, default 1
        First month of the configured fiscal year.
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The configured definitions (:class:`funnel_analysis.funnel.KpiChoices`).
    tolerance : float, default 0.005
        A figure matches when the product's value rounds to what was written, or differs from it
        by at most this fraction of it.

    Returns
    -------
    DataFrame
        One row per figure, in the file's order: ``figure``, ``period``, ``salesforce`` (the written
        value), ``product`` (under the configured definitions; NA when the product has no such
        period), ``difference`` (salesforce - product), ``status`` (:data:`STATUSES`),
        ``explained_by`` (the alternative definition that reproduces the written value, the
        closest when several do; empty otherwise), ``explained_value`` (its value),
        ``also_explained_by`` (the other alternatives that reproduce it) and ``definition`` (the
        configured definition of the figure, :func:`funnel_analysis.funnel.kpi_definitions`).
        ``attrs["note"]`` counts the statuses and names the configured definitions.

    Raises
    ------
    ValueError
        When ``figures`` lacks a column, a choice is not one of its values, or ``tolerance`` is
        negative.

    Examples
    --------
    >>> figures = pd.DataFrame({"figure": ["win_rate"], "period": ["Q1"], "value": [0.5]})
    >>> reconcile_figures(figures, None)
    Traceback (most recent call last):
    ...
    ValueError: reconcile_figures: 'Q1' is not a fiscal period (expected FY2025-Q3, FY2025-M07 or FY2025)
    """
    if not isinstance(figures, pd.DataFrame):
        raise TypeError(f"reconcile_figures: figures must be a DataFrame, got {type(figures).__name__}")
    missing = [c for c in ("figure", "period", "value") if c not in figures.columns]
    if missing:
        raise ValueError(f"reconcile_figures: figures has no column(s) {missing}")
    if not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise ValueError(f"reconcile_figures: tolerance must be a fraction >= 0, got {tolerance!r}")
    configured = KpiChoices(
        win_rate_basis=win_rate_basis,
        cohort=cohort,
        exclude_stages=exclude_stages,
        exclude_types=exclude_types,
        new_business_only=new_business_only,
    )
    try:
        frequencies = [period_frequency(p) for p in figures["period"]]
    except ValueError as exc:
        raise ValueError(f"reconcile_figures: {exc}") from None
    needs_leads = figures["figure"].astype("str").str.startswith("lead").any()
    base = {"fiscal_year_start_month": fiscal_year_start_month, **configured.as_kwargs()}
    tables: dict = {}  # (changes, frequency) -> the KPI table, computed once within this call

    def table(changes: dict, frequency: str) -> pd.DataFrame:
        key = (tuple(sorted((k, str(v)) for k, v in changes.items())), frequency)
        if key not in tables:
            options = {**base, **{k: v for k, v in changes.items() if k != "with_deleted"}}
            deleted = changes.get("with_deleted", False)
            o = opportunities_with_deleted if deleted else opportunities
            ld = (leads_with_deleted if deleted else leads) if needs_leads else None
            tables[key] = kpis(o, ld, period=frequency, **options).set_index("fiscal_period")
        return tables[key]

    def value(changes: dict, figure: str, period: str, frequency: str) -> float:
        t = table(changes, frequency)
        if figure not in t.columns or period not in t.index:
            return float("nan")
        v = t.at[period, figure]
        return float("nan") if pd.isna(v) else float(v)

    singles = (
        alternative_definitions(
            opportunities if opportunities is not None else pd.DataFrame(),
            fiscal_year_start_month=fiscal_year_start_month,
            with_deleted=opportunities_with_deleted is not None,
            **configured.as_kwargs(),
        )
        if opportunities is not None
        else []
    )
    pairs = [
        Alternative(f"{a.label} and {b.label}", {**a.changes, **b.changes}, f"{a.kind}+{b.kind}")
        for i, a in enumerate(singles)
        for b in singles[i + 1 :]
        if a.combines and b.combines and a.kind != b.kind and a.changes.keys().isdisjoint(b.changes)
    ]
    texts = {
        f: kpi_definitions(period=f, fiscal_year_start_month=fiscal_year_start_month, **configured.as_kwargs())
        for f in set(frequencies)
    }
    rows = []
    for (_, fig), frequency in zip(figures.iterrows(), frequencies):
        figure, period, sf = str(fig["figure"]), str(fig["period"]), float(fig["value"])
        step = float(fig[WRITTEN_STEP]) if WRITTEN_STEP in figures.columns and pd.notna(fig[WRITTEN_STEP]) else 0.0
        product = value({}, figure, period, frequency)
        row = {
            "figure": figure,
            "period": period,
            "salesforce": sf,
            "product": product,
            "difference": sf - product,
            "status": "matches",
            "explained_by": "",
            "explained_value": float("nan"),
            "also_explained_by": "",
            "definition": texts[frequency][figure].text if figure in texts[frequency] else "",
        }
        if not _within(sf, product, step, tolerance):
            found = []
            for group in (singles, pairs):
                for alt in group:
                    v = value(alt.changes, figure, period, frequency)
                    if _within(sf, v, step, tolerance):
                        found.append((abs(sf - v), alt.label, v))
                if found:
                    break
            if found:
                found.sort(key=lambda t: t[0])  # the closest; ties in the order tried
                row.update(status="explained", explained_by=found[0][1], explained_value=found[0][2])
                row["also_explained_by"] = "; ".join(label for _, label, _ in found[1:])
            else:
                row["status"] = "unexplained" if not np.isnan(product) else "not in the product"
        rows.append(row)
    out = pd.DataFrame(
        rows,
        columns=[
            "figure",
            "period",
            "salesforce",
            "product",
            "difference",
            "status",
            "explained_by",
            "explained_value",
            "also_explained_by",
            "definition",
        ],
    ).astype({"salesforce": "float64", "product": "float64", "difference": "float64", "explained_value": "float64"})
    counts = out["status"].value_counts()
    tally = ", ".join(f"{int(counts[s])} {s}" for s in STATUSES if s in counts) or "no figures"
    rule = f"a figure matches when the product's rounds to what was written or is within {tolerance:.1%} of it"
    first = frequencies[0] if frequencies else None  # the periods' kind (of the first figure)
    note = definitions_note(fiscal_year_start_month=fiscal_year_start_month, period=first, **configured.as_kwargs())
    out.attrs["note"] = f"{tally} ({rule}); configured: {note}"
    return out


def definition_effects(
    opportunities: pd.DataFrame,
    leads: pd.DataFrame | None = None,
    opportunities_with_deleted: pd.DataFrame | None = None,
    leads_with_deleted: pd.DataFrame | None = None,
    *,
    figure: str = "win_rate",
    period: str = "Q",
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
) -> pd.DataFrame:
    """One figure per fiscal period under the configured definitions and under each main alternative.

    How far the figure moves when a company defines it differently: the win rate's basis, the
    cohort date, the configured exclusions counted after all (or the most frequent type left
    out), new business only or not, the deleted records counted.

    Parameters
    ----------
    opportunities, leads : DataFrame or None
        The org's tables as of the day, as for :func:`funnel_analysis.funnel.kpis`.
    opportunities_with_deleted, leads_with_deleted : DataFrame, optional
        The same with the deleted records counted.
    figure : str, default "win_rate"
        A headline figure (:data:`funnel_analysis.funnel.HEADLINE_FIGURES`).
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period.
    fiscal_year_start_month : int, default 1
        First month of the fiscal year.
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The configured definitions.

    Returns
    -------
    DataFrame
        ``figure``, ``fiscal_period``, ``period_start``, ``definition`` (``"configured"`` or what
        the alternative changes), ``value``; the configured definition's rows first.

    Raises
    ------
    ValueError
        When ``figure`` is not a headline figure or a choice is not one of its values.

    Examples
    --------
    >>> o = pd.DataFrame({"is_closed": [True, True], "is_won": [True, False], "amount": [90.0, 10.0],
    ...                   "created_date": pd.to_datetime(["2025-01-02"] * 2, utc=True),
    ...                   "close_date": pd.to_datetime(["2025-02-01"] * 2)})
    >>> definition_effects(o)[["definition", "value"]].head(2).to_dict("records")
    [{'definition': 'configured', 'value': 0.5}, {'definition': 'win rate by amount instead of by count', 'value': 0.9}]
    """
    from ..funnel.definitions import HEADLINE_FIGURES

    if figure not in HEADLINE_FIGURES:
        raise ValueError(f"definition_effects: figure must be one of {', '.join(HEADLINE_FIGURES)}, got {figure!r}")
    configured = KpiChoices(
        win_rate_basis=win_rate_basis,
        cohort=cohort,
        exclude_stages=exclude_stages,
        exclude_types=exclude_types,
        new_business_only=new_business_only,
    )
    singles = alternative_definitions(
        opportunities,
        fiscal_year_start_month=fiscal_year_start_month,
        with_deleted=opportunities_with_deleted is not None and len(opportunities_with_deleted) > len(opportunities),
        **configured.as_kwargs(),
    )
    shown, kinds = [Alternative("configured")], set()
    for alt in singles:
        skip = alt.kind == "fiscal_year" or (alt.kind == "stages" and not configured.exclude_stages)
        if skip or alt.kind in kinds or (alt.kind == "basis" and figure != "win_rate"):
            continue
        kinds.add(alt.kind)
        shown.append(alt)
    base = {"fiscal_year_start_month": fiscal_year_start_month, **configured.as_kwargs()}
    parts = []
    for alt in shown:
        deleted = alt.changes.get("with_deleted", False)
        options = {**base, **{k: v for k, v in alt.changes.items() if k != "with_deleted"}}
        o = opportunities_with_deleted if deleted else opportunities
        ld = (leads_with_deleted if deleted else leads) if figure.startswith("lead") else None
        k = kpis(o, ld, period=period, **options)
        parts.append(
            pd.DataFrame(
                {
                    "figure": figure,
                    "fiscal_period": k["fiscal_period"],
                    "period_start": k["period_start"],
                    "definition": alt.label,
                    "value": k[figure].astype("float64"),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out.attrs["note"] = "configured: " + definitions_note(period=period, **base)
    return out
