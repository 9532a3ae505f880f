"""Deleted and merged records: left out of every figure, counted, and their references re-pointed.

Exports made with "export all" / ``queryAll`` and every warehouse sync keep deleted records: Salesforce
marks them ``IsDeleted``; Fivetran adds ``_fivetran_deleted`` for rows deleted at the source. A
deleted record is treated as never having existed, as Salesforce's own reports treat it, so it is in
no figure, no past as-of cut and no backtest. :func:`split_deleted` decides, for every row of every
table, whether it is live or:

- ``merged``: a deleted lead, contact or account with a ``MasterRecordId``, which Salesforce merged
  into that record. It is a merge, not a deletion: it is counted apart (``rows_merged``), the pair
  goes to :attr:`CrmData.merges` (chains followed to the final survivor), and every reference to it
  (an opportunity's account, a task's WhoId, a campaign membership) is re-pointed to the survivor;
- ``deleted``: marked deleted by the source;
- ``parent_deleted``: a row that follows a deleted record, as Salesforce's cascade deletes it: the
  history of a deleted deal, the activities on a deleted record, the memberships of a deleted lead,
  contact or campaign, and the deals and contacts of a deleted account.

Examples
--------
>>> import pandas as pd
>>> frames = {
...     "accounts": pd.DataFrame({"account_id": ["A1", "A2"], "is_deleted": [False, True],
...                               "master_record_id": [None, "A1"]}),
...     "opportunities": pd.DataFrame({"opportunity_id": ["O1"], "account_id": ["A2"], "is_deleted": [False]}),
... }
>>> split = split_deleted(frames)
>>> split.status["accounts"].tolist()
['', 'merged']
>>> split.frames["opportunities"]["account_id"].tolist()
['A1']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .model import MERGE_COLUMNS
from .schema import TABLES

__all__ = ["DeletedSplit", "split_deleted", "deleted_flag", "MERGEABLE", "CASCADES"]

#: Tables whose deleted records may carry a MasterRecordId (Salesforce merges these three objects).
MERGEABLE = ("leads", "contacts", "accounts")

#: Child table -> (column, parent tables): a child row follows its parent's deletion (Salesforce's
#: cascade). ``what_id`` / ``who_id`` are polymorphic: any of the listed parents.
CASCADES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "opportunities": (("account_id", ("accounts",)),),
    "contacts": (("account_id", ("accounts",)),),
    "opportunity_history": (("opportunity_id", ("opportunities",)),),
    "opportunity_field_history": (("opportunity_id", ("opportunities",)),),
    "lead_history": (("lead_id", ("leads",)),),
    "contact_roles": (("opportunity_id", ("opportunities",)), ("contact_id", ("contacts",))),
    "activities": (
        ("what_id", ("opportunities", "accounts", "campaigns")),
        ("who_id", ("leads", "contacts")),
        ("account_id", ("accounts",)),
    ),
    "campaign_members": (
        ("campaign_id", ("campaigns",)),
        ("lead_id", ("leads",)),
        ("contact_id", ("contacts",)),
    ),
}

#: The order in which deletions propagate (parents before children).
_ORDER = (
    "accounts",
    "campaigns",
    "leads",
    "contacts",
    "opportunities",
    "opportunity_history",
    "opportunity_field_history",
    "lead_history",
    "contact_roles",
    "activities",
    "campaign_members",
)

#: Field history stays with its own record: a merged-away lead's changes are not the master's (their
#: times and values would rewrite the master's past), so they go with the merged record.
_HISTORY = ("lead_history",)

#: Columns (besides the schema's references) that may point at a merged record.
_POLYMORPHIC = {"activities": {"what_id": MERGEABLE, "who_id": ("leads", "contacts")}}


@dataclass(frozen=True)
class DeletedSplit:
    """Which rows are live, and the frames with references to merged records re-pointed.

    Attributes
    ----------
    frames : dict of str to DataFrame
        Every table (all rows still), references to merged records re-pointed to the survivor.
    status : dict of str to ndarray
        Per table, per row: ``""`` (live), ``"deleted"``, ``"merged"`` or ``"parent_deleted"``.
    merges : DataFrame
        ``table, merged_id, master_id``: one row per merged record, the master the final survivor.
    repointed : dict of str to ndarray
        ``"<table>.<column>"`` -> the rows whose reference was re-pointed from a merged record to its
        survivor (a boolean mask over the table's rows).
    """

    frames: dict[str, pd.DataFrame]
    status: dict[str, np.ndarray]
    merges: pd.DataFrame
    repointed: dict[str, np.ndarray] = field(default_factory=dict)


def deleted_flag(table: pd.DataFrame) -> np.ndarray:
    """Rows the source marks deleted: ``is_deleted`` true, or a Fivetran ``_fivetran_deleted`` true.

    Parameters
    ----------
    table : DataFrame
        A typed table (``_fivetran_deleted`` reads as ``fivetran_deleted``; text ``true`` counts).

    Returns
    -------
    ndarray of bool
        One per row; all False when the table has neither column.
    """
    flag = np.zeros(len(table), dtype=bool)
    for col in ("is_deleted", "fivetran_deleted"):
        if col in table.columns:
            values = table[col]
            if not pd.api.types.is_bool_dtype(values):
                values = values.astype("str").str.strip().str.lower().isin(["true", "1", "yes"])
            flag |= values.fillna(False).to_numpy(dtype=bool)
    return flag


def _survivors(merged: dict[str, str]) -> dict[str, str]:
    """merged id -> final survivor, following chains (A -> B -> C); a cycle keeps its last hop."""
    out = {}
    for start in merged:
        seen, cur = {start}, merged[start]
        while cur in merged and cur not in seen:
            seen.add(cur)
            cur = merged[cur]
        out[start] = cur
    return out


def split_deleted(frames: dict[str, pd.DataFrame]) -> DeletedSplit:
    """Mark every row live, deleted, merged or parent-deleted, and re-point references to merges.

    Parameters
    ----------
    frames : dict of str to DataFrame
        The org's typed tables by canonical name (not modified).

    Returns
    -------
    DeletedSplit
        The frames (references re-pointed), each row's status, the merges and the re-point counts.

    Raises
    ------
    KeyError
        When a frame lacks its table's key column.
    """
    status = {name: np.where(deleted_flag(df), "deleted", "").astype(object) for name, df in frames.items()}
    pairs = []
    for name in MERGEABLE:
        df = frames.get(name)
        if df is None or "master_record_id" not in df.columns:
            continue
        key = TABLES[name].key
        merged = (status[name] == "deleted") & df["master_record_id"].notna().to_numpy()
        status[name] = np.where(merged, "merged", status[name]).astype(object)
        hop = dict(zip(df.loc[merged, key].astype("str"), df.loc[merged, "master_record_id"].astype("str")))
        for merged_id, master in _survivors(hop).items():
            pairs.append((name, merged_id, master))
    merges = pd.DataFrame(pairs, columns=MERGE_COLUMNS)
    survivor = {t: dict(zip(g["merged_id"], g["master_id"])) for t, g in merges.groupby("table")}
    all_merged = {k: v for t in survivor.values() for k, v in t.items()}

    # re-point what referenced a merged record, before deletions cascade (the survivor may be live)
    out, repointed = {}, {}
    for name, df in frames.items():
        targets: dict[str, tuple[str, ...]] = {}
        for ref in TABLES[name].references if name in TABLES and name not in _HISTORY else ():
            if ref.table in MERGEABLE:
                targets[ref.column] = (ref.table,)
        targets |= _POLYMORPHIC.get(name, {})
        new = df
        for col, tables in targets.items():
            if col not in df.columns or not all_merged:
                continue
            lookup = {k: v for t in tables for k, v in survivor.get(t, {}).items()}
            if not lookup:
                continue
            values = df[col]
            hit = values.isin(list(lookup)).to_numpy() & (status[name] == "")
            if hit.any():
                if new is df:
                    new = df.copy()
                new.loc[hit, col] = values[hit].map(lookup)
                repointed[f"{name}.{col}"] = hit
        out[name] = new

    # deletions cascade from parents to children (merged records do not: their children moved)
    for name in _ORDER:
        if name not in out or name not in CASCADES:
            continue
        df = out[name]
        for col, parents in CASCADES[name]:
            if col not in df.columns:
                continue
            gone = set()
            for parent in parents:
                if parent in out:
                    pk = TABLES[parent].key
                    gone_as = ["deleted", "parent_deleted"] + (["merged"] if name in _HISTORY else [])
                    dead = np.isin(status[parent], gone_as)
                    gone |= set(out[parent].loc[dead, pk].astype("str"))
            if not gone:
                continue
            follow = df[col].astype("str").isin(gone).to_numpy() & df[col].notna().to_numpy() & (status[name] == "")
            status[name] = np.where(follow, "parent_deleted", status[name]).astype(object)
    return DeletedSplit(frames=out, status=status, merges=merges, repointed=repointed)
