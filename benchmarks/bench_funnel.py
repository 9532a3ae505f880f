"""Benchmark: the funnel metrics on a large org (issue 3 target: < 10 s on the ~1M-lead org).

Loads (or generates and caches) a sample org as Parquet, then times each funnel
computation on the as-of cut, median over repeats, and the total.

    python benchmarks/bench_funnel.py --scale 50 [--repeat 3] [--keep DIR]

``--notebook DATA`` instead times the funnel report notebook's cells, as a report kernel runs them, in this
process (an IPython shell with the inline backend: the charts' PNGs are drawn), once per value of
owner.region after one run on the whole org (the load and imports shared, as in a for_each): the CPU
seconds of one value, and each cell's median. ``DATA`` is an export folder or a Parquet cache.

    python benchmarks/bench_funnel.py --notebook reports/.cache/<fingerprint> [--repeat 2]
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


def notebook_values(data: str, rounds: int) -> dict:
    """CPU seconds of the funnel notebook per value of owner.region in one shell (after a whole-org run)."""
    import contextlib
    import io
    import json
    import os

    from IPython.core.interactiveshell import InteractiveShell

    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    nb = json.loads((notebooks / "funnel.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    shell = InteractiveShell.instance()
    with contextlib.suppress(NotImplementedError):  # a plain shell has no GUI loop; the backend is set
        shell.run_line_magic("matplotlib", "inline")
    os.chdir(notebooks)
    data = str(Path(data).resolve())

    def run(where: str, times: dict) -> None:
        shell.run_cell(cells[0])
        shell.run_cell(f"data_dir = {data!r}; where = {where!r}")
        for i, cell in enumerate(cells[1:]):
            c = time.process_time()
            result = shell.run_cell(cell)
            times.setdefault(i, []).append(time.process_time() - c)
            if result.error_in_exec:
                raise result.error_in_exec

    times: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        run("", {})  # the imports and the load, shared by the values
        c = time.process_time()
        for _ in range(rounds):
            for region in ("APAC", "EMEA", "NA", "LATAM"):
                run(f"owner.region == '{region}'", times)
        total = time.process_time() - c
    values = len(times[0])
    return {
        "values": values,
        "cpu_per_value_s": round(total / values, 3),
        "cell_median_cpu_s": [round(statistics.median(v), 3) for v in times.values()],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="folder for the generated export (reused when present)")
    ap.add_argument("--notebook", default=None, help="time the funnel notebook per owner.region value on this data")
    args = ap.parse_args(argv)
    if args.notebook:
        print(notebook_values(args.notebook, args.repeat))
        return

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
