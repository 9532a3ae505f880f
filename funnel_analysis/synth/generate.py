"""Entry point: run the simulation stages in order, write the export and its truth folder."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..crm.ids import to_18
from .activity import make_activities, make_campaigns, make_members
from .companies import make_accounts, make_companies
from .dirty import _inject
from .duplicates import make_duplicates
from .export import _File, _header, iter_files
from .model import SAMPLE_FILES
from .people import make_contacts, make_leads, make_users
from .pipeline import make_opportunities
from .sim import _Sim
from .truth import _source_rates, _truth_clusters, _truth_json, write_lead_probabilities


def generate_sample(
    out_dir, *, scale: float = 1.0, seed: int = 0, truth_dir=None, start: str = "2023-01-01", years: int = 3
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

    Returns
    -------
    dict
        ``out_dir``, ``truth_dir``, ``rows`` (data rows per file), ``bytes``
        (size per file), ``dirty_rows`` (count per expected action),
        ``duplicate_records`` and ``seconds``.

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
    """
    t_begin = time.perf_counter()
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if int(years) != years or years < 1:
        raise ValueError(f"years must be a positive whole number, got {years!r}")
    out = Path(out_dir)
    truth = Path(truth_dir) if truth_dir is not None else out.with_name(out.name + "_truth")
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)

    sim = _Sim(seed, scale, start, int(years))
    make_users(sim)
    make_companies(sim)
    make_leads(sim)
    make_campaigns(sim)
    make_accounts(sim)
    make_opportunities(sim)
    make_contacts(sim)
    make_members(sim)
    make_activities(sim)
    make_duplicates(sim)
    clean_rows, rows, dirty, writes = {}, {}, [], {}
    rng = sim.rng["dirty"]
    # Files are written by a background thread (pyarrow releases the GIL) while
    # the next one is built; every random draw stays in this thread, in a fixed
    # order, so the output is still byte-identical for a seed.
    with ThreadPoolExecutor(max_workers=1) as writer:
        for name, f in iter_files(sim):
            _self_check_ids(f)
            clean_rows[name] = f.n
            dirty += _inject(sim, f, rng)
            rows[name] = f.n
            writes[name] = writer.submit(_write_csv, f, out / name)
            del f
        sizes = {name: writes[name].result() for name in SAMPLE_FILES}
    rows = {name: rows[name] for name in SAMPLE_FILES}
    clean_rows = {name: clean_rows[name] for name in SAMPLE_FILES}

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
    (truth / "truth.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    return dict(
        out_dir=str(out),
        truth_dir=str(truth),
        rows=rows,
        bytes=sizes,
        dirty_rows=dirty_df["expected"].value_counts().sort_index().to_dict(),
        duplicate_records=int((clusters["is_original"] == "false").sum()),
        seconds=round(time.perf_counter() - t_begin, 3),
    )


def _write_csv(f: _File, path: Path) -> int:
    table = pa.table({_header(f.table, c): v for c, v in f.columns.items()})
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
