"""The ``funnel`` group: the project (``init``, ``profile``, the global ``--project``), its commands on an org
folder (``sample``, ``check``, ``cache``, ``kpis``), and the command groups of the other modules of
:mod:`funnel_analysis.cli` added to it.

A project is a folder with a ``profile.yaml`` (``funnel init DIR`` makes one). Run in it or below it
(the nearest ``profile.yaml`` up from the current folder, as git finds ``.git``), or given with
``--project DIR`` (or ``FUNNEL_PROJECT``), every command takes its defaults from the project: the org
folder of ``check`` and ``kpis`` and the output of ``sample`` are the profile's ``data_dir``; ``report
run`` / ``due`` read the project's ``reports.yaml`` and publish into its ``reports/``. An option given
on the command line still wins. A bad profile is one line naming the file and key, exit 2."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from ..project.profile import PROFILE_FILE, OrgProfile, ProfileError, find_project, load_profile
from ..synth.model import SAMPLE_OPTIONS
from .common import (
    DATA_ERRORS,
    ORG,
    engine_option,
    fail,
    json_option,
    load_or_fail,
    mapping_option,
    require_engine,
    schema_option,
    source_option,
)
from .dedup import dedup_command
from .forecast import forecast_command
from .metric import metric_command
from .pull import pull_command
from .report import report_command
from .routing import routing_command
from .score import score_command

__all__ = ["main", "Project"]


@dataclass(frozen=True)
class Project:
    """The project a command runs in (``ctx.obj``): its folder and its org profile.

    Attributes
    ----------
    root : pathlib.Path
        The project folder (it holds ``profile.yaml``).
    profile : OrgProfile
        The org profile, checked.
    """

    root: Path
    profile: OrgProfile


def _warehouse(folder, source, schema) -> dict:
    """``source`` / ``schema`` for a database: the option given, else the profile's (when FOLDER is its data_dir)."""
    project = click.get_current_context().find_object(Project)
    if project is not None and str(folder) == str(project.profile.data_dir):
        source = source or project.profile.source or None
        schema = schema or project.profile.schema or None
    return {"source": source, "schema": schema}


def _project_defaults(project: Project) -> dict:
    """Click's ``default_map``: what each command takes from the project unless given."""
    report = {"out": str(project.root / "reports")}
    if (project.root / "reports.yaml").is_file():
        report["config"] = str(project.root / "reports.yaml")
    return {"sample": {"out": str(project.profile.data_dir)}, "report": {"run": report, "due": dict(report)}}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="funnel-analysis")
@click.option(
    "--project",
    "project_dir",
    default=None,
    envvar="FUNNEL_PROJECT",
    type=click.Path(file_okay=False),
    help="Project folder (made by funnel init). Default: the nearest folder up from here with a profile.yaml.",
)
@click.pass_context
def main(ctx, project_dir):
    """Sales-funnel analytics and forecasting on CRM exports.

    Start a project of your own with funnel init DIR; then run the commands in it.
    """
    if ctx.invoked_subcommand == "init" or ctx.resilient_parsing:
        return
    if project_dir is not None and not (Path(project_dir) / PROFILE_FILE).is_file():
        fail(f"{Path(project_dir).resolve()}: not a project (no {PROFILE_FILE}); funnel init DIR makes one")
    root = Path(project_dir).resolve() if project_dir is not None else find_project()
    if root is None:
        return
    try:
        ctx.obj = Project(root, load_profile(root / PROFILE_FILE))
    except ProfileError as exc:
        fail(exc)
    ctx.default_map = _project_defaults(ctx.obj)


def _org_folder(folder) -> str:
    """FOLDER as given, else the project's data_dir; one line and exit 2 when neither is there."""
    from ..crm.warehouse import is_database_url

    if folder is not None:
        return folder
    project = click.get_current_context().find_object(Project)
    if project is None:
        fail(f"no FOLDER given and no project here (no {PROFILE_FILE} up from {Path.cwd()}); give FOLDER or --project")
    if is_database_url(project.profile.data_dir):  # a database: the loader says if it cannot be read
        return project.profile.data_dir
    if not project.profile.data_dir.is_dir():
        fail(
            f"{project.profile.path}: data_dir: {project.profile.data_dir} does not exist "
            "(funnel sample writes a made-up org there; or put the export there)"
        )
    return str(project.profile.data_dir)


@main.command("init")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option(
    "--copy-notebooks",
    is_flag=True,
    help="Copy the report notebooks into FOLDER/notebooks/ to customise them (default: run the installed ones).",
)
def init_command(folder, copy_notebooks):
    """Create a project in FOLDER: profile.yaml, reports.yaml, data/, reports/ and a README.md.

    Refuses a folder that already holds a project: nothing is overwritten.
    """
    from ..project.init import ProjectExistsError, init_project

    try:
        root = init_project(folder, copy_notebooks=copy_notebooks)
    except (ProjectExistsError, FileNotFoundError) as exc:
        fail(exc)
    click.echo(f"project: {root}")
    click.echo(
        f"next: edit {root / PROFILE_FILE}, then in {root}: funnel sample --scale 0.2 (or your export "
        "in data_dir), funnel check, funnel report run"
    )


@main.command("profile")
@click.pass_obj
def profile_command(project):
    """Check the project's org profile and print what every report takes from it.

    Exits 2 with one line naming the file and key when the profile cannot be used (a currency that is
    not CurrencyType's corporate one included).
    """
    from ..project.profile import report_defaults

    if project is None:
        fail(f"no project here (no {PROFILE_FILE} up from {Path.cwd()}); funnel init DIR makes one, or --project")
    p = project.profile
    try:
        params = report_defaults(p)
    except ProfileError as exc:
        fail(exc)
    click.echo(f"profile: {p.path}")
    if isinstance(p.data_dir, str):  # a database URL (never with a password)
        click.echo(f"data_dir: {p.data_dir}  (a database: source {p.source or 'auto'}, schema {p.schema or 'default'})")
    else:
        click.echo(f"data_dir: {p.data_dir}" + ("" if p.data_dir.is_dir() else "  (does not exist yet)"))
    click.echo(f"currency: {params['currency'] or 'from the export (USD when it does not say)'}")
    custom = f"; custom periods: {len(p.fiscal_periods)}" if p.fiscal_periods else ""
    click.echo(f"fiscal year starts in month {p.fiscal_year_start_month}{custom}")
    for kind, rule in p.business_types.items():
        listed = ", ".join([*rule.types, *rule.record_types]) or "(none)"
        click.echo(f"{kind}: {listed}")
    click.echo(f"other types: {p.unlisted_business_type}")
    if p.kpis:
        click.echo("kpis: " + ", ".join(f"{k}={v}" for k, v in p.kpis.items()))
    cal = p.calendar
    click.echo(
        f"calendar: {cal.timezone}, {cal.start:%H:%M}-{cal.end:%H:%M}, {len(cal.workdays)} workdays, "
        f"{len(cal.holidays)} holidays"
    )
    click.echo(f"instance_url: {p.instance_url or '(none: records are not linked)'}")


@main.command()
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write the export to (in a project: its data_dir).",
)
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=float,
    help="Size: 1 is about 20k leads and 4k opportunities; 50 about a million leads.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same files).")
@click.option(
    "--chunk-scale",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
    help="Largest scale simulated at once (default 25): a larger --scale is written in chunks, memory bounded.",
)
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
@click.option(
    "--routing/--no-routing",
    default=SAMPLE_OPTIONS["routing"],
    show_default=True,
    help="Lead routing by rules (teams, round robin, queues), first touches, business hours; truth of issue 20.",
)
def sample(out, scale, seed, chunk_scale, truth_dir, **options):
    """Generate a realistic sample org as a Salesforce export folder, with its ground truth."""
    from ..synth.chunked import DEFAULT_CHUNK_SCALE, generate_chunked

    chunk_scale = DEFAULT_CHUNK_SCALE if chunk_scale is None else chunk_scale
    summary = generate_chunked(out, scale=scale, seed=seed, truth_dir=truth_dir, chunk_scale=chunk_scale, **options)
    click.echo(json.dumps(summary, indent=1, default=str))


@main.command()
@click.argument("folder", required=False, type=ORG)
@mapping_option("Mapping file, or a built-in mapping name (maven_crm, x_education).")
@source_option()
@schema_option()
@engine_option()
@json_option("Print the summary as one JSON object.")
@click.option(
    "--quarantine-out",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the quarantine table (one row per broken rule) to this CSV.",
)
def check(folder, mapping, source, schema, engine, as_json, quarantine_out):
    """Load and validate FOLDER; print rows read, kept, quarantined, deleted, merged and flagged, and rows per rule.

    FOLDER may be a database URL where Fivetran or Airbyte synced the org
    (postgresql://user@host/db, duckdb:///file.duckdb; the password from PGPASSWORD or
    FUNNEL_DB_PASSWORD, never in the URL), with --source and --schema. Exits 0 when the
    data loaded (quarantined rows included) and 2 when a file or the database cannot be
    used at all. In a project, FOLDER defaults to the profile's data_dir.

    With --engine duckdb (the default) an export folder is checked as SQL over its files read
    in place (funnel_analysis.engine.validate: the same figures, no table in memory; the
    quarantine CSV then holds the first rows of each rule); a mapping or a database URL is
    checked by the pandas loader, as with --engine pandas (and --engine spark).
    """
    folder = _org_folder(folder)
    require_engine(engine)
    if engine == "duckdb" and mapping is None and source is None and schema is None:
        from ..crm.warehouse import is_database_url

        if not is_database_url(str(folder)):
            return _check_sql(folder, as_json, quarantine_out)
    crm = load_or_fail(
        folder, mapping, progress=not as_json and sys.stderr.isatty(), **_warehouse(folder, source, schema)
    )
    if quarantine_out:
        crm.quarantine.to_csv(quarantine_out, index=False)
    if as_json:
        click.echo(json.dumps(crm.report.to_dict(), indent=1, ensure_ascii=False))
        return
    where = crm.meta.get("warehouse")
    click.echo(
        f"source: {crm.meta['source']}"
        + (f"  ({where['source']}, schema {where['schema']})" if where else "")
        + (f"  (mapping {crm.meta['mapping']})" if crm.meta.get("mapping") else "")
    )
    for note in (where or {}).get("notes", []):
        click.echo(f"read: {note}")
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


def _check_sql(folder, as_json, quarantine_out) -> None:
    """``funnel check`` on DuckDB: the figures from SQL over the files (engine.validate)."""
    from ..crm.read import DataLoadError
    from ..engine.validate import check_export

    try:
        result = check_export(folder)
    except DataLoadError as exc:
        fail(exc)
    if quarantine_out:
        result.quarantine.to_csv(quarantine_out, index=False)
    report = result.report
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
        return
    click.echo(f"source: {folder}  (engine duckdb)")
    click.echo(report.table().to_string(index=False))
    rules = report.rules()
    if len(rules):
        click.echo("\nrows per rule:")
        click.echo(rules.to_string(index=False))
    if report.ignored_files:
        click.echo(f"\nfiles not part of the model (ignored): {', '.join(report.ignored_files)}")
    click.echo(f"stages from: {report.stages_origin}")
    money = report.currency
    if money:
        line = f"corporate currency: {money.get('corporate')} (from {money.get('source')})"
        if money.get("without_rate"):
            line += "; records in a currency without a rate (money left out): " + ", ".join(
                f"{t} {n}" for t, n in money["without_rate"].items()
            )
        click.echo(line)
    if result.merges:
        click.echo(f"merged by Salesforce (MasterRecordId): {result.merges} records, references re-pointed")


@main.command()
@click.argument("folder", type=ORG)
@click.argument("cache", type=click.Path(file_okay=False))
@mapping_option("Mapping file or built-in mapping name.")
@source_option()
@schema_option()
def cache(folder, cache, mapping, source, schema):
    """Load FOLDER (or a database URL) once and cache the validated org as Parquet in CACHE (reloads fast)."""
    crm = load_or_fail(folder, mapping, **_warehouse(folder, source, schema))
    out = crm.to_parquet(cache)
    click.echo(str(Path(out).resolve()))


@main.command()
@click.argument("folder", required=False, type=ORG)
@mapping_option("Mapping file or built-in mapping name.")
@source_option()
@schema_option()
@click.option(
    "--as-of", "as_of", default=None, help="Date (YYYY-MM-DD) to cut the org at; default: the latest date in the data."
)
@click.option("--by", default=None, help="Segment column of the opportunities/leads (e.g. lead_source).")
@click.option(
    "--where",
    default=None,
    help="Only the leads and opportunities this expression selects, e.g. \"owner.region == 'EMEA'\".",
)
@engine_option()
@json_option("Print one JSON object (a list of them with --by).")
def kpis(folder, mapping, source, schema, as_of, by, where, engine, as_json):
    """Headline funnel figures of FOLDER: leads, conversion, open/won/lost, win rate, deal size, cycle, pipeline.

    A figure the data cannot give (no leads table, an empty denominator) is null, not zero. With --by,
    records without a value form the group '(no <column>)'. Money is in the org's corporate currency.
    In a project, FOLDER defaults to the profile's data_dir, and the opportunities have the profile's
    business_type (--by business_type). FOLDER may be a database URL (see funnel check).
    """
    from ..funnel.report import kpis as compute_kpis
    from ..project.business import with_business_type

    project = click.get_current_context().find_object(Project)
    folder = _org_folder(folder)
    try:  # a bad --by, --as-of or --where, or data the loader cannot type, is one line too
        crm = load_or_fail(folder, mapping, engine=engine, **_warehouse(folder, source, schema))
        if project is not None:
            crm = with_business_type(crm, profile=project.profile)
        table = compute_kpis(crm, as_of=as_of, by=by, where=where)
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
main.add_command(metric_command)
main.add_command(routing_command)


if __name__ == "__main__":  # pragma: no cover
    main()
