"""The ``funnel`` command line.

Every command has ``--help``. Errors about the data (a file that cannot be
used) print one clear line naming the file, column and expectation and exit
with status 2, without a stack trace.

Examples
--------
.. code-block:: console

    $ funnel sample --out data/sample
    $ funnel check data/sample --json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .io import DataLoadError

__all__ = ["main"]


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="funnel-analysis")
def main():
    """Sales-funnel analytics and forecasting on CRM exports."""


@main.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to write the export to.")
@click.option("--scale", default=1.0, show_default=True, type=float,
              help="Size: 1 is about 20k leads and 4k opportunities; 50 about a million leads.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same files).")
@click.option("--truth", "truth_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for the ground truth (default: <out>_truth).")
def sample(out, scale, seed, truth_dir):
    """Generate a realistic sample org as a Salesforce export folder, with its ground truth."""
    from .synth import generate_sample

    summary = generate_sample(out, scale=scale, seed=seed, truth_dir=truth_dir)
    click.echo(json.dumps(summary, indent=1, default=str))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--mapping", default=None, help="Mapping file, or a built-in mapping name (maven_crm, x_education).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--quarantine-out", default=None, type=click.Path(dir_okay=False),
              help="Also write the quarantine table (one row per broken rule) to this CSV.")
def check(folder, mapping, as_json, quarantine_out):
    """Load and validate FOLDER; print rows read, kept, quarantined and flagged, and rows per rule.

    Exits 0 when the data loaded (quarantined rows included) and 2 when a file
    cannot be used at all.
    """
    from .load import load_org

    try:
        crm = load_org(folder, mapping=mapping, progress=not as_json and sys.stderr.isatty())
    except DataLoadError as exc:
        _fail(exc)
    if quarantine_out:
        crm.quarantine.to_csv(quarantine_out, index=False)
    if as_json:
        click.echo(json.dumps(crm.report.to_dict(), indent=1, ensure_ascii=False))
        return
    click.echo(f"source: {folder}" + (f"  (mapping {crm.meta['mapping']})" if crm.meta.get("mapping") else ""))
    click.echo(crm.report.table().to_string(index=False))
    rules = crm.report.rules()
    if len(rules):
        click.echo("\nrows per rule:")
        click.echo(rules.to_string(index=False))
    if crm.report.ignored_files:
        click.echo(f"\nfiles not part of the model (ignored): {', '.join(crm.report.ignored_files)}")
    click.echo(f"stages from: {crm.report.stages_origin}")


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.argument("cache", type=click.Path(file_okay=False))
@click.option("--mapping", default=None, help="Mapping file or built-in mapping name.")
def cache(folder, cache, mapping):
    """Load FOLDER once and cache the validated org as Parquet in CACHE (reloads fast)."""
    from .load import load_org

    try:
        crm = load_org(folder, mapping=mapping)
    except DataLoadError as exc:
        _fail(exc)
    out = crm.to_parquet(cache)
    click.echo(str(Path(out).resolve()))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--mapping", default=None, help="Mapping file or built-in mapping name.")
@click.option("--as-of", "as_of", default=None, help="Date (YYYY-MM-DD) to cut the org at; default: as loaded.")
@click.option("--by", default=None, help="Segment column of the opportunities/leads (e.g. lead_source).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (a list of them with --by).")
def kpis(folder, mapping, as_of, by, as_json):
    """Headline funnel figures of FOLDER: leads, conversion, open/won/lost, win rate, deal size, cycle, pipeline.

    A figure the data cannot give (no leads table, an empty denominator) is null, not zero.
    """
    from .kpis import kpis as compute_kpis
    from .load import load_org

    try:
        crm = load_org(folder, mapping=mapping)
        result = compute_kpis(crm, as_of=as_of, by=by)
    except (DataLoadError, ValueError, KeyError) as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(result, indent=1, ensure_ascii=False, default=str))
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                value = f"{value:,.4f}" if "rate" in key else f"{value:,.2f}"
            elif isinstance(value, int):
                value = f"{value:,}"
            click.echo(f"{key:<28} {value}")
        click.echo("")


# Each command group lives beside the code it drives.
from .cli_dedup import dedup_command  # noqa: E402
from .cli_forecast import forecast_command  # noqa: E402
from .cli_score import score_command  # noqa: E402
from .reports import report_command  # noqa: E402

main.add_command(report_command)
main.add_command(dedup_command)
main.add_command(score_command)
main.add_command(forecast_command)


if __name__ == "__main__":  # pragma: no cover
    main()
