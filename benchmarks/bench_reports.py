"""Benchmark: the whole default report run, and the runner's overhead per notebook.

Prints medians over ``--repeat`` rounds, all measured in the same run on the same machine:

- ``report_run_s``: :func:`funnel_analysis.reporting.runner.run_reports` with the default config (every
  notebook) on a generated sample org of ``--scale`` (1 by default, as ``make report``), in total
  and per report;
- ``kernel_start_stop_s``: a bare python3 kernel started and stopped with ``jupyter_client``;
- ``papermill_empty_s``: an empty notebook (one ``parameters`` cell) executed with papermill, and
  ``papermill_over_kernel_s``, what papermill adds to the bare kernel;
- per report: ``execute_s`` (papermill's own timing of the notebook), ``notebook_work_s`` (that
  minus the empty-notebook baseline: imports, loading the org, analyses, charts) and
  ``runner_s`` (duration minus execution: HTML conversion and manifest);
- ``preflight_s``: the run's total minus its reports (parameter checks against every notebook,
  and one load of the org to fingerprint it and resolve an empty ``as_of``).

    python benchmarks/bench_reports.py [--scale 1] [--seed 0] [--repeat 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def kernel_start_stop() -> float:
    from jupyter_client.manager import start_new_kernel

    t = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    kc.stop_channels()
    km.shutdown_kernel(now=False)
    return time.perf_counter() - t


def papermill_empty(tmp: Path) -> float:
    import nbformat
    import papermill as pm

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp / "empty.ipynb"
    nbformat.write(nb, src)
    t = time.perf_counter()
    pm.execute_notebook(
        str(src), str(tmp / "empty_out.ipynb"), parameters={"x": 2}, kernel_name="python3", progress_bar=False
    )
    return time.perf_counter() - t


def report_run(data: Path, out: Path) -> dict:
    import nbformat

    from funnel_analysis.reporting import run_reports

    t = time.perf_counter()
    res = run_reports(data_dir=data, out_dir=out, progress=False)
    total = time.perf_counter() - t
    if res.failed:
        raise SystemExit(f"reports failed: {res.failed}: {[r.error for r in res.runs if r.error]}")
    out = {"total": total, "preflight": total - sum(r.duration_s for r in res.runs)}
    for r in res.runs:
        out[r.name] = r.duration_s
        out[f"{r.name}.execute"] = nbformat.read(r.ipynb, as_version=4).metadata["papermill"]["duration"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=None, help="an existing export folder instead of generating one")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = args.data
        if data is None:
            from funnel_analysis.synth import generate_sample

            data = tmp / "org"
            generate_sample(data, scale=args.scale, seed=args.seed)
        kernels, empties, runs = [], [], []
        for i in range(args.repeat):  # interleaved, so that a busy moment hits every measure alike
            kernels.append(kernel_start_stop())
            empties.append(papermill_empty(tmp))
            runs.append(report_run(data, tmp / f"reports{i}"))
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        empty, kernel = statistics.median(empties), statistics.median(kernels)
        names = [k for k in runs[0] if k not in ("total", "preflight") and "." not in k]
        print(
            json.dumps(
                {
                    "scale": args.scale,
                    "repeat": args.repeat,
                    "data": str(data),
                    "kernel_start_stop_s": round(kernel, 2),
                    "papermill_empty_s": round(empty, 2),
                    "papermill_over_kernel_s": round(empty - kernel, 2),
                    "report_run_s": round(med["total"], 2),
                    "preflight_s": round(med["preflight"], 2),
                    "reports": {
                        n: {
                            "duration_s": round(med[n], 2),
                            "execute_s": round(med[f"{n}.execute"], 2),
                            "notebook_work_s": round(med[f"{n}.execute"] - empty, 2),
                            "runner_s": round(med[n] - med[f"{n}.execute"], 2),
                        }
                        for n in names
                    },
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
