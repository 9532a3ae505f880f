"""Benchmark: generation of the sample org (``funnel_analysis.synth.generate_sample``).

Times ``generate_sample`` at the given scale into a temporary folder and prints
the wall time (median over the repeats), rows and bytes per file, the truth
summary and the peak memory of this process.

    python benchmarks/bench_synth.py [--scale 50] [--repeat 1] [--seed 0] [--keep DIR]

Target: the default scale in a few seconds; scale 50 (~1M leads) in about a
minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="write the org here and keep it")
    args = ap.parse_args(argv)

    from funnel_analysis.synth import generate_sample

    walls, summary = [], None
    for i in range(max(1, args.repeat)):
        tmp = Path(tempfile.mkdtemp(prefix="bench_synth_"))
        out = (args.keep if args.keep is not None else tmp) / "sample"
        try:
            t = time.perf_counter()
            summary = generate_sample(out, scale=args.scale, seed=args.seed)
            walls.append(time.perf_counter() - t)
            print(f"run {i + 1}: {walls[-1]:.2f} s", file=sys.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    rows, sizes = summary["rows"], summary["bytes"]
    width = max(map(len, rows))
    print(
        f"generate_sample(scale={args.scale:g}, seed={args.seed}): "
        f"median {statistics.median(walls):.2f} s over {len(walls)} run(s)"
    )
    print(f"{'file':<{width}}  {'rows':>11}  {'MB':>9}")
    for name in rows:
        print(f"{name:<{width}}  {rows[name]:>11,}  {sizes[name] / 1e6:>9.1f}")
    print(f"{'total':<{width}}  {sum(rows.values()):>11,}  {sum(sizes.values()) / 1e6:>9.1f}")
    print("dirty rows:", json.dumps(summary["dirty_rows"]), " duplicate records:", summary["duplicate_records"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KiB -> GiB (Linux)
    print(f"peak memory (max RSS): {peak:.2f} GiB")
    print(
        json.dumps(
            {
                "scale": args.scale,
                "median_s": round(statistics.median(walls), 2),
                "runs_s": [round(w, 2) for w in walls],
                "rows": sum(rows.values()),
                "bytes": sum(sizes.values()),
                "peak_gib": round(peak, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
