"""Simulator speed: 30 s of a 2-partition maf19 PPipe (v4) plan at load factor 100.

Prints requests simulated per wall second (target >= 150,000 on the 2-core dev
machine; the artifact's Java simulator does about 100,000). The first call
compiles the event loop with numba (cached on disk afterwards); that time is
reported separately and not counted.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_sim_speed.py [--repeat 5] [--balancer reservation]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ppipe.planfile.plan import read_plan  # noqa: E402
from ppipe.profiles.store import ProfileStore  # noqa: E402
from ppipe.sim import PoissonArrivals, Simulation  # noqa: E402
from ppipe.sim._jit import HAVE_NUMBA  # noqa: E402
from ppipe.sim.lfsearch import lf_load  # noqa: E402


def pick_plan(plan_dir: Path):
    """The v4 plan model with a 2-partition pipeline and the most workers."""
    best = None
    for p in sorted(plan_dir.glob("*_v4.json")):
        plan = read_plan(p)
        for m in plan.models:
            if any(len(pl.partitions) == 2 for pl in m.pipelines):
                n = sum(q.instances for pl in m.pipelines for q in pl.partitions)
                if best is None or n > best[0]:
                    best = (n, p, m)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--balancer", default="reservation")
    args = ap.parse_args()
    art = Path(os.environ.get("PPIPE_ARTIFACT") or Path(__file__).resolve().parents[2] / "shared" / "ppipe-artifact")
    store = ProfileStore.open(art)
    n, path, mp = pick_plan(art / "plans" / "maf19")
    prof = store.get(mp.name)
    load = lf_load(100, mp.xput)
    t0 = time.perf_counter()
    Simulation(mp, prof, PoissonArrivals(load), rng=np.random.default_rng(0), duration_s=0.05,
               balancer=args.balancer).run()
    warm = time.perf_counter() - t0
    rates = []
    for seed in range(args.repeat):
        sim = Simulation(mp, prof, PoissonArrivals(load), rng=np.random.default_rng(seed), seed=seed,
                         balancer=args.balancer)
        t0 = time.perf_counter()
        sim.run()
        dt = time.perf_counter() - t0
        rates.append(sim.total_requests / dt)
        res = sim.result()
    print(f"plan: {path.name}\nmodel: {mp.name} ({n} workers, "
          f"{len(mp.pipelines)} pipelines, partitions {[len(p.partitions) for p in mp.pipelines]})")
    print(f"load factor 100 = {load} req/s for 30 s; balancer {args.balancer}; numba: {HAVE_NUMBA} "
          f"(warm-up/compile {warm:.2f} s)")
    print(f"last run: {sim.total_requests} requests, attainment {res.attainment:.4f}, events {res.events}")
    print(f"requests simulated per wall second: median {np.median(rates):,.0f} "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f}) over {len(rates)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
