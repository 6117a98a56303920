"""Fleet-scale planning (issue 14): the fast paths stay exact.

The loss-budget search now generates its items with numpy in one pass over all
configurations (``all_items``) and shrinks each round's item MILP by LP reduced-cost
fixing (``fix_by_reduced_cost``). Both are checked here: the items equal the plain
per-configuration ones, and the whole search matches the plain direct MILP on random
small problems with three and four GPU types. Solve results carry where the time
went (``stats``), also in the ``--json`` document.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ppipe.planning.configs import enumerate_configs
from ppipe.planning.loss_budget import (
    ConfigArrays,
    TooManyItems,
    all_items,
    build_item_milp,
    config_items,
    fix_by_reduced_cost,
    fluid_bound,
    gpu_per_xput,
    pareto_items,
)
from ppipe.planning.milp import SolveOptions
from ppipe.planning.planner import build_milp, complete_per_model, solve_milp
from ppipe.planning.pool_relaxation import build_pool_relaxation
from ppipe.planning.problem import ClusterSpec, build_problem
from ppipe.planning.rows import gpu_unit
from ppipe.planning.solvers import solve_model
from ppipe.profiles.model import ModelProfile

TYPES = ("L4", "T4", "V100", "P4")


def _profile(name: str, rng: np.random.Generator, types: tuple[str, ...], chunks: int = 4) -> ModelProfile:
    """A toy model: per-type speed factors that differ by chunk, MPS splits 1 and 2."""
    base = rng.uniform(800, 3000, size=chunks)
    lat = {}
    for gi, gpu in enumerate(types):
        speed = 1.0 if gi == 0 else rng.uniform(0.6, 2.6, size=chunks)
        tables = {}
        for k in (1, 2):
            cols = 8 if k == 1 else 4
            b = np.arange(1, cols + 1)
            tables[k] = np.outer(base * speed * (1.0 + 0.6 * (k - 1)), 0.55 + 0.45 * b)
        lat[gpu] = tables
    return ModelProfile(name=name, cut_bytes=rng.uniform(2e5, 4e6, size=chunks - 1), latency=lat,
                        runtime_us={"L4": float(base.sum()) * 1.05})


def _problem(seed: int, num_types: int, max_parts: int, models: int = 1):
    rng = np.random.default_rng([seed, num_types, max_parts, models])
    types = TYPES[:num_types]
    profs = [_profile(f"m{i}", rng, types) for i in range(models)]
    limits = tuple(int(v) for v in rng.integers(1, 4, size=num_types))
    cluster = ClusterSpec(types, limits, (2,) * num_types, tuple(int(v) for v in rng.integers(1, 3, size=num_types)),
                          10)
    weights = list(rng.uniform(0.2, 0.5, size=models))
    return build_problem(profs, cluster, weights, max_parts=max_parts, est_xput=[300.0] * models)


def _plain(problem, configs):
    """The plain MILP (no pool totals) over ``configs``: what the fast paths must match."""
    return solve_model(build_milp(problem, configs, problem.max_parts, totals=False).model, SolveOptions())


def _solve_like_plain(problem, method: str = "direct", skip_infeasible: bool = True):
    """``solve_milp`` on ``problem`` and the plain MILP over every (unpruned) configuration:
    both optimal at the same objective. Returns (plain result, planner result)."""
    full = [enumerate_configs(problem, d, prune=False) for d in range(len(problem.models))]
    if skip_infeasible and not all(full):
        pytest.skip("toy SLO infeasible")
    ref = _plain(problem, full)
    res = solve_milp(problem) if method == "auto" else solve_milp(problem, method=method)
    assert ref.status == res.status == "optimal"
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)
    return ref, res


def _assert_fits_the_fleet(res, problem) -> None:
    used = res.plan.gpus_used()
    for g, lim in zip(problem.cluster.gpus, problem.cluster.limits):
        assert used.get(g, 0) <= lim + 1e-9


# ----------------------------------------------------------------- items

@pytest.mark.parametrize("seed", range(4))
def test_vectorised_items_are_the_plain_items(seed):
    problem = _problem(seed, 3 + seed % 2, 3)
    cfgs = enumerate_configs(problem, 0)
    if not cfgs:
        pytest.skip("toy SLO infeasible")
    lim = np.asarray(problem.cluster.limits, dtype=float)
    A = np.stack([gpu_per_xput(c, len(lim)) for c in cfgs], axis=1)
    ub, pi = fluid_bound(A, lim)
    unit = gpu_unit(cfgs)
    arrays = ConfigArrays(cfgs, lim)
    for share in (0.0, 0.003, 0.02, 0.2):
        budget = share * ub
        plain = [it for ci, c in enumerate(cfgs) for it in config_items(ci, c, pi, lim, budget, unit)]
        fast = all_items(arrays, pi, budget, unit)
        assert [(a.config, a.x, a.counts, a.use) for a in plain] == [(b.config, b.x, b.counts, b.use) for b in fast]
        assert [b.loss for b in fast] == pytest.approx([a.loss for a in plain], abs=1e-9 * max(1.0, ub))


def test_too_many_items_is_reported():
    problem = _problem(1, 3, 3)
    cfgs = enumerate_configs(problem, 0)
    lim = np.asarray(problem.cluster.limits, dtype=float)
    A = np.stack([gpu_per_xput(c, len(lim)) for c in cfgs], axis=1)
    ub, pi = fluid_bound(A, lim)
    with pytest.raises(TooManyItems):
        all_items(ConfigArrays(cfgs, lim), pi, ub, gpu_unit(cfgs), max_items=3)


@pytest.mark.parametrize("seed", range(4))
def test_reduced_cost_fixing_keeps_the_optimum(seed):
    """Items dropped for a target at or below the optimum are never needed."""
    problem = _problem(seed, 4, 3)
    cfgs = enumerate_configs(problem, 0)
    if not cfgs:
        pytest.skip("toy SLO infeasible")
    lim = np.asarray(problem.cluster.limits, dtype=float)
    A = np.stack([gpu_per_xput(c, len(lim)) for c in cfgs], axis=1)
    ub, pi = fluid_bound(A, lim)
    unit = gpu_unit(cfgs)
    items = pareto_items(all_items(ConfigArrays(cfgs, lim), pi, ub, unit), cfgs)
    M = build_item_milp(items, cfgs, lim, 3, ub, unit, budget_row=False)
    full = solve_model(M, SolveOptions())
    assert full.status == "optimal"
    keep, z = fix_by_reduced_cost(M, len(items), full.objective, SolveOptions(), "highs")
    assert z >= full.objective * (1 - 1e-9)
    kept = [it for it, k in zip(items, keep) if k]
    small = solve_model(build_item_milp(kept, cfgs, lim, 3, ub, unit, budget_row=False), SolveOptions())
    assert small.objective == pytest.approx(full.objective, rel=1e-9)


# ----------------------------------------------- fast path vs the plain MILP

@pytest.mark.parametrize("num_types", (3, 4))
@pytest.mark.parametrize("max_parts", (2, 3))
@pytest.mark.parametrize("seed", range(2))
def test_loss_budget_matches_the_plain_milp(seed, max_parts, num_types):
    problem = _problem(seed, num_types, max_parts)
    full = [enumerate_configs(problem, 0, prune=False)]
    if not full[0]:
        pytest.skip("toy SLO infeasible")
    ref = _plain(problem, full)
    res = solve_milp(problem, method="loss-budget")
    assert ref.status == "optimal" and res.status == "optimal"
    assert res.stats["method"] == "loss-budget"
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)  # both are throughput / weight
    assert res.gap <= 1e-6
    _assert_fits_the_fleet(res, problem)


@pytest.mark.parametrize(("seed", "models", "num_types"),
                         [(0, 2, 3), (0, 2, 4), (1, 2, 4), (2, 3, 3)])
def test_direct_path_matches_the_plain_milp_on_several_models(seed, models, num_types):
    """The planner's MILP (pruned configurations, pool totals to branch on, the priced
    restart) against the plain one (every configuration, no totals) on random fleets."""
    problem = _problem(seed, num_types, 2, models=models)
    _, res = _solve_like_plain(problem)
    _assert_fits_the_fleet(res, problem)


def test_pool_totals_are_distinct_sums_of_pools():
    """Each total is one distinct set of a model's pools and equals their sum in a plan."""
    problem = _problem(4, 4, 2, models=3)
    cfgs = [enumerate_configs(problem, d) for d in range(3)]
    mpm = build_milp(problem, cfgs, problem.max_parts)
    sets = [frozenset(members) for _, members in mpm.totals]
    assert len(sets) == len(set(sets)) and all(len(s) >= 2 for s in sets)
    owner = {z: key[0] for key, z in mpm.z.items()}
    assert all(len({owner[z] for z in s}) == 1 for s in sets)  # never across models
    res = solve_model(mpm.model, SolveOptions())
    assert res.status == "optimal"
    for v, members in mpm.totals:
        assert res.values[v] == pytest.approx(sum(res.values[z] for z in members), abs=1e-6)
    plain = _plain(problem, cfgs)
    assert res.objective == pytest.approx(plain.objective, rel=1e-6)
    start = np.round(res.values)
    start[[v for v, _ in mpm.totals]] = -1.0
    start = mpm.fill_totals(start)
    for v, members in mpm.totals:
        assert start[v] == sum(start[z] for z in members)


def test_several_models_on_three_types_match_the_unpruned_milp():
    problem = _problem(7, 3, 2, models=2)
    ref, res = _solve_like_plain(problem, method="auto")


# ----------------------------------------------------------------- stats

def test_stats_say_where_the_time_went():
    problem = _problem(2, 3, 3)
    res = solve_milp(problem)
    for key in ("configs", "configs_enumerated", "enumerate_seconds", "build_seconds", "solver_seconds", "method"):
        assert key in res.stats, key
    assert res.stats["build_seconds"] >= 0 and res.stats["solver_seconds"] >= 0
    doc = res.to_json(problem)
    assert doc["stats"]["method"] == "loss-budget"
    json.dumps(doc)  # plain JSON values only (numpy numbers, statuses converted)
    direct = solve_milp(problem, method="direct")
    for key in ("vars", "integer", "rows", "nodes", "solver_seconds"):
        assert key in direct.stats, key


# ----------------------------------------------------- the priced restart

@pytest.mark.parametrize("num_types", (3, 4))
@pytest.mark.parametrize("seed", range(2))
def test_priced_restart_keeps_the_optimum(monkeypatch, seed, num_types):
    """Restarting at the first plan found (prices, budget row, dropped configurations,
    throughput caps) gives the plain MILP's optimum on several models."""
    import ppipe.planning.planner as planner

    problem = _problem(seed, num_types, 2, models=2)
    cfgs = [enumerate_configs(problem, d) for d in range(2)]
    if not all(cfgs):
        pytest.skip("toy SLO infeasible")
    ref = _plain(problem, cfgs)
    monkeypatch.setattr(planner, "RESTART_AFTER_S", 0.0)
    monkeypatch.setattr(planner, "RESTART_GAP", 10.0)
    monkeypatch.setattr(planner, "RESTART_MIN_MODELS", 1)
    monkeypatch.setattr(planner, "RESTART_GAIN", 0.0)  # another round at every better plan
    monkeypatch.setattr(planner, "POOL_RELAXATION", False)  # its proof would stop the restart
    res = solve_milp(problem)
    assert ref.status == res.status == "optimal"
    assert res.objective == pytest.approx(ref.objective, rel=1e-6)
    assert res.gap <= 1e-6
    if "restart" in res.stats:
        r = res.stats["restart"]
        assert r["fluid_bound"] >= ref.objective * (1 - 1e-9)
        assert r["incumbent"] <= ref.objective * (1 + 1e-9)
        assert r["start_mapped"]
        assert res.bound <= r["fluid_bound"] * (1 + 1e-9)
    _assert_fits_the_fleet(res, problem)


def test_restart_budget_caps_keep_the_incumbents_pipelines():
    from ppipe.planning.restart import budget_caps, fleet_prices

    problem = _problem(4, 4, 2, models=2)
    cfgs = [enumerate_configs(problem, d) for d in range(2)]
    lim = np.asarray(problem.cluster.limits, dtype=float)
    ub, pi, mu = fleet_prices(cfgs, problem.weights, lim)
    for d, cs in enumerate(cfgs):
        for c in cs:
            assert pi @ gpu_per_xput(c, len(lim)) >= mu[d] * (1 - 1e-12)
    # with an unlimited budget every configuration stays, capped by its pools only
    for d, cs in enumerate(cfgs):
        for c in cs:
            cap = budget_caps(c, pi, mu[d], lim, 1e12)
            a = gpu_per_xput(c, len(lim))
            assert cap is not None and cap <= min(lim[a > 0] / a[a > 0]) * (1 + 1e-8)


@pytest.mark.parametrize("seed", range(2))
def test_model_costs_bound_every_plan_at_the_level(seed):
    """Per-model integer costs at the optimum's level never exceed what the optimal plan
    spends on that model (they are valid rows), and each model's budget admits every
    pipeline of the optimum (so the restarted MILP keeps it)."""
    from ppipe.planning.planner import model_costs
    from ppipe.planning.restart import budget_caps, fleet_prices, model_budgets, restricted

    problem = _problem(seed, 3, 2, models=3)
    cfgs = [enumerate_configs(problem, d) for d in range(3)]
    if not all(cfgs):
        pytest.skip("toy SLO infeasible")
    mpm = build_milp(problem, cfgs, problem.max_parts)
    opt = solve_model(mpm.model, SolveOptions())
    assert opt.status == "optimal"
    level = float(opt.values[mpm.T])
    weights = [m.weight for m in problem.models]
    ub, pi, mu = fleet_prices(cfgs, weights, problem.cluster.limits)
    costs = model_costs(problem, cfgs, pi, mu, level, SolveOptions(), "highs", True)
    # side by side (the search's way) they are the same numbers, in the same order
    assert model_costs(problem, cfgs, pi, mu, level, SolveOptions(), "highs", True, workers=2) == costs
    for d in range(3):
        spent = sum(pi[key[-1]] * round(opt.values[z]) for key, z in mpm.z.items() if key[0] == d)
        assert mu[d] * weights[d] * level * (1 - 1e-9) <= costs[d] <= spent * (1 + 1e-9) + 1e-9
    budgets = model_budgets(pi, mu, weights, problem.cluster.limits, costs, level) + 1e-7 * ub
    kept, caps, index = restricted(cfgs, pi, mu, problem.cluster.limits, budgets)
    lim = np.asarray(problem.cluster.limits, dtype=float)
    for d, cs in enumerate(cfgs):
        for ci, cfg in enumerate(cs):
            x = opt.values[mpm.x[d][ci]]
            if opt.values[mpm.y[d][ci]] > 0.5 and x > 1e-9:
                assert ci in index[d]
                assert caps[d][index[d].index(ci)] >= x * (1 - 1e-9)
                assert budget_caps(cfg, pi, float(mu[d]), lim, float(budgets[d])) is not None


def test_a_cancel_while_pricing_the_restart_keeps_the_first_plan(monkeypatch):
    """The restart's per-model pricing reports progress and stops on a cancel: the solve
    ends cancelled with the plan it had."""
    import threading

    import ppipe.planning.planner as planner
    from ppipe.planning.milp import Progress

    monkeypatch.setattr(planner, "RESTART_AFTER_S", 0.0)
    monkeypatch.setattr(planner, "RESTART_GAP", 10.0)
    monkeypatch.setattr(planner, "RESTART_MIN_MODELS", 1)
    monkeypatch.setattr(planner, "POOL_RELAXATION", False)  # a proof beside it would make it "optimal"
    problem = _problem(0, 3, 2, models=3)
    cancel = threading.Event()
    seen: list[str] = []

    def progress(p: Progress) -> None:
        if p.message.startswith("pricing"):
            seen.append(p.message)
            cancel.set()

    res = solve_milp(problem, opts=SolveOptions(progress=progress, cancel=cancel), method="direct")
    if not seen:
        pytest.skip("the first solve ended before the restart")
    assert "(1/3)" in seen[0]
    assert res.status == "cancelled" and res.plan is not None and res.objective > 0


@pytest.mark.parametrize("seed", range(2))
def test_a_seeded_solve_keeps_the_optimum(monkeypatch, seed):
    """Large problems start from a plan over a few configurations per model; the full
    MILP still proves the plain MILP's optimum."""
    import ppipe.planning.planner as planner

    monkeypatch.setattr(planner, "SEED_MIN_CONFIGS", 0)
    monkeypatch.setattr(planner, "SEED_CONFIGS", 3)
    problem = _problem(seed, 3, 2, models=2)
    _, res = _solve_like_plain(problem)
    s = res.stats["seed"]
    assert s["configs"] == [3, 3] and s["start_mapped"]
    assert s["objective"] <= res.objective * (1 + 1e-9)


def test_the_seed_stops_at_a_node_count_so_that_every_machine_gets_the_same_one(monkeypatch):
    """The seed MILP ends at SEED_NODES nodes, not after some seconds: two solves (on a
    machine of any speed) start from the same seed plan and end at the same plan."""
    import ppipe.planning.planner as planner

    monkeypatch.setattr(planner, "SEED_MIN_CONFIGS", 0)
    monkeypatch.setattr(planner, "SEED_NODES", 1)
    monkeypatch.setattr(planner, "POOL_RELAXATION", False)  # its proof could stop the seed first
    problem = _problem(0, 3, 2, models=3)
    runs = [solve_milp(problem, method="direct") for _ in range(2)]
    seeds = [r.stats["seed"] for r in runs]
    assert all(s["status"] == "time_limit" and s["nodes"] == 1 for s in seeds)
    assert seeds[0]["objective"] == seeds[1]["objective"] < runs[0].objective
    assert runs[0].status == runs[1].status == "optimal" and runs[0].plan.to_json() == runs[1].plan.to_json()


def test_a_cancel_while_seeding_returns_the_seed_plan(monkeypatch):
    import threading

    import ppipe.planning.planner as planner
    from ppipe.planning.milp import Progress

    monkeypatch.setattr(planner, "SEED_MIN_CONFIGS", 0)
    cancel = threading.Event()

    def progress(p: Progress) -> None:
        if p.message.startswith("finding a first plan") and p.incumbent:
            cancel.set()

    problem = _problem(1, 3, 2, models=2)
    res = solve_milp(problem, opts=SolveOptions(progress=progress, cancel=cancel), method="direct")
    if not cancel.is_set():
        pytest.skip("the seed MILP reported no plan before it ended")
    assert res.status == "cancelled" and res.plan is not None and res.objective > 0


def test_pool_totals_only_where_sharing_a_type_is_a_real_choice():
    from dataclasses import replace

    import ppipe.planning.planner as planner

    problem = _problem(4, 4, 2, models=2)
    cfgs = [enumerate_configs(problem, d) for d in range(2)]
    assert build_milp(problem, cfgs, problem.max_parts).totals
    c = problem.cluster
    big = replace(problem, cluster=c.with_limits([planner.TOTALS_MAX_GPUS for _ in c.limits]))
    assert build_milp(big, cfgs, big.max_parts).totals == []
    assert build_milp(big, cfgs, big.max_parts, totals=True).totals


# ----------------------------------------------------- the pool relaxation

def _assert_is_a_solution(model, values, tol: float = 1e-6) -> None:
    """``values`` meet every bound, integrality and row of ``model``."""
    for i, v in enumerate(values):
        assert model.lb[i] - tol <= v <= model.ub[i] + tol, model.names[i]
        if model.integer[i]:
            assert abs(v - round(v)) <= tol, model.names[i]
    for idx, val, lo, hi in zip(model.row_idx, model.row_val, model.row_lo, model.row_hi):
        act = sum(values[i] * a for i, a in zip(idx, val))
        assert lo - tol * max(1.0, abs(lo)) <= act <= hi + tol * max(1.0, abs(hi))


@pytest.mark.parametrize("slot_binaries", (False, True))
@pytest.mark.parametrize(("seed", "models", "num_types"), [(0, 2, 3), (1, 2, 4), (2, 3, 3), (3, 2, 4), (5, 3, 4)])
def test_pool_relaxation_bounds_every_plan_and_its_completion_is_one(seed, models, num_types, slot_binaries):
    """The relaxation (whole GPUs per pool, fractional instances; the slot rule relaxed or
    kept) is at least the plain MILP's optimum; the per-model completion on its pools is a
    plan of the MILP that keeps within those pools."""
    problem = _problem(seed, num_types, 2, models=models)
    cfgs = [enumerate_configs(problem, d) for d in range(models)]
    if not all(cfgs):
        pytest.skip("toy SLO infeasible")
    ref = _plain(problem, cfgs)
    relax = build_pool_relaxation(problem, cfgs, problem.max_parts, slot_binaries=slot_binaries)
    bound = solve_model(relax.model, SolveOptions())
    assert bound.status == "optimal" and bound.bound >= ref.objective * (1 - 1e-7)  # row tolerances
    mpm = build_milp(problem, cfgs, problem.max_parts)
    pools = relax.pool_counts(bound.values)
    done = complete_per_model(problem, cfgs, mpm, pools, SolveOptions(), "highs", True)
    assert done is not None
    _assert_is_a_solution(mpm.model, done.values)
    assert done.values[mpm.T] <= ref.objective * (1 + 1e-9)
    for key, z in mpm.z.items():
        assert done.values[z] <= pools.get(key, 0)


# seeds of _problem(seed, 3, 2, models=2) whose relaxation is tight (the completion proves
# the optimum) and not (the MILP proves it, the relaxation only bounds); measured once
PROVED, BOUNDED = (3, 5), (0, 1)


@pytest.mark.parametrize("seed", PROVED + BOUNDED)
def test_the_pool_side_proves_or_bounds_and_the_plan_is_optimal(seed):
    problem = _problem(seed, 3, 2, models=2)
    ref, res = _solve_like_plain(problem, skip_infeasible=False)
    pool = res.stats["pool"]
    assert pool["bound"] >= ref.objective * (1 - 1e-7)
    assert pool["proved"] == (seed in PROVED)
    assert res.bound <= pool["bound"] * (1 + 1e-12)
    _assert_fits_the_fleet(res, problem)


def test_a_failing_pool_side_leaves_the_milp_to_prove(monkeypatch):
    import ppipe.planning.planner as planner

    def broken(*args, **kwargs):
        raise RuntimeError("relaxation exploded")

    monkeypatch.setattr(planner, "_pool_bound", broken)
    problem = _problem(0, 3, 2, models=2)
    res = solve_milp(problem, method="direct")
    assert res.status == "optimal" and res.objective > 0
    assert "relaxation exploded" in res.stats["pool"]["error"] and not res.stats["pool"]["proved"]


@pytest.mark.parametrize("seed", PROVED[:1] + BOUNDED[:1])
def test_the_plan_does_not_depend_on_which_side_finishes_first(seed):
    problem = _problem(seed, 3, 2, models=2)
    a = solve_milp(problem, method="direct")
    b = solve_milp(problem, method="direct")
    assert a.plan.to_json() == b.plan.to_json()


def test_keeps_slot_rule_counts_the_configurations_a_solution_uses():
    problem = _problem(0, 3, 2, models=1)
    cfgs = [enumerate_configs(problem, 0)]
    relax = build_pool_relaxation(problem, cfgs, 2)
    seqs = relax.seqs[0]
    distinct: dict[tuple, int] = {}
    for ci, seq in enumerate(seqs):
        distinct.setdefault(seq, ci)
    under = [ci for seq, ci in distinct.items() if seq[:1] == seqs[0][:1]]
    assert len(under) >= 3, "the toy needs three GPU sequences under one first type"
    values = np.zeros(relax.model.num_vars)
    for ci in under[:3]:  # three sequences under one first type: as many as its slots (|G| = 3)
        values[relax.x[0][ci]] = 1.0
    assert relax.keeps_slot_rule(values, 3, 2)
    twin = next(ci for ci, seq in enumerate(seqs) if ci not in under[:3] and seq in {seqs[u] for u in under[:3]})
    values[relax.x[0][twin]] = 1e-3  # a second configuration in one sequence's only slot
    assert not relax.keeps_slot_rule(values, 3, 2)


def test_a_large_fleet_is_bounded_with_slot_binaries_only():
    """Over TOTALS_MAX_GPUS the side skips whole GPUs per pool (rounding is negligible there)
    and bounds with a binary per configuration; the plan is still the plain MILP's optimum."""
    from dataclasses import replace

    import ppipe.planning.planner as planner

    problem = _problem(1, 3, 2, models=2)
    c = problem.cluster
    big = replace(problem, cluster=c.with_limits([4000 * n for n in c.limits]))
    assert sum(big.cluster.limits) > planner.TOTALS_MAX_GPUS
    ref, res = _solve_like_plain(big, skip_infeasible=False)
    assert res.stats["pool"]["stages"] == 1 and res.stats["pool"]["bound"] >= ref.objective * (1 - 1e-7)


def _run_until_cancelled(opts, started, saw_cancel) -> None:
    """A stand-in for a side's work that would never end by itself: it polls ``opts.cancel``
    like the real solves do, for at most a minute."""
    import threading

    started.set()
    for _ in range(6000):
        if opts.cancel is not None and opts.cancel.is_set():
            saw_cancel.set()
            return
        threading.Event().wait(0.01)


def test_a_cancel_stops_the_pool_side_and_the_solve_returns(monkeypatch):
    """The solve waits for the side (so the plan never depends on which finished first);
    a user's cancel must end that wait."""
    import threading

    import ppipe.planning.planner as planner

    started, saw_cancel = threading.Event(), threading.Event()

    def endless_side(problem, configs, mpm, opts, solver, fallback):
        _run_until_cancelled(opts, started, saw_cancel)
        return planner._PoolBound(None, None, {"stages": 0})

    monkeypatch.setattr(planner, "_pool_bound", endless_side)
    cancel = threading.Event()
    out: dict = {}
    problem = _problem(0, 3, 2, models=2)
    worker = threading.Thread(target=lambda: out.setdefault("res", solve_milp(
        problem, opts=SolveOptions(cancel=cancel), method="direct")))
    worker.start()
    assert started.wait(60)
    cancel.set()
    worker.join(60)
    assert not worker.is_alive() and saw_cancel.is_set()
    assert out["res"].status in ("optimal", "cancelled")


def test_two_threads_making_the_first_highs_keep_stdout(monkeypatch):
    """The first Highs instance is made with fd 1 muted (its banner); the planner makes
    instances in two threads, and a second thread must not save and restore the muted fd.
    The first thread stays muted until the second one saves fd 1 (the race) or, with the
    lock, for a moment while the second waits on it."""
    import os
    import threading

    import highspy

    import ppipe.planning.highs as H

    inside, second_saved = threading.Event(), threading.Event()
    real_highs, real_dup = highspy.Highs, os.dup
    first = threading.current_thread()

    def slow_highs():
        if threading.current_thread() is first:
            inside.set()
            second_saved.wait(2)  # the old code: the second thread dups the muted fd meanwhile
        return real_highs()

    def dup(fd):
        out = real_dup(fd)
        if threading.current_thread() is not first:
            second_saved.set()
        return out

    monkeypatch.setattr(H, "_highs_banner_done", False)
    monkeypatch.setattr(highspy, "Highs", slow_highs)
    monkeypatch.setattr(os, "dup", dup)
    before = os.fstat(1)

    def second():
        inside.wait(10)
        H._new_highs()

    t = threading.Thread(target=second)
    t.start()
    H._new_highs()
    t.join(10)
    after = os.fstat(1)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_a_type_the_fleet_has_none_of_is_left_out_of_the_relaxation():
    from dataclasses import replace

    problem = _problem(1, 3, 2, models=2)
    c = problem.cluster
    none_of_one = replace(problem, cluster=c.with_limits([c.limits[0], 0, c.limits[2]]))
    ref, res = _solve_like_plain(none_of_one, skip_infeasible=False)
    assert "error" not in res.stats["pool"] and res.stats["pool"]["bound"] >= ref.objective * (1 - 1e-7)


def test_a_cancel_returns_even_while_highs_cannot_be_interrupted():
    """HiGHS checks its interrupt callbacks between steps but not inside a MIP's LP solves
    (8 s on the ten zoo models' root): a cancel then leaves the run to finish in the
    background and returns."""
    import threading

    import ppipe.planning.highs as H

    release, cancel = threading.Event(), threading.Event()

    class Stuck:  # a run that ends only when released, whatever the cancel says
        def run(self):
            release.wait(60)
            return "finished"

    class Polite:  # a run that ends at its next check once cancelled
        def run(self):
            cancel.wait(60)
            return "interrupted"

    cancel.set()
    try:
        assert H._run_cancellable(Stuck(), cancel) is H._ABANDONED
    finally:
        release.set()
    assert H._run_cancellable(Polite(), cancel) == "interrupted"

    class Quick:
        def run(self):
            return "done"

    assert H._run_cancellable(Quick(), threading.Event()) == "done"


# seeds of _problem(seed, 3, 2, models=4) whose pool relaxation does not prove the optimum
# (5: pricing each model's rounding brings its bound down to the optimum); measured once
PRICED = (0, 5)


@pytest.mark.parametrize("seed", PRICED)
def test_the_priced_relaxation_bounds_every_plan(seed):
    """The pool relaxation with each model's rounding priced (cost rows at a level) bounds
    every plan at any level: below the optimum, at it, above it (then it is infeasible and
    the level itself is the bound)."""
    from ppipe.planning.planner import priced_search

    problem = _problem(seed, 3, 2, models=4)
    cfgs = [enumerate_configs(problem, d) for d in range(4)]
    ref = _plain(problem, cfgs)
    assert ref.status == "optimal"
    relax = solve_model(build_pool_relaxation(problem, cfgs, problem.max_parts).model, SolveOptions())
    for level in (0.95 * ref.objective, ref.objective, 1.02 * ref.objective):
        found, info = priced_search(problem, cfgs, level, SolveOptions(), "highs", True, rounds=1)
        bound = found.bound
        assert bound is not None and bound >= ref.objective * (1 - 1e-7) and found.rounds == 1
        assert bound <= max(level, relax.bound) * (1 + 1e-7)
        assert info["level"] == level and info["bound"] == bound
    if seed == 5:  # tight here: the relaxation alone is 1% above
        assert relax.bound > ref.objective * 1.005
        found, _ = priced_search(problem, cfgs, ref.objective, SolveOptions(), "highs", True, rounds=1)
        assert found.bound == pytest.approx(ref.objective, rel=1e-6)


def test_the_priced_stage_tightens_the_bound_and_keeps_the_plan(monkeypatch):
    """Beside a MILP that has not finished, the priced stage's bound becomes the solve's
    (here the optimum's: the plan is reported optimal with it), and the plan is the MILP's."""
    import threading

    import ppipe.planning.planner as planner

    sides = []
    real_side, real_solves = planner._PoolSide, planner._direct_solves

    class Side(real_side):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            sides.append(self)

    def solves_then_wait(*args, **kwargs):  # the MILP "runs" until the priced stage is done
        out = real_solves(*args, **kwargs)
        for _ in range(6000):
            if "priced" in sides[0].info and "bound" in sides[0].info["priced"]:
                break
            threading.Event().wait(0.01)
        return out

    monkeypatch.setattr(planner, "_PoolSide", Side)
    monkeypatch.setattr(planner, "_direct_solves", solves_then_wait)
    problem = _problem(5, 3, 2, models=4)
    # the plain MILP over the pruned configurations (over every one it takes 25 s here; the
    # pruning's exactness has tests of its own)
    ref = _plain(problem, [enumerate_configs(problem, d) for d in range(4)])
    res = solve_milp(problem, method="direct")
    assert ref.status == res.status == "optimal" and res.objective == pytest.approx(ref.objective, rel=1e-6)
    pool = res.stats["pool"]
    assert not pool["proved"] and pool["bound"] > ref.objective * 1.005
    assert pool["priced"]["bound"] == pytest.approx(ref.objective, rel=1e-6)
    assert pool["priced"]["waited"] is False  # it only bounds: the MILP did not wait for it
    assert res.bound == pytest.approx(ref.objective, rel=1e-6)
    monkeypatch.setattr(planner, "POOL_RELAXATION", False)
    assert solve_milp(problem, method="direct").plan.to_json() == res.plan.to_json()


def test_the_priced_stage_stops_when_the_milp_is_done(monkeypatch):
    """The priced stage only bounds: once the MILP is done the solve stops it, not waits."""
    import threading

    import ppipe.planning.planner as planner

    started, saw_stop = threading.Event(), threading.Event()

    def endless(problem, configs, level, opts, solver, fallback, rounds=None, note=None):
        assert rounds == 1  # a problem this small: the bound only
        _run_until_cancelled(opts, started, saw_stop)
        return None, {"level": level}

    monkeypatch.setattr(planner, "priced_search", endless)
    res = solve_milp(_problem(3, 3, 2, models=4), method="direct")
    assert res.status == "optimal" and started.is_set() and saw_stop.is_set()
    assert "bound" not in res.stats["pool"].get("priced", {})


@pytest.mark.parametrize("seed", PRICED)
def test_the_priced_search_finds_and_proves_the_optimum(seed, monkeypatch):
    """Cut model by model (logic-based Benders), the priced relaxation ends at the plain
    MILP's optimum: its bound never below it, its plan (each model alone on the GPUs it is
    given) a solution of the full MILP at that level."""
    import ppipe.planning.benders as benders
    from ppipe.planning.planner import priced_search

    proofs = []  # T's lower bound in each solve that starts from a plan (the proof after a pricing)
    real = benders.solve_model

    def recording(model, opts, **kwargs):
        if model.start is not None and opts.on_solution is not None:
            proofs.append(model.lb[model.names.index("T")])
        return real(model, opts, **kwargs)

    monkeypatch.setattr(benders, "solve_model", recording)
    problem = _problem(seed, 3, 2, models=4)
    cfgs = [enumerate_configs(problem, d) for d in range(4)]
    ref = _plain(problem, cfgs)
    notes = []
    found, info = priced_search(problem, cfgs, 0.97 * ref.objective, SolveOptions(), "highs", True,
                                note=lambda *args: notes.append(args))
    assert found.proved and info["proved"] and info["rounds"] == found.rounds >= 1
    if seed == 0:  # here a plan found during the first solve stops it and reprices above it (seed 5: the
        # solve ends at the node that found it, settled, and its bound proves it)
        assert info["repriced_at"] and all(v > 0.97 * ref.objective for v in info["repriced_at"])
        assert info["started_from_plan"] >= 1  # the solve after a pricing starts from the plan
        assert proofs and all(lb == 0.0 for lb in proofs)  # with T free below it
        assert any(stage.startswith("proving that no plan is above") for _, _, stage in notes)
    # progress: plans only get better and never pass the optimum; bounds never fall below it
    plans = [p for p, _, _ in notes if p is not None]
    assert plans == sorted(plans) and all(p <= ref.objective * (1 + 1e-9) for p in plans)
    assert all(b >= ref.objective * (1 - 1e-7) for _, b, _ in notes if b is not None)
    assert found.bound >= ref.objective * (1 - 1e-7)
    assert found.level == pytest.approx(ref.objective, rel=1e-6)
    mpm = build_milp(problem, cfgs, problem.max_parts)
    done = complete_per_model(problem, cfgs, mpm, None, SolveOptions(), "highs", True, totals=found.totals)
    _assert_is_a_solution(mpm.model, done.values)
    assert done.objective == pytest.approx(found.level, rel=1e-9)
    for d, row in enumerate(found.totals):
        for g, count in enumerate(row):
            assert sum(done.values[z] for key, z in mpm.z.items() if key[0] == d and key[-1] == g) <= count


def test_a_search_that_proves_gives_the_plan_and_the_same_one_each_time(monkeypatch):
    """On the largest problems the side searches until it proves, and the solve waits for
    it: here forced on a small problem whose relaxation alone proves nothing."""
    import ppipe.planning.planner as planner

    monkeypatch.setattr(planner, "SEARCH_MIN_CONFIGS", 0)
    problem = _problem(3, 3, 2, models=4)
    ref, res = _solve_like_plain(problem)
    pool = res.stats["pool"]
    assert pool["priced"]["rounds"] >= 1 and pool["priced"]["proved"] and pool["proved"]
    assert pool["priced"]["waited"] is True
    assert pool["priced"]["plan"] == pytest.approx(ref.objective, rel=1e-6)  # its plan is the one reported
    _assert_fits_the_fleet(res, problem)
    seen = []  # the MILP waits for the search, and progress says what is going on
    again = solve_milp(problem, opts=SolveOptions(progress=seen.append), method="direct")
    assert again.plan.to_json() == res.plan.to_json()
    # the wait reports the search's last stage once it is done, however fast it went (the
    # stages before it may come and go between two reports)
    assert [p for p in seen if p.message][-1].message.startswith("proved, model by model")


@pytest.fixture(scope="module")
def small_milp():
    """A MILP that takes a few dozen nodes, its T, and its optimum (solved once here)."""
    problem = _problem(0, 3, 2, models=3)
    mpm = build_milp(problem, [enumerate_configs(problem, d) for d in range(3)], problem.max_parts, totals=False)
    return mpm.model, mpm.T, solve_model(mpm.model, SolveOptions())


def test_a_copy_of_a_milp_takes_new_rows_and_variables_without_changing_it(small_milp):
    """The search prices a fresh copy of its relaxation each time: rows and variables added to
    the copy must not reach the original, and the copy solves to the same optimum."""
    M, T, full = small_milp
    before = (M.num_vars, M.num_rows, M.ub[T])
    c = M.copy()
    extra = c.var(0, 1, integer=True)
    c.row({T: 1.0, extra: -1.0}, hi=0.0)  # T <= extra <= 1: only plans at T <= 1
    c.ub[T] = 1.0
    assert (M.num_vars, M.num_rows, M.ub[T]) == before and before[2] != 1.0
    assert (c.num_vars, c.num_rows) == (before[0] + 1, before[1] + 1)
    assert solve_model(M.copy(), SolveOptions()).objective == pytest.approx(full.objective, rel=1e-9)


def test_a_node_limit_stops_the_solve_at_the_same_plan_each_time(small_milp):
    """A node limit (the seed plan's) ends a solve the same way on any machine: a limit
    status, few nodes, and the same solution on every run."""
    M, T, full = small_milp
    assert full.status == "optimal" and full.stats["nodes"] > 20
    cut = [solve_model(M, SolveOptions(node_limit=2)) for _ in range(2)]
    assert all(r.status == "time_limit" and r.has_solution and r.stats["nodes"] <= 5 for r in cut)
    assert np.array_equal(cut[0].values, cut[1].values)
    assert cut[0].values[T] <= full.objective * (1 + 1e-9)


def test_on_solution_sees_each_better_solution_and_can_stop_the_solve(small_milp):
    """The benders search checks the relaxation's solutions as they come and stops its solve
    on one that is a plan: the solve ends cancelled, keeping the last solution it showed."""
    M, T, full = small_milp
    seen = []

    def stop_on_a_plan(values) -> bool:
        seen.append(values.copy())
        return values[T] > 0

    res = solve_model(M, SolveOptions(on_solution=stop_on_a_plan))
    assert res.status == "cancelled" and res.has_solution and seen[-1][T] > 0
    assert res.objective == pytest.approx(seen[-1][T], rel=1e-9)
    assert res.objective < full.objective


def test_settled_solutions_wait_for_their_node_to_end():
    """With ``settle_solutions`` a solution reaches ``on_solution`` only once the search has
    left the node that found it; a better one from the same node replaces it, and the last
    is passed when the solve ends. Without it, each at once."""
    from ppipe.planning.milp import SettledSolutions

    seen = []
    settled = SettledSolutions(SolveOptions(on_solution=lambda v: seen.append(float(v[0])) or v[0] >= 9,
                                            settle_solutions=True))
    assert not settled.found(np.array([1.0]), 5) and not settled.found(np.array([2.0]), 5)
    assert not settled.at_node(5) and seen == []  # still at node 5
    assert not settled.at_node(6) and seen == [2.0]  # 1.0 was replaced at its own node
    assert not settled.at_node(7) and seen == [2.0]  # nothing waits
    settled.found(np.array([3.0]), 8)
    settled.finish()
    assert seen == [2.0, 3.0]
    settled.found(np.array([9.0]), 9)
    assert settled.at_node(10) and seen == [2.0, 3.0, 9.0]  # on_solution's "stop" comes back
    at_once = SettledSolutions(SolveOptions(on_solution=lambda v: seen.append(float(v[0])) or False))
    assert not at_once.found(np.array([4.0]), 11) and seen[-1] == 4.0

    def broken(values) -> bool:
        raise RuntimeError("check failed")

    failing = SettledSolutions(SolveOptions(on_solution=broken, settle_solutions=True))
    failing.found(np.array([1.0]), 0)
    assert failing.at_node(1) and isinstance(failing.failed[0], RuntimeError)


def test_a_settled_solve_shows_fewer_solutions_and_ends_on_the_optimum(small_milp):
    """In HiGHS: with ``settle_solutions`` the solutions shown are some of those shown at once,
    in the same order, and the last is the optimum (passed when the solve ends)."""
    M, T, full = small_milp
    plain, settled = [], []
    solve_model(M, SolveOptions(on_solution=lambda v: plain.append(float(v[T])) or False))
    res = solve_model(M, SolveOptions(on_solution=lambda v: settled.append(float(v[T])) or False,
                                      settle_solutions=True))
    assert res.status == "optimal" and settled and settled[-1] == pytest.approx(full.objective, rel=1e-9)
    assert settled == [v for v in plain if v in settled] and len(settled) < len(plain)


def test_an_error_in_on_solution_is_raised_not_reported_as_infeasible(small_milp):
    """A check that fails inside the solver's callback must not end the solve as
    "infeasible" (the search would then take the level as a bound on every plan)."""
    M, _T, _full = small_milp

    def broken(values) -> bool:
        raise RuntimeError("check failed")

    with pytest.raises(RuntimeError, match="check failed"):
        solve_model(M, SolveOptions(on_solution=broken))


def test_probing_off_changes_nothing_but_time(small_milp):
    """Presolve probing off (the search's checks) is the same MILP: the same optimum."""
    M, _T, full = small_milp
    res = solve_model(M, SolveOptions(probing=False))
    assert res.status == "optimal" and res.objective == pytest.approx(full.objective, rel=1e-6)


def test_a_heuristic_effort_reaches_the_solver_and_changes_nothing_but_the_search(small_milp, monkeypatch):
    """The seed plan's heuristic effort is HiGHS's mip_heuristic_effort (the default
    otherwise), and the same MILP: the same optimum."""
    import ppipe.planning.highs as highs

    made = []
    plain = highs.new_highs

    def recording(threads=None):
        h = plain(threads)
        made.append(h)
        return h

    monkeypatch.setattr(highs, "new_highs", recording)
    M, _T, full = small_milp
    res = solve_model(M, SolveOptions(heuristic_effort=0.4))
    assert res.status == "optimal" and res.objective == pytest.approx(full.objective, rel=1e-6)
    assert made[-1].getOptionValue("mip_heuristic_effort")[1] == pytest.approx(0.4)
    from ppipe.planning.milp import MilpModel

    tiny = MilpModel("tiny")
    tiny.objective({tiny.var(0, 3, integer=True): 1.0}, maximize=True)
    assert solve_model(tiny, SolveOptions()).objective == pytest.approx(3.0)
    assert made[-1].getOptionValue("mip_heuristic_effort")[1] == pytest.approx(0.05)  # untouched otherwise


@pytest.mark.parametrize("seed", [0, 3])
def test_a_models_level_at_least_a_target_is_a_true_lower_bound(seed):
    """The search checks whether a model alone on some GPUs reaches a level: with a target
    the check may stop at the first plan that reaches it (a lower bound on its exact level),
    and below the target it is exact. Only the configurations that fit those GPUs are in
    the model's MILP."""
    from ppipe.planning.planner import model_alone, model_level, usable_configs

    problem = _problem(seed, 3, 2, models=2)
    cfgs = enumerate_configs(problem, 0)
    totals = [max(1, n // 3) for n in problem.cluster.limits]
    totals[-1] = 0  # one type missing: its configurations cannot run here
    exact = model_level(problem, cfgs, 0, totals, SolveOptions(), "highs", True)
    assert exact is not None and exact > 0
    kept = usable_configs(cfgs, totals)
    assert 0 < len(kept) < len(cfgs) and all(all(st.gpu != len(totals) - 1 for st in cfgs[i].stages) for i in kept)
    assert len(model_alone(problem, 0, cfgs, totals).x[0]) == len(kept)
    low = model_level(problem, cfgs, 0, totals, SolveOptions(), "highs", True, at_least=0.5 * exact)
    assert 0.5 * exact <= low <= exact * (1 + 1e-9)
    above = model_level(problem, cfgs, 0, totals, SolveOptions(), "highs", True, at_least=1.5 * exact)
    assert above == pytest.approx(exact, rel=1e-9)  # short of the target: the exact level


def test_a_pick_fits_the_fleet_and_hopes_for_as_few_unchecked_allocations_as_it_can():
    """The search's pick: one allocation per model reaching the target, together within the
    fleet; allocations only hoped for (not checked yet) are taken only where no checked
    one fits, so each pick's checks are few."""
    from ppipe.planning.benders import pick_allocations

    known = {(0, (1, 0)): 5.0, (0, (2, 0)): 9.0, (1, (0, 1)): 5.0, (1, (1, 1)): 3.0}
    opts = SolveOptions()
    assert pick_allocations(known, 2, [1, 1], 4.0, opts, "highs", True) == [(1, 0), (0, 1)]
    assert pick_allocations(known, 2, [1, 1], 6.0, opts, "highs", True) is None  # model 1 never reaches 6
    assert pick_allocations(known, 2, [2, 1], 6.0, opts, "highs", True) is None
    hoped = {(0, (0, 1)), (1, (1, 0))}
    both = {**known, **{key: float("inf") for key in hoped}}
    # either way fits; the checked allocations win
    assert pick_allocations(both, 2, [1, 1], 4.0, opts, "highs", True, hoped=hoped) == [(1, 0), (0, 1)]
    # model 0's checked allocations no longer fit beside model 1's: one hope is needed
    assert pick_allocations(both, 2, [0, 2], 4.0, opts, "highs", True, hoped=hoped) == [(0, 1), (0, 1)]


@pytest.mark.parametrize("seed", range(3))
def test_model_costs_restricted_by_one_pipelines_cost_are_the_full_milps(seed):
    """Each model's cost is its MILP's over every configuration, though only those a plan
    cheaper than one pipeline's can use are in it; and one pipeline's cost is one a plan
    of the model really spends (its GPUs serve the level)."""
    from ppipe.planning.planner import model_alone, model_costs, model_level
    from ppipe.planning.restart import fleet_prices, single_pipeline_cost

    problem = _problem(seed, 3, 2, models=3)
    cfgs = [enumerate_configs(problem, d) for d in range(3)]
    if not all(cfgs):
        pytest.skip("toy SLO infeasible")
    weights = [m.weight for m in problem.models]
    _ub, pi, mu = fleet_prices(cfgs, weights, problem.cluster.limits)
    mpm = build_milp(problem, cfgs, problem.max_parts)
    level = 0.97 * float(solve_model(mpm.model, SolveOptions()).values[mpm.T])
    costs = model_costs(problem, cfgs, pi, mu, level, SolveOptions(mip_rel_gap=0.0), "highs", True)
    for d in range(3):
        one = model_alone(problem, d, cfgs[d], totals=False, slots=False)
        one.model.lb[one.T] = weights[d] * level * (1 - 1e-9)
        one.model.objective({z: float(pi[key[-1]]) for key, z in one.z.items()}, maximize=False)
        full = solve_model(one.model, SolveOptions(mip_rel_gap=0.0))
        assert costs[d] == pytest.approx(full.objective, rel=1e-6)
        ceiling = single_pipeline_cost(cfgs[d], weights[d] * level, pi, problem.cluster.limits)
        assert ceiling >= costs[d] * (1 - 1e-9)
        # the cheapest single pipeline's GPUs, as an allocation, serve the level
        best = min((c for c in cfgs[d]), key=lambda c: sum(
            pi[st.gpu] * np.ceil(np.ceil(weights[d] * level / st.xput - 1e-9) / st.k - 1e-9) for st in c.stages))
        gpus = [0] * len(problem.cluster.limits)
        for st in best.stages:
            gpus[st.gpu] += int(np.ceil(np.ceil(weights[d] * level / st.xput - 1e-9) / st.k - 1e-9))
        if all(n <= cap for n, cap in zip(gpus, problem.cluster.limits)):
            assert float(np.dot(pi, gpus)) == pytest.approx(ceiling)
            assert model_level(problem, cfgs[d], d, gpus, SolveOptions(), "highs", True) >= level * (1 - 1e-9)


def test_levels_implied_by_checked_ones_need_no_check():
    """A model never serves less on more GPUs: a level that reaches the target on fewer GPUs
    of every type says it is reached, an exact one below it on more says it is not, and
    nothing else says anything (a level only known to be at least something says nothing
    of allocations below it)."""
    from ppipe.planning.benders import implied_level

    known = {(0, (2, 1)): 7.0, (0, (1, 3)): 4.0, (0, (3, 3)): 9.5}
    exact = {(0, (1, 3)), (0, (3, 3))}
    allocations = [u for _d, u in known]
    assert implied_level(0, allocations, known, exact, (2, 2), 6.0) == 7.0  # more than (2, 1)
    assert implied_level(0, allocations, known, exact, (1, 2), 6.0) == 4.0  # less than (1, 3), exact
    assert implied_level(0, allocations, known, exact, (1, 2), 3.0) is None  # 4.0 reaches 3: says nothing
    assert implied_level(0, allocations, known, exact, (3, 0), 6.0) is None
    # (2, 1) is only known to reach 7 (not exact): it says nothing of (2, 0) against 8
    assert implied_level(0, allocations, known, {(0, (1, 3))}, (2, 0), 8.0) is None
    assert implied_level(0, allocations, known, exact, (2, 0), 8.0) is None
    # 9.5 on more GPUs reaches 9 but says nothing of fewer
    assert implied_level(0, allocations, known, exact, (3, 2), 9.0) is None


def test_a_level_implied_from_above_is_never_taken_for_a_plans(monkeypatch):
    """``implied_level``'s "short" answer is an upper bound, not a level: the search's plan
    must still serve exactly what it says. Here every short answer is as loose as it may be
    (just below the target, from the true level): before the fix the search took one for a
    model's level and reported a plan at 638.23 whose GPUs serve 577.40 (G1 on four types:
    2,114.15 for 2,101.75)."""
    import ppipe.planning.benders as benders
    from ppipe.planning.planner import model_level, priced_search

    problem = _problem(3, 3, 2, models=4)
    cfgs = [enumerate_configs(problem, d) for d in range(4)]
    levels, short = {}, []

    def loose(d, allocations, known, exact, u, at_least):
        if (d, u) not in levels:
            levels[(d, u)] = model_level(problem, cfgs[d], d, list(u), SolveOptions(), "highs", True)
        if levels[(d, u)] >= at_least:
            return None
        short.append((d, u))
        return max(levels[(d, u)], at_least * (1 - 1e-7))  # still below at_least: a true upper bound

    monkeypatch.setattr(benders, "implied_level", loose)
    ref = _plain(problem, cfgs)
    found, _ = priced_search(problem, cfgs, 0.97 * ref.objective, SolveOptions(), "highs", True)
    assert short  # the loose answers were used
    assert found.proved and found.level == pytest.approx(ref.objective, rel=1e-6)
    mpm = build_milp(problem, cfgs, problem.max_parts)
    done = complete_per_model(problem, cfgs, mpm, None, SolveOptions(), "highs", True, totals=found.totals)
    assert done.objective == pytest.approx(found.level, rel=1e-9)


def test_a_model_whose_least_plan_serves_a_higher_level_is_not_priced_again(monkeypatch):
    """The search reprices just above its plan: a model whose least plan at the first level
    already serves the new one costs what it did (no MILP), and every cost is the one a
    fresh pricing gives."""
    import ppipe.planning.planner as planner
    from ppipe.planning.restart import fleet_prices

    problem = _problem(0, 3, 2, models=3)
    cfgs = [enumerate_configs(problem, d) for d in range(3)]
    weights = [m.weight for m in problem.models]
    _ub, pi, mu = fleet_prices(cfgs, weights, problem.cluster.limits)
    mpm = build_milp(problem, cfgs, problem.max_parts)
    level = 0.97 * float(solve_model(mpm.model, SolveOptions()).values[mpm.T])
    memo: dict = {}
    planner.model_costs(problem, cfgs, pi, mu, level, SolveOptions(), "highs", True, memo=memo)
    assert sorted(memo) == [0, 1, 2]
    for d, [(at, _cost, serves)] in memo.items():
        assert at == level and serves >= weights[d] * level * (1 - 1e-9)
    higher = level * (1 + 1e-6)
    reached = [d for d, [(_at, _cost, serves)] in memo.items() if serves >= weights[d] * higher]
    assert reached  # the toy's least plans round up: some serve more than the level
    solves = []
    plain = planner.solve_model
    monkeypatch.setattr(planner, "solve_model", lambda *a, **k: solves.append(1) or plain(*a, **k))
    again = planner.model_costs(problem, cfgs, pi, mu, higher, SolveOptions(), "highs", True, memo=memo)
    assert len(solves) == 3 - len(reached)
    fresh = planner.model_costs(problem, cfgs, pi, mu, higher, SolveOptions(), "highs", True)
    assert again == pytest.approx(fresh, rel=1e-6)


def test_a_search_cancelled_before_its_proof_keeps_its_best_plan(monkeypatch):
    """A cancel after the search found a plan better than the seed's (forced on a small
    problem: the cancel comes as the search reports that plan) returns that plan, complete
    and within the fleet, not the seed's."""
    import threading

    import ppipe.planning.planner as planner

    monkeypatch.setattr(planner, "SEARCH_MIN_CONFIGS", 0)
    monkeypatch.setattr(planner, "SEED_MIN_CONFIGS", 0)
    cancel = threading.Event()
    plain = planner._PoolSide._note

    def note(self, plan, bound, stage):
        plain(self, plan, bound, stage)
        if plan is not None and plan > (self._seed_level or 0.0) * (1 + 1e-6):
            cancel.set()

    monkeypatch.setattr(planner._PoolSide, "_note", note)
    problem = _problem(3, 3, 2, models=4)
    res = solve_milp(problem, opts=SolveOptions(cancel=cancel), method="direct")
    assert cancel.is_set() and res.status == "cancelled"
    priced = res.stats["pool"]["priced"]
    assert not priced["proved"] and priced["plan"] > res.stats["seed"]["objective"] * (1 + 1e-6)
    assert res.objective == pytest.approx(priced["plan"], rel=1e-9)
    assert res.bound >= res.objective
    _assert_fits_the_fleet(res, problem)
    # the MILP never ran past the seed: its seconds are the seed's, counted once
    assert res.stats["solver_seconds"] == pytest.approx(res.stats["seed"]["seconds"])


def test_a_restricted_plan_reaches_its_target_over_the_configurations_given():
    """``restricted_plan``: the direct MILP over only some configurations, at a target. Over
    the configurations the plain optimum uses it reaches that optimum, and each model alone
    on the GPUs it returns serves at least the target; above the optimum there is none."""
    from ppipe.planning.planner import model_level, restricted_plan

    problem = _problem(0, 3, 2, models=3)
    cfgs = [enumerate_configs(problem, d) for d in range(3)]
    ref = _plain(problem, cfgs)
    mpm = build_milp(problem, cfgs, problem.max_parts, totals=False)
    used = [[c for c, x in enumerate(xd) if ref.values[x] > 1e-7] for xd in mpm.x]
    target = ref.objective * (1 - 1e-7)
    totals = restricted_plan(problem, cfgs, used, target, SolveOptions(), "highs", True)
    assert totals is not None
    for g, limit in enumerate(problem.cluster.limits):
        assert sum(row[g] for row in totals) <= limit
    for d, row in enumerate(totals):
        assert model_level(problem, cfgs[d], d, row, SolveOptions(), "highs", True) >= target * (1 - 1e-9)
    assert restricted_plan(problem, cfgs, used, ref.objective * 1.001, SolveOptions(), "highs", True) is None
    assert restricted_plan(problem, cfgs, [[], *used[1:]], target, SolveOptions(), "highs", True) is None


def test_the_search_finds_a_plan_over_its_solutions_configurations(monkeypatch):
    """When no allocation next to a solution of the relaxation makes a plan (here no pick
    ever does), the configurations the solutions used so far do: the search still ends at
    the plain MILP's optimum, proven, with a plan from ``restricted``, and tries it only for
    targets above the level priced at."""
    import ppipe.planning.benders as benders
    import ppipe.planning.planner as planner

    monkeypatch.setattr(benders, "pick_allocations", lambda *args, **kwargs: None)
    targets = []
    real = planner.restricted_plan

    def spy(problem, configs, used, target, opts, solver, fallback):
        targets.append(target)
        return real(problem, configs, used, target, opts, solver, fallback)

    monkeypatch.setattr(planner, "restricted_plan", spy)
    problem = _problem(0, 3, 2, models=4)
    cfgs = [enumerate_configs(problem, d) for d in range(4)]
    ref = _plain(problem, cfgs)
    level = 0.97 * ref.objective
    found, info = planner.priced_search(problem, cfgs, level, SolveOptions(), "highs", True)
    assert found.proved and found.level == pytest.approx(ref.objective, rel=1e-6)
    assert info["restricted"] == len(targets) >= 1 and info["restricted_seconds"] > 0
    assert all(t > level for t in targets)
    mpm = build_milp(problem, cfgs, problem.max_parts)
    done = complete_per_model(problem, cfgs, mpm, None, SolveOptions(), "highs", True, totals=found.totals)
    _assert_is_a_solution(mpm.model, done.values)
    assert done.objective == pytest.approx(found.level, rel=1e-9)


def test_allocation_sums_each_models_pools_per_type():
    """``rows.allocation``: a solution's pools, keyed (model, position, type), summed per model
    and type and rounded to whole GPUs (the search and the restricted plan read plans this way)."""
    from ppipe.planning.rows import allocation

    zs = {(0, 0, 1): 0, (0, 1, 1): 1, (1, 0, 0): 2, (1, 1, 2): 3}
    values = [2.0000001, 3.0, 0.9999999, 4.0, 123.0]  # the last: a variable that is not a pool
    assert allocation(zs, values, 2, 3) == [[0, 5, 0], [1, 0, 4]]
