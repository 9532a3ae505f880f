"""Benchmark: load + validate + clean of a generated org, and the CSV read rate.

Prints wall time and peak memory (max RSS of a fresh child process) of ``load_org``
on a sample org of the given scale, and the CSV read rate in MB/s of the project's
reader (pyarrow) against pandas' default engine on the same file in the same run.

    python benchmarks/bench_load.py --scale 50 [--repeat 3] [--keep DIR]

Targets (issue 2): >= 350 MB/s read; the scale-50 org (~1M leads) loaded and
validated in < 60 s with < 6 GB peak memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
t = time.perf_counter()
import funnel_analysis as fa
crm = fa.load_org(sys.argv[1])
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KiB -> GiB
rows = sum(d["rows_read"] for d in crm.report.tables.values())
print(json.dumps({"wall_s": wall, "peak_gib": peak, "rows": rows,
                  "quarantined": sum(d["rows_quarantined"] for d in crm.report.tables.values())}))
"""


def read_rates(path: Path, repeat: int) -> dict:
    import pandas as pd

    from funnel_analysis.crm.read import read_csv_text

    size_mb = path.stat().st_size / 1e6
    ours, default = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        read_csv_text(path)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        pd.read_csv(path, dtype=str, keep_default_na=False)
        default.append(time.perf_counter() - t)
    o, d = statistics.median(ours), statistics.median(default)
    return {
        "file": path.name,
        "size_mb": round(size_mb, 1),
        "pyarrow_mb_s": round(size_mb / o, 1),
        "pandas_default_mb_s": round(size_mb / d, 1),
        "speedup": round(d / o, 2),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="generate into (or reuse) this folder")
    args = ap.parse_args(argv)
    from funnel_analysis.synth import generate_sample

    tmp = None
    if args.keep:
        org = Path(args.keep)
    else:
        tmp = tempfile.TemporaryDirectory()
        org = Path(tmp.name) / "org"
    if not (org / "Lead.csv").exists():
        t = time.perf_counter()
        generate_sample(org, scale=args.scale, seed=args.seed)
        print(f"generated scale {args.scale} in {time.perf_counter() - t:.1f} s")
    total_mb = sum(p.stat().st_size for p in org.glob("*.csv")) / 1e6
    print(f"org: {org} ({total_mb:.0f} MB of CSV)")
    print("read rate:", json.dumps(read_rates(org / "Lead.csv", args.repeat)))
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", CHILD, str(org)], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    wall = statistics.median(r["wall_s"] for r in runs)
    peak = max(r["peak_gib"] for r in runs)
    print(
        "load_org:",
        json.dumps(
            {
                "median_wall_s": round(wall, 1),
                "runs_s": [round(r["wall_s"], 1) for r in runs],
                "peak_gib": round(peak, 2),
                "rows": runs[0]["rows"],
                "quarantined": runs[0]["quarantined"],
            }
        ),
    )
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
