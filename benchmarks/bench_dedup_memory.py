"""Benchmark: where ``funnel dedup`` holds its memory (issue 19), phase by phase.

Runs the ``funnel dedup`` command in this process, with the functions it calls wrapped so that each
call names a phase, and a thread that reads the process's resident memory (``psutil``) every
``--every`` seconds. Prints, per phase, its CPU and wall seconds and the highest RSS seen while it
ran (a nested phase is shown under its parent), then the process's peak (``getrusage``).

    python benchmarks/bench_dedup_memory.py /tmp/h61/scale5 --out /tmp/h61/out5 [--every 0.2] [-- --no-contacts]

The arguments after ``--`` go to ``funnel dedup`` as they are (``--object leads --json`` by default).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import resource
import sys
import threading
import time

import psutil

#: (module, function): the phases, outermost first. A function is wrapped where the command finds it
#: (its module attribute), so a lazy ``from .x import f`` inside the command sees the wrapper.
PHASES = [
    ("funnel_analysis.crm.load", "load_org"),
    ("funnel_analysis.dedupe.pipeline", "find_duplicates"),
    ("funnel_analysis.dedupe.pipeline", "object_features"),
    ("funnel_analysis.dedupe.pipeline", "bound_rules"),
    ("funnel_analysis.dedupe.pipeline", "train_model"),
    ("funnel_analysis.dedupe.pipeline", "_predict_counted"),
    ("funnel_analysis.dedupe.match", "_score_in_chunks"),
    ("funnel_analysis.dedupe.match", "_pairs_frame"),
    ("funnel_analysis.dedupe.pipeline", "cluster_pairs"),
    ("funnel_analysis.dedupe.pipeline", "merge_duplicates"),
    ("funnel_analysis.dedupe.export", "write_export_folder"),
    ("funnel_analysis.dedupe.pipeline", "lead_contact_matches"),
    ("funnel_analysis.dedupe.pipeline", "predict_pairs"),
]


class Sampler:
    """The resident memory of the process, read every ``every`` seconds, kept as the highest per phase."""

    def __init__(self, every: float):
        self.every, self.proc = every, psutil.Process()
        self.stack: list[str] = ["start"]
        self.peak: dict[str, int] = {}
        self.order: list[tuple[int, str]] = []
        self.times: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.every)

    def sample(self):
        rss = self.proc.memory_info().rss
        for name in list(self.stack):
            if rss > self.peak.get(name, 0):
                self.peak[name] = rss

    def enter(self, name: str):
        self.sample()
        label = name
        n = 2
        while label in self.times:  # a phase called again gets a number
            label, n = f"{name}#{n}", n + 1
        self.order.append((len(self.stack) - 1, label))
        self.times[label] = [time.process_time(), time.perf_counter()]
        self.stack.append(label)
        return label

    def leave(self, label: str):
        self.sample()
        t = self.times[label]
        self.times[label] = [time.process_time() - t[0], time.perf_counter() - t[1]]
        self.stack.remove(label)

    def stop(self):
        self._stop.set()
        self.thread.join()


def _wrap(sampler: Sampler, module: str, name: str) -> None:
    mod = importlib.import_module(module)
    fn = getattr(mod, name)
    if getattr(fn, "_phase", None):
        return

    @functools.wraps(fn)
    def phase(*args, **kwargs):
        label = sampler.enter(name)
        try:
            return fn(*args, **kwargs)
        finally:
            sampler.leave(label)

    phase._phase = True
    setattr(mod, name, phase)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--out", required=True)
    ap.add_argument("--every", type=float, default=0.2, help="seconds between two readings of the RSS")
    ap.add_argument("rest", nargs="*", help="after --: more arguments of funnel dedup")
    args = ap.parse_args(argv)
    from funnel_analysis.cli.app import main as cli

    sampler = Sampler(args.every)
    for module, name in PHASES:
        _wrap(sampler, module, name)
    sampler.thread.start()
    t0, w0 = time.process_time(), time.perf_counter()
    code = 0
    try:
        cli.main(
            ["dedup", args.folder, "--object", "leads", "--json", "--out", args.out, *args.rest], standalone_mode=False
        )
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sampler.stop()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    gib = 1024**3
    print(f"\n{'phase':<40} {'CPU s':>8} {'wall s':>8} {'peak RSS GiB':>13}", file=sys.stderr)
    for depth, label in sampler.order:
        c, w = sampler.times[label]
        print(f"{'  ' * depth + label:<40} {c:8.1f} {w:8.1f} {sampler.peak.get(label, 0) / gib:13.2f}", file=sys.stderr)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{'whole run':<40} {cpu:8.1f} {wall:8.1f} {peak / gib:13.2f} (getrusage)", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
