"""The planner: exactness of the configuration MILP, the baselines, and replay."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from ppipe.planfile.naming import parse_plan_file_name
from ppipe.planfile.plan import read_plan
from ppipe.planning.configs import batch_build_us, enumerate_configs, fits_slots, stage_xput
from ppipe.planning.milp import SolveOptions
from ppipe.planning.planner import build_milp, solve_milp
from ppipe.planning.problem import CLUSTER_PRESETS, ClusterSpec, build_problem
from ppipe.planning.replay import replay_problem, sibling_np_plan
from ppipe.planning.solve import solve
from ppipe.planning.solvers import solve_model as milp_solve
from ppipe.profiles.model import ModelProfile

# ----------------------------------------------------------------- pure maths

def test_stage_xput_compute_and_network_bounds():
    assert stage_xput(2, 1000.0, 1, 4, 1.0, 1.0) == pytest.approx(2000.0)
    # NIC shared by k * gps instances: 1e6 / (100 * 2 * 4) = 1250
    assert stage_xput(8, 1000.0, 2, 4, 100.0, 1.0) == pytest.approx(1250.0)


def test_batch_build_latency():
    assert batch_build_us(1, 500.0, 1.3) == 0.0
    assert batch_build_us(3, 500.0, 1.3) == pytest.approx(1.3e6 * 2 / 500.0)
    assert batch_build_us(8, None, 1.3) == 0.0


def test_fits_slots_is_halls_condition_on_the_prefix_tree():
    # 2 types, P = 2: four slots (0,0) (0,1) (1,0) (1,1)
    assert fits_slots([[(0,), (0,), (1, 0), (1, 1)]], 2, 2)
    assert not fits_slots([[(0,), (0,), (0, 1)]], 2, 2)  # three pipelines under prefix 0
    assert not fits_slots([[(0, 1), (0, 1)]], 2, 2)
    assert fits_slots([[(0,), (1,)]], 2, 1)
    assert not fits_slots([[(0,), (0,)]], 2, 1)


# ----------------------------------------------------------- synthetic models

def _toy_profile(name: str, rng: np.random.Generator, chunks: int = 4) -> ModelProfile:
    base = rng.uniform(800, 3000, size=chunks)
    lat = {}
    for gpu, speed in (("L4", 1.0), ("T4", rng.uniform(1.4, 2.6))):
        tables = {}
        for k in (1, 2):
            cols = 8 if k == 1 else 4
            b = np.arange(1, cols + 1)
            tables[k] = np.outer(base * speed * (1.0 + 0.6 * (k - 1)), 0.55 + 0.45 * b)
        lat[gpu] = tables
    return ModelProfile(name=name, cut_bytes=rng.uniform(2e5, 4e6, size=chunks - 1), latency=lat,
                        runtime_us={"L4": float(base.sum()) * 1.05})


def _toy_problem(seed: int, models: int = 2, max_parts: int = 2):
    rng = np.random.default_rng(seed)
    profs = [_toy_profile(f"m{i}", rng) for i in range(models)]
    cluster = ClusterSpec(("L4", "T4"), (int(rng.integers(1, 4)), int(rng.integers(2, 7))), (2, 2), (2, 1), 10)
    w = list(rng.uniform(0.2, 0.5, size=models))
    return build_problem(profs, cluster, w, max_parts=max_parts, est_xput=[300.0] * models)


@pytest.mark.parametrize("seed", range(6))
def test_pruning_and_slot_relaxation_keep_the_optimum(seed):
    """Dropping dominated configurations, and solving without slot rows first,
    never changes the optimum (checked against the full, unpruned MILP)."""
    problem = _toy_problem(seed)
    full = [enumerate_configs(problem, d, prune=False) for d in range(len(problem.models))]
    if any(not c for c in full):
        pytest.skip("toy SLO infeasible")
    ref = milp_solve(build_milp(problem, full, problem.max_parts, slots=True).model, SolveOptions())
    relaxed = milp_solve(build_milp(problem, full, problem.max_parts, slots=False).model, SolveOptions())
    assert relaxed.objective >= ref.objective * (1 - 1e-7)
    res = solve_milp(problem)
    assert ref.status == "optimal" and res.status == "optimal"
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)
    assert sum(len(c) for c in full) >= sum(res.stats["configs"])


def test_plan_respects_limits_and_slo():
    problem = _toy_problem(3, models=2)
    res = solve_milp(problem)
    assert res.ok
    used = res.plan.gpus_used()
    for g, lim in zip(problem.cluster.gpus, problem.cluster.limits):
        assert used.get(g, 0) <= lim
    for spec, mp in zip(problem.models, res.plan.models):
        for pl in mp.pipelines:
            assert pl.latency_us <= spec.sla + 1e-6
            assert len(pl.partitions) <= problem.max_parts


def test_infeasible_slo_is_a_result_not_a_crash():
    problem = _toy_problem(1)
    tight = build_problem([m.profile for m in problem.models], problem.cluster, slo_multiplier=0.2)
    res = solve(tight, "ppipe")
    assert res.status == "infeasible" and res.plan is None
    assert "SLO" in res.message or "cannot" in res.message


def test_cancel_before_start_reports_cancelled():
    problem = _toy_problem(2)
    ev = threading.Event()
    ev.set()
    res = solve_milp(problem, opts=SolveOptions(cancel=ev))
    assert res.status == "cancelled"


def test_progress_callback_sees_incumbent():
    problem = _toy_problem(4, models=3)
    seen = []
    res = solve(problem, "ppipe", opts=SolveOptions(progress=seen.append))
    assert res.ok
    assert res.est_xput and all(e and e > 0 for e in res.est_xput)


def test_same_inputs_same_plan():
    a = solve(_toy_problem(5), "ppipe")
    b = solve(_toy_problem(5), "ppipe")
    assert a.plan.dumps().split('"mipgap"')[0] == b.plan.dumps().split('"mipgap"')[0]


# ------------------------------------------------------- reference replays

SAMPLE = ("HC1:ppipe", "HC2:np", "HC3:dart-r", "HC4:ppipe", "HC2:dart-r", "HC3:ppipe")
_CLUSTER_OF = {("L4", "P4"): "HC1", ("L4", "T4"): "HC2", ("V100", "P4"): "HC3", ("V100", "T4"): "HC4"}


def _pick(maf19_plans, cluster: str, scheduler: str, index: int):
    hits = [p for p in maf19_plans
            if _CLUSTER_OF[tuple(parse_plan_file_name(p).gpus)] == cluster and parse_plan_file_name(p).scheduler == scheduler]
    return hits[index % len(hits)]


@pytest.mark.parametrize("i, key", list(enumerate(SAMPLE)))
def test_replay_matches_reference_objective(maf19_plans, store, i, key):
    cluster, scheduler = key.split(":")
    path = _pick(maf19_plans, cluster, scheduler, i)
    rp = replay_problem(path, store)
    assert rp.scheduler == scheduler
    np_plan = read_plan(sibling_np_plan(path)) if scheduler == "dart-r" else None
    res = solve(rp.problem, scheduler, estimate=False, np_plan=np_plan)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(rp.reference_objective, rel=1e-4)


def test_replayed_problem_has_reference_numbers(maf19_plans, store):
    rp = replay_problem(maf19_plans[0], store)
    for spec, mp in zip(rp.problem.models, rp.reference.models):
        assert spec.sla == mp.config["sla"]
        assert spec.hist_adjustment == mp.config["hist_adjustment"]
        assert spec.transmit_us == mp.config["transmit_time_us_arr"]
        assert spec.est_xput == mp.config["est_xput"]


def test_end_to_end_with_own_est_xput(store):
    from ppipe.planning.problem import MODEL_GROUPS

    problem = build_problem([store.get(n) for n in MODEL_GROUPS["G2"]], CLUSTER_PRESETS["HC3"], [0.3, 0.33, 0.37])
    res = {s: solve(problem, s) for s in ("np", "dart-r", "ppipe")}
    assert all(r.status == "optimal" for r in res.values())
    assert res["ppipe"].objective >= res["np"].objective * (1 - 1e-9)
    # every later solve uses NP's throughputs as est_xput
    assert res["ppipe"].est_xput == res["np"].est_xput
    assert all(m.config["est_xput"] for m in res["ppipe"].plan.models)


def test_np_single_ablation_baseline(store):
    prof = store.get("wide_resnet101_2")
    problem = build_problem([prof], CLUSTER_PRESETS["HC2"], max_parts=3, slo_discount=0.1)
    res = solve(problem, "np-single")
    assert res.status == "optimal"
    for pl in res.plan.models[0].pipelines:
        part = pl.partitions[0]
        assert part.layers == [0, prof.num_chunks] and part.k == 1
        assert pl.latency_us < problem.models[0].sla
    assert res.objective <= solve(problem, "ppipe").objective * (1 + 1e-9)


def test_fill_keeps_the_optimum_and_uses_idle_gpus():
    problem = _toy_problem(7, models=3)
    base = solve(problem, "ppipe")
    filled = solve(replace(problem, fill_leftover=True), "ppipe")
    assert filled.objective == pytest.approx(base.objective, rel=1e-6)
    total = lambda r: sum(m.xput / s.weight for m, s in zip(r.plan.models, problem.models))  # noqa: E731
    assert total(filled) >= total(base) * (1 - 1e-9)
    for g, lim in zip(problem.cluster.gpus, problem.cluster.limits):
        assert filled.plan.gpus_used().get(g, 0) <= lim
