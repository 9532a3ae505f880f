"""Benchmark: stage durations and the pipeline waterfall on a large org (issue 5 target: < 20 s at scale 50).

Loads (or generates and caches) a sample org as Parquet, then times, as medians over repeats:
the as-of cut, the stage visits (``stage_intervals``), the Kaplan-Meier stage durations, the
cycle length, and the pipeline waterfall of the last full quarter (two as-of cuts and the
reconciled per-opportunity split). Peak memory is the max RSS of this process (the load included)
and the Python-heap peak of the timed work alone (tracemalloc).

    python benchmarks/bench_velocity.py --scale 50 [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="folder for the generated export (reused when present)")
    args = ap.parse_args(argv)

    import funnel_analysis as fa
    from funnel_analysis.notebook import latest_date
    from funnel_analysis.periods import last_complete_period
    from funnel_analysis.pipeline_changes import pipeline_waterfall
    from funnel_analysis.synth import generate_sample
    from funnel_analysis.velocity import cycle_length, stage_durations, stage_intervals

    tmp = tempfile.TemporaryDirectory()
    org = Path(args.keep) if args.keep else Path(tmp.name) / "org"
    cache = Path(f"{org}_parquet")
    if not (org / "Lead.csv").exists():
        generate_sample(org, scale=args.scale)
    if not (cache / "crm.json").exists():
        fa.load_org(org).to_parquet(cache)
    crm = fa.load_org(cache)
    print(f"org: {len(crm.opportunities):,} opportunities, {len(crm.opportunity_history):,} history rows")
    day = latest_date(crm)
    q = last_complete_period(day, "Q")

    tracemalloc.start()
    total = 0.0
    s, cut = timed(lambda: crm.as_of(day), args.repeat)
    total += s
    print(f"{'as_of cut':<34} {s:6.2f} s")
    s, iv = timed(lambda: stage_intervals(cut.opportunities, cut.opportunity_history, stages=cut.stages,
                                          as_of=day), args.repeat)
    total += s
    print(f"{'stage_intervals':<34} {s:6.2f} s  ({len(iv):,} visits)")
    for name, fn in {
        "stage_durations (KM + intervals)": lambda: stage_durations(iv, stages=cut.stages),
        "cycle_length (KM)": lambda: cycle_length(cut.opportunities, as_of=day),
        f"pipeline_waterfall {q['fiscal_period']}": lambda: pipeline_waterfall(
            crm, q["day_before"], q["period_end"], close_window=(q["period_start"], q["period_end"])),
    }.items():
        s, _ = timed(fn, args.repeat)
        total += s
        print(f"{name:<34} {s:6.2f} s")
    heap = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{'total':<34} {total:6.2f} s (medians of {args.repeat}; target < 20 s)")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB max RSS "
          f"(process, load included); {heap / 2**30:.2f} GiB Python-heap peak of the timed work")
    tmp.cleanup()


if __name__ == "__main__":
    main()
