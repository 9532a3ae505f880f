"""pandas vs DuckDB on one org (#19): the as-of state on three days, the headline figures, the quarter's
waterfall and the stage durations.

Both engines read the same ``CrmData.to_parquet`` cache (default the scale-50 org's,
``/work/orgs/scale50_parquet``). Each step is run three times and the median reported; the load
is timed once. The pandas path is the reference: its cuts are cleared between runs (they are
memoised) and its figures are compared with the engine's (they must be equal), as are the
states of the latest day (:func:`funnel_analysis.engine.asof.state_hash`).

    nice -n 10 .venv/bin/python benchmarks/bench_engine.py --memory-limit 4GB --threads 2

Measured 2026-12-02 on the shared 2-core machine (busy: the run got 28 % of a CPU), scale 50
(192,588 deals, 896,200 history rows, 1,029,983 leads; 3 quarter ends, 335,206 states), medians
of 3: load 23.9 s (pandas, CrmData.from_parquet) vs 4.2 s (DuckDB views, checksums checked);
as-of on three days 53.0 s vs 18.2 s (one query for the three); headline figures on three days
83.3 s vs 48.2 s (a cut per day, two as-of queries each); figures and state hash equal; peak RSS
of the process 8.2 GB (the pandas org; DuckDB memory_limit 4GB). On the sample: as-of 2.1 s vs
0.35 s, figures 3.1 s vs 1.4 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import pandas as pd

from funnel_analysis.crm.model import CrmData, resolve_as_of
from funnel_analysis.engine import EngineOrg, connect
from funnel_analysis.engine.asof import materialise_asof, state_hash
from funnel_analysis.engine.attach import attach, detach
from funnel_analysis.engine.durations import stage_durations
from funnel_analysis.engine.waterfall import waterfall
from funnel_analysis.funnel import report
from funnel_analysis.sources.pipeline_changes import pipeline_waterfall
from funnel_analysis.velocity import report as velocity


def _median_of(n, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _forget_cuts(crm) -> None:
    for key in ("_cuts", "_history_cache", "_field_history_cache"):
        crm.__dict__.pop(key, None)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="/work/orgs/scale50_parquet")
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="/tmp/a/bench_engine.json")
    args = ap.parse_args(argv)
    folder = Path(args.folder)

    t0 = time.perf_counter()
    crm = CrmData.from_parquet(folder)
    load_pandas = time.perf_counter() - t0
    latest = resolve_as_of(crm)
    days = [(latest - pd.offsets.QuarterEnd(k)).normalize() for k in (8, 4, 1)]
    t0 = time.perf_counter()
    eng = connect("duckdb", memory_limit=args.memory_limit, threads=args.threads, temp_directory="/tmp/a/duck")
    org = EngineOrg.from_parquet(folder, eng)
    load_duckdb = time.perf_counter() - t0

    def pandas_asof():
        _forget_cuts(crm)
        return sum(len(crm.as_of(d).opportunities) for d in days)

    def pandas_kpis():
        _forget_cuts(crm)
        return [report.kpis(crm, as_of=d) for d in days]

    def duck_asof():
        materialise_asof(org, as_of=days, name="bench_state")
        return eng.sql("SELECT count(*) AS n FROM bench_state").to_pydict()["n"][0]

    def duck_kpis():
        attach(crm, org=org)
        try:
            return [report.kpis(crm, as_of=d) for d in days]
        finally:
            detach(crm)

    # the latest complete quarter's waterfall, and the stage durations (velocity) on the latest day
    quarter = dict(
        start=days[-1] - pd.offsets.QuarterEnd(1), end=days[-1],
        close_window=(days[-1] - pd.offsets.QuarterEnd(1) + pd.Timedelta(days=1), days[-1]),
    )  # fmt: skip

    def pandas_waterfall():
        _forget_cuts(crm)
        return pipeline_waterfall(crm, **quarter)

    def duck_waterfall():
        return waterfall(org, **quarter)

    def pandas_durations():
        _forget_cuts(crm)
        return velocity.stage_durations(crm, as_of=days[-1])

    def duck_durations():
        return stage_durations(org, as_of=days[-1])

    t_pw, w_pa = _median_of(args.repeat, pandas_waterfall)
    t_dw, w_da = _median_of(args.repeat, duck_waterfall)
    pd.testing.assert_frame_equal(w_da.totals, w_pa.totals[list(w_da.totals.columns)], check_dtype=False)
    t_pd, d_pa = _median_of(args.repeat, pandas_durations)
    t_dd, d_da = _median_of(args.repeat, duck_durations)
    pd.testing.assert_frame_equal(d_da, d_pa.reset_index(drop=True), check_dtype=False)

    t_pa, n_pa = _median_of(args.repeat, pandas_asof)
    t_pk, k_pa = _median_of(args.repeat, pandas_kpis)
    t_da, n_da = _median_of(args.repeat, duck_asof)
    t_dk, k_da = _median_of(args.repeat, duck_kpis)
    assert n_pa == n_da, (n_pa, n_da)
    for a, b in zip(k_pa, k_da):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b, check_exact=False, rtol=1e-9)
    same_states = state_hash(crm, as_of=days[-1]) == state_hash(org, as_of=days[-1])
    result = {
        "folder": str(folder),
        "opportunities": len(crm.opportunities),
        "opportunity_history": len(crm.opportunity_history),
        "leads": len(crm.leads),
        "days": [str(d.date()) for d in days],
        "states": int(n_da),
        "load_s": {"pandas (CrmData.from_parquet)": round(load_pandas, 2), "duckdb (views)": round(load_duckdb, 2)},
        "asof_3_days_s": {"pandas": round(t_pa, 3), "duckdb": round(t_da, 3)},
        "kpis_3_days_s": {"pandas": round(t_pk, 3), "duckdb": round(t_dk, 3)},
        "waterfall_quarter_s": {"pandas": round(t_pw, 3), "duckdb": round(t_dw, 3)},
        "stage_durations_s": {"pandas": round(t_pd, 3), "duckdb": round(t_dd, 3)},
        "waterfall_deals": len(w_da.per_opportunity),
        "figures_equal": True,
        "state_hash_equal": same_states,
        "repeat": args.repeat,
        "memory_limit": args.memory_limit,
        "threads": args.threads,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
