"""Safe merges: survivorship, re-pointing of related records, a merge log, and reversal from the log.

:func:`merge_clusters` keeps one record per cluster (the *survivor*), fills its fields by the
survivorship rules, re-points every ID column of every table that held a merged ID to the
survivor, and returns the new tables with a log of one row per change (:class:`MergedTables`):

- ``merged``: a record removed; ``old_value`` is the whole row (JSON), ``position`` its row.
- ``field``: a survivor field the rules changed; ``old_value`` / ``new_value`` (JSON).
- ``repointed``: a related row's ID column; ``old_value`` the merged ID, ``new_value`` the survivor.

Nothing is lost: every input ID is kept or logged as ``merged``, every related row still joins,
and :func:`reverse_merges` rebuilds the input from the merged tables and the log.

Examples
--------
>>> import pandas as pd
>>> leads = pd.DataFrame({"lead_id": ["L1", "L2"], "email": [None, "a@b.io"],
...                       "created_date": pd.to_datetime(["2024-01-01", "2024-02-01"])})
>>> members = pd.DataFrame({"campaign_member_id": ["M1"], "lead_id": ["L2"]})
>>> clusters = pd.DataFrame({"unique_id": ["L1", "L2"], "cluster_id": ["L1", "L1"]})
>>> merged = merge_clusters({"leads": leads, "campaign_members": members}, clusters, table="leads")
>>> out = merged.tables
>>> out["leads"]["lead_id"].tolist(), out["leads"]["email"].tolist(), out["campaign_members"]["lead_id"].tolist()
(['L1'], ['a@b.io'], ['L1'])
>>> merged.log["action"].tolist()
['merged', 'field', 'repointed']
>>> back = reverse_merges(out, merged.log)
>>> back["leads"].equals(leads) and back["campaign_members"].equals(members)
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..crm.schema import TABLES
from .normalize import load_dedupe_config

__all__ = [
    "LOG_COLUMNS",
    "SURVIVOR_RULES",
    "FIELD_RULES",
    "MergedTables",
    "choose_survivors",
    "merge_clusters",
    "reverse_merges",
    "id_columns",
]

LOG_COLUMNS = [
    "action",
    "table",
    "record_id",
    "column",
    "old_value",
    "new_value",
    "survivor_id",
    "cluster_id",
    "match_probability",
    "reasons",
    "position",
]
SURVIVOR_RULES = ("oldest", "newest", "most_complete")
FIELD_RULES = ("survivor", "most_recent", "longest", "oldest")


@dataclass(frozen=True)
class MergedTables:
    """What :func:`merge_clusters` returns: the tables with the merges applied, and the merge log.

    Attributes
    ----------
    tables : Mapping of str to DataFrame
        Every table by name; the merged table without its merged records, related rows re-pointed.
    log : DataFrame
        One row per change (:data:`LOG_COLUMNS`): enough for :func:`reverse_merges`.
    """

    tables: Mapping[str, pd.DataFrame]
    log: pd.DataFrame


def _key(name: str, df: pd.DataFrame) -> str:
    spec = TABLES.get(name)
    return spec.key if spec is not None and spec.key in df.columns else df.columns[0]


def id_columns(name: str, df: pd.DataFrame) -> list[str]:
    """The columns of ``df`` (table ``name``) that hold record IDs, other than its own key.

    Schema tables: their ``id`` columns; other frames: columns named ``*_id``.

    Parameters
    ----------
    name : str
        The table's name (its schema, when it has one).
    df : DataFrame
        The table.

    Returns
    -------
    list of str
        The ID columns, in the table's order.

    >>> id_columns("opportunities", pd.DataFrame(columns=["opportunity_id", "account_id", "amount"]))
    ['account_id']
    """
    spec, key = TABLES.get(name), _key(name, df)
    kinds = spec.kinds() if spec is not None else {}
    return [c for c in df.columns if c != key and (kinds.get(c) == "id" or (c not in kinds and c.endswith("_id")))]


def _enc(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return "null"
    if isinstance(v, pd.Timestamp):
        return json.dumps(v.isoformat())
    if isinstance(v, np.generic):
        v = v.item()
    return json.dumps(v, ensure_ascii=False, default=str)


def _dec(texts, dtype) -> pd.Series:
    """JSON texts back to a column of ``dtype`` (timestamps from ISO text)."""
    vals = pd.Series([json.loads(t) if isinstance(t, str) else None for t in texts], dtype=object)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        tz = getattr(dtype, "tz", None)
        return pd.to_datetime(vals, utc=tz is not None, format="ISO8601").astype(dtype)
    # a numpy bool column cannot hold the missing value; `dtype` may be numpy's, which == bool but is not it
    if dtype == bool and vals.isna().any():  # noqa: E721
        return vals
    return vals.astype(dtype)


def choose_survivors(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    *,
    key: str,
    rule: str = "oldest",
    created_column: str = "created_date",
) -> pd.Series:
    """The surviving ID of every clustered record (index: record ID).

    Parameters
    ----------
    records : DataFrame
        The table the clusters' records come from.
    clusters : DataFrame
        ``unique_id``, ``cluster_id``.
    key : str
        The record ID column of ``records``.
    rule : {"oldest", "newest", "most_complete"}
        ``oldest`` / ``newest`` by ``created_column`` (records without a date come last), or
        ``most_complete`` (most non-empty fields, then oldest); ties go to the smallest ID.
    created_column : str
        The creation time column.

    Returns
    -------
    Series
        ``survivor_id`` per clustered record ID.

    Raises
    ------
    ValueError
        An unknown rule, or a clustered ID absent from ``records``.

    >>> r = pd.DataFrame({"id": ["a", "b"], "created_date": pd.to_datetime(["2024-02-01", "2024-01-01"])})
    >>> choose_survivors(r, pd.DataFrame({"unique_id": ["a", "b"], "cluster_id": ["a", "a"]}), key="id").to_dict()
    {'a': 'b', 'b': 'b'}
    """
    if rule not in SURVIVOR_RULES:
        raise ValueError(f"unknown survivor rule {rule!r}; expected one of {', '.join(SURVIVOR_RULES)}")
    cl = clusters[["unique_id", "cluster_id"]].astype("str")
    missing = set(cl["unique_id"]) - set(records[key].astype("str"))
    if missing:
        raise ValueError(f"choose_survivors: {len(missing)} clustered IDs are not in the table, e.g. {min(missing)}")
    rec = records.assign(_id=records[key].astype("str")).set_index("_id").loc[cl["unique_id"]]
    created = rec[created_column] if created_column in rec.columns else pd.Series(pd.NaT, index=rec.index)
    order = pd.DataFrame(
        {
            "cluster_id": cl["cluster_id"].to_numpy(),
            "id": cl["unique_id"].to_numpy(),
            "undated": created.isna().to_numpy(),
            "t": pd.to_datetime(created, utc=True).to_numpy(),
            "filled": -rec.notna().sum(axis=1).to_numpy(),
        }
    )
    cols = {"oldest": ["undated", "t"], "newest": ["undated", "t"], "most_complete": ["filled", "undated", "t"]}[rule]
    asc = {"oldest": [True, True], "newest": [True, False], "most_complete": [True, True, True]}[rule]
    best = order.sort_values(["cluster_id", *cols, "id"], ascending=[True, *asc, True]).drop_duplicates("cluster_id")
    return order["cluster_id"].map(best.set_index("cluster_id")["id"]).set_axis(order["id"]).rename("survivor_id")


def _winners(members: pd.DataFrame, values: pd.Series, rule: str) -> pd.Series:
    """The winning value of one column per cluster (index: survivor ID), vectorised over clusters.

    ``members`` has ``survivor``, ``is_survivor``, ``t`` (creation time) and ``pos`` per clustered row.
    """
    filled = values.notna().to_numpy() & (values.astype("str").to_numpy() != "")
    d = members.assign(
        v=values.to_numpy(),
        filled=filled,
        length=values.astype("str").str.len().fillna(0).to_numpy(),
        own=members["is_survivor"] & (rule == "survivor"),
    )
    keys = {
        "survivor": ["filled", "own", "t"],
        "most_recent": ["filled", "t"],
        "oldest": ["filled", "t"],
        "longest": ["filled", "length", "t"],
    }[rule]
    asc = [False] * (len(keys) - 1) + [rule == "oldest"]
    # missing creation times sort last whichever the direction
    best = d.sort_values(
        ["survivor", *keys, "pos"], ascending=[True, *asc, True], na_position="last", kind="stable"
    ).drop_duplicates("survivor")
    return best.set_index("survivor")["v"]


def merge_clusters(
    tables: Mapping[str, pd.DataFrame],
    clusters: pd.DataFrame,
    *,
    table: str,
    pairs: pd.DataFrame | None = None,
    survivorship: Mapping | None = None,
) -> MergedTables:
    """Merge every cluster of ``table`` into its survivor and re-point all related rows.

    Parameters
    ----------
    tables : Mapping of str to DataFrame
        The org's tables (``CrmData.tables``); not changed.
    clusters : DataFrame
        ``unique_id``, ``cluster_id`` (from :func:`.cluster.cluster_pairs`); singletons are ignored.
    table : str
        The table whose records are merged (``leads``, ``contacts``, ``accounts``).
    pairs : DataFrame, optional
        Scored pairs (``id_l``, ``id_r``, ``match_probability``, ``reasons``) for the log.
    survivorship : Mapping, optional
        ``{"survivor": rule, "default": field rule, "fields": {column: field rule}}``; default
        from ``dedupe.yaml``.

    Returns
    -------
    MergedTables
        New tables, and the merge log (:data:`LOG_COLUMNS`).

    Raises
    ------
    KeyError, ValueError
        ``table`` not in ``tables``; clustered IDs not in the table; unknown rules.
    """
    if table not in tables:
        raise KeyError(f"merge_clusters: no table {table!r} (have {', '.join(tables)})")
    rules = {**load_dedupe_config()["survivorship"], **(survivorship or {})}
    fields = dict(rules.get("fields") or {})
    for r in {rules.get("default", "survivor"), *fields.values()}:
        if r not in FIELD_RULES:
            raise ValueError(f"unknown field rule {r!r}; expected one of {', '.join(FIELD_RULES)}")
    df = tables[table]
    key = _key(table, df)
    cl = clusters[["unique_id", "cluster_id"]].astype("str")
    cl = cl[cl.groupby("cluster_id")["unique_id"].transform("size") > 1]
    survivor = choose_survivors(df, cl, key=key, rule=rules.get("survivor", "oldest"))
    merged = survivor[survivor.index != survivor.to_numpy()]
    ids = df[key].astype("str")
    log: list[dict] = []
    # a shallow copy: copy-on-write copies only what the survivorship below changes
    out_df = df.copy(deep=False)
    pos_of = pd.Series(np.arange(len(df)), index=ids.to_numpy())
    cid = cl.set_index("unique_id")["cluster_id"]
    prob, why = _pair_evidence(pairs, merged, cid)
    rows = pos_of.loc[survivor.index].to_numpy()
    created = df["created_date"] if "created_date" in df.columns else pd.Series(pd.NaT, index=df.index)
    members = pd.DataFrame(
        {
            "survivor": survivor.to_numpy(),
            "is_survivor": survivor.index == survivor.to_numpy(),
            "t": pd.to_datetime(created.iloc[rows], utc=True).to_numpy(),
            "pos": rows,
        }
    )
    spos = pos_of.loc[sorted(set(survivor))]
    for col in df.columns:
        if col in (key, "created_date"):
            continue
        win = _winners(
            members, df[col].iloc[rows].reset_index(drop=True), fields.get(col, rules.get("default", "survivor"))
        )
        old = df[col].iloc[spos.to_numpy()].set_axis(spos.index)
        new = win.reindex(spos.index)
        enc_old, enc_new = old.map(_enc), new.map(_enc)
        changed = (enc_old != enc_new).to_numpy()
        if not changed.any():
            continue
        ch = spos.index[changed]
        out_df.iloc[spos[ch].to_numpy(), out_df.columns.get_loc(col)] = new[ch].to_numpy()
        log += [
            dict(
                action="field",
                table=table,
                record_id=sid,
                column=col,
                old_value=o,
                new_value=n,
                survivor_id=sid,
                cluster_id=cid[sid],
            )
            for sid, o, n in zip(ch, enc_old[ch], enc_new[ch])
        ]
    # each merged record's whole row, column by column (a cell at a time was most of a large org's merge)
    mpos = pos_of.loc[merged.index].to_numpy() if len(merged) else np.array([], dtype=int)
    cells = {c: [json.loads(_enc(v)) for v in df[c].iloc[mpos]] for c in df.columns}
    for i, (mid, sid) in enumerate(merged.items()):
        row = {c: cells[c][i] for c in df.columns}
        log.append(
            dict(
                action="merged",
                table=table,
                record_id=mid,
                old_value=json.dumps(row, ensure_ascii=False),
                survivor_id=sid,
                cluster_id=cid[mid],
                match_probability=prob.get(mid),
                reasons=why.get(mid),
                position=int(mpos[i]),
            )
        )
    out = dict(tables)
    out[table] = out_df[~ids.isin(merged.index).to_numpy()].reset_index(drop=True)
    for name, other in out.items():
        okey, repointed = _key(name, other), {}
        for c in id_columns(name, other):
            text = other[c].astype("str")  # once per column (it was made twice, for the test and the hits)
            hit = text.isin(merged.index).to_numpy()
            if not hit.any():
                continue
            old = text[hit]
            log += [
                dict(
                    action="repointed",
                    table=name,
                    record_id=str(k),
                    column=c,
                    old_value=o,
                    new_value=merged[o],
                    survivor_id=merged[o],
                    cluster_id=cid[o],
                )
                for k, o in zip(other.loc[hit, okey], old)
            ]
            col = other[c].copy()
            col.loc[hit] = old.map(merged).to_numpy()
            repointed[c] = col
        if repointed:
            # only the re-pointed columns are new: a copy of the whole table (the activities of a
            # million-lead org, a gigabyte) held every other column twice
            out[name] = other.assign(**repointed)
    order = {"merged": 0, "field": 1, "repointed": 2}
    frame = pd.DataFrame(log, columns=LOG_COLUMNS).astype({"position": "Int64", "match_probability": float})
    frame = frame.sort_values(
        ["action", "cluster_id", "record_id", "column"],
        key=lambda s: s.map(order) if s.name == "action" else s,
        kind="stable",
        ignore_index=True,
    )
    return MergedTables(tables=out, log=frame)


def _pair_evidence(pairs, merged: pd.Series, cid: pd.Series):
    """Probability and reasons of each merged record's link: its pair with the survivor when scored,
    else its strongest pair inside its cluster."""
    if pairs is None or not len(pairs) or not len(merged):
        return {}, {}
    p = pairs[["id_l", "id_r", "match_probability", *(["reasons"] if "reasons" in pairs else [])]]
    both = pd.concat([p, p.rename(columns={"id_l": "id_r", "id_r": "id_l"})], ignore_index=True)
    both = both[both["id_l"].isin(merged.index)]
    both = both[both["id_l"].map(cid).eq(both["id_r"].map(cid))]
    both = both.assign(direct=both["id_l"].map(merged).eq(both["id_r"]))
    best = both.sort_values(["direct", "match_probability"], ascending=False).drop_duplicates("id_l")
    best = best.set_index("id_l")
    return best["match_probability"].to_dict(), (best["reasons"].to_dict() if "reasons" in best else {})


def reverse_merges(
    tables: Mapping[str, pd.DataFrame], log: pd.DataFrame, *, clusters=None
) -> Mapping[str, pd.DataFrame]:
    """Undo the merges of ``log`` (or only of the given ``clusters``): the inverse of :func:`merge_clusters`.

    Merged records go back at their original rows, survivor fields get their old values, and
    re-pointed IDs point at their original records again. The tables must be those the merge
    returned (rows may have changed since, but not the merged table's row order).

    Parameters
    ----------
    tables : Mapping of str to DataFrame
        The merged tables (:attr:`MergedTables.tables`, or ``MergeResult.crm.tables``).
    log : DataFrame
        The merge log.
    clusters : sequence of str, optional
        Undo only these clusters' merges (default: all).

    Returns
    -------
    Mapping of str to DataFrame
        Every table by name, the merges undone.

    Raises
    ------
    KeyError
        When the log lacks its columns or names a table that is not in ``tables``.
    """
    if not set(LOG_COLUMNS) <= set(log.columns):
        raise KeyError(f"reverse_merges: the log needs columns {', '.join(LOG_COLUMNS)}")
    sel = log if clusters is None else log[log["cluster_id"].astype("str").isin([str(c) for c in clusters])]
    missing = set(sel["table"]) - set(tables)
    if missing:
        raise KeyError(f"reverse_merges: the log names tables not given: {', '.join(sorted(missing))}")
    out = dict(tables)
    for name, part in sel[sel["action"] == "repointed"].groupby("table"):
        df = out[name].copy()
        okey = _key(name, df)
        for col, p in part.groupby("column"):
            pos = pd.Series(np.arange(len(df)), index=df[okey].astype("str").to_numpy())
            rows = pos.reindex(p["record_id"].astype("str")).dropna().astype(int).to_numpy()
            keep = pos.reindex(p["record_id"].astype("str")).notna().to_numpy()
            df.iloc[rows, df.columns.get_loc(col)] = p["old_value"].to_numpy()[keep]
        out[name] = df
    for name, part in sel[sel["action"].isin(["field", "merged"])].groupby("table"):
        df = out[name].copy()
        key = _key(name, df)
        fld = part[part["action"] == "field"]
        pos = pd.Series(np.arange(len(df)), index=df[key].astype("str").to_numpy())
        for col, p in fld.groupby("column"):
            rows = pos.loc[p["record_id"].astype("str")].to_numpy()
            df.iloc[rows, df.columns.get_loc(col)] = _dec(p["old_value"], df[col].dtype).to_numpy()
        mrg = part[part["action"] == "merged"]
        if len(mrg):
            recs = [json.loads(t) for t in mrg["old_value"]]
            back = pd.DataFrame(
                {c: _dec([json.dumps(r.get(c), ensure_ascii=False) for r in recs], df[c].dtype) for c in df.columns}
            )
            back = back.astype(
                {c: df[c].dtype for c in df.columns if not (df[c].dtype == bool and back[c].isna().any())}
            )
            # the kept rows held every position that no logged merge of this table took
            taken = log.loc[(log["action"] == "merged") & (log["table"] == name), "position"].astype(int)
            free = np.setdiff1d(np.arange(len(df) + len(taken)), taken.to_numpy())[: len(df)]
            df = (
                pd.concat(
                    [df.assign(_pos=free), back.assign(_pos=mrg["position"].astype(int).to_numpy())], ignore_index=True
                )
                .sort_values("_pos", kind="stable")
                .drop(columns="_pos")
            )
            df = df.reset_index(drop=True)
        out[name] = df
    return out
