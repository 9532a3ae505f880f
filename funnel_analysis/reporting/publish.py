"""Publishing report runs so that a bad night never destroys a good report.

A run is written into a staging folder under ``<out>/.tmp/<report>/`` (same file system as the
published runs) and published by one atomic ``rename`` to ``<out>/<report>/<as_of>/`` (or
``<as_of>.2``, ``.3``... when that day was already published: a published run is never
overwritten). A crash, a kill or a full disk midway leaves only a staging folder, which the next
run of that report removes; the published runs are untouched.

One lock per report (:func:`report_lock`, a ``filelock`` ``flock`` on ``<out>/.locks/``) makes two
runners at once, on one machine or on two sharing the folder, run each report once. The operating
system releases an ``flock`` when its process dies, so a crashed run leaves no stuck lock.
(On NFS, Linux maps ``flock`` to NFS byte-range locks, which hold across clients.)

The Parquet caches of the data (``<out>/.cache/<fingerprint>/``, one per distinct export) are
pruned too (:func:`prune_caches`): each use touches its folder, and only caches neither among the
most recently used nor used in the last day are removed, so a cache another runner is reading
stays.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._util.results import Unpackable
from .config import SECRET_NAME

if TYPE_CHECKING:
    from filelock import FileLock

__all__ = [
    "ReportBusy",
    "PublishedRun",
    "report_lock",
    "staging_dir",
    "publish_run",
    "scrub_secrets",
    "scrub_text",
    "secret_values",
    "prune_runs",
    "atomic_write_text",
    "published_runs",
    "use_cache",
    "prune_caches",
]

#: Caches of this many data fingerprints stay, the most recently used (see :func:`prune_caches`).
CACHE_KEEP = 3
#: A cache used more recently than this (seconds) stays whatever its rank: another runner may be reading it.
CACHE_MIN_AGE_S = 24 * 3600.0


class ReportBusy(RuntimeError):
    """Another process holds the report's lock (it is running that report now)."""


@contextmanager
def report_lock(out_dir, name: str, *, wait: bool = False) -> Iterator[FileLock]:
    """Hold ``<out>/.locks/<name>.lock`` while running report ``name``; ``wait=False`` raises ReportBusy at once.

    Use it as a context manager: the lock is released when the block ends, and by the operating
    system if the process dies.

    Parameters
    ----------
    out_dir : path-like
        The reports folder; ``.locks/`` in it is created if missing.
    name : str
        The report (or ``".cache"``, the lock of the data caches).
    wait : bool, default False
        Wait for another process to release the lock instead of raising at once.

    Yields
    ------
    filelock.FileLock
        The lock, held.

    Raises
    ------
    ReportBusy
        When ``wait`` is False and another process holds the lock.
    """
    from filelock import FileLock, Timeout

    locks = Path(out_dir) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(locks / f"{name}.lock"))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise ReportBusy(f"report {name!r} is being run by another process (lock {locks / name}.lock)") from None
    try:
        yield lock
    finally:
        lock.release()


def staging_dir(out_dir, name: str) -> Path:
    """A fresh staging folder for report ``name``; call with its lock held.

    Staging folders left by a crashed or killed run of the same report are removed first: under
    the lock, nobody else is writing there.

    Parameters
    ----------
    out_dir : path-like
        The reports folder.
    name : str
        The report.

    Returns
    -------
    pathlib.Path
        A new, empty folder ``<out>/.tmp/<name>/<pid>-<ns>``, on the file system of the published
        runs (so :func:`publish_run` can rename it into place).
    """
    base = Path(out_dir) / ".tmp" / name
    if base.exists():
        for stale in base.iterdir():
            shutil.rmtree(stale, ignore_errors=True)
    path = base / f"{os.getpid()}-{time.time_ns()}"
    path.mkdir(parents=True)
    return path


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename is still atomic
    finally:
        os.close(fd)


def publish_run(staging: Path, out_dir, name: str, *, as_of: str) -> Path:
    """Move a complete staging folder to ``<out>/<name>/<as_of>[.N]`` in one rename; return that folder.

    The files are synced to disk first; a day already published gets the next free suffix
    (``.2``, ``.3``...), so a published run is never overwritten.

    Parameters
    ----------
    staging : pathlib.Path
        The staging folder (:func:`staging_dir`), holding the run's files (no sub-folders).
    out_dir : path-like
        The reports folder.
    name : str
        The report.
    as_of : str
        The run's as-of date, ``YYYY-MM-DD``: the published folder's name.

    Returns
    -------
    pathlib.Path
        The published folder, ``<out>/<name>/<as_of>`` or ``<out>/<name>/<as_of>.<n>``.
    """
    for f in staging.iterdir():  # the contents on disk before the rename makes them visible
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    parent = Path(out_dir) / name
    parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        target = parent / (as_of if n == 1 else f"{as_of}.{n}")
        if not target.exists():
            try:
                os.rename(staging, target)  # atomic; fails if a non-empty folder got there first
                break
            except OSError:
                if not target.exists():
                    raise
        n += 1
    _fsync_dir(parent)
    return target


@dataclass(frozen=True)
class PublishedRun(Unpackable):
    """One published run of a report (unpacks as ``folder, manifest``).

    Attributes
    ----------
    folder : Path
        ``<out_dir>/<report>/<as_of>[.n]``.
    manifest : dict
        Its ``manifest.json``.
    """

    folder: Path
    manifest: dict


def published_runs(out_dir, name: str) -> list[PublishedRun]:
    """Every published run of ``name``, oldest first (unreadable manifests skipped).

    Parameters
    ----------
    out_dir : str or Path
        The reports folder.
    name : str
        The report.

    Returns
    -------
    list of PublishedRun
        Folder and manifest of each run, by start time.
    """
    runs = []
    for mf in Path(out_dir, name).glob("*/manifest.json"):
        try:
            runs.append(PublishedRun(mf.parent, json.loads(mf.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return sorted(runs, key=lambda r: (str(r.manifest.get("started_at")), r.folder.name))


def prune_runs(out_dir, name: str, keep: int | None) -> list[Path]:
    """Remove all but the newest ``keep`` published runs of ``name``; the newest good run always stays.

    A removed run first leaves the published tree by one rename (into staging), so a reader never
    sees half a folder.

    Parameters
    ----------
    out_dir : path-like
        The reports folder.
    name : str
        The report.
    keep : int or None
        How many of the newest runs (by start time) stay; None or 0: all stay.

    Returns
    -------
    list of pathlib.Path
        The folders removed, oldest first (where they were published).
    """
    if not keep:
        return []
    runs = published_runs(out_dir, name)
    good = [d for d, m in runs if m.get("status") == "ok"]
    stay = {d for d, _ in runs[-keep:]} | set(good[-1:])
    removed = []
    for folder, _ in runs:
        if folder not in stay:
            trash = Path(out_dir) / ".tmp" / name / f"pruned-{folder.name}-{time.time_ns()}"
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.rename(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
            removed.append(folder)
    return removed


def use_cache(out_dir, fingerprint, *, log=None) -> Path | None:
    """Mark the cache ``<out>/.cache/<fingerprint>`` as used now; return it, or None when there is none.

    The folder's modification time is its last use, which :func:`prune_caches` ranks by. Checking
    and touching happen under the cache lock, the one :func:`prune_caches` decides under: a cache
    found here is not removed before a day has passed.

    The cache is checked against the checksums recorded when it was written
    (:meth:`funnel_analysis.crm.CrmData.check_parquet`): a file cut short by a crash or a full disk,
    another org's valid file in its place, or a cache of other data is removed, with one line to
    ``log``, and None is returned, so the caller rebuilds it from the source.

    Parameters
    ----------
    out_dir : path-like
        The reports folder.
    fingerprint : str
        The data's fingerprint (``crm.meta["fingerprint"]``): the cache folder's name.
    log : callable, optional
        Called with one line when a damaged cache is removed; default: a warning on the
        ``funnel_analysis.reporting`` logger.

    Returns
    -------
    pathlib.Path or None
        The cache folder, when it holds a complete cache that passes its check; else None.
    """
    from ..crm.model import CacheError, CrmData

    folder = Path(out_dir) / ".cache" / str(fingerprint)
    with report_lock(out_dir, ".cache", wait=True):  # report names have no dot: a lock of its own
        if not folder.exists():
            return None
        try:
            CrmData.check_parquet(folder, fingerprint=str(fingerprint))
        except CacheError as exc:
            # moved aside in one rename, then removed: a reader never sees half a cache
            broken = folder.with_name(f".broken-{folder.name}-{time.time_ns()}")
            folder.rename(broken)
            shutil.rmtree(broken, ignore_errors=True)
            line = f"cache {fingerprint}: {exc}; rebuilt from the source"
            (log or logging.getLogger("funnel_analysis.reporting").warning)(line)
            return None
        os.utime(folder)
    return folder


def prune_caches(
    out_dir, keep: int = CACHE_KEEP, *, in_use=(), min_age_s: float = CACHE_MIN_AGE_S, now: float | None = None
) -> list[Path]:
    """Remove the Parquet caches under ``<out>/.cache/`` that nobody needs; return those removed.

    Parameters
    ----------
    out_dir : path-like
        The reports folder.
    keep : int
        Caches kept whatever their age: the most recently used (folder modification time).
    in_use : iterable of path-like
        Caches this run reads; never removed.
    min_age_s : float
        A cache used more recently than this many seconds is kept: a run of another process may
        still be reading it (each run touches its cache, :func:`use_cache`, before its notebooks start).
    now : float, optional
        The current time (``time.time()``), for tests.

    Returns
    -------
    list of pathlib.Path
        The caches (and crashed writers' temporaries) removed, by their former path; empty when
        there is no ``.cache`` folder.

    Notes
    -----
    A removed cache first leaves its name by one rename, under the cache lock, then is deleted:
    a runner never finds half a cache, and one that looks for it after the rename builds it anew.
    Temporaries of a writer that crashed (``.<fingerprint>.<ns>``) go once a day old, and the trash
    of a pruner that died mid-delete goes at the next prune.
    """
    cache = Path(out_dir) / ".cache"
    if not cache.is_dir():
        return []
    now = time.time() if now is None else now
    in_use = {Path(p).resolve() for p in in_use}
    removed, trash = [], []
    with report_lock(out_dir, ".cache", wait=True):
        entries = []
        for p in cache.iterdir():
            try:
                if p.is_dir():  # a cache is a folder; anything else here is not ours to remove
                    entries.append((p.stat().st_mtime, p))
            except OSError:  # removed meanwhile by a pruner on another machine
                continue
        caches = sorted(((m, p) for m, p in entries if not p.name.startswith(".")), reverse=True)
        stay = {p for _, p in caches[:keep]}
        old = [p for m, p in caches if p not in stay and p.resolve() not in in_use and now - m >= min_age_s]
        old += [
            p
            for m, p in entries
            if p.name.startswith(".") and not p.name.startswith(".trash-") and now - m >= min_age_s
        ]  # a crashed writer's temporary
        for p in old:
            target = cache / f".trash-{p.name.lstrip('.')}-{os.getpid()}-{time.time_ns()}"
            try:
                os.rename(p, target)
            except OSError:
                continue
            removed.append(p)
        trash = [p for p in cache.iterdir() if p.name.startswith(".trash-")]
    for p in trash:  # outside the lock: deleting takes a while and nobody reads the trash
        shutil.rmtree(p, ignore_errors=True)
    return removed


def secret_values(env=None) -> Mapping[str, str]:
    """Environment variables that hold secrets (by name, e.g. SF_ACCESS_TOKEN, DB_PASSWORD): name -> value.

    Parameters
    ----------
    env : Mapping of str to str, optional
        The environment; default ``os.environ``.

    Returns
    -------
    Mapping of str to str
        Variable name -> value, for the names that match ``SECRET_NAME`` and whose value is at
        least 6 characters (shorter values would match too much text to be scrubbed).
    """
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= 6}


def scrub_secrets(folder: Path, env=None) -> int:
    """Replace every secret value from the environment in the files of ``folder``; return the files changed.

    Secrets never are parameters; this is the second guard, for a notebook or a traceback that
    prints one. Raw, JSON-escaped and HTML-escaped forms are all replaced.

    Parameters
    ----------
    folder : pathlib.Path
        The folder whose files (not sub-folders) are scrubbed, each rewritten atomically when it
        changes.
    env : Mapping of str to str, optional
        The environment the secrets come from; default ``os.environ``.

    Returns
    -------
    int
        How many files were changed.
    """
    if not secret_values(env):
        return 0
    changed = 0
    for f in Path(folder).iterdir():
        if not f.is_file():
            continue
        text = f.read_text(encoding="utf-8", errors="surrogateescape")
        new = scrub_text(text, env)
        if new != text:
            atomic_write_text(f, new)
            changed += 1
    return changed


def scrub_text(text: str, env=None) -> str:
    """``text`` with every secret value from the environment replaced by ``[secret $NAME removed]``.

    Parameters
    ----------
    text : str
        The text to scrub.
    env : Mapping of str to str, optional
        The environment the secrets come from (see :func:`secret_values`); default ``os.environ``.

    Returns
    -------
    str
        ``text`` with the raw, JSON-escaped and HTML-escaped forms of each secret replaced,
        longest first; ``text`` itself when there is no secret (or it is None).
    """
    secrets = secret_values(env)
    if not secrets or text is None:
        return text
    forms = sorted(
        {
            (form, k)
            for k, v in secrets.items()
            for form in (v, json.dumps(v)[1:-1], html.escape(v), html.escape(v, quote=False))
        },
        key=lambda fk: -len(fk[0]),
    )
    names = dict(forms)
    pattern = re.compile("|".join(re.escape(f) for f, _ in forms))
    return pattern.sub(lambda m: f"[secret ${names[m.group(0)]} removed]", text)


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``: readers see old or new, never half.

    Parameters
    ----------
    path : path-like
        The file to write (its folder must exist); replaced if it exists.
    text : str
        The content, written as UTF-8 (lone surrogates kept as the bytes they stand for) and
        synced to disk before the rename.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{time.time_ns()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
