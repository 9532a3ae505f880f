"""The ``funnel dedup`` command: find, cluster, queue and merge the duplicates of one object.

Writes into ``--out`` (default ``<DIR>_dedup/<object>``):

- ``pairs.csv``: every scored candidate pair with its probability and reasons;
- ``clusters.csv``: the records merged together, with their survivor;
- ``review_queue.csv``: uncertain pairs left for a person to decide;
- ``merge_log.csv``: every merged ID with its survivor, probability and reasons, every survivor
  field changed and every related row re-pointed (enough to reverse the merge);
- ``lead_contact_matches.csv`` (leads only): leads that duplicate an existing contact;
- ``merged/``: the org with the merges applied, as an export folder ``funnel check`` loads (the
  tables the input had: no ``OpportunityStage.csv`` when the stages were Salesforce's defaults);
- ``summary.json``.

Examples
--------
.. code-block:: console

    $ funnel dedup data/sample --object accounts --json
    $ funnel dedup data/sample --object leads --threshold 0.9 --out /tmp/leads_dedup
    $ funnel dedup data/sample --object leads --engine spark
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from pathlib import Path

import click

from .common import DATA_ERRORS, engine_option, fail, json_option, mapping_option, require_engine

__all__ = ["dedup_command"]


@contextlib.contextmanager
def _returning_memory():
    """Arrow's allocations on its jemalloc pool during the command, when pyarrow has one (issue 19).

    The default pool (mimalloc) kept what the loader freed: a million-lead org of 2.3 GiB in pandas
    left the process at 6.3 GiB, which DuckDB's own memory then came on top of; jemalloc gives freed
    pages back (scale 5: 0.97 -> 0.62 GiB after the load, the same CPU). Buffers remember their pool,
    so the previous pool is simply restored afterwards.
    """
    import pyarrow as pa

    before = pa.default_memory_pool()
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, pa.ArrowNotImplementedError):  # a build without jemalloc (Windows)
        yield
        return
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def _threshold(value: str | None):
    if value is None or value == "auto":
        return value
    try:
        t = float(value)
    except ValueError:
        fail(f"--threshold: {value!r} is not a number between 0 and 1 or 'auto'")
    if not 0 <= t <= 1:
        fail(f"--threshold: {t} is not between 0 and 1")
    return t


def _release_unused() -> None:
    """Arrow's pool gives back the pages of the frames just let go, before DuckDB's link takes its own."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


@click.command("dedup")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--object",
    "table",
    required=True,
    type=click.Choice(["leads", "contacts", "accounts"]),
    help="Which records to de-duplicate.",
)
@mapping_option("Mapping file or built-in mapping name.")
@click.option(
    "--threshold",
    default=None,
    help="Merge pairs at or above this match probability; 'auto' (default) chooses it without labels.",
)
@click.option(
    "--review-threshold",
    default=None,
    type=float,
    help="Pairs from here up to the merge threshold go to the review queue (default 0.2).",
)
@click.option(
    "--survivor",
    default=None,
    type=click.Choice(["oldest", "newest", "most_complete"]),
    help="Which record of a cluster survives (default from dedupe/dedupe.yaml: oldest).",
)
@click.option(
    "--contacts/--no-contacts",
    "with_contacts",
    default=True,
    show_default=True,
    help="With --object leads: also list leads that duplicate an existing contact.",
)
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for the results (default <FOLDER>_dedup/<object>).",
)
@engine_option()
@json_option("Print the summary as one JSON object.")
def dedup_command(folder, table, mapping, threshold, review_threshold, survivor, with_contacts, out, engine, as_json):
    """Find the duplicate leads, contacts or accounts of FOLDER, merge them safely and write a merge log.

    Every candidate pair gets a match probability and its reasons; pairs at or above the
    threshold are clustered and merged into one surviving record (related opportunities,
    activities, campaign members, contacts and converted-lead links re-point to it), pairs in
    the uncertain band go to a review queue. Exits 2 with one line when the data cannot be used.

    With --engine spark splink trains and scores on a local Spark session (its Spark backend, with
    the similarity functions of the jar splink ships); duckdb (the default) and pandas both run
    splink's DuckDB backend on the org the pandas loader read. The clusters are the same.
    """
    t = _threshold(threshold)
    require_engine(engine)
    with _returning_memory():
        _dedup(folder, table, mapping, t, review_threshold, survivor, with_contacts, out, engine, as_json)


def _dedup(folder, table, mapping, t, review_threshold, survivor, with_contacts, out, engine, as_json):
    from ..crm.load import load_org
    from ..dedupe.export import write_export_folder
    from ..dedupe.pipeline import find_duplicates, lead_contact_matches, merge_duplicates

    try:
        crm = load_org(folder, mapping=mapping)
        accounts = crm.tables.get("accounts")
        found = find_duplicates(
            crm.tables.get(table), accounts, table=table, threshold=t, review_threshold=review_threshold, engine=engine
        )
        merged = merge_duplicates(crm, found=found, survivorship={"survivor": survivor} if survivor else None)
    except DATA_ERRORS as exc:
        fail(exc)
    log = merged.log
    target = Path(out) if out else Path(f"{Path(folder).resolve()}_dedup") / table
    target.mkdir(parents=True, exist_ok=True)
    found.pairs.to_csv(target / "pairs.csv", index=False)
    survivors = log[log["action"] == "merged"].set_index("record_id")["survivor_id"]
    clusters = found.clusters.rename(columns={"unique_id": "record_id"})
    clusters = clusters.assign(survivor_id=clusters["record_id"].map(survivors).fillna(clusters["record_id"]))
    clusters.to_csv(target / "clusters.csv", index=False)
    found.review.to_csv(target / "review_queue.csv", index=False)
    log.to_csv(target / "merge_log.csv", index=False)
    summary = asdict(found.summary())
    # only the tables the input had: the default stages the loader fell back on are not the org's
    written = {
        t: df for t, df in merged.crm.tables.items() if t != "stages" or crm.meta.get("stages_origin") != "default"
    }
    write_export_folder(written, target / "merged", columns_present=crm.meta.get("columns_present"))
    # the merged org is written before the lead-contact link, and only the tables the link reads are kept:
    # at a million leads the org and its merged copy held gigabytes the link does not need
    leads, contacts = crm.tables["leads"] if table == "leads" else None, crm.tables.get("contacts")
    del crm, merged, written, log, survivors, clusters
    _release_unused()
    if leads is not None and with_contacts and contacts is not None and len(contacts):
        try:
            # the leads' features are those find_duplicates computed (the leads are normalised once)
            matches = lead_contact_matches(leads, contacts, accounts, lead_features=found.features, engine=engine)
        except DATA_ERRORS as exc:
            fail(exc)
        matches.to_csv(target / "lead_contact_matches.csv", index=False)
        summary["leads_matching_contacts"] = int(matches["lead_id"].nunique())
    summary["out"] = str(target)
    (target / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    for key, value in summary.items():
        click.echo(f"{key:<26} {value}")
