"""``funnel pull``: refresh the project's data from the live Salesforce org.

The first pull reads every object; later ones read what changed since (``SystemModstamp``), deleted
records included (``queryAll``), and upsert it into the project's Parquet store, atomically
(:mod:`funnel_analysis.crm.store`). Credentials come from the environment only: ``SF_INSTANCE_URL``
and ``SF_ACCESS_TOKEN``, or ``SF_USERNAME``, ``SF_PASSWORD`` and ``SF_SECURITY_TOKEN``
(``SF_DOMAIN=test`` for a sandbox). Exit 0 when the store was refreshed; 1 when Salesforce or the
network failed (the store is unchanged); 2 for missing credentials or a folder that cannot be a
store, with one line on stderr.

Examples
--------
.. code-block:: console

    $ export SF_INSTANCE_URL=https://myorg.my.salesforce.com SF_ACCESS_TOKEN=...
    $ funnel pull                         # the project's data_dir (its profile.yaml)
    $ funnel pull --full                  # re-read every object whole
    $ funnel pull --data-dir data/live --object Lead --object Opportunity
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import fail, json_option

__all__ = ["pull_command"]


def _project_store() -> Path | None:
    """The project's ``data_dir`` (its org profile, ``ctx.obj`` of the ``funnel`` group), or None outside a project."""
    ctx = click.get_current_context(silent=True)
    project = ctx.find_root().obj if ctx is not None else None
    profile = getattr(project, "profile", None)
    return getattr(profile, "data_dir", None)


@click.command("pull", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The store folder (default: the project's data_dir from profile.yaml). Created on the first pull.",
)
@click.option("--full", is_flag=True, help="Re-read every object whole instead of what changed since the last pull.")
@click.option(
    "--object",
    "objects",
    multiple=True,
    metavar="NAME",
    help="Pull only this Salesforce object (repeatable); default every object the model reads. "
    "Objects already in the store and not named are kept as they are.",
)
@click.option(
    "--bulk-threshold",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Objects with more rows to read than this go through Bulk API 2.0.",
)
@json_option("Print the pull's manifest as one JSON object.")
def pull_command(data_dir, full, objects, bulk_threshold, as_json):
    """Refresh the project's data from the live Salesforce org (credentials from the environment only).

    The first pull reads everything; later ones only what changed since (SystemModstamp), deleted
    records included (queryAll), upserted by Id into one Parquet file per object, with pull.json
    saying per object how far it got. The new store is written beside the old one and swapped in
    whole: an interrupted pull leaves the previous data as they were. Exit 0 when refreshed, 1 when
    Salesforce or the network failed (the data unchanged), 2 for missing credentials or a folder
    that cannot be a store.

    \b
    Credentials (environment variables, never options or files):
      SF_INSTANCE_URL and SF_ACCESS_TOKEN                    an OAuth session, or
      SF_USERNAME, SF_PASSWORD and SF_SECURITY_TOKEN          (SF_DOMAIN=test for a sandbox)
    """
    from ..crm.salesforce import SalesforceConfigError
    from ..crm.store import StoreError, pull_salesforce, store_pulled_at
    from ..reporting.publish import scrub_text

    store = Path(data_dir).absolute() if data_dir else _project_store()
    if store is None:
        fail(
            f"no --data-dir given and no project here (no profile.yaml up from {Path.cwd()}); "
            "give --data-dir, or run in a project (funnel init DIR makes one) or with --project"
        )
    try:
        result = pull_salesforce(
            store,
            objects=list(objects) or None,
            full=full,
            bulk_threshold=bulk_threshold,
            progress=not as_json and sys.stderr.isatty(),
        )
    except (StoreError, SalesforceConfigError, ImportError) as exc:
        fail(scrub_text(str(exc)))
    except Exception as exc:  # refused session, network, API error: one line, the store unchanged
        click.echo(
            scrub_text(f"error: pull failed: {type(exc).__name__}: {_first_line(exc)}; {store} is unchanged"),
            err=True,
        )
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result.manifest, indent=1, ensure_ascii=False))
        return
    click.echo(f"pulled {result.manifest.get('instance')} into {result.store}")
    table = result.objects[["object", "read", "fetched", "fetched_deleted", "rows", "deleted_rows", "high_water_mark"]]
    table = table.rename(
        columns={"fetched_deleted": "of them deleted", "deleted_rows": "deleted", "high_water_mark": "up to"}
    )
    click.echo(table.fillna("").to_string(index=False))
    for obj, reason in result.skipped.items():
        click.echo(f"skipped {obj}: {scrub_text(reason)}")
    as_of = store_pulled_at(result.store)  # an object kept from an earlier pull is as old as that pull
    click.echo(f"data as of {as_of:%Y-%m-%d %H:%M:%S} UTC")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"
