"""Owners over time, what counts as a touch, and each lead's first touch against the SLA.

Rules
-----
- **Owners.** A lead's owner at creation is the old value of its first ``Owner`` change in LeadHistory, then each
  change's new value from its time on (:func:`funnel_analysis.crm.field_changes`); without a change, its current
  owner. ``first_owner_source`` says which: ``history`` (changes, the lead created after the owner history starts),
  ``history_partial`` (changes, but the lead is older than the history: earlier changes may be lost), ``no_change``
  (created after the history starts, never changed) or ``current_owner`` (no owner history for it).
- **A touch** (:class:`~funnel_analysis.routing.rules.Touches`): a Task whose ``type`` or ``task_subtype`` is one of
  ``task_types`` (case-insensitive), or any Event when ``event`` is true; not one whose subtype is excluded or
  whose subject matches an excluded glob. Its time: a Task's ``completed_date_time`` when filled, else its
  ``created_date``; an Event's ``start_date_time``, else its ``created_date``; never the date-only ``activity_date``.
  A touch after the end of the day seen is not counted, nor one before the lead was created.
- **By whom** (``by: owner_or_team``): the activity's ``created_by_id`` is the lead's owner at the touch's time, or
  a member of a rules team that owner belongs to, or, when the owner is a queue, a member of the queue
  (GroupMember). An export without ``CreatedById`` uses the activity's ``owner_id`` instead (the note says so).
- **Team** of a lead: the team the rules send it to, or the (first) team of the user they send it to; none for a
  queue or a user in no team.
- **The SLA clock** starts at creation, or with ``sla.start: assignment`` at the first time a user owns the lead. A
  touch before the clock starts counts as 0 minutes (``touched_before_start``). Minutes are wall clock and business
  minutes of the calendar, in the time zone of the lead's first user owner (``TimeZoneSidKey``) when known. A lead
  is **breached** when its first touch came later than ``sla.first_touch_minutes`` (business minutes when
  ``sla.business_hours``) or never came while the target has passed by the end of the day seen; a lead not yet
  touched whose target has not passed is not judged (missing).

Examples
--------
>>> import pandas as pd
>>> acts = pd.DataFrame({"activity_id": ["a1", "a2", "a3"], "who_id": ["L1"] * 3,
...     "activity_kind": ["task", "task", "event"],
...     "type": ["Call", "Other", None], "task_subtype": ["Call", "Task", None], "subject": ["x", "y", "z"],
...     "created_date": pd.to_datetime(["2025-01-01 10:00"] * 3, utc=True),
...     "start_date_time": pd.to_datetime([None, None, "2025-01-02 09:00"], utc=True)})
>>> touch_candidates(acts)[["activity_id", "touched_at"]].astype(str).values.tolist()
[['a1', '2025-01-01 10:00:00+00:00'], ['a3', '2025-01-02 09:00:00+00:00']]
"""

from __future__ import annotations

import fnmatch

import numpy as np
import pandas as pd

from .._util.arrow import lookup
from ..crm import cut_as_of, field_changes
from ._fast import isin
from ._memo import memoised
from .assign import _routed_leads
from .calendar import business_minutes, org_calendar
from .rules import RoutingRules, Touches

__all__ = ["owner_timeline", "touch_candidates", "first_touches", "FIRST_TOUCH_COLUMNS"]

#: The columns of :func:`first_touches`, in order.
FIRST_TOUCH_COLUMNS = [
    "lead_id",
    "created_date",
    "first_owner_id",
    "first_owner_source",
    "first_user_owner_id",
    "clock_start",
    "first_touch_at",
    "touched_by",
    "touched_before_start",
    "minutes_to_touch",
    "business_minutes_to_touch",
    "sla_minutes",
    "breached",
    "time_zone",
    "team",
    "hour_of_week",
]


def _utc(values) -> pd.Series:
    s = pd.Series(values)
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, utc=True)
    return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def owner_timeline(crm) -> pd.DataFrame:
    """Each lead's owners over time, from its Owner history (see the module rules).

    Parameters
    ----------
    crm : CrmData
        The org or a cut of it.

    Returns
    -------
    DataFrame
        One row per (lead, owner stint): ``lead_id``, ``since`` (the lead's creation for the first stint, else the
        change's time), ``owner_id``, ``stint`` (0 for the owner at creation), ``first_owner_source`` (per lead, see
        the module rules). Ordered by lead and time.
    """
    return memoised(crm, "owner_timeline", None, lambda: _owner_timeline(crm))


def _owner_timeline(crm) -> pd.DataFrame:
    leads = crm.leads
    created = _utc(leads["created_date"]) if "created_date" in leads else pd.Series(pd.NaT, index=leads.index)
    base = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(dtype=object),
            "_created": created.array,
            "_owner": leads["owner_id"].to_numpy(dtype=object)
            if "owner_id" in leads
            else np.full(len(leads), None, dtype=object),
        }
    )
    ch = field_changes(crm, table="lead_history", field="Owner") if crm.has("lead_history") else None
    if ch is None or not len(ch):
        out = base.rename(columns={"_created": "since", "_owner": "owner_id"})
        return out.assign(stint=0, first_owner_source="current_owner")[
            ["lead_id", "since", "owner_id", "stint", "first_owner_source"]
        ]
    ch = ch[isin(ch["lead_id"], base["lead_id"])].sort_values(["lead_id", "created_date", "lead_history_id"])
    start = ch["created_date"].min()
    first = ch.drop_duplicates("lead_id")
    changed = isin(base["lead_id"], first["lead_id"])
    complete = (base["_created"] >= start).fillna(False).to_numpy()
    source = np.where(
        changed,
        np.where(complete, "history", "history_partial"),
        np.where(complete, "no_change", "current_owner"),
    )
    old = lookup(base["lead_id"], first, key="lead_id", columns=["old_value"])["old_value"]
    owner0 = np.where(changed, old.to_numpy(dtype=object), base["_owner"].to_numpy(dtype=object))
    stint0 = pd.DataFrame(
        {
            "lead_id": base["lead_id"],
            "since": base["_created"],
            "owner_id": owner0,
            "stint": 0,
            "first_owner_source": source,
        }
    )
    rest = pd.DataFrame(
        {
            "lead_id": ch["lead_id"].to_numpy(dtype=object),
            "since": _utc(ch["created_date"]).array,
            "owner_id": ch["new_value"].to_numpy(dtype=object),
        }
    )
    rest["stint"] = rest.groupby("lead_id").cumcount() + 1
    rest["first_owner_source"] = lookup(rest["lead_id"], stint0, key="lead_id", columns=["first_owner_source"])[
        "first_owner_source"
    ]
    out = pd.concat([stint0, rest], ignore_index=True)
    out["since"] = _utc(out["since"])
    return out.sort_values(["lead_id", "stint"], kind="stable").reset_index(drop=True)


def _fnmatch(text: pd.Series, pattern: str) -> np.ndarray:
    """Where each (lower-cased, Arrow) text matches the shell pattern, evaluated in Arrow's regex engine."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rx = fnmatch.translate(pattern)  # ends with Python's end-of-text anchor, which RE2 spells \z
    if rx.endswith("\\Z"):
        rx = rx[:-2] + "\\z"
    try:
        hit = pc.match_substring_regex(text.array._pa_array, pattern="^" + rx)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a pattern RE2 cannot read: Python's fnmatch, one by one
        return text.map(lambda s: fnmatch.fnmatchcase(s, pattern)).to_numpy(dtype=bool)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool)


def touch_candidates(activities: pd.DataFrame, *, touches: Touches | None = None) -> pd.DataFrame:
    """The activities that count as touches by their kind, type, subtype and subject (not yet by whom).

    Parameters
    ----------
    activities : DataFrame
        The ``activities`` table (Tasks and Events).
    touches : Touches, optional
        The definition; the defaults of :class:`~funnel_analysis.routing.rules.Touches` when None.

    Returns
    -------
    DataFrame
        ``activity_id``, ``lead_id`` (the ``who_id``), ``touched_at`` (see the module rules), ``created_by_id``
        (or the activity's ``owner_id`` without that column); rows without a time left out.
    """
    t = touches or Touches()
    a = activities
    n = len(a)

    def col(name):
        return a[name] if name in a.columns else pd.Series([None] * n, index=a.index, dtype=object)

    kind = col("activity_kind").astype("string").str.lower().fillna("task")
    typ = col("type").astype("string").str.strip().str.lower()
    sub = col("task_subtype").astype("string").str.strip().str.lower()
    types = list(t.task_types)
    is_event = (kind == "event").to_numpy(dtype=bool)
    ok_task = (typ.isin(types).fillna(False) | sub.isin(types).fillna(False)).to_numpy(dtype=bool)
    keep = np.where(is_event, bool(t.event), ok_task)
    if t.exclude_subtypes:
        keep &= ~sub.isin(list(t.exclude_subtypes)).fillna(False).to_numpy(dtype=bool)
    if t.exclude_subjects:
        subject = col("subject").astype("string[pyarrow]").str.lower().fillna("")
        for pattern in t.exclude_subjects:
            keep &= ~_fnmatch(subject, pattern.lower())
    created = _utc(col("created_date"))
    done = _utc(col("completed_date_time"))
    starts = _utc(col("start_date_time"))
    at = starts.where(pd.Series(is_event, index=a.index), done).fillna(created)
    by = a["created_by_id"] if "created_by_id" in a.columns else col("owner_id")
    out = pd.DataFrame(
        {
            "activity_id": col("activity_id").to_numpy(dtype=object),
            "lead_id": col("who_id").to_numpy(dtype=object),
            "touched_at": at.array,
            "created_by_id": by.to_numpy(dtype=object),
        }
    )[keep]
    out["touched_at"] = _utc(out["touched_at"])
    return out[out["touched_at"].notna() & out["lead_id"].notna()].reset_index(drop=True)


#: The columns of an activity that :func:`touch_candidates` reads.
_TOUCH_COLUMNS = (
    "activity_id",
    "who_id",
    "activity_kind",
    "type",
    "task_subtype",
    "subject",
    "created_date",
    "completed_date_time",
    "start_date_time",
    "created_by_id",
    "owner_id",
)


def _touch_candidates(cut, lead_ids: pd.Series, touches: Touches) -> tuple[pd.DataFrame | None, bool, int]:
    """:func:`touch_candidates` of the cut's activities (None without any), whether they name their author
    (``created_by_id``), and how many activities there were.

    An engine-only org reads only the activities on these leads from its cache, with the columns a touch
    reads, batch by batch, each reduced to its candidates as it comes (the same touches: the rest never
    matches a lead; at scale 50 the leads' activities alone are 1.2 GiB in pandas).
    """
    from ..engine.attach import cached_rows

    seen = []

    def candidates(activities: pd.DataFrame) -> pd.DataFrame:
        seen.append(("created_by_id" in activities.columns, len(activities)))
        return touch_candidates(activities, touches=touches)

    cand = cached_rows(cut, table="activities", columns=_TOUCH_COLUMNS, key="who_id", values=lead_ids, each=candidates)
    if cand is None:
        cand = candidates(cut.activities)
    count = sum(n for _, n in seen)
    return (cand if count else None), seen[0][0], count


def _mates(crm, rules: RoutingRules | None) -> pd.DataFrame:
    """(owner_id, created_by_id) pairs that may touch for the owner: team mates, queue members."""
    pairs = []
    if rules is not None:
        for name in rules.teams:
            m = rules.members(name)
            pairs += [(o, x) for o in m for x in m]
    gm = crm.tables.get("group_members")
    if gm is not None and len(gm):
        pairs += list(zip(gm["group_id"].astype(str), gm["user_or_group_id"].astype(str), strict=True))
    return pd.DataFrame(pairs, columns=["owner_id", "created_by_id"]).drop_duplicates()


def _cut(crm, as_of):
    """The org on the day; a cut already of that day is used as it is (cutting it again costs a second cut)."""
    day = getattr(crm, "as_of_date", None)
    if day is not None and as_of is not None and str(as_of).strip():
        if pd.Timestamp(as_of).normalize() == pd.Timestamp(day).normalize():
            return crm
    return cut_as_of(crm, as_of=as_of)


def first_touches(crm, *, rules: RoutingRules | None = None, as_of=None) -> pd.DataFrame:
    """Each lead's first touch, its clock start and the minutes between, against the SLA (see the module rules).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    rules : RoutingRules, optional
        The touch definition, the SLA, the teams and the calendar fallback; None: the default touches, no SLA, no
        teams (owner or queue members only).
    as_of : date-like, optional
        The day seen (its end); None or ``""``: the latest date in the data.

    Returns
    -------
    DataFrame
        One row per lead of the cut, columns :data:`FIRST_TOUCH_COLUMNS`. ``attrs["note"]`` says which calendar,
        which owner source and which touch author were used.
    """
    cut = _cut(crm, as_of)
    # the speed, SLA, effect and what-if sections ask for the same leads' first touches
    return memoised(cut, "first_touches", rules, lambda: _first_touches(cut, rules))


def _first_touches(cut, rules: RoutingRules | None) -> pd.DataFrame:
    end = pd.Timestamp(cut.as_of_date).tz_localize("UTC") + pd.Timedelta(days=1)
    touches = rules.touches if rules is not None else Touches()
    timeline = owner_timeline(cut)
    leads = cut.leads
    lead = pd.DataFrame(
        {"lead_id": leads["lead_id"].to_numpy(dtype=object), "created_date": _utc(leads["created_date"]).array}
    )
    first = lookup(
        lead["lead_id"], timeline[timeline["stint"] == 0], key="lead_id", columns=["owner_id", "first_owner_source"]
    )
    lead["first_owner_id"], lead["first_owner_source"] = first["owner_id"], first["first_owner_source"]
    users = timeline[timeline["owner_id"].astype("string").str.startswith("005").fillna(False)]
    users = lookup(lead["lead_id"], users.drop_duplicates("lead_id"), key="lead_id", columns=["owner_id", "since"])
    lead["first_user_owner_id"] = users["owner_id"]
    sla = rules.sla if rules is not None else None
    if sla is not None and sla.start == "assignment":
        lead["clock_start"] = _utc(users["since"]).fillna(pd.NaT)
        lead["clock_start"] = _utc(lead["clock_start"].where(lead["clock_start"].notna(), pd.NaT))
    else:
        lead["clock_start"] = _utc(lead["created_date"])
    cand, has_author, activities = _touch_candidates(cut, lead["lead_id"], touches)
    if cand is not None and len(cand):
        cand = cand.merge(lead[["lead_id", "created_date"]], on="lead_id")
        cand = cand[(cand["touched_at"] >= cand["created_date"]) & (cand["touched_at"] < end)]
        if touches.by == "owner_or_team" and len(cand):
            cand = cand.sort_values("touched_at", kind="stable")
            tl = timeline.dropna(subset=["since"]).sort_values("since", kind="stable")
            cand = pd.merge_asof(
                cand,
                tl[["lead_id", "since", "owner_id"]],
                left_on="touched_at",
                right_on="since",
                by="lead_id",
                direction="backward",
            )
            mates = _mates(cut, rules)
            cand = cand.merge(mates.assign(_mate=True), on=["owner_id", "created_by_id"], how="left")
            own = (cand["owner_id"].astype("string") == cand["created_by_id"].astype("string")).fillna(False)
            cand = cand[own.to_numpy(dtype=bool) | cand["_mate"].fillna(False).to_numpy(dtype=bool)]
        cand = cand.sort_values(["lead_id", "touched_at", "activity_id"], kind="stable").drop_duplicates("lead_id")
        ft = lookup(lead["lead_id"], cand, key="lead_id", columns=["touched_at", "created_by_id"])
        lead["first_touch_at"] = _utc(ft["touched_at"])
        lead["touched_by"] = ft["created_by_id"]
    else:
        lead["first_touch_at"] = _utc(pd.Series(pd.NaT, index=lead.index))
        lead["touched_by"] = None
    before = (lead["first_touch_at"] < lead["clock_start"]).fillna(False)
    lead["touched_before_start"] = before.to_numpy(dtype=bool)
    stop = lead["first_touch_at"].where(~before, lead["clock_start"])
    lead["minutes_to_touch"] = (stop - lead["clock_start"]) / pd.Timedelta(minutes=1)
    # business minutes, per time zone of the first user owner
    base_cal = org_calendar(cut, fallback=rules.calendar if rules is not None else None)
    zones = pd.Series(base_cal.time_zone, index=lead.index, dtype=object)
    u = cut.users if cut.has("users") else None
    if u is not None and "time_zone_sid_key" in u.columns and len(u):
        tz = u.drop_duplicates("owner_id").set_index("owner_id")["time_zone_sid_key"]
        zones = (
            lead["first_user_owner_id"]
            .map(tz)
            .where(lambda s: s.notna() & (s.astype(str).str.len() > 0), base_cal.time_zone)
        )
    lead["time_zone"] = zones.astype(str)
    bm = pd.Series(np.nan, index=lead.index)
    waited = pd.Series(np.nan, index=lead.index)  # business minutes from the clock start to the end (untouched)
    how = pd.Series(np.nan, index=lead.index)
    for zone, idx in lead.groupby("time_zone").groups.items():
        cal = base_cal if zone == base_cal.time_zone else base_cal.with_time_zone(zone)
        rows = lead.loc[idx]
        local = rows["created_date"].dt.tz_convert(zone)
        how.loc[idx] = (local.dt.day_of_week * 24 + local.dt.hour).to_numpy(dtype="float64")
        bm.loc[idx] = business_minutes(rows["clock_start"], stop.loc[idx], cal).to_numpy()
        waited.loc[idx] = business_minutes(
            rows["clock_start"], pd.Series(end, index=idx, dtype="datetime64[us, UTC]"), cal
        ).to_numpy()
    lead["business_minutes_to_touch"] = bm
    lead["hour_of_week"] = pd.array(how, dtype="Int64")
    lead["team"] = pd.Series([None] * len(lead), index=lead.index, dtype=object)
    if rules is not None and (rules.lead_assignment or rules.default_owner is not None):
        routed = _routed_leads(cut, rules)
        home = {m: t for t in reversed(list(rules.teams)) for m in rules.members(t)}
        team = np.where(
            routed["target_kind"] == "team",
            routed["target"],
            np.where(routed["target_kind"] == "user", routed["target"].map(home), None),
        )
        lead["team"] = pd.Series(team, index=lead.index, dtype=object).where(lambda x: pd.notna(x), None)
    target = sla.first_touch_minutes if sla is not None else None
    lead["sla_minutes"] = np.nan if target is None else float(target)
    if target is None:
        lead["breached"] = pd.array([pd.NA] * len(lead), dtype="boolean")
    else:
        use_bm = sla.business_hours
        took = lead["business_minutes_to_touch"] if use_bm else lead["minutes_to_touch"]
        so_far = waited if use_bm else (end - lead["clock_start"]) / pd.Timedelta(minutes=1)
        touched = lead["first_touch_at"].notna()
        breached = pd.Series(pd.NA, index=lead.index, dtype="boolean")
        breached[touched] = (took[touched] > target).to_numpy()
        late = ~touched & (so_far > target).fillna(False)
        breached[late] = True
        lead["breached"] = breached
    notes = [base_cal.note()]
    if not has_author and activities:
        notes.append("the activities have no CreatedById: the activity's owner stands in for who touched the lead")
    src = lead["first_owner_source"].value_counts()
    notes.append("first owners: " + ", ".join(f"{k} {v}" for k, v in src.items()))
    out = lead[FIRST_TOUCH_COLUMNS].reset_index(drop=True)
    out.attrs["note"] = "; ".join(notes)
    return out
