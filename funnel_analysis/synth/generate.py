"""Entry point: run the simulation stages in order, write the export and its truth folder."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..crm.ids import to_18
from .activity import make_activities, make_campaigns, make_members
from .companies import make_accounts, make_companies
from .currency import currency_tables
from .dirty import _inject
from .duplicates import make_duplicate_leads, make_duplicates
from .export import _File, _header, iter_files
from .extras import _Extras
from .model import ORG_SHAPES_DEFAULT, SAMPLE_FILES
from .people import make_contacts, make_leads, make_users
from .pipeline import make_opportunities
from .routing import _Routing
from .shape_output import write_shapes, write_shapes_truth
from .shapes import _Shapes, set_status_labels
from .sim import _Sim
from .truth import _source_rates, _truth_clusters, _truth_json, write_extras_truth, write_lead_probabilities


def generate_sample(
    out_dir,
    *,
    scale: float = 1.0,
    seed: int = 0,
    truth_dir=None,
    start: str = "2023-01-01",
    years: int = 3,
    deleted: bool = True,
    merged: bool = True,
    currencies: bool = True,
    modstamps: bool = True,
    field_history: bool = ORG_SHAPES_DEFAULT,
    lead_statuses: bool = ORG_SHAPES_DEFAULT,
    queues: bool = ORG_SHAPES_DEFAULT,
    contact_roles: bool = ORG_SHAPES_DEFAULT,
    custom_fields: bool = ORG_SHAPES_DEFAULT,
    joined_source: bool = ORG_SHAPES_DEFAULT,
    routing: bool = ORG_SHAPES_DEFAULT,
    _shard=None,
) -> Mapping[str, object]:
    """Write a synthetic Salesforce export of a B2B company and its ground truth.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the export (created if needed); one CSV per object
        (:data:`SAMPLE_FILES`), headers are Salesforce API field names.
    scale : float, default 1.0
        Size of the company: 1.0 creates about 20,000 leads and 4,000
        opportunities per 3 years (so over the default window), 50 about a
        million leads; everything scales linearly (users and campaigns
        sub-linearly). Headers are the schema's ``sf_name``; custom fields
        keep their ``__c`` (``Region__c``, ``Role__c``) and OpportunityStage
        writes ``ForecastCategoryName`` (a schema alias).
    seed : int, default 0
        Seed of ``numpy.random.default_rng``. Identical arguments give
        byte-identical files.
    truth_dir : str or Path, optional
        Folder for the ground truth; default: a sibling of ``out_dir`` named
        ``<out_dir>_truth``.
    start : str, default "2023-01-01"
        First day of the simulated window (UTC).
    years : int, default 3
        Length of the window. The export is taken at its end: later events
        have not happened, so recent leads and deals are still open.
    deleted : bool, default True
        Write the export as "export all" (``queryAll``) does: every file of an
        object that has the field gains ``IsDeleted`` (``false``), and about 1 %
        of extra rows are deleted records (``true``): copies of real deals with
        their history rows, tasks and events, of leads with their campaign
        memberships and tasks, of contacts, accounts (with a contact),
        campaign members, tasks and events. They are never records of the
        org: removing them gives back the same org. Truth:
        ``deleted_records.csv``.
    merged : bool, default True
        Add merged-away leads, contacts and accounts (about 1 % each, one
        chain A -> B -> C per object): near-duplicates of a real record with
        ``IsDeleted = true`` and ``MasterRecordId`` (a new column) = the Id
        they were merged into. Some kept tasks, events, campaign members,
        opportunities and contacts still reference a merged-away Id. Truth:
        ``merged_pairs.csv`` and ``repointed_references.csv``.
    currencies : bool, default True
        Three currencies, corporate USD, EUR (billing country in the euro
        area) and GBP (United Kingdom), with monthly dated rates
        (``CurrencyType.csv``, ``DatedConversionRate.csv``). Leads, accounts,
        contacts, opportunities and their history gain ``CurrencyIsoCode``
        (campaigns: USD); a deal is priced in its currency at the dated rate
        of its creation day and keeps that price when its close date moves;
        annual revenue is at the static rate. Truth:
        ``bookings_corporate.csv`` and ``open_pipeline.csv`` (in USD).
    modstamps : bool, default True
        Add ``LastModifiedDate`` and ``SystemModstamp``: the time of each
        record's last change, before the extract time (truth.json
        ``extract_time``). OpportunityHistory rows only get
        ``SystemModstamp``, as in Salesforce.
    field_history : bool, default ORG_SHAPES_DEFAULT (True since GENERATOR_VERSION 1.2)
        ``LeadHistory.csv`` (lead Status and Owner) and ``OpportunityFieldHistory.csv`` (StageName,
        CloseDate, Amount, Owner), consistent with the simulated lifecycle and OpportunityHistory, with
        a real org's gaps: Status tracking switched on mid-life, 18 months kept, Owner changes as two
        rows (EntityId and Text), same-second rows ordered by Id, ``created`` rows; the history of
        deleted records has ``IsDeleted = true``. Truth: ``lead_status_on_dates.csv``,
        ``close_date_pushes.csv``, truth.json ``org_shapes.field_history``.
    lead_statuses : bool, default ORG_SHAPES_DEFAULT (True since GENERATOR_VERSION 1.2)
        ``LeadStatus.csv`` with custom statuses (New, Attempting Contact, Nurture, Qualified, Converted,
        Disqualified), used by Lead.csv and LeadHistory.csv; off: Salesforce's default statuses.
    queues : bool, default ORG_SHAPES_DEFAULT (True since GENERATOR_VERSION 1.2)
        ``Group.csv`` (a lead queue per region, ``00G`` Ids, one Regular group) and ``GroupMember.csv``;
        some web leads are created owned by a queue and picked up by an SDR later, a few are still in
        a queue at the extract. Truth: ``queue_time.csv``.
    contact_roles : bool, default ORG_SHAPES_DEFAULT (True since GENERATOR_VERSION 1.2)
        ``OpportunityContactRole.csv``: 1 to 4 contacts of the deal's account, one primary; some deals
        have none.
    custom_fields : bool, default ORG_SHAPES_DEFAULT (True since GENERATOR_VERSION 1.2)
        Lead ``Zip__c`` and ``Lead_Score__c``, Opportunity ``Budget_Confirmed__c``, ``Discount__c`` and
        ``ARR__c``, typed in ``Lead.describe.json`` and ``Opportunity.describe.json`` (Salesforce's
        describe shape, one field per column of the CSV).
    joined_source : bool, default ORG_SHAPES_DEFAULT (True since GENERATOR_VERSION 1.2)
        ``<out>/joined_source/leads.csv`` and ``deals.csv``: the same org as a CRM that keeps conversions
        in a second file (a lead converted iff a deal holds its lead_id; the earliest of two deals
        converts it). Truth: ``joined_converted_leads.csv``.
    routing : bool, default ORG_SHAPES_DEFAULT (True since GENERATOR_VERSION 1.3)
        Lead owners from assignment rules drawn by the generator's own code (:mod:`.routing`): teams,
        company-size, industry, queue and country entries, round robin, misroutes and reassignments;
        first touches (Task ``CreatedById``, ``TaskSubtype``, ``CompletedDateTime``; Event
        ``StartDateTime``) in business hours (``BusinessHours.csv``, ``Holiday.csv``, User
        ``TimeZoneSidKey``) that depend on the rep, the score and the time of day; conversion that
        depends on the score and on speed; Opportunity ``NextStep`` and the field history of the stage
        criteria. Truth: ``routing_rules.yaml``, ``routing_truth.json``, ``routing_leads.csv``,
        ``stage_gate_truth.csv``.
    _shard : optional
        Private: the chunk this run is of a chunked run (:func:`.chunked.generate_chunked`); None for one run.

    Returns
    -------
    dict
        ``out_dir``, ``truth_dir``, ``rows`` (data rows per file), ``bytes``
        (size per file), ``dirty_rows`` (count per expected action),
        ``duplicate_records`` and ``seconds``; with an option on (the
        default) also ``deleted_rows`` (the extra IsDeleted rows of each file).

    Raises
    ------
    ValueError
        If ``scale`` is not a positive number or ``years`` not a positive
        whole number.
    TypeError
        If an option (``deleted``, ``merged``, ``currencies``, ``modstamps`` or
        an org shape) is not a bool.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> s = generate_sample(tmp / "org", scale=0.02, seed=3)
    >>> opps = pd.read_csv(tmp / "org" / "Opportunity.csv", dtype=str, keep_default_na=False)
    >>> len(opps) == s["rows"]["Opportunity.csv"]
    True
    >>> truth = pd.read_csv(tmp / "org_truth" / "dirty_rows.csv")
    >>> sorted(truth["expected"].unique())
    ['clean', 'flag', 'quarantine']

    By default the export is a real org's "export all" (deleted and merged
    rows, three currencies, modstamps):

    >>> leads = pd.read_csv(tmp / "org" / "Lead.csv", dtype=str, keep_default_na=False)
    >>> sorted(leads["CurrencyIsoCode"].unique())
    ['EUR', 'GBP', 'USD']
    >>> int((leads["IsDeleted"] == "true").sum()) == s["deleted_rows"]["Lead.csv"]
    True

    With the options off, the export of the generator before them:

    >>> off = dict(deleted=False, merged=False, currencies=False, modstamps=False)
    >>> s = generate_sample(tmp / "plain", scale=0.02, seed=3, **off)
    >>> "IsDeleted" in pd.read_csv(tmp / "plain" / "Lead.csv", nrows=0).columns, "deleted_rows" in s
    (False, False)

    The org shapes (issue 16), each an option:

    >>> s = generate_sample(tmp / "shapes", scale=0.02, seed=3, field_history=True, queues=True)
    >>> h = pd.read_csv(tmp / "shapes" / "LeadHistory.csv", dtype=str, keep_default_na=False)
    >>> sorted(h["Field"].unique())
    ['Owner', 'Status', 'created']
    """
    t_begin = time.perf_counter()
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if int(years) != years or years < 1:
        raise ValueError(f"years must be a positive whole number, got {years!r}")
    options = dict(deleted=deleted, merged=merged, currencies=currencies, modstamps=modstamps)
    shape_options = dict(
        field_history=field_history,
        lead_statuses=lead_statuses,
        queues=queues,
        contact_roles=contact_roles,
        custom_fields=custom_fields,
        joined_source=joined_source,
        routing=routing,
    )
    for key, value in {**options, **shape_options}.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{key} must be True or False, got {value!r}")
    options = {key: bool(value) for key, value in options.items()}
    shape_options = {key: bool(value) for key, value in shape_options.items()}
    out = Path(out_dir)
    truth = Path(truth_dir) if truth_dir is not None else out.with_name(out.name + "_truth")
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)

    sim = _Sim(seed, scale, start, int(years), shard=_shard)
    make_users(sim)
    make_companies(sim)
    make_leads(sim)
    if shape_options["routing"]:
        make_duplicate_leads(sim)
        sim.routing = _Routing(sim, shape_options["queues"])
        sim.routing.route()
    make_campaigns(sim)
    make_accounts(sim)
    make_opportunities(sim)
    if shape_options["routing"]:
        sim.routing.route_opportunities()  # the opportunity assignment by deal size (synth/routing.py)
    make_contacts(sim)
    make_members(sim)
    make_activities(sim)
    make_duplicates(sim)
    if any(shape_options.values()):
        set_status_labels(sim, shape_options["lead_statuses"])
    extras = _Extras(sim, **options) if any(options.values()) else None
    if _shard is not None and _shard.index == 0:  # what the later chunks of a chunked run share (:mod:`.chunked`)
        _shard.pod = sim.pod
        if extras is not None and extras.currencies:
            _shard.fx = sim.fx  # the org's rate calendar (the dict ensure_crossings has completed)
    shapes = _Shapes(sim, extras, **shape_options) if any(shape_options.values()) else None
    clean_rows, rows, dirty, writes, headers = {}, {}, [], {}, {}
    rng = sim.rng["dirty"]
    # Files are written by a background thread (pyarrow releases the GIL) while
    # the next one is built; every random draw stays in this thread, in a fixed
    # order, so the output is still byte-identical for a seed.
    with ThreadPoolExecutor(max_workers=1) as writer:
        for name, f in iter_files(sim):
            _self_check_ids(f)
            clean_rows[name] = f.n
            if shapes is not None:
                shapes.prepare(name, f)
            if extras is not None:
                extras.prepare(name, f)
            file_dirty = _inject(sim, f, rng)
            if extras is not None:
                extras.finish(name, f, file_dirty)
            dirty += file_dirty
            rows[name] = f.n
            writes[name] = writer.submit(_write_csv, f, out / name)
            if shapes is not None and name in ("Lead.csv", "Opportunity.csv"):
                headers[name] = [(c, _header(f.table, c)) for c in f.columns]
            del f
        files = list(SAMPLE_FILES)
        if extras is not None and extras.currencies:
            for name, cols in currency_tables(sim).items():
                rows[name] = clean_rows[name] = len(next(iter(cols.values())))
                writes[name] = writer.submit(_write_table, pa.table(cols), out / name)
                files.append(name)
        if shapes is not None:
            extract = extras.latest if extras is not None else shapes.bound + 60
            shape_truth = write_shapes(shapes, out, extract, headers)
            for name, table in shapes.files.items():
                rows[name] = clean_rows[name] = table.num_rows
                writes[name] = writer.submit(_write_table, table, out / name)
                files.append(name)
        sizes = {name: writes[name].result() for name in files}
    rows = {name: rows[name] for name in files}
    clean_rows = {name: clean_rows[name] for name in files}

    dirty_df = pd.DataFrame(
        dirty,
        columns=["table", "file", "row", "record_id", "column", "kind", "expected", "written_value", "clean_value"],
    )
    dirty_df = dirty_df.sort_values(["file", "row"], kind="stable").reset_index(drop=True)
    _write_frame(dirty_df, truth / "dirty_rows.csv")
    clusters = _truth_clusters(sim)
    _write_frame(clusters, truth / "duplicate_clusters.csv")
    rates = _source_rates(sim)
    _write_frame(rates, truth / "source_rates.csv")
    write_lead_probabilities(sim, truth)
    info = _truth_json(sim, rows, clean_rows, dirty_df, clusters)
    if extras is not None:
        info = write_extras_truth(sim, extras, truth, info)
    if shapes is not None:
        info = write_shapes_truth(shapes, shape_truth, truth, info)
    (truth / "truth.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    summary = dict(
        out_dir=str(out),
        truth_dir=str(truth),
        rows=rows,
        bytes=sizes,
        dirty_rows=dirty_df["expected"].value_counts().sort_index().to_dict(),
        duplicate_records=int((clusters["is_original"] == "false").sum()),
        seconds=round(time.perf_counter() - t_begin, 3),
    )
    if extras is not None:
        summary["deleted_rows"] = dict(extras.rows_deleted)
        summary["seconds"] = round(time.perf_counter() - t_begin, 3)
    return summary


def _write_csv(f: _File, path: Path) -> int:
    return _write_table(pa.table({_header(f.table, c): v for c, v in f.columns.items()}), path)


def _write_table(table: pa.Table, path: Path) -> int:
    # small batches stay in cache: measured faster than large ones
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed", batch_size=1024))
    return path.stat().st_size


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n")


def _self_check_ids(f: _File) -> None:
    """The vectorised ID suffix must agree with ``ids.to_18`` (cheap spot check)."""
    if f.name != "OpportunityStage.csv":
        for v in f.columns[f.key][:3].to_pylist():
            assert to_18(v[:15]) == v, (f.name, v)
