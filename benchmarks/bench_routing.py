"""What the routing analyses cost: the rule audit and speed to lead (with the rules' touch definition, business
minutes and SLA) on a generated org, each timed on a loaded org (load time reported apart).

The issue's target is the scale-50 org (about a million leads) under 60 s per analysis on 2 cores; on a shared
machine run a smaller scale and read the figure per lead:

    python benchmarks/bench_routing.py --scale 5

Measured 2026-12-02 on the shared 2-core machine (8 agents: the process got 30-40 % of a core, so wall seconds
are about three times the CPU seconds), scale 50 (1,029,983 leads, 2,935,651 activities), from its Parquet cache:

    python benchmarks/bench_routing.py --org /work/orgs/scale50 --parquet /work/orgs/scale50_parquet

load 9.6 s CPU (24.2 s wall), rule_audit 30.8 s CPU (103.9 s wall), speed_to_lead with the rules 32.7 s CPU
(139.2 s wall); peak RSS 6.3 GB. Before this session's Arrow membership and typed-timestamp changes the same run
took 99.3 s and 189.2 s wall at about 170 s CPU in all.

Measured again 2026-12-03 on the same machine when it was quiet (load average 0.8; the process had its core):
load 5.3 s wall (8.5 s CPU), rule_audit 23.4 s wall (23.4 s CPU, 22.8 us per lead), speed_to_lead 27.6 s wall
(27.6 s CPU, 26.8 us per lead); peak RSS 6.3 GB (``/usr/bin/time -v``), 60.2 s for the whole script. Both are
under the 60 s target. That org was generated before deals were routed (``0 deals routed``), so its
opportunity_audit figure (0.1 s) measures nothing; a newly generated org routes its large deals.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import funnel_analysis as fa
from funnel_analysis.routing import load_rules, opportunity_audit, rule_audit
from funnel_analysis.sources import report
from funnel_analysis.synth import generate_sample

_CPU: list[float] = []


def _seconds(fn) -> tuple[float, object]:
    """Wall seconds of ``fn()`` and its result; its CPU seconds (this process) go to ``_CPU`` (on a shared machine
    the wall time counts the other processes' turns too)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    _CPU.append(time.process_time() - c0)
    return time.perf_counter() - t0, out


def _run(load_fn, rules_path: Path, label: str, gen: float | None) -> None:
    load, crm = _seconds(load_fn)
    rules = load_rules(rules_path, crm=crm)
    audit_s, audit = _seconds(lambda: rule_audit(crm, rules=rules))
    speed_s, _ = _seconds(lambda: report.speed_to_lead(crm, rules=rules, mature_days=30, by="team"))
    opp_s, opps = _seconds(lambda: opportunity_audit(crm, rules=rules))
    n = len(audit)
    made = f" (generated in {gen:.1f} s)" if gen is not None else ""
    print(f"{label}: {n:,} leads, {len(crm.activities):,} activities, {len(opps):,} deals routed{made}")
    cpu = dict(zip(["load", "rule_audit", "speed_to_lead", "opportunity_audit"], _CPU[-4:], strict=True))
    print(f"  load              {load:8.1f} s wall {cpu['load']:8.1f} s CPU")
    print(
        f"  rule_audit        {audit_s:8.1f} s wall {cpu['rule_audit']:8.1f} s CPU ({1e6 * audit_s / max(n, 1):.1f} us per lead)"
    )
    print(
        f"  speed_to_lead     {speed_s:8.1f} s wall {cpu['speed_to_lead']:8.1f} s CPU ({1e6 * speed_s / max(n, 1):.1f} us per lead)"
    )
    print(f"  opportunity_audit {opp_s:8.1f} s wall {cpu['opportunity_audit']:8.1f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--org", type=Path, help="an existing export folder (its rules: <org>_truth/routing_rules.yaml)"
    )
    parser.add_argument("--parquet", type=Path, help="with --org: load its CrmData.to_parquet cache instead")
    args = parser.parse_args()
    if args.org is not None:
        rules = Path(f"{args.org}_truth") / "routing_rules.yaml"
        if args.parquet is not None:
            _run(lambda: fa.CrmData.from_parquet(args.parquet), rules, f"{args.org} (Parquet cache)", None)
        else:
            _run(lambda: fa.load_org(args.org), rules, str(args.org), None)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder, truth = Path(tmp) / "org", Path(tmp) / "truth"
        gen, _ = _seconds(lambda: generate_sample(folder, scale=args.scale, seed=args.seed, truth_dir=truth))
        _run(lambda: fa.load_org(folder), truth / "routing_rules.yaml", f"scale {args.scale:g}", gen)


if __name__ == "__main__":
    main()
