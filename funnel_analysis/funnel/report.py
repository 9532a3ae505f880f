"""The funnel report's entry points: each takes the org, cuts it, filters it and calls one analysis.

Every function here has the shape ``name(crm, *, as_of=None, by=None, where=None, ...)``: it
resolves ``as_of`` (``None`` or ``""``: the latest date in the data,
:func:`funnel_analysis.crm.resolve_as_of`), cuts the org at the end of that day
(:meth:`CrmData.as_of`, memoised), keeps the rows of the analysed table that ``where`` selects
(:meth:`CrmData.rows`, the safe expressions of :mod:`funnel_analysis.crm.expression`; the
opportunity history follows the opportunities kept) and calls the frame-level function of the
same name in :mod:`funnel_analysis.funnel`. A notebook section is one such call and one chart.

When the data lacks a section's inputs, the section returns its usual table, empty, marked with
the reason in one line (:func:`funnel_analysis._util.missing.mark_missing`; ``record`` prints the
line, the plots draw it) instead of a table of zeros:

- the leads record no conversion (an export without ``IsConverted``): :func:`lead_conversion`;
- the export has no stage table (Salesforce's default stages were assumed) and its deals use
  stages those do not list, so the stage order is unknown: :func:`cohort_funnel`,
  :func:`stage_transitions` and :func:`bottlenecks`; :func:`snapshot_funnel` then shows only
  the stages the deals use (a Salesforce org that kept the default stages keeps their order);
- the cohort holds no opportunity: :func:`cohort_funnel`.

Lead statuses are data, as stages are: :func:`lead_funnel` follows the org's LeadStatus table
(LeadStatus.csv) when it has one, and Salesforce's default statuses only otherwise
(:func:`funnel_analysis.crm.sections.lead_status_order`); a lead's status matches a label whatever its
case and spacing, and statuses the table does not list come after it. The result says which order it
followed in one line, ``attrs["note"]``.

Owners are users or queues: a breakdown ``by="owner_id"`` gets an ``owner_name`` column, a user's name
or a queue's (:func:`funnel_analysis.crm.sections.owners`).

Deals without a creation date have no cycle: the as-of cut leaves them out (it cannot place them
in time), and :func:`win_rates` and :func:`kpis` count the won ones in ``n_undated_excluded`` /
``cycle_undated_excluded``.

Examples
--------
>>> from funnel_analysis.funnel import report
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> opportunities = pd.DataFrame({
...     "Id": ["006A", "006B", "006C"], "StageName": ["Closed Won", "Closed Lost", "Prospecting"],
...     "Amount": [1000, 500, 800], "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-01"],
...     "CloseDate": ["2024-02-01", "2024-02-10", "2024-06-30"], "IsClosed": [True, True, False],
...     "IsWon": [True, False, False], "LeadSource": ["Web", "Web", "Partner"]})
>>> crm = load_frames({"Opportunity": opportunities})
>>> report.win_rates(crm, as_of="2024-06-30", by="lead_source")[["lead_source", "closed", "won", "win_rate"]]
  lead_source  closed  won  win_rate
0     Partner       0    0       NaN
1         Web       2    1       0.5
>>> report.win_rates(crm, as_of="2024-06-30", where="amount >= 800")[["closed", "won", "win_rate"]]
   closed  won  win_rate
0       1    1       1.0
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.missing import mark_missing
from ..crm.model import CrmData as _CrmData
from ..crm.model import cut_as_of, latest_date, resolve_as_of
from ..crm.sections import (
    add_counts,
    dropped_undated,
    fold_lead_status,
    lead_status_order,
    owners,
    stage_order_unknown,
    stages_in_use,
    with_owner_names,
)
from ..periods import FiscalCalendar, fiscal_calendar
from . import conversion as _conversion
from . import winrates as _winrates
from .definitions import KpiChoices
from .kpis import kpis as _frame_kpis

if TYPE_CHECKING:
    from ..crm import CrmData

__all__ = [
    "lead_funnel",
    "lead_conversion",
    "snapshot_funnel",
    "cohort_funnel",
    "win_rates",
    "stage_transitions",
    "bottlenecks",
    "kpis",
    "kpi_definitions",
]


#: id(org) -> (a weak reference to the org, its tables' ids, the latest date in its data): an empty ``as_of`` resolved once per org.
_LATEST: dict = {}


def _day(crm: CrmData, as_of):
    """``as_of``, or for an empty one the latest date in the data (:func:`latest_date`), found once per org.

    Every section of a report resolves the same empty ``as_of``: finding the latest change timestamp
    scans every table, so the day is kept for the org object (and its tables: replacing one finds it
    again), the last few orgs only.
    """
    if not isinstance(crm, _CrmData) or not (as_of is None or (isinstance(as_of, str) and not as_of.strip())):
        return as_of
    tables = tuple((name, id(df)) for name, df in crm.tables.items())
    kept = _LATEST.get(id(crm))
    if kept is not None and kept[0]() is crm and kept[1] == tables:
        return kept[2]
    day = latest_date(crm)
    while len(_LATEST) >= 4:
        _LATEST.pop(next(iter(_LATEST)))
    # the org held weakly, its entry gone with it: a for_each value's org (and its cuts) dies with its notebook
    _LATEST[id(crm)] = (weakref.ref(crm), tables, day)
    weakref.finalize(crm, _LATEST.pop, id(crm), None)
    return day


def _cut(crm: CrmData, *, as_of=None) -> CrmData:
    """:func:`funnel_analysis.crm.cut_as_of` with an empty ``as_of`` resolved once per org (:func:`_day`)."""
    return cut_as_of(crm, as_of=_day(crm, as_of))


def _by(by):
    """``by`` as the frame-level functions take it: an empty name (a report parameter left empty) is none."""
    return by or None


def _named(out: pd.DataFrame, cut: CrmData, by) -> pd.DataFrame:
    """``out`` with the owners' names beside ``owner_id`` when it is broken down by owner (users and queues)."""
    if "owner_id" in _by_list(_by(by)):
        return with_owner_names(out, owners(cut))
    return out


def _status_note(order: pd.DataFrame) -> str:
    """One line: which lead status order was followed, and the statuses it did not list."""
    origin = order["origin"].iloc[0] if len(order) else "default"
    if origin == "file":
        line = "lead statuses in the order of the org's LeadStatus.csv"
    else:
        line = "lead statuses in Salesforce's default order (the export has no LeadStatus.csv)"
    extra = order.loc[order["origin"] == "data", "status"].tolist()
    if extra:
        shown = ", ".join(extra[:5]) + (", ..." if len(extra) > 5 else "")
        line += f"; statuses it does not list come after it: {shown}"
    return line


def lead_funnel(crm: CrmData, *, as_of=None, by=None, where: str | None = None, status_order=None) -> pd.DataFrame:
    """Leads by status as of a day, then the share converted (:func:`funnel_analysis.funnel.lead_funnel`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Segment columns of the leads.
    where : str, optional
        Keep only the leads this expression selects (``"owner.region == 'EMEA'"``).
    status_order : list of str, optional
        The lead statuses in funnel order, overriding the org's. Default: the org's LeadStatus table
        (every status it lists gets a row), else Salesforce's standard statuses that occur
        (:func:`funnel_analysis.crm.sections.lead_status_order`); statuses not listed follow.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.funnel.lead_funnel` of the leads, their statuses spelled as the
        order spells them (:func:`funnel_analysis.crm.sections.fold_lead_status`); ``attrs["note"]``
        says in one line which order was followed and names the statuses it did not list. With
        ``by="owner_id"``, ``owner_name`` (a user's or a queue's name) follows ``owner_id``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> from funnel_analysis.funnel import report
    >>> statuses = pd.DataFrame({"MasterLabel": ["New", "Qualified"], "SortOrder": [1, 2]})
    >>> leads = pd.DataFrame({"Id": ["00QA", "00QB", "00QC"], "Status": ["qualified", "New", "Qualified"],
    ...                       "CreatedDate": ["2024-01-02"] * 3, "IsConverted": [False] * 3})
    >>> org = load_frames({"Lead": leads, "LeadStatus": statuses})
    >>> out = report.lead_funnel(org, as_of="2024-03-31")
    >>> out[["step", "count"]]
                           step  count
    0                       New      1
    1                 Qualified      2
    2  Converted to opportunity      0
    >>> out.attrs["note"]
    "lead statuses in the order of the org's LeadStatus.csv; statuses as exported (no LeadHistory: not as of the day)"
    """
    from ..engine.attach import engine_of

    cut = _cut(crm, as_of=as_of)
    org, keys = engine_of(crm), _by_list(_by(by))
    # in the org's engine: counts per segment and status, the statuses (and owners) on the day; where: pandas
    if org is not None and not where and set(keys) <= set(org.columns("leads")):
        from ..crm.clean import fold_picklist
        from ..engine.funnel import lead_status_sums

        sums = lead_status_sums(org, as_of=cut.as_of_date, by=keys)
        listed = lead_status_order(cut, used=())
        # spellings folded as the pandas path folds the leads' (the most frequent spelling of a status
        # the org does not list wins: each spelling weighs its leads)
        sums["status"] = fold_picklist(sums["status"], canonical=listed["status"], weights=sums["n"]).to_numpy()
        used = sums["status"].dropna().astype("str").tolist()  # sorted by first_row: order of first appearance
        order = lead_status_order(cut, used=used)
        unknown_status = int(sums["as_exported"].sum()) if sums.attrs["status_from_history"] else None
        conversion_unknown = bool(sums["n"].sum() > 0 and sums["known"].sum() == 0)
    else:
        order = lead_status_order(cut)
        leads = fold_lead_status(cut.rows("leads", where=where), order)
        sums = None
    if status_order is None and len(order) and order["origin"].iloc[0] == "file":
        status_order = order.loc[order["origin"] == "file", "status"].tolist()
        note = _status_note(order)
    elif status_order is None:  # Salesforce's default statuses: the frame-level default (those that occur)
        note = _status_note(order)
    else:
        note = "lead statuses in the order given (status_order)"
    if sums is None:
        out = _conversion.lead_funnel(leads, by=_by(by), status_order=status_order)
        n_leads = len(leads)
        unknown_status = int((leads["status_source"] == "as_exported").sum()) if "status_source" in leads else None
    else:
        sums = sums.groupby([*keys, "status"], dropna=False, observed=True, sort=False).agg(
            n=("n", "sum"), converted=("converted", "sum"), first_row=("first_row", "min")
        )
        out = _conversion.lead_funnel_from_sums(
            sums.reset_index(), by=keys, status_order=status_order, conversion_unknown=conversion_unknown
        )
        n_leads = int(sums["n"].sum())
    out = _named(out, cut, by)
    out.attrs["note"] = note + _status_history_note(n_leads, unknown_status, cut.as_of_date)
    return out


def _status_history_note(n_leads: int, unknown: int | None, day) -> str:
    """How the statuses are dated: as of the day from LeadHistory, and how many (``unknown``) are only as
    exported; ``unknown`` None: the statuses are not from a lead history."""
    if unknown is None:
        return "; statuses as exported (no LeadHistory: not as of the day)" if n_leads else ""
    if not unknown:
        return f"; statuses as of {day:%Y-%m-%d} from LeadHistory"
    return (
        f"; statuses as of {day:%Y-%m-%d} from LeadHistory, except {unknown:,} lead{'' if unknown == 1 else 's'} "
        "created before it starts, "
        "counted at their exported status (their status on the day is unknown)"
    )


def lead_conversion(
    crm: CrmData, *, as_of=None, by=None, where: str | None = None, window_days: int | None = None
) -> pd.DataFrame:
    """Lead-to-opportunity conversion as of a day (:func:`funnel_analysis.funnel.lead_conversion`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data. With ``window_days`` the
        window is measured back from it.
    by : str or list of str, optional
        Segment columns of the leads.
    where : str, optional
        Keep only the leads this expression selects.
    window_days : int, optional
        Conversion window: only leads at least this old count, converted within it.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.funnel.lead_conversion`; empty and marked missing when the
        leads record no conversion (no ``is_converted`` value: an export without ``IsConverted``).

    Examples
    --------
    >>> report.lead_conversion(crm, by="lead_source", window_days=90)  # doctest: +SKIP
    """
    from ..engine.attach import engine_of

    cut = _cut(crm, as_of=as_of)
    day = cut.as_of_date
    org, keys = engine_of(crm), _by_list(_by(by))
    if org is not None and not where and org.has("leads") and set(keys) <= set(org.columns("leads")):
        from ..engine.kpis import day_leads

        leads = day_leads(org, as_of=day, by=keys)  # the day's leads from the engine, a few columns each
    else:
        leads = cut.rows("leads", where=where)
    out = _named(_conversion.lead_conversion(leads, by=_by(by), window_days=window_days, as_of=day), cut, by)
    if _conversion._conversion_unknown(leads):
        return mark_missing(out.iloc[:0], "the leads record no conversion (the export has no IsConverted column)")
    return out


def snapshot_funnel(
    crm: CrmData, *, as_of=None, by=None, where: str | None = None, include_closed: bool = False
) -> pd.DataFrame:
    """The pipeline on a day, per stage (:func:`funnel_analysis.funnel.snapshot_funnel`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Segment columns of the opportunities.
    where : str, optional
        Keep only the opportunities this expression selects.
    include_closed : bool, default False
        Also give rows for the closed stages.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.funnel.snapshot_funnel`; when the stage order is unknown (no
        stage table, and stages Salesforce's defaults do not list), only the stages the deals use.

    Examples
    --------
    >>> report.snapshot_funnel(crm, as_of="2024-04-15", where="amount >= 1000")  # doctest: +SKIP
    """
    cut = _cut(crm, as_of=as_of)
    from ..engine.attach import engine_of

    org, keys = engine_of(crm), _by_list(_by(by))
    # the engine's cut carries the owner on the day (field history) as the pandas cut does; where: pandas
    if org is not None and not where and set(keys) <= set(org.columns("opportunities")):
        from ..engine.funnel import snapshot_sums

        sums = snapshot_sums(org, as_of=cut.as_of_date, by=keys, include_closed=include_closed)
        out = _conversion.snapshot_from_sums(sums, stages=stages_in_use(cut), by=keys, include_closed=include_closed)
    else:
        out = _conversion.snapshot_funnel(
            cut.rows("opportunities", where=where), stages=stages_in_use(cut), by=_by(by), include_closed=include_closed
        )
    return _named(out, cut, by)


def cohort_funnel(
    crm: CrmData,
    *,
    as_of=None,
    by=None,
    where: str | None = None,
    cohort_days: int | None = None,
    created_from=None,
    created_to=None,
    window_days: int | None = None,
) -> pd.DataFrame:
    """How far a cohort of opportunities got, as of a day (:func:`funnel_analysis.funnel.cohort_funnel`).

    The cohort is either ``created_from`` .. ``created_to``, or, with ``cohort_days``, the
    ``cohort_days`` days of creation ending ``window_days`` before ``as_of``
    (:func:`funnel_analysis.funnel.cohort_window`), so that every deal of it had the whole window.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Segment columns of the opportunities.
    where : str, optional
        Keep only the opportunities this expression selects (their history follows).
    cohort_days : int, optional
        The cohort's length in days, ending ``window_days`` before ``as_of``; not with
        ``created_from`` / ``created_to``.
    created_from, created_to : date-like, optional
        The cohort's first and last creation day (both inclusive; open-ended when missing).
    window_days : int, optional
        Conversion window: only evidence within this many days of creation counts.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.funnel.cohort_funnel`, with the cohort's ``created_from`` and
        ``created_to`` on every row; empty and marked missing when the cohort holds no
        opportunity, or the stage order is unknown (no stage table, and stages Salesforce's
        defaults do not list).

    Examples
    --------
    >>> report.cohort_funnel(crm, cohort_days=180, window_days=90)[["stage_name", "share"]]  # doctest: +SKIP
    """
    fn = "cohort_funnel"
    if cohort_days is not None and (created_from is not None or created_to is not None):
        raise ValueError(f"{fn}: give cohort_days or created_from / created_to, not both")
    cut = _cut(crm, as_of=as_of)
    day = cut.as_of_date
    if cohort_days is not None:
        window = _conversion.cohort_window(as_of=day, cohort_days=cohort_days, window_days=window_days)
        created_from, created_to = window["created_from"].iloc[0], window["created_to"].iloc[0]
    unknown = stage_order_unknown(cut)
    from ..engine.attach import engine_of

    org, keys = engine_of(crm), _by_list(_by(by))
    if org is not None and not where and set(keys) <= set(org.columns("opportunities")):
        # the reach of every deal worked out in the engine (funnel_analysis.engine.funnel.cohort_sums)
        from ..engine.funnel import cohort_sums

        span = {"created_from": created_from, "created_to": created_to, "window_days": window_days}
        sums = cohort_sums(org, as_of=day, by=keys, **span)
        out = _conversion.cohort_from_sums(sums, stages=cut.stages, by=keys)
    else:
        opps = cut.rows("opportunities", where=where)
        out = _conversion.cohort_funnel(
            opps,
            cut.history_of(opps),
            stages=cut.stages,
            by=_by(by),
            created_from=created_from,
            created_to=created_to,
            window_days=window_days,
        )
    out = _named(out.assign(created_from=created_from, created_to=created_to), cut, by)
    if unknown:
        return mark_missing(out.iloc[:0], unknown)
    if out.empty or out["cohort"].sum() == 0:
        return mark_missing(
            out.iloc[:0], f"no opportunity was created {_span(created_from, created_to)} (the cohort is empty)"
        )
    return out


def _span(created_from, created_to) -> str:
    """``"from 2024-01-01 to 2024-03-31"`` for a cohort's days (either end may be open)."""
    a, b = (None if d is None else f"{pd.Timestamp(d):%Y-%m-%d}" for d in (created_from, created_to))
    if a and b:
        return f"from {a} to {b}"
    return f"from {a} on" if a else (f"up to {b}" if b else "at all")


def win_rates(
    crm: CrmData,
    *,
    as_of=None,
    by=None,
    where: str | None = None,
    period: str | None = None,
    fiscal_year_start_month: int | FiscalCalendar = 1,
) -> pd.DataFrame:
    """Win rate, deal size and cycle as of a day (:func:`funnel_analysis.funnel.win_rates`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Segment columns of the opportunities.
    where : str, optional
        Keep only the opportunities this expression selects.
    period : {"Q", "M", "Y"}, optional
        Also split by the fiscal period of the close date (a trend).
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.funnel.win_rates`; ``n_undated_excluded`` also counts the won
        deals without a creation date that the cut left out.

    Examples
    --------
    >>> report.win_rates(crm, by="lead_source", period="Q")  # doctest: +SKIP
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    cut = _cut(crm, as_of=as_of)
    options = {"by": _by(by), "period": period, "fiscal_year_start_month": fiscal_year_start_month}
    from ..engine.attach import engine_of

    org, keys = engine_of(crm), _by_list(_by(by))
    if org is not None and not where and set(keys) <= set(org.columns("opportunities")):
        # grouped in the engine (funnel_analysis.engine.winrates), undated won deals included
        from ..engine.winrates import win_rate_sums

        sums = win_rate_sums(org, as_of=cut.as_of_date, **options)
        return _named(_winrates.win_rates_from_sums(sums, by=keys, period=period), cut, by)
    out = _winrates.win_rates(cut.rows("opportunities", where=where), **options)
    dropped = dropped_undated(crm, as_of=cut.as_of_date, where=where)
    if len(dropped):  # the won ones the cut left out have no cycle either: counted
        keys = [*_by_list(_by(by)), *(["fiscal_period", "period_start"] if period else [])]
        out = add_counts(out, _winrates.win_rates(dropped, **options), column="n_undated_excluded", by=keys)
    return _named(out, cut, by)


def _deals_and_history(crm: CrmData, cut: CrmData, where, keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's deals (with ``keys``) and their stage history: from the org's engine without ``where``
    (the few columns the transitions read), else the pandas cut's rows."""
    from ..engine.attach import engine_of

    org = engine_of(crm)
    if org is not None and not where and set(keys) <= set(org.columns("opportunities")):
        from ..engine.funnel import day_history
        from ..engine.velocity import day_deals

        return day_deals(org, as_of=cut.as_of_date, by=keys), day_history(org, as_of=cut.as_of_date)
    opps = cut.rows("opportunities", where=where)
    return opps, cut.history_of(opps)


def stage_transitions(
    crm: CrmData,
    *,
    as_of=None,
    by=None,
    where: str | None = None,
    period: str = "Q",
    fiscal_year_start_month: int | FiscalCalendar = 1,
) -> pd.DataFrame:
    """Stage-to-stage conversion per period of decision (:func:`funnel_analysis.funnel.stage_transitions`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Segment columns of the opportunities.
    where : str, optional
        Keep only the opportunities this expression selects (their history follows).
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period of the decisions.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.funnel.stage_transitions`; empty and marked missing when the stage
        order is unknown (no stage table, and stages Salesforce's defaults do not list).

    Examples
    --------
    >>> report.stage_transitions(crm, period="M")  # doctest: +SKIP
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    cut = _cut(crm, as_of=as_of)
    opps, history = _deals_and_history(crm, cut, where, _by_list(_by(by)))
    unknown = stage_order_unknown(cut)
    out = _winrates.stage_transitions(
        opps,
        history,
        stages=cut.stages,
        by=_by(by),
        period=period,
        fiscal_year_start_month=fiscal_year_start_month,
    )
    out = _named(out, cut, by)
    return mark_missing(out.iloc[:0], unknown) if unknown else out


def bottlenecks(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    period: str = "Q",
    fiscal_year_start_month: int | FiscalCalendar = 1,
    lookback: int | None = None,
) -> pd.DataFrame:
    """The stage transitions of the period holding ``as_of``, against their history (:func:`funnel_analysis.funnel.bottlenecks`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day of the cut, and a day of the period assessed; ``None`` or ``""`` for the latest
        date in the data.
    where : str, optional
        Keep only the opportunities this expression selects (their history follows).
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    lookback : int, optional
        Compare with at most this many previous periods (default: all of them).

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.funnel.bottlenecks`; empty and marked missing when the stage
        order is unknown (no stage table, and stages Salesforce's defaults do not list).

    Examples
    --------
    >>> report.bottlenecks(crm, as_of="2024-06-30", lookback=4)  # doctest: +SKIP
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    cut = _cut(crm, as_of=as_of)
    day = cut.as_of_date
    opps, history = _deals_and_history(crm, cut, where, [])
    unknown = stage_order_unknown(cut)
    out = _winrates.bottlenecks(
        opps,
        history,
        stages=cut.stages,
        period=period,
        fiscal_year_start_month=fiscal_year_start_month,
        as_of=day,
        lookback=lookback,
    )
    return mark_missing(out.iloc[:0], unknown) if unknown else out


def kpis(
    crm: CrmData,
    *,
    as_of=None,
    by=None,
    where: str | None = None,
    period: str | None = None,
    fiscal_year_start_month: int | FiscalCalendar = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
) -> pd.DataFrame:
    """The headline figures of the org as of a day, under the given definitions (:func:`funnel_analysis.funnel.kpis`).

    Parameters
    ----------
    crm : CrmData
        The org; a figure of a table the org does not have (``crm.has``) is missing.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Segment columns of the leads and/or the opportunities.
    where : str, optional
        Keep only the leads and the opportunities this expression selects: it must name
        columns both tables have (``owner.region``, ``lead_source``).
    period : {"Q", "M", "Y"}, optional
        Also split by fiscal period (a lead by its creation date, a deal by the date ``cohort`` names).
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    win_rate_basis : {"count", "amount"}, default "count"
        Win rate by count (won / closed) or by amount (amount won / amount closed).
    cohort : {"closed", "created"}, default "closed"
        With ``period``: the close date (the expected one while open) or the creation date puts a deal in its period.
    exclude_stages, exclude_types : list of str or str, optional
        Stage names and opportunity types left out of every opportunity figure.
    new_business_only : bool, default False
        Only the opportunities whose ``business_type`` is new business.

    Returns
    -------
    DataFrame
        ``as_of`` (the day), the ``by`` columns (and ``fiscal_period``, ``period_start``), then the
        figures of :func:`funnel_analysis.funnel.kpis`: one row, or one per segment (and period);
        ``cycle_undated_excluded`` also counts the won deals without a creation date that the cut
        left out. ``attrs["note"]`` says the definitions in one line
        (:func:`funnel_analysis.funnel.definitions_note`; :func:`kpi_definitions` gives each figure's).

    Examples
    --------
    >>> report.kpis(crm, as_of="2024-06-30")["win_rate"].iloc[0]  # doctest: +SKIP
    0.42
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    from ..engine.attach import engine_of

    org = engine_of(crm)
    defaults = not (by or where or period or exclude_stages or exclude_types or new_business_only)
    if org is not None and defaults and win_rate_basis == "count":
        # the org's figures reduced in its engine (funnel_analysis.engine.kpis), the same numbers
        from ..engine.kpis import kpi_counts
        from .definitions import definitions_note

        out = _kpis_from_counts(kpi_counts(org, as_of=resolve_as_of(crm, as_of=_day(crm, as_of))).iloc[0])
        out.attrs["note"] = definitions_note(
            period=None, fiscal_year_start_month=fiscal_year_start_month, **KpiChoices(cohort=cohort).as_kwargs()
        )
        return out
    options = {
        "period": period,
        "fiscal_year_start_month": fiscal_year_start_month,
        "win_rate_basis": win_rate_basis,
        "cohort": cohort,
        "exclude_stages": exclude_stages,
        "exclude_types": exclude_types,
        "new_business_only": new_business_only,
    }
    cut = _cut(crm, as_of=as_of)
    day = cut.as_of_date
    rows = _kpi_rows_in_engine(org, day, _by_list(_by(by)), options) if org is not None and not where else None
    if rows is not None:  # the day's deals and leads from the engine, a few columns each: the same figures
        tabs, dropped = rows
    else:
        tabs = {t: (cut.rows(t, where=where) if cut.has(t) else None) for t in ("opportunities", "leads")}
        dropped = dropped_undated(crm, as_of=cut.as_of_date, where=where) if cut.has("opportunities") else None
    out = _frame_kpis(tabs["opportunities"], tabs["leads"], by=_by(by), **options)
    note = out.attrs.get("note")
    keys = [*_by_list(_by(by)), *(["fiscal_period", "period_start"] if period else [])]
    if dropped is not None and len(dropped) and all(c in dropped.columns for c in _by_list(_by(by))):
        # the won deals the cut left out have no cycle either: counted
        extra = _frame_kpis(dropped, None, by=_by(by), **options)
        out = add_counts(out, extra, column="cycle_undated_excluded", by=keys)
    out.insert(0, "as_of", day)
    out = _named(out, cut, by)
    out.attrs["note"] = note
    return out


def _kpi_rows_in_engine(org, day, keys: list[str], options: dict):
    """The deals and leads of the day that :func:`kpis` reads, from the org's engine (their few columns),
    and the undated deals; None when the engine lacks a column the options need (then: pandas)."""
    from ..engine.kpis import day_leads
    from ..engine.velocity import day_deals, undated_deals

    need = [
        *(["type"] if options.get("exclude_types") else []),
        *(["business_type"] if options.get("new_business_only") else []),
    ]
    tabs: dict = {"opportunities": None, "leads": None}
    dropped = None
    if org.has("opportunities"):
        have = set(org.columns("opportunities"))
        if not set(need) <= have:
            return None
        extra = list(dict.fromkeys([*need, *(k for k in keys if k in have)]))
        tabs["opportunities"] = day_deals(org, as_of=day, by=extra)
        dropped = undated_deals(org, as_of=day, by=extra)
    if org.has("leads"):
        have = set(org.columns("leads"))
        tabs["leads"] = day_leads(org, as_of=day, by=[k for k in keys if k in have])
    return tabs, dropped


def _kpis_from_counts(got) -> pd.DataFrame:
    """The figures of :func:`kpis` (one row) from an engine's :func:`~funnel_analysis.engine.kpis.kpi_counts`."""
    import numpy as np

    from ..stats import wilson_interval
    from .definitions import KPI_FIGURES
    from .kpis import _COUNTS

    out: dict[str, object] = {f: np.nan for f in KPI_FIGURES}
    if "leads" in got.index:
        n, conv = int(got["leads"]), int(got["converted"])
        out["leads"] = out["lead_conversion_rate_n"] = n
        if not (n > 0 and got["conversion_known"] == 0):  # not one is_converted value: not recorded
            out["leads_converted"] = conv
            if n:
                out["lead_conversion_rate"] = conv / n
                ci = wilson_interval(conv, n)
                out["lead_conversion_rate_ci_low"], out["lead_conversion_rate_ci_high"] = ci.low, ci.high
    if "opportunities" in got.index:
        n_open, won, closed = int(got["opportunities_open"]), int(got["won"]), int(got["closed"])
        out.update(
            opportunities=int(got["opportunities"]),
            opportunities_open=n_open,
            open_pipeline_amount_n=int(got["open_pipeline_amount_n"]),
            opportunities_won=won,
            opportunities_lost=closed - won,
            win_rate_n=closed,
            avg_won_deal_size_n=int(got["deal_size_n"]),
            median_cycle_days_n=int(got["cycle_n"]),
            mean_cycle_days_n=int(got["cycle_n"]),
            cycle_undated_excluded=int(got["undated_won"] or 0),
        )
        # 0 when nothing is open (won); missing when such deals exist but none has an amount
        pipe = got["open_pipeline_amount"]
        out["open_pipeline_amount"] = 0.0 if n_open == 0 else (np.nan if pd.isna(pipe) else float(pipe))
        no_amount = int(got["deal_size_n"]) == 0
        out["won_amount"] = 0.0 if won == 0 else (np.nan if no_amount else float(got["won_amount"]))
        for f in ("avg_won_deal_size", "median_cycle_days", "mean_cycle_days"):
            out[f] = np.nan if pd.isna(got[f]) else float(got[f])
        if closed:
            out["win_rate"] = won / closed
            ci = wilson_interval(won, closed)
            out["win_rate_ci_low"], out["win_rate_ci_high"] = ci.low, ci.high
    frame = pd.DataFrame([out]).reindex(columns=list(KPI_FIGURES))
    frame = frame.astype({f: ("Int64" if f in _COUNTS else "float64") for f in KPI_FIGURES})
    frame.insert(0, "as_of", got["as_of"])
    return frame


def kpi_definitions(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    period: str | None = None,
    fiscal_year_start_month: int | FiscalCalendar = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
) -> pd.DataFrame:
    """Each headline figure's definition, and how many of the org's records it leaves out.

    The texts are :func:`funnel_analysis.funnel.kpi_definitions` under the same choices that
    :func:`kpis` takes, so that a report shows beside each figure what it counted.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the leads and the opportunities this expression selects.
    period : {"Q", "M", "Y"}, optional
        The figures per fiscal period.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The choices, as for :func:`kpis`.

    Returns
    -------
    DataFrame
        One row per figure of :data:`funnel_analysis.funnel.HEADLINE_FIGURES`: ``figure``,
        ``definition`` (what is counted, over which period), ``left_out`` (what is left out) and
        ``rows_left_out``: the records of the figure's table (leads or opportunities, created by
        the day and selected by ``where``) that the choices leave out, plus the deleted, merged and
        quarantined rows of that table.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> o = pd.DataFrame({"Id": ["006A", "006B"], "StageName": ["Closed Won", "Closed Lost"],
    ...                   "Type": ["New Business", "Renewal"], "Amount": [100, 50],
    ...                   "CreatedDate": ["2024-01-02"] * 2, "CloseDate": ["2024-02-01"] * 2})
    >>> d = kpi_definitions(load_frames({"Opportunity": o}), as_of="2024-06-30", exclude_types="Renewal")
    >>> row = d.set_index("figure").loc["win_rate"]
    >>> row["left_out"], int(row["rows_left_out"])
    ('opportunities of type Renewal; deleted and merged records and quarantined rows', 1)
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    from .definitions import HEADLINE_FIGURES
    from .definitions import kpi_definitions as _definitions
    from .kpis import _kept_opportunities

    choices = KpiChoices(
        win_rate_basis=win_rate_basis,
        cohort=cohort,
        exclude_stages=exclude_stages,
        exclude_types=exclude_types,
        new_business_only=new_business_only,
    )
    texts = _definitions(period=period, fiscal_year_start_month=fiscal_year_start_month, **choices.as_kwargs())
    cut = _cut(crm, as_of=as_of)
    gone = {}
    filtered = where is not None and bool(str(where).strip())
    excluding = bool(choices.exclude_stages or choices.exclude_types or choices.new_business_only)
    for table in ("leads", "opportunities"):
        chosen = 0
        # the rows are read only to check the filter or to count what the choices leave out: an engine-only
        # org keeps its leads and deals out of pandas otherwise (1.3 GiB at scale 50)
        if cut.has(table) and (filtered or (table == "opportunities" and excluding)):
            rows = cut.rows(table, where=where)
            if table == "opportunities":
                chosen = len(rows) - len(_kept_opportunities(rows, choices))
        deleted = len(crm.deleted_rows.get(table, ()))
        quarantined = (
            int(crm.quarantine.loc[crm.quarantine["table"] == table, "row"].nunique()) if len(crm.quarantine) else 0
        )
        gone[table] = chosen + deleted + quarantined
    rows = [
        {
            "figure": f,
            "definition": f"{texts[f].counted}; {texts[f].period}",
            "left_out": texts[f].left_out,
            "rows_left_out": gone["leads" if f.startswith("lead") else "opportunities"],
        }
        for f in HEADLINE_FIGURES
    ]
    return pd.DataFrame(rows).astype({"rows_left_out": "int64"})
