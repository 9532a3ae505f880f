"""Benchmark: generation of the sample org (``funnel_analysis.synth.generate_sample``).

Times ``generate_sample`` at the given scale into a temporary folder and prints
the wall time (median over the repeats), rows and bytes per file, the truth
summary and the peak memory of this process.

    python benchmarks/bench_synth.py [--scale 50] [--repeat 1] [--seed 0] [--keep DIR | --out DIR]
        [--chunk-scale 25]

Above ``--chunk-scale`` the org is written in chunks (``synth.chunked.generate_chunked``),
peak memory that of one chunk. ``--out DIR`` writes the org to DIR (truth: DIR_truth) and keeps it.

Target: the default scale in a few seconds; scale 50 (~1M leads) in about a
minute on 2 cores; scale 500 (~10M leads) with peak RSS well under 6 GB.
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
    ap.add_argument("--out", type=Path, default=None, help="write the org to this folder (truth: <out>_truth)")
    ap.add_argument("--chunk-scale", type=float, default=None, help="largest scale simulated at once")
    args = ap.parse_args(argv)

    from funnel_analysis.synth.chunked import DEFAULT_CHUNK_SCALE, generate_chunked

    chunk_scale = args.chunk_scale if args.chunk_scale is not None else DEFAULT_CHUNK_SCALE

    walls, summary = [], None
    for i in range(max(1, args.repeat)):
        tmp = Path(tempfile.mkdtemp(prefix="bench_synth_"))
        out = args.out if args.out is not None else (args.keep if args.keep is not None else tmp) / "sample"
        try:
            t = time.perf_counter()
            summary = generate_chunked(out, scale=args.scale, seed=args.seed, chunk_scale=chunk_scale)
            walls.append(time.perf_counter() - t)
            print(f"run {i + 1}: {walls[-1]:.2f} s", file=sys.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    rows, sizes = summary["rows"], summary["bytes"]
    width = max(map(len, rows))
    print(
        f"generate_chunked(scale={args.scale:g}, seed={args.seed}, chunk_scale={chunk_scale:g}; "
        f"{summary['chunks']} chunk(s)): "
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
                "chunk_scale": chunk_scale,
                "chunks": summary["chunks"],
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
