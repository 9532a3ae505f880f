"""Lead features at the moment of scoring, and the labelled training table.

A lead is scored at a *moment*: its creation time plus ``delay_days`` (never
later than the as-of date). Every feature is what the CRM knew at that moment:

- the lead's own fields (firmographics, source, title), minus the fields that
  the leakage rules exclude (:mod:`funnel_analysis.scoring.leakage`) and
  identifiers or free text;
- its activities (tasks and events whose ``who_id`` is the lead) and campaign
  touches (``campaign_members.lead_id``), counted only when the record was
  created by the moment *and* its date-only day had ended by then.

The label of a training lead is whether it converted within ``window_days`` of
its creation. Only leads whose whole window has passed at the as-of date are
labelled, and a lead already converted at its scoring moment is left out (its
outcome was known). Leads without a creation date (exports with no dates, such
as the X Education file) have no time cut: every field is used as exported.

Examples
--------
>>> import pandas as pd
>>> leads = pd.DataFrame({"lead_id": ["a", "b"], "lead_source": ["Web", "Referral"],
...                       "created_date": pd.to_datetime(["2024-01-01", "2024-01-03"], utc=True)})
>>> acts = pd.DataFrame({"who_id": ["a", "a"], "activity_date": pd.to_datetime(["2023-12-31", "2024-01-05"]),
...                      "created_date": pd.to_datetime(["2023-12-31", "2024-01-05"], utc=True)})
>>> lead_features(leads, activities=acts)[["lead_id", "lead_source", "activities_n"]]
  lead_id lead_source  activities_n
0       a         Web           1.0
1       b    Referral           0.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._util.arrow import index_in
from .._util.frames import to_day, utc_naive
from ..crm.expression import expression_mask, parse_expression
from ..crm.schema import TABLES
from ..engine.base import quote_identifier as _qi
from .leakage import RULE_EXCLUDED

if TYPE_CHECKING:
    from ..crm import CrmData

__all__ = [
    "ScoringDataError",
    "META_COLUMNS",
    "ORDER_COLUMN",
    "IDENTIFIER_COLUMNS",
    "scoring_moments",
    "lead_features",
    "training_table",
    "source_names",
    "title_seniority",
    "scoring_cut",
]

#: Columns of a training table that are not features.
META_COLUMNS = ("lead_id", "scored_at", "converted")

#: A lead's place in its creation sequence (an auto-number such as X Education's ``Lead Number``). For
#: leads without dates it is the clock that orders them (the workflow splits by it), and a feature, as a
#: creation date would be: on X Education it adds 0.002-0.011 ROC-AUC on each of four later periods
#: held out in turn, so it carries how conversion changed over time, not who the lead is.
ORDER_COLUMN = "created_order"

#: Identifiers and free text: never features (they describe who, not how likely).
IDENTIFIER_COLUMNS = frozenset(
    {
        "lead_id",
        "lead_number",
        "first_name",
        "last_name",
        "name",
        "email",
        "phone",
        "mobile_phone",
        "phone_e164",
        "mobile_phone_e164",
        "street",
        "postal_code",
        "company",
        "company_key",
        "website",
        "owner_id",
        "created_date",
        "salutation",
        "state",
        "city",
    }
)

_SENIORITY = (  # first match wins: most senior first
    ("c_level", r"\b(?:ceo|cfo|cto|coo|cio|cmo|cro|chief|founder|owner|president)\b|总经理|首席"),
    ("vp", r"\b(?:vp|svp|evp|vice president)\b|副总裁"),
    ("director", r"\b(?:director|head of)\b|总监"),
    ("manager", r"\b(?:manager|lead)\b|经理"),
)


class ScoringDataError(ValueError):
    """Leads that cannot be scored or trained on: names the table, the column and the rule broken.

    Parameters
    ----------
    table : str
        The canonical table (``"leads"``, ``"activities"``).
    column : str
        The column at fault.
    rule : str
        The rule broken (``"column_missing"``, ``"too_few_outcomes"``, ...).
    message : str
        What is wrong, in words.
    """

    def __init__(self, table: str, column: str, rule: str, message: str):
        self.table, self.column, self.rule = table, column, rule
        super().__init__(f"{table}: column {column!r}: {message} (rule {rule})")


def scoring_moments(
    leads: pd.DataFrame, *, delay_days: float = 0, as_of=None, created_column: str = "created_date"
) -> pd.Series:
    """When each lead is scored: creation + ``delay_days``, capped at the end of ``as_of`` (naive UTC).

    Leads without a creation time are scored at the end of ``as_of`` (NaT when
    ``as_of`` is None: no time cut).

    Parameters
    ----------
    leads : DataFrame
        Canonical leads.
    delay_days : float
        Days after creation at which a lead is scored (>= 0).
    as_of : date, Timestamp or str, optional
        No lead is scored after the end of this day.
    created_column : str
        The column holding the creation time.

    Returns
    -------
    Series
        ``scored_at`` per lead (naive UTC datetimes), on the index of ``leads``.

    Raises
    ------
    ValueError
        For a negative ``delay_days``.
    ScoringDataError
        When ``created_column`` is missing.

    Examples
    --------
    >>> leads = pd.DataFrame({"created_date": pd.to_datetime(["2024-01-01 10:00", None], utc=True)})
    >>> scoring_moments(leads, delay_days=1, as_of="2024-03-31").tolist()
    [Timestamp('2024-01-02 10:00:00'), Timestamp('2024-04-01 00:00:00')]
    """
    if delay_days < 0:
        raise ValueError(f"delay_days must be >= 0, got {delay_days}")
    if created_column not in leads:
        raise ScoringDataError("leads", created_column, "column_missing", "is needed to place the scoring moment")
    t = utc_naive(leads[created_column]).set_axis(leads.index) + pd.Timedelta(days=delay_days)
    if as_of is not None:
        end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
        t = t.where(t.isna() | (t <= end), end).fillna(end)
    return t.rename("scored_at")


def title_seniority(title: pd.Series) -> pd.Series:
    """Seniority band read from a job title: c_level, vp, director, manager, other (missing stays missing).

    Parameters
    ----------
    title : Series
        Job titles (any language the patterns know: English, Chinese).

    Returns
    -------
    Series
        The band of each title, on the index of ``title``.

    Examples
    --------
    >>> title_seniority(pd.Series(["VP Sales", "Head of Data", "Analyst", None])).tolist()
    ['vp', 'director', 'other', nan]
    """
    codes, uniques = pd.factorize(title, use_na_sentinel=True)  # the patterns run once per distinct title
    t = pd.Series(uniques, dtype="object").astype("str").str.casefold()
    band_of = pd.Series("other", index=t.index, dtype="object")
    done = pd.Series(False, index=t.index)
    for band, pattern in _SENIORITY:
        hit = t.str.contains(pattern, regex=True, na=False) & ~done
        band_of[hit] = band
        done |= hit
    out = (
        np.asarray(band_of.to_numpy(), dtype=object)[np.maximum(codes, 0)]
        if len(t)
        else np.full(len(title), np.nan, dtype=object)
    )
    out = np.where(codes >= 0, out, np.nan)
    return pd.Series(out, index=title.index, dtype="object")


def _known(moment: pd.Series, created=None, day=None) -> np.ndarray:
    """A record is known at ``moment`` when created by then and its date-only day had ended."""
    ok = np.ones(len(moment), dtype=bool)
    m = moment.to_numpy()
    if created is not None:
        c = utc_naive(created).to_numpy()
        ok &= ~pd.isna(c) & (c <= m)
    if day is not None:
        d = pd.to_datetime(day).to_numpy()
        ok &= ~pd.isna(d) & (d + np.timedelta64(1, "D") <= m)
    return ok | pd.isna(m)  # no moment: no time cut


def _rows_of(lead_ids: pd.Series, keys: pd.Series) -> np.ndarray:
    """Row of each key among ``lead_ids`` (-1: not a lead here; a repeated id: its first row), by an
    Arrow hash lookup (no string merge)."""
    return index_in(keys, lead_ids)


def _count(rows: np.ndarray, n: int, weights=None) -> np.ndarray:
    return np.bincount(rows, weights=weights, minlength=n).astype(float)


def _engagement(lead_ids: pd.Series, moments: pd.Series, activities, members) -> pd.DataFrame:
    n = len(lead_ids)
    out = pd.DataFrame(index=range(n))
    m = moments.reset_index(drop=True)
    m_np = m.to_numpy()
    if activities is not None:
        if "who_id" not in activities:
            raise ScoringDataError("activities", "who_id", "column_missing", "links an activity to its lead")
        rows = _rows_of(lead_ids, activities["who_id"])
        a = activities[rows >= 0]
        rows = rows[rows >= 0]
        ok = _known(pd.Series(m_np[rows]), a.get("created_date"), a.get("activity_date"))
        a, rows = a[ok], rows[ok]
        kind = a["type"].astype("str").str.casefold().to_numpy() if "type" in a else np.full(len(a), "")
        out["activities_n"] = _count(rows, n)
        out["calls_n"] = _count(rows, n, (kind == "call").astype(float))
        out["emails_n"] = _count(rows, n, (kind == "email").astype(float))
        if "activity_date" in a:
            when = (pd.to_datetime(a["activity_date"]) + pd.Timedelta(days=1)).astype("datetime64[ns]")
            last = pd.Series(when.to_numpy()).groupby(rows).max().reindex(range(n))
            out["days_since_activity"] = (m.astype("datetime64[ns]") - last).dt.total_seconds() / 86400
    if members is not None and "lead_id" in members:
        rows = _rows_of(lead_ids, members["lead_id"])
        mm = members[rows >= 0]
        rows = rows[rows >= 0]
        ok = _known(pd.Series(m_np[rows]), mm.get("created_date"))
        mm, rows = mm[ok], rows[ok]
        out["campaigns_n"] = _count(rows, n)
        if "first_responded_date" in mm:
            resp = _known(pd.Series(m_np[rows]), None, mm["first_responded_date"])
            out["campaign_responses_n"] = _count(rows[resp], n)
    return out


def _as_numeric(s: pd.Series):
    """A text column that is really numbers (>= 95 % of its filled values parse) as float, else None."""
    if pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    codes, uniques = pd.factorize(s, use_na_sentinel=True)  # parse each distinct text once
    filled = int((codes >= 0).sum())
    if not filled:
        return None
    num = pd.to_numeric(pd.Series(uniques, dtype="object"), errors="coerce").to_numpy(dtype="float64")
    parsed = np.where(codes >= 0, num[np.maximum(codes, 0)], np.nan)
    return pd.Series(parsed, index=s.index, dtype="float64") if (~np.isnan(parsed)).sum() >= 0.95 * filled else None


def lead_features(
    leads: pd.DataFrame, *, activities=None, campaign_members=None, moments=None, columns=None, present=None
) -> pd.DataFrame:
    """One row per lead: ``lead_id`` and its features at its scoring moment.

    Parameters
    ----------
    leads : DataFrame
        Canonical leads (``lead_id`` required).
    activities, campaign_members : DataFrame, optional
        Canonical activities and campaign members; engagement features are counted from them.
    moments : Series, optional
        Scoring moment per lead (aligned with ``leads``), see :func:`scoring_moments`;
        default: each lead's creation time (no time cut for leads without one).
    columns : list of str, optional
        Lead fields to use; default: every field present except rule-excluded ones,
        identifiers, free text, dates and constant columns.
    present : list of str, optional
        The columns the source really had (``crm.meta["columns_present"]["leads"]``),
        so that columns the loader added empty are not used.

    Returns
    -------
    DataFrame
        ``lead_id``, numeric features as float, categorical ones as object.

    Raises
    ------
    ScoringDataError
        When ``lead_id`` or a requested column is missing.
    """
    if "lead_id" not in leads:
        raise ScoringDataError("leads", "lead_id", "column_missing", "every lead needs an id")
    if moments is None:
        moments = (
            utc_naive(leads["created_date"]).set_axis(leads.index)
            if "created_date" in leads
            else pd.Series(pd.NaT, index=leads.index, dtype="datetime64[us]")
        )
    if columns is None:
        pool = [c for c in (present if present is not None else leads.columns) if c in leads]
        columns = [
            c
            for c in pool
            if c not in RULE_EXCLUDED
            and c not in IDENTIFIER_COLUMNS
            and not pd.api.types.is_datetime64_any_dtype(leads[c])
            and leads[c].nunique() > 1
            and (
                c == ORDER_COLUMN  # unique per lead, yet a clock, not an identity
                or not (leads[c].nunique() == leads[c].notna().sum() == len(leads) and len(leads) > 50)
            )
        ]
    missing = [c for c in columns if c not in leads]
    if missing:
        raise ScoringDataError("leads", missing[0], "feature_missing", "is a feature the model needs")
    out = pd.DataFrame({"lead_id": leads["lead_id"].to_numpy()})
    for c in columns:
        num = _as_numeric(leads[c])
        out[c] = (
            num.to_numpy() if num is not None else leads[c].astype("object").where(leads[c].notna(), np.nan).to_numpy()
        )
    if "title" in leads:
        out["title_seniority"] = title_seniority(leads["title"]).to_numpy()
    for c in ("email", "phone", "website"):
        if c in leads and (present is None or c in present):
            out[f"has_{c}"] = leads[c].notna().to_numpy(dtype=float)
    eng = _engagement(leads["lead_id"], moments.reset_index(drop=True), activities, campaign_members)
    for c in eng.columns:
        out[c] = eng[c].to_numpy()
    return out


#: Tables a scoring cut leaves out: scoring reads no opportunity, and rebuilding their state from the
#: history is most of the time of a cut on a big org.
_NOT_SCORING = ("opportunities", "opportunity_history")


def scoring_cut(crm, *, as_of) -> CrmData:
    """``crm.as_of(as_of)`` without the opportunities and their history, which scoring does not read.

    Rebuilding every opportunity's state from its history is most of the time of a cut on a big
    org; the leads, activities, campaign members and the tables a ``where`` may reference (users,
    accounts, campaigns, ...) are cut as usual.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp or str
        The day of the cut.

    Returns
    -------
    CrmData
        The cut, without opportunities.
    """
    keep = {k: v for k, v in crm.tables.items() if k not in _NOT_SCORING}
    parts = (crm.quarantine, crm.flags, crm.quarantined_rows, crm.report, crm.meta)
    # one light org per org (kept in it), so that its memoised cuts serve the training and the scoring
    # alike; a new one when a table or part of the org is another object
    kept = crm.__dict__.get("_scoring_light")
    if kept is not None and _same_objects(kept[0], (*keep.items(), *parts)):
        return kept[1].as_of(as_of)
    light = type(crm)(
        tables=keep,
        quarantine=crm.quarantine,
        flags=crm.flags,
        quarantined_rows=crm.quarantined_rows,
        report=crm.report,
        meta=crm.meta,
    )
    crm.__dict__["_scoring_light"] = ((*keep.items(), *parts), light)
    return light.as_of(as_of)


def _same_objects(a: tuple, b: tuple) -> bool:
    """Whether two tuples hold the very same objects (table names compared by value)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, tuple) and isinstance(y, tuple):
            if x[0] != y[0] or x[1] is not y[1]:
                return False
        elif x is not y:
            return False
    return True


def _engine(crm):
    """The org's engine (:func:`~funnel_analysis.engine.attach.engine_of`) when it holds the leads, else None."""
    from ..engine.attach import engine_of

    org = engine_of(crm)
    return org if org is not None and org.has("leads") else None


def _present(crm, org) -> list[str]:
    """The leads' columns in the source (``columns_present``; else those of the frame or the relation)."""
    known = crm.meta.get("columns_present", {})
    if "leads" in known:
        return list(known["leads"])
    if org is not None:
        return [c for c in org.columns("leads") if c != "row_no"]
    return list(crm.leads.columns)


def _latest_created(crm, org, present) -> pd.Timestamp | None:
    """The latest creation time of a lead (naive UTC), None without dated leads (no time cut)."""
    if "created_date" not in present:
        return None
    if org is None:
        created = crm.leads["created_date"]
        return utc_naive(created).max() if created.notna().any() else None
    latest = org.engine.sql(f"SELECT max(created_date) AS t FROM {org.relation('leads')}").to_pandas()["t"]
    return utc_naive(latest).iloc[0] if latest.notna().any() else None


def _table_on_day(crm, org, table: str, end: pd.Timestamp, *, rows: bool) -> pd.DataFrame | None:
    """A table a ``where`` may read, as the day's cut holds it (rows created by ``end``; None: not in the
    org); without ``rows``, its columns only (what the expression's check and suggestions read)."""
    spec = TABLES.get(table)
    col = spec.created_column if spec else None
    dated = col is not None and col in crm.meta.get("columns_present", {}).get(table, [])
    if table in crm.tables:
        df = crm.tables[table]
        if not rows:
            return df.iloc[:0]
        return df[(df[col] < end).fillna(False).to_numpy(dtype=bool)].reset_index(drop=True) if dated else df
    if org is None or not org.has(table):
        return None
    # in the engine only (an engine-only org's accounts, contacts): its rows of the day, bound by value
    if not rows:
        return org.engine.sql(f"SELECT * FROM {org.relation(table)} LIMIT 0").to_pandas()
    if dated:
        query = f"SELECT * FROM {org.relation(table)} WHERE {_qi(col)} < $cut_end"
        return org.engine.sql(query, {"cut_end": end.to_pydatetime()}).to_pandas()
    return org.engine.sql(f"SELECT * FROM {org.relation(table)}").to_pandas()


def _selected(crm, org, leads: pd.DataFrame, where, day: pd.Timestamp) -> pd.DataFrame:
    """The leads of the day that ``where`` selects, read as ``cut.rows("leads", where=where)`` reads it:
    over the leads as of the day and the related records of the day's scoring cut (the tables it
    names with their rows, the others' columns for the check's messages)."""
    if where is None or (isinstance(where, str) and not where.strip()):
        return leads
    expr = parse_expression(where)
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC")
    named = set()
    for ref in TABLES["leads"].references:
        if ref.column.removesuffix("_id") in expr.relations:
            named |= {"users", "groups"} if ref.column == "owner_id" else {ref.table}
    tables = {"leads": leads}
    for table in ("users", "groups", *(r.table for r in TABLES["leads"].references)):
        if table not in tables and table not in _NOT_SCORING:
            got = _table_on_day(crm, org, table, end, rows=table in named)
            if got is not None:
                tables[table] = got
    mask = expression_mask(tables, "leads", where=where)  # the text: its errors point into it
    return leads[mask.to_numpy(dtype=bool)].reset_index(drop=True)


def _day_leads(crm, org, *, as_of, where):
    """The leads of the day's cut that ``where`` selects, and the day's activities and campaign members
    (None in the engine, or when the org lacks them)."""
    if org is None:
        cut = scoring_cut(crm, as_of=as_of)
        return (
            cut.rows("leads", where=where),
            cut.activities if cut.has("activities") else None,
            cut.campaign_members if cut.has("campaign_members") else None,
        )
    from ..engine.features import leads_on_day

    day = to_day(as_of, "scoring")
    return _selected(crm, org, leads_on_day(org, as_of=day), where, day), None, None


def _forget_day(crm) -> None:
    """Let go of the day's leads and engagement the org's engine keeps between a report's training table and
    its scoring (:func:`~funnel_analysis.engine.features.forget_days`); nothing without an engine."""
    org = _engine(crm)
    if org is not None:
        from ..engine.features import forget_days

        forget_days(org)


def _with_engagement(feats: pd.DataFrame, org, *, as_of, delay_days: float) -> pd.DataFrame:
    """``feats`` (lead_features without activities) with the engagement columns counted in the engine,
    in ``lead_features``' order, each lead's row found by its id."""
    from ..engine.features import lead_engagement

    eng = lead_engagement(org, as_of=as_of, delay_days=delay_days)
    rows = _rows_of(eng["lead_id"], feats["lead_id"])
    if (rows < 0).any():
        raise ScoringDataError("leads", "lead_id", "engine_mismatch", "a lead of the cut has no engagement row")
    out = feats.copy()
    for c in eng.columns:
        if c not in ("lead_id", "scored_at"):
            out[c] = eng[c].to_numpy()[rows]
    return out


def training_table(
    crm, *, as_of=None, where: str | None = None, window_days: int = 90, delay_days: float = 0, columns=None
) -> pd.DataFrame:
    """Labelled leads of an org: ``lead_id``, ``scored_at``, ``converted`` (0/1) and the features.

    ``converted`` is 1 when the lead converted within ``window_days`` of its creation.
    With creation dates, only leads created at least ``window_days`` before ``as_of``
    are kept (default as-of: the latest creation date), and leads converted
    before their scoring moment are left out. Without dates, every lead is kept
    and ``converted`` is ``is_converted``.

    An org with an engine (``load_org(..., engine="duckdb")``, ``engine_only=True`` included) builds
    the table there: the leads of the day come from the engine in file order
    (:func:`~funnel_analysis.engine.features.leads_on_day`) and their engagement is counted in it
    (:func:`~funnel_analysis.engine.features.lead_engagement`); only one row per lead reaches pandas,
    and the table is the one the pandas path gives.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp or str, optional
        The training date; ``None`` or ``""``: the latest creation date of a lead.
    where : str, optional
        Which leads: an expression of :mod:`funnel_analysis.crm.expression` over the leads as of
        ``as_of`` (``"owner.region == 'EMEA'"``); ``None`` or ``""`` for all.
    window_days : int
        A lead counts as converted when it converted within this many days of its creation.
    delay_days : float
        Leads are scored this many days after creation (see :func:`scoring_moments`).
    columns : list of str, optional
        Lead fields to use (see :func:`lead_features`).

    Returns
    -------
    DataFrame
        One row per labelled lead, index reset.

    Raises
    ------
    ScoringDataError
        When the leads lack ``is_converted``.
    ExpressionError
        When ``where`` is not a valid expression over the leads.
    """
    org = _engine(crm)
    present = _present(crm, org)
    if "is_converted" not in present:
        raise ScoringDataError("leads", "is_converted", "column_missing", "the outcome to learn from is missing")
    latest = _latest_created(crm, org, present)
    if as_of is not None and isinstance(as_of, str) and not as_of.strip():
        as_of = None
    if latest is not None:
        as_of = pd.Timestamp(as_of).normalize() if as_of is not None else latest.normalize()
        leads, acts, members = _day_leads(crm, org, as_of=as_of, where=where)
        created = utc_naive(leads["created_date"]).set_axis(leads.index)
        moments = scoring_moments(leads, delay_days=delay_days, as_of=as_of)
        conv_day = pd.to_datetime(leads["converted_date"])
        conv = leads["is_converted"].fillna(False).astype(bool)
        y = conv & (conv_day.isna() | (conv_day <= created.dt.normalize() + pd.Timedelta(days=window_days)))
        known_before = conv & (conv_day + pd.Timedelta(days=1) <= moments)
        keep = (created.notna() & (created <= as_of - pd.Timedelta(days=window_days)) & ~known_before).to_numpy()
    else:
        org = None  # no time cut: the leads as exported (an org without dates has no engine path)
        leads = crm.rows("leads", where=where)
        moments = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[us]")
        y = leads["is_converted"]
        keep = y.notna().to_numpy()
        acts = members = None
    feats = lead_features(
        leads, activities=acts, campaign_members=members, moments=moments, columns=columns, present=present
    )
    if org is not None:
        feats = _with_engagement(feats, org, as_of=as_of, delay_days=delay_days)
    feats.insert(1, "scored_at", moments.to_numpy())
    feats.insert(2, "converted", y.fillna(False).astype(int).to_numpy())
    return feats[keep].reset_index(drop=True)


def source_names(crm, *, table: str = "leads") -> Mapping[str, str]:
    """Canonical column -> the header it had in the source file(s) (for reports in the user's words).

    Columns with no source header (derived ones) are not listed: callers keep their canonical name.

    Parameters
    ----------
    crm : CrmData
        The org, loaded from files (an org with no source files gives an empty mapping).
    table : str
        The canonical table.

    Returns
    -------
    Mapping[str, str]
        Canonical column name -> the source file's header.
    """
    from pathlib import Path

    from ..crm.mapping import load_mapping
    from ..crm.read import canonical_columns

    out: dict[str, str] = {}
    source = crm.meta.get("source")
    files = crm.report.tables.get(table, {}).get("files", []) if crm.report else []
    rename = None
    if crm.meta.get("mapping"):
        try:
            m = load_mapping(crm.meta["mapping"])
            rename = m.tables[table].columns if table in m.tables else None
        except Exception:  # a mapping given as an object or moved file: fall back to canonical names
            rename = None
    for name in files:
        path = Path(str(source)) / name
        if not path.exists():
            continue
        cols = list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
        canon = canonical_columns(pd.DataFrame(columns=cols), table, rename).columns
        out.update({c: s for c, s in zip(canon, cols) if c not in out})
    return out
