"""Replay all 72 maf19 reference plans and compare objectives (issue 2 acceptance).

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_replay.py

For each reference plan: rebuild its exact problem (config + file name), solve it
with the plan's scheduler, and report whether the objective matches within 1e-4
(relative). DART-r is run twice: with our own NP split (NP has ties that change
DART-r) and with the GPU split of the reference's own NP (``_bl``) plan.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from ppipe.planfile.plan import read_plan
from ppipe.planning.replay import replay_problem, sibling_np_plan
from ppipe.planning.solve import solve
from ppipe.profiles.store import ProfileStore


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("PPIPE_ARTIFACT", "../shared/ppipe-artifact"))
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    store = ProfileStore.open(args.data)
    plans = sorted((Path(args.data) / "plans" / "maf19").glob("*.json"))
    rows = []
    for path in plans:
        rp = replay_problem(path, store)
        variants = [("own NP split", None)]
        if rp.scheduler == "dart-r":
            variants.append(("reference NP split", read_plan(sibling_np_plan(path))))
        for label, np_plan in variants:
            t0 = time.perf_counter()
            res = solve(rp.problem, rp.scheduler, estimate=False, np_plan=np_plan)
            dt = time.perf_counter() - t0
            rel = abs(res.objective - rp.reference_objective) / rp.reference_objective if res.objective else float("inf")
            rows.append((rp.scheduler, label, res.status, rel, dt, path.name))
            if rel > args.tol:
                print(f"  differs: {rp.scheduler:6s} ({label}) {path.name[-70:]}: ours {res.objective:.4f} "
                      f"reference {rp.reference_objective:.4f} ({rel:.2%})", file=sys.stderr)
    print(f"{'scheduler':8s} {'variant':20s} {'plans':>5s} {'optimal':>7s} {'match':>5s} {'median s':>9s} {'max s':>7s}")
    for sched in ("ppipe", "np", "dart-r"):
        for label in ("own NP split", "reference NP split"):
            sel = [r for r in rows if r[0] == sched and r[1] == label]
            if not sel:
                continue
            times = [r[4] for r in sel]
            print(f"{sched:8s} {label:20s} {len(sel):5d} {sum(r[2] == 'optimal' for r in sel):7d} "
                  f"{sum(r[3] <= args.tol for r in sel):5d} {statistics.median(times):9.3f} {max(times):7.3f}")
    headline = [r for r in rows if r[1] == "own NP split" and r[0] != "dart-r"] + \
               [r for r in rows if r[0] == "dart-r" and r[1] == "reference NP split"]
    print(f"total: {sum(r[3] <= args.tol for r in headline)}/{len(headline)} match within {args.tol:g} "
          f"(DART-r with the reference NP split)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
