"""What the report sections of several subpackages ask of the org: the stage and lead status order, the
owners, the undated deals.

The funnel, sources and velocity reports (``funnel_analysis.funnel.report``, ``funnel_analysis.sources.report``,
``funnel_analysis.velocity.report``) share these:

- :func:`stage_order_unknown`: why the org's stage order is unknown (no stage table, and deals in
  stages Salesforce's default ones do not list), or None;
- :func:`stages_in_use`: the stages table, only the stages the deals use when the order is unknown;
- :func:`lead_status_order`: the org's lead statuses in order, and where the order came from
  (LeadStatus.csv, or Salesforce's default statuses, :data:`DEFAULT_LEAD_STATUSES`), the statuses
  the leads use that the table does not list appended and named;
- :func:`owners`: every owner with its name, a user or a queue; :func:`with_owner_names` adds the
  names to a table that shows owner IDs;
- :func:`dropped_undated`: the opportunities the as-of cut left out for having no creation date;
- :func:`add_counts`: a count column of one table added to another's, group by group;
- :func:`org_notes`: what the load and the analyses assumed about the org, one line each (the data
  quality report's last section and ``funnel check``).

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> from funnel_analysis.crm.sections import dropped_undated, stage_order_unknown
>>> opportunities = pd.DataFrame({
...     "Id": ["006A", "006B"], "StageName": ["Closed Won", "Closed Won"], "Amount": [1000, 500],
...     "CreatedDate": ["2024-01-02", ""], "CloseDate": ["2024-02-01", "2024-02-10"],
...     "IsClosed": [True, True], "IsWon": [True, True]})
>>> crm = load_frames({"Opportunity": opportunities})
>>> stage_order_unknown(crm.as_of("2024-06-30")) is None
True
>>> dropped_undated(crm, as_of="2024-06-30")["opportunity_id"].tolist()
['006B']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import by_list, flag, require
from .clean import fold_picklist
from .expression import owner_records
from .model import CrmData, cut_as_of

__all__ = [
    "org_notes",
    "stage_order_unknown",
    "stages_in_use",
    "lead_status_order",
    "fold_lead_status",
    "owners",
    "with_owner_names",
    "dropped_undated",
    "add_counts",
    "DEFAULT_LEAD_STATUSES",
    "LEAD_STATUS_ORIGINS",
    "OWNER_COLUMNS",
]

#: Salesforce's standard LeadStatus picklist: the lead status order of an org without LeadStatus.csv.
DEFAULT_LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
#: Where a row of :func:`lead_status_order` comes from: the org's LeadStatus table, Salesforce's default
#: statuses (the org has none), or the leads (a status the table does not list, appended after it).
LEAD_STATUS_ORIGINS = ("file", "default", "data")
#: The columns of :func:`owners`.
OWNER_COLUMNS = ["owner_id", "name", "owner_kind"]
_STATUS_COLUMNS = ["status", "sort_order", "is_converted", "is_default", "origin"]


def _check_org(crm, fn: str) -> None:
    if not isinstance(crm, CrmData):
        raise TypeError(f"{fn}: crm must be a CrmData (funnel_analysis.load_org), got {type(crm).__name__}")


def _stages_used(crm: CrmData) -> pd.Series:
    return pd.concat([crm.opportunities["stage_name"], crm.opportunity_history["stage_name"]]).dropna()


def stage_order_unknown(crm: CrmData) -> str | None:
    """Why the org's stage order is unknown, or None.

    It is unknown when the export had no stage table (the loader assumed Salesforce's default
    stages) and its deals use stages those do not list (the loader appended them, ``inferred``):
    the order of the default stages is then not this org's. An org whose deals use only the
    default stages keeps their order.

    Parameters
    ----------
    crm : CrmData
        The org, usually as of the report day (:func:`funnel_analysis.crm.cut_as_of`).

    Returns
    -------
    str or None
        The reason in one line (it names ``OpportunityStage.csv`` and up to three of the stages
        not listed), or None when the order is known.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`CrmData`.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> opportunities = pd.DataFrame({"Id": ["006A"], "StageName": ["Engaging"], "CreatedDate": ["2024-01-02"],
    ...     "CloseDate": ["2024-06-30"], "IsClosed": [False], "IsWon": [False]})
    >>> stage_order_unknown(load_frames({"Opportunity": opportunities}))[:38]
    'the export has no stage table (Opportu'
    """
    _check_org(crm, "stage_order_unknown")
    origin = crm.meta.get("stages_origin", crm.report.stages_origin)
    if origin != "default":
        return None
    st = crm.stages
    listed = st["stage_name"][~flag(st["inferred"])] if "inferred" in st.columns else st["stage_name"]
    foreign = sorted(set(_stages_used(crm).unique()) - set(listed))
    if not foreign:
        return None
    shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
    return (
        f"the export has no stage table (OpportunityStage.csv) and its deals use stages Salesforce's default ones "
        f"do not list ({shown}), so the stage order is unknown; add OpportunityStage.csv or a mapping's stages"
    )


def stages_in_use(crm: CrmData) -> pd.DataFrame:
    """The org's stages table; when the stage order is unknown, only the stages the deals use.

    Parameters
    ----------
    crm : CrmData
        The org, usually as of the report day.

    Returns
    -------
    DataFrame
        ``crm.stages`` itself when the order is known (:func:`stage_order_unknown` is None);
        otherwise its rows of the stages the opportunities or their history use, in its order,
        with a fresh index.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`CrmData`.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> opportunities = pd.DataFrame({"Id": ["006A"], "StageName": ["Engaging"], "CreatedDate": ["2024-01-02"],
    ...     "CloseDate": ["2024-06-30"], "IsClosed": [False], "IsWon": [False]})
    >>> stages_in_use(load_frames({"Opportunity": opportunities}))["stage_name"].tolist()
    ['Engaging']
    """
    _check_org(crm, "stages_in_use")
    st = crm.stages
    if stage_order_unknown(crm) is None:
        return st
    return st[st["stage_name"].isin(set(_stages_used(crm).unique())).to_numpy()].reset_index(drop=True)


def _status_table(crm: CrmData) -> tuple[pd.DataFrame, str]:
    """The listed statuses (folded, in order, each once) and their origin."""
    if crm.has("lead_statuses") and len(crm.lead_statuses):
        st = crm.lead_statuses
        table = pd.DataFrame(
            {
                "status": fold_picklist(st["status"]).to_numpy(),
                "sort_order": pd.to_numeric(st["sort_order"], errors="coerce").to_numpy("float64"),
                "is_converted": (
                    st["is_converted"].astype("boolean")
                    if "is_converted" in st
                    else pd.array([pd.NA] * len(st), "boolean")
                ),
                "is_default": (
                    st["is_default"].astype("boolean") if "is_default" in st else pd.array([pd.NA] * len(st), "boolean")
                ),
            }
        )
        table = table.dropna(subset=["status"]).sort_values("sort_order", kind="stable", na_position="last")
        return table.drop_duplicates("status").reset_index(drop=True), "file"
    n = len(DEFAULT_LEAD_STATUSES)
    table = pd.DataFrame(
        {
            "status": list(DEFAULT_LEAD_STATUSES),
            "sort_order": np.arange(1, n + 1, dtype="float64"),
            "is_converted": pd.array([s == "Closed - Converted" for s in DEFAULT_LEAD_STATUSES], "boolean"),
            "is_default": pd.array([s == "Open - Not Contacted" for s in DEFAULT_LEAD_STATUSES], "boolean"),
        }
    )
    return table, "default"


def fold_lead_status(leads: pd.DataFrame, statuses: pd.DataFrame) -> pd.DataFrame:
    """``leads`` with each ``status`` spelled as the status table spells it (case and spacing folded).

    ``"working - contacted "`` is ``"Working - Contacted"`` when the table lists that label, as the loader
    folds stage names to the stage table's (:func:`funnel_analysis.crm.clean.fold_picklist`).

    Parameters
    ----------
    leads : DataFrame
        With ``status``.
    statuses : DataFrame
        With ``status``: the labels (:func:`lead_status_order`).

    Returns
    -------
    DataFrame
        A copy of ``leads`` with ``status`` folded (missing stays missing); ``leads`` itself when
        nothing changes. The inputs are not changed.

    Raises
    ------
    ValueError
        When ``leads`` or ``statuses`` has no ``status`` column.

    Examples
    --------
    >>> leads = pd.DataFrame({"status": ["QUALIFIED ", "Open", None]})
    >>> fold_lead_status(leads, pd.DataFrame({"status": ["Open", "Qualified"]}))["status"].tolist()
    ['Qualified', 'Open', nan]
    """
    require(leads, ["status"], "fold_lead_status", "leads")
    require(statuses, ["status"], "fold_lead_status", "statuses")
    if not len(leads):
        return leads
    folded = fold_picklist(leads["status"], canonical=statuses["status"].dropna().astype("str").tolist())
    before = leads["status"].astype("str")
    if folded.equals(before) or (folded.isna().equals(before.isna()) and (folded == before).fillna(True).all()):
        return leads
    return leads.assign(status=folded.to_numpy())


def lead_status_order(crm: CrmData, *, used=None) -> pd.DataFrame:
    """The org's lead statuses in funnel order, each with where it comes from.

    The order is the org's LeadStatus table (``LeadStatus.csv``: ``MasterLabel``, ``SortOrder``,
    ``IsConverted``, ``IsDefault``) when it has one, as the stage order is its OpportunityStage table;
    Salesforce's default statuses (:data:`DEFAULT_LEAD_STATUSES`) otherwise. The statuses the leads use
    that the order does not list follow it, in order of first appearance, marked ``"data"``. A lead's
    status matches a label whatever its case and spacing (:func:`fold_lead_status`).

    Parameters
    ----------
    crm : CrmData
        The org, usually as of the report day.
    used : list of str, optional
        The statuses the leads use, in order of first appearance, when they are counted elsewhere (an
        engine: :func:`funnel_analysis.engine.funnel.lead_status_sums`); ``()`` for the listed
        statuses alone. Default: read from ``crm.leads``.

    Returns
    -------
    DataFrame
        One row per status: ``status``, ``sort_order`` (1, 2, ... in order), ``is_converted`` and
        ``is_default`` (nullable booleans, missing for a status the table does not list), ``origin``
        (:data:`LEAD_STATUS_ORIGINS`: ``"file"``, ``"default"``, or ``"data"`` for one appended).

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`CrmData`.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> statuses = pd.DataFrame({"MasterLabel": ["New", "Qualified", "Converted"], "SortOrder": [1, 2, 3],
    ...                          "IsConverted": [False, False, True], "IsDefault": [True, False, False]})
    >>> leads = pd.DataFrame({"Id": ["00QA", "00QB"], "Status": ["qualified", "Nurture"],
    ...                       "CreatedDate": ["2024-01-02", "2024-01-03"]})
    >>> lead_status_order(load_frames({"Lead": leads, "LeadStatus": statuses}))[["status", "origin"]]
          status origin
    0        New   file
    1  Qualified   file
    2  Converted   file
    3    Nurture   data
    """
    _check_org(crm, "lead_status_order")
    table, origin = _status_table(crm)
    table["origin"] = origin
    if used is None:
        leads = crm.leads
        has_status = len(leads) and "status" in leads.columns
        used = fold_lead_status(leads, table)["status"].dropna().astype("str").unique().tolist() if has_status else []
    else:
        folded = fold_picklist(pd.Series(list(used), dtype="str"), canonical=table["status"].dropna().tolist())
        used = list(dict.fromkeys(folded.dropna().tolist()))
    if used:
        extra = [s for s in used if s not in set(table["status"])]
        if extra:
            more = pd.DataFrame(
                {
                    "status": extra,
                    "is_converted": pd.array([pd.NA] * len(extra), "boolean"),
                    "is_default": pd.array([pd.NA] * len(extra), "boolean"),
                    "origin": "data",
                }
            )
            table = pd.concat([table, more], ignore_index=True)
    table["sort_order"] = np.arange(1, len(table) + 1, dtype="int64")
    table["status"] = table["status"].astype("str")
    return table[_STATUS_COLUMNS].reset_index(drop=True)


def owners(crm: CrmData) -> pd.DataFrame:
    """Every owner of the org with its name: the users, then the queues.

    A record is owned by a user or by a queue (``OwnerId`` starting ``00G``, a ``Group`` row of
    ``Type`` ``Queue``, Group.csv); :func:`funnel_analysis.crm.expression.owner_records` has their
    other fields, as the ``owner`` relation of a ``where`` filter sees them.

    Parameters
    ----------
    crm : CrmData
        The org.

    Returns
    -------
    DataFrame
        :data:`OWNER_COLUMNS`: ``owner_id``, ``name`` (a user's ``Name``, else its first and last
        names; a queue's name; missing when the export has neither) and ``owner_kind`` (``"user"`` or
        ``"queue"``). Empty, with those columns, for an org with neither users nor groups.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`CrmData`.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> users = pd.DataFrame({"Id": ["005A"], "FirstName": ["Ann"], "LastName": ["Lee"]})
    >>> groups = pd.DataFrame({"Id": ["00GQ"], "Name": ["EMEA Queue"], "Type": ["Queue"]})
    >>> owners(load_frames({"User": users, "Group": groups}))
      owner_id        name owner_kind
    0     005A     Ann Lee       user
    1     00GQ  EMEA Queue      queue
    """
    _check_org(crm, "owners")
    users = crm.users if crm.has("users") else None
    if users is not None and {"first_name", "last_name"} & set(users.columns):
        parts = [users[c].astype("str").fillna("") for c in ("first_name", "last_name") if c in users.columns]
        full = parts[0].str.cat(parts[1:], sep=" ").str.strip() if len(parts) > 1 else parts[0].str.strip()
        full = full.where(full != "", None)
        name = users["name"].astype("str") if "name" in users.columns else pd.Series(None, index=users.index)
        users = users.assign(name=name.where(name.notna() & (name.str.strip() != ""), full))
    groups = crm.groups if crm.has("groups") else None
    if users is None and groups is None:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in OWNER_COLUMNS})
    out = owner_records(users, groups)
    if "name" not in out.columns:
        out["name"] = None
    return out[OWNER_COLUMNS].astype("str").where(out[OWNER_COLUMNS].notna(), None).reset_index(drop=True)


def with_owner_names(table: pd.DataFrame, owners_table: pd.DataFrame, *, column: str = "owner_id") -> pd.DataFrame:
    """``table`` with ``owner_name`` after its owner column: a user's name or a queue's.

    Parameters
    ----------
    table : DataFrame
        A result that shows owner IDs in ``column`` (a breakdown ``by="owner_id"``).
    owners_table : DataFrame
        :func:`owners` of the org (``owner_id``, ``name``).
    column : str, default "owner_id"
        The owner column of ``table``.

    Returns
    -------
    DataFrame
        A copy of ``table`` with ``owner_name`` right after ``column`` (missing for an ID that is no
        owner of the org); ``table`` itself when it has no ``column`` or already an ``owner_name``.
        The attributes (``attrs``) are kept; the inputs are not changed.

    Raises
    ------
    ValueError
        When ``owners_table`` lacks ``owner_id`` or ``name``.

    Examples
    --------
    >>> table = pd.DataFrame({"owner_id": ["00GQ", "005A", "005Z"], "leads": [3, 2, 1]})
    >>> names = pd.DataFrame({"owner_id": ["005A", "00GQ"], "name": ["Ann Lee", "EMEA Queue"]})
    >>> with_owner_names(table, names)
      owner_id  owner_name  leads
    0     00GQ  EMEA Queue      3
    1     005A     Ann Lee      2
    2     005Z         NaN      1
    """
    require(owners_table, ["owner_id", "name"], "with_owner_names", "owners")
    if column not in table.columns or "owner_name" in table.columns:
        return table
    names = owners_table.drop_duplicates("owner_id").set_index("owner_id")["name"]
    out = table.copy()
    looked = table[column].astype("str").map(names)
    out.insert(out.columns.get_loc(column) + 1, "owner_name", looked.to_numpy())
    return out


def dropped_undated(crm: CrmData, *, as_of=None, where: str | None = None) -> pd.DataFrame:
    """The opportunities ``where`` selects that the as-of cut leaves out for having no creation date.

    Such a deal cannot be placed in time, so the cut (:meth:`CrmData.as_of`) drops it; the reports
    count it instead (``n_undated_excluded``). Each is closed on the day by its own flags and close
    date: a deal closing after the day is open, and then not won.

    Parameters
    ----------
    crm : CrmData
        The whole org (not a cut: the cut no longer holds these deals).
    as_of : date-like, optional
        The day of the cut; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the opportunities this expression selects.

    Returns
    -------
    DataFrame
        The rows of ``crm.opportunities`` without ``created_date`` that are not in the cut, with
        ``is_closed`` and ``is_won`` as of the day.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`CrmData`.
    ValueError
        When ``as_of`` is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> opportunities = pd.DataFrame({"Id": ["006A", "006B"], "StageName": ["Closed Won", "Closed Won"],
    ...     "CreatedDate": ["2024-01-02", ""], "CloseDate": ["2024-02-01", "2024-08-01"],
    ...     "IsClosed": [True, True], "IsWon": [True, True]})
    >>> dropped_undated(load_frames({"Opportunity": opportunities}), as_of="2024-06-30")[["opportunity_id", "is_won"]]
      opportunity_id  is_won
    1           006B   False
    """
    cut = cut_as_of(crm, as_of=as_of)
    rows = crm.rows("opportunities", where=where)
    gone = rows["created_date"].isna() & ~rows["opportunity_id"].isin(cut.opportunities["opportunity_id"])
    rows = rows[gone.to_numpy()]
    closed = flag(rows["is_closed"]) & ~(rows["close_date"] > cut.as_of_date).fillna(False)
    return rows.assign(is_closed=closed, is_won=closed & flag(rows["is_won"]))


def add_counts(table: pd.DataFrame, extra: pd.DataFrame, *, column: str, by=None) -> pd.DataFrame:
    """``table`` with ``extra``'s count ``column`` added to its own, group by group.

    Parameters
    ----------
    table : DataFrame
        The section's table: one row per group of ``by`` (one row without); it has ``column``.
    extra : DataFrame
        Another table of the same shape whose ``column`` is added (missing counts as 0); a group
        of ``extra`` that ``table`` does not have is ignored.
    column : str
        The count column.
    by : str or list of str, optional
        The group columns of both tables; ``None`` or ``[]``: the whole of ``extra`` is added to
        every row.

    Returns
    -------
    DataFrame
        A copy of ``table`` with ``column`` summed, of the same dtype where groups are matched;
        ``table`` itself when ``extra`` adds nothing. The inputs are not changed.

    Raises
    ------
    TypeError
        When ``extra`` has rows and it or ``table`` is not a DataFrame.
    ValueError
        When ``extra`` has rows and it or ``table`` lacks ``column`` or a ``by`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"lead_source": ["Web", "Partner"], "n_undated_excluded": [1, 0]})
    >>> extra = pd.DataFrame({"lead_source": ["Web"], "n_undated_excluded": [2]})
    >>> add_counts(table, extra, column="n_undated_excluded", by="lead_source")
      lead_source  n_undated_excluded
    0         Web                   3
    1     Partner                   0
    """
    keys = by_list(by)
    if isinstance(extra, pd.DataFrame) and extra.empty:
        return table
    require(extra, [*keys, column], "add_counts", "extra")
    require(table, [*keys, column], "add_counts", "table")
    if not extra[column].fillna(0).any():
        return table
    out = table.copy()
    if not keys:
        out[column] = out[column] + int(extra[column].fillna(0).sum())
        return out
    add = extra.groupby(keys, dropna=False)[column].sum().rename("_add").reset_index()
    got = out[keys].merge(add, on=keys, how="left")["_add"].fillna(0).to_numpy()
    out[column] = (out[column] + got).astype(out[column].dtype)
    return out


def _count(n, noun: str) -> str:
    return f"{int(n):,} {noun}{'' if int(n) == 1 else 's'}"


def org_notes(crm: CrmData) -> pd.DataFrame:
    """What the load set aside or assumed, and what the org's data lets the analyses do, one row each.

    :meth:`DataQualityReport.notes` (ignored files, where the stages came from, the corporate currency),
    then where the lead statuses come from, each field history's coverage
    (:func:`~funnel_analysis.crm.field_history.history_note`), who owns records (users, queues) and
    what campaign attribution credits (contact roles, or every contact of the account).

    Parameters
    ----------
    crm : CrmData
        The org as loaded.

    Returns
    -------
    DataFrame
        Columns ``note`` and ``value``.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.CrmData`.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> crm = load_frames({"Lead": pd.DataFrame({"Id": ["00QA"], "Status": ["Open - Not Contacted"]})})
    >>> org_notes(crm).set_index("note").loc["lead statuses from", "value"]
    "Salesforce's default statuses (no LeadStatus.csv)"
    """
    from .field_history import history_note

    _check_org(crm, "org_notes")
    loaded = crm.report.notes()
    notes = dict(zip(loaded["note"], loaded["value"]))
    origin = lead_status_order(crm)["origin"]
    if (origin == "file").any():
        extra = int((origin == "data").sum())
        notes["lead statuses from"] = "LeadStatus.csv" + (f", and {extra} more the leads use" if extra else "")
    else:
        notes["lead statuses from"] = "Salesforce's default statuses (no LeadStatus.csv)"
    notes["lead history"] = history_note(crm, table="lead_history")
    notes["opportunity field history"] = history_note(crm, table="opportunity_field_history")
    kinds = owners(crm)["owner_kind"].value_counts()
    notes["owners"] = f"{_count(kinds.get('user', 0), 'user')}, {_count(kinds.get('queue', 0), 'queue')}" + (
        "" if crm.has("groups") else " (no Group.csv: records owned by a queue are flagged)"
    )
    if crm.has("contact_roles") and len(crm.contact_roles):
        n = crm.contact_roles["opportunity_id"].nunique()
        has = "deal has" if n == 1 else "deals have"
        notes["attribution credits"] = f"the deals' contact roles ({n:,} {has} one) and their converted lead"
    else:
        notes["attribution credits"] = "every contact of the deal's account (no OpportunityContactRole.csv)"
    return pd.DataFrame({"note": list(notes), "value": [str(v) for v in notes.values()]})
