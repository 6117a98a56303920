"""Logic-based Benders on the priced pool relaxation: exact where the MILP is too big.

Why: on the ten zoo models on eight types the direct MILP does not finish its root in a
minute, while the pool relaxation with each model's rounding priced
(:func:`ppipe.planning.planner.priced_search`) bounds every plan closely (1797.26). What it
lacks is whole instances. They are checked model by model: the relaxation gives each model
whole GPUs of each type, and a small MILP (the model alone on those GPUs,
:func:`ppipe.planning.planner.model_level`) says exactly what it serves there.

- When it falls short, the direct MILP over only the configurations the relaxation's
  solutions used so far (``restricted``: whole instances, a few configurations per model,
  about a second) may make a plan; failing that, next to the solution's allocation (a short
  model with one GPU more of a type, a model with room with one fewer), allocations are
  checked the same way, and one per model is picked so that together they fit the fleet
  (:func:`pick_allocations`).
  Allocations that reach the bound make a plan at the bound: the optimum, proven.
- Otherwise each short model gets a cut, and the relaxation is solved again:

      T <= V_d(U) + (top - V_d(U)) * sum_g delta_dg,   delta_dg = 1 only if u_dg >= U_g + 1

  where ``U`` is what it was given and ``V_d(U)`` its exact level there: with no more GPUs
  of any type than ``U`` it can serve no more, so the cut keeps every plan.

- The relaxation's solutions are checked this way as it finds them; one that makes a plan
  stops it, and it is priced again just above that plan (``reprice`` in :func:`benders`).

Measured on the ten zoo models (priced at the seed's 1,793.26): the relaxation's first
solution above the seed's level (at 1,797.26, 14 s into its solve) made a plan there over its
configurations (0.2 s; 14 checks in all), and priced just above it, the relaxation proves
that nothing is above it (18.5 s): proven, the search 40-45 s. The path matters: with the
other optimal NP plan's throughputs as est_xput, no allocation next to a solution of the first
solve led to a plan, and it took three solves and 936 checks (183 s) to the same optimum; the
solutions' configurations made plans at the second solution (1,796.62, 32 s in) and in the next
solve at the optimum (4 s in; that solve then proved it in 52 s): 86 s (164 checks, 3
restricted MILPs, 3.0 s). Cuts alone once took seven
rounds, 470 s. The MILP's best plan after two minutes was 1791.2."""

from __future__ import annotations

import itertools
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from ppipe.planning.milp import MilpModel, SolveOptions
from ppipe.planning.parallel import map_in_threads
from ppipe.planning.pool_relaxation import PoolRelaxation
from ppipe.planning.problem import PlanningProblem
from ppipe.planning.rows import add_cost_rows, allocation
from ppipe.planning.solvers import solve_model
from ppipe.planning.status import Status


@dataclass
class BendersResult:
    bound: float | None  # on every plan (None: the first relaxation did not solve)
    level: float = 0.0  # the best plan found: the least model's exact level
    totals: list[list[int]] | None = None  # that plan's GPUs per model and type
    proved: bool = False
    rounds: int = 0
    cuts: int = 0
    info: dict = field(default_factory=dict)


def benders(problem: PlanningProblem, relax: PoolRelaxation, prices: tuple[np.ndarray, list[float]],
            level: float, top: float, opts: SolveOptions, solver: str, fallback: bool,
            level_of: Callable[[int, list[int], SolveOptions, float | None], float | None],
            rounds: int | None = None, workers: int = 1,
            reprice: Callable[[float], tuple[np.ndarray, list[float]] | None] | None = None,
            note: Callable[[float | None, float | None, str], None] | None = None,
            restricted: Callable[[list[list[int]], float, SolveOptions], list[list[int]] | None] | None = None
            ) -> BendersResult:
    """Solve ``relax`` (a pool relaxation) with its pools priced at ``prices`` (the fleet's
    prices and each model's cost at ``level``, :func:`ppipe.planning.rows.add_cost_rows`: rows
    that hold for every plan at ``T >= level``), and cut it until the best plan it leads to is
    within ``opts.mip_rel_gap`` of its bound, or time runs out. ``top``: a bound on every
    plan (for the cuts' big-M); ``level_of(d, totals, opts, at_least)``: model d's exact level
    alone on ``totals`` (None if its MILP stopped without a plan; with ``at_least``, one that
    reaches it may be a lower bound: :func:`ppipe.planning.planner.model_level`). ``rounds``: at most this
    many solves of the relaxation (one: its bound only, nothing checked). From the second
    round the relaxation's T is capped at its first bound (valid: no plan is above it); on
    the ten zoo models rounds took 23-41 s so, 25-92 s without.

    ``reprice(v)``: the fleet's prices and each model's cost at level ``v`` (rows as
    ``relax`` has at ``level``; None when cancelled). With it, each better solution of the
    relaxation is checked as it is found, and once one is a plan exactly, RETARGET_GAIN
    above the level priced at, the solve stops and the relaxation is priced again just
    above that plan: what is left is to find a better plan or prove there is none, and
    the costs at the higher level prune far more. Measured on the ten zoo models: the
    relaxation at the seed's 1793.26 had the optimum's plan after 16 s and took 104 s more
    to prove it; priced just above it, 35-40 s. That solve is a fresh model (the rows of
    earlier pricings are all weaker) started from the plan, with T free below it: with T
    at least the priced level 53-54 s, at least the plan's 25.6-109.6 s over HiGHS seeds
    0-3, free 18.5-54.1 s.

    ``note(plan, bound, stage)``: told the best plan's level so far (None: none yet), the
    bound on every plan, and what the search does now, as they change (for progress).

    ``restricted(used, target, opts)``: GPUs per model and type of a plan at ``target`` or
    above over only the configurations ``used`` (per model, their indices), or None (see
    ``from_configs`` below)."""
    t0 = time.perf_counter()
    T = relax.T
    base = relax.model.copy()  # the relaxation and its cuts, without cost rows
    G = len(problem.cluster.gpus)
    limits = problem.cluster.limits
    per_type: dict[tuple[int, int], list[int]] = {}
    for (d, _q, g), z in relax.z.items():
        per_type.setdefault((d, g), []).append(z)
    known: dict[tuple[int, tuple[int, ...]], float] = {}
    exact: set[tuple[int, tuple[int, ...]]] = set()  # keys of ``known`` that are exact, not "at least"
    by_model: list[list[tuple[int, ...]]] = [[] for _ in problem.models]  # the allocations in ``known``
    below: dict[tuple[int, tuple[int, ...]], float] = {}  # upper bounds implied without a check
    sizes = [len(relax.x[d]) for d in range(len(problem.models))]  # the largest checks start first
    out = BendersResult(None)
    used: list[set[int]] = [set() for _ in problem.models]  # configurations the relaxation's solutions used
    tried: dict = {"sizes": None, "target": math.inf}  # the last restricted try that found no plan
    spent = {"master_seconds": [], "check_seconds": 0.0, "checks": 0, "pick_seconds": 0.0,
             "restricted_seconds": 0.0, "restricted": 0,
             "reprice_seconds": 0.0, "repriced_at": [], "start_seconds": 0.0,
             "started_from_plan": 0, "implied": 0}
    first_bound: float | None = None
    gap = opts.mip_rel_gap
    priced_at = float(level)  # the relaxation's rows hold for every plan at T >= priced_at

    def exact_levels(wanted: list[tuple[int, tuple[int, ...]]], at_least: float | None = None) -> list[float | None]:
        """Each (model d, allocation u)'s level alone on u, ``workers`` checks at once
        (memoised; None: its check stopped). With ``at_least`` a level that reaches it may
        be only a lower bound (a check stops at its first plan that reaches it: on the ten
        zoo models a model given one GPU more took up to 18 s to prove how far above it
        went); one below it is exact, or, when :func:`implied_level` says so without a
        check, an upper bound (then it is not memoised)."""
        def settled(key) -> bool:
            return key in exact or (key in known and at_least is not None and known[key] >= at_least)

        def remember(key, v: float) -> None:
            if key not in known:
                by_model[key[0]].append(key[1])
            known[key] = v

        found: dict[tuple[int, tuple[int, ...]], float] = {}
        todo = []
        for key in sorted({key for key in wanted if not settled(key)}):
            implied = None if at_least is None else implied_level(key[0], by_model[key[0]], known, exact, key[1], at_least)
            if implied is None:
                todo.append(key)
                continue
            spent["implied"] += 1
            if implied >= at_least:  # a lower bound that reaches it: as a check that stopped there
                remember(key, implied)
            else:
                found[key] = below[key] = min(implied, below.get(key, math.inf))
        t1 = time.perf_counter()
        levels = map_in_threads(lambda key: level_of(key[0], list(key[1]),
                                                     replace(_left_opts(opts, t0), progress=None), at_least),
                                todo, workers, first=lambda key: sizes[key[0]])
        spent["check_seconds"] += time.perf_counter() - t1
        spent["checks"] += len(todo)
        for key, v in zip(todo, levels):
            if v is not None:
                remember(key, v)
                if at_least is None or v < at_least:
                    exact.add(key)
        return [found[key] if key in found else known.get(key) for key in wanted]

    def combine_near(U: list[list[int]], levels: list[float], target: float) -> None:
        """Look for a plan at ``target`` among allocations next to ``U``: a short model with one
        GPU more of some type, a model with room with one fewer, each checked exactly, and
        one allocation per model picked so that together they fit the fleet
        (:func:`pick_allocations`). Measured on the ten zoo models: the first round's
        allocation leaves a few GPUs idle, and one more for each of the two short models
        makes the optimum."""
        for grow in (True, False):
            near = []
            for d, v in enumerate(levels):
                if (v < target) != grow:
                    continue
                for g in range(G):
                    u = list(U[d])
                    u[g] += 1 if grow else -1
                    if 0 <= u[g] <= limits[g] and per_type.get((d, g)):
                        near.append((d, tuple(u)))
            if any(v is None for v in exact_levels(near, target)):
                return
            t1 = time.perf_counter()
            choice = pick_allocations(known, len(problem.models), limits, target,
                                      replace(_left_opts(opts, t0), progress=None), solver, fallback)
            spent["pick_seconds"] += time.perf_counter() - t1
            if choice is not None:
                take(choice)
                return
        trade_near(U, levels, target)

    def take(choice: list[tuple[int, ...]]) -> None:
        """Keep the plan of checked allocations ``choice`` when it is the best so far."""
        found = min(known[(d, tuple(u))] for d, u in enumerate(choice))
        if found > out.level:
            out.level, out.totals = found, [list(u) for u in choice]

    def from_configs(values, target: float) -> None:
        """Look for a plan at ``target`` over the configurations the relaxation's solutions
        used so far (``values``' among them), whole instances and all (``restricted``), and
        check what it gives each model exactly. Only above the level priced at and the best
        plan so far. Tried before the allocations next to the solution's
        (:func:`combine_near`), which take more checks.

        Why: the allocations next to a solution's may all be short while the configurations
        the solutions use are the right ones in other numbers. On the ten zoo models (paths
        in the module docstring) the search with the other est_xput went from 184 s to 86 s,
        and the whole solve with HiGHS seeds 1-3 from 85/246/175 s to 84/78/137 s."""
        for d, xd in enumerate(relax.x):
            used[d].update(c for c, x in enumerate(xd) if float(values[x]) > 1e-7)
        if restricted is None or target <= priced_at * (1 + gap) or out.level >= target:
            return
        sizes = tuple(len(u) for u in used)
        if sizes == tried["sizes"] and target >= tried["target"]:
            return  # nothing new: the same configurations found no plan at a lower target
        t1 = time.perf_counter()
        choice = restricted([sorted(u) for u in used], target, replace(_left_opts(opts, t0), progress=None))
        spent["restricted_seconds"] += time.perf_counter() - t1
        spent["restricted"] += 1
        if choice is None:
            tried.update(sizes=sizes, target=target)
            return
        keys = [(d, tuple(u)) for d, u in enumerate(choice)]
        levels = exact_levels(keys, target)
        if all(v is not None and v >= target for v in levels):
            take([tuple(u) for u in choice])

    def trade_near(U: list[list[int]], levels: list[float], target: float) -> None:
        """Look for a plan at ``target`` among trades next to ``U``: a short model gives up
        GPUs of one type for GPUs of another (one for one, two for one or one for two), a
        model with room the other way round. The short models' trades are all checked; the
        others' only once a pick takes them (the pick over the checked ones and, hoped for,
        the unchecked ones, as few of those as it can; at most TRADE_PICKS picks). Measured
        on the ten zoo models: the relaxation's first solution at the optimum had two short
        models; the optimum has one of them trade a T4 for two P4s, and a model with room
        two P4s for a T4.

        Trades that cannot reach ``target`` are never checked: one whose GPUs cost less
        than the model's cost row asks (at prices and costs that hold at ``target``), and a
        short model's trade when a larger one of the same two types fell short (two for one,
        then one for one, then one for two: each has no more GPUs than the one before).
        Measured there: 429 checks (29.6 s) -> 316 (23.9 s), the first solve 54 s -> 48 s."""
        pi, costs = current["prices"]

        def fits(d: int, u: tuple[int, ...]) -> bool:
            return all(0 <= n <= limits[i] and (n == 0 or per_type.get((d, i))) for i, n in enumerate(u))

        def affordable(d: int, u: tuple[int, ...]) -> bool:
            return target < priced_at or float(np.dot(pi, u)) >= costs[d] * (1 - 1e-9) - 1e-9

        def traded(d: int, g: int, h: int, a: int, b: int) -> tuple[int, ...]:
            u = list(U[d])
            u[g] += a
            u[h] -= b
            return tuple(u)

        room: list[tuple[int, tuple[int, ...]]] = []
        for d, v in enumerate(levels):
            if v >= target:
                room += [(d, u) for g, h in itertools.permutations(range(G), 2) for a, b in TRADES
                         if fits(d, u := traded(d, h, g, b, a)) and affordable(d, u)]
        pairs = [(d, g, h) for d, v in enumerate(levels) if v < target for g, h in itertools.permutations(range(G), 2)]
        for a, b in TRADES:  # each step has no more GPUs than the one before it
            wanted = [(d, traded(d, g, h, a, b)) for d, g, h in pairs]
            # a trade that does not fit says nothing of the smaller ones; one too cheap, or
            # checked and short, rules them out
            skip = [i for i, (d, u) in enumerate(wanted) if not fits(d, u)]
            test = [i for i, (d, u) in enumerate(wanted) if fits(d, u) and affordable(d, u)]
            found = exact_levels([wanted[i] for i in test], target)
            if any(v is None for v in found):
                return
            pairs = [pairs[i] for i in sorted(skip + [i for i, v in zip(test, found) if v >= target])]
        for _ in range(TRADE_PICKS):
            hoped = {key for key in room if key not in known and below.get(key, math.inf) >= target}
            t1 = time.perf_counter()
            choice = pick_allocations({**known, **{key: math.inf for key in hoped}}, len(problem.models), limits,
                                      target, replace(_left_opts(opts, t0), progress=None), solver, fallback,
                                      hoped=hoped)
            spent["pick_seconds"] += time.perf_counter() - t1
            if choice is None:
                return
            unchecked = [(d, u) for d, u in enumerate(choice) if (d, u) not in known]
            if not unchecked:
                take(choice)
                return
            if any(v is None for v in exact_levels(unchecked, target)):
                return

    def tell(stage: str) -> None:
        if note is not None:
            note(out.level if out.totals is not None else None, out.bound, stage)

    realised = {"stop": False}
    current = {"prices": prices}  # the fleet's prices and each model's cost at priced_at

    def priced_model() -> MilpModel:
        """``base`` with the current pricing's cost rows only (an earlier pricing's are all
        weaker): what each solve of the relaxation solves."""
        P = base.copy()
        add_cost_rows(P, T, relax.z, current["prices"][0], current["prices"][1], priced_at)
        return P

    M = priced_model()

    def reached() -> bool:
        """Whether the best plan is within the gap of the bound (the solver's own gap test
        may leave its bound a rounding error above ``priced_at``, the plan's level times 1 + gap)."""
        return out.totals is not None and out.bound is not None and out.level * (1 + gap) >= out.bound * (1 - 1e-12)

    def plan_start(totals: list[list[int]]) -> np.ndarray | None:
        """The plan with ``totals`` GPUs per model and type as a solution of the relaxation (the
        relaxation with each model's pools capped at them; None when it finds none at the
        plan's level)."""
        C = M.copy()
        C.lb[T] = 0.0
        for (d, g), zs in per_type.items():
            C.row({z: 1.0 for z in zs}, hi=float(totals[d][g]))
        t1 = time.perf_counter()
        res = solve_model(C, replace(_left_opts(opts, t0), progress=None, on_solution=None),
                          solver=solver, fallback=fallback)
        spent["start_seconds"] += time.perf_counter() - t1
        if not res.has_solution or float(res.values[T]) < out.level * (1 - 1e-6):
            return None
        return np.asarray(res.values, dtype=float)

    def on_solution(values) -> bool:
        """Check a better solution of the relaxation as it is found; stop the solve once
        it is a plan exactly, RETARGET_GAIN above the level priced at."""
        t_hat = float(values[T])
        if t_hat <= max(out.level, priced_at) * (1 + gap) or (opts.cancel is not None and opts.cancel.is_set()):
            return False
        U = allocation(relax.z, values, len(problem.models), G)
        tell(f"checking a solution of the priced relaxation at {t_hat:,.2f}, model by model")

        def check() -> None:
            keys = [(d, tuple(U[d])) for d in range(len(problem.models))]
            levels = exact_levels(keys, t_hat * (1 - 1e-9))
            if any(v is None for v in levels):
                return
            if min(levels) > out.level:
                # a level implied from above (:func:`implied_level`, not in ``known``) is only an
                # upper bound: the plan's level needs the exact one (G1 on four types once took
                # 2,114.15 so for a plan at 2,101.75)
                missing = [key for key in keys if key not in known]
                if missing and any(v is None for v in exact_levels(missing)):
                    return
                plan = min(known[key] for key in keys)
                if plan > out.level:
                    out.level, out.totals = plan, U
            if out.level < t_hat * (1 - 1e-9):
                from_configs(values, t_hat * (1 - 1e-9))
            if out.level < t_hat * (1 - 1e-9):
                combine_near(U, levels, t_hat * (1 - 1e-9))

        # in a thread of its own: this runs inside the relaxation's solve, and a HiGHS run
        # must not start inside another one's callback on the same thread
        _in_thread(check)
        realised["stop"] = out.level >= t_hat * (1 - 1e-9) and out.level >= priced_at * (1 + RETARGET_GAIN)
        return realised["stop"]

    while True:
        left = _left(opts, t0)
        if left is not None and left <= 0.05 or (opts.cancel is not None and opts.cancel.is_set()):
            break
        realised["stop"] = False
        res = solve_model(M, replace(opts, time_limit=left, progress=None,
                                     on_solution=on_solution if reprice is not None else None,
                                     settle_solutions=True),
                          solver=solver, fallback=fallback)
        spent["master_seconds"].append(res.seconds)
        out.rounds += 1
        if res.status == Status.INFEASIBLE:  # no plan at T >= priced_at: it bounds them all
            out.bound = priced_at if out.bound is None else min(out.bound, priced_at)
            out.proved = reached()
            break
        if res.bound is not None and math.isfinite(res.bound):
            b = max(priced_at, float(res.bound))
            out.bound = b if out.bound is None else min(out.bound, b)
        if reached():
            out.proved = True
            break
        if realised["stop"]:  # stopped on a plan at out.level, exactly: what is left is above it
            tell(f"found a plan at {out.level:,.2f}; pricing each model's rounding just above it")
            t1 = time.perf_counter()
            priced = reprice(out.level * (1 + gap))
            spent["reprice_seconds"] += time.perf_counter() - t1
            if priced is None:
                break
            start = plan_start(out.totals)
            priced_at = out.level * (1 + gap)
            current["prices"] = priced
            M = priced_model()
            if start is not None:
                # T free down to 0, the plan starts the solve: what is left is to close the
                # gap above a known incumbent (below priced_at the rows hold for nothing else,
                # and nothing there beats the start). Why not T >= the plan: far slower, see
                # the figures in benders' docstring
                M.lb[T] = 0.0
                M.start = start
                spent["started_from_plan"] += 1
            spent["repriced_at"].append(priced_at)
            tell(f"proving that no plan is above {out.level:,.2f} (or finding one)")
            continue
        if not res.has_solution or (rounds is not None and out.rounds >= rounds):
            break
        tell(f"checking the priced relaxation's allocation (round {out.rounds}), model by model")
        if first_bound is None and out.bound is not None:
            first_bound = out.bound
            base.ub[T] = first_bound  # valid: no plan is above it (the next solve's model is base's)
        t_hat = float(res.values[T])
        U = allocation(relax.z, res.values, len(problem.models), G)
        levels = exact_levels([(d, tuple(U[d])) for d in range(len(problem.models))])
        if any(v is None for v in levels):
            break
        if min(levels) > out.level:
            out.level, out.totals = min(levels), U
        if out.level < t_hat * (1 - 1e-9):
            from_configs(res.values, t_hat * (1 - 1e-9))
        if out.bound is not None and out.level * (1 + gap) < out.bound:
            combine_near(U, levels, out.bound / (1 + gap))
        if reached():
            out.proved = True
            break
        tell(f"round {out.rounds + 1}: cutting off what the models that fell short were given")
        for d, v in enumerate(levels):
            if v >= t_hat * (1 - 1e-9):
                continue
            deltas: dict[int, float] = {}
            for g in range(G):
                if U[d][g] + 1 <= limits[g] and per_type.get((d, g)):
                    delta = base.var(0, 1, integer=True, name=f"cut[{out.rounds},{d},{g}]")
                    base.row({**{z: 1.0 for z in per_type[(d, g)]}, delta: -(U[d][g] + 1.0)}, lo=0.0)
                    deltas[delta] = max(float(top) - v, 0.0)
            base.row({T: 1.0, **{delta: -big for delta, big in deltas.items()}}, hi=v)
            out.cuts += 1
        M = priced_model()  # the cuts are in base, kept for every later pricing
    if out.proved:
        tell(f"proved, model by model: no plan is above {out.level:,.2f}")
    out = _done(out, t0)
    out.info.update(spent)
    return out


#: A better solution of the relaxation that is a plan exactly stops its solve and reprices
#: it only when it is this far above the level priced at (each repricing starts a fresh
#: solve; a smaller gain is kept as the best plan while the solve goes on). Measured on the
#: ten zoo models at 1e-4 against 1e-3 (whole solve, HiGHS seeds 0-3): 58-63/143/78/135 s
#: against 60/84/78/137 s; at 1e-4 seed 1 stopped at plans 0.07% and 0.08% apart and solved
#: three times instead of once.
RETARGET_GAIN = 1e-3

#: The trades a model may make next to an allocation (``trade_near`` in :func:`benders`):
#: (a, b) is a GPUs of one type for b of another; in this order each has no more GPUs than
#: the one before, so a short model's trade that falls short rules out the ones after it.
TRADES = ((2, 1), (1, 1), (1, 2))
#: Picks over hoped-for trades, each checking the ones it took, before the trades give up.
TRADE_PICKS = 20


def _in_thread(fn):
    """``fn()``, run in a new thread and waited for."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ppipe-check") as pool:
        return pool.submit(fn).result()


def _left(opts: SolveOptions, t0: float) -> float | None:
    return None if opts.time_limit is None else opts.time_limit - (time.perf_counter() - t0)


def _left_opts(opts: SolveOptions, t0: float) -> SolveOptions:
    left = _left(opts, t0)
    return opts if left is None else replace(opts, time_limit=max(left, 1e-3))


def _done(out: BendersResult, t0: float) -> BendersResult:
    out.info = {"rounds": out.rounds, "cuts": out.cuts, "search_seconds": time.perf_counter() - t0,
                "proved": out.proved}
    if out.totals is not None:
        out.info["plan"] = out.level
    if out.bound is not None:
        out.info["bound"] = out.bound
    return out


def implied_level(d: int, allocations: list[tuple[int, ...]], known: dict[tuple[int, tuple[int, ...]], float],
                  exact: set[tuple[int, tuple[int, ...]]], u: tuple[int, ...], at_least: float) -> float | None:
    """What a model's checked levels say of its level on ``u`` against ``at_least``, without a
    check (a model never serves less on more GPUs): a level at least ``at_least`` when it
    reaches it on fewer GPUs of every type (a lower bound), an exact level below it on
    more (an upper bound, below ``at_least``); None when they say nothing. ``allocations``:
    the model's keys in ``known`` (level, exact or at least) and ``exact``, as
    :func:`benders` keeps them.

    Why: next to a short model's allocation, a trade that gains one GPU has no more GPUs
    than the allocation with that GPU added, already checked; next to a model with room,
    one that gives one up has at least as many as the allocation with it taken away."""
    for o in allocations:
        v = known[(d, o)]
        if v >= at_least and all(a <= b for a, b in zip(o, u)):
            return v
        if v < at_least and (d, o) in exact and all(a >= b for a, b in zip(o, u)):
            return v
    return None


def pick_allocations(known: dict[tuple[int, tuple[int, ...]], float], models: int, limits, target: float,
                     opts: SolveOptions, solver: str, fallback: bool,
                     hoped: set[tuple[int, tuple[int, ...]]] | None = None) -> list[tuple[int, ...]] | None:
    """One allocation per model (GPUs per type) whose exact level is at least ``target``,
    together within ``limits``: a small MILP over the least such allocations of each model
    (``known``: (model, allocation) -> exact level). None when there is none. ``hoped``:
    allocations of ``known`` not checked yet; a pick takes as few of them as it can."""
    options: list[list[tuple[int, ...]]] = []
    for d in range(models):
        reach = [u for (dd, u), v in known.items() if dd == d and v >= target]
        least = [u for u in reach if not any(o != u and all(a <= b for a, b in zip(o, u)) for o in reach)]
        if not least:
            return None
        options.append(least)
    M = MilpModel("pick-allocations")
    picks = [[M.var(0, 1, integer=True) for _ in least] for least in options]
    for row in picks:
        M.row({b: 1.0 for b in row}, lo=1.0, hi=1.0)
    for g, cap in enumerate(limits):
        M.row({b: float(u[g]) for row, least in zip(picks, options) for b, u in zip(row, least) if u[g]},
              hi=float(cap))
    M.objective({b: 1.0 for d, (row, least) in enumerate(zip(picks, options)) for b, u in zip(row, least)
                 if hoped and (d, u) in hoped}, maximize=False)
    res = solve_model(M, opts, solver=solver, fallback=fallback)
    if not res.has_solution or res.status != Status.OPTIMAL:
        return None
    return [least[max(range(len(row)), key=lambda i: res.values[row[i]])] for row, least in zip(picks, options)]
