"""Scheduled reports: the report notebooks run by papermill into dated, code-free HTML.

A YAML config lists reports (name, notebook, parameters); the packaged ``config/reports.yaml``
runs every notebook on ``data/sample``. :func:`run_reports` checks all parameters against each
notebook's ``parameters`` cell before anything runs, then executes every notebook into
``<out>/<report>/<as_of>/`` (notebook, self-contained HTML without code, ``manifest.json``) and
links every run on disk from ``<out>/index.html``. A failing notebook is kept with its error,
the others still run. The helpers the notebooks share are in :mod:`funnel_analysis.notebook`.

>>> run_reports(only=["funnel"], overrides={"as_of": "2025-03-31"}).failed  # doctest: +SKIP
[]
"""

from __future__ import annotations

import ast
import html
import json
import platform
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from importlib import metadata, resources
from pathlib import Path
from urllib.parse import quote

import click
import pandas as pd
import yaml

from .notebook import latest_date

__all__ = ["ReportSpec", "ReportRun", "RunResult", "ReportConfigError", "load_report_config", "run_reports",
           "write_index", "report_command"]

_LIBRARIES = ("funnel-analysis", "pandas", "numpy", "scikit-learn", "statsmodels", "papermill", "nbconvert",
              "matplotlib")
# the lab template without its CDN scripts (require.js, MathJax, Mermaid), unused by the reports:
# the HTML then opens complete offline and as a mail attachment
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


class ReportConfigError(ValueError):
    """A report config or parameter that cannot be used; raised before any notebook runs."""


@dataclass
class ReportSpec:
    """One report: its name, notebook (absolute path) and parameters (plain literals)."""

    name: str
    notebook: Path
    parameters: dict = field(default_factory=dict)


@dataclass
class ReportRun:
    """One report's outcome; ``ipynb`` is the partial notebook when it failed."""

    name: str
    as_of: str
    status: str
    run_dir: Path
    ipynb: Path | None
    html: Path | None
    duration_s: float
    error: str | None = None
    error_cell_index: int | None = None


@dataclass
class RunResult:
    runs: list[ReportRun]
    index_html: Path

    @property
    def failed(self) -> list[str]:
        """Names of the reports that failed."""
        return [r.name for r in self.runs if r.status != "ok"]


# ---- config and parameters ------------------------------------------------------------------
def _resolve(params: dict, base: Path) -> dict:
    """Path parameters (``*_dir``, ``*_path``, ``*_file``, a mapping file) made absolute from ``base``."""
    def is_path(k, v):  # a built-in mapping name (maven_crm) is not a path
        return isinstance(v, str) and v != "" and (k.endswith(("_dir", "_path", "_file")) or (
            k == "mapping" and (v.endswith((".yaml", ".yml")) or "/" in v)))

    return {k: str((base / v).resolve()) if is_path(k, v) else v for k, v in params.items()}


def _plain(value, where: str):
    """YAML dates to ISO text: papermill injects plain literals only, so anything else is refused."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if not (value is None or isinstance(value, (str, int, float, bool, list))):
        raise ReportConfigError(f"{where}: {value!r} is not a plain literal (str, int, float, bool, list)")
    return value


def load_report_config(path=None) -> list[ReportSpec]:
    """Read a report config (YAML); ``None`` reads the packaged ``config/reports.yaml``.

    Parameters
    ----------
    path : path-like, optional
        YAML with ``reports:`` (a list of ``name``, ``notebook``, ``parameters``), and optionally
        ``root`` (where relative paths start, relative to the file; default its folder) and
        ``notebooks`` (where notebook paths start, relative to root; default ``notebooks``).

    Raises
    ------
    ReportConfigError
        For a missing, malformed or repeated name, or a parameter that is not a plain literal.
    """
    if path is None:
        with resources.as_file(resources.files("funnel_analysis") / "config" / "reports.yaml") as p:
            return load_report_config(p)
    path = Path(path).resolve()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(doc.get("reports"), list) or not doc["reports"]:
        raise ReportConfigError(f"{path}: needs a non-empty list 'reports:'")
    root, specs = (path.parent / str(doc.get("root", "."))).resolve(), []
    for i, item in enumerate(doc["reports"]):
        name = str(item.get("name", ""))
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or name in [s.name for s in specs]:
            raise ReportConfigError(f"{path}: report #{i + 1} needs a unique name of letters, digits, _ and -")
        params = {str(k): _plain(v, f"{path}: report {name!r}, parameter {k!r}")
                  for k, v in (item.get("parameters") or {}).items()}
        nb = root / str(doc.get("notebooks", "notebooks")) / str(item.get("notebook", f"{name}.ipynb"))
        specs.append(ReportSpec(name, nb.resolve(), _resolve(params, root)))
    return specs


def _check(spec: ReportSpec, overrides: dict, data_dir) -> dict:
    """All the notebook's parameters: its defaults, then config, data_dir and overrides, checked."""
    import papermill as pm

    declared = {}
    for k, info in pm.inspect_notebook(str(spec.notebook)).items():
        try:
            declared[k] = (info["inferred_type_name"], ast.literal_eval(info["default"]))
        except (ValueError, SyntaxError):
            raise ReportConfigError(f"{spec.notebook}: parameter {k} = {info['default']} is not a literal") from None
    # the notebook's own relative defaults start at its folder
    out = _resolve({k: v for k, (_, v) in declared.items()}, spec.notebook.parent)
    given = dict(spec.parameters)
    if data_dir is not None and "data_dir" in declared:
        given["data_dir"] = str(Path(data_dir).resolve())
    given |= overrides
    unknown = [k for k in given if k not in declared]
    if unknown:
        raise ReportConfigError(f"report {spec.name!r}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                                f"{spec.notebook.name} has: {', '.join(declared) or 'no parameters cell'}")
    for k, v in given.items():
        kind = declared[k][0]
        if kind == "str" and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)  # `-p region=1` reads as an int, but the notebook declared text
        types = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list}.get(kind, object)
        if v is not None and (not isinstance(v, types) or (kind in ("int", "float") and isinstance(v, bool))):
            raise ReportConfigError(f"report {spec.name!r}: parameter {k!r} must be {kind}, got {v!r}")
        out[k] = v
    if out.get("as_of"):
        try:
            out["as_of"] = str(pd.Timestamp(out["as_of"]).date())
        except (TypeError, ValueError):
            raise ReportConfigError(f"report {spec.name!r}: as_of={out['as_of']!r} is not a date (YYYY-MM-DD, "
                                    "or empty for the latest date in the data)") from None
    return out


def _plan(specs: list[ReportSpec], only, overrides: dict, data_dir) -> list[tuple[ReportSpec, dict]]:
    """The selected reports with all their parameters; every error is raised before anything runs."""
    names = [s.name for s in specs]
    only = [only] if isinstance(only, str) else list(only or names)
    for n in [*only, *(k.rpartition(".")[0] for k in overrides if "." in k)]:
        if n not in names:
            raise ReportConfigError(f"no report named {n!r}; the config has: {', '.join(names)}")
    plan, errors = [], []
    for spec in (s for s in specs if s.name in only):
        mine = _resolve({k.rpartition(".")[2]: v for k, v in sorted(overrides.items(), key=lambda kv: "." in kv[0])
                         if k.rpartition(".")[0] in ("", spec.name)}, Path.cwd())  # all reports', then its own
        try:
            if not spec.notebook.is_file():
                raise ReportConfigError(f"report {spec.name!r}: notebook {spec.notebook} does not exist")
            plan.append((spec, _check(spec, mine, data_dir)))
        except ReportConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ReportConfigError("\n".join(errors))
    return plan


# ---- running -----------------------------------------------------------------------------------
def _data_facts(params: dict, cache: dict, out_dir: Path):
    """(fingerprint, latest day, load error, Parquet cache) of a report's data, loaded once per run.

    The validated org is cached as Parquet under ``out_dir/.cache/<fingerprint>`` and the
    notebooks read that instead of the raw export: each kernel then loads the org in a
    fraction of the time, and every report of a run sees the very same data.
    """
    key = (params.get("data_dir"), params.get("mapping") or None)
    if key[0] and key not in cache:
        from .load import load_org

        try:
            crm = load_org(key[0], mapping=key[1])
            fingerprint = crm.meta.get("fingerprint")
            target = out_dir / ".cache" / str(fingerprint)
            if not (target / "crm.json").exists():
                tmp = out_dir / ".cache" / f".{fingerprint}.{time.time_ns()}"
                crm.to_parquet(tmp)
                if target.exists():
                    shutil.rmtree(target)
                tmp.rename(target)  # published whole or not at all
            cache[key] = (fingerprint, latest_date(crm), None, target)
        except Exception as exc:  # the notebook meets the same error and shows it: run it anyway
            cache[key] = (None, None, f"{type(exc).__name__}: {exc}", None)
    return cache.get(key, (None, None, None, None))


def _to_html(ipynb: Path, out: Path, manifest: dict) -> None:
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(ipynb), as_version=4)
    # the code, injected parameters included, is hidden: say what the report was run on
    shown = ", ".join(f"`{k}` = `{v}`" for k, v in manifest["parameters"].items() if v not in ("", None))
    note = f"*Run {manifest['started_at']}, status **{manifest['status']}**, parameters: {shown}*"
    nb.cells.insert(int(bool(nb.cells) and nb.cells[0].cell_type == "markdown"), nbformat.v4.new_markdown_cell(note))
    exporter = HTMLExporter(template_name="lab", extra_loaders=[jinja2.DictLoader({"report.j2": _TEMPLATE})],
                            template_file="report.j2", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    meta = {"metadata": {"name": f"{manifest['report']} {manifest['as_of']}"}}
    out.write_text(exporter.from_notebook_node(nb, resources=meta)[0], encoding="utf-8")


def _run_one(spec: ReportSpec, params: dict, as_of: str, fingerprint, out_dir: Path, progress: bool,
             execute: dict | None = None) -> ReportRun:
    import papermill as pm

    run_dir = out_dir / spec.name / as_of
    if run_dir.exists():  # a re-run of the same day replaces it: no stale HTML beside a new notebook
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    ipynb, page = run_dir / f"{spec.name}.ipynb", run_dir / f"{spec.name}.html"
    started, t0, error, cell = datetime.now(timezone.utc), time.perf_counter(), None, None
    try:
        pm.execute_notebook(str(spec.notebook), str(ipynb), parameters=execute or params, kernel_name="python3",
                            cwd=str(spec.notebook.parent), progress_bar=progress)
    except pm.PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
        # an index into the report's own notebook: papermill's injected parameters cell shifts it
        cells = [c.metadata.get("tags", []) for c in pm.iorw.load_notebook_node(str(ipynb)).cells]
        cells = [t for t in cells if "papermill-error-cell-tag" not in t][:exc.cell_index]
        cell = exc.cell_index - sum("injected-parameters" in t for t in cells)
    except Exception as exc:  # kernel died, unreadable notebook...: a failed report, not a crashed run
        error = f"{type(exc).__name__}: {exc}"
    versions = {"python": platform.python_version()} | {d: metadata.version(d) for d in _LIBRARIES}  # all required
    manifest = {"report": spec.name, "notebook": str(spec.notebook), "as_of": as_of, "parameters": params,
                "data_fingerprint": fingerprint, "data_cache": (execute or {}).get("data_dir") if execute is not params
                else None, "package_version": versions["funnel-analysis"],
                "versions": versions, "started_at": started.isoformat(timespec="seconds"), "duration_s": None,
                "status": "failed" if error else "ok", "error": error, "error_cell_index": cell,
                "ipynb": ipynb.name if ipynb.exists() else None, "html": None}
    if ipynb.exists():
        try:
            _to_html(ipynb, page, manifest)
            manifest["html"] = page.name
        except Exception as exc:  # a report nobody can read is a failed report
            manifest.update(status="failed", error=error or f"HTML conversion: {type(exc).__name__}: {exc}")
    manifest["duration_s"] = round(time.perf_counter() - t0, 2)
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
    return ReportRun(spec.name, as_of, manifest["status"], run_dir, ipynb if manifest["ipynb"] else None,
                     page if manifest["html"] else None, manifest["duration_s"], manifest["error"], cell)


def write_index(out_dir) -> Path:
    """Write ``out_dir/index.html`` linking every run found there, by report, newest as-of first."""
    out_dir, rows = Path(out_dir), []
    for mf in out_dir.glob("*/*/manifest.json"):
        m = json.loads(mf.read_text(encoding="utf-8"))
        e = {k: html.escape(str(m.get(k))) for k in ("report", "as_of", "status", "duration_s", "started_at")}
        target = m.get("html") or m.get("ipynb")  # no HTML: link the (partial) notebook
        href = html.escape(quote(f"{mf.parent.relative_to(out_dir).as_posix()}/{target}"))
        err = "" if m["status"] == "ok" else html.escape(f"cell {m.get('error_cell_index')}: {m.get('error')}")
        rows.append((m["report"], m["as_of"], f'<tr class="{e["status"]}"><td>'
                     + (f'<a href="{href}">{e["report"]}</a>' if target else e["report"])
                     + "".join(f"<td>{v}</td>" for v in (e["as_of"], e["status"], f"{e['duration_s']} s",
                                                         e["started_at"], err)) + "</tr>"))
    rows.sort(key=lambda r: r[1], reverse=True)
    rows.sort(key=lambda r: r[0])  # stable: by report, newest as-of first within each
    page = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Reports</title><style>'
            "body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left}"
            "tr.failed td{color:#b00}</style></head><body><h1>Reports</h1><table><tr><th>report</th>"
            "<th>as of</th><th>status</th><th>duration</th><th>run at</th><th>error</th></tr>"
            + "".join(r[2] for r in rows) + "</table></body></html>\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "index.html").write_text(page, encoding="utf-8")
    return out_dir / "index.html"


def run_reports(config=None, *, only=None, overrides=None, out_dir="reports", data_dir=None, progress=True,
                log=None, jobs: int = 1) -> RunResult:
    """Run reports with papermill into ``out_dir/<report>/<as_of>/`` as notebook, HTML and manifest.

    Parameters
    ----------
    config : path-like or list of ReportSpec, optional
        Default: the packaged config (every notebook on ``data/sample``).
    only : str or list of str, optional
        The reports to run (default all).
    overrides : dict, optional
        Parameters for every selected report (``{"as_of": "2025-03-31"}``) or one
        (``{"funnel.segment": "industry"}``); relative paths start at the current folder.
    out_dir : path-like
        Where the run folders and ``index.html`` go.
    data_dir : path-like, optional
        Data folder for every report with a ``data_dir`` parameter.
    progress : bool
        Papermill's progress bar, when stderr is a terminal.
    log : callable, optional
        Called with a line of text per finished report.
    jobs : int
        Notebooks executed at once (each in its own kernel process); the data are loaded and
        cached once before any of them starts.

    Returns
    -------
    RunResult
        ``runs`` (status, paths, error per report), ``failed`` (names) and ``index_html``. A
        failing notebook does not raise; an unknown report, an unknown or mistyped parameter, an
        unreadable ``as_of`` or a missing notebook raise ReportConfigError before anything runs.
    """
    specs = config if isinstance(config, list) else load_report_config(config)
    plan = _plan(specs, only, dict(overrides or {}), data_dir)
    out_dir, cache = Path(out_dir).resolve(), {}
    if jobs < 1:
        raise ReportConfigError(f"jobs must be at least 1, got {jobs}")
    tasks = []
    for spec, params in plan:  # data loaded and cached once, before any notebook starts
        fingerprint, latest, load_error, parquet = _data_facts(params, cache, out_dir)
        if "as_of" in params and not params["as_of"] and latest is not None:
            params["as_of"] = str(latest.date())  # resolved here, so that the manifest records the day
        as_of = params.get("as_of") or ("unknown" if load_error else str(datetime.now(timezone.utc).date()))
        execute = dict(params, data_dir=str(parquet), **({"mapping": ""} if "mapping" in params else {})) \
            if parquet else params
        tasks.append((spec, params, as_of, fingerprint, execute))

    def run(task):
        spec, params, as_of, fingerprint, execute = task
        result = _run_one(spec, params, as_of, fingerprint, out_dir,
                          progress and jobs == 1 and sys.stderr.isatty(), execute)
        if log:
            log(f"{result.name:<14} as_of {result.as_of}  {result.status:<6} {result.duration_s:6.1f} s  "
                f"{result.html or result.ipynb or result.run_dir}"
                + ("" if result.status == "ok" else f"\n{'':<14} cell {result.error_cell_index}: {result.error}"))
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:  # threads only wait on kernel processes
        runs = list(pool.map(run, tasks))
    return RunResult(runs, write_index(out_dir))


# ---- command line ------------------------------------------------------------------------------
def _parse_param(text: str):
    key, eq, raw = text.partition("=")
    if not eq or not key.strip():
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="-p")
    value = yaml.safe_load(raw) if raw.strip() else ""
    # YAML reads 2025-03-31 as a date and [..] as a list: the notebook gets the text as typed
    return key.strip(), value if value is None or isinstance(value, (str, int, float, bool)) else raw


@click.group("report", context_settings={"help_option_names": ["-h", "--help"]})
def report_command():
    """Run the report notebooks into dated HTML reports (cron-friendly)."""


@report_command.command("run")
@click.option("--config", type=click.Path(exists=True, dir_okay=False),
              help="Report config (YAML). Default: the packaged one, every notebook on data/sample.")
@click.option("--only", multiple=True, help="Run only this report (repeatable).")
@click.option("-p", "--parameter", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter for every report, or REPORT.KEY=VALUE for one; VALUE is read as YAML.")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False), help="Data folder for every report.")
@click.option("--out", default="reports", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the run folders and index.html.")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1),
              help="Notebooks run at once (one kernel each); 2 suits a 2-core machine.")
def run_command(config, only, params, data_dir, out, jobs):
    """Run the reports; exit 1 naming the failed ones, 2 when the config or a parameter is wrong."""
    try:
        res = run_reports(config, only=only or None, overrides=dict(map(_parse_param, params)), out_dir=out,
                          data_dir=data_dir, log=click.echo, jobs=jobs)
    except ReportConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"index: {res.index_html}")
    for r in (r for r in res.runs if r.status != "ok"):
        click.echo(f"FAILED {r.name}: {r.error} (cell {r.error_cell_index}); partial notebook: "
                   f"{r.ipynb or r.run_dir}", err=True)
    sys.exit(1 if res.failed else 0)
