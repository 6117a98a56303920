"""End-to-end solves with our own est_xput flow for every group x cluster (issue 2).

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_solve_groups.py

For G1..G6 on HC1..HC4 (maf19 weights): NP without est_xput, then NP, DART-r and
PPipe with it. Prints objectives, PPipe's gain over the baselines and solve times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from ppipe.planning.problem import CLUSTER_PRESETS, MODEL_GROUPS, WEIGHT_PRESETS, build_problem
from ppipe.planning.solve import estimate_xput, solve
from ppipe.profiles.store import ProfileStore


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("PPIPE_ARTIFACT", "../shared/ppipe-artifact"))
    ap.add_argument("--weights", default="maf19")
    args = ap.parse_args()
    store = ProfileStore.open(args.data)
    ppipe_times = []
    print(f"{'group':5s} {'cluster':7s} {'NP':>9s} {'DART-r':>9s} {'PPipe':>9s} {'vs NP':>7s} {'vs DART':>7s} {'PPipe s':>8s}")
    for g, names in MODEL_GROUPS.items():
        for c, cluster in CLUSTER_PRESETS.items():
            problem = build_problem([store.get(n) for n in names], cluster, WEIGHT_PRESETS[args.weights])
            problem = problem.with_est_xput(estimate_xput(problem))
            objs = {}
            for sched in ("np", "dart-r", "ppipe"):
                t0 = time.perf_counter()
                res = solve(problem, sched)
                dt = time.perf_counter() - t0
                assert res.status == "optimal", (g, c, sched, res.status, res.message)
                objs[sched] = res.objective
                if sched == "ppipe":
                    ppipe_times.append(dt)
            print(f"{g:5s} {c:7s} {objs['np']:9.1f} {objs['dart-r']:9.1f} {objs['ppipe']:9.1f} "
                  f"{objs['ppipe'] / objs['np'] - 1:7.1%} {objs['ppipe'] / objs['dart-r'] - 1:7.1%} {dt:8.2f}",
                  flush=True)
    print(f"all {len(ppipe_times)} settings optimal; PPipe solve median {statistics.median(ppipe_times):.2f} s, "
          f"max {max(ppipe_times):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
