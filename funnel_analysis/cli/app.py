"""The ``funnel`` group: its commands on an org folder (``sample``, ``check``, ``cache``, ``kpis``), and the
command groups of the other modules of :mod:`funnel_analysis.cli` added to it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..synth.model import SAMPLE_OPTIONS
from .common import DATA_ERRORS, fail, json_option, load_or_fail, mapping_option
from .dedup import dedup_command
from .forecast import forecast_command
from .pull import pull_command
from .report import report_command
from .score import score_command

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="funnel-analysis")
def main():
    """Sales-funnel analytics and forecasting on CRM exports."""


@main.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder to write the export to.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=float,
    help="Size: 1 is about 20k leads and 4k opportunities; 50 about a million leads.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same files).")
@click.option(
    "--truth",
    "truth_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for the ground truth (default: <out>_truth).",
)
@click.option(
    "--deleted/--no-deleted",
    default=True,
    show_default=True,
    help="Deleted records (IsDeleted), as queryAll exports them.",
)
@click.option(
    "--merged/--no-merged", default=True, show_default=True, help="Records Salesforce merged (MasterRecordId)."
)
@click.option(
    "--currencies/--no-currencies", default=True, show_default=True, help="USD, EUR and GBP with dated rates."
)
@click.option(
    "--modstamps/--no-modstamps", default=True, show_default=True, help="LastModifiedDate and SystemModstamp."
)
@click.option(
    "--field-history/--no-field-history",
    default=SAMPLE_OPTIONS["field_history"],
    show_default=True,
    help="LeadHistory and OpportunityFieldHistory, with a real org's gaps.",
)
@click.option(
    "--lead-statuses/--no-lead-statuses",
    default=SAMPLE_OPTIONS["lead_statuses"],
    show_default=True,
    help="Custom lead statuses (LeadStatus.csv).",
)
@click.option(
    "--queues/--no-queues",
    default=SAMPLE_OPTIONS["queues"],
    show_default=True,
    help="Lead queues (Group.csv, GroupMember.csv).",
)
@click.option(
    "--contact-roles/--no-contact-roles",
    default=SAMPLE_OPTIONS["contact_roles"],
    show_default=True,
    help="OpportunityContactRole.csv.",
)
@click.option(
    "--custom-fields/--no-custom-fields",
    default=SAMPLE_OPTIONS["custom_fields"],
    show_default=True,
    help="Custom __c fields with Lead/Opportunity.describe.json.",
)
@click.option(
    "--joined-source/--no-joined-source",
    default=SAMPLE_OPTIONS["joined_source"],
    show_default=True,
    help="<out>/joined_source/: leads.csv and deals.csv keyed by lead.",
)
def sample(out, scale, seed, truth_dir, **options):
    """Generate a realistic sample org as a Salesforce export folder, with its ground truth."""
    from ..synth import generate_sample

    summary = generate_sample(out, scale=scale, seed=seed, truth_dir=truth_dir, **options)
    click.echo(json.dumps(summary, indent=1, default=str))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@mapping_option("Mapping file, or a built-in mapping name (maven_crm, x_education).")
@json_option("Print the summary as one JSON object.")
@click.option(
    "--quarantine-out",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the quarantine table (one row per broken rule) to this CSV.",
)
def check(folder, mapping, as_json, quarantine_out):
    """Load and validate FOLDER; print rows read, kept, quarantined, deleted, merged and flagged, and rows per rule.

    Exits 0 when the data loaded (quarantined rows included) and 2 when a file
    cannot be used at all.
    """
    crm = load_or_fail(folder, mapping, progress=not as_json and sys.stderr.isatty())
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
    money = crm.report.currency
    if money:
        line = f"corporate currency: {money.get('corporate')} (from {money.get('source')})"
        if money.get("without_rate"):
            line += "; records in a currency without a rate (money left out): " + ", ".join(
                f"{t} {n}" for t, n in money["without_rate"].items()
            )
        click.echo(line)
    if len(crm.merges):
        click.echo(f"merged by Salesforce (MasterRecordId): {len(crm.merges)} records, references re-pointed")
    from ..crm.sections import org_notes

    notes = org_notes(crm).set_index("note")["value"]
    for note in ("lead statuses from", "lead history", "opportunity field history", "owners", "attribution credits"):
        click.echo(f"{note}: {notes[note]}")


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.argument("cache", type=click.Path(file_okay=False))
@mapping_option("Mapping file or built-in mapping name.")
def cache(folder, cache, mapping):
    """Load FOLDER once and cache the validated org as Parquet in CACHE (reloads fast)."""
    crm = load_or_fail(folder, mapping)
    out = crm.to_parquet(cache)
    click.echo(str(Path(out).resolve()))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@mapping_option("Mapping file or built-in mapping name.")
@click.option(
    "--as-of", "as_of", default=None, help="Date (YYYY-MM-DD) to cut the org at; default: the latest date in the data."
)
@click.option("--by", default=None, help="Segment column of the opportunities/leads (e.g. lead_source).")
@click.option(
    "--where",
    default=None,
    help="Only the leads and opportunities this expression selects, e.g. \"owner.region == 'EMEA'\".",
)
@json_option("Print one JSON object (a list of them with --by).")
def kpis(folder, mapping, as_of, by, where, as_json):
    """Headline funnel figures of FOLDER: leads, conversion, open/won/lost, win rate, deal size, cycle, pipeline.

    A figure the data cannot give (no leads table, an empty denominator) is null, not zero. With --by,
    records without a value form the group '(no <column>)'. Money is in the org's corporate currency.
    """
    from ..funnel.report import kpis as compute_kpis

    try:  # a bad --by, --as-of or --where, or data the loader cannot type, is one line too
        table = compute_kpis(load_or_fail(folder, mapping), as_of=as_of, by=by, where=where)
    except DATA_ERRORS as exc:
        fail(exc)
    rows = []
    for record in json.loads(
        table.to_json(orient="records", date_format="iso", double_precision=15)
    ):  # plain values, NA as None
        head = {"as_of": record.pop("as_of")[:10]}
        if by:
            head |= {"by": by, "segment": record.pop(by)}
        rows.append(head | record)
    if as_json:
        click.echo(json.dumps(rows if by else rows[0], indent=1, ensure_ascii=False, default=str))
        return
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                value = f"{value:,.4f}" if "rate" in key else f"{value:,.2f}"
            elif isinstance(value, int):
                value = f"{value:,}"
            click.echo(f"{key:<28} {value}")
        click.echo("")
    if by:
        click.echo(
            f"Each figure counts records under their own {by}; records without one are grouped as "
            f'"(no {by})". What each figure counts: funnel_analysis.funnel.KPI_COUNTS'
        )


# Each command group has its own module.
main.add_command(report_command)
main.add_command(dedup_command)
main.add_command(score_command)
main.add_command(forecast_command)
main.add_command(pull_command)


if __name__ == "__main__":  # pragma: no cover
    main()
