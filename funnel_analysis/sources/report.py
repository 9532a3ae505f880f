"""What the sources notebook shows, one call per section, on the org.

Every entry point takes the org first, then keyword options only: ``as_of`` (the day the org is
seen as of; ``None`` or ``""``: the latest date in the data), ``where`` (an expression of
:mod:`funnel_analysis.crm.expression`, such as ``"owner.region == 'EMEA'"``) and, where a breakdown
makes sense, ``by``. Each cuts the org (:meth:`~funnel_analysis.crm.CrmData.as_of`, memoised, so the
sections share their cut), keeps the rows ``where`` selects in the table the section analyses, and
calls the frame-level function of the same name:

- :func:`source_matrix` (``where`` selects leads): :func:`.matrix.source_matrix` of the mature leads;
- :func:`compare_sources` (leads): :func:`.matrix.compare_sources` of the two largest segments;
- :func:`campaign_matrix` (leads): :func:`.matrix.campaign_matrix`;
- :func:`attribution_summary` (opportunities): :func:`.attribution.campaign_attribution`, then
  :func:`.attribution.attribution_summary`;
- :func:`speed_to_lead` (leads): :func:`.matrix.speed_to_lead` of the mature leads;
- :func:`pipeline_waterfall` (opportunities as they stand at the end):
  :func:`.pipeline_changes.pipeline_waterfall` over the last complete fiscal period;
- :func:`activity_win_relation` (opportunities): :func:`.activities.activity_summary`, then
  :func:`.activities.activity_win_relation`.

A section whose inputs the export lacks returns its usual result marked with the reason
(:func:`funnel_analysis._util.missing.mark_missing`), which ``record`` prints in one line instead of a table of
zeros: with no activities (or none linked to a lead, or to a deal), speed to lead would read every lead as never
contacted and the activity relation every deal as untouched; with no campaign members, the campaign matrix would
show every campaign with no lead and the attribution credit every deal to no campaign; with no leads, the source
matrix, the comparison and speed to lead have nothing to count.

Owners are users or queues: a breakdown ``by="owner_id"`` (:func:`source_matrix`, :func:`speed_to_lead`,
:func:`pipeline_waterfall`'s tables) gets an ``owner_name`` column beside the ID, a user's name or a queue's
(:func:`funnel_analysis.crm.sections.owners`). The attribution credits each deal's contact roles
(OpportunityContactRole.csv) and its converted lead, as Salesforce's Campaign Influence does, and every
contact of the deal's account only in an org without contact roles; ``attrs["note"]`` says which.

The names clash with the frame-level functions on purpose (they serve them): import the module,
``from funnel_analysis.sources import report``, or the names from it.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> source_matrix(crm, by="lead_source", where="owner.region == 'EMEA'")  # doctest: +SKIP
>>> pipeline_waterfall(crm, as_of="2024-08-15").totals  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .._util.arrow import lookup
from .._util.frames import by_list as _by_list
from .._util.frames import flag as _flag
from .._util.missing import mark_missing, missing_reason
from ..crm import cut_as_of, resolve_as_of
from ..crm.sections import owners, with_owner_names
from ..periods import FiscalCalendar, fiscal_calendar, last_complete_period
from ..routing import first_touches, load_rules
from . import activities as _activities
from . import attribution as _attribution
from . import matrix as _matrix
from . import pipeline_changes as _changes

__all__ = [
    "source_matrix",
    "compare_sources",
    "campaign_matrix",
    "attribution_summary",
    "speed_to_lead",
    "speed_to_lead_effect",
    "pipeline_waterfall",
    "activity_win_relation",
]

#: The segment column when ``by`` is None, in the sections that always have one.
DEFAULT_BY = "lead_source"


#: What each table is called in a missing-input line, and the export files it comes from.
_SOURCES = {
    "leads": ("leads", "Lead.csv"),
    "activities": ("activities", "Task.csv, Event.csv"),
    "campaign_members": ("campaign members", "CampaignMember.csv"),
}
#: The columns of :func:`~funnel_analysis.sources.matrix.compare_sources`' one row.
_COMPARE_COLUMNS = [
    "a", "b", "metric", "successes_a", "trials_a", "rate_a", "successes_b", "trials_b", "rate_b",
    "difference", "difference_ci_low", "difference_ci_high", "test", "statistic", "p_value",
]  # fmt: skip


def _absent(crm, cut, table: str) -> str | None:
    """Why ``table`` cannot feed a section on this cut (none in the export, or none yet on its day), or None."""
    from ..engine.attach import cut_rows, in_engine_only

    label, files = _SOURCES[table]
    org = in_engine_only(crm, table=table)  # an engine-only org: counted in its engine, not read in pandas
    total, on_day = (
        (cut_rows(org, table), cut_rows(org, table, as_of=cut.as_of_date))
        if org is not None
        else (len(getattr(crm, table)), len(getattr(cut, table)))
    )
    if not total:
        return f"the export has no {label} ({files})"
    if not on_day:
        return f"the export has no {label} on or before {cut.as_of_date:%Y-%m-%d}"
    return None


def _any_in(values: pd.Series, keys: pd.Series) -> bool:
    """Whether any of ``values`` is one of ``keys``, in Arrow (pandas' Arrow-string ``isin`` walks the keys in
    Python: seconds for a million leads)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(s):
        a = pa.array(s.astype("string[pyarrow]"))  # zero-copy for the loaders' Arrow strings
        return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a

    if not len(values) or not len(keys):
        return False
    try:
        hit = pc.is_in(arrow(values), value_set=arrow(keys), skip_nulls=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return bool(values.isin(keys).any())
    return bool(pc.any(hit).as_py())


def _unlinked(crm, cut, column: str, table: str, key: str) -> str | None:
    """Why no activity reaches ``table``: none of their ``column`` values is one of its ``key`` values."""
    from ..engine.attach import cut_rows, in_engine_only

    org = in_engine_only(crm, table="activities")
    if org is not None and cut_rows(org, "activities", as_of=cut.as_of_date, linked=(column, table, key)):
        return None
    if org is None and _any_in(cut.activities[column], getattr(cut, table)[key]):
        return None
    label = {"leads": "a lead", "opportunities": "an opportunity"}[table]
    return f"no activity in the export is linked to {label} ({column})"


def _converted_leads(crm, cut) -> pd.DataFrame:
    """The cut's leads as attribution reads them: of an engine-only org, only the converted ones' conversion IDs,
    from its engine (the leads and their history in pandas would be 0.8 GiB at scale 50); else the cut's leads."""
    from ..engine.attach import in_engine_only
    from ..engine.features import converted_leads

    org = in_engine_only(crm, table="leads")
    if org is None or "converted_opportunity_id" not in org.columns("leads"):
        return cut.leads
    return converted_leads(org, as_of=cut.as_of_date)


def _named(out: pd.DataFrame, cut, by) -> pd.DataFrame:
    """``out`` with the owners' names beside ``owner_id`` when it is broken down by owner (users and queues)."""
    keys = [by] if isinstance(by, str) else list(by or [])
    return with_owner_names(out, owners(cut)) if "owner_id" in keys else out


#: Lead columns an as-of cut adds from the lead history (crm.field_history): the engine's matrix joins them too.
_LEAD_SOURCES = {"owner_source", "status_source"}


def _segments_in_engine(crm, keys, where):
    """The org's engine when it can segment the day's leads by ``keys`` without a ``where``, else None."""
    from ..engine.attach import engine_of

    org = engine_of(crm)
    if org is None or (where is not None and str(where).strip()) or not org.has("leads"):
        return None
    # the lead columns the field history changes (status, owner) are the values on the day there too
    known = set(org.columns("leads")) | (_LEAD_SOURCES if org.has("lead_history") else set())
    return org if set(keys) <= known else None


def _mature(cut, day, where, mature_days: int, columns=None) -> pd.DataFrame:
    """The leads ``where`` selects, old enough on ``day`` to have converted; with ``columns``, only those of them
    the leads have (and ``created_date``): the rows kept are copied, so 44 columns of a million leads were 0.5 GiB."""
    rows = cut.rows("leads", where=where)
    if columns is not None:
        rows = rows[[c for c in dict.fromkeys([*columns, "created_date"]) if c in rows.columns]]
    return _matrix.mature_leads(rows, as_of=day, mature_days=mature_days)


def source_matrix(crm, *, as_of=None, by=None, where=None, mature_days: int = 90) -> pd.DataFrame:
    """The source matrix of the mature leads: leads, conversion, pipeline, revenue, win rate per segment.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The report day; None or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Lead columns that form the segments; default ``"lead_source"``.
    where : str, optional
        Only the leads this expression selects (``"owner.region == 'EMEA'"``).
    mature_days : int, default 90
        Only leads created at least this many days before the end of ``as_of`` count
        (:func:`~funnel_analysis.sources.matrix.mature_leads`): newer ones have not had their
        chance to convert.

    Returns
    -------
    DataFrame
        :func:`funnel_analysis.sources.matrix.source_matrix` of those leads and the cut's opportunities.

    Raises
    ------
    ValueError
        A bad ``as_of``, ``where`` (:class:`~funnel_analysis.crm.expression.ExpressionError`) or
        ``mature_days``, or a missing column.

    Examples
    --------
    >>> source_matrix(crm, as_of="2024-06-30", mature_days=60)  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date

    keys = _by_list(by or DEFAULT_BY)
    org = _segments_in_engine(crm, keys, where)
    if org is not None:
        from ..engine.matrix import source_matrix_counts

        counts = source_matrix_counts(org, as_of=day, by=keys, mature_days=mature_days)
        out = _matrix.matrix_from_counts(counts, by=keys)
    else:
        out = _matrix.source_matrix(_mature(cut, day, where, mature_days), cut.opportunities, by=by or DEFAULT_BY)
    out = _named(out, cut, by)
    reason = _absent(crm, cut, "leads")
    return mark_missing(out, f"{reason}: no lead source to compare") if reason else out


def compare_sources(
    crm,
    *,
    as_of=None,
    by=None,
    where=None,
    a=None,
    b=None,
    metric: str = "conversion",
    mature_days: int = 90,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Do two segments' rates differ? By default the two with the most mature leads.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The report day; None or ``""`` for the latest date in the data.
    by : str, optional
        The lead column of the segments; default ``"lead_source"``.
    where : str, optional
        Only the leads this expression selects.
    a, b : object, optional
        The two segments (values of ``by``). Default: the segments with the most leads in
        :func:`source_matrix`, the larger as ``a`` (ties: the first in the matrix's order); given
        only ``a``, ``b`` is the largest other segment.
    metric : {"conversion", "win"}, default "conversion"
        converted / leads, or won / closed.
    mature_days : int, default 90
        As in :func:`source_matrix`.
    confidence : float, default 0.95
        Of the interval of the difference.

    Returns
    -------
    DataFrame
        One row: :func:`funnel_analysis.sources.matrix.compare_sources` of the source matrix; no
        row, marked missing with the reason, when the org has fewer than two segments to compare.

    Raises
    ------
    ValueError
        ``by`` names more than one column, or as
        :func:`source_matrix` and :func:`funnel_analysis.sources.matrix.compare_sources`.

    Examples
    --------
    >>> compare_sources(crm, where="owner.region == 'EMEA'")[["a", "b", "difference", "p_value"]]  # doctest: +SKIP
    """
    keys = [by] if isinstance(by, str) else list(by or [DEFAULT_BY])
    if len(keys) != 1:
        raise ValueError(f"compare_sources: by must name one column, got {by!r}")
    key = keys[0]
    matrix = source_matrix(crm, as_of=as_of, by=key, where=where, mature_days=mature_days)
    reason = missing_reason(matrix)
    if reason:
        return mark_missing(pd.DataFrame(columns=_COMPARE_COLUMNS), reason)
    if a is None or b is None:
        ranked = matrix.nlargest(len(matrix), "leads")[key]
        ranked = ranked[~ranked.isin([v for v in (a, b) if v is not None])].tolist()
        picked = [v for v in (a, b) if v is not None] + ranked
        if len(picked) < 2:  # nothing to compare (an org without mature leads): said in one line, not an error
            reason = f"fewer than two {key} segments with mature leads to compare ({len(picked)} found)"
            return mark_missing(pd.DataFrame(columns=_COMPARE_COLUMNS), reason)
        a, b = picked[0], picked[1]
    return _matrix.compare_sources(matrix, a, b, metric=metric, by=key, confidence=confidence)


def campaign_matrix(crm, *, as_of=None, where=None) -> pd.DataFrame:
    """The campaign matrix, the campaigns with the most won revenue first.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The report day; None or ``""`` for the latest date in the data.
    where : str, optional
        Only the leads this expression selects count for the campaigns (every campaign keeps its row).

    Returns
    -------
    DataFrame
        :func:`funnel_analysis.sources.matrix.campaign_matrix` of the cut, sorted by
        ``won_revenue``, largest first, on a fresh index.

    Raises
    ------
    ValueError
        A bad ``as_of`` or ``where``, or a missing column.

    Examples
    --------
    >>> campaign_matrix(crm)[["campaign_id", "won_revenue", "return_on_cost"]]  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    from ..engine.attach import engine_of

    org = engine_of(crm)
    if org is not None and not where and org.has("campaign_members") and org.has("leads"):
        # the counts per campaign summed in the org's engine; the campaigns' costs (a small table) here
        from ..engine.matrix import campaign_matrix_counts

        counts = _matrix.matrix_from_counts(campaign_matrix_counts(org, as_of=cut.as_of_date), by="campaign_id")
        out = _matrix.campaign_matrix_from_counts(counts, campaigns=cut.campaigns)
    else:
        out = _matrix.campaign_matrix(
            cut.rows("leads", where=where),
            cut.opportunities,
            campaigns=cut.campaigns,
            campaign_members=cut.campaign_members,
        )
    out = out.sort_values("won_revenue", ascending=False).reset_index(drop=True)
    reason = _absent(crm, cut, "campaign_members") or _absent(crm, cut, "leads")
    return mark_missing(out, f"{reason}: no lead can be tied to a campaign") if reason else out


def attribution_summary(
    crm,
    *,
    as_of=None,
    where=None,
    models=_attribution.MODELS,
    value: str = "amount",
    won_only: bool = True,
    responded_only: bool = False,
    account_contacts: bool = True,
) -> pd.DataFrame:
    """Won value credited to each campaign under every attribution model, side by side.

    The people behind a deal are the lead converted into it and its contact roles
    (OpportunityContactRole.csv), as Salesforce's Campaign Influence credits them; a deal without a
    contact role is credited through its converted lead only. Only an org without contact roles
    falls back to every contact of the deal's account. ``attrs["note"]`` says which in one line
    (:func:`funnel_analysis.sources.attribution.campaign_attribution`, module notes).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The report day; None or ``""`` for the latest date in the data.
    where : str, optional
        Only the opportunities this expression selects are credited.
    models : sequence of str, default all of :data:`~funnel_analysis.sources.attribution.MODELS`
        The attribution models.
    value : str, default "amount"
        The opportunity column credited.
    won_only : bool, default True
        Only closed won opportunities are credited.
    responded_only : bool, default False
        Only members that responded are touches.
    account_contacts : bool, default True
        For an org without contact roles: the memberships of every contact of the deal's account
        count as touches (the buying committee). Not used when the org has contact roles.

    Returns
    -------
    DataFrame
        :func:`funnel_analysis.sources.attribution.attribution_summary` (with the campaigns' names) of
        :func:`~funnel_analysis.sources.attribution.campaign_attribution` on the cut;
        ``attrs["note"]`` names the people credited (contact roles, or the account's contacts) and
        counts the credited deals without a contact role.

    Raises
    ------
    ValueError
        A bad ``as_of`` or ``where``, an unknown model, or a missing column.

    Examples
    --------
    >>> attribution_summary(crm, models=["linear"])  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    opps = cut.rows("opportunities", where=where)
    roles = crm.has("contact_roles") and len(crm.contact_roles) > 0  # the org's, not the day's: an org property
    credit = _attribution.campaign_attribution(
        opps,
        _converted_leads(crm, cut),
        cut.campaign_members,
        models=models,
        value=value,
        won_only=won_only,
        responded_only=responded_only,
        contacts=cut.contacts if account_contacts and not roles else None,
        contact_roles=cut.contact_roles if roles else None,
    )
    out = _attribution.attribution_summary(credit, campaigns=cut.campaigns)
    reason = _absent(crm, cut, "campaign_members")
    if reason:
        return mark_missing(out, f"{reason}: no deal can be credited to a campaign")
    out.attrs["note"] = _credited_note(cut, opps, roles=roles, account_contacts=account_contacts, won_only=won_only)
    return out


def _credited_note(cut, opps, *, roles: bool, account_contacts: bool, won_only: bool) -> str:
    """One line: whose campaign memberships the attribution credited, and how many deals had no contact role."""
    if roles:
        credited = opps[(_flag(opps["is_closed"]) & _flag(opps["is_won"])).to_numpy()] if won_only else opps
        without = int((~credited["opportunity_id"].isin(cut.contact_roles["opportunity_id"])).sum())
        deals = "won deals" if won_only else "deals"
        return (
            "credited: each deal's contact roles (OpportunityContactRole.csv) and the lead converted into it, "
            f"as Salesforce's Campaign Influence; {without} of {len(credited)} {deals} have no contact role "
            "and are credited through their converted lead only"
        )
    if account_contacts:
        return (
            "credited: every contact of the deal's account and the lead converted into it (the export has no "
            "OpportunityContactRole.csv; this over-credits large accounts)"
        )
    return "credited: the lead converted into each deal only (no contact roles; account contacts not counted)"


def _rules(rules, rules_file):
    """The routing rules given as an object or as the path of their file (None: neither)."""
    if rules is not None and rules_file:
        raise ValueError("speed_to_lead: give the rules or their file (rules_file), not both")
    return load_rules(rules_file) if rules_file else rules


def speed_to_lead(
    crm,
    *,
    as_of=None,
    by=None,
    where=None,
    mature_days: int = 90,
    time_column: str = "created_date",
    rules=None,
    rules_file=None,
) -> pd.DataFrame:
    """Hours from a mature lead's creation to its first activity, and conversion by speed bucket.

    Without routing rules, a lead's first activity of any kind counts (the original definition). With them
    (``rules`` or ``rules_file``), the first **touch** of the rules' definition counts
    (:func:`funnel_analysis.routing.first_touches`: call, meeting or e-mail by the lead's owner or team, at its
    completion or start time, automated sequences excluded; the clock from creation or assignment), the table
    gains wall-clock and business-minute median and p90 and the SLA breaches, and ``by`` may also be ``"team"``
    (the team the rules route the lead to, or the team of the user they route it to) or ``"hour_of_week"`` (of creation, 0 =
    Monday 00:00 in the SLA clock's time zone).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The report day; None or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Lead columns that form the segments (with rules also ``"team"``, ``"hour_of_week"``); None for all leads.
    where : str, optional
        Only the leads this expression selects.
    mature_days : int, default 90
        As in :func:`source_matrix`.
    time_column : str, default "created_date"
        The activity column that times it (without rules).
    rules : RoutingRules, optional
        From :func:`funnel_analysis.routing.load_rules`.
    rules_file : str or Path, optional
        The rules file instead (not both).

    Returns
    -------
    DataFrame
        :func:`funnel_analysis.sources.matrix.speed_to_lead` of those leads and the cut's activities (with rules,
        of their first touches); ``attrs["note"]`` with rules: the calendar, the owner source, association.

    Raises
    ------
    ValueError
        A bad ``as_of``, ``where`` or ``mature_days``, a missing column, or a bad rules file.

    Examples
    --------
    >>> speed_to_lead(crm, by="owner_id")  # doctest: +SKIP
    >>> speed_to_lead(crm, by="team", rules_file="data/examples/routing_rules.yaml")  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    rules = _rules(rules, rules_file)
    org = _segments_in_engine(crm, _by_list(by), where) if rules is None else None
    if org is not None and org.has("activities") and time_column in org.columns("activities"):
        from ..engine.matrix import speed_to_lead_rows

        # the mature leads and their first activities from the engine: neither table in pandas
        rows = speed_to_lead_rows(org, as_of=day, by=by, mature_days=mature_days, time_column=time_column)
        out = _matrix.speed_to_lead(rows.leads, rows.first, by=by, time_column=time_column)
    elif rules is None:
        from ..engine.attach import cached_rows

        leads = _mature(cut, day, where, mature_days, columns=["lead_id", "is_converted", *_by_list(by)])
        # an engine-only org reads the two columns of its leads' activities, not the whole table
        acts = cached_rows(
            cut, table="activities", columns=["who_id", time_column], key="who_id", values=leads["lead_id"]
        )
        acts = cut.activities if acts is None else acts
        out = _matrix.speed_to_lead(leads, acts, by=by, time_column=time_column)
    else:
        leads = _mature(cut, day, where, mature_days, columns=["lead_id", "is_converted", *_by_list(by)])
        ft = first_touches(cut, rules=rules, as_of=day)
        extra = [k for k in ("team", "hour_of_week") if k in _by_list(by) and k not in leads.columns]
        if extra:  # one Arrow lookup of the IDs, not a merge that copies both sides (a million leads)
            leads = leads.assign(**lookup(leads["lead_id"], ft, key="lead_id", columns=extra)).reset_index(drop=True)
        out = _matrix.speed_to_lead(leads, None, by=by, first_touch=ft)
        out.attrs["note"] = f"{ft.attrs.get('note', '')}; {out.attrs.get('note', '')}"
    out = _named(out, cut, by)
    reason = (
        _absent(crm, cut, "leads")
        or _absent(crm, cut, "activities")
        or _unlinked(crm, cut, "who_id", "leads", "lead_id")
    )
    if reason:
        return mark_missing(
            out, f"{reason}: speed to lead cannot be measured (every lead would read as never contacted)"
        )
    return out


def speed_to_lead_effect(
    crm,
    *,
    as_of=None,
    where=None,
    mature_days: int = 90,
    rules=None,
    rules_file=None,
    score_column: str = "lead_score",
    fast_minutes: float = 60,
    bands=4,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Conversion of fast against slow first touches within score bands, pooled: an association, not cause.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The report day; None or ``""`` for the latest date in the data.
    where : str, optional
        Only the leads this expression selects.
    mature_days : int, default 90
        As in :func:`source_matrix`.
    rules : RoutingRules, optional
        The touch definition, SLA clock and calendar; None: the default touches, 24x7.
    rules_file : str or Path, optional
        The rules file instead (not both).
    score_column : str, default "lead_score"
        The lead score (``Lead_Score__c``).
    fast_minutes : float, default 60
        Fast is a first touch within this many minutes (business minutes when the rules' SLA says so).
    bands : int or list of float, default 4
        Quantile bands of the score, or their edges.
    confidence : float, default 0.95
        Of the interval.

    Returns
    -------
    DataFrame
        :func:`funnel_analysis.sources.matrix.speed_to_lead_effect`; marked missing (one line) when the leads have
        no ``score_column``.

    Examples
    --------
    >>> speed_to_lead_effect(crm, rules_file="data/examples/routing_rules.yaml")  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    rules = _rules(rules, rules_file)
    leads = _mature(cut, cut.as_of_date, where, mature_days, columns=["lead_id", "is_converted", score_column])
    business = bool(rules.sla.business_hours) if rules is not None else False
    ft = first_touches(cut, rules=rules, as_of=cut.as_of_date)
    if score_column not in leads.columns:
        empty = _matrix.speed_to_lead_effect(
            leads.assign(**{score_column: np.nan}).iloc[:0], ft, score_column=score_column, bands=[0, 1]
        )
        return mark_missing(empty, f"the leads have no {score_column} column: no score bands to compare within")
    return _matrix.speed_to_lead_effect(
        leads,
        ft,
        score_column=score_column,
        fast_minutes=fast_minutes,
        business_minutes=business,
        bands=bands,
        confidence=confidence,
    )


def pipeline_waterfall(
    crm,
    *,
    as_of=None,
    by=None,
    where=None,
    period: str = "Q",
    fiscal_year_start_month: int | FiscalCalendar = 1,
    open_only: bool = True,
    decimals: int = 2,
) -> _changes.PipelineWaterfall:
    """How the pipeline of the last complete fiscal period moved over that period.

    The period's pipeline is the open deals due to close in it: the waterfall runs from the cut of
    the day before the period began to the cut of its last day, with the period as close window
    (:func:`funnel_analysis.periods.last_complete_period`: a period ending on ``as_of`` is complete).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The report day; None or ``""`` for the latest date in the data.
    by : str or list of str, optional
        Opportunity columns to split the totals by.
    where : str, optional
        Only the opportunities this expression selects at the period's end.
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    open_only : bool, default True
        As in :func:`funnel_analysis.sources.pipeline_changes.pipeline_waterfall`.
    decimals : int, default 2
        Money is rounded to this many decimals and added up exactly in that unit.

    Returns
    -------
    PipelineWaterfall
        The waterfall, with the period's name (``period``) and its two days.

    Raises
    ------
    ValueError
        A bad ``as_of``, ``where``, ``period`` or ``fiscal_year_start_month``, or a missing column.

    Examples
    --------
    >>> w = pipeline_waterfall(crm, as_of="2024-08-15")  # doctest: +SKIP
    >>> w.period, w.summary  # doctest: +SKIP
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    day = resolve_as_of(crm, as_of=as_of)
    q = last_complete_period(as_of=day, period=period, fiscal_year_start_month=fiscal_year_start_month)
    from ..engine.attach import engine_of

    org = engine_of(crm)
    if org is not None and not where and set(_by_list(by)) <= set(org.columns("opportunities")):
        # the same waterfall reduced in the org's engine (funnel_analysis.engine.waterfall); where: pandas
        from ..engine.waterfall import waterfall

        window = (q["period_start"], q["period_end"])
        got = waterfall(
            org, start=q["day_before"], end=q["period_end"], by=by, close_window=window, open_only=open_only,
            decimals=decimals,
        )  # fmt: skip
        out = _changes.PipelineWaterfall(
            per_opportunity=got.per_opportunity,
            totals=got.totals,
            start=pd.Timestamp(q["day_before"]).normalize(),
            end=pd.Timestamp(q["period_end"]).normalize(),
            close_window=tuple(pd.Timestamp(d).normalize() for d in window),
            period=str(q["fiscal_period"] or ""),
        )
    else:
        out = _changes.pipeline_waterfall(
            crm,
            start=q["day_before"],
            end=q["period_end"],
            by=by,
            where=where,
            close_window=(q["period_start"], q["period_end"]),
            open_only=open_only,
            decimals=decimals,
            period=q["fiscal_period"],
        )
    if "owner_id" not in ([by] if isinstance(by, str) else list(by or [])):
        return out
    cut = cut_as_of(crm, as_of=q["period_end"])  # the owners as the period ended
    return dataclasses.replace(
        out, per_opportunity=_named(out.per_opportunity, cut, by), totals=_named(out.totals, cut, by)
    )


def activity_win_relation(crm, *, as_of=None, where=None, confidence: float = 0.95) -> pd.DataFrame:
    """Win rate of the closed deals by how many activities they had before closing.

    A correlation, not a causal effect: see :func:`funnel_analysis.sources.activities.activity_win_relation`.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The report day; None or ``""`` for the latest date in the data.
    where : str, optional
        Only the opportunities this expression selects.
    confidence : float, default 0.95
        Of the Wilson intervals.

    Returns
    -------
    DataFrame
        One row per activity-count bucket: ``bucket``, ``closed``, ``won``, ``win_rate``,
        ``win_rate_ci_low``, ``win_rate_ci_high``.

    Raises
    ------
    ValueError
        A bad ``as_of`` or ``where``, or a missing column.

    Examples
    --------
    >>> activity_win_relation(crm, where="amount >= 10000")  # doctest: +SKIP
    """
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    from ..engine.attach import engine_of

    org = engine_of(crm)
    if org is not None and not where and org.has("activities") and "what_id" in org.columns("activities"):
        # the counts per number of activities summed in the org's engine (funnel_analysis.engine.activities)
        from ..engine.activities import closed_deals_by_activity_count

        counts = closed_deals_by_activity_count(org, as_of=day)
        out = _activities.activity_win_table(counts, confidence=confidence)
    else:
        opps = cut.rows("opportunities", where=where)
        summary = _activities.activity_summary(cut.activities, opps, as_of=day)
        out = _activities.activity_win_relation(summary, opps, confidence=confidence)
    reason = _absent(crm, cut, "activities") or _unlinked(crm, cut, "what_id", "opportunities", "opportunity_id")
    if reason:
        return mark_missing(
            out, f"{reason}: activity cannot be related to winning (every deal would count as having none)"
        )
    return out
