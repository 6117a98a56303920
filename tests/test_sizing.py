"""Sizing (``ppipe.planning.sizing``): the min-cost MILP equals a brute force over fleets
with the planner's own max-min MILP, plans meet their targets, PPipe never costs more
than NP, and bad input fails with one line naming the model or type.

Equivalence argument for the brute force: a purchase vector b is feasible iff the
planner's max-min MILP on limits own + b, with weights = demands and est_xput =
targets (the same configurations, slots over the same offered types, the same
per-(position, type) rounding), reaches min_d throughput_d / demand_d >= 1.
Feasibility is monotone in the fleet (more GPUs only relax the planner's limits),
so the sizing cost C* is the brute-force minimum iff (a) the sized fleet is
feasible and (b) every *maximal* purchase vector costing less than C* (one that
cannot take one more GPU of any type without reaching C*) is infeasible -- every
cheaper vector lies below one of those.
"""

from __future__ import annotations

import itertools
import math
import threading

import numpy as np
import pytest

from ppipe.errors import InputError
from ppipe.planning.milp import SolveOptions
from ppipe.planning.planner import solve_milp
from ppipe.planning.sizing import (
    GpuOffer,
    ModelCheck,
    NoConfiguration,
    build_offers,
    build_sizing_milp,
    compare_sizing,
    make_sizing_problem,
    parse_sweep,
    price_scale,
    size_fleet,
    size_until_verified,
    sweep_sizing,
)
from ppipe.planning.solvers import solve_model
from ppipe.profiles.model import ModelProfile

TYPES = ("A", "B", "C")
EXACT = SolveOptions(mip_rel_gap=1e-9)


def toy_profile(name: str, rng: np.random.Generator, types=TYPES, speeds=None, chunks: int = 4) -> ModelProfile:
    """Chunk latencies growing with batch, MPS splits 1-2; a type's slowness per chunk is
    its ``speeds`` entry times a per-model, per-chunk jitter (so types differ by chunk)."""
    base = rng.uniform(800, 3000, size=chunks)
    speeds = speeds or [1.0] + [float(rng.uniform(0.6, 2.6)) for _ in types[1:]]
    lat = {}
    for g, speed in zip(types, speeds):
        per_chunk = base * speed * rng.uniform(0.7, 1.3, size=chunks) if g != types[0] else base
        lat[g] = {k: np.outer(per_chunk * (1.0 + 0.6 * (k - 1)), 0.55 + 0.45 * np.arange(1, (8 if k == 1 else 4) + 1))
                  for k in (1, 2)}
    return ModelProfile(name=name, cut_bytes=rng.uniform(2e5, 4e6, size=chunks - 1), latency=lat,
                        runtime_us={types[0]: float(base.sum()) * 1.05}, slo_gpu=types[0])


def toy_sizing(seed: int, n_types: int = 2, n_models: int = 2, own=True, caps=True, own_cost=False):
    """Types priced about in proportion to their speed (so mixes compete), targets that
    need a handful of GPUs, some owned GPUs and caps."""
    rng = np.random.default_rng([seed, 7])
    types = TYPES[:n_types]
    speeds = [1.0] + [float(rng.uniform(0.5, 2.2)) for _ in types[1:]]
    profs = [toy_profile(f"m{i}", rng, types, speeds) for i in range(n_models)]
    offers = []
    for g, speed in zip(types, speeds):
        price = round(float(rng.uniform(0.8, 1.25)) / speed, 2)
        o = int(rng.integers(0, 3)) if own else 0
        cap = int(rng.integers(2, 6)) if caps and rng.random() < 0.5 else None
        oc = round(float(rng.uniform(0.1, 1.5)) * price, 2) if own_cost and o else 0.0
        offers.append(GpuOffer(g, own=o, price=price, cap=cap, own_cost=oc, mps_levels=2, gpus_per_server=2))
    targets = [float(rng.uniform(300, 1200)) for _ in profs]
    headroom = [float(rng.choice([0.0, 0.1, 0.25])) for _ in profs]
    return make_sizing_problem(profs, targets, offers, 10.0, headroom=headroom, max_parts=2)


def planner_feasible(sp, scheduler: str, fleet: list[int]) -> bool:
    """The planner's max-min MILP on ``fleet`` meets every demand."""
    if sum(fleet) == 0:
        return False
    pp = sp.planning_problem(scheduler, limits=fleet)
    res = solve_milp(pp, "np" if scheduler == "np" else "ppipe", opts=EXACT)
    return res.objective is not None and res.objective >= 1 - 1e-7


def brute_force_check(sp, scheduler: str, res) -> int:
    """(a) and (b) of the module docstring; returns how many planner solves it took."""
    solves = 0
    fleet = [res.fleet[g] for g in sp.gpus]
    assert planner_feasible(sp, scheduler, fleet)
    solves += 1
    # items: (type index, $/h, most units); owned GPUs with a cost are items too
    base = [0 if o.own_cost > 0 else o.own for o in sp.offers]
    items = []
    for g, o in enumerate(sp.offers):
        if o.own_cost > 0 and o.own:
            items.append((g, o.own_cost, o.own))
        if o.buyable:
            ub = math.floor(res.cost / o.price + 1e-9) if o.price > 0 else 0
            items.append((g, o.price, ub if o.cap is None else min(ub, o.cap)))
    for vec in itertools.product(*[range(ub + 1) for _, _, ub in items]):
        cost = sum(v * p for v, (_, p, _) in zip(vec, items))
        if cost >= res.cost - 1e-9:
            continue
        if any(v + 1 <= ub and cost + p < res.cost - 1e-9 for v, (_, p, ub) in zip(vec, items)):
            continue  # not maximal
        f = list(base)
        for v, (g, _, _) in zip(vec, items):
            f[g] += v
        assert not planner_feasible(sp, scheduler, f), (vec, cost, res.cost)
        solves += 1
    return solves


# ----------------------------------------------------------------- exactness

CASES = [
    (1, 2, 1, {}), (2, 2, 2, {}), (3, 3, 1, {}), (9, 2, 3, {}), (5, 3, 2, {}),
    (6, 2, 2, {"own": False, "caps": False}), (7, 3, 2, {"own": False, "caps": False}),
    (8, 2, 2, {"own_cost": True}),
]


@pytest.mark.parametrize("seed, n_types, n_models, kw", CASES)
def test_sizing_equals_brute_force_over_fleets(seed, n_types, n_models, kw):
    sp = toy_sizing(seed, n_types, n_models, **kw)
    res = size_fleet(sp, "ppipe")
    if res.status == "infeasible":
        # then no fleet within the caps works: the largest one fails
        lim = [o.own + (o.cap if o.buyable else 0) for o in sp.offers]
        assert all(o.cap is not None or not o.buyable for o in sp.offers)
        assert not planner_feasible(sp, "ppipe", lim)
        return
    assert res.status == "optimal" and res.gap == 0.0
    # the cost is what the fleet says
    assert res.cost == pytest.approx(sum(o.price * res.buy[o.gpu] for o in sp.offers if o.buyable)
                                     + sum(o.own_cost * res.own_used[o.gpu] for o in sp.offers))
    for o in sp.offers:
        assert 0 <= res.buy[o.gpu] <= (o.cap if o.cap is not None else 10**9)
        assert res.buy[o.gpu] == 0 or o.buyable
        assert res.own_used[o.gpu] <= o.own
    brute_force_check(sp, "ppipe", res)
    # the plan meets every demand, within the fleet, and PPipe never costs more than NP
    assert res.margin >= 1 - 1e-6
    for x, dmd in zip(res.throughputs, res.demands):
        assert x >= dmd * (1 - 1e-6)
    for g, used in res.plan.gpus_used().items():
        assert used <= res.fleet[g] + 1e-9
    try:
        np_res = size_fleet(sp, "np", replan=False)
    except NoConfiguration:
        return
    if np_res.cost is not None:
        assert res.cost <= np_res.cost + 1e-9


@pytest.mark.parametrize("seed", [2, 12])
def test_np_sizing_equals_brute_force(seed):
    sp = toy_sizing(seed, 2, 2)
    try:
        res = size_fleet(sp, "np", replan=False)
    except NoConfiguration:
        pytest.skip("no NP pipeline meets the toy SLO")
    if res.cost is None:
        pytest.skip("NP infeasible within the caps")
    brute_force_check(sp, "np", res)
    assert all(p.k == 1 and len(pl.partitions) == 1 for m in res.plan.models for pl in m.pipelines
               for p in pl.partitions)


def test_separable_new_fleet_is_solved_per_model_with_the_joint_optimum():
    sp = toy_sizing(7, 3, 3, own=False, caps=False)
    res = size_fleet(sp, "ppipe", replan=False)
    assert res.stats["separable"] is True
    pp = sp.planning_problem("ppipe")
    from ppipe.planning.configs import enumerate_configs

    configs = [enumerate_configs(pp, d) for d in range(len(pp.models))]
    sm = build_sizing_milp(sp, pp, configs)
    joint = solve_model(sm.model, SolveOptions(mip_rel_gap=0.0))
    assert joint.objective / sm.scale == pytest.approx(res.cost, abs=1e-9)


def test_ppipe_never_costs_more_than_np_and_cheapest_single_type():
    for seed in (21, 22, 23):
        sp = toy_sizing(seed, 3, 2, own=False, caps=False)
        cmp = compare_sizing(sp)
        p, n, s = (cmp.results[k] for k in ("ppipe", "np", "np-cheapest"))
        if n.cost is not None:
            assert p.cost <= n.cost + 1e-9
            assert cmp.saving("np") >= -1e-12
        if s.cost is not None and n.cost is not None:
            assert n.cost <= s.cost + 1e-9
            single = s.stats["single_type"]
            assert [g for g, v in s.buy.items() if v] in ([single], [])


def test_derived_bounds_are_finite_without_caps():
    sp = toy_sizing(6, 2, 2, own=False, caps=False)
    pp = sp.planning_problem("ppipe")
    from ppipe.planning.configs import enumerate_configs

    sm = build_sizing_milp(sp, pp, [enumerate_configs(pp, d) for d in range(2)])
    assert all(math.isfinite(u) for u in sm.model.ub)
    res = size_fleet(sp, "ppipe", replan=False)
    for g, b in res.buy.items():
        assert b <= sm.bounds["type_bound"][g]


def test_deterministic():
    a = size_fleet(toy_sizing(3, 3, 1), "ppipe")
    b = size_fleet(toy_sizing(3, 3, 1), "ppipe")
    assert a.buy == b.buy and a.cost == b.cost
    assert a.plan.dumps().split('"mipgap"')[0] == b.plan.dumps().split('"mipgap"')[0]


def test_cancel_and_progress():
    sp = toy_sizing(2, 2, 2)
    ev = threading.Event()
    ev.set()
    res = size_fleet(sp, "ppipe", opts=SolveOptions(cancel=ev))
    assert res.status == "cancelled"
    seen = []
    res = size_fleet(sp, "ppipe", opts=SolveOptions(progress=seen.append), replan=False)
    assert res.cost is not None and seen


def test_sweep_costs_and_parse():
    assert parse_sweep("0.5:2.0:0.25") == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert parse_sweep("1,2") == [1.0, 2.0]
    for bad in ("2:1:0.5", "a:b:c", "0:1:0.1", "1:2"):
        with pytest.raises(InputError):
            parse_sweep(bad)
    sp = toy_sizing(6, 2, 1, own=False, caps=False)
    pts = sweep_sizing(sp, [0.5, 1.0], ("ppipe", "np"))
    assert [p.factor for p in pts] == [0.5, 1.0]
    assert pts[1].total_rate == pytest.approx(sum(sp.targets))
    one = size_fleet(sp, "ppipe", replan=False)
    assert pts[1].results["ppipe"].cost == pytest.approx(one.cost)


# ----------------------------------------------------------------- the verify loop (stub check)

def test_verify_loop_raises_headroom_of_failing_models_only():
    sp = toy_sizing(6, 2, 2, own=False, caps=False)
    calls = []

    def check(plan, current):
        calls.append(list(current.headroom))
        return [ModelCheck(m.name, t, 100, 0.0, 0.0, 1.0, passed=(d == 1 or h >= 0.5))
                for d, (m, t, h) in enumerate(zip(plan.models, current.targets, current.headroom))]

    v = size_until_verified(sp, check, step=0.25, max_rounds=6)
    assert v.passed and len(v.rounds) == len(calls) >= 2
    assert v.headroom[0] >= 0.5 and v.headroom[1] == sp.headroom[1]
    assert v.raised == ["m0"]
    # each raise asks for more than the failed plan gave that model
    for r0, r1 in zip(v.rounds, v.rounds[1:]):
        assert r1.headroom[0] > r0.result.throughputs[0] / sp.targets[0] - 1
    never = size_until_verified(sp, lambda plan, cur: [ModelCheck(m.name, 1, 1, 1.0, 0.0, 0.0, False)
                                                        for m in plan.models], step=0.1, max_rounds=2)
    assert not never.passed and len(never.rounds) == 2 and "m0" in never.message


# ----------------------------------------------------------------- prices, offers, bad input

def test_price_scale_is_exact():
    assert price_scale([0.526, 3.06, 0.8048]) == 10_000
    assert price_scale([1.0, 2.0]) == 1
    assert price_scale([0.1234567891]) == 10**6


def test_catalog_prices_and_user_override(tmp_path, monkeypatch):
    from ppipe.catalog.gpus import GpuCatalog

    cat = GpuCatalog.load()
    for g in ("V100", "T4", "L4", "P4", "A10", "A100", "L40S", "H100"):
        t = cat.get(g)
        assert t.price_per_hour and t.price_per_hour > 0 and t.price_source
        assert any(p in t.price_source for p in ("AWS", "GCP")) and "20" in t.price_source
    home = tmp_path / "home"
    home.mkdir()
    (home / "gpus.json").write_text('{"gpus": [{"name": "T4", "price_per_hour": 0.35, "price_source": "mine"},'
                                    ' {"name": "L4", "price_per_hour": null}]}')
    monkeypatch.setenv("PPIPE_HOME", str(home))
    cat = GpuCatalog.load()
    assert cat.price("T4") == 0.35 and cat.get("T4").price_source == "mine" and cat.get("T4").mps_levels == 4
    assert cat.price("L4") is None
    with pytest.raises(InputError, match="L4"):
        build_offers({}, {"L4": None}, catalog=cat)
    offers = build_offers({"L4": 3}, {"T4": 5}, catalog=cat)  # owned without a price: fine (sunk)
    assert offers[0].gpu == "L4" and offers[0].own == 3 and not offers[0].buyable
    assert offers[1].price == 0.35 and offers[1].cap == 5
    with pytest.raises(InputError, match="L4"):
        build_offers({"L4": 3}, {"T4": 5}, new_fleet=True, catalog=cat)  # the whole fleet needs L4's price


def test_build_offers_costs():
    offers = build_offers({"L4": 2}, {"T4": None, "L4": 4}, prices={"T4": 0.35})
    assert [o.gpu for o in offers] == ["L4", "T4"]
    assert offers[0].own_cost == 0 and offers[1].price == 0.35 and offers[1].price_source == "given"
    nf = build_offers({"L4": 2}, {"T4": None}, new_fleet=True)
    assert nf[0].own_cost == pytest.approx(0.8048)
    oc = build_offers({"L4": 2}, {"T4": None}, own_cost={"L4": 0.1})
    assert oc[0].own_cost == 0.1
    assert build_offers({"L4": 2}, {"T4": None}, own_cost="catalog")[0].own_cost == pytest.approx(0.8048)
    with pytest.raises(InputError, match="FOO"):
        build_offers({}, {"FOO": None})
    with pytest.raises(InputError, match="A10"):
        build_offers({}, {"T4": None}, prices={"A10": 1.0})


def test_bad_input_names_the_model_or_type():
    rng = np.random.default_rng(0)
    profs = [toy_profile("alpha", rng, ("A", "B")), toy_profile("beta", rng, ("A", "B"))]
    offers = [GpuOffer("A", price=1.0), GpuOffer("B", own=2)]
    with pytest.raises(InputError, match="beta"):
        make_sizing_problem(profs, [100, -5], offers, 10.0)
    with pytest.raises(InputError, match="alpha"):
        make_sizing_problem(profs, [float("nan"), 5], offers, 10.0)
    with pytest.raises(InputError, match="beta"):
        make_sizing_problem(profs, [100, 100], offers, 10.0, headroom=[0.1, -0.2])
    with pytest.raises(InputError, match="C"):
        make_sizing_problem(profs, [100, 100], offers + [GpuOffer("C", price=1.0)], 10.0)
    with pytest.raises(InputError):
        make_sizing_problem(profs, [100], offers, 10.0)
    # a target no pipeline can serve within the SLO
    tight = make_sizing_problem(profs, [100, 100], offers, 10.0, slo_multiplier=0.2)
    with pytest.raises(NoConfiguration, match="alpha"):
        size_fleet(tight, "ppipe")
    # nothing to buy and too few owned: infeasible, a result rather than an error
    few = make_sizing_problem(profs, [5000, 5000], [GpuOffer("A", own=1), GpuOffer("B", own=1)], 10.0)
    res = size_fleet(few, "ppipe")
    assert res.status == "infeasible" and res.cost is None and "cannot be met" in res.message


def test_owned_gpus_dearer_than_new_ones_may_stay_idle():
    from dataclasses import replace

    sp = toy_sizing(31, 2, 2, own_cost=True)
    sp = replace(sp, offers=tuple(replace(o, own=3, own_cost=round(o.price * 1.5, 2), cap=None) for o in sp.offers))
    res = size_fleet(sp, "ppipe", replan=False)
    assert res.status == "optimal" and sum(res.own_used.values()) < 6
    brute_force_check(sp, "ppipe", res)


def test_max_parts_is_checked_only_where_the_user_gave_it():
    """The default (2) is capped by the enumeration, so a one-chunk model sizes as before;
    a -P the user gave must be between 1 and the models' chunks (as `ppipe solve`)."""
    from types import SimpleNamespace

    from ppipe.planning.problem import check_max_parts

    one = [SimpleNamespace(num_chunks=1)]
    check_max_parts(None, one)
    check_max_parts(1, one)
    with pytest.raises(InputError, match="at most 1 chunks"):
        check_max_parts(2, one)
    with pytest.raises(InputError, match="got 0"):
        check_max_parts(0, one)
