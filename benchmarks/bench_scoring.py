"""Lead-scoring speed on the ``--scale 50`` sample org (about a million leads).

Prints the median of repeated runs and the peak memory (RSS high-water mark) of:
building the labelled training table, training (``train``: features, leakage
measurement, split, model + logistic baseline, calibration, evaluation),
and scoring (probabilities and 1-99 scores, and separately with the top three
reasons) of every lead. Targets (2 cores): training under 2 minutes, scoring
over 100k leads per second.

The org is generated once (``funnel_analysis.synth.generate_sample``, about
30 s) and cached as Parquet (``CrmData.to_parquet``); later runs reload it.

.. code-block:: console

    $ .venv/bin/python benchmarks/bench_scoring.py --scale 50 --repeat 3 --threads 2

Before/after on a noisy shared machine: ``--root DIR`` imports ``funnel_analysis`` from another
checkout (e.g. a copy of the previous version), so both can be run alternately in one session.
``--no-reasons`` skips the (slow) reasons timing.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_root = next(
    (a.split("=", 1)[1] if "=" in a else sys.argv[i + 2] for i, a in enumerate(sys.argv[1:]) if a.startswith("--root")),
    None,
)
sys.path.insert(0, str(_root or ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _org(scale: float, cache: Path):
    import funnel_analysis as fa
    from funnel_analysis.crm import CrmData
    from funnel_analysis.synth import generate_sample

    if (cache / "crm.json").exists():
        return CrmData.from_parquet(cache)
    raw = cache.with_name(cache.name + "_export")
    t = time.perf_counter()
    generate_sample(raw, scale=scale, seed=0)
    print(f"generated scale {scale} in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    crm = fa.load_org(raw)
    print(f"loaded in {time.perf_counter() - t:.1f} s")
    crm.to_parquet(cache)
    return crm


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="OpenMP threads of the gbm (LeadScorer n_threads)")
    ap.add_argument("--cache", default=None, help="Parquet cache folder (default data/cache/bench_scoring_<scale>)")
    ap.add_argument("--root", default=None, help="import funnel_analysis from this folder (before/after runs)")
    ap.add_argument("--train-repeat", type=int, default=None, help="train runs (default: --repeat)")
    ap.add_argument("--no-reasons", action="store_true", help="skip timing the top-3 reasons")
    args = ap.parse_args(argv)
    import funnel_analysis

    print(f"funnel_analysis from {Path(funnel_analysis.__file__).parent}")

    from funnel_analysis.scoring import probability_to_score, train, training_table

    cache = Path(args.cache or ROOT / "data" / "cache" / f"bench_scoring_{args.scale:g}")
    crm = _org(args.scale, cache)
    print(
        f"org: {len(crm.leads):,} leads, {len(crm.activities):,} activities, "
        f"{len(crm.campaign_members):,} campaign members"
    )

    t = time.perf_counter()
    table = training_table(crm)
    print(
        f"training table: {len(table):,} labelled leads in {time.perf_counter() - t:.1f} s "
        "(also inside every train run below)",
        flush=True,
    )
    del table

    # train once, measure scoring with that model, then the remaining train runs (printed as they finish)
    train_times, result = [], None
    t = time.perf_counter()
    result = train(crm, n_boot=50, model_params={"n_threads": args.threads})
    train_times.append(time.perf_counter() - t)
    print(
        f"train run 1: {train_times[-1]:.1f} s (kind auto -> {result.model.kind_}, "
        f"{result.model.calibration_method_}); held-out ROC-AUC {result.metrics['roc_auc']:.4f}, "
        f"points {result.metrics['baseline_roc_auc']:.4f}, n_test {result.split['n_test']:,}",
        flush=True,
    )

    model = result.model
    X = result.table[result.features]
    jobs = [("probabilities + score", lambda: probability_to_score(model.predict_proba(X)[:, 1]), len(X))]
    if not args.no_reasons:
        jobs.append(("top-3 reasons", lambda: model.reasons(X.iloc[:100_000], top=3), min(len(X), 100_000)))
    for label, fn, n in jobs:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        print(
            f"scoring, {label}: {n:,} leads, median {med:.2f} s = {n / med:,.0f} leads/s "
            f"(runs: {', '.join(f'{x:.2f}' for x in times)})",
            flush=True,
        )
    for i in range(1, args.train_repeat or args.repeat):
        t = time.perf_counter()
        train(crm, n_boot=50, model_params={"n_threads": args.threads})
        train_times.append(time.perf_counter() - t)
        print(f"train run {i + 1}: {train_times[-1]:.1f} s", flush=True)
    print(f"train: median {statistics.median(train_times):.1f} s over {len(train_times)} runs")
    print(f"peak memory (RSS high-water mark): {_peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
