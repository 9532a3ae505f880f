"""Scale-500 on DuckDB (#19): wall time and peak RSS of ``funnel check --engine duckdb``.

Run (once; it reads the 24 GB export in place, spilling under /tmp)::

    nice -n 10 .venv/bin/python benchmarks/bench_scale.py /work/orgs/scale500 --memory-limit 4GB

It runs :func:`funnel_analysis.engine.validate.check_export` (what ``funnel check --engine duckdb``
runs) with DuckDB's ``memory_limit`` and a spill folder under /tmp, and prints the wall time, the
peak RSS of this process (``resource.getrusage``) and the peak RSS of the process tree sampled
every 0.5 s, and the rows read, kept and quarantined.

Figures (one run, 2026-12-03, 2 threads, memory_limit 4GB, on the shared 2-core 24 GB machine
with other sessions running; scale500: 96,150,486 rows read over 20 tables):

- ``funnel check --engine duckdb``: wall 1607.5 s (26.8 min), peak RSS 4.59 GiB (getrusage and
  the sampled process tree agree). Under the 6 GB target; NOT under the 10-minute goal for the set.
The KPIs on the latest quarter end, the stage durations and the quarter's waterfall are not
measured here yet: they need the org's typed tables in DuckDB without pandas (an
``EngineOrg`` registered from the export), which is not built.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path


def _tree_rss(pid: int) -> int:
    """RSS in bytes of a process and its children (from /proc)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return total


class _Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.stop = 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            self.stop.wait(0.5)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="/work/orgs/scale500")
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from funnel_analysis.engine.validate import check_export

    sampler = _Sampler()
    sampler.start()
    with tempfile.TemporaryDirectory(prefix="bench_scale_spill_", dir="/tmp") as spill:
        t0 = time.perf_counter()
        result = check_export(args.folder, memory_limit=args.memory_limit, temp_directory=spill, threads=args.threads)
        wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    table = result.report.table()
    print(table.to_string(index=False))
    print(f"rows read: {int(table['rows_read'].sum()):,}")
    print(f"funnel check --engine duckdb: wall {wall:.1f} s")
    print(f"peak RSS (getrusage, this process): {peak_self / 2**30:.2f} GiB")
    print(f"peak RSS (process tree, sampled every 0.5 s): {sampler.peak / 2**30:.2f} GiB")
    print("KPIs, stage durations, waterfall: not measured (no EngineOrg from the export yet)")


if __name__ == "__main__":
    main()
