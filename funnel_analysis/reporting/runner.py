"""Report runs: the report notebooks run by papermill into dated, code-free HTML, by hand or on schedule.

A YAML config lists reports (name, notebook, parameters, schedule: :mod:`.config`);
the packaged ``reporting/reports.yaml`` runs every notebook on ``data/sample``. :func:`run_reports`
(``funnel report run``) runs the selected reports now; :func:`run_due` (``funnel report due``, the
one line for cron or any scheduler) runs those whose scheduled time has passed since their last
successful run (:mod:`.schedule`). Either way every parameter is checked against the notebook's
``parameters`` cell first, the data are loaded and cached once, each notebook runs into a staging
folder under the report's lock and is published by an atomic rename to
``<out>/<report>/<as_of>/`` (notebook, sanitised HTML, ``manifest.json``; :mod:`.publish`,
:mod:`.html`), and ``<out>/index.html`` lists every run (:mod:`.index`). A failing
notebook is published as a failed run with its partial notebook and error; the others still run.

Freshness: every run records how old its data are (``data_freshness`` in its manifest) and every
page and the index show it ("data as of ..."): the time of the last ``funnel pull`` for a pull
store (:mod:`funnel_analysis.crm.store`), else the extract time, the latest change the data carry
(:func:`funnel_analysis.crm.extract_time`). Data older than the config's ``stale_after_days``
(default :data:`STALE_AFTER_DAYS`) at the run's time are marked stale. With ``pull: true`` at the
top of the config, each data folder the planned reports read is refreshed from the live org first
(:func:`funnel_analysis.crm.store.pull_salesforce`, credentials from the environment); a pull that
fails keeps the previous data, and every report on them runs, says its data are stale and why, and
is published as failed (so that the scheduler retries it), with one log line saying so.

>>> run_reports(only=["funnel"], overrides={"as_of": "2025-03-31"}).failed  # doctest: +SKIP
[]
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from ..crm.model import extract_time, latest_date
from .config import ReportConfigError, ReportSpec, load_report_config, plan_reports
from .index import write_index
from .publish import (
    ReportBusy,
    prune_caches,
    prune_runs,
    publish_run,
    report_lock,
    scrub_secrets,
    scrub_text,
    staging_dir,
    use_cache,
)
from .schedule import due_reports

__all__ = [
    "STALE_AFTER_DAYS",
    "ReportSpec",
    "ReportRun",
    "RunResult",
    "ReportConfigError",
    "load_report_config",
    "run_reports",
    "run_due",
    "write_index",
]

_LIBRARIES = (
    "funnel-analysis",
    "pandas",
    "numpy",
    "scikit-learn",
    "statsmodels",
    "papermill",
    "nbconvert",
    "matplotlib",
)
# ipykernel logs a warning about TCP transport at every start: noise in every cron mail. Its
# ERROR-level messages still show.
# A report kernel keeps no command history: IPython's history file is one SQLite database shared by every
# kernel of the machine, and two kernels writing it at once (two jobs, two runs) print "ERROR! Session/line
# number was not unique in database" into whichever cell is running, in the report itself.
_KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR", "--HistoryManager.hist_file=:memory:"]
#: Data older than this many days at the run's time are marked stale (the config's ``stale_after_days``).
STALE_AFTER_DAYS = 7


@dataclass
class ReportRun:
    """One report's outcome; ``ipynb`` is the partial notebook when it failed, ``run_dir`` None when
    nothing could be published (config error, full disk).

    Attributes
    ----------
    name : str
        The report's name.
    as_of : str
        The day it reported on, ``YYYY-MM-DD`` (``"unknown"`` when its data or config could not
        be read).
    status : str
        ``"ok"`` or ``"failed"``.
    run_dir : pathlib.Path or None
        The published run folder, ``<out>/<report>/<as_of>[.n]``; None when nothing was published.
    ipynb : pathlib.Path or None
        The executed (on failure, partial) notebook in ``run_dir``; None when none was written.
    html : pathlib.Path or None
        The report page in ``run_dir``; None when it could not be made.
    duration_s : float
        Seconds the run took, to the hundredth.
    error : str or None
        What went wrong (``"<Exception>: <message>"``, secrets scrubbed); None for a good run.
    error_cell_index : int or None
        The index of the failing cell in the report's own notebook (papermill's injected cell not
        counted); None when no cell is to blame.
    scheduled_for : str or None
        The slot (ISO time) of a scheduled run; None for a run by hand.
    """

    name: str
    as_of: str
    status: str
    run_dir: Path | None
    ipynb: Path | None
    html: Path | None
    duration_s: float
    error: str | None = None
    error_cell_index: int | None = None
    scheduled_for: str | None = None


@dataclass
class RunResult:
    """What :func:`run_reports` or :func:`run_due` did.

    Attributes
    ----------
    runs : list of ReportRun
        One per report run, in plan order.
    index_html : pathlib.Path or None
        The ``index.html`` written; None when nothing ran (:func:`run_due` with nothing due).
    skipped : list of str
        Reports that were due but are being run by another process right now (default empty).
    failed : list of str
        The names of the reports that failed (read-only).
    """

    runs: list[ReportRun]
    index_html: Path | None
    skipped: list[str] = field(default_factory=list)  # due, but run by another process right now

    @property
    def failed(self) -> list[str]:
        """Names of the reports that failed."""
        return [r.name for r in self.runs if r.status != "ok"]


@dataclass
class _Facts:
    """What a run needs to know of one data folder, found once per run."""

    fingerprint: str | None = None
    latest: object = None  # the data's last day (as_of when none is given)
    error: str | None = None  # why the data could not be loaded
    parquet: Path | None = None  # the validated org cached as Parquet
    extract: object = None  # ExtractTime, or None
    pulled_at: object = None  # a pull store's pull time (Timestamp), or None
    values: dict = field(default_factory=dict)  # for_each field -> its values, or the error reading it (str)


def _import_jsonschema_without_iri() -> None:
    """Import jsonschema (nbformat's validator) without the IRI format check, once per process.

    jsonschema registers an ``iri`` format checker when ``rfc3987_syntax`` is installed, and that module
    compiles 38 Lark grammars when imported (about 1.7 s of every runner process on a quiet machine,
    20 s under load). No notebook schema names that format, so the runner imports jsonschema with the
    module held back; ``rfc3987_syntax`` itself stays importable for anyone who asks for it afterwards.
    Nothing is done when jsonschema or rfc3987_syntax is already imported.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # an ImportError for jsonschema's optional import of it
    try:
        import jsonschema  # noqa: F401  (imported here, so that nbformat finds it imported)
    except ImportError:  # no jsonschema: nbformat says so when it needs it
        pass
    finally:
        del sys.modules["rfc3987_syntax"]


def _field_values(crm, paths) -> dict:
    """Each for_each field's values on the loaded org, or the one line why it cannot be read."""
    from ..crm.expression import ExpressionError
    from ..crm.scope import field_values

    out = {}
    for path in sorted(set(paths)):
        try:
            out[path] = field_values(crm, path=path)
        except ExpressionError as exc:
            out[path] = str(exc).splitlines()[0]
    return out


#: The reports folder's record of which export folder (by its files' names, sizes and times) gave which cache.
SOURCES_INDEX = ".sources.json"
_MAX_SOURCE_FILES = 10_000


def _source_signature(folder) -> str | None:
    """A hash of every file's path, size and modification time under an export folder; None when unusable.

    Any edit, new or removed file changes it (a file rewritten with the same size and the same
    nanosecond time would not: the one case a warm run would miss, as ``make`` would). None for a
    database URL, a Parquet cache, a file, or a folder of more than 10,000 files.
    """
    import hashlib

    root = Path(folder)
    if not root.is_dir() or (root / "crm.json").exists():
        return None
    h, n = hashlib.blake2b(digest_size=16), 0
    for f in sorted(root.rglob("*")):
        if f.is_file():
            n += 1
            if n > _MAX_SOURCE_FILES:
                return None
            st = f.stat()
            h.update(f"{f.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _known_fingerprint(out_dir: Path, folder: str, signature: str) -> str | None:
    """The fingerprint this reports folder last cached for ``folder`` with this signature, or None."""
    try:
        doc = json.loads((out_dir / ".cache" / SOURCES_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = doc.get(str(Path(folder).resolve())) if isinstance(doc, dict) else None
    if isinstance(entry, dict) and entry.get("signature") == signature and isinstance(entry.get("fingerprint"), str):
        return entry["fingerprint"]
    return None


def _remember_fingerprint(out_dir: Path, folder: str, signature: str, fingerprint: str) -> None:
    """Record which cache ``folder`` gave (best effort: a warm run only saves the load)."""
    from .publish import atomic_write_text

    index = out_dir / ".cache" / SOURCES_INDEX
    try:
        with report_lock(out_dir, ".sources", wait=True):
            try:
                doc = json.loads(index.read_text(encoding="utf-8"))
                doc = doc if isinstance(doc, dict) else {}
            except (OSError, ValueError):
                doc = {}
            doc[str(Path(folder).resolve())] = {"signature": signature, "fingerprint": str(fingerprint)}
            atomic_write_text(index, json.dumps(doc, indent=1))
    except OSError:
        pass


def _data_facts(params: dict, cache: dict, out_dir: Path, paths=()) -> _Facts:
    """The fingerprint, latest day, load error, Parquet cache and freshness of a report's data, loaded once per run.

    The validated org is cached as Parquet under ``out_dir/.cache/<fingerprint>`` and the
    notebooks read that instead of the raw export: each kernel then loads the org in a
    fraction of the time, and every report of a run sees the very same data. Using a cache
    touches it (:func:`.publish.use_cache`): :func:`.publish.prune_caches` keeps recently used ones.
    ``paths`` are the ``for_each`` fields of the reports on these data: their values are read from
    the same load (:func:`funnel_analysis.crm.scope.field_values`).

    Warm runs: when an export folder's files (names, sizes, modification times:
    :func:`_source_signature`) are those a cache was made from (``.cache/.sources.json``) and that
    cache passes its check (:func:`.publish.use_cache`), the org is read from the cache instead of
    parsed and validated again from the CSV files.
    """
    key = (params.get("data_dir"), params.get("mapping") or None)
    if key[0] and key not in cache:
        from ..crm.load import load_org
        from ..crm.store import StoreError, store_pulled_at
        from ..crm.warehouse import is_database_url

        database = is_database_url(key[0])
        try:
            # a database URL is read (source and schema from the profile, else detected), never made a path;
            # its fingerprint is the database's (rows and latest sync per table); a connection lost while
            # reading is this load's error: nothing is cached, and the run's notebooks fail with it
            options = _warehouse_options(params) if database else {}
            signature = None if database or key[1] else _source_signature(key[0])
            known = _known_fingerprint(out_dir, key[0], signature) if signature else None
            crm = None
            if known and use_cache(out_dir, known) is not None:  # warm: the same files made this cache
                from ..crm.model import CacheError, CrmData

                try:
                    crm = CrmData.from_parquet(out_dir / ".cache" / known)
                except (CacheError, OSError, ValueError):
                    crm = None
            warm = crm is not None
            if crm is None:
                crm = load_org(key[0], mapping=key[1], **options)
            fingerprint = crm.meta.get("fingerprint")
            target = out_dir / ".cache" / str(fingerprint)
            if not warm and use_cache(out_dir, fingerprint) is None:
                tmp = out_dir / ".cache" / f".{fingerprint}.{time.time_ns()}"
                crm.to_parquet(tmp)
                try:
                    tmp.rename(target)  # published whole or not at all
                except OSError:  # another runner published the same data first: use theirs
                    shutil.rmtree(tmp, ignore_errors=True)
                    use_cache(out_dir, fingerprint)
            if signature and fingerprint and not warm:  # the next run on the same files reads the cache
                _remember_fingerprint(out_dir, key[0], signature, fingerprint)
            try:
                extract = extract_time(crm)
            except ValueError:  # no timestamp anywhere: freshness unknown
                extract = None
            try:
                pulled_at = None if database else store_pulled_at(key[0])
            except StoreError:  # a hand-mangled pull.json: the data loaded, their age is the extract time's
                pulled_at = None
            values = _field_values(crm, paths)
            cache[key] = _Facts(fingerprint, latest_date(crm), None, target, extract, pulled_at, values)
        except Exception as exc:  # the notebook meets the same error and shows it: run it anyway
            cache[key] = _Facts(error=f"{type(exc).__name__}: {exc}")
    return cache.get(key, _Facts())


def _warehouse_options(params: dict) -> dict:
    """``source`` / ``schema`` of a database data_dir: the report's org profile's, else detected."""
    if not params.get("profile"):
        return {}
    from ..project.profile import load_profile

    profile = load_profile(params["profile"])
    return {"source": profile.source or None, "schema": profile.schema or None}


def _iso(ts) -> str | None:
    if ts is None:
        return None
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _freshness(facts: _Facts, has_data: bool, pull: str | None, now: datetime, stale_after_days: float) -> dict | None:
    """The run manifest's ``data_freshness``: when the data are as of, how old at the run's time, stale or not.

    None for a report without data. ``pull`` is None (no pull asked), ``"ok"``, or the error of the
    pull that failed, which makes the data stale whatever their age.
    """
    if not has_data:
        return None
    extract = facts.extract
    as_of = facts.pulled_at if facts.pulled_at is not None else (extract.timestamp if extract else None)
    age = None
    if as_of is not None:
        as_of = pd.Timestamp(as_of)
        as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
        age = round((pd.Timestamp(now).tz_convert("UTC") - as_of).total_seconds() / 86400, 2)
    failed = pull not in (None, "ok")
    return {
        "as_of": _iso(as_of),
        "as_of_from": None if as_of is None else ("pull" if facts.pulled_at is not None else "extract_time"),
        "extract_time": _iso(extract.timestamp) if extract else None,
        "extract_field": f"{extract.table}.{extract.column}" if extract else None,
        "pulled_at": _iso(facts.pulled_at),
        "age_days": age,
        "stale_after_days": stale_after_days,
        "stale": failed or as_of is None or age > stale_after_days,
        "pull": None if pull is None else ("ok" if not failed else "failed"),
        "pull_error": pull if failed else None,
    }


def _data_options(specs: list[ReportSpec]) -> tuple[bool, float]:
    """(``pull``, ``stale_after_days``) from the top level of the config the reports were read from.

    A spec's own attribute wins, should :class:`ReportSpec` carry them; a report list built in code
    (no ``source``) gets the defaults: no pull, :data:`STALE_AFTER_DAYS`.
    """
    pull, stale, docs = None, None, {}
    for spec in specs:
        pull = getattr(spec, "pull", None) if pull is None else pull
        stale = getattr(spec, "stale_after_days", None) if stale is None else stale
        if spec.source and spec.source not in docs:
            try:
                doc = yaml.safe_load(Path(spec.source).read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                doc = {}  # load_report_config read it a moment ago and said what was wrong
            docs[spec.source] = doc if isinstance(doc, dict) else {}
            pull = docs[spec.source].get("pull") if pull is None else pull
            stale = docs[spec.source].get("stale_after_days") if stale is None else stale
    where = next((s.source for s in specs if s.source), "the report config")
    if pull is not None and not isinstance(pull, bool):
        raise ReportConfigError(f"{where}: key 'pull': expected true or false, got {pull!r}")
    if stale is not None and (isinstance(stale, bool) or not isinstance(stale, (int, float)) or stale <= 0):
        raise ReportConfigError(f"{where}: key 'stale_after_days': expected a number of days above 0, got {stale!r}")
    return bool(pull), float(STALE_AFTER_DAYS if stale is None else stale)


def _pull_first(data_dir: str, log) -> str:
    """Refresh a data folder from the live org; ``"ok"``, or the error in one line (secrets scrubbed)."""
    from ..crm.store import pull_salesforce

    stamp = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
    try:
        res = pull_salesforce(data_dir, progress=False)
    except Exception as exc:  # no network, refused credentials, not a store...: the previous data stay
        text = str(exc).strip().splitlines()
        error = scrub_text(f"{type(exc).__name__}: {text[0] if text else '(no message)'}")
        if log:
            log(f"{stamp} {'pull':<14} {data_dir}: FAILED {error}; the previous data are kept and marked stale")
        return error
    if log:
        fetched = int(res.objects["fetched"].sum())
        log(f"{stamp} {'pull':<14} {data_dir}: ok, {fetched} rows fetched, {len(res.objects)} objects")
    return "ok"


def _report_index(cells: list, index: int) -> int:
    """An index into papermill's output notebook as an index into the report's own notebook.

    Papermill inserts its injected-parameters cell (and, on an error, a warning cell at the top).
    """
    tags = [c.metadata.get("tags", []) for c in cells[:index]]
    return index - sum("injected-parameters" in t or "papermill-error-cell-tag" in t for t in tags)


def _running_cell(ipynb: Path) -> tuple[int | None, str]:
    """The report-notebook index of the cell that was running when execution stopped, read from
    the partial output notebook; or (None, a phrase saying when it stopped).

    On a dead kernel or a timeout papermill marks even the interrupted cell ``completed`` (and the
    cells never run too), so the interrupted cell is the last one with a ``start_time``; a cell
    still ``running`` or flagged with an exception wins, should papermill keep those.
    """
    import nbformat

    try:
        cells = nbformat.read(str(ipynb), as_version=4).cells
    except Exception:  # never written (the kernel did not start) or unreadable
        return None, "before the notebook started"
    marks = [c.metadata.get("papermill") or {} for c in cells]
    flagged = [i for i, m in enumerate(marks) if m.get("status") in ("running", "failed") or m.get("exception")]
    started = [i for i, m in enumerate(marks) if m.get("start_time")]
    if not (flagged or started):
        return None, "before its first cell ran"
    index = (flagged or started)[-1]
    if "injected-parameters" in cells[index].metadata.get("tags", []):
        return None, "while the injected parameters ran"
    return _report_index(cells, index), ""


#: Modules every report kernel imports, imported when the kernel starts (:class:`_Kernels`), while the runner
#: loads the data: the report package and its charts (pandas, pandera, matplotlib), and the intervals.
_WARM_UP_MODULES = (
    "funnel_analysis.reporting",
    "funnel_analysis.crm",
    "matplotlib.pyplot",
    "statsmodels.stats.proportion",
)
#: Run in a report kernel after its warm-up imports: the objects alive then (the modules', about 190,000) are moved
#: out of the garbage collector's sight (``gc.freeze``, after a last collection). A module lives as long as the
#: kernel, so nothing collectable is lost; every later collection (IPython's ``%reset``, which the kernel runs
#: before each notebook, the explicit one beside it, and the automatic ones while cells run) then walks only what
#: the reports made: 0.03-0.05 s CPU instead of 0.13-0.27 s each, measured with a funnel report's org and charts.
_FREEZE = "__import__('gc').collect(); __import__('gc').freeze()"


class _Kernels:
    """The run's report kernels: one per worker thread, started ahead of time, reused report after report.

    A kernel is started (and the modules every report imports, :data:`_WARM_UP_MODULES`, imported in it)
    in the background as soon as the run starts, while the runner loads the data; each notebook then runs
    in its worker's kernel, so that kernel start, imports, the loaded org, its profile, its record names
    and its as-of cuts (:func:`.notebook.open_report` keeps them for a Parquet cache) are paid once per
    kernel, not once per report. Before each notebook the kernel's namespace is reset (IPython's
    ``%reset -f``: every name a previous notebook defined is gone, execution counts start at 1 again)
    and its working folder set to the notebook's. A kernel that died, or whose notebook did not end
    through a cell's own error (a timeout, a lost kernel), is shut down: the next notebook gets a new one.
    """

    def __init__(self, count: int, cwd: Path | None):
        self._lock = threading.Lock()
        self._local = threading.local()
        self._started: list = []  # every kernel manager, for shutdown
        self._ready: list = []  # futures of kernels started ahead, not yet taken by a worker
        self._pool = ThreadPoolExecutor(max_workers=max(1, count)) if count and cwd else None
        if self._pool is not None:
            self._ready = [self._pool.submit(self._start, cwd) for _ in range(count)]

    def _start(self, cwd: Path):
        from jupyter_client.manager import KernelManager

        class _ReportKernel(KernelManager):
            """A kernel manager that remembers its clients, to close their channels after each notebook.

            Its clients are asynchronous, as nbclient's own: a blocking client would wait for output in
            nbclient's event loop and never see a dead kernel. :meth:`blocking_client` is for the
            runner's own set-up code.
            """

            def client(self, **kwargs):
                kc = super().client(**kwargs)
                self.__dict__.setdefault("_clients", []).append(kc)
                return kc

            def blocking_client(self):
                from jupyter_client.blocking import BlockingKernelClient

                info = dict(self.get_connection_info(session=True), connection_file=self.connection_file)
                kc = BlockingKernelClient(parent=self, **info)
                self.__dict__.setdefault("_clients", []).append(kc)
                return kc

        km = _ReportKernel(kernel_name="python3", client_class="jupyter_client.asynchronous.AsyncKernelClient")
        km.broken = False
        with self._lock:
            self._started.append(km)
        km.start_kernel(extra_arguments=_KERNEL_ARGS, cwd=str(cwd))
        modules = ", ".join(repr(m) for m in _WARM_UP_MODULES)
        self._run_silently(
            km, f"[__import__('importlib').import_module(m) for m in ({modules},)]; {_FREEZE}", timeout=600
        )
        return km

    @staticmethod
    def _run_silently(km, code: str, timeout: float) -> None:
        """Run ``code`` in the kernel, no output, not in its history; raises when it fails or times out."""
        kc = km.blocking_client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=timeout)
            reply = kc.execute_interactive(code, silent=True, store_history=False, timeout=timeout)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"kernel set-up failed: {reply['content'].get('ename')}")
        finally:
            _release_clients(km)

    def take(self, cwd: Path):
        """This worker's kernel, reset for a notebook in ``cwd``; None when no kernel could be had."""
        km = getattr(self._local, "km", None)
        if km is not None and (km.broken or not km.is_alive()):
            self._discard(km)
            km = None
        if km is None:
            with self._lock:
                ahead = self._ready.pop(0) if self._ready else None
            try:
                km = ahead.result() if ahead is not None else self._start(cwd)
            except Exception:  # no kernel to share: this notebook gets papermill's own
                return None
            self._local.km = km
        reset = (
            f"get_ipython().run_line_magic('reset', '-f'); __import__('os').chdir({str(cwd)!r}); "
            "__import__('gc').collect(); get_ipython().execution_count = 1"
        )
        try:
            self._run_silently(km, reset, timeout=120)
        except Exception:
            self._discard(km)
            return None
        return km

    def _discard(self, km) -> None:
        if getattr(self._local, "km", None) is km:
            self._local.km = None
        try:
            km.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass

    def close(self) -> None:
        """Shut down every kernel of the run (those started ahead and never used too)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for km in self._started:
            try:
                if km.has_kernel:
                    km.shutdown_kernel(now=True)
            except Exception:  # already gone
                pass


def _release_clients(km) -> None:
    """Close the channels of every client opened on ``km`` (papermill's too): the kernel keeps running."""
    for kc in km.__dict__.pop("_clients", []):
        try:
            kc.stop_channels()
        except Exception:  # already closed
            pass


#: Seconds between two writes of a running notebook's partial copy (papermill's own ``autosave_cell_every``).
_SAVE_EVERY_S = 30
_ENGINE = "funnel_reports"
_ENGINE_LOCK = threading.Lock()


def _engine() -> str:
    """The name of papermill's engine for report notebooks, registered once per process.

    Papermill's own engine writes the whole output notebook to disk when the run starts, before each
    cell and after it: 47 writes for the funnel report, each a pure-Python JSON dump of a notebook
    that grows to 1 MB of PNGs and tables (``json.dumps`` with ``indent``), about 0.6 s of the runner's
    CPU a report, while the kernel waits. This engine writes it at most every :data:`_SAVE_EVERY_S`
    seconds while cells run (a long report still leaves a recent partial copy) and always once when the
    notebook ends, however it ends (papermill's ``notebook_complete``, in a ``finally``): the published
    notebook, and the partial one of a failed run, are the same as papermill's.
    """
    import papermill.engines as engines

    with _ENGINE_LOCK:
        if _ENGINE in engines.papermill_engines._engines:
            return _ENGINE

        class _SparseSaves(engines.NotebookExecutionManager):
            """A notebook execution manager that writes the notebook when due, and always at the end."""

            _final = False

            def save(self, **kwargs):
                due = (self.now() - self.last_save_time).total_seconds() >= _SAVE_EVERY_S
                if self._final or due:
                    super().save(**kwargs)

            def notebook_complete(self, **kwargs):
                self._final = True
                super().notebook_complete(**kwargs)

        class _ReportEngine(engines.NBClientEngine):
            """Papermill's nbclient engine with :class:`_SparseSaves` (its ``execute_notebook``, that class)."""

            @classmethod
            def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False, **kwargs):
                kwargs.pop("autosave_cell_every", None)
                nb_man = _SparseSaves(
                    nb,
                    output_path=output_path,
                    progress_bar=progress_bar,
                    log_output=log_output,
                    autosave_cell_every=_SAVE_EVERY_S,
                )
                nb_man.notebook_start()
                try:
                    cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
                finally:
                    nb_man.cleanup_pbar()
                    nb_man.notebook_complete()
                return nb_man.nb

        engines.papermill_engines.register(_ENGINE, _ReportEngine)
    return _ENGINE


def _execute(spec: ReportSpec, ipynb: Path, parameters: dict, progress: bool, cell_timeout, kernel=None):
    """Run the notebook into ``ipynb``; (error, index of the failing cell in the report's notebook).

    When no cell is to blame (the kernel never started) the index is None and the error says when
    the run stopped. ``kernel``: a running kernel to run it in (:class:`_Kernels`; marked ``broken``
    when the notebook did not end through a cell's own error); default a new one through papermill.
    """
    import papermill as pm

    where = (
        {"km": kernel} if kernel is not None else {"cwd": str(spec.notebook.parent), "extra_arguments": _KERNEL_ARGS}
    )
    try:
        pm.execute_notebook(
            str(spec.notebook),
            str(ipynb),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=progress,
            execution_timeout=cell_timeout,
            engine_name=_engine(),
            **where,
        )
    except pm.PapermillExecutionError as exc:
        # an index into the report's own notebook: papermill's injected parameters cell shifts it
        cells = [
            c
            for c in pm.iorw.load_notebook_node(str(ipynb)).cells
            if "papermill-error-cell-tag" not in c.metadata.get("tags", [])
        ]  # exc.cell_index is without it
        return f"{exc.ename}: {exc.evalue}", _report_index(cells, exc.cell_index)
    except Exception as exc:  # kernel died, timeout, unreadable notebook...: a failed report, not a crashed run
        if kernel is not None:
            kernel.broken = True  # the next notebook gets a new kernel
        # papermill's exception has no cell: the partial notebook's cell metadata tell which one ran
        cell, when = _running_cell(ipynb)
        return f"{type(exc).__name__}: {exc}" + (f" ({when})" if when else ""), cell
    finally:
        if kernel is not None:
            _release_clients(kernel)
    return None, None


def _run_one(task: dict, out_dir: Path, progress: bool, cell_timeout, trigger: str, kernel=None) -> ReportRun:
    """Run one report into a staging folder and publish it (also when it failed); the lock is held."""
    from .html import notebook_to_html

    spec, params, as_of = task["spec"], task["params"], task["as_of"]
    started, t0 = datetime.now(UTC), time.perf_counter()
    staging = None
    try:
        staging = staging_dir(out_dir, spec.name)
        ipynb, page = staging / f"{spec.name}.ipynb", staging / f"{spec.name}.html"
        shared = {"kernel": kernel} if kernel is not None else {}  # a for_each value's run: the kernel it shares
        error, cell = _execute(spec, ipynb, task["execute"], progress, cell_timeout, **shared)
        freshness = task["freshness"]
        if freshness and freshness["pull"] == "failed":  # the report ran, on the previous data: a failed run
            shown = f" (as of {freshness['as_of']})" if freshness["as_of"] else ""
            error = f"pull failed: {freshness['pull_error']}; the report shows the previous data{shown}" + (
                f"; then {error}" if error else ""
            )
        versions = {"python": platform.python_version()} | {d: metadata.version(d) for d in _LIBRARIES}
        manifest = {
            "report": spec.name,
            "notebook": str(spec.notebook),
            "as_of": as_of,
            "parameters": params,
            "relative_parameters": task["relative"],
            "trigger": trigger,
            "scheduled_for": task["slot"],
            "data_fingerprint": task["fingerprint"],
            "data_cache": task["execute"]["data_dir"] if task["execute"] is not params else None,
            "data_freshness": freshness,
            "for_each": task.get("for_each"),
            "package_version": versions["funnel-analysis"],
            "versions": versions,
            "started_at": started.isoformat(timespec="seconds"),
            "duration_s": None,
            "status": "failed" if error else "ok",
            "error": scrub_text(error),
            "error_cell_index": cell,
            "ipynb": ipynb.name if ipynb.exists() else None,
            "html": None,
        }
        if ipynb.exists():
            try:
                notebook_to_html(ipynb, page, manifest)
                manifest["html"] = page.name
            except OSError:
                raise  # a full disk: publish nothing rather than half a run
            except Exception as exc:  # a report nobody can read is a failed report
                manifest.update(status="failed", error=error or f"HTML conversion: {type(exc).__name__}: {exc}")
        manifest["duration_s"] = round(time.perf_counter() - t0, 2)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
        scrub_secrets(staging)  # a notebook or traceback that printed a secret from the environment
        run_dir = publish_run(staging, out_dir, spec.name, as_of=as_of)
    except Exception as exc:  # disk full, permissions...: nothing published, the published runs untouched
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        return ReportRun(
            spec.name,
            as_of,
            "failed",
            None,
            None,
            None,
            round(time.perf_counter() - t0, 2),
            scrub_text(f"not published: {type(exc).__name__}: {exc}"),
            None,
            task["slot"],
        )
    try:
        prune_runs(out_dir, spec.name, spec.keep)
    except OSError:  # an old run that cannot be removed now is removed by a later run
        pass
    return ReportRun(
        spec.name,
        as_of,
        manifest["status"],
        run_dir,
        run_dir / ipynb.name if manifest["ipynb"] else None,
        run_dir / page.name if manifest["html"] else None,
        manifest["duration_s"],
        manifest["error"],
        cell,
        task["slot"],
    )


def _log_line(r: ReportRun) -> str:
    cell = "" if r.error_cell_index is None else f" cell {r.error_cell_index}"  # None: the error says why
    return (
        f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {r.name:<14} as_of {r.as_of}  {r.status:<6} "
        f"{r.duration_s:6.1f} s  {r.html or r.ipynb or r.run_dir or '(not published)'}"
        + ("" if r.status == "ok" else f"\n{'':<20} {r.name}{cell}: {r.error}")
    )


def _run_plan(
    plan,
    out_dir: Path,
    *,
    jobs: int,
    progress: bool,
    log,
    trigger: str,
    slots: dict,
    lock: bool,
    cell_timeout,
    now: datetime,
    pull: bool = False,
    stale_after_days: float = STALE_AFTER_DAYS,
) -> list[ReportRun]:
    """Pull each data folder first (``pull``), load and cache each once, then run the planned reports, ``jobs`` at once.

    The report kernels start at once, in the background (:class:`_Kernels`, one per job), and each runs
    report after report.
    """
    # a stubbed executor (the tests') runs no kernel: none is started for it
    own = _execute.__module__ == __name__ and bool(plan)
    kernels = _Kernels(min(jobs, len(plan)), plan[0].spec.notebook.parent) if own else None
    try:
        return _run_tasks(
            plan,
            out_dir,
            kernels,
            jobs=jobs,
            progress=progress,
            log=log,
            trigger=trigger,
            slots=slots,
            lock=lock,
            cell_timeout=cell_timeout,
            now=now,
            pull=pull,
            stale_after_days=stale_after_days,
        )
    finally:
        if kernels:
            kernels.close()


def _run_tasks(
    plan,
    out_dir: Path,
    kernels,
    *,
    jobs: int,
    progress: bool,
    log,
    trigger: str,
    slots: dict,
    lock: bool,
    cell_timeout,
    now: datetime,
    pull: bool,
    stale_after_days: float,
) -> list[ReportRun]:
    """:func:`_run_plan`'s work, its kernels given (None: papermill starts one per report)."""
    cache, tasks, pulls, refused = {}, [], {}, []
    from ..crm.warehouse import is_database_url

    for _spec, params, _relative in plan if pull else ():  # each folder pulled once, before it is loaded
        folder = params.get("data_dir")
        if folder and folder not in pulls and not is_database_url(folder):  # a connector keeps a database fresh
            pulls[folder] = _pull_first(folder, log)
    paths: dict = {}  # data folder -> the for_each fields of its reports, read from its one load
    for spec, params, _relative in plan:
        paths.setdefault((params.get("data_dir"), params.get("mapping") or None), set()).update(
            [spec.for_each] if spec.for_each else []
        )
    for spec, params, relative in plan:  # data loaded and cached once, before any notebook starts
        facts = _data_facts(
            params, cache, out_dir, paths.get((params.get("data_dir"), params.get("mapping") or None), ())
        )
        fingerprint, latest, load_error, parquet = facts.fingerprint, facts.latest, facts.error, facts.parquet
        if "as_of" in params and not params["as_of"] and latest is not None:
            params["as_of"] = str(latest.date())  # resolved here, so that the manifest records the day
        as_of = params.get("as_of") or ("unknown" if load_error else str(datetime.now(UTC).date()))
        execute = (
            dict(params, data_dir=str(parquet), **({"mapping": ""} if "mapping" in params else {}))
            if parquet
            else params
        )
        slot = slots.get(spec.name)
        task = {
            "spec": spec,
            "params": params,
            "relative": relative,
            "as_of": as_of,
            "execute": execute,
            "fingerprint": fingerprint,
            "slot": slot.isoformat() if slot else None,
            "freshness": _freshness(
                facts, bool(params.get("data_dir")), pulls.get(params.get("data_dir")), now, stale_after_days
            ),
        }
        if spec.for_each and load_error is None:
            fanned = _for_each_tasks(task, facts.values.get(spec.for_each, []))
            if isinstance(fanned, str):  # the field cannot be read: one failed run, nothing executed
                refused.append(
                    ReportRun(
                        spec.name, as_of, "failed", None, None, None, 0.0, f"for_each: {fanned}", None, task["slot"]
                    )
                )
                if log:
                    log(_log_line(refused[-1]))
                continue
            tasks += fanned
        else:
            tasks.append(task)
    in_use = [f.parquet for f in cache.values() if f.parquet]
    try:  # the caches of older data, once this run has its own (nothing due: nothing written)
        if in_use:
            prune_caches(out_dir, in_use=in_use)
    except OSError:  # a cache that cannot be removed now is removed by a later run
        pass

    def run(task):
        with ExitStack() as stack:
            if lock:  # by hand: wait for a scheduled run of the same report to finish
                stack.enter_context(report_lock(out_dir, task["spec"].name, wait=True))
            if task["execute"] is not task["params"] and use_cache(out_dir, task["fingerprint"]) is None:
                task = dict(task, execute=task["params"])  # pruned while this run waited a day: read the export
            timeout = task["spec"].cell_timeout if cell_timeout is None else cell_timeout  # the command line wins
            kernel = kernels.take(task["spec"].notebook.parent) if kernels else None
            result = _run_one(task, out_dir, progress and jobs == 1 and sys.stderr.isatty(), timeout, trigger, kernel)
        if log:
            log(_log_line(result))
        return result

    units: list[list[dict]] = []
    for t in tasks:  # the values of one for_each run one after the other (in one worker's kernel)
        group = (t.get("for_each") or {}).get("report")
        if group and units and (units[-1][0].get("for_each") or {}).get("report") == group:
            units[-1].append(t)
        else:
            units.append([t])
    # with several jobs, the duplicates report starts first: on new data (its dedup not cached yet) it is the longest,
    # and the other workers run the rest beside it (#21); the results keep the plan's order
    order = sorted(range(len(units)), key=lambda i: jobs > 1 and units[i][0]["spec"].notebook.name != _LONGEST)
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # threads only wait on kernel processes
        done = {i: pool.submit(lambda unit: [run(t) for t in unit], units[i]) for i in order}
        return refused + [r for i in range(len(units)) for r in done[i].result()]


#: The notebook started first when several run at once (:func:`_run_tasks`).
_LONGEST = "duplicates.ipynb"


def _for_each_tasks(task: dict, values) -> list[dict] | str:
    """One task per value of the report's ``for_each`` field, each its own report (``<name>--<value>``).

    Each value's run is filtered by ``<field> == <value>`` and the report's own ``where``, the two
    built as one expression of the grammar (never pasted as text), and reads the same cached load.
    ``values`` as :func:`_field_values` gives them: a list, or the line saying why the field cannot
    be read (returned as is).
    """
    import dataclasses

    from ..crm.expression import And, Compare, Constant, parse_expression
    from .config import for_each_name

    if isinstance(values, str):
        return values
    spec = task["spec"]
    ref = parse_expression(f"{spec.for_each} is null").column
    base = str(task["params"].get("where") or "").strip()
    out, taken = [], set()
    for value in values:
        cond = Compare(ref, "==", Constant(value))
        where = str(And((parse_expression(base), cond)) if base else cond)
        name = for_each_name(spec.name, value, taken)
        taken.add(name)
        params = dict(task["params"], where=where)
        execute = params if task["execute"] is task["params"] else dict(task["execute"], where=where)
        out.append(
            dict(
                task,
                spec=dataclasses.replace(spec, name=name, for_each=None),
                params=params,
                execute=execute,
                for_each={"report": spec.name, "field": spec.for_each, "value": value, "where": where},
            )
        )
    return out


def run_reports(
    config=None,
    *,
    only=None,
    overrides=None,
    out_dir="reports",
    data_dir=None,
    progress=True,
    log=None,
    jobs: int = 1,
    cell_timeout: int | None = None,
    pull: bool | None = None,
) -> RunResult:
    """Run reports now with papermill into ``out_dir/<report>/<as_of>/`` as notebook, HTML and manifest.

    Parameters
    ----------
    config : path-like or list of ReportSpec, optional
        Default: the packaged config (every notebook on ``data/sample``).
    only : str or list of str, optional
        The reports to run (default all).
    overrides : dict, optional
        Parameters for every selected report (``{"as_of": "2025-03-31"}``) or one
        (``{"funnel.segment": "industry"}``); relative paths start at the current folder; relative
        days (``last_friday``) resolve on today in the report's time zone.
    out_dir : path-like
        Where the run folders and ``index.html`` go. A day already published gets ``<as_of>.2``:
        published runs are never overwritten; the config's ``keep`` prunes old ones.
    data_dir : path-like, optional
        Data folder for every report with a ``data_dir`` parameter.
    progress : bool
        Papermill's progress bar, when stderr is a terminal.
    log : callable, optional
        Called with a line of text per finished report.
    jobs : int
        Notebooks executed at once (each in its own kernel process); the data are loaded and
        cached once before any of them starts.
    cell_timeout : int, optional
        Seconds a cell may run before the report fails, for every report (default: each report's
        ``cell_timeout`` in the config, else no limit).
    pull : bool, optional
        Refresh each data folder from the live org before the reports run; default the config's
        top-level ``pull`` (false when absent). A failed pull keeps the previous data: the
        reports run on them, say so, and fail.

    Returns
    -------
    RunResult
        ``runs`` (status, paths, error per report), ``failed`` (names) and ``index_html``. Each
        run's manifest records its data's freshness (``data_freshness``: as of when, how many days
        old, stale against the config's ``stale_after_days``, default 7). A
        failing notebook does not raise; an unknown report, an unknown or mistyped parameter, an
        unreadable ``as_of``, a missing notebook, or a ``pull`` or ``stale_after_days`` at the top
        of the config that is not a boolean or a positive number raise ReportConfigError before
        anything runs.
    """
    _import_jsonschema_without_iri()
    specs = config if isinstance(config, list) else load_report_config(config)
    plan = plan_reports(specs, only, dict(overrides or {}), data_dir)
    if jobs < 1:
        raise ReportConfigError(f"jobs must be at least 1, got {jobs}")
    pull_first, stale_after_days = _data_options(specs)
    out_dir = Path(out_dir).resolve()
    runs = _run_plan(
        plan,
        out_dir,
        jobs=jobs,
        progress=progress,
        log=log,
        trigger="run",
        slots={},
        lock=True,
        cell_timeout=cell_timeout,
        now=datetime.now(UTC),
        pull=pull_first if pull is None else pull,
        stale_after_days=stale_after_days,
    )
    return RunResult(runs, write_index(out_dir))


def run_due(
    config=None,
    *,
    out_dir="reports",
    data_dir=None,
    now: datetime | None = None,
    log=None,
    jobs: int = 1,
    dry_run: bool = False,
    cell_timeout: int | None = None,
    pull: bool | None = None,
) -> RunResult:
    """Run every scheduled report whose latest scheduled time has passed since its last successful run.

    A missed slot is caught up once (for the latest slot, not once per missed one); relative
    parameters resolve on the slot's local day. Each report runs under its lock: a report another
    process is running is skipped (``skipped``), and one published while this call waited is not
    run again. Nothing is written when nothing is due. A report whose parameters are wrong fails
    alone (``run_dir`` None), the others still run. A failed slot is retried after a back-off
    (``retry_backoff``, :func:`.schedule.due_reports`). ``dry_run`` only logs what is due, and when a
    report backing off is next due. ``cell_timeout`` as in :func:`run_reports`.

    Parameters
    ----------
    config : path-like or list of ReportSpec, optional
        Default: the packaged config. Reports without a ``schedule`` are never due.
    out_dir : path-like
        The reports folder: its published manifests are the schedule's state, and runs are
        published there (default ``"reports"``).
    data_dir : path-like, optional
        Data folder for every report with a ``data_dir`` parameter.
    now : datetime.datetime, optional
        The time to judge what is due at, time-zone aware; default the current time (UTC).
    log : callable, optional
        Called with a line of text per report: why it is or is not due, and the outcome of each
        run, and of each subscribers' mail (default: nothing logged). A report's ``subscribers:``
        get its summary after it is published (:func:`.mail.send_summary`; a failed send is
        logged and retried, and never changes the run).
    jobs : int
        Notebooks executed at once (default 1).
    dry_run : bool
        Only log what is due; run and write nothing (default False).
    cell_timeout : int, optional
        Seconds a cell may run, for every report (default: each report's ``cell_timeout``).
    pull : bool, optional
        Refresh each data folder the due reports read from the live org before they run
        (:func:`run_reports`); default the config's top-level ``pull``. Nothing due: no pull.
        Freshness is judged at ``now``.

    Returns
    -------
    RunResult
        ``runs``: one per report run (a report whose parameters are wrong appears as a failed
        run, ``run_dir`` None); ``index_html``: the index written, None when nothing ran;
        ``skipped``: the due reports another process holds.

    Raises
    ------
    ReportConfigError
        For a config that cannot be read (a top-level ``pull`` or ``stale_after_days`` of the
        wrong type included), or ``jobs`` below 1.
    ValueError
        When ``now`` is naive.
    """
    _import_jsonschema_without_iri()
    specs = config if isinstance(config, list) else load_report_config(config)
    if jobs < 1:
        raise ReportConfigError(f"jobs must be at least 1, got {jobs}")
    pull_first, stale_after_days = _data_options(specs)
    out_dir, now = Path(out_dir).resolve(), now or datetime.now(UTC)
    log = log or (lambda line: None)
    stamp = f"{now:%Y-%m-%dT%H:%M:%SZ}" if now.utcoffset() == UTC.utcoffset(None) else now.isoformat()
    chosen, skipped, runs = [], [], []
    with ExitStack() as locks:
        for d in due_reports(specs, out_dir, now):
            if not d.due or dry_run:
                log(f"{stamp} {d.name:<14} {d.reason}" + (" (dry run)" if dry_run and d.due else ""))
                continue
            try:
                locks.enter_context(report_lock(out_dir, d.name))
            except ReportBusy:
                log(f"{stamp} {d.name:<14} skipped: another process is running it")
                skipped.append(d.name)
                continue
            spec = next(s for s in specs if s.name == d.name)
            again = due_reports([spec], out_dir, now)[0]
            if not again.due:  # published while we took the lock: done, or failed and now backing off
                log(
                    f"{stamp} {d.name:<14} "
                    + (
                        f"done by another process for {d.slot.isoformat()}"
                        if again.done
                        else f"run by another process: {again.reason}"
                    )
                )
                continue
            log(f"{stamp} {d.name:<14} {d.reason}: running")
            chosen.append(d)
        plan = []
        for d in chosen:  # one report's bad parameter fails that report only
            try:
                plan += plan_reports(specs, [d.name], {}, data_dir, days={d.name: d.slot.date()})
            except ReportConfigError as exc:
                runs.append(
                    ReportRun(
                        d.name, "unknown", "failed", None, None, None, 0.0, f"config: {exc}", None, d.slot.isoformat()
                    )
                )
                log(_log_line(runs[-1]))
        runs += _run_plan(
            plan,
            out_dir,
            jobs=jobs,
            progress=False,
            log=log,
            trigger="schedule",
            slots={d.name: d.slot for d in chosen},
            lock=False,
            cell_timeout=cell_timeout,
            now=now,
            pull=pull_first if pull is None else pull,
            stale_after_days=stale_after_days,
        )
    index = write_index(out_dir) if runs else None
    _mail_subscribers(specs, runs, out_dir, log or (lambda _line: None))
    return RunResult(runs, index, skipped)


def _mail_subscribers(specs, runs, out_dir: Path, log) -> None:
    """After the scheduled runs are published: each report's subscribers get its summary (never raises)."""
    from .mail import send_summary

    by_name = {s.name: s for s in specs}
    for run in runs:  # a for_each value's run (<name>--<value>) goes to its report's subscribers
        spec = by_name.get(run.name) or by_name.get(run.name.split("--")[0])
        if spec is None or not spec.subscribers or spec.mail is None or run.run_dir is None:
            continue
        try:
            manifest = json.loads((Path(run.run_dir) / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        send_summary(out_dir, run.run_dir, manifest, settings=spec.mail, recipients=spec.subscribers, log=log)
