"""The exact loss-budget search for single-model problems (ppipe.planning.loss_budget)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from test_planner import _toy_profile

from ppipe.planning.configs import PipelineConfig, StageConfig, enumerate_configs
from ppipe.planning.loss_budget import (
    Item,
    config_items,
    fluid_bound,
    gpu_per_xput,
    merge_items,
    pareto_items,
    pipeline_loss,
    solve_single,
)
from ppipe.planning.milp import SolveOptions
from ppipe.planning.planner import build_milp, pick_method, solve_milp
from ppipe.planning.problem import ClusterSpec, build_problem
from ppipe.planning.solvers import solve_model as milp_solve


def _cfg(*stages, batch=1):
    """stages: (gpu, k, xput)."""
    return PipelineConfig(tuple(StageConfig(g, k, i, i + 1, 1000.0, 0.0, t) for i, (g, k, t) in enumerate(stages)),
                          batch, 1000.0)


# ----------------------------------------------------------------- pure maths

def test_gpu_per_xput_and_loss():
    c = _cfg((0, 1, 10.0), (1, 2, 40.0))
    assert gpu_per_xput(c, 2) == pytest.approx([0.1, 1 / 80])
    # prices 2 and 8 per GPU: 3 instances on type 0 (2 each), 1 on type 1 at k=2 (4 each), serving 30
    assert pipeline_loss(np.array([[3.0, 1.0]]), np.array([30.0]), np.array([2.0, 4.0])) == pytest.approx([-20.0])


def test_fluid_bound_prices_cover_every_configuration():
    cfgs = [_cfg((0, 1, 10.0), (1, 1, 20.0)), _cfg((0, 1, 25.0)), _cfg((1, 2, 7.0))]
    A = np.stack([gpu_per_xput(c, 2) for c in cfgs], axis=1)
    lim = np.array([3.0, 5.0])
    ub, pi = fluid_bound(A, lim)
    assert (pi @ A >= 1 - 1e-12).all()
    # LP optimum: type 0 only by config 1 (75), type 1 by config 2 (2 * 7 * 5 = 70)
    assert ub == pytest.approx(145.0)


def test_items_are_breakpoints_within_the_budget():
    c = _cfg((0, 1, 10.0), (0, 2, 15.0))  # one type, prices 1/GPU
    pi = np.array([1.0 / (0.1 + 1 / 30)])  # makes the config exactly fluid-efficient
    items = config_items(0, c, pi, np.array([4.0]), budget=1e9, unit=2)
    xs = [it.x for it in items]
    assert xs == sorted(set(xs)) and set(xs) <= {10.0 * m for m in range(1, 5)} | {15.0 * m for m in range(1, 9)}
    for it in items:
        assert it.counts == (int(np.ceil(it.x / 10 - 1e-9)), int(np.ceil(it.x / 15 - 1e-9)))
        assert it.use == (2 * it.counts[0], it.counts[1])
        assert it.loss >= 0
    aligned = [it for it in items if it.x == 30.0]  # 3 and 2 instances: no waste
    assert aligned and aligned[0].loss == pytest.approx(0.0, abs=1e-9)
    tight = config_items(0, c, pi, np.array([4.0]), budget=1e-6, unit=2)
    assert {it.x for it in tight} == {30.0}


def test_pareto_and_merge():
    cfgs = [_cfg((0, 1, 10.0)), _cfg((0, 1, 12.0)), _cfg((1, 1, 12.0))]
    a = Item(0, 10.0, (1,), (12,), 1.0)
    b = Item(1, 12.0, (1,), (12,), 0.5)  # same pool use, serves more: beats a
    c = Item(2, 12.0, (1,), (12,), 0.5)  # another type sequence: kept
    d = Item(1, 24.0, (2,), (24,), 1.0)
    assert pareto_items([a, b, c, d], cfgs) == [d, b, c]
    assert merge_items([b, d, c]) == {1: [3], 2: [1]}


# ----------------------------------------------------------- exactness

def _single(seed: int, max_parts: int = 3, gpus=(3, 5)):
    rng = np.random.default_rng(seed)
    prof = _toy_profile(f"m{seed}", rng)
    cluster = ClusterSpec(("L4", "T4"), gpus, (2, 2), (2, 1), 10)
    return build_problem([prof], cluster, [1.0], max_parts=max_parts, est_xput=[300.0])


@pytest.mark.parametrize("seed", range(8))
def test_same_optimum_as_the_unpruned_milp(seed):
    problem = _single(seed, gpus=(2 + seed % 3, 3 + seed))
    full = [enumerate_configs(problem, 0, prune=False)]
    if not full[0]:
        pytest.skip("toy SLO infeasible")
    ref = milp_solve(build_milp(problem, full, problem.max_parts).model, SolveOptions())
    res = solve_milp(problem, method="loss-budget")
    assert res.stats["method"] == "loss-budget"
    assert ref.status == "optimal" and res.status == "optimal"
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)
    assert res.bound >= res.objective and res.gap <= 1e-6
    used = res.plan.gpus_used()
    for g, lim in zip(problem.cluster.gpus, problem.cluster.limits):
        assert used.get(g, 0) <= lim + 1e-9
    direct = solve_milp(problem, method="direct")
    assert direct.objective == pytest.approx(res.objective, rel=1e-6)


def test_auto_picks_loss_budget_for_one_model_with_three_parts():
    assert pick_method(_single(0, max_parts=3)) == "loss-budget"
    assert pick_method(_single(0, max_parts=2)) == "direct"
    with pytest.raises(Exception, match="unknown method"):
        pick_method(_single(0), "fast")


def test_cancel_and_progress():
    problem = _single(3)
    cfgs = enumerate_configs(problem, 0)
    ev = threading.Event()
    ev.set()
    res = solve_single(cfgs, problem.cluster.limits, 3, SolveOptions(cancel=ev))
    assert res.result.status == "cancelled" and not res.counts
    seen = []
    res = solve_milp(problem, method="loss-budget", opts=SolveOptions(progress=seen.append))
    assert res.status == "optimal"
    for p in seen:
        if p.incumbent is not None and p.bound is not None:
            assert p.bound >= p.incumbent * (1 - 1e-9)
            assert p.bound <= res.stats["fluid_bound"] * (1 + 1e-9)


def test_full_pool_breakpoint_is_an_item():
    """Regression: x = limit * t is the fluid cap and a breakpoint; rounding must not drop it."""
    t = 100.57326762546515  # 25 * t / t rounds to 24.999999999999996
    c = _cfg((0, 1, t))
    items = config_items(0, c, np.array([t]), np.array([25.0]), budget=1.0, unit=1)
    assert max(it.counts[0] for it in items) == 25


def test_ablation_problem_matches_the_direct_milp(store):
    """encnet alone on HC2, P = 3 (an ablation problem): its optimum fills the L4 pool
    exactly, the case a rounding slip once lost."""
    from ppipe.planning.problem import CLUSTER_PRESETS
    from ppipe.planning.solve import estimate_xput

    problem = build_problem([store.get("encnet_r101-d8_4xb2-40k_cityscapes-512x1024")], CLUSTER_PRESETS["HC2"],
                            max_parts=3, slo_discount=0.1)
    problem = problem.with_est_xput(estimate_xput(problem))
    lb = solve_milp(problem, method="loss-budget")
    direct = solve_milp(problem, method="direct")
    assert lb.status == direct.status == "optimal"
    assert lb.objective == pytest.approx(direct.objective, rel=1e-6)


def test_thread_counts_may_differ_between_solves_in_one_process():
    """HiGHS keeps one scheduler per process: a later solve asking for another thread
    count must still run (the experiment workers ask for 1 thread after a default LP)."""
    import subprocess
    import sys

    code = """
import sys
sys.path.insert(0, 'tests')
from test_loss_budget import _single
from ppipe.planning.loss_budget import fluid_bound, gpu_per_xput
from ppipe.planning.configs import enumerate_configs
from ppipe.planning.milp import SolveOptions
from ppipe.planning.planner import solve_milp
import numpy as np
p = _single(1)
cfgs = enumerate_configs(p, 0)
fluid_bound(np.stack([gpu_per_xput(c, 2) for c in cfgs], axis=1), np.array([3.0, 5.0]))  # default threads
for t in (1, None, 2):
    for method in ("loss-budget", "direct"):
        r = solve_milp(p, method=method, opts=SolveOptions(threads=t))
        assert r.status == "optimal", (t, method, r.status, r.message)
print("ok")
"""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_gpu_unit_covers_every_split():
    from ppipe.planning.rows import gpu_unit

    assert gpu_unit([_cfg((0, 1, 1.0))]) == 12
    assert gpu_unit([_cfg((0, 4, 1.0), (1, 3, 1.0))]) == 12
    assert gpu_unit([_cfg((0, 5, 1.0)), _cfg((1, 7, 1.0))]) == 420  # 5 instances at k = 5 are one GPU
