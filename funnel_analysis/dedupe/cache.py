"""The de-duplication result cache: a :class:`.pipeline.DedupeResult` kept on disk, checked when it is read.

Training the model and scoring the pairs is the costly part of the duplicates report; for the same
records and the same parameters the result is the same, so it is written once and read back. A
result is stored under ``<folder>/<key>/`` (``features``, ``pairs``, ``clusters`` and ``review`` as
Parquet, ``result.json`` beside them) where the key is a hash of the records' content, the accounts'
(contacts borrow their company name), the parameters, the package version and ``dedupe.yaml``. The
report's two other costly parts are kept the same way, one Parquet file each: the leads that match a
contact (:func:`cached_lead_contact_matches`, ``pairs``) and the scores against the org's own merges
(:func:`cached_org_merge_scores`, ``scores``), which measure the report's own matcher (the kept records'
result: the report's entry, read back). Each object's trained model is an entry of its own
(:func:`cached_object_model`: splink's settings in ``result.json``, keyed by the records, the blocking
rules, the seed and the SQL dialect, not by the thresholds), so that another threshold does not train it again.

``result.json`` records, when written, the key, the org's fingerprint and a checksum of every
Parquet file, in the way :meth:`funnel_analysis.crm.CrmData.to_parquet` does. Reading checks them
all: a file cut short by a crash or a full disk, a file or a whole folder copied from another org (a
valid Parquet file of other data), a missing file or an unreadable ``result.json`` is not used. The
result is then rebuilt from the records and written again, with one log line (``WARNING`` on the
``funnel_analysis.dedupe.cache`` logger) naming the file and what was wrong.

Examples
--------
>>> import funnel_analysis as fa
>>> from funnel_analysis.dedupe.cache import cached_find_duplicates
>>> crm = fa.load_org("data/sample")                                                 # doctest: +SKIP
>>> found = cached_find_duplicates(crm.accounts, table="accounts", folder="/tmp/dd")  # doctest: +SKIP
>>> again = cached_find_duplicates(crm.accounts, table="accounts", folder="/tmp/dd")  # doctest: +SKIP
>>> again.clusters.equals(found.clusters)                                            # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from . import pipeline
from .normalize import load_dedupe_config
from .pipeline import DedupeResult

__all__ = [
    "FORMAT",
    "DedupeCacheError",
    "result_key",
    "write_result",
    "read_result",
    "model_key",
    "cached_object_model",
    "cached_find_duplicates",
    "cached_lead_contact_matches",
    "cached_org_merge_scores",
]

logger = logging.getLogger(__name__)

#: Version of the on-disk layout (a change makes every older entry a miss, never a wrong read).
FORMAT = 2
_FRAMES = ("features", "pairs", "clusters", "review")
_SCALARS = ("table", "threshold", "review_threshold", "candidate_pairs", "threshold_source")


class DedupeCacheError(ValueError):
    """A cached result that is not what was written: names the file and what is wrong.

    Parameters
    ----------
    file : path-like
        The file at fault (``result.json`` or one of the Parquet files).
    message : str
        What is wrong with it.
    """

    def __init__(self, file, message: str):
        self.file = str(file)
        super().__init__(f"{self.file}: {message}")


def _checksum(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _frame_hash(df: pd.DataFrame | None) -> str:
    """A hash of a frame's content (columns, their order, their dtypes and every value; not its index).

    Each column is hashed in its own type (:func:`pandas.util.hash_pandas_object`: dates by their
    instants, text by its characters, an object column of mixed types by each value's text), not
    through its text: writing out a lead table's date-times was most of a warm report's key.
    """
    h = hashlib.blake2b(digest_size=16)
    if df is None:
        h.update(b"none")
        return h.hexdigest()
    h.update(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    h.update(str(len(df)).encode())
    if len(df):
        for i in range(df.shape[1]):  # by position: a frame may repeat a column name
            column = df.iloc[:, i]
            text = _arrow_text(column)
            if text is None:
                h.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
            else:
                h.update(b"text")
                for part in text:
                    h.update(part)
    return h.hexdigest()


def _arrow_text(column: pd.Series) -> tuple | None:
    """An Arrow text column's content as bytes: which values are missing, each value's length in bytes, and
    the characters, laid end to end. The same for the same values however the column is chunked or sliced.
    None for any other column.

    pandas hashes an Arrow text column value by value, through Python objects: 60 ms for a million
    leads' column, 12.7 of a cold duplicates report's 108 s CPU at scale 50 (its ten keys); blake2b
    reads these bytes at several hundred MB/s.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"):
        return None
    data = pa.array(column)  # the column's own Arrow data, not copied
    data = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    present = np.asarray(data.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    filled = pc.fill_null(data, "")  # a missing value's slot may hold any characters
    wide = np.int64 if pa.types.is_large_string(filled.type) else np.int32
    offsets = np.frombuffer(filled.buffers()[1], dtype=wide)[filled.offset : filled.offset + len(filled) + 1]
    chars = filled.buffers()[2]
    chars = b"" if chars is None else memoryview(chars)[int(offsets[0]) : int(offsets[-1])]
    return present.tobytes(), np.diff(offsets).astype(np.int64).tobytes(), chars


def result_key(
    records: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    table: str,
    threshold=None,
    review_threshold=None,
    min_probability: float = 0.01,
    rules=None,
    seed: int = 42,
    model=None,
) -> str:
    """The cache key of one :func:`.pipeline.find_duplicates` call: what its result depends on, hashed.

    Parameters
    ----------
    records, accounts : DataFrame
        As for :func:`.pipeline.find_duplicates` (the accounts count only for contacts).
    table : str
        ``leads``, ``contacts`` or ``accounts``.
    threshold, review_threshold, min_probability, rules, seed, model
        As for :func:`.pipeline.find_duplicates` (a model given is part of the key: its settings hashed).

    Returns
    -------
    str
        32 hex digits; the same for the same records and parameters, in this package version with
        this ``dedupe.yaml``.

    Raises
    ------
    ValueError
        When ``records`` is not a DataFrame.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"lead_id": ["L1", "L2"], "email": ["a@b.io", "a@b.io"]})
    >>> result_key(a, table="leads") == result_key(a.copy(), table="leads")
    True
    >>> result_key(a, table="leads") == result_key(a, table="leads", seed=1)
    False
    """
    from importlib.metadata import version  # the package's own version, without importing it upward

    if not isinstance(records, pd.DataFrame):
        raise ValueError(f"result_key: records must be a DataFrame, not {type(records).__name__}")
    params = {
        "format": FORMAT,
        "version": version("funnel-analysis"),
        "config": load_dedupe_config(),
        "table": table,
        "threshold": threshold,
        "review_threshold": review_threshold,
        "min_probability": min_probability,
        "rules": None if rules is None else ["+".join(r) if not isinstance(r, str) else r for r in rules],
        "seed": seed,
        "model": None if model is None else _settings_hash(model),
        "records": _frame_hash(records),
        "accounts": _frame_hash(accounts) if table == "contacts" else None,
    }
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def write_result(found: DedupeResult, folder, *, key: str, fingerprint: str | None = None) -> Path:
    """Write ``found`` to ``<folder>/<key>/`` with the checksums of its files (atomically: a reader sees
    the old entry or the whole new one).

    Parameters
    ----------
    found : DedupeResult
        The result to keep.
    folder : str or Path
        The cache folder (created if missing).
    key : str
        Its key (:func:`result_key`).
    fingerprint : str, optional
        The org's fingerprint (``crm.meta["fingerprint"]``), recorded for the reader.

    Returns
    -------
    Path
        The entry's folder.

    Raises
    ------
    ValueError
        When ``key`` is not a plain name (letters, digits, ``-`` and ``_``).
    """
    if not key or not all(ch.isalnum() or ch in "-_" for ch in key):
        raise ValueError(f"write_result: the key {key!r} is not a plain name")
    doc = {name: getattr(found, name) for name in _SCALARS} | {"rules": list(found.rules), "model": found.model}
    return _write_entry(folder, key, {name: getattr(found, name) for name in _FRAMES}, doc, fingerprint=fingerprint)


def _write_entry(folder, key: str, frames: dict, doc: dict, *, fingerprint: str | None) -> Path:
    """``<folder>/<key>/``: each frame as ``<name>.parquet`` and ``result.json`` (``doc`` with the format, key,
    fingerprint and the files' checksums), written atomically: a reader sees the old entry or the whole new one."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / key
    tmp = folder / f".{key}.{os.getpid()}.{time.time_ns()}"
    tmp.mkdir()
    try:
        for name, frame in frames.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        doc = {"format": FORMAT, "key": key, "fingerprint": fingerprint, **doc}
        doc["checksums"] = {f"{name}.parquet": _checksum(tmp / f"{name}.parquet") for name in frames}
        (tmp / "result.json").write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_result(folder, *, key: str, fingerprint: str | None = None) -> DedupeResult:
    """Read the entry ``<folder>/<key>/``, checked against what was recorded when it was written.

    Parameters
    ----------
    folder : str or Path
        The cache folder.
    key : str
        The entry's key (:func:`result_key`); ``result.json`` must record the same.
    fingerprint : str, optional
        When given, the org fingerprint ``result.json`` must record.

    Returns
    -------
    DedupeResult
        The result as it was written.

    Raises
    ------
    DedupeCacheError
        Naming the file and what is wrong: no entry, ``result.json`` unreadable or of another key,
        format or org, a file missing, or a file that differs from its recorded checksum.
    """
    doc, frames = _read_entry(folder, key, _FRAMES, fingerprint=fingerprint, what="dedup result")
    doc_path = Path(folder) / key / "result.json"
    try:
        return DedupeResult(
            **frames,
            table=str(doc["table"]),
            threshold=float(doc["threshold"]),
            review_threshold=float(doc["review_threshold"]),
            candidate_pairs=int(doc["candidate_pairs"]),
            threshold_source=str(doc["threshold_source"]),
            rules=tuple(doc["rules"]),
            model=doc.get("model"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DedupeCacheError(doc_path, f"lacks a field ({exc})") from None


def _read_entry(folder, key: str, names, *, fingerprint: str | None, what: str) -> tuple[dict, dict]:
    """``result.json`` and the frames ``names`` of ``<folder>/<key>/``, each file checked against what was
    recorded when it was written (:class:`DedupeCacheError` naming the file and what is wrong)."""
    entry = Path(folder) / key
    doc_path = entry / "result.json"
    if not doc_path.exists():
        raise DedupeCacheError(doc_path, "is missing")
    try:
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DedupeCacheError(doc_path, f"cannot be read ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DedupeCacheError(doc_path, f"is not a format-{FORMAT} {what}")
    if doc.get("key") != key:
        raise DedupeCacheError(doc_path, f"holds the result {doc.get('key')!r}, not {key!r}")
    if fingerprint is not None and doc.get("fingerprint") != fingerprint:
        raise DedupeCacheError(doc_path, f"is of the data {doc.get('fingerprint')!r}, not {fingerprint!r}")
    sums = doc.get("checksums")
    if not isinstance(sums, dict) or set(sums) != {f"{n}.parquet" for n in names}:
        raise DedupeCacheError(doc_path, "records no checksums of its files")
    frames = {}
    for name in names:
        path = entry / f"{name}.parquet"
        if not path.exists():
            raise DedupeCacheError(path, "is missing")
        if _checksum(path) != sums[path.name]:
            raise DedupeCacheError(path, "differs from what was written (cut short, damaged or replaced)")
        frames[name] = pd.read_parquet(path)
    return doc, frames


def cached_find_duplicates(
    records: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    table: str,
    folder,
    fingerprint: str | None = None,
    threshold=None,
    review_threshold=None,
    min_probability: float = 0.01,
    rules=None,
    seed: int = 42,
    engine="duckdb",
    model=None,
) -> DedupeResult:
    """:func:`.pipeline.find_duplicates`, read from the cache in ``folder`` when an entry of the same records
    and parameters is there and intact; else computed and written there.

    Without ``model``, the object's model is read from its entry (:func:`cached_object_model`) when
    there, and written there when trained here: the same model for other thresholds, or for
    :func:`cached_org_merge_scores`, is not trained again.

    Parameters
    ----------
    records, accounts, table, threshold, review_threshold, min_probability, rules, seed, engine, model
        As for :func:`.pipeline.find_duplicates`; ``engine`` is not part of the entry's key (DuckDB and
        Spark give the same result: ``tests/dedupe/test_spark_backend.py``), only of the model's (its SQL).
    folder : str or Path
        The cache folder.
    fingerprint : str, optional
        The org's fingerprint, recorded with the entry and required of it when read.

    Returns
    -------
    DedupeResult
        The same as :func:`.pipeline.find_duplicates` gives.

    Raises
    ------
    ValueError
        As :func:`.pipeline.find_duplicates` does (an unknown object, no records, a bad threshold).

    A damaged or foreign entry is rebuilt, with one ``WARNING`` line; a cache folder that cannot
    be written leaves the result computed and says so in one line too.
    """
    options = dict(
        table=table,
        threshold=threshold,
        review_threshold=review_threshold,
        min_probability=min_probability,
        rules=rules,
        seed=seed,
    )
    key = result_key(records, accounts, **options, model=model)
    entry = Path(folder) / key
    if entry.exists():
        try:
            return read_result(folder, key=key, fingerprint=fingerprint)
        except DedupeCacheError as exc:
            logger.warning("dedup cache: %s; rebuilt", exc)
        except Exception as exc:  # noqa: BLE001 - an unreadable Parquet file: rebuilt, whatever pyarrow raised
            logger.warning("dedup cache: %s: cannot be read (%s); rebuilt", entry, type(exc).__name__)
    own = model is None  # the object's own model: read from its entry, or kept there once trained
    mkey = model_key(records, accounts, table=table, rules=rules, seed=seed, engine=engine) if own else None
    if own:
        model = _read_model(folder, mkey, fingerprint=fingerprint)
    found = pipeline.find_duplicates(records, accounts, **options, engine=engine, model=model)
    try:
        write_result(found, folder, key=key, fingerprint=fingerprint)
        if own and model is None and found.model is not None:
            _write_model(folder, mkey, found.model, fingerprint=fingerprint)
    except OSError as exc:
        logger.warning("dedup cache: %s cannot be written (%s); the result is not kept", entry, exc.strerror or exc)
    return found


def _dialect(engine) -> str:
    """The SQL a model trained on ``engine`` is written in (:func:`.match.splink_api`), without starting it."""
    if isinstance(engine, str):
        return "spark" if engine == "spark" else "duckdb"
    if getattr(engine, "name", None) == "spark" or hasattr(engine, "sparkContext"):
        return "spark"
    return "duckdb"


def _settings_hash(settings) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:32]


def model_key(
    records: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    table: str,
    rules=None,
    seed: int = 42,
    engine="duckdb",
) -> str:
    """The cache key of one object's trained model (:func:`.pipeline.object_model`): what training depends on.

    Parameters
    ----------
    records, accounts, table, rules, seed, engine
        As for :func:`.pipeline.object_model` (the accounts count only for contacts; of ``engine`` only
        its SQL dialect, DuckDB's or Spark's). The thresholds are not part of it: they do not change the model.

    Returns
    -------
    str
        32 hex digits.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"lead_id": ["L1", "L2"], "email": ["a@b.io", "a@b.io"]})
    >>> model_key(a, table="leads") == model_key(a.copy(), table="leads", engine="pandas")
    True
    >>> model_key(a, table="leads") == model_key(a, table="leads", engine="spark")
    False
    """
    rules = None if rules is None else ["+".join(r) if not isinstance(r, str) else r for r in rules]
    frames = (records, accounts if table == "contacts" else None)
    return _kind_key("model", frames, table=table, rules=rules, seed=seed, dialect=_dialect(engine))


def _read_model(folder, key: str, *, fingerprint: str | None):
    """The model of the entry ``<folder>/<key>/`` when it is there and intact, else None (a damaged or
    foreign entry said in one ``WARNING`` line)."""
    if not (Path(folder) / key).exists():
        return None
    try:
        doc, _ = _read_entry(folder, key, (), fingerprint=fingerprint, what="model entry")
        model = doc.get("model")
        if doc.get("kind") != "model" or not isinstance(model, dict) or doc.get("model_hash") != _settings_hash(model):
            raise DedupeCacheError(Path(folder) / key / "result.json", "holds no intact model")
        return model
    except DedupeCacheError as exc:
        logger.warning("dedup cache: %s; rebuilt", exc)
    return None


def _write_model(folder, key: str, model, *, fingerprint: str | None) -> Path:
    doc = {"kind": "model", "model": model, "model_hash": _settings_hash(model)}
    return _write_entry(folder, key, {}, doc, fingerprint=fingerprint)


def cached_object_model(
    records: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    table: str,
    folder,
    fingerprint: str | None = None,
    rules=None,
    seed: int = 42,
    engine="duckdb",
) -> Mapping | None:
    """:func:`.pipeline.object_model`, read from the cache in ``folder`` when the entry of the same records,
    rules, seed and SQL dialect is there and intact (:func:`cached_find_duplicates` writes it too); else
    trained and written there.

    Parameters
    ----------
    records, accounts, table, rules, seed, engine
        As for :func:`.pipeline.object_model`.
    folder : str or Path
        The cache folder.
    fingerprint : str, optional
        The org's fingerprint, recorded with the entry and required of it when read.

    Returns
    -------
    Mapping or None
        The model's settings, as :func:`.pipeline.object_model` gives them.

    Raises
    ------
    ValueError
        As :func:`.pipeline.object_model` does.

    The entry (``result.json``: the settings, their hash, the key and the fingerprint) is checked as
    :func:`read_result` checks a duplicates result; a damaged or foreign one is rebuilt with one
    ``WARNING`` line.
    """
    key = model_key(records, accounts, table=table, rules=rules, seed=seed, engine=engine)
    model = _read_model(folder, key, fingerprint=fingerprint)
    if model is not None:
        return model
    model = pipeline.object_model(records, accounts, table=table, rules=rules, seed=seed, engine=engine)
    if model is not None:
        try:
            _write_model(folder, key, model, fingerprint=fingerprint)
        except OSError as exc:
            logger.warning(
                "dedup cache: %s cannot be written (%s); the model is not kept", Path(folder) / key, exc.strerror or exc
            )
    return model


def cached_lead_contact_matches(
    leads: pd.DataFrame,
    contacts: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    folder,
    fingerprint: str | None = None,
    threshold: float = 0.5,
    seed: int = 42,
    engine="duckdb",
    lead_features: pd.DataFrame | None = None,
    contact_features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`.pipeline.lead_contact_matches`, read from the cache in ``folder`` when an entry of the same
    records and parameters is there and intact; else computed and written there.

    The entry (``<folder>/<key>/``: ``pairs.parquet`` and ``result.json`` with its checksum, the key and the
    org's fingerprint) is checked as :func:`read_result` checks a duplicates result; a damaged or foreign
    one is rebuilt with one ``WARNING`` line.

    Parameters
    ----------
    leads, contacts, accounts, threshold, seed, engine, lead_features, contact_features
        As for :func:`.pipeline.lead_contact_matches` (``engine`` and the features, which the records
        determine, not part of the key).
    folder : str or Path
        The cache folder.
    fingerprint : str, optional
        The org's fingerprint, recorded with the entry and required of it when read.

    Returns
    -------
    DataFrame
        The same pairs as :func:`.pipeline.lead_contact_matches` gives.

    Raises
    ------
    ValueError
        As :func:`.pipeline.lead_contact_matches` does.
    """
    key = _kind_key("lead_contact", (leads, contacts, accounts), threshold=threshold, seed=seed)
    compute = partial(
        pipeline.lead_contact_matches,
        leads,
        contacts,
        accounts,
        threshold=threshold,
        seed=seed,
        engine=engine,
        lead_features=lead_features,
        contact_features=contact_features,
    )
    return _cached_frame(folder, key, "pairs", kind="lead_contact", fingerprint=fingerprint, compute=compute)


def cached_org_merge_scores(
    records: pd.DataFrame,
    merged_rows: pd.DataFrame,
    merges: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    table: str,
    folder,
    fingerprint: str | None = None,
    threshold=None,
    seed: int = 42,
    found: DedupeResult | None = None,
) -> pd.DataFrame:
    """:func:`.pipeline.org_merge_scores`, read from the cache in ``folder`` when an entry of the same
    records, merges, parameters and matcher is there and intact; else computed and written there.

    The entry (``<folder>/<key>/``: ``scores.parquet`` and ``result.json`` with its checksum, the key and
    the org's fingerprint) is checked as :func:`read_result` checks a duplicates result; a damaged or
    foreign one is rebuilt with one ``WARNING`` line. Its key holds the kept and merged-away records,
    the merges, the threshold and seed, and, when ``found`` is given, the matcher it is (its model's
    settings, its threshold, its blocking rules and the pairs it linked, hashed). Without ``found``, the
    kept records' result is :func:`cached_find_duplicates` in ``folder`` (the duplicates report's own
    entry, read back: not trained or scored again), computed only when the scores are.

    Parameters
    ----------
    records, merged_rows, merges, accounts, table, threshold, seed, found
        As for :func:`.pipeline.org_merge_scores`.
    folder : str or Path
        The cache folder.
    fingerprint : str, optional
        The org's fingerprint, recorded with the entry and required of it when read.

    Returns
    -------
    DataFrame
        The same row as :func:`.pipeline.org_merge_scores` gives (:data:`.pipeline.MERGE_SCORE_COLUMNS`).

    Raises
    ------
    ValueError
        As :func:`.pipeline.org_merge_scores` does.
    KeyError
        As :func:`.pipeline.org_merge_scores` does.
    """
    frames = (records, merged_rows, merges, accounts if table == "contacts" else None)
    matcher = None if found is None else _matcher_hash(found)
    # "method": the report's matcher on the pairs with a merged-away record (not one match of all records)
    key = _kind_key(
        "org_merge_scores", frames, table=table, threshold=threshold, seed=seed, method="report", matcher=matcher
    )

    def compute():
        kept = found
        if kept is None:  # the duplicates report's own result on the kept records, read back when it is there
            kept = cached_find_duplicates(
                records, accounts, table=table, folder=folder, fingerprint=fingerprint, threshold=threshold, seed=seed
            )
        return pipeline.org_merge_scores(
            records, merged_rows, merges, accounts, table=table, threshold=threshold, seed=seed, found=kept
        )

    return _cached_frame(folder, key, "scores", kind="org_merge_scores", fingerprint=fingerprint, compute=compute)


def _matcher_hash(found: DedupeResult) -> str:
    """What of ``found`` the scores against the org's merges depend on: its model, threshold, rules and
    linked pairs (the features follow from the records, part of the key already), hashed."""
    linked = found.pairs[found.pairs["match_probability"] >= found.threshold][["id_l", "id_r"]]
    doc = {
        "table": found.table,
        "model": None if found.model is None else _settings_hash(found.model),
        "threshold": float(found.threshold),
        "threshold_source": found.threshold_source,
        "rules": list(found.rules),
        "linked": _frame_hash(linked.astype("str").reset_index(drop=True)),
        "records": len(found.features),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def _kind_key(kind: str, frames, **params) -> str:
    """The key of an entry of ``kind`` (one frame): the frames' content, the parameters, the package
    version and ``dedupe.yaml``, hashed (32 hex digits)."""
    from importlib.metadata import version  # the package's own version, without importing it upward

    doc = {
        "format": FORMAT,
        "kind": kind,
        "version": version("funnel-analysis"),
        "config": load_dedupe_config(),
        **params,
        "frames": [_frame_hash(f) for f in frames],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _cached_frame(folder, key: str, name: str, *, kind: str, fingerprint: str | None, compute) -> pd.DataFrame:
    """The frame ``name`` of the entry ``<folder>/<key>/`` when it is intact, else ``compute()``, written
    there; a damaged or foreign entry is rebuilt with one ``WARNING`` line, an unwritable folder said in one."""
    entry = Path(folder) / key
    what = f"{kind.replace('_', '-')} entry"
    if entry.exists():
        try:
            return _read_entry(folder, key, (name,), fingerprint=fingerprint, what=what)[1][name]
        except DedupeCacheError as exc:
            logger.warning("dedup cache: %s; rebuilt", exc)
        except Exception as exc:  # noqa: BLE001 - an unreadable Parquet file: rebuilt, whatever pyarrow raised
            logger.warning("dedup cache: %s: cannot be read (%s); rebuilt", entry, type(exc).__name__)
    frame = compute()
    try:
        _write_entry(folder, key, {name: frame}, {"kind": kind}, fingerprint=fingerprint)
    except OSError as exc:
        logger.warning("dedup cache: %s cannot be written (%s); the result is not kept", entry, exc.strerror or exc)
    return frame
