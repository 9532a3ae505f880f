"""Benchmark: the funnel metrics on a large org (issue 3 target: < 10 s on the ~1M-lead org).

Loads (or generates and caches) a sample org as Parquet, then times each funnel
computation on the as-of cut, median over repeats, and the total.

    python benchmarks/bench_funnel.py --scale 50 [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="folder for the generated export (reused when present)")
    args = ap.parse_args(argv)

    import funnel_analysis as fa
    from funnel_analysis.funnel import (
        bottlenecks,
        cohort_funnel,
        lead_conversion,
        lead_funnel,
        report,
        snapshot_funnel,
        win_rates,
    )
    from funnel_analysis.synth import generate_sample

    tmp = tempfile.TemporaryDirectory()
    org = Path(args.keep) if args.keep else Path(tmp.name) / "org"
    cache = Path(f"{org}_parquet")
    if not (org / "Lead.csv").exists():
        generate_sample(org, scale=args.scale)
    if not (cache / "crm.json").exists():
        fa.load_org(org).to_parquet(cache)
    t = time.perf_counter()
    crm = fa.load_org(cache)
    print(
        f"load from Parquet: {time.perf_counter() - t:.2f} s  ({len(crm.leads):,} leads, "
        f"{len(crm.opportunities):,} opportunities, {len(crm.opportunity_history):,} history rows)"
    )
    as_of = str(crm.opportunities["created_date"].max().date())
    t = time.perf_counter()
    cut = crm.as_of(as_of)
    as_of_s = time.perf_counter() - t
    o, h, st = cut.opportunities, cut.opportunity_history, cut.stages
    start = str((crm.opportunities["created_date"].max() - __import__("pandas").Timedelta(days=270)).date())
    jobs = {
        "as_of cut": None,
        "kpis": lambda: report.kpis(crm, as_of=as_of),
        "lead_funnel by source": lambda: lead_funnel(cut.leads, by="lead_source"),
        "lead_conversion by source": lambda: lead_conversion(cut.leads, by="lead_source", window_days=90, as_of=as_of),
        "snapshot_funnel": lambda: snapshot_funnel(o, stages=st),
        "cohort_funnel": lambda: cohort_funnel(o, h, stages=st, created_from=start, window_days=90),
        "win_rates by quarter": lambda: win_rates(o, period="Q"),
        "bottlenecks": lambda: bottlenecks(o, h, stages=st),
    }
    total = as_of_s
    print(f"{'as_of cut':<28} {as_of_s:6.2f} s")
    for name, fn in jobs.items():
        if fn is None:
            continue
        s = timed(fn, args.repeat)
        total += s
        print(f"{name:<28} {s:6.2f} s (median of {args.repeat})")
    print(f"{'total (as_of + all metrics)':<28} {total:6.2f} s")
    tmp.cleanup()


if __name__ == "__main__":
    main()
