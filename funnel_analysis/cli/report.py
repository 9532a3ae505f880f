"""``funnel report run`` and ``funnel report due``: exit codes a scheduler understands.

0: every report ran well (or, for ``due``, nothing was due); 1: a report failed, named on stderr
(``FAILED <name>: <error>``) with its partial notebook; 2: the config, a parameter or an option is
wrong, and nothing ran. One log line per notebook on stdout, time-stamped, for the cron log.

Examples
--------
.. code-block:: console

    $ funnel report run                                        # every report on data/sample
    $ funnel report run --data-dir data/raw/myorg              # a Salesforce export
    $ funnel report run --data-dir data/raw/mycrm -p mapping=mycrm.yaml   # another CRM, through its mapping
    $ funnel report run --only forecasting -p as_of=2025-06-30 -p forecasting.horizon=12
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import click
import yaml

from ..reporting.config import ReportConfigError
from .common import ENGINES, ORG, fail, require_engine

__all__ = ["report_command", "parse_params"]


def parse_params(texts: Iterable[str]) -> Mapping[str, object]:
    """``-p KEY=VALUE`` options from the command line, each VALUE read as a YAML scalar.

    Parameters
    ----------
    texts : iterable of str
        The ``KEY=VALUE`` texts, in order (a later key wins).

    Returns
    -------
    Mapping
        Parameter name -> value: a number, a boolean, or the text as typed.

    Raises
    ------
    click.BadParameter
        For a text that is not ``KEY=VALUE``.
    """
    out = {}
    for text in texts:
        key, eq, raw = text.partition("=")
        if not eq or not key.strip():
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="-p")
        value = yaml.safe_load(raw) if raw.strip() else ""
        # YAML reads 2025-03-31 as a date and [..] as a list: the notebook gets the text as typed
        out[key.strip()] = value if value is None or isinstance(value, (str, int, float, bool)) else raw
    return out


def _finish(res) -> None:
    if res.index_html:
        click.echo(f"index: {res.index_html}")
    for r in (r for r in res.runs if r.status != "ok"):
        cell = "" if r.error_cell_index is None else f" (cell {r.error_cell_index})"  # None: the error says why
        click.echo(
            f"FAILED {r.name}: {r.error}{cell}; partial notebook: {r.ipynb or r.run_dir or 'none, nothing published'}",
            err=True,
        )
    if res.failed:
        click.echo(f"failed reports: {', '.join(res.failed)}", err=True)
    sys.exit(1 if res.failed else 0)


@click.group("report", context_settings={"help_option_names": ["-h", "--help"]})
def report_command():
    """Run the report notebooks into dated HTML reports, now or on schedule (cron-friendly).

    Another CRM's export: --data-dir FOLDER -p mapping=FILE (see funnel report run --help).
    """


_config = click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False),
    help="Report config (YAML). Default: the packaged one, every notebook on data/sample.",
)
_data_dir = click.option(
    "--data-dir",
    type=ORG,
    help="Data folder (CRM export or Parquet cache), or a database URL (postgresql://user@host/db, the "
    "password from PGPASSWORD), for every report. An export that is not Salesforce's "
    "also needs its mapping, the reports' parameter mapping: with run, -p mapping=FILE (a mapping YAML, or a "
    "built-in name such as maven_crm); with due, in the config.",
)
_out = click.option(
    "--out",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the run folders and index.html.",
)
_jobs = click.option(
    "--jobs",
    "-j",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Notebooks run at once (one kernel each); 2 suits a 2-core machine.",
)
_timeout = click.option(
    "--cell-timeout",
    type=click.IntRange(min=1),
    default=None,
    help="Seconds a notebook cell may run before its report fails, for every report "
    "(default: the report's cell_timeout in the config, else no limit).",
)


@report_command.command("run")
@_config
@click.option("--only", multiple=True, help="Run only this report (repeatable).")
@click.option(
    "-p",
    "--parameter",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A notebook parameter for every report, or REPORT.KEY=VALUE for one; VALUE is read as YAML. "
    'E.g. -p as_of=2025-06-30, -p where="amount >= 10000", -p mapping=mycrm.yaml (with --data-dir: the '
    "mapping file or built-in mapping name of a non-Salesforce export; a relative path starts here).",
)
@_data_dir
@_out
@_jobs
@_timeout
@click.option(
    "--engine",
    default=None,
    type=click.Choice(ENGINES),
    help="Where the notebooks' reductions run: duckdb, spark or pandas (default: FUNNEL_ENGINE, else the "
    "profile's engine:, else pandas).",
)
def run_command(config, only, params, data_dir, out, jobs, cell_timeout, engine):
    """Run the reports now; exit 1 naming the failed ones, 2 when the config or a parameter is wrong.

    \b
    Examples:
      funnel report run                                    every report on data/sample
      funnel report run --data-dir data/raw/myorg          on a Salesforce export
      funnel report run --data-dir data/raw/mycrm -p mapping=mycrm.yaml
                                                           another CRM's export, through its mapping file
      funnel report run --data-dir data/raw/maven -p mapping=maven_crm --only funnel
                                                           a built-in mapping, by name
      funnel report run --only forecasting -p as_of=2025-06-30 -p forecasting.horizon=12
    """
    from ..reporting.runner import run_reports

    if engine is not None:
        require_engine(engine)
        os.environ["FUNNEL_ENGINE"] = engine  # the kernels inherit it: open_report reads it
    try:
        res = run_reports(
            config,
            only=only or None,
            overrides=dict(parse_params(params)),
            out_dir=out,
            data_dir=data_dir,
            log=click.echo,
            jobs=jobs,
            cell_timeout=cell_timeout,
        )
    except ReportConfigError as exc:
        fail(exc)
    _finish(res)


def _parse_now(ctx, param, value):
    if value is None:
        return None
    try:
        now = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO time such as 2026-03-29T04:30Z") from None
    return now if now.tzinfo else now.replace(tzinfo=UTC)


@report_command.command("due")
@_config
@_data_dir
@_out
@_jobs
@_timeout
@click.option("--dry-run", is_flag=True, help="Only list which reports are due.")
@click.option(
    "--now",
    callback=_parse_now,
    metavar="ISO-TIME",
    help="Pretend it is this time (UTC unless an offset is given); for checking a schedule.",
)
def due_command(config, data_dir, out, jobs, cell_timeout, dry_run, now):
    """Run every scheduled report whose time has passed since its last successful run.

    The one command for cron, a systemd timer, Airflow or a Kubernetes CronJob: call it as often
    as you like (every 15 minutes is fine). A missed run is caught up once; a report already
    running elsewhere is skipped; nothing due, nothing done. A failed report is retried after a
    back-off (the config's retry_backoff; --dry-run says when). Exit 0 when all ran well or nothing
    was due, 1 naming the failed reports, 2 when the config is wrong. The parameters come from the
    config: a non-Salesforce export's mapping is a report parameter there (mapping: mycrm.yaml).
    """
    from ..reporting.runner import run_due

    try:
        res = run_due(
            config,
            out_dir=out,
            data_dir=data_dir,
            now=now,
            log=click.echo,
            jobs=jobs,
            dry_run=dry_run,
            cell_timeout=cell_timeout,
        )
    except ReportConfigError as exc:
        fail(exc)
    _finish(res)
