"""Benchmark: CPU seconds of the de-duplication's person features (``dedupe.normalize.person_features``).

The features are built twice in the duplicates report (the leads' dedup and the lead-contact link).
Reads leads from a parquet file (e.g. the cached leads of the scale-50 org), takes the first
``--rows`` rows and prints the median process CPU time of ``--repeat`` calls (all threads: pyarrow
may use more than one). To compare two versions, run this script on each in turn, e.g. the old code
from a git worktree with ``PYTHONPATH=/tmp/base``.

    python benchmarks/bench_features.py LEADS.parquet [--rows 200000] [--repeat 3]

Measured (the scale-50 leads, two cores shared with other work, ``nice -n 5``, the code before and after
the per-distinct-value features run alternately, two rounds of ``--repeat 3`` each, medians of the six):
1,030,043 rows 19.55 s before, 5.73 s after (3.4x); the first 200,000 rows 3.96 s before, 1.36 s after (2.9x).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("leads", help="a parquet file of leads (as the loader writes them)")
    parser.add_argument("--rows", type=int, default=None, help="the first ROWS rows (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="calls to time (default 3)")
    args = parser.parse_args(argv)

    import funnel_analysis.dedupe.normalize as normalize

    leads = pd.read_parquet(args.leads)
    if args.rows is not None:
        leads = leads.iloc[: args.rows]
    secs = []
    for _ in range(args.repeat):
        start = time.process_time()
        normalize.person_features(leads)
        secs.append(time.process_time() - start)
    runs = " ".join(f"{s:.2f}" for s in secs)
    print(
        f"{normalize.__file__}: {len(leads):,} rows, person_features CPU s: median {statistics.median(secs):.2f} ({runs})"
    )


if __name__ == "__main__":
    main()
