"""The velocity report's entry points: each takes the org, cuts it, filters it and calls one analysis.

Every function here has the shape ``name(crm, *, as_of=None, by=None, where=None, ...)``: it
resolves ``as_of`` (``None`` or ``""``: the latest date in the data,
:func:`funnel_analysis.crm.resolve_as_of`), cuts the org at the end of that day
(:meth:`CrmData.as_of`, memoised), keeps the opportunities that ``where`` selects
(:meth:`CrmData.rows`, the safe expressions of :mod:`funnel_analysis.crm.expression`; their history
follows) and calls the frame-level function of the same name in :mod:`funnel_analysis.velocity`.
A notebook section is one such call and one chart.

When the export has no stage table (Salesforce's default stages were assumed) and its deals use
stages those do not list, the stage order is unknown: :func:`stage_durations` then shows only the
stages the deals use (no rows of zeros for default stages nobody used), and
:func:`stage_to_stage_days` without ``from_stage`` / ``to_stage`` returns its table empty,
marked with that reason in one line (:func:`funnel_analysis._util.missing.mark_missing`).
On an org with an engine (``load_org(..., engine="duckdb")``, ``engine_only=True`` too) and no
``where`` given to the entry point (a notebook's ``where`` scopes the whole org, engine included,
through ``CrmData.where``), every section but :func:`stage_intervals` reads what it needs from the
engine: the life tables (:mod:`funnel_analysis.engine.durations`), the day's deals, the open
deals' current visits, the visits of two stages (:mod:`funnel_analysis.engine.velocity`); the
frame-level functions here finish on those small frames (the bootstrap, the means, the counts).
Both paths take the deals in ``opportunity_id`` order (an engine's relations have no file order).

Deals without a creation date cannot be placed in time: the as-of cut leaves them out, and
:func:`cycle_length`, :func:`sales_velocity` and :func:`stage_durations` count them in
``n_undated_excluded`` (never a 0-day duration).

Examples
--------
>>> from funnel_analysis.velocity import report
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> opportunities = pd.DataFrame({
...     "Id": ["006A", "006B", "006C"], "StageName": ["Closed Won", "Closed Lost", "Prospecting"],
...     "Amount": [1000, 500, 800], "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-01"],
...     "CloseDate": ["2024-02-01", "2024-02-10", "2024-06-30"], "IsClosed": [True, True, False],
...     "IsWon": [True, False, False], "LeadSource": ["Web", "Web", "Partner"]})
>>> crm = load_frames({"Opportunity": opportunities})
>>> report.cycle_length(crm, as_of="2024-03-31")[["n", "n_closed", "n_censored", "naive_median"]]
   n  n_closed  n_censored  naive_median
0  3         2           1          36.0
>>> report.cycle_length(crm, as_of="2024-03-31", where="amount >= 800")[["n", "n_closed", "naive_median"]]
   n  n_closed  naive_median
0  2         1          30.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.missing import mark_missing
from ..crm.field_history import history_note, slip_history
from ..crm.model import cut_as_of
from ..crm.sections import add_counts, dropped_undated, stage_order_unknown, stages_in_use
from ..periods import FiscalCalendar, fiscal_calendar
from ..stats import rate_table
from . import durations as _durations
from .definitions import with_definitions
from .durations import _stalled
from .sales_velocity import latest_velocity_change as _latest_velocity_change
from .sales_velocity import sales_velocity as _sales_velocity

if TYPE_CHECKING:
    from ..crm import CrmData

__all__ = [
    "stage_intervals",
    "stage_durations",
    "cycle_length",
    "stalled_deals",
    "stage_to_stage_days",
    "sales_velocity",
    "velocity_change",
    "slipped_deals",
]


def _by(by):
    """``by`` as the frame-level functions take it: an empty name (a report parameter left empty) is none."""
    return by or None


def _engine(crm: CrmData, where, by=None):
    """The org's engine when the options asked for are its path's (no ``where``, ``by`` of the deals), else None.

    A ``where`` given to the entry point runs on pandas; the notebook scopes the whole org once
    (``CrmData.where``), and the scoped org carries its engine, scoped in the engine too.
    """
    from ..engine.attach import engine_of

    org = engine_of(crm)
    if org is None or where or not set(_by_list(_by(by))) <= set(org.columns("opportunities")):
        return None
    return org


def _by_id(opps: pd.DataFrame) -> pd.DataFrame:
    """The deals in ``opportunity_id`` order, the order the engine hands them back in.

    The bootstrap of sales velocity resamples deals by position and the stalled deals keep ties in
    the deals' order, so both paths take one order: an export's file order (usually by ID already:
    then nothing moves) is not known to an engine, whose relations have no order.
    """
    if opps["opportunity_id"].is_monotonic_increasing:
        return opps
    return opps.sort_values("opportunity_id", kind="stable")


def _order_unknown(cut: CrmData, org) -> str | None:
    """:func:`stage_order_unknown` of the cut, the stages its deals use counted in the engine."""
    if cut.meta.get("stages_origin", cut.report.stages_origin) != "default":
        return None  # known without reading a deal
    from ..crm.model import CrmData as _CrmData
    from ..engine.velocity import stages_used

    used = pd.DataFrame({"stage_name": stages_used(org, as_of=cut.as_of_date)})
    light = _CrmData(
        tables={"stages": cut.stages, "opportunities": used, "opportunity_history": used.iloc[:0]},
        quarantine=cut.quarantine,
        flags=cut.flags,
        quarantined_rows={},
        report=cut.report,
        meta={k: v for k, v in cut.meta.items() if k != "engine_only"},
    )
    return stage_order_unknown(light)


def stage_intervals(crm: CrmData, *, as_of=None, by=None, where: str | None = None) -> pd.DataFrame:
    """Every stage visit of the opportunities as of a day (:func:`funnel_analysis.velocity.stage_intervals`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; visits still open at its end are censored. ``None`` or ``""`` for the latest
        date in the data.
    by : str or list of str, optional
        Opportunity columns copied onto each visit (the frame-level ``carry``), to segment by.
    where : str, optional
        Keep only the opportunities this expression selects.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.velocity.stage_intervals`, ordered by deal, then visit (on an
        org with an engine the day's deals and stage history are read there).

    Examples
    --------
    >>> report.stage_intervals(crm, as_of="2024-06-30")[["stage_name", "days", "censored"]]  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    org = _engine(crm, where, by)
    if org is not None:  # the day's deals and their stage history from the engine (a few columns each)
        from ..engine.funnel import day_history
        from ..engine.velocity import day_deals

        opps, hist = day_deals(org, as_of=day, by=_by_list(_by(by))), day_history(org, as_of=day)
    else:
        opps = cut.rows("opportunities", where=where)
        hist = cut.history_of(opps)
    out = _durations.stage_intervals(opps, hist, stages=cut.stages, as_of=day, carry=_by(by))
    # one order on both paths (an engine's relations have none): by deal, then visit
    return out.sort_values(["opportunity_id", "visit"], kind="stable").reset_index(drop=True)


def stage_durations(
    crm: CrmData, *, as_of=None, by=None, where: str | None = None, percentiles=(0.5, 0.75, 0.9)
) -> pd.DataFrame:
    """Days in each open stage, open visits censored (:func:`funnel_analysis.velocity.stage_durations`).

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
    percentiles : sequence of float, default (0.5, 0.75, 0.9)
        Quantiles reported besides the median.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.velocity.stage_durations`, with ``n_undated_excluded`` after
        ``n_censored``: the deals (of the segment) without a creation date, whose visits are left
        out. When the stage order is unknown (no stage table, and stages Salesforce's defaults do
        not list), only the stages the deals use.

    Examples
    --------
    >>> report.stage_durations(crm, percentiles=())[["stage_name", "km_median"]]  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    from ..engine.attach import engine_of

    org = engine_of(crm)
    # in the org's engine: life tables per stage (funnel_analysis.engine.durations), the deal's owner
    # on the day included (the engine's cut applies the field history); a where on the pandas path
    if org is not None and not where and set(_by_list(_by(by))) <= set(org.columns("opportunities")):
        from ..engine.durations import stage_durations as _engine_durations

        out = _engine_durations(org, as_of=day, by=_by(by), percentiles=percentiles)
        return with_definitions(out, "stage_durations")
    opps = cut.rows("opportunities", where=where)
    hist = cut.history_of(opps)
    stages = stages_in_use(cut)
    intervals = _durations.stage_intervals(opps, hist, stages=stages, as_of=day, carry=_by(by))
    out = _durations.stage_durations(intervals, stages=stages, by=_by(by), percentiles=percentiles)
    # deals without a creation date: their visits are left out (stage_intervals), counted here
    undated = pd.concat(
        [opps[opps["created_date"].isna().to_numpy()], dropped_undated(crm, as_of=cut.as_of_date, where=where)]
    )
    keys = _by_list(_by(by))
    counts = undated.assign(n_undated_excluded=1)[[*keys, "n_undated_excluded"]]
    out.insert(len(keys) + 3, "n_undated_excluded", 0)
    return with_definitions(add_counts(out, counts, column="n_undated_excluded", by=keys), "stage_durations")


def cycle_length(crm: CrmData, *, as_of=None, by=None, where: str | None = None) -> pd.DataFrame:
    """The sales cycle, open deals censored (:func:`funnel_analysis.velocity.cycle_length`).

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

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.velocity.cycle_length`; ``n_undated_excluded`` also counts the
        deals without a creation date that the cut left out.

    Examples
    --------
    >>> report.cycle_length(crm, by="lead_source")  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    from ..engine.attach import engine_of

    org = engine_of(crm)
    # in the org's engine: the cycle's life tables per segment (funnel_analysis.engine.durations);
    # a where on the pandas path
    if org is not None and not where and set(_by_list(_by(by))) <= set(org.columns("opportunities")):
        from ..engine.durations import cycle_length as _engine_cycle

        return with_definitions(_engine_cycle(org, as_of=day, by=_by(by)), "cycle_length")
    out = _durations.cycle_length(cut.rows("opportunities", where=where), as_of=day, by=_by(by))
    dropped = dropped_undated(crm, as_of=cut.as_of_date, where=where)
    if len(dropped):  # left out by the cut for the same reason: counted with them
        extra = _durations.cycle_length(dropped, as_of=day, by=_by(by))
        out = add_counts(out, extra, column="n_undated_excluded", by=_by_list(_by(by)))
    return with_definitions(out, "cycle_length")


def stalled_deals(crm: CrmData, *, as_of=None, where: str | None = None, quantile: float = 0.9) -> pd.DataFrame:
    """Open deals in their stage longer than most visits last (:func:`funnel_analysis.velocity.stalled_deals`).

    The thresholds come from the visits of the opportunities kept (``where``).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the opportunities this expression selects.
    quantile : float, default 0.9
        A deal is stalled past this Kaplan-Meier quantile of its stage's visits.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.velocity.stalled_deals`.

    Examples
    --------
    >>> report.stalled_deals(crm, quantile=0.8)  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    org = _engine(crm, where)
    if org is not None:
        # in the engine: the open deals' current visits and the stages' life tables (their
        # Kaplan-Meier quantiles), from one cut; the rest as on pandas
        from ..engine.velocity import stalled_inputs

        got = stalled_inputs(org, as_of=day, quantile=quantile)
        return with_definitions(_stalled(got.current, got.current, got.thresholds, as_of=day), "stalled_deals")
    opps = _by_id(cut.rows("opportunities", where=where))
    hist = cut.history_of(opps)
    intervals = _durations.stage_intervals(opps, hist, stages=cut.stages, as_of=day)
    return with_definitions(
        _durations.stalled_deals(opps, intervals, stages=cut.stages, as_of=day, quantile=quantile), "stalled_deals"
    )


def stage_to_stage_days(
    crm: CrmData,
    *,
    as_of=None,
    by=None,
    where: str | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
) -> pd.DataFrame:
    """Days from first entering one stage to first entering a later one (:func:`funnel_analysis.velocity.stage_to_stage_days`).

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
    from_stage : str, optional
        The first stage; ``None`` or ``""`` for the org's first stage (``sort_order``).
    to_stage : str, optional
        The later stage; ``None`` or ``""`` for the first won stage (``sort_order``).

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.velocity.stage_to_stage_days`; empty and marked missing when a
        stage is left to its default but the stage order is unknown (no stage table, and stages
        Salesforce's defaults do not list).

    Examples
    --------
    >>> report.stage_to_stage_days(crm, from_stage="Qualify")  # doctest: +SKIP
    """
    fn = "stage_to_stage_days"
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    org = _engine(crm, where, by)
    if from_stage and to_stage:
        unknown = None
    else:
        unknown = _order_unknown(cut, org) if org is not None else stage_order_unknown(cut)
    if unknown:
        empty = pd.DataFrame(
            columns=[*_by_list(_by(by)), "from_stage", "to_stage", "n_from", "n", "mean_days", "median_days"]
        )
        return with_definitions(mark_missing(empty, unknown + " (give from_stage and to_stage)"), "stage_to_stage_days")
    st = cut.stages.sort_values("sort_order", kind="stable")
    if not from_stage:
        from_stage = st["stage_name"].iloc[0]
    if not to_stage:
        won = st.loc[st["is_won"].astype("boolean").fillna(False).to_numpy(), "stage_name"]
        if won.empty:
            raise ValueError(f"{fn}: the stages table has no won stage; give to_stage")
        to_stage = won.iloc[0]
    if from_stage == to_stage:  # before the engine is asked: the frame-level function's refusal
        raise ValueError(f"{fn}: from_stage and to_stage are both {from_stage!r}")
    if org is not None:
        # in the engine: the visits of the two stages only (the others leave the figure unchanged)
        from ..engine.velocity import stage_entries

        intervals = stage_entries(org, as_of=day, stages=[from_stage, to_stage], by=_by(by))
    else:
        opps = cut.rows("opportunities", where=where)
        hist = cut.history_of(opps)
        intervals = _durations.stage_intervals(opps, hist, stages=cut.stages, as_of=day, carry=_by(by))
    return with_definitions(
        _durations.stage_to_stage_days(intervals, from_stage=from_stage, to_stage=to_stage, by=_by(by)),
        "stage_to_stage_days",
    )


def sales_velocity(
    crm: CrmData,
    *,
    as_of=None,
    by=None,
    where: str | None = None,
    period: str = "Q",
    n_boot: int = 500,
    seed: int = 0,
    fiscal_year_start_month: int | FiscalCalendar = 1,
) -> pd.DataFrame:
    """Sales velocity and its four factors per period (:func:`funnel_analysis.velocity.sales_velocity`).

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
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period.
    n_boot : int, default 500
        Bootstrap resamples behind the intervals.
    seed : int, default 0
        Seed of the bootstrap.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.velocity.sales_velocity`; ``n_undated_excluded`` also counts
        the won deals of each period without a creation date that the cut left out.

    Examples
    --------
    >>> report.sales_velocity(crm, period="M", n_boot=200)  # doctest: +SKIP
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    options = {"as_of": day, "period": period, "by": _by(by), "fiscal_year_start_month": fiscal_year_start_month}
    opps, dropped = _deals(crm, cut, where=where, by=by)
    out = _sales_velocity(opps, n_boot=n_boot, seed=seed, **options)
    if len(dropped):  # the won ones the cut left out have no cycle either: counted in their period
        extra = _sales_velocity(dropped, n_boot=1, **options)
        out = add_counts(out, extra, column="n_undated_excluded", by=[*_by_list(_by(by)), "period"])
    return with_definitions(out, "sales_velocity")


def _deals(crm: CrmData, cut: CrmData, *, where, by=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's deals (in ID order) and the undated ones the cut left out: from the engine when it has them."""
    org = _engine(crm, where, by)
    if org is not None:
        # in the engine: the day's state of each deal (one row each); the bootstrap runs on pandas
        from ..engine.velocity import day_deals, undated_deals

        return day_deals(org, as_of=cut.as_of_date, by=_by(by)), undated_deals(org, as_of=cut.as_of_date, by=_by(by))
    opps = _by_id(cut.rows("opportunities", where=where))
    return opps, dropped_undated(crm, as_of=cut.as_of_date, where=where)


def velocity_change(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    period: str = "Q",
    fiscal_year_start_month: int | FiscalCalendar = 1,
) -> pd.DataFrame:
    """What moved sales velocity between the last two complete periods that had one.

    Sales velocity per period as of the day (:func:`funnel_analysis.velocity.sales_velocity`,
    point estimates only), then :func:`funnel_analysis.velocity.latest_velocity_change`.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the opportunities this expression selects.
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.velocity.latest_velocity_change`; empty and marked missing
        (one line, not an error) when fewer than two complete periods had a velocity.

    Examples
    --------
    >>> report.velocity_change(crm, period="Q")[["factor", "share"]]  # doctest: +SKIP
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    org = _engine(crm, where)
    if org is not None:  # in the engine: the day's state of each deal
        from ..engine.velocity import day_deals

        opps = day_deals(org, as_of=day)
    else:
        opps = cut.rows("opportunities", where=where)
    velocity = _sales_velocity(
        opps,
        as_of=day,
        period=period,
        n_boot=1,  # the change uses the point estimates, which do not depend on the resamples
        fiscal_year_start_month=fiscal_year_start_month,
    )
    measured = velocity[velocity["complete"].to_numpy(dtype=bool) & (velocity["velocity"] > 0).fillna(False).to_numpy()]
    if len(measured) < 2:
        columns = ["factor", "a", "b", "log_ratio", "contribution", "share", "from_period", "to_period"]
        return with_definitions(
            mark_missing(
                pd.DataFrame(columns=columns),
                f"{len(measured)} complete period(s) had a sales velocity (won deals and open deals); "
                "a change needs two (try a shorter period)",
            ),
            "velocity_change",
        )
    return with_definitions(_latest_velocity_change(velocity), "velocity_change")


def slipped_deals(crm: CrmData, *, as_of=None, where: str | None = None) -> pd.DataFrame:
    """Deals whose close date was pushed before, against those never pushed: how they close and how long.

    A deal *slipped before* when its close date was moved later at least once before the day
    (:func:`funnel_analysis.crm.field_history.close_date_pushes`, from ``OpportunityFieldHistory``).
    A deal created before the close-date history starts and never seen pushed is ``unknown``, not
    "never slipped": its earlier pushes may be lost.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the opportunities this expression selects.

    Returns
    -------
    DataFrame
        One row per ``slip_history`` (``slipped before``, ``never slipped``, ``unknown``; segments
        without a deal are left out): ``n`` deals, ``n_open``, ``n_closed``, ``n_won``, ``win_rate``
        (won of closed) with ``win_rate_ci_low`` / ``win_rate_ci_high`` (Wilson, 95 %),
        ``pushes_mean`` (close-date pushes per deal, of the deals whose count is known), and the
        cycle of :func:`funnel_analysis.velocity.cycle_length` (``km_median`` with its interval, open
        deals censored). Empty and marked missing, in one line, when the org has no close-date
        history.

    Examples
    --------
    >>> report.slipped_deals(crm)[["slip_history", "n_closed", "win_rate"]]  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    org = _engine(crm, where)
    if org is not None:  # in the engine: the day's state of each deal, its close-date pushes included
        from ..engine.velocity import day_deals

        opps, tracked = day_deals(org, as_of=cut.as_of_date), org.has("opportunity_field_history")
    else:
        opps, tracked = cut.rows("opportunities", where=where), crm.has("opportunity_field_history")
    columns = ["slip_history", "n", "n_open", "n_closed", "n_won", "win_rate", "win_rate_ci_low", "win_rate_ci_high"]
    if "slipped_before" not in opps.columns or not tracked:
        return with_definitions(
            mark_missing(pd.DataFrame(columns=columns), history_note(crm, table="opportunity_field_history")),
            "slipped_deals",
        )
    opps = opps.assign(slip_history=slip_history(opps))
    cycle = _durations.cycle_length(opps, as_of=cut.as_of_date, by="slip_history")
    closed = opps["is_closed"].fillna(False).astype(bool)
    won = closed & opps["is_won"].fillna(False).astype(bool)
    counts = (
        opps.assign(_closed=closed, _won=won, _open=~closed)
        .groupby("slip_history", observed=True)
        .agg(
            n=("opportunity_id", "size"),
            n_open=("_open", "sum"),
            n_closed=("_closed", "sum"),
            n_won=("_won", "sum"),
            pushes_mean=("close_date_pushes", "mean"),
        )
        .reset_index()
    )
    counts = rate_table(counts, successes="n_won", trials="n_closed", name="win_rate")
    keep = ["slip_history", "km_median", "km_median_ci_low", "km_median_ci_high", "naive_median"]
    out = counts.merge(cycle[keep], on="slip_history", how="left")
    out["slip_history"] = out["slip_history"].astype("str")  # rows in SLIP_HISTORY's order: the categories
    return with_definitions(out, "slipped_deals")
