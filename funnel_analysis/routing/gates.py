"""Stage gates: did deals meet a stage's entry criteria when they entered it (or skipped over it)?

Rules
-----
- **Entering a stage.** From the stage history (``opportunity_history``, ordered by time then Id): a deal enters
  the stage of its first row at creation, and each later row's stage when it differs from the one before. A move
  forward from a stage to a later one (the org's stage order) also **skips over** every stage between them, which
  it must have met too: a gate cannot be avoided by jumping it. A deal created in a later stage skips every
  stage before it, and so does a deal reopened from a closed stage (it starts again). A move to a lost stage
  (closed, not won) skips nothing, nor does a move backwards between open stages.
- **Values at entry.** A criterion is judged on the deal's values at the instant of entry: ``amount``,
  ``close_date`` and ``probability`` from the stage-history row itself (Salesforce writes them there); any other
  field from ``opportunity_field_history``: the new value of the last change at or before the entry; else, when the
  entry came after the field history starts (its earliest row of any field: fields are switched on together;
  every change since is recorded), the old value of the deal's first
  later change, or with no change its current value. An entry before the field history starts, with no change
  before it, or of a field with no row at all, is **unknown** (changes may not have been recorded). A value known to
  be empty fails its criterion. A value filled in after the deal
  closed therefore never makes an earlier entry compliant. Related fields (``owner.region``) are read as they are
  now.
- ``compliant`` is true when every criterion of the stage holds, false when one fails, unknown (``<NA>``) when
  none fails but one is unknown.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> audit = stage_gate_audit(crm, rules_file="data/examples/routing_rules.yaml")  # doctest: +SKIP
>>> stage_gate_win_rates(audit)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..crm import cut_as_of, field_changes
from ..crm.expression import expression_values
from ..stats import rate_table
from ._fast import isin
from .rules import RoutingRules, _typed, resolve_rules

__all__ = ["stage_gate_audit", "stage_gate_win_rates", "stage_gates", "GATE_COLUMNS"]

#: The columns of :func:`stage_gate_audit`, in order.
GATE_COLUMNS = [
    "opportunity_id",
    "stage",
    "entered_at",
    "entered_by",
    "owner_id",
    "compliant",
    "failed",
    "unknown",
    "is_closed",
    "is_won",
]
_ON_HISTORY = ("amount", "close_date", "probability", "stage_name", "forecast_category")


def _utc(values) -> pd.Series:
    s = pd.Series(values)
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, utc=True)
    return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _uniform(values: pd.Series) -> pd.Series:
    """Values of mixed origin (typed current values, text history values) as one type where they allow it."""
    v = pd.Series(values.to_numpy(dtype=object))
    known = v[v.notna()]
    words = {"true": True, "false": False}
    if len(known) and all(
        isinstance(x, (bool, np.bool_)) or (isinstance(x, str) and x.strip().lower() in words) for x in known
    ):
        return v.map(
            lambda x: x if x is None or isinstance(x, (bool, np.bool_)) or pd.isna(x) else words[x.strip().lower()]
        ).astype("boolean")
    if len(known) and all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool) for x in known):
        return v.astype("float64")
    typed = _typed(v.where(v.notna(), None))
    return v if typed is None else typed


def _entries(cut, gated: list[str]) -> pd.DataFrame:
    """(opportunity_id, stage, entered_at, entered_by, history row values) per gated stage entered."""
    h = cut.opportunity_history
    stages = cut.stages.sort_values("sort_order", kind="stable")
    rank = dict(zip(stages["stage_name"], range(len(stages)), strict=True))
    is_closed = stages["is_closed"].astype(bool)
    lost = set(stages.loc[is_closed & ~stages["is_won"].astype(bool), "stage_name"])
    closed = set(stages.loc[is_closed, "stage_name"])
    order = list(stages["stage_name"])
    if not len(h):
        return pd.DataFrame(columns=["opportunity_id", "stage", "entered_at", "entered_by", "_row"])
    h = h.sort_values(["opportunity_id", "created_date", "history_id"], kind="stable").reset_index(drop=True)
    prev = h.groupby("opportunity_id")["stage_name"].shift(1)
    first = prev.isna() & ~h["opportunity_id"].duplicated()
    moved = first | (h["stage_name"] != prev).fillna(False)
    rows = []
    gated_set = set(gated)
    # plain arrays: a pandas scalar lookup per history row cost most of the audit
    stage_of, prev_of, first_of = h["stage_name"].to_numpy(dtype=object), prev.to_numpy(dtype=object), first.to_numpy()
    for i in np.flatnonzero(moved.to_numpy(dtype=bool)).tolist():
        stage = stage_of[i]
        if stage in gated_set:
            rows.append((i, stage, "creation" if first_of[i] else "change"))
        if stage in lost:
            continue
        # created past a gate, or reopened (from a closed stage) past it: the deal starts before every stage
        a = -1 if first_of[i] or prev_of[i] in closed else rank.get(prev_of[i])
        b = rank.get(stage)
        if a is None or b is None or b <= a + 1:
            continue
        for s in order[a + 1 : b]:
            if s in gated_set:
                rows.append((i, s, "skip"))
    out = pd.DataFrame(rows, columns=["_row", "stage", "entered_by"])
    out["opportunity_id"] = h["opportunity_id"].take(out["_row"]).to_numpy()
    out["entered_at"] = _utc(h["created_date"].take(out["_row"]).reset_index(drop=True)).to_numpy()
    return out


def _value_at(cut, column: str, ids: pd.Series, at: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """A field's value at each instant from its field history, and where it is known."""
    opps = cut.opportunities.drop_duplicates("opportunity_id").set_index("opportunity_id")
    unknown = (pd.Series([None] * len(ids), dtype=object), np.zeros(len(ids), dtype=bool))
    if not cut.has("opportunity_field_history") or column not in opps.columns:
        return unknown
    try:
        ch = field_changes(cut, table="opportunity_field_history", field=column)
    except ValueError:
        return unknown
    if not len(ch):
        return unknown
    # tracking began with the table's earliest row (fields are switched on together in one setup page); a field
    # with no row at all is untracked (returned above)
    start = _utc(cut.opportunity_field_history["created_date"]).min()
    ch = ch.sort_values(["opportunity_id", "created_date", "field_history_id"], kind="stable")
    q = pd.DataFrame({"opportunity_id": ids.to_numpy(), "at": _utc(at.reset_index(drop=True)), "_pos": range(len(ids))})
    before = (
        pd.merge_asof(
            q.sort_values("at"),
            ch[["opportunity_id", "created_date", "new_value"]]
            .assign(created_date=lambda d: _utc(d["created_date"]))
            .sort_values("created_date", kind="stable"),
            left_on="at",
            right_on="created_date",
            by="opportunity_id",
            direction="backward",
        )
        .set_index("_pos")
        .sort_index()
    )
    firsts = ch.drop_duplicates("opportunity_id").set_index("opportunity_id")
    value = before["new_value"].astype(object)
    known = before["created_date"].notna().to_numpy()
    later = ~known & isin(q["opportunity_id"], firsts.index)
    value[later] = q.loc[later, "opportunity_id"].map(firsts["old_value"]).to_numpy()
    tracked = (q["at"] >= _utc(pd.Series([start]))[0]).fillna(False).to_numpy()  # the entry after tracking began
    later = later & tracked
    known = known | later
    quiet = ~known & ~isin(q["opportunity_id"], firsts.index) & tracked
    value[quiet] = q.loc[quiet, "opportunity_id"].map(opps[column]).to_numpy()
    known = known | quiet
    value[~known] = None
    return value.reset_index(drop=True), known


def stage_gate_audit(
    crm, *, rules: RoutingRules | None = None, rules_file=None, as_of=None, where=None
) -> pd.DataFrame:
    """Per deal and gated stage it entered (or skipped over): compliant, failed or unknown (see the module rules).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    rules : RoutingRules, optional
        Its ``stage_criteria`` (checked against the org's opportunities first).
    rules_file : str or Path, optional
        The rules file instead (exactly one of the two).
    as_of : date-like, optional
        The day seen (its end); None or ``""``: the latest date in the data.
    where : str, optional
        Only the opportunities this expression selects (as they stand on the day).

    Returns
    -------
    DataFrame
        Columns :data:`GATE_COLUMNS`: ``entered_by`` is ``"creation"``, ``"change"`` or ``"skip"``; ``compliant``
        nullable boolean; ``failed`` / ``unknown`` the criteria (text) that failed or could not be judged, joined by
        ``"; "``; ``is_closed`` / ``is_won`` the deal's state on the day. Ordered by deal and entry time.
    """
    rules = resolve_rules(rules, rules_file)
    cut = cut_as_of(crm, as_of=as_of)
    rules.check(cut)
    gated = list(rules.stages())
    e = _entries(cut, gated)
    h = cut.opportunity_history.sort_values(["opportunity_id", "created_date", "history_id"], kind="stable")
    h = h.reset_index(drop=True)
    opps = cut.opportunities.drop_duplicates("opportunity_id").set_index("opportunity_id")
    n = len(e)
    needed = sorted({c for crit in rules.stage_criteria for c in crit.criteria.columns if "." not in c})
    frame = pd.DataFrame({"opportunity_id": e["opportunity_id"].to_numpy() if n else []})
    known: dict[str, np.ndarray] = {}
    for c in needed:
        if c in _ON_HISTORY and c in h.columns:
            frame[c] = h[c].take(e["_row"]).to_numpy() if n else []
            known[c] = np.ones(n, dtype=bool)
        else:
            v, k = (
                _value_at(cut, c, e["opportunity_id"], e["entered_at"])
                if n
                else (pd.Series([], dtype=object), np.zeros(0, bool))
            )
            frame[c] = v.to_numpy()
            known[c] = k
        frame[c] = _uniform(frame[c]).to_numpy()
    related = {t: df for t, df in cut.tables.items() if t != "opportunities"}
    # related fields (owner.region) through the deal's current references
    for col in ("owner_id", "account_id", "campaign_id"):
        if col in opps.columns and n:
            frame[col] = e["opportunity_id"].map(opps[col]).to_numpy()
    results, failed, unknown = [], [[] for _ in range(n)], [[] for _ in range(n)]
    for crit in rules.stage_criteria:
        rows = (e["stage"] == crit.stage).to_numpy(dtype=bool) if n else np.zeros(0, bool)
        if not rows.any():
            continue
        val = expression_values(
            {**related, "opportunities": frame}, "opportunities", where=crit.criteria, label=crit.label
        )
        cols = [c for c in crit.criteria.columns if "." not in c]
        unk = np.zeros(n, dtype=bool)
        for c in cols:
            unk |= ~known.get(c, np.ones(n, dtype=bool))
        # a value known to be empty fails its criterion (next_step is null: the gate is not met), only an
        # unknown value leaves it unknown
        met = val.astype("boolean").fillna(False).to_numpy(dtype=bool)
        text = str(crit.criteria)
        for i in np.flatnonzero(rows & unk).tolist():
            unknown[i].append(text)
        for i in np.flatnonzero(rows & ~unk & ~met).tolist():
            failed[i].append(text)
        results.append(crit)
    has_failed = np.array([bool(f) for f in failed], dtype=bool)
    has_unknown = np.array([bool(u) for u in unknown], dtype=bool)
    # False on a failed criterion, else missing on an unknown one, else True
    compliant = pd.arrays.BooleanArray(~has_failed, ~has_failed & has_unknown)
    out = pd.DataFrame(
        {
            "opportunity_id": e["opportunity_id"].to_numpy() if n else [],
            "stage": e["stage"].to_numpy() if n else [],
            "entered_at": _utc(e["entered_at"]).to_numpy() if n else pd.Series([], dtype="datetime64[us, UTC]"),
            "entered_by": e["entered_by"].to_numpy() if n else [],
            "owner_id": e["opportunity_id"].map(opps["owner_id"]).to_numpy() if n and "owner_id" in opps else None,
            "compliant": compliant,
            "failed": ["; ".join(f) for f in failed],
            "unknown": ["; ".join(u) for u in unknown],
            "is_closed": e["opportunity_id"].map(opps["is_closed"]).astype("boolean").to_numpy() if n else [],
            "is_won": e["opportunity_id"].map(opps["is_won"]).astype("boolean").to_numpy() if n else [],
        }
    )
    if where is not None and str(where).strip():
        keep = cut.rows("opportunities", where=where)["opportunity_id"]
        out = out[isin(out["opportunity_id"], keep)]
    return out.sort_values(["opportunity_id", "entered_at"], kind="stable").reset_index(drop=True)[GATE_COLUMNS]


def stage_gate_win_rates(audit: pd.DataFrame, *, by="stage", confidence: float = 0.95) -> pd.DataFrame:
    """Win rate of the closed deals that entered a gated stage compliant, against those that did not.

    Parameters
    ----------
    audit : DataFrame
        From :func:`stage_gate_audit`.
    by : str or list of str, default "stage"
        The breakdown besides ``compliant`` (``["stage", "owner_id"]``).
    confidence : float, default 0.95
        Of the Wilson intervals.

    Returns
    -------
    DataFrame
        Per ``by`` and ``compliant`` (``True``, ``False``, ``"unknown"``): ``deals`` (entries), ``closed``,
        ``won``, ``win_rate`` (+ ``_ci_low``, ``_ci_high``).

    Examples
    --------
    >>> audit = pd.DataFrame({"stage": ["S"] * 4, "compliant": pd.array([True, True, False, None], dtype="boolean"),
    ...     "is_closed": [True, True, True, False], "is_won": [True, False, False, False]})
    >>> stage_gate_win_rates(audit)[["stage", "compliant", "closed", "won", "win_rate"]].values.tolist()
    [['S', 'False', 1, 0, 0.0], ['S', 'True', 2, 1, 0.5], ['S', 'unknown', 0, 0, nan]]
    """
    keys = [by] if isinstance(by, str) else list(by)
    a = audit.assign(
        compliant=audit["compliant"].astype("object").where(audit["compliant"].notna(), "unknown").astype(str),
        _deal=1,
        _closed=audit["is_closed"].fillna(False).astype(bool).astype(int),
        _won=(audit["is_closed"].fillna(False).astype(bool) & audit["is_won"].fillna(False).astype(bool)).astype(int),
    )
    g = a.groupby([*keys, "compliant"], sort=True).agg(
        deals=("_deal", "sum"), closed=("_closed", "sum"), won=("_won", "sum")
    )
    g = g.reset_index().astype({"deals": "int64", "closed": "int64", "won": "int64"})
    return rate_table(g, successes="won", trials="closed", name="win_rate", confidence=confidence)


def stage_gates(crm, *, data_dir="", rules_file: str = "", as_of=None, where=None) -> pd.DataFrame:
    """The stage gates' win rates for a report on any org: :func:`stage_gate_win_rates` of
    :func:`stage_gate_audit` under the org's rules, or one line saying the org has none.

    The velocity report shows the gates beside the stage durations. An org without routing rules,
    or whose rules set no ``stage_criteria``, is not an error there: the section says so in one line
    (the result is empty and marked missing, :func:`funnel_analysis._util.missing.mark_missing`). A rules
    file that exists but is wrong is still one clear error.

    Parameters
    ----------
    crm : CrmData
        The org.
    data_dir : str or Path, default ""
        The folder the org was read from, where its rules are looked for
        (:func:`~funnel_analysis.routing.rules.org_rules_file`).
    rules_file : str, default ""
        The rules (YAML); empty to look beside the data.
    as_of : date, Timestamp or str, optional
        The day of the cut; ``None`` or ``""``: the latest date in the data.
    where : str, optional
        Only the deals this expression selects.

    Returns
    -------
    DataFrame
        Per stage and ``compliant``: deals, closed, won, ``win_rate`` with its interval; empty and
        marked missing when the org has no stage criteria.

    Raises
    ------
    RulesError
        When the rules file cannot be read or names a field the org lacks.

    Examples
    --------
    >>> import funnel_analysis as fa  # doctest: +SKIP
    >>> stage_gates(fa.load_org("data/sample"), data_dir="data/sample")  # doctest: +SKIP
    """
    from .._util.missing import mark_missing
    from .rules import RulesError, load_rules, org_rules_file

    empty = pd.DataFrame(columns=["stage", "compliant", "deals", "closed", "won", "win_rate"])
    try:
        path = org_rules_file(data_dir, rules_file=rules_file, crm=crm)
    except RulesError:
        return mark_missing(empty, "the org has no routing rules file with stage criteria (set rules_file)")
    if "opportunities" in crm.meta.get("engine_only", ()) and not crm.meta.get("parquet_cache"):
        # the audit reads each deal's fields at each stage entry in pandas (an org opened from a
        # Parquet cache reads them from it): the section says so, the report goes on (the other
        # sections of the page run in the engine)
        return mark_missing(
            empty,
            f"{path.name}: the stage gates read each deal's stage history in pandas, and this org is "
            "engine-only (open it without engine_only for this section)",
        )
    rules = load_rules(path, crm=crm)
    if not rules.stage_criteria:
        return mark_missing(empty, f"{path.name} sets no stage_criteria: no stage is gated")
    return stage_gate_win_rates(stage_gate_audit(crm, rules=rules, as_of=as_of, where=where))
