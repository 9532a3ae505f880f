"""The project's Parquet store of a live Salesforce org: what ``funnel pull`` refreshes.

A store folder (a project's ``data/``) loads with :func:`funnel_analysis.crm.load_org` exactly
like an export folder:

- ``<Object>.parquet``: one file per object, every column text as in an export's CSV (``'true'``,
  numbers as written, timestamps ``...Z``), every row ``queryAll`` returned: deleted records stay,
  ``IsDeleted`` ``'true'``, so the loader counts them as it counts an export's;
- ``<Object>.describe.json``: the object's field definitions, which type its custom fields;
- ``pull.json`` (:data:`MANIFEST`): per object the field the next pull filters on and its
  high-water mark, the rows and deleted rows held, and when it was last read; no credential.

:func:`pull_salesforce` reads, per object, the rows changed since its high-water mark (less
:data:`OVERLAP`) through :func:`~funnel_analysis.crm.salesforce.read_salesforce` with
``include_deleted=True``, upserts them by ``Id`` into what the store holds, writes the whole new
store into a temporary folder beside it and swaps it in with :func:`os.replace`: an error or a
kill before the swap leaves the previous store whole. The first pull (no store yet) and
``full=True`` read everything.

Each object's stamp, in order: ``SystemModstamp``, ``LastModifiedDate``, ``CreatedDate``
(:data:`~funnel_analysis.crm.salesforce.STAMP_FIELDS`). The field-history objects
(``LeadHistory``, ``OpportunityFieldHistory``) have only ``CreatedDate``, which suffices: their
rows are written once and never change. An object with none of the three is read whole at every
pull and its file replaced (``"read": "whole"`` in the manifest).

What no incremental pull can see: a record deleted and purged from the recycle bin (after 15
days, or emptied) between two pulls never comes back through ``queryAll``, so it stays live in the
store until a ``full=True`` pull (which holds exactly what the org returns).

Examples
--------
>>> from funnel_analysis.crm.store import pull_salesforce, read_manifest  # doctest: +SKIP
>>> pull_salesforce("myproject/data").objects[["object", "read", "fetched", "rows"]]  # doctest: +SKIP
>>> read_manifest("myproject/data")["objects"]["Opportunity"]["high_water_mark"]  # doctest: +SKIP
'2025-06-30T05:58:12.000Z'
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .read import DESCRIBE_SUFFIX

__all__ = [
    "MANIFEST",
    "MANIFEST_FORMAT",
    "OVERLAP",
    "StoreError",
    "PullResult",
    "pull_salesforce",
    "read_manifest",
    "store_pulled_at",
    "upsert_rows",
]

#: The store's manifest file.
MANIFEST = "pull.json"
#: The manifest's format version.
MANIFEST_FORMAT = 1
#: How far before an object's high-water mark the next pull starts. A long-running transaction
#: in Salesforce commits rows stamped before rows already visible (``getUpdated``'s
#: ``latestDateCovered`` exists for it); starting a little earlier re-reads a few rows, which the
#: upsert by ``Id`` makes harmless.
OVERLAP = pd.Timedelta(minutes=5)


class StoreError(ValueError):
    """A store folder that cannot be pulled into or read: names the folder and what was expected."""


@dataclass(frozen=True)
class PullResult:
    """What :func:`pull_salesforce` did.

    Attributes
    ----------
    store : pathlib.Path
        The store folder, absolute.
    objects : pandas.DataFrame
        One row per object the store holds: ``object``, ``read`` (``"full"``, ``"incremental"``,
        ``"whole"`` for an object without a stamp field, ``"kept"`` for one not read this time),
        ``stamp_field``, ``since`` (the instant an incremental read started at, else None),
        ``fetched`` (rows the org returned), ``fetched_deleted`` (of which deleted), ``rows`` and
        ``deleted_rows`` (held now), ``high_water_mark``, ``api`` (``"rest"``, ``"bulk2"``).
    skipped : Mapping of str to str
        Objects the org lacks or the user cannot read, with Salesforce's reason.
    pulled_at : pandas.Timestamp
        When the read started (UTC).
    manifest : Mapping
        The manifest written (``pull.json``).
    """

    store: Path
    objects: pd.DataFrame
    skipped: Mapping[str, str]
    pulled_at: pd.Timestamp
    manifest: Mapping


def _iso(ts) -> str:
    """A UTC instant as ``YYYY-MM-DDTHH:MM:SS.mmmZ``, the way Salesforce writes one."""
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def read_manifest(store) -> Mapping:
    """The manifest of a store folder (``pull.json``), checked.

    Parameters
    ----------
    store : path-like
        The store folder.

    Returns
    -------
    Mapping
        ``format``, ``source`` (``"salesforce"``), ``instance`` (the org's host), ``pulled_at`` and
        ``finished_at`` (the last pull), ``objects`` (object -> ``file``, ``stamp_field``,
        ``high_water_mark``, ``rows``, ``deleted_rows``, ``pulled_at``, ``read``, ``fetched``,
        ``since``, ``api``) and ``skipped`` (object -> reason).

    Raises
    ------
    StoreError
        When the folder has no manifest (it is not a store), or the manifest is not JSON or not of
        that shape.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "pull.json").write_text(json.dumps({"format": 1, "objects": {}}))
    >>> read_manifest(d)["format"]
    1
    """
    path = Path(store) / MANIFEST
    if not path.is_file():
        raise StoreError(f"{Path(store)}: has no {MANIFEST}: not a pull store (expected a folder `funnel pull` wrote)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: is not valid JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT or not isinstance(doc.get("objects"), dict):
        raise StoreError(
            f"{path}: is not a pull manifest of format {MANIFEST_FORMAT} "
            '(expected {"format": 1, "objects": {...}}); `funnel pull --full` writes a new one'
        )
    return doc


def store_pulled_at(store) -> pd.Timestamp | None:
    """When a store's data were read: the earliest last pull of any object it holds.

    An object the last pull could not read keeps its data from an earlier pull, so the store is
    only as fresh as its oldest object.

    Parameters
    ----------
    store : path-like
        A folder: a pull store or any other (an export).

    Returns
    -------
    pandas.Timestamp or None
        The instant (UTC, time-zone aware); None when the folder is not a pull store or holds no
        object.

    Raises
    ------
    StoreError
        When the folder has a manifest that cannot be read (see :func:`read_manifest`).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> store_pulled_at(d) is None
    True
    >>> objects = {"Lead": {"pulled_at": "2025-06-30T06:00:00.000Z"},
    ...            "User": {"pulled_at": "2025-06-23T06:00:00.000Z"}}
    >>> _ = (d / "pull.json").write_text(json.dumps({"format": 1, "objects": objects}))
    >>> store_pulled_at(d)
    Timestamp('2025-06-23 06:00:00+0000', tz='UTC')
    """
    if not (Path(store) / MANIFEST).is_file():
        return None
    stamps = [e.get("pulled_at") for e in read_manifest(store)["objects"].values() if isinstance(e, dict)]
    stamps = [pd.Timestamp(s) for s in stamps if s]
    return min(stamps) if stamps else None


def upsert_rows(stored: pd.DataFrame, changed: pd.DataFrame, *, key: str = "Id") -> pd.DataFrame:
    """The rows of ``stored`` with ``changed`` upserted by ``key``: changed rows replace, new ones are added.

    A record ``changed`` holds twice (edited while its pages were read) keeps its last row. A
    deleted record arrives as a changed row (``IsDeleted`` ``'true'``) and so replaces its live
    row. Columns are the union: ``stored``'s, then those only ``changed`` has; a value a frame
    lacks is missing.

    Parameters
    ----------
    stored : pandas.DataFrame
        What the store holds for one object.
    changed : pandas.DataFrame
        The rows read since (the same object's API field names).
    key : str, default "Id"
        The record key column; both frames need it, without missing values.

    Returns
    -------
    pandas.DataFrame
        The rows of ``stored`` that ``changed`` does not hold, in their order, then the rows of
        ``changed``, in theirs; a fresh RangeIndex. The inputs are not modified.

    Raises
    ------
    KeyError
        When a frame has no ``key`` column.
    ValueError
        When a frame has a missing ``key``.

    Examples
    --------
    >>> import pandas as pd
    >>> stored = pd.DataFrame({"Id": ["A", "B"], "StageName": ["Prospecting", "Prospecting"]})
    >>> changed = pd.DataFrame({"Id": ["B", "C"], "StageName": ["Closed Won", "Qualification"]})
    >>> upsert_rows(stored, changed)
      Id      StageName
    0  A    Prospecting
    1  B     Closed Won
    2  C  Qualification
    """
    for name, frame in (("stored", stored), ("changed", changed)):
        if key not in frame.columns:
            raise KeyError(f"{name} rows have no {key!r} column to upsert by")
        if frame[key].isna().any():
            raise ValueError(f"{name} rows have a missing {key!r}: every record needs its key to be upserted")
    changed = changed.drop_duplicates(key, keep="last")
    kept = stored[~stored[key].isin(changed[key])]
    columns = list(stored.columns) + [c for c in changed.columns if c not in stored.columns]
    frames = [f.reindex(columns=columns) for f in (kept, changed) if len(f)]
    if not frames:
        return stored.iloc[:0].reindex(columns=columns).reset_index(drop=True)
    return pd.concat(frames, ignore_index=True)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Every column as Parquet text (nulls where missing), no pandas metadata: an export's CSV as Parquet."""
    table = pa.table(
        {
            str(c): pa.array(frame[c].astype(object).where(frame[c].notna(), None).tolist(), type=pa.string())
            for c in frame.columns
        }
    )
    pq.write_table(table, path)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as exc:
        raise StoreError(
            f"{path}: cannot be read as Parquet ({exc}); `funnel pull --full` rewrites the store"
        ) from None


def _high_water_mark(frame: pd.DataFrame, column: str | None) -> str | None:
    if column is None or column not in frame.columns or not len(frame):
        return None
    latest = pd.to_datetime(frame[column], utc=True, errors="coerce", format="ISO8601").max()
    return None if pd.isna(latest) else _iso(latest)


def _deleted(frame: pd.DataFrame) -> int:
    if "IsDeleted" not in frame.columns:
        return 0
    return int(frame["IsDeleted"].astype("string").str.strip().str.lower().eq("true").sum())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder: the rename is durable enough there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _carry(src: Path, dst: Path) -> None:
    """``src`` into the new store unchanged: a hard link (files are never changed in place), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _tidy(store: Path) -> None:
    """Under the pull lock: put back a store a kill left moved aside, and remove leftovers of killed pulls."""
    parent = store.parent
    olds = sorted(parent.glob(f".{store.name}.old-*"))
    if not store.exists() and olds:  # killed between the two renames of the swap
        os.replace(olds.pop(), store)
    for left in [*olds, *parent.glob(f".{store.name}.pull-*")]:
        shutil.rmtree(left, ignore_errors=True)


def _swap(new: Path, store: Path) -> None:
    """Put folder ``new`` in the place of ``store``, each whole: two renames, the old store removed last."""
    if not store.exists():
        os.replace(new, store)
        _fsync_dir(store.parent)
        return
    old = store.parent / f".{store.name}.old-{time.time_ns()}"
    os.replace(store, old)
    try:
        os.replace(new, store)
    except BaseException:
        os.replace(old, store)
        raise
    _fsync_dir(store.parent)
    shutil.rmtree(old, ignore_errors=True)


def _check_folder(store: Path, manifest: Mapping | None) -> None:
    """Refuse a folder whose data files the store does not own: the loader would read them twice."""
    if not store.exists():
        return
    if not store.is_dir():
        raise StoreError(f"{store}: is not a folder (expected the project's data folder, or a new one)")
    owned = {e.get("file") for e in (manifest or {}).get("objects", {}).values() if isinstance(e, dict)}
    foreign = sorted(
        p.name
        for p in store.iterdir()
        if p.is_file() and p.suffix.lower() in (".csv", ".parquet") and p.name not in owned
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise StoreError(
            f"{store}: holds data files a pull did not write ({shown}); expected an empty folder or one "
            "`funnel pull` wrote: pull into another folder, or move the export elsewhere"
        )


def pull_salesforce(
    store,
    *,
    sf=None,
    objects=None,
    full: bool = False,
    bulk_threshold: int = 10_000,
    progress: bool = True,
    now=None,
) -> PullResult:
    """Refresh a Parquet store from a live org: incremental by ``SystemModstamp``, deletions included, atomic.

    Parameters
    ----------
    store : path-like
        The store folder (a project's ``data/``); created on the first pull. A folder holding
        other data files (an export's CSVs) is refused.
    sf : simple_salesforce.Salesforce, optional
        A connected client; default
        :func:`~funnel_analysis.crm.salesforce.salesforce_client` (credentials from the
        environment only).
    objects : iterable of str, optional
        The objects to read; default
        :data:`~funnel_analysis.crm.salesforce.DEFAULT_OBJECTS`. Objects the store holds and this
        pull does not read are kept as they are.
    full : bool, default False
        Re-read every object whole and replace what the store holds for it. The first pull into a
        folder, and any object without a high-water mark yet, is read whole anyway.
    bulk_threshold : int, default 10_000
        As for :func:`~funnel_analysis.crm.salesforce.read_salesforce`.
    progress : bool, default True
        Show a bar over the objects as they are read.
    now : datetime-like, optional
        The time recorded as the pull's (default: the current time); for tests.

    Returns
    -------
    PullResult
        The store, one row per object held (how it was read, rows fetched and held, high-water
        mark), the skipped objects, the pull's time and the manifest written.

    Raises
    ------
    StoreError
        When the folder holds data files a pull did not write, its manifest cannot be read, the
        store was pulled from another org (an incremental pull would mix two orgs: use
        ``full=True``), or an object came back without an ``Id`` column.
    SalesforceConfigError
        When no client is given and the environment holds no usable credentials.
    simple_salesforce.exceptions.SalesforceError, requests.RequestException
        When Salesforce refuses the session or the network fails; the store is unchanged.
    """
    from filelock import FileLock

    from .salesforce import DEFAULT_OBJECTS, describe_text, read_salesforce, salesforce_client

    store = Path(store).absolute()
    store.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(store.parent / f".{store.name}.pull.lock")):
        _tidy(store)
        manifest = read_manifest(store) if (store / MANIFEST).exists() else None
        _check_folder(store, manifest)
        before = {} if manifest is None else dict(manifest["objects"])
        sf = salesforce_client() if sf is None else sf
        if before and not full and manifest.get("instance") not in (None, sf.sf_instance):
            raise StoreError(
                f"{store}: was pulled from {manifest.get('instance')}, not {sf.sf_instance}; an incremental "
                "pull would mix two orgs (expected the same org, or `funnel pull --full` to replace the store)"
            )
        wanted = [objects] if isinstance(objects, str) else list(DEFAULT_OBJECTS if objects is None else objects)
        marks = {} if full else {o: e.get("high_water_mark") for o, e in before.items() if o in wanted}
        since = {o: pd.Timestamp(m) - OVERLAP for o, m in marks.items() if m}
        started = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
        started = started.tz_localize("UTC") if started.tzinfo is None else started.tz_convert("UTC")
        frames = read_salesforce(
            sf, objects=wanted, since=since, include_deleted=True, bulk_threshold=bulk_threshold, progress=progress
        )
        new = store.parent / f".{store.name}.pull-{time.time_ns()}"
        try:
            new.mkdir()
            entries, rows = {}, []
            for obj, changed in frames.items():
                if "Id" not in changed.columns:
                    raise StoreError(f"{obj}: came back without an Id column (expected Id among the fields read)")
                stamp = frames.attrs["stamp"].get(obj)
                previous = before.get(obj) or {}
                incremental = obj in since and stamp is not None
                if incremental and previous.get("stamp_field") != stamp:
                    raise StoreError(
                        f"{store}: {obj} was pulled by {previous.get('stamp_field')} and now has {stamp}: its "
                        "high-water mark no longer applies (expected `funnel pull --full`)"
                    )
                if incremental:
                    merged = upsert_rows(_read_parquet(store / previous["file"]), changed)
                    how = "incremental"
                else:
                    merged = changed.drop_duplicates("Id", keep="last").reset_index(drop=True)
                    how = "full" if stamp is not None else "whole"
                file = f"{obj}.parquet"
                _write_parquet(merged, new / file)
                if obj in frames.attrs["describe"]:
                    (new / f"{obj}{DESCRIBE_SUFFIX}").write_text(
                        describe_text(frames.attrs["describe"][obj]), encoding="utf-8"
                    )
                entries[obj] = {
                    "file": file,
                    "stamp_field": stamp,
                    "high_water_mark": _high_water_mark(merged, stamp),
                    "rows": len(merged),
                    "deleted_rows": _deleted(merged),
                    "pulled_at": _iso(started),
                    "read": how,
                    "since": _iso(since[obj]) if incremental else None,
                    "fetched": len(changed),
                    "fetched_deleted": _deleted(changed),
                    "api": frames.attrs["api"].get(obj),
                }
            for obj, entry in before.items():  # not read this time (skipped, or not asked for): kept as it was
                if obj in entries or not (store / str(entry.get("file"))).is_file():
                    continue
                _carry(store / entry["file"], new / entry["file"])
                describe = store / f"{obj}{DESCRIBE_SUFFIX}"
                if describe.is_file():
                    _carry(describe, new / describe.name)
                entries[obj] = dict(entry, read="kept", fetched=0, fetched_deleted=0, since=None)
            if store.is_dir():  # the folder's other files (a README, .gitkeep) stay
                store_files = {MANIFEST} | {e["file"] for e in entries.values()}
                store_files |= {f"{o}{DESCRIBE_SUFFIX}" for o in entries}
                for p in store.iterdir():
                    if p.is_file() and p.name not in store_files and not (new / p.name).exists():
                        _carry(p, new / p.name)
            doc = {
                "format": MANIFEST_FORMAT,
                "source": "salesforce",
                "instance": frames.attrs.get("instance"),
                "pulled_at": _iso(started),
                "finished_at": _iso(pd.Timestamp.now(tz="UTC")),
                "objects": dict(sorted(entries.items())),
                "skipped": dict(frames.attrs.get("skipped") or {}),
            }
            (new / MANIFEST).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            for p in new.iterdir():  # on disk before the swap makes them the store
                with open(p, "rb") as fh:
                    os.fsync(fh.fileno())
            _swap(new, store)
        finally:
            if new.exists():
                shutil.rmtree(new, ignore_errors=True)
    for obj, entry in doc["objects"].items():
        rows.append({"object": obj} | {k: entry.get(k) for k in _RESULT_COLUMNS[1:]})
    return PullResult(
        store,
        pd.DataFrame(rows, columns=list(_RESULT_COLUMNS)),
        doc["skipped"],
        started,
        doc,
    )


_RESULT_COLUMNS = (
    "object",
    "read",
    "stamp_field",
    "since",
    "fetched",
    "fetched_deleted",
    "rows",
    "deleted_rows",
    "high_water_mark",
    "api",
)
