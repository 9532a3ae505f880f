"""What the field history costs: loading and as-of cuts of one org with and without it.

The same generated org (same seed and scale) twice: with LeadHistory / OpportunityFieldHistory and
without (``field_history=False``). Prints the load time and the time of 24 month-end cuts (the memos
of cuts and of the parsed history cleared each time, as a backtest's first pass), medians of ``--repeat`` runs, and the ratios: the
machine is shared, so the ratio measured in the same run is the figure to quote.

    python benchmarks/bench_field_history.py --scale 1 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

import funnel_analysis as fa
from funnel_analysis.synth import generate_sample


def _median_seconds(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        orgs = {}
        for label, on in (("without field history", False), ("with field history", True)):
            folder = Path(tmp) / label.replace(" ", "_")
            generate_sample(folder, scale=args.scale, seed=args.seed, field_history=on)
            orgs[label] = folder
        days = pd.date_range("2024-01-31", periods=24, freq="ME")
        figures = {}
        for label, folder in orgs.items():
            load = _median_seconds(lambda folder=folder: fa.load_org(folder), args.repeat)
            crm = fa.load_org(folder)

            def cuts(crm=crm):
                crm.__dict__.pop("_cuts", None)  # and the parsed history: the first pass, the worst case
                crm.__dict__.pop("_field_history_cache", None)
                for day in days:
                    crm.as_of(day)

            cut = _median_seconds(cuts, args.repeat) / len(days)
            rows = {t: len(crm.tables[t]) for t in ("lead_history", "opportunity_field_history") if t in crm.tables}
            figures[label] = (load, cut)
            print(f"{label}: load {load:.2f} s, a cut {1000 * cut:.1f} ms (median of {args.repeat}); rows {rows}")
        (l0, c0), (l1, c1) = figures["without field history"], figures["with field history"]
        print(f"ratio with / without: load {l1 / l0:.2f}x, a cut {c1 / c0:.2f}x")


if __name__ == "__main__":
    main()
