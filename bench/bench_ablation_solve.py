"""Solve the ablation set's single-model, 3-partition PPipe problems (issue 2).

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_ablation_solve.py \\
        [--time-limit S] [--method auto|direct|loss-budget] [--compare-direct]

Each of the 18 models alone on HC2 (25 L4 + 75 T4), P = 3, SLO discount 0.1,
est_xput from the NP flow. Prints per-model status, gap, configurations and
solve time, then the median and maximum time. ``--compare-direct`` also solves
each with the direct MILP and prints whether the objectives agree. (The
reference's Gurobi runs hit their 1800 s limit on most of these with gaps up
to 237%.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from ppipe.planning.milp import SolveOptions
from ppipe.planning.problem import CLUSTER_PRESETS, build_problem
from ppipe.planning.solve import solve
from ppipe.profiles.store import ProfileStore


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("PPIPE_ARTIFACT", "../shared/ppipe-artifact"))
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--models", default="", help="comma-separated subset")
    ap.add_argument("--method", default="auto", help="auto, direct or loss-budget")
    ap.add_argument("--compare-direct", action="store_true", help="also solve with the direct MILP")
    args = ap.parse_args()
    store = ProfileStore.open(args.data)
    names = args.models.split(",") if args.models else store.group_list()
    times, direct_times, agree = [], [], 0
    head = f"{'model':48s} {'status':10s} {'objective':>10s} {'gap':>9s} {'configs':>7s} {'seconds':>8s}"
    print(head + ("   direct: status  objective  seconds  same" if args.compare_direct else ""))
    for name in names:
        problem = build_problem([store.get(name)], CLUSTER_PRESETS["HC2"], max_parts=3, slo_discount=0.1)
        t0 = time.perf_counter()
        res = solve(problem, "ppipe", opts=SolveOptions(time_limit=args.time_limit), method=args.method)
        dt = time.perf_counter() - t0
        times.append(dt)
        gap = f"{res.gap:.2e}" if res.gap is not None else "n/a"
        line = (f"{name:48s} {res.status:10s} {res.objective or 0:10.2f} {gap:>9s} "
                f"{sum(res.stats.get('configs', [0])):7d} {dt:8.2f}")
        if args.compare_direct:
            t1 = time.perf_counter()
            ref = solve(problem, "ppipe", opts=SolveOptions(time_limit=args.time_limit), method="direct")
            direct_times.append(time.perf_counter() - t1)
            same = (ref.objective is not None and res.objective is not None
                    and abs(ref.objective - res.objective) <= 1e-6 * max(1.0, abs(ref.objective)))
            agree += same
            line += f"   {ref.status:14s} {ref.objective or 0:10.2f} {direct_times[-1]:8.2f}  {'yes' if same else 'NO'}"
        print(line, flush=True)
    print(f"median {statistics.median(times):.2f} s, max {max(times):.2f} s over {len(times)} models")
    if args.compare_direct:
        print(f"direct MILP: median {statistics.median(direct_times):.2f} s, max {max(direct_times):.2f} s; "
              f"same objective on {agree}/{len(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
