"""Read a live Salesforce org into frames shaped like a downloaded export.

Needs the extra ``pip install funnel-analysis[salesforce]``. Credentials come only
from the environment (:func:`salesforce_client`); nothing here writes them anywhere.

Examples
--------
>>> from funnel_analysis.crm import read_salesforce, write_export  # doctest: +SKIP
>>> frames = read_salesforce(since="2024-01-01")                     # doctest: +SKIP
>>> write_export(frames, "data/raw/sf_2024-06-30")                   # doctest: +SKIP

An incremental read filters on ``SystemModstamp``, the field Salesforce's own replication calls
(``getUpdated``) use: it is indexed and moves on every change, a user's or an automated process's,
so ``LastModifiedDate <= SystemModstamp`` always. Objects without it fall back to
``LastModifiedDate``, then to ``CreatedDate`` (the field-history objects: their rows never change).
``include_deleted=True`` reads through ``queryAll``, so that records deleted since (still in the
recycle bin) come back with ``IsDeleted`` true: what :mod:`funnel_analysis.crm.store` needs.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from funnel_analysis.crm.schema import TABLES, TableSpec

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from funnel_analysis.crm.model import CrmData

__all__ = [
    "DEFAULT_OBJECTS",
    "STAMP_FIELDS",
    "SalesforceConfigError",
    "SalesforceFrames",
    "salesforce_client",
    "read_salesforce",
    "write_export",
    "describe_text",
    "load_salesforce",
]

log = logging.getLogger(__name__)

_INSTALL = "pip install funnel-analysis[salesforce]"
_SESSION_VARS = ("SF_INSTANCE_URL", "SF_ACCESS_TOKEN")
_PASSWORD_VARS = ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN")

#: Salesforce object -> the canonical table its fields come from (Task and Event share one).
_SPECS: dict[str, TableSpec] = {}
for _spec in TABLES.values():
    _SPECS[_spec.sf_object] = _spec
    if "Event" in _spec.extra_file_stems:
        _SPECS["Event"] = _spec
#: Objects read by default: every table's object, plus Event.
DEFAULT_OBJECTS: tuple[str, ...] = tuple(_SPECS)
#: Field types SOQL (or the Bulk API) cannot select as one column.
_COMPOUND = {"address", "location", "base64"}
#: 400 error codes that mean "this org/user has no such object" rather than a bug.
_SKIP_CODES = {"INVALID_TYPE", "NOT_FOUND", "INSUFFICIENT_ACCESS", "API_DISABLED_FOR_ORG"}
#: Salesforce archives closed activities after a year; only queryAll returns archived rows.
_ARCHIVING = {"Task", "Event"}
#: The parts of a describe field kept beside an export (``<Object>.describe.json``).
_DESCRIBE_KEYS = ("name", "type", "label", "custom")
#: The fields an incremental read filters on, in order of preference (see the module's docstring).
STAMP_FIELDS = ("SystemModstamp", "LastModifiedDate", "CreatedDate")
#: Fields every default selection carries when the object has them: the key, the stamp, the deletion flag.
_SYNC_FIELDS = ("Id", *STAMP_FIELDS, "IsDeleted")
#: Seconds simple-salesforce waits before polling a Bulk 2.0 job.
BULK_POLL_SECONDS = 2.0


class SalesforceConfigError(ValueError):
    """The environment does not hold a usable set of Salesforce credentials."""


class SalesforceFrames(dict):
    """Frames keyed by object; ``attrs``: instance, since, and soql/api/skipped per object.

    A ``dict`` of Salesforce object API name -> DataFrame, as
    :func:`read_salesforce` returns it, with an ``attrs`` dict describing the
    read.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`dict`: the initial frames, keyed by object API name.

    Attributes
    ----------
    attrs : dict
        Empty on construction; :func:`read_salesforce` fills ``instance`` (the
        org's host), ``since`` (the SOQL timestamp of an incremental read, a
        dict of them by object when given per object, or None), ``stamp``
        (object -> the field ``since`` filtered on, None when the object has
        none), ``include_deleted`` (whether ``queryAll`` was used), ``soql``
        (object -> the query run), ``api`` (object ->
        ``"bulk2"`` or ``"rest"``), ``skipped`` (object -> why it was left
        out) and ``describe`` (object -> its field definitions, Salesforce's
        describe result cut to each field's name, type, label and custom
        flag: ``{"name": "Lead", "fields": [{"name": "Score__c", "type":
        "double", ...}]}``).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.attrs: dict = {}


def _simple_salesforce():
    try:
        import simple_salesforce
    except ImportError as exc:
        raise ImportError(f"reading a Salesforce org needs simple-salesforce: {_INSTALL}") from exc
    return simple_salesforce


def salesforce_client(env: Mapping[str, str] = os.environ) -> Salesforce:
    """Connect to Salesforce with credentials taken from the environment.

    Parameters
    ----------
    env : Mapping[str, str], default ``os.environ``
        Either ``SF_INSTANCE_URL`` + ``SF_ACCESS_TOKEN`` (an existing OAuth
        session), or ``SF_USERNAME`` + ``SF_PASSWORD`` + ``SF_SECURITY_TOKEN``
        with an optional ``SF_DOMAIN`` (``login``, the default, or ``test``
        for a sandbox). The session pair wins when both sets are present.

    Returns
    -------
    simple_salesforce.Salesforce

    Raises
    ------
    SalesforceConfigError
        If neither set is complete; the message names the variables missing,
        never a value.
    ImportError
        If the ``salesforce`` extra is not installed.
    """
    Salesforce = _simple_salesforce().Salesforce
    val = {k: (env.get(k) or "").strip() for k in (*_SESSION_VARS, *_PASSWORD_VARS, "SF_DOMAIN")}
    if all(val[k] for k in _SESSION_VARS):
        url = val["SF_INSTANCE_URL"]
        url = url if "://" in url else f"https://{url}"
        return Salesforce(instance_url=url, session_id=val["SF_ACCESS_TOKEN"])
    if all(val[k] for k in _PASSWORD_VARS):
        return Salesforce(
            username=val["SF_USERNAME"],
            password=val["SF_PASSWORD"],
            security_token=val["SF_SECURITY_TOKEN"],
            domain=val["SF_DOMAIN"] or "login",
        )
    both = (_SESSION_VARS, _PASSWORD_VARS)
    modes = [m for m in both if any(val[k] for k in m)] or both
    missing = [k for m in modes for k in m if not val[k]]
    raise SalesforceConfigError(
        "Salesforce credentials are read from the environment only: set either SF_INSTANCE_URL and "
        "SF_ACCESS_TOKEN, or SF_USERNAME, SF_PASSWORD and SF_SECURITY_TOKEN (optionally "
        f"SF_DOMAIN=login|test). Missing: {', '.join(missing)}."
    )


def _soql_datetime(since) -> str:
    ts = pd.Timestamp(since)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _select_fields(obj: str, described: dict[str, dict]) -> list[str]:
    """The fields the object has that the schema knows, then its ``__c`` fields."""
    selectable = [n for n, f in described.items() if f.get("type") not in _COMPOUND]
    spec = _SPECS.get(obj)
    if spec is None:  # an object the schema does not know: everything selectable
        return selectable
    lower = {n.lower(): n for n in selectable}
    rels = {
        f["relationshipName"].lower(): f["relationshipName"] for f in described.values() if f.get("relationshipName")
    }
    chosen: list[str] = []
    for col in spec.columns:  # one field per canonical column: sf_name first, then aliases
        for cand in (col.sf_name, *col.aliases):
            head, dot, tail = cand.partition(".")
            if not dot and head.lower() in lower:
                hit = lower[head.lower()]
            elif dot and head.lower() in rels:
                hit = f"{rels[head.lower()]}.{tail}"
            else:
                continue
            if hit not in chosen:
                chosen.append(hit)
            break
    return chosen + [n for n in selectable if n.endswith("__c") and n not in chosen]


def _text(value):
    """A JSON value as it reads in a CSV export (None and "" stay missing)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None or value == "" else str(value)


def _flatten(record: Mapping, prefix: str = "") -> dict:
    out = {}
    for key, value in record.items():
        if isinstance(value, Mapping):  # attributes, or a relationship (UserRole.Name in exports)
            out.update(_flatten(value, f"{prefix}{key}.") if key != "attributes" else {})
        else:
            out[f"{prefix}{key}"] = _text(value)
    return out


def _shape(frame: pd.DataFrame, columns: list[str], datetimes: Iterable[str]) -> pd.DataFrame:
    """Columns in SOQL order (matched case-insensitively), all text, ``Z`` timestamps."""
    lookup = {str(c).lower(): c for c in frame.columns}
    frame = frame.rename(columns={lookup[c.lower()]: c for c in columns if c.lower() in lookup})
    frame = frame.reindex(columns=columns).astype(str)
    for col in datetimes:  # REST says +0000 where exports and Bulk API say Z
        frame[col] = frame[col].str.replace(r"\+0000$", "Z", regex=True)
    return frame


#: An object's or a field's API name (``Lead``, ``Region__c``), a relationship field (``UserRole.Name``):
#: the only text from a caller that goes into SOQL (instants are formatted by :func:`_soql_datetime`).
_OBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")


def _check_names(objects, fields) -> None:
    """One SalesforceConfigError for an object or field name that is not an API name (never into SOQL)."""
    for obj in objects:
        if not isinstance(obj, str) or not _OBJECT_NAME.fullmatch(obj):
            raise SalesforceConfigError(f"object {obj!r} is not a Salesforce API name (letters, digits, _)")
    for obj, names in (fields or {}).items():
        for name in names:
            if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
                raise SalesforceConfigError(
                    f"field {name!r} of {obj} is not a Salesforce API name (letters, digits, _, .)"
                )


def _read_object(sf, obj: str, since: str | None, bulk_threshold: int, override, include_deleted: bool = False):
    described = {f["name"]: f for f in getattr(sf, obj).describe()["fields"] if not f.get("deprecatedAndHidden")}
    columns = list(override) if override else _select_fields(obj, described)
    if not override:  # the key, the stamp and the deletion flag: what an incremental store needs
        columns += [f for f in _SYNC_FIELDS if f in described and f not in columns]
    datetimes = [c for c in columns if described.get(c, {}).get("type") == "datetime"]
    stamp = next((f for f in STAMP_FIELDS if f in described), None)
    conds = [f"{stamp} >= {since}"] if since is not None and stamp else []
    if since is not None and not stamp:
        log.warning("%s has no SystemModstamp, LastModifiedDate or CreatedDate: reading every row", obj)
    archived = obj in _ARCHIVING and "IsDeleted" in described  # queryAll, minus the recycle bin
    if archived and not include_deleted:
        conds.append("IsDeleted = false")
    every = archived or include_deleted  # queryAll: archived activities, and deleted rows when asked
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    soql = f"SELECT {', '.join(columns)} FROM {obj}{where}"
    count = sf.query(f"SELECT COUNT() FROM {obj}{where}", include_deleted=every)["totalSize"]
    if count > bulk_threshold:
        exc_mod = _simple_salesforce().exceptions
        try:
            bulk = getattr(sf.bulk2, obj)
            pages = (bulk.query_all if every else bulk.query)(soql, wait=BULK_POLL_SECONDS)
            parts = [
                pd.read_csv(io.StringIO(p), dtype=str, keep_default_na=False, na_values=[""])
                for p in pages
                if p.strip()
            ]
            frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
            return _shape(frame, columns, datetimes), soql, "bulk2", described, stamp
        except (exc_mod.SalesforceError, exc_mod.SalesforceOperationError) as exc:
            log.warning("Bulk API 2.0 failed for %s (%s): reading it over REST instead", obj, exc)
    records = sf.query_all(soql, include_deleted=every)["records"]
    return _shape(pd.DataFrame([_flatten(r) for r in records]), columns, datetimes), soql, "rest", described, stamp


def _skip_reason(exc) -> str | None:
    """Why an object is skipped, or None if the error is not about access to it."""
    content = exc.content[0] if isinstance(exc.content, list) and exc.content else {}
    content = content if isinstance(content, Mapping) else {}
    code = content.get("errorCode", "")
    if exc.status in (403, 404) or (exc.status == 400 and code in _SKIP_CODES):
        return f"{exc.status} {code or 'error'}: {content.get('message', '')}".strip()
    return None


def read_salesforce(
    sf=None,
    *,
    objects=None,
    since=None,
    bulk_threshold: int = 10_000,
    fields: Mapping[str, Iterable[str]] | None = None,
    progress: bool = True,
    include_deleted: bool = False,
) -> SalesforceFrames:
    """Read Salesforce objects into text frames, as a CSV export would hold them.

    Parameters
    ----------
    sf : simple_salesforce.Salesforce, optional
        A connected client; default :func:`salesforce_client` (the environment).
    objects : iterable of str, optional
        Object API names; default :data:`DEFAULT_OBJECTS`.
    since : str, date, datetime or mapping of str to one of them, optional
        Only rows whose ``SystemModstamp`` (else ``LastModifiedDate``, else
        ``CreatedDate``: :data:`STAMP_FIELDS`) is at or after this instant;
        naive values are UTC. A mapping gives each object its own instant (an
        object it leaves out, or maps to None, is read whole). An object with
        none of those fields is read whole, with a warning. Deletions are seen
        only with ``include_deleted``.
    bulk_threshold : int, default 10_000
        More rows than this: Bulk API 2.0 (CSV results, read like an export),
        else REST ``query_all``; a failed bulk job falls back to REST. Task and
        Event use queryAll with ``IsDeleted = false``: archived activities stay.
    fields : mapping of str to list of str, optional
        Per object, the exact fields to select instead of the fields the object
        has that the schema knows (sf_name or alias) plus every ``__c`` field.
    progress : bool, default True
        Show a tqdm bar over the objects.
    include_deleted : bool, default False
        Read every object through ``queryAll`` (Bulk API 2.0: ``queryAll``),
        so that deleted records still in the recycle bin, and archived
        activities, are returned, with ``IsDeleted`` ``'true'``. Default: only
        live records (activities: queryAll with ``IsDeleted = false``).

    Returns
    -------
    SalesforceFrames
        ``{object: DataFrame}`` with API field names as columns and string
        values (``'true'``/``'false'``, numbers as text, missing as NaN).
        Objects the org lacks or the user cannot read are logged, left out and
        listed in ``attrs["skipped"]``; each object's field definitions are
        in ``attrs["describe"]``, and the field each object's ``since`` filtered
        on in ``attrs["stamp"]`` (see :class:`SalesforceFrames`). Unless
        ``fields`` says otherwise, each object's ``Id``, its stamp field and
        ``IsDeleted`` are selected whenever the object has them.

    Raises
    ------
    SalesforceConfigError
        When no client is given and the environment holds no usable credentials.
    simple_salesforce.exceptions.SalesforceError
        For an API error other than an object the org lacks or the user cannot
        read (those are skipped): a refused session, a server error.
    ValueError
        When ``since`` (or one of its values) is not a timestamp.
    """
    from tqdm.auto import tqdm

    if isinstance(objects, str):
        objects = [objects]
    objects = list(DEFAULT_OBJECTS if objects is None else objects)
    _check_names(objects, fields)
    sf = salesforce_client() if sf is None else sf
    sf_error = _simple_salesforce().exceptions.SalesforceError
    if isinstance(since, Mapping):
        lits = {o: _soql_datetime(t) for o, t in since.items() if t is not None}
        lit = dict(lits)
    else:
        lit = None if since is None else _soql_datetime(since)
        lits = {o: lit for o in objects} if lit is not None else {}
    out = SalesforceFrames()
    out.attrs.update(
        instance=sf.sf_instance,
        since=lit,
        stamp={},
        include_deleted=bool(include_deleted),
        soql={},
        api={},
        skipped={},
        describe={},
    )
    for obj in tqdm(objects, desc="Salesforce", unit="object", disable=not progress):
        try:
            frame, soql, api, described, stamp = _read_object(
                sf, obj, lits.get(obj), bulk_threshold, (fields or {}).get(obj), include_deleted
            )
        except sf_error as exc:
            reason = _skip_reason(exc)
            if reason is None:
                raise
            log.warning("skipping Salesforce object %s: %s", obj, reason)
            out.attrs["skipped"][obj] = reason
            continue
        frame.attrs["soql"] = out.attrs["soql"][obj] = soql
        out.attrs["api"][obj] = api
        out.attrs["stamp"][obj] = stamp
        out.attrs["describe"][obj] = {
            "name": obj,
            "fields": [{k: f[k] for k in _DESCRIBE_KEYS if k in f} for f in described.values()],
        }
        out[obj] = frame
    return out


def describe_text(described: Mapping) -> str:
    """An object's field definitions as the text of its ``<Object>.describe.json`` file.

    Parameters
    ----------
    described : Mapping
        One value of ``frames.attrs["describe"]`` (:class:`SalesforceFrames`):
        ``{"name": "Lead", "fields": [{"name": ..., "type": ...}, ...]}``.

    Returns
    -------
    str
        Indented JSON, non-ASCII kept, ending in a newline: what
        :func:`funnel_analysis.crm.read.read_describe` reads.

    Raises
    ------
    TypeError
        When ``described`` holds something JSON cannot write.

    Examples
    --------
    >>> print(describe_text({"name": "Lead", "fields": [{"name": "Score__c", "type": "double"}]}), end="")
    {
     "name": "Lead",
     "fields": [
      {
       "name": "Score__c",
       "type": "double"
      }
     ]
    }
    """
    return json.dumps(dict(described), indent=1, ensure_ascii=False) + "\n"


def write_export(frames: Mapping[str, pd.DataFrame], out_dir) -> list[Path]:
    """Write each frame to ``<out_dir>/<Object>.csv`` (UTF-8), like a downloaded export.

    The field definitions that :func:`read_salesforce` fetched (``frames.attrs["describe"]``) are
    written beside them, one ``<Object>.describe.json`` per object, so that
    :func:`funnel_analysis.crm.load_org` types the columns the schema does not know (custom
    ``__c`` fields) as the org defines them.

    Parameters
    ----------
    frames : mapping of str to DataFrame
        Keyed by Salesforce object name, e.g. the result of :func:`read_salesforce`.
    out_dir : str or Path
        Created if missing; existing files of the same name are replaced.

    Returns
    -------
    list of Path
        The CSV files written, in the order of ``frames``, then the describe files.

    Raises
    ------
    ValueError
        When a key of ``frames`` is not an object name (letters, digits and ``_``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bad = [name for name in frames if not re.fullmatch(r"\w+", name)]
    if bad:
        raise ValueError(f"not a Salesforce object name: {bad}")
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False, encoding="utf-8", lineterminator="\n")
    described = getattr(frames, "attrs", {}).get("describe") or {}
    written = []
    for name in frames:
        if name in described:
            path = out / f"{name}.describe.json"
            path.write_text(describe_text(described[name]), encoding="utf-8")
            written.append(path)
    return [out / f"{name}.csv" for name in frames] + written


def load_salesforce(sf=None, *, mapping=None, **kwargs) -> CrmData:
    """Read a live org (:func:`read_salesforce` keywords) into ``CrmData`` via ``load_frames``.

    Parameters
    ----------
    sf : simple_salesforce.Salesforce, optional
        A connected client; default :func:`salesforce_client` (the environment).
    mapping : path-like, str or Mapping, optional
        A mapping for :func:`funnel_analysis.crm.load_frames`, when the org's
        fields need renaming; ``None`` (the default): the API field names are
        read as Salesforce names.
    **kwargs
        Keywords of :func:`read_salesforce`: ``objects``, ``since``,
        ``bulk_threshold``, ``fields``, ``progress``.

    Returns
    -------
    CrmData
        The org, validated and cleaned as :func:`funnel_analysis.crm.load_org`
        loads an export, ``crm.meta["source"]`` being ``"salesforce"``.

    Raises
    ------
    SalesforceConfigError
        When no client is given and the environment holds no usable credentials.
    ImportError
        If the ``salesforce`` extra is not installed.
    """
    from funnel_analysis.crm.load import load_frames

    frames = read_salesforce(sf, **kwargs)
    return load_frames(frames, source="salesforce", mapping=mapping, describe=frames.attrs["describe"])
