"""Compare every value the report notebooks recorded in two report runs, key by key, exactly.

Used to show that a change (the layout move, say) leaves what the reports say unchanged:

    git checkout OLD && .venv/bin/funnel report run --out /tmp/before --jobs 2
    git checkout NEW && .venv/bin/funnel report run --out /tmp/after --jobs 2
    .venv/bin/python benchmarks/compare_report_values.py /tmp/before /tmp/after
    .venv/bin/python benchmarks/compare_report_values.py --rel 1e-9 /tmp/pandas /tmp/engine_only

With ``--rel``, two floats are the same when they differ by at most that fraction (an engine's money sums
differ from pandas' in the last bits: their order of addition differs). Prints the number of reports, records and leaf values compared and every difference; exits 1 on any.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from funnel_analysis.reporting import read_records


def run_records(out: Path) -> dict:
    """report name -> its recorded values, for each executed notebook under ``out/<report>/<as_of>/``."""
    return {nb.parent.parent.name: read_records(nb) for nb in sorted(out.glob("*/*/*.ipynb"))}


def differences(a, b, path: str = "", *, rel: float = 0.0) -> tuple[int, list[str]]:
    """(leaf values compared, differences) between two nested records; floats within ``rel`` are the same."""
    if isinstance(a, dict) and isinstance(b, dict):
        n, out = 0, [f"{path}: keys only on one side {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for key in sorted(set(a) & set(b)):
            k, d = differences(a[key], b[key], f"{path}/{key}", rel=rel)
            n, out = n + k, out + d
        return n, out
    if isinstance(a, list) and isinstance(b, list):
        n, out = 0, [f"{path}: {len(a)} vs {len(b)} rows"] if len(a) != len(b) else []
        for i, (u, v) in enumerate(zip(a, b)):
            k, d = differences(u, v, f"{path}[{i}]", rel=rel)
            n, out = n + k, out + d
        return n, out
    if rel and isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12):
        return 1, []
    return 1, ([] if a == b else [f"{path}: {a!r} != {b!r}"])


def main(argv: list[str]) -> int:
    rel = 0.0
    if argv[:1] == ["--rel"]:
        rel, argv = float(argv[1]), argv[2:]
    before, after = (run_records(Path(p)) for p in argv)
    n, diffs = differences(before, after, rel=rel)
    records = sum(len(v) for v in before.values())
    print(f"reports {len(before)}, records {records}, leaf values compared {n}, different {len(diffs)}")
    for line in diffs:
        print("  ", line)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
