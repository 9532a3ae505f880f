"""The ``funnel forecast`` command: any series from a file, or an org's next quarter.

Examples
--------
.. code-block:: console

    $ funnel forecast --series bookings.csv --horizon 13 --period W --out forecast.csv
    $ funnel forecast data/sample --next-quarter --as-of 2025-06-30 --json
    $ funnel forecast data/sample --next-quarter --where "owner.region == 'EMEA'"

Errors about the input print one line ``error: ...`` and exit with status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import DATA_ERRORS, engine_option, fail, json_option, mapping_option, require_engine

__all__ = ["forecast_command"]


def _read(path: Path):
    import pandas as pd

    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return pd.read_csv(path, dtype={"series_id": str})
    raise ValueError(f"{path}: expected a .csv or .parquet file")


@click.command("forecast")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--series",
    "series_file",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV or Parquet with columns series_id, ds, y (one or many series).",
)
@click.option("--horizon", type=click.IntRange(min=1), help="Periods to forecast (with --series).")
@click.option(
    "--period",
    "--freq",
    "period",
    type=click.Choice(["W", "M", "Q"]),
    default=None,
    help="Period of the series (W, M or Q); inferred from the dates when omitted. --freq: the same.",
)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Output file (.csv or .parquet).")
@click.option(
    "--methods",
    default=None,
    help="Comma-separated methods (default: all of naive, snaive, es, ets, sarimax, theta, combo).",
)
@click.option(
    "--origins",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rolling origins of the backtest that chooses the method.",
)
@click.option("--jobs", default=-1, show_default=True, type=int, help="Processes (-1 = every core).")
@click.option("--allow-negative", is_flag=True, help="Accept negative values (default: an error).")
@click.option(
    "--scores",
    "scores_out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the backtest scores per series and method to this file.",
)
@click.option(
    "--next-quarter", "next_quarter", is_flag=True, help="With FOLDER: the current and next quarter's expected revenue."
)
@click.option("--as-of", "as_of", default=None, help="With FOLDER: the day to forecast from (default: latest).")
@click.option(
    "--where",
    default=None,
    help="With FOLDER: only the opportunities this expression selects, e.g. \"owner.region == 'EMEA'\".",
)
@mapping_option("With FOLDER: mapping file or built-in mapping name.")
@engine_option()
@json_option("With FOLDER: print JSON.")
def forecast_command(
    folder,
    series_file,
    horizon,
    period,
    out,
    methods,
    origins,
    jobs,
    allow_negative,
    scores_out,
    next_quarter,
    as_of,
    where,
    mapping,
    engine,
    as_json,
):
    """Forecast series from a file (--series), or an org's next quarter (FOLDER --next-quarter).

    The file mode writes series_id, ds, yhat, yhat_ci_low_80, yhat_ci_high_80, yhat_ci_low_95,
    yhat_ci_high_95 and the method chosen by a rolling-origin backtest; series are fitted in parallel
    processes.
    """
    if folder:
        if series_file or not next_quarter:
            fail("give either FOLDER --next-quarter or --series FILE --horizon H --out FILE")
        _next_quarter(folder, as_of, where, mapping, engine, as_json)
        return
    if not (series_file and horizon and out):
        fail("--series, --horizon and --out are required (or FOLDER --next-quarter)")
    from ..forecast.batch import fit_many
    from ..forecast.timeseries import METHODS

    chosen = tuple(m.strip() for m in methods.split(",")) if methods else METHODS
    try:
        df = _read(Path(series_file))
        result = fit_many(
            df,
            horizon=horizon,
            period=period,
            methods=chosen,
            n_origins=origins,
            allow_negative=allow_negative,
            n_jobs=jobs,
            progress=sys.stderr.isatty(),
        )
    except (ValueError, TypeError, OSError) as exc:
        fail(exc)
    fc, scores = result.forecasts, result.scores
    for frame, target in ((fc, out), (scores, scores_out)):
        if target:
            target = Path(target)
            if target.suffix.lower() in (".parquet", ".pq"):
                frame.to_parquet(target, index=False)
            else:
                frame.to_csv(target, index=False)
    n = fc["series_id"].nunique()
    click.echo(f"{n} series, {horizon} steps, written to {out}", err=True)


def _next_quarter(folder, as_of, where, mapping, engine, as_json):
    from ..crm.load import load_org
    from ..crm.model import resolve_as_of
    from ..forecast import report

    require_engine(engine)
    try:
        crm = load_org(folder, mapping=mapping, engine=engine)
        day = resolve_as_of(crm, as_of=as_of)
        table = report.next_quarter_forecast(crm, as_of=day, where=where)
    except DATA_ERRORS as exc:
        fail(exc)
    rows = json.loads(table.to_json(orient="records", date_format="iso"))
    if as_json:
        click.echo(json.dumps({"as_of": str(day.date()), "quarters": rows}, indent=1))
        return
    click.echo(f"as of {day:%Y-%m-%d}")
    for r in rows:
        click.echo(
            f"{r['fiscal_period']}: {r['forecast']:,.0f}  "
            f"(80%: {r['forecast_ci_low_80']:,.0f} - {r['forecast_ci_high_80']:,.0f}; "
            f"won {r['won_to_date']:,.0f} + pipeline {r['pipeline_expected']:,.0f} "
            f"+ new deals {r['new_deals_expected']:,.0f})"
        )
