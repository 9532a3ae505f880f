"""What the report sections of several subpackages ask of the org: the stage order, the undated deals.

The funnel and velocity reports (``funnel_analysis.funnel.report``, ``funnel_analysis.velocity.report``)
share these:

- :func:`stage_order_unknown`: why the org's stage order is unknown (no stage table, and deals in
  stages Salesforce's default ones do not list), or None;
- :func:`stages_in_use`: the stages table, only the stages the deals use when the order is unknown;
- :func:`dropped_undated`: the opportunities the as-of cut left out for having no creation date;
- :func:`add_counts`: a count column of one table added to another's, group by group.

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

import pandas as pd

from .._util.frames import by_list, flag, require
from .model import CrmData, cut_as_of

__all__ = ["stage_order_unknown", "stages_in_use", "dropped_undated", "add_counts"]


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
