"""``funnel metric``: one headline figure as a tidy table, by any field, for any filter, per fiscal period.

The command behind a custom report (:func:`funnel_analysis.custom.metric`). The metric and the
filter are checked before the org is loaded: an unknown metric, a ``--where`` that is not an
expression of the shared grammar (code, SQL) or a ``--by`` that is not a field name is one line on
stderr and exit 2, and nothing runs. A field the org does not have is one line too, after loading.
In a project, FOLDER defaults to the profile's ``data_dir``, and the org is read as the reports read
it (:func:`funnel_analysis.project.apply_profile`: business types, stage and status overrides, the
custom fiscal periods), with the profile's fiscal year and KPI definitions (``kpis:``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..crm.expression import parse_expression
from ..custom.metrics import metric_spec
from .common import DATA_ERRORS, engine_option, fail, json_option, load_or_fail, mapping_option

__all__ = ["metric_command"]

_KPI_CHOICES = ("win_rate_basis", "cohort", "exclude_stages", "exclude_types", "new_business_only")


def _first_line(exc) -> str:
    """An error's first line: an expression error's caret lines are left out (one line on stderr)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _project():
    """The project the ``funnel`` group found (``ctx.obj``: root and profile), or None."""
    obj = click.get_current_context().find_root().obj
    return obj if getattr(obj, "profile", None) is not None else None


def _folder(folder, project) -> str:
    if folder is not None:
        return folder
    if project is None:
        fail(f"no FOLDER given and no project here (no profile.yaml up from {Path.cwd()}); give FOLDER or --project")
    data_dir = project.profile.data_dir
    if data_dir is None or not Path(data_dir).is_dir():
        fail(
            f"{project.profile.path}: data_dir: {data_dir} does not exist "
            "(funnel sample writes a made-up org there; or put the export there)"
        )
    return str(data_dir)


def _cell(key: str, value, kind: str, figure: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if key == figure and kind == "rate" or key.startswith(f"{figure}_ci"):
            return f"{value:.4f}"
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


@click.command("metric")
@click.argument("metric_name", metavar="METRIC")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
@mapping_option("Mapping file or built-in mapping name.")
@click.option("--by", default=None, help="Field to break the figure down by: a column or one hop, e.g. owner.region.")
@click.option(
    "--where",
    default=None,
    help="Only the records this expression selects, e.g. \"account.industry == 'Retail' and amount >= 10000\".",
)
@click.option(
    "--period", default=None, type=click.Choice(["Q", "M", "Y"], case_sensitive=False), help="Also per fiscal period."
)
@click.option(
    "--as-of", "as_of", default=None, help="Date (YYYY-MM-DD) to cut the org at; default: the latest date in the data."
)
@engine_option()
@json_option("Print a JSON list, one object per row.")
def metric_command(metric_name, folder, mapping, by, where, period, as_of, engine, as_json):
    """One headline figure of FOLDER as a table: per --by value (and --period), with its count and interval.

    METRIC is one of: leads, leads_converted, lead_conversion_rate (conversion), opportunities,
    opportunities_open, opportunities_won, opportunities_lost, win_rate, won_amount (bookings),
    avg_won_deal_size, median_cycle_days (cycle), mean_cycle_days, open_pipeline_amount (pipeline).
    Lead metrics count leads, the others opportunities: --by and --where name that table's fields, or a
    related record's one hop away (account.industry, owner.region, owner.role). Each row has the figure,
    its _n (the records it rests on) and, for a rate, its 95 % Wilson interval. Money is in the org's
    corporate currency.

    \b
    Examples:
      funnel metric win_rate --by account.industry --where "owner.region == 'EMEA'" --period Q
      funnel metric pipeline data/sample --by owner.role --json
    """
    from ..custom.report import metric as compute_metric

    try:  # checked before anything is loaded: nothing of these runs
        spec = metric_spec(metric_name)
        if where:
            parse_expression(where)
    except DATA_ERRORS as exc:
        fail(_first_line(exc))
    project = _project()
    folder = _folder(folder, project)
    options = {}
    if project is not None:
        options["fiscal_year_start_month"] = project.profile.fiscal_year_start_month
        options |= {k: v for k, v in project.profile.kpis.items() if k in _KPI_CHOICES}
    try:
        crm = load_or_fail(folder, mapping, engine=engine)
        if project is not None:
            from ..project import apply_profile

            crm = apply_profile(crm, profile=project.profile)  # as the reports do: types, stages, fiscal periods
        table = compute_metric(crm, metric=spec.name, as_of=as_of, by=by, where=where, period=period, **options)
    except DATA_ERRORS as exc:
        fail(_first_line(exc))
    records = json.loads(table.to_json(orient="records", date_format="iso", double_precision=15))
    for record in records:
        record["as_of"] = record["as_of"][:10]
        if record.get("period_start"):
            record["period_start"] = record["period_start"][:10]
    if as_json:
        click.echo(json.dumps(records, indent=1, ensure_ascii=False, default=str))
        return
    columns = list(table.columns)
    cells = [[_cell(c, r[c], spec.kind, spec.name) for c in columns] for r in records]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    text = [not _numeric(table[c]) for c in columns]
    click.echo("  ".join(c.ljust(w) if t else c.rjust(w) for c, w, t in zip(columns, widths, text)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) if t else v.rjust(w) for v, w, t in zip(row, widths, text)))
    click.echo("")
    click.echo(table.attrs["definition"])


def _numeric(column) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
