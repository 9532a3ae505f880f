"""Forecasting benchmarks: many weekly series through the generic entry point, and the sample-org backtest.

Part ``series``: N weekly series of L points (trend, yearly seasonality, noise; made here, seeded),
the last ``horizon`` points held out. ``forecast_many`` (the code behind ``funnel forecast --series``)
fits every series on the rest with all cores; the script prints the wall time, and the MASE of the
chosen forecasts and of the seasonal naive forecast on the held-out points, with the same scale
(in-sample seasonal naive MAE), plus the 80 % / 95 % interval coverage.

Part ``org``: the next-quarter forecast backtested on the sample org (``data/sample`` by default):
for each past quarter end, the org is rebuilt as of that day and every method forecasts the next
quarter; error, bias, 80 % coverage and MASE per method against the naive baselines.

Part ``report``: the forecasting notebook's section calls (``forecast.report``, its default parameters) on an
org opened as the notebook opens it, each timed (CPU of this process and wall), the Parquet cache of a report
run (``<out>/.cache/<fingerprint>``) or an export folder; ``--repeat`` runs them in fresh processes, medians.

    .venv/bin/python benchmarks/bench_forecast.py series --n 1000 --length 260 --jobs 2
    .venv/bin/python benchmarks/bench_forecast.py org --data data/sample
    .venv/bin/python benchmarks/bench_forecast.py report --data data/sample --repeat 3
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def make_series(n: int, length: int, seed: int = 0) -> pd.DataFrame:
    """Weekly series: level, linear trend, yearly seasonality (period 52.18 weeks), noise; non-negative."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    ds = pd.date_range("2019-01-06", periods=length, freq="W-SUN")
    frames = []
    for i in range(n):
        level = rng.uniform(50, 500)
        trend = rng.normal(0.002, 0.002) * level
        amp = rng.uniform(0.05, 0.4) * level
        phase = rng.uniform(0, 2 * np.pi)
        noise = rng.uniform(0.03, 0.15) * level
        y = level + trend * t + amp * np.sin(2 * np.pi * t / 52.18 + phase) + rng.normal(0, noise, length)
        frames.append(pd.DataFrame({"series_id": f"s{i:04d}", "ds": ds, "y": np.maximum(y, 0)}))
    return pd.concat(frames, ignore_index=True)


def bench_series(args) -> None:
    from funnel_analysis.forecast import METHODS, fit_many

    data = make_series(args.n, args.length, args.seed)
    h = args.horizon
    cut = data["ds"].sort_values().unique()[-h]
    train, test = data[data["ds"] < cut], data[data["ds"] >= cut]
    methods = tuple(args.methods.split(",")) if args.methods else METHODS
    t0 = time.perf_counter()
    many = fit_many(
        train,
        horizon=h,
        period="W",
        methods=methods,
        n_origins=args.origins,
        n_jobs=args.jobs,
        progress=True,
    )
    fc, scores = many.forecasts, many.scores
    wall = time.perf_counter() - t0
    m = 52
    rows = []
    for sid, g in train.groupby("series_id"):
        y = g.sort_values("ds")["y"].to_numpy()
        actual = test[test["series_id"] == sid].sort_values("ds")["y"].to_numpy()
        scale = np.mean(np.abs(y[m:] - y[:-m]))
        f = fc[(fc["series_id"] == sid)].sort_values("ds")
        snaive = y[len(y) - m + np.arange(h) % m]
        inside = {
            lv: np.mean((actual >= f[f"yhat_ci_low_{lv}"].to_numpy()) & (actual <= f[f"yhat_ci_high_{lv}"].to_numpy()))
            for lv in (80, 95)
        }
        rows.append(
            {
                "series_id": sid,
                "method": f["method"].iloc[0],
                "mase": np.mean(np.abs(actual - f["yhat"].to_numpy())) / scale,
                "mase_snaive": np.mean(np.abs(actual - snaive)) / scale,
                "in80": inside[80],
                "in95": inside[95],
            }
        )
    r = pd.DataFrame(rows)
    print(
        f"series: {args.n} weekly series x {args.length} points, horizon {h}, origins {args.origins}, "
        f"methods {','.join(methods)}, jobs {args.jobs} on {os.cpu_count()} cores"
    )
    print(f"wall time: {wall:.1f} s ({wall / args.n * 1000:.0f} ms per series)")
    print(
        f"held-out MASE (mean over series): chosen {r['mase'].mean():.3f}, seasonal naive "
        f"{r['mase_snaive'].mean():.3f}; ratio {r['mase'].mean() / r['mase_snaive'].mean():.3f}; "
        f"chosen better on {np.mean(r['mase'] < r['mase_snaive']):.1%} of series"
    )
    print(f"held-out coverage: 80% interval {r['in80'].mean():.1%}, 95% interval {r['in95'].mean():.1%}")
    print("methods chosen:", r["method"].value_counts().to_dict())
    print("backtest MASE by method (mean over series):", scores.groupby("method")["mase"].mean().round(3).to_dict())


def bench_org(args) -> None:
    import funnel_analysis as fa
    from funnel_analysis.crm import latest_date
    from funnel_analysis.forecast import backtest_next_quarter, past_quarter_ends, summarize_backtest

    t0 = time.perf_counter()
    crm = fa.load_org(args.data)
    day = latest_date(crm)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    results = []
    for ahead in args.quarters_ahead:
        days = past_quarter_ends(as_of=day, n=args.quarters, quarters_ahead=ahead)
        results.append(
            backtest_next_quarter(
                crm,
                as_of=days,
                quarters_ahead=ahead,
                progress=True,
                ts_methods=args.ts_methods or (),
            )
        )
    res = pd.concat(results, ignore_index=True)
    wall = time.perf_counter() - t0
    print(
        f"org {args.data} (latest date {day:%Y-%m-%d}): {args.quarters} past quarters per quarters ahead, {wall:.0f} s"
    )
    show = res[res["method"].isin(["pipeline", "configured_weighted", "last_period", "seasonal_naive"])]
    print(
        show.pivot_table(index=["quarters_ahead", "fiscal_period"], columns="method", values="forecast")
        .join(
            res.drop_duplicates(["quarters_ahead", "fiscal_period"]).set_index(["quarters_ahead", "fiscal_period"])[
                "actual"
            ]
        )
        .round(0)
    )
    p = res[res["method"] == "pipeline"]
    print(
        p[
            [
                "quarters_ahead",
                "fiscal_period",
                "forecast",
                "forecast_ci_low_80",
                "forecast_ci_high_80",
                "actual",
                "in_80",
            ]
        ]
        .round(0)
        .to_string(index=False)
    )
    print(summarize_backtest(res).round(3).to_string(index=False))
    if args.out:
        res.to_csv(args.out, index=False)


#: The notebook's sections: name -> the call of forecast.report it makes (its default parameters).
SECTIONS = {
    "next_quarter": lambda report, crm: report.next_quarter_forecast(crm, as_of=""),
    "weighted_pipeline": lambda report, crm: report.weighted_pipeline(crm, as_of="", period="Q"),
    "weighted_by_business_type": lambda report, crm: report.weighted_pipeline(crm, as_of="", by="business_type"),
    "slipped_pipeline": lambda report, crm: report.slipped_pipeline(crm, as_of=""),
    "forecast_categories": lambda report, crm: report.forecast_categories(crm, as_of="", last_periods=4),
    "bookings_forecast": lambda report, crm: report.bookings_forecast(crm, as_of="", period="M", horizon=6),
    "backtest": lambda report, crm: report.backtest_next_quarter(crm, as_of="", quarters=6, ts_methods="ets,theta"),
    "calibration": lambda report, crm: report.probability_calibration(crm, as_of="", period="Q"),
}


def bench_report_once(data: str) -> dict:
    """CPU and wall seconds of each section, in this process (the org opened first, not timed)."""
    from funnel_analysis.forecast import report
    from funnel_analysis.reporting import open_report

    crm = open_report(os.path.abspath(data))
    out = {}
    for name, call in SECTIONS.items():
        cpu, wall = time.process_time(), time.perf_counter()
        call(report, crm)
        out[name] = (time.process_time() - cpu, time.perf_counter() - wall)
    out["total"] = tuple(sum(v[i] for v in list(out.values())) for i in (0, 1))
    return out


def bench_report(args) -> None:
    import json
    import subprocess
    import sys

    if args.once:
        print(json.dumps(bench_report_once(args.data)))
        return
    runs = []
    for _ in range(args.repeat):  # fresh processes: every memo and cut starts empty, as in a new kernel
        done = subprocess.run(
            [sys.executable, __file__, "report", "--data", args.data, "--once"],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"forecasting sections on {args.data}, {args.repeat} fresh process(es), medians (CPU s / wall s):")
    for name in runs[0]:
        cpu = float(np.median([r[name][0] for r in runs]))
        wall = float(np.median([r[name][1] for r in runs]))
        print(f"  {name:28s} {cpu:6.2f} / {wall:6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="part", required=True)
    s = sub.add_parser("series")
    s.add_argument("--n", type=int, default=1000)
    s.add_argument("--length", type=int, default=260)
    s.add_argument("--horizon", type=int, default=13)
    s.add_argument("--origins", type=int, default=2)
    s.add_argument("--methods", default="")
    s.add_argument("--jobs", type=int, default=2)
    s.add_argument("--seed", type=int, default=0)
    o = sub.add_parser("org")
    o.add_argument("--data", default="data/sample")
    o.add_argument("--quarters", type=int, default=7)
    o.add_argument("--quarters-ahead", type=int, nargs="+", default=[1], help="target quarters (1 = the next)")
    o.add_argument("--ts-methods", default="es,ets,sarimax,theta,combo")
    o.add_argument("--out", default="")
    r = sub.add_parser("report")
    r.add_argument("--data", default="data/sample")
    r.add_argument("--repeat", type=int, default=3)
    r.add_argument("--once", action="store_true", help="one run in this process, as JSON")
    args = ap.parse_args()
    {"series": bench_series, "org": bench_org, "report": bench_report}[args.part](args)


if __name__ == "__main__":
    main()
