"""Benchmark: stage durations and the pipeline waterfall on a large org (issue 5 target: < 20 s at scale 50).

Loads (or generates and caches) a sample org as Parquet, then times, as medians over repeats:
the as-of cut, the stage visits (``stage_intervals``), the Kaplan-Meier stage durations, the
cycle length, and the pipeline waterfall of the last full quarter (two as-of cuts and the
reconciled per-opportunity split). Peak memory is the max RSS of this process, read after the load
and again at the end (tracemalloc is not used: it slows pandas down several times).

    python benchmarks/bench_velocity.py --scale 50 [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
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
    from funnel_analysis.crm import latest_date
    from funnel_analysis.periods import last_complete_period
    from funnel_analysis.sources import pipeline_waterfall
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
    q = last_complete_period(as_of=day, period="Q")

    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    # a baseline in the same run, for noisy shared machines: plain pandas putting the history in
    # (deal, time) order and taking each deal's last row, the least any of the work below must do
    hist = crm.opportunity_history
    base, _ = timed(
        lambda: hist.sort_values(["opportunity_id", "created_date"]).drop_duplicates("opportunity_id", keep="last"),
        args.repeat,
    )
    print(f"{'baseline: sort history + last row':<34} {base:6.2f} s")
    total = 0.0

    def fresh_org():
        crm.__dict__.pop("_cuts", None)  # CrmData memoises its cuts: time the cuts, not the memo
        return crm

    def fresh_cut():
        return fresh_org().as_of(day)

    s, cut = timed(fresh_cut, args.repeat)
    total += s
    print(f"{'as_of cut':<34} {s:6.2f} s")
    s, iv = timed(
        lambda: stage_intervals(cut.opportunities, cut.opportunity_history, stages=cut.stages, as_of=day), args.repeat
    )
    total += s
    print(f"{'stage_intervals':<34} {s:6.2f} s  ({len(iv):,} visits)")
    for name, fn in {
        "stage_durations (KM + intervals)": lambda: stage_durations(iv, stages=cut.stages),
        "cycle_length (KM)": lambda: cycle_length(cut.opportunities, as_of=day),
        f"pipeline_waterfall {q['fiscal_period']}": lambda: pipeline_waterfall(
            fresh_org(), start=q["day_before"], end=q["period_end"], close_window=(q["period_start"], q["period_end"])
        ),
    }.items():
        s, _ = timed(fn, args.repeat)
        total += s
        print(f"{name:<34} {s:6.2f} s")
    print(f"{'total':<34} {total:6.2f} s (medians of {args.repeat}; target < 20 s) = {total / base:.1f}x the baseline")
    print(
        f"peak memory (max RSS): {rss_loaded:.2f} GiB after loading, "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB at the end"
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
