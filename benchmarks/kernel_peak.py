"""Peak RSS of the report kernels a command starts: the ipykernel processes descending from it, sampled every 0.5 s.

Run a scheduled report run under it (#21: each report kernel under 4 GB at scale 50)::

    FUNNEL_ENGINE_ONLY=1 .venv/bin/python benchmarks/kernel_peak.py \\
        .venv/bin/funnel report run --data-dir /work/orgs/scale50 --only funnel --only velocity --only pipeline --jobs 1

Prints one line per report kernel, the largest first; exits with the command's status. Only the
command's own descendants are counted (other sessions' kernels on the machine are not).

Figures (scale 50, 2026-12-07, quiet machine, the runner's Parquet cache already written, code 6a97d69):

- funnel 29.2 s, velocity 20.5 s, pipeline 36.1 s in one engine-only kernel, peak RSS 1.87 GiB; the run 1 min 42 s;
- lead_scoring 211.3 s, its kernel's peak 3.68 GiB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _descends(pid: int, root: int) -> bool:
    for _ in range(12):
        pid = _parent(pid)
        if pid == root:
            return True
        if pid <= 1:
            return False
    return False


def main() -> int:
    peak: dict[int, int] = {}
    proc = subprocess.Popen(sys.argv[1:])
    while proc.poll() is None:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if b"ipykernel" not in fh.read() or not _descends(pid, proc.pid):
                        continue
                with open(f"/proc/{pid}/status") as fh:
                    for line in fh:
                        if line.startswith("VmRSS:"):
                            peak[pid] = max(peak.get(pid, 0), int(line.split()[1]))
            except OSError:
                continue
        time.sleep(0.5)
    for pid, kb in sorted(peak.items(), key=lambda x: -x[1]):
        print(f"report kernel {pid}: peak RSS {kb / 2**20:.2f} GiB")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
