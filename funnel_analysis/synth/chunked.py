"""A large sample org written in chunks, each one simulated and written alone, so memory stays bounded.

:func:`generate_chunked` splits a large scale into ``ceil(scale / chunk_scale)`` chunks of equal scale. Each
chunk is a complete run of :func:`~funnel_analysis.synth.generate.generate_sample` (its own users, companies,
leads, deals, campaigns, activities, queues, duplicates and defects), written to a scratch folder and then
appended to the export's files, so peak memory is that of one chunk whatever the scale. The chunks are one
org: they share the first chunk's instance (``pod``) and rate calendar (``CurrencyType.csv``,
``DatedConversionRate.csv``), their Ids are disjoint and increasing (chunk ``k`` counts from ``k * 62**7``),
and the org-wide files (stages, currencies, business hours, holidays, lead statuses, the describe files)
are the first chunk's. Think of the chunks as business units: no record of one refers to a record of
another, and each has its own sales team.

What differs from one run at the same scale (by design, for memory):

- users and campaigns grow sub-linearly per chunk, so the org has ``n_chunks`` times the users of one chunk;
- duplicates, merges and the routing rules are drawn within a chunk;
- the truth is the truth of each chunk, in ``<truth>/chunks/NNN/`` (the same files as a one-run truth folder),
  and ``<truth>/chunks.json`` gives each chunk's seed, scale and row offset in every file (the data row where
  its rows start, so ``dirty_rows.csv``'s 0-based ``row`` plus the offset is the row in the merged file).

A scale of at most ``chunk_scale`` is one chunk: the output is exactly :func:`generate_sample`'s, the truth
in ``<truth>/`` itself. Deterministic: the same seed, scale and chunk scale give byte-identical files.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .generate import generate_sample

__all__ = ["DEFAULT_CHUNK_SCALE", "generate_chunked"]

#: Scale of one chunk by default: about 500k leads; scale 50 in one run peaks at 4.0 GiB RSS (bench_synth.py).
DEFAULT_CHUNK_SCALE = 25.0
#: Files of the org as a whole (configuration, not records): written once, from the first chunk.
_ORG_FILES = frozenset(
    {
        "OpportunityStage.csv",
        "CurrencyType.csv",
        "DatedConversionRate.csv",
        "BusinessHours.csv",
        "Holiday.csv",
        "LeadStatus.csv",
    }
)
#: Each chunk's Ids start above the previous chunk's range (a chunk uses far less than 62**7 counters).
_ID_STRIDE = 62**7
_COPY_BUFFER = 16 * 1024 * 1024


@dataclass
class _Shard:
    """What chunk ``index`` shares with the first chunk (read by :class:`~.sim._Sim` and :mod:`.currency`)."""

    index: int
    pod: bytes = b""
    id_base: int = 0
    fx: dict | None = field(default=None, repr=False)


def _chunk_seed(seed: int, index: int) -> int:
    """Seed of chunk ``index``: the org's seed for the first chunk, an independent derived seed after."""
    if index == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), index], spawn_key=(7019,)).generate_state(1, np.uint64)[0] >> 1)


def generate_chunked(
    out_dir,
    *,
    scale: float,
    seed: int = 0,
    truth_dir=None,
    chunk_scale: float = DEFAULT_CHUNK_SCALE,
    scratch_dir=None,
    **options,
) -> Mapping[str, object]:
    """Write a sample org of any scale in chunks of ``chunk_scale``, with bounded memory.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the export (created if needed), as :func:`generate_sample` writes it.
    scale : float
        Size of the org (1.0 is about 20,000 leads; 500 about ten million).
    seed : int, default 0
        Seed of the org: the first chunk's seed, the others derived from it.
    truth_dir : str or Path, optional
        Folder for the truth; default ``<out_dir>_truth``. With more than one chunk it holds
        ``chunks.json`` and ``chunks/NNN/`` (each chunk's truth).
    chunk_scale : float, default DEFAULT_CHUNK_SCALE
        Largest scale simulated at once; memory grows with it, not with ``scale``.
    scratch_dir : str or Path, optional
        Where a chunk is written before it is appended; default ``<out_dir>.chunk`` (removed after).
    **options
        The options of :func:`generate_sample` (``deleted``, ``routing``, ...), the same for every chunk.

    Returns
    -------
    dict
        ``out_dir``, ``truth_dir``, ``chunks``, ``rows`` and ``bytes`` per file (the merged files),
        ``seconds``, and ``chunk_seconds`` (one per chunk).

    Raises
    ------
    ValueError
        If ``scale`` or ``chunk_scale`` is not a positive number, or two chunks write different
        headers for one file (the options are the same for all, so this would be a bug).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> s = generate_chunked(tmp / "org", scale=0.04, chunk_scale=0.02, seed=3)
    >>> s["chunks"]
    2
    >>> leads = pd.read_csv(tmp / "org" / "Lead.csv", dtype=str, keep_default_na=False)
    >>> len(leads) == s["rows"]["Lead.csv"]
    True

    The chunks' Ids are disjoint (within a chunk the export keeps its injected defects: a blank Id, a
    row exported twice):

    >>> import json
    >>> chunks = json.loads((pathlib.Path(s["truth_dir"]) / "chunks.json").read_text())["chunks"]
    >>> second = chunks[1]["row_offsets"]["Lead.csv"]
    >>> ids = [set(leads["Id"][:second]) - {""}, set(leads["Id"][second:]) - {""}]
    >>> ids[0].isdisjoint(ids[1]), min(ids[1]) > max(ids[0])
    (True, True)
    """
    t_begin = time.perf_counter()
    for key, value in (("scale", scale), ("chunk_scale", chunk_scale)):
        if isinstance(value, bool) or not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"{key} must be a positive number, got {value!r}")
    out = Path(out_dir)
    truth = Path(truth_dir) if truth_dir is not None else out.with_name(out.name + "_truth")
    n_chunks = max(1, math.ceil(scale / chunk_scale - 1e-9))
    if n_chunks == 1:
        summary = dict(generate_sample(out, scale=scale, seed=seed, truth_dir=truth, **options))
        summary.update(chunks=1, chunk_seconds=[summary["seconds"]])
        return summary

    each = scale / n_chunks
    scratch = Path(scratch_dir) if scratch_dir is not None else out.with_name(out.name + ".chunk")
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    first = _Shard(0)
    headers: dict[str, bytes] = {}
    rows: dict[str, int] = {}
    manifest = dict(seed=int(seed), scale=scale, chunk_scale=chunk_scale, chunks=[])
    chunk_seconds = []
    for index in range(n_chunks):
        shutil.rmtree(scratch, ignore_errors=True)
        shard = first if index == 0 else _Shard(index, pod=first.pod, id_base=index * _ID_STRIDE, fx=first.fx)
        chunk_truth = truth / "chunks" / f"{index:03d}"
        shutil.rmtree(chunk_truth, ignore_errors=True)
        s = generate_sample(
            scratch / "org", scale=each, seed=_chunk_seed(seed, index), truth_dir=chunk_truth, _shard=shard, **options
        )
        offsets = {}
        for path in sorted(p for p in (scratch / "org").rglob("*") if p.is_file()):
            rel = path.relative_to(scratch / "org").as_posix()
            target = out / rel
            if index == 0:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                shutil.move(path, target)
                if rel.endswith(".csv"):
                    headers[rel] = _header_line(target)
                    rows[rel] = _data_rows(rel, s, target)
                    offsets[rel] = 0
                continue
            if not rel.endswith(".csv") or rel in _ORG_FILES:
                continue
            if rel not in headers:
                raise ValueError(f"{rel}: written by chunk {index} but not by the first chunk")
            offsets[rel] = rows[rel]
            rows[rel] += _data_rows(rel, s, path)
            _append(path, target, headers[rel], rel, index)
        manifest["chunks"].append(
            dict(index=index, seed=_chunk_seed(seed, index), scale=each, row_offsets=offsets, rows=s["rows"])
        )
        chunk_seconds.append(s["seconds"])
        del s
    shutil.rmtree(scratch, ignore_errors=True)
    (truth / "chunks.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return dict(
        out_dir=str(out),
        truth_dir=str(truth),
        chunks=n_chunks,
        rows=rows,
        bytes={rel: (out / rel).stat().st_size for rel in rows},
        seconds=round(time.perf_counter() - t_begin, 3),
        chunk_seconds=chunk_seconds,
    )


def _header_line(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.readline()


def _data_rows(rel: str, summary, path: Path) -> int:
    """Data rows of a file: the generator's count, else counted by parsing (a quoted field may hold a newline)."""
    if rel in summary["rows"]:
        return int(summary["rows"][rel])
    import pyarrow.csv as pacsv  # the joined_source files, not in the summary

    n = 0
    with pacsv.open_csv(path, convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=False)) as r:
        for batch in r:
            n += batch.num_rows
    return n


def _append(path: Path, target: Path, header: bytes, rel: str, index: int) -> None:
    """Append ``path``'s data rows (its header dropped, checked equal to the first chunk's) to ``target``."""
    with open(path, "rb") as src:
        if src.readline() != header:
            raise ValueError(f"{rel}: chunk {index} writes another header than the first chunk")
        with open(target, "ab") as dst:
            shutil.copyfileobj(src, dst, _COPY_BUFFER)
