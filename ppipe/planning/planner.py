"""The planners: PPipe's MILP, NP, DART-r and the single-model NP (SPEC 3 and 4).

Each scheduler takes a :class:`~ppipe.planning.problem.PlanningProblem` and returns a
solver-neutral :class:`SolveResult` (status, objective, bound, gap, time,
plan). The MILP is stated over pre-enumerated SLO-feasible pipeline
configurations (:mod:`ppipe.planning.configs`) and solved by any backend in
:mod:`ppipe.planning.solvers`.

MILP (per model d, configuration c with partitions p on GPU type g_p, split k_p):
  y_c in {0,1}  configuration used (at most one pipeline per "slot", see below)
  n_cp in Z+    instances of partition p;  n_cp <= ceil(cap_c / t_cp)
  x_c >= 0      pipeline throughput;       x_c <= t_cp n_cp,  x_c <= cap_c y_c
  z_dqg in Z+   GPUs of type g at position q for model d: 12 z >= sum (12/k) n
  sum_dq z_dqg <= limit[g];  T <= sum_c x_c / w_d;  maximise T.
Slots: the reference gives each model |G|^P slots (type tuples) holding one
configuration that uses a prefix of the tuple; a set of pipelines fits iff for
every type prefix v, #configurations whose sequence starts with v <= |G|^(P-|v|).

Pool totals (issue 14): on fleets up to TOTALS_MAX_GPUS each model's pools are also summed
into integer totals per group of GPU types that HiGHS branches on
(:func:`ppipe.planning.rows.add_allocation_vars`).

Costed restart (issue 14, plans of RESTART_MIN_MODELS models or more): once HiGHS holds a
plan at level V within RESTART_GAP of its bound (after RESTART_AFTER_S), each model's
integer cost at V under the fluid prices is found (:func:`model_costs`, one small MILP per
model), and the MILP is rebuilt for plans at level >= V only: a row per model (its pools
cost at least that), configurations dropped and throughputs capped by each model's loss
budget (:mod:`ppipe.planning.restart`), and solved again from V's plan. Exact: every plan
at least as good survives. 18 models on four types: 60-90 s -> 7-19 s.

Pool relaxation (issue 14): a thread beside the MILP (:class:`_PoolSide`) bounds every plan
with whole GPUs per pool and fractional instances (:mod:`ppipe.planning.pool_relaxation`)
and plans each model alone on that relaxation's pools; a plan at the bound is optimal.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

import numpy as np

from ppipe.errors import InputError
from ppipe.planfile.plan import ModelPlan, Partition, Pipeline, Plan
from ppipe.planning.benders import BendersResult, benders
from ppipe.planning.configs import EnumerationStopped, PipelineConfig, batch_build_us, enumerate_configs
from ppipe.planning.loss_budget import gpu_per_xput, solve_single
from ppipe.planning.milp import MilpModel, MilpResult, Progress, SolveOptions, relative_gap
from ppipe.planning.parallel import default_workers, map_in_threads
from ppipe.planning.pool_relaxation import build_pool_relaxation
from ppipe.planning.problem import PlanningProblem
from ppipe.planning.restart import fleet_prices, model_budgets, restricted, single_pipeline_cost, start_values
from ppipe.planning.results import SolveResult
from ppipe.planning.rows import (
    add_allocation_vars,
    add_cost_rows,
    add_pool_rows,
    add_slot_rows,
    allocation,
    gpu_unit,
    throughput_cap,
)
from ppipe.planning.solvers import solve_model
from ppipe.planning.status import Status

# ------------------------------------------------------------------ helpers

def config_doc(problem: PlanningProblem, d: int, max_parts: int, mps_levels: list[int]) -> dict:
    spec = problem.models[d]
    c = problem.cluster
    return {
        "dnn_name": spec.name, "gpu_name_arr": list(c.gpus), "sla": spec.sla,
        "num_mps_levels": list(mps_levels), "max_num_parts": max_parts, "bs_same": True,
        "transmit_time_us_arr": list(spec.transmit_us), "est_xput": spec.est_xput,
        "batch_build_factor": problem.batch_build_factor, "hist_adjustment": spec.hist_adjustment,
        "hist_adjustment_w_scheduling": 0, "num_gpu_per_server_arr": list(c.gpus_per_server),
        "force_sum_gpu_integer_per_partition": True, "bw_gbps": c.bw_gbps, "runtime_fmt": 1,
    }


def pipeline_from_config(problem: PlanningProblem, d: int, cfg: PipelineConfig, counts: list[int]) -> Pipeline:
    """A plan pipeline of model ``d`` from a configuration and its instance counts per stage."""
    spec = problem.models[d]
    c = problem.cluster
    parts = []
    for st, n in zip(cfg.stages, counts):
        parts.append(Partition(
            dnn=spec.name, layers=[st.start, st.end], gpu=c.gpus[st.gpu], mps=st.k - 1, bs=cfg.batch,
            num_gpu_per_server=c.gpus_per_server[st.gpu], num_gpu=n / st.k, lat_infer=st.lat_infer,
            lat_trans=st.lat_trans, xput=n * st.xput))
    return Pipeline(
        xput=min(p.xput for p in parts), partitions=parts, est_xput=spec.est_xput,
        est_batch_build_lat=batch_build_us(cfg.batch, spec.est_xput, problem.batch_build_factor),
        batch_build_factor=problem.batch_build_factor, hist_adjustment=spec.hist_adjustment,
        hist_adjustment_w_scheduling=0)


def mps_levels_of(problem: PlanningProblem) -> list[int]:
    """The MPS levels a plan's config records: 1 everywhere for whole-GPU problems."""
    return [1] * len(problem.cluster.gpus) if problem.whole_gpus_only else list(problem.cluster.mps_levels)


def objective_of(problem: PlanningProblem, xputs: list[float]) -> float:
    return min(x / m.weight for x, m in zip(xputs, problem.models))


def _infeasible(problem: PlanningProblem, scheduler: str, solver: str, message: str, t0: float) -> SolveResult:
    return SolveResult(status=Status.INFEASIBLE, solve_seconds=time.perf_counter() - t0, scheduler=scheduler,
                       solver=solver, message=message)


# ------------------------------------------------------------------ the MILP

@dataclass
class MilpPlanModel:
    model: MilpModel
    configs: list[list[PipelineConfig]]
    y: list[list[int]]
    n: list[list[list[int]]]
    x: list[list[int]]
    T: int
    z: dict = field(default_factory=dict)  # (model, position, type) -> pool GPU count variable
    unit: int = 12
    totals: list = field(default_factory=list)  # (variable, pools it sums): rows.add_allocation_vars

    def fill_totals(self, values: np.ndarray) -> np.ndarray:
        """``values`` with every pool total set from its pools (for a start solution)."""
        for v, members in self.totals:
            values[v] = sum(values[z] for z in members)
        return values


def build_milp(problem: PlanningProblem, configs: list[list[PipelineConfig]], max_parts: int,
               slots: bool = True, xcaps: list[list[float]] | None = None,
               budget_row: tuple | None = None, totals: bool | None = None,
               cost_rows: tuple | None = None) -> MilpPlanModel:
    """The MILP over configurations; ``slots=False`` drops the one-pipeline-per-slot
    rows and the binaries (a relaxation, used to bound and to test). ``xcaps`` caps each
    configuration's throughput (and so its instance counts); ``budget_row = (pi, mu, B)``
    adds ``sum pi_g z_dqg - sum mu_d x_c <= B`` (both from :mod:`ppipe.planning.restart`).
    ``totals`` adds each model's integer pool totals for branching (``False``: the plain
    MILP, which tests compare against; ``None``: on fleets of up to TOTALS_MAX_GPUS, where
    how the models share a type is a real choice; on 100,000 GPUs they cost 1.9x). ``cost_rows = (pi, costs, level)`` keeps only plans
    at ``T >= level`` and adds ``sum pi_g z_dqg >= costs[d]`` per model (see :func:`model_costs`)."""
    c = problem.cluster
    G = len(c.gpus)
    M = MilpModel("ppipe")
    T = M.var(0.0, name="T")
    ys, ns, xs = [], [], []
    usage: dict[tuple[int, int, int], list[tuple[int, float]]] = {}
    unit = gpu_unit(cfg for cfgs in configs for cfg in cfgs)
    for d, (spec, cfgs) in enumerate(zip(problem.models, configs)):
        yd, nd, xd = [], [], []
        for ci, cfg in enumerate(cfgs):
            y = M.var(0, 1, integer=True, name=f"y[{d},{ci}]") if slots else None
            x = M.var(0.0, name=f"x[{d},{ci}]")
            # Throughput cap: all GPUs of each type it uses (ignoring rounding); instances
            # beyond what the cap needs are never useful, so their bounds can shrink too.
            cap = throughput_cap(cfg, c.limits)
            if xcaps is not None:
                cap = min(cap, xcaps[d][ci])
            ncs = []
            for q, st in enumerate(cfg.stages):
                nmax = min(c.limits[st.gpu] * st.k, math.ceil(cap / st.xput - 1e-9))
                # No row ties n to y: instances of an unused configuration earn nothing
                # (x <= cap y), so an optimum never needs them and the plan skips them;
                # without those rows HiGHS is 1.5-2x faster (G1 on four types, zoo 3 on eight).
                n = M.var(0, nmax, integer=True, name=f"n[{d},{ci},{q}]")
                M.row({x: 1.0, n: -st.xput}, hi=0.0)
                usage.setdefault((d, q, st.gpu), []).append((n, unit // st.k))
                ncs.append(n)
            if slots:
                M.row({x: 1.0, y: -cap}, hi=0.0)
            else:
                M.ub[x] = cap
            yd.append(y)
            xd.append(x)
            nd.append(ncs)
        ys.append(yd)
        ns.append(nd)
        xs.append(xd)
        # T <= sum x / w
        M.row({T: 1.0, **{x: -1.0 / spec.weight for x in xd}}, hi=0.0)
        if slots:
            add_slot_rows(M, [(cfg.gpu_seq, y) for cfg, y in zip(cfgs, yd)], G, max_parts)
    zs = add_pool_rows(M, usage, c.limits, unit)
    if totals is None:
        totals = sum(c.limits) <= TOTALS_MAX_GPUS
    sums = add_allocation_vars(M, zs, c.limits) if totals else []
    if budget_row is not None:
        pi, mu, budget = budget_row
        row = {z: float(pi[key[-1]]) for key, z in zs.items()}
        for d, xd in enumerate(xs):
            for x in xd:
                row[x] = -float(mu[d])
        M.row(row, hi=float(budget))
    if cost_rows is not None:
        add_cost_rows(M, T, zs, *cost_rows)
    M.objective({T: 1.0}, maximize=True)
    return MilpPlanModel(M, configs, ys, ns, xs, T, zs, unit, sums)


def _plan_from_solution(problem: PlanningProblem, mpm: MilpPlanModel, res: MilpResult, max_parts: int,
                        mps_levels: list[int]) -> Plan:
    vals = res.values
    models = []
    for d, cfgs in enumerate(mpm.configs):
        pipes = []
        for ci, cfg in enumerate(cfgs):
            counts = [int(round(vals[n])) for n in mpm.n[d][ci]]
            y = mpm.y[d][ci]
            if (y is not None and vals[y] < 0.5) or min(counts) <= 0:
                continue
            pipes.append(pipeline_from_config(problem, d, cfg, counts))
        xput = sum(p.xput for p in pipes)
        models.append(ModelPlan(xput=xput, config=config_doc(problem, d, max_parts, mps_levels),
                                sla=problem.models[d].sla, pipelines=pipes))
    return Plan(models)


#: Pool totals (:func:`ppipe.planning.rows.add_allocation_vars`) only on fleets up to this
#: many GPUs: beyond, each type is shared in thousands and branching on totals only slows
#: the root (G1 on HC2 x1000: 3.1-3.6 s with them, 1.6-1.9 s without).
TOTALS_MAX_GPUS = 10_000


METHODS = ("auto", "direct", "loss-budget")


def pick_method(problem: PlanningProblem, method: str = "auto") -> str:
    """``auto``: the loss-budget search for one model with P >= 3 (thousands of
    near-equal configurations, where the direct MILP proves optimality slowly),
    the direct MILP otherwise."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r} (use {', '.join(METHODS)})")
    if method == "auto":
        return "loss-budget" if len(problem.models) == 1 and problem.max_parts >= 3 else "direct"
    if method == "loss-budget" and len(problem.models) != 1:
        raise InputError("the loss-budget method plans one model at a time")
    return method


def _solve_loss_budget(problem: PlanningProblem, configs: list[PipelineConfig], scheduler: str, solver: str,
                       opts: SolveOptions, fallback: bool, on_message, mps_levels: list[int],
                       t0: float, enum_stats: dict) -> SolveResult | None:
    spec = problem.models[0]
    w = spec.weight
    progress = opts.progress
    if progress is not None:
        def scaled(p: Progress) -> None:
            progress(Progress(None if p.incumbent is None else p.incumbent / w,
                              None if p.bound is None else p.bound / w, p.gap, p.elapsed, p.message))
        opts = replace(opts, progress=scaled)
    lb = solve_single(configs, problem.cluster.limits, problem.max_parts, opts, solver, fallback, on_message)
    if lb is None:
        return None
    res = lb.result
    solver_seconds = sum(r["seconds"] for r in res.stats.get("rounds", []))
    # build: fluid LP, items and their reduced-cost LPs (everything but enumeration and MILPs)
    stats = dict(res.stats, configs=[len(configs)], method="loss-budget", solver_seconds=solver_seconds,
                 build_seconds=time.perf_counter() - t0 - enum_stats["enumerate_seconds"] - solver_seconds,
                 **enum_stats)
    bound = None if res.bound is None else res.bound / w
    if res.objective is None:
        return SolveResult(status=res.status if res.status != Status.OPTIMAL else Status.ERROR, bound=bound,
                           solve_seconds=time.perf_counter() - t0, scheduler=scheduler, solver=res.solver,
                           message=res.message, stats=stats)
    pipes = [pipeline_from_config(problem, 0, configs[ci], counts) for ci, counts in sorted(lb.counts.items())]
    xput = sum(p.xput for p in pipes)
    plan = Plan([ModelPlan(xput=xput, config=config_doc(problem, 0, problem.max_parts, mps_levels),
                           sla=spec.sla, pipelines=pipes)])
    objective = xput / w
    if objective <= 0:
        return SolveResult(status=Status.INFEASIBLE, objective=0.0, bound=bound,
                           solve_seconds=time.perf_counter() - t0, scheduler=scheduler, solver=res.solver,
                           message=f"no GPUs can serve {spec.name} within the SLO", stats=stats)
    bound = max(bound, objective) if bound is not None else None
    return SolveResult(status=res.status, objective=objective, bound=bound, gap=relative_gap(objective, bound),
                       solve_seconds=time.perf_counter() - t0, plan=plan, scheduler=scheduler, solver=res.solver,
                       message=res.message, stats=stats)


def _enumerate(problem: PlanningProblem, opts: SolveOptions,
               t0: float) -> tuple[list[list[PipelineConfig]], dict] | Status:
    """Every model's configurations, stoppable by the cancel event and the time limit
    (the limit covers the whole solve), with progress; a Status when stopped."""
    deadline = None if opts.time_limit is None else t0 + opts.time_limit
    last = [0.0]

    def should_stop() -> bool:
        if opts.cancel is not None and opts.cancel.is_set():
            return True
        return deadline is not None and time.perf_counter() > deadline

    def report(d: int, enumerated: int, kept: int) -> None:
        now = time.perf_counter()
        if opts.progress is not None and now - last[0] >= 0.2:
            last[0] = now
            opts.progress(Progress(None, None, None, now - t0,
                                   f"configurations of {problem.models[d].name}: {enumerated:,} enumerated, "
                                   f"{kept:,} kept"))

    configs, counts = [], []
    t1 = time.perf_counter()
    try:
        for d in range(len(problem.models)):
            seen = [0, 0]

            def progress(enumerated: int, kept: int, d=d, seen=seen) -> None:
                seen[0], seen[1] = enumerated, kept
                report(d, enumerated, kept)

            configs.append(enumerate_configs(problem, d, should_stop=should_stop, on_progress=progress))
            counts.append(seen[0])
    except EnumerationStopped:
        return Status.CANCELLED if opts.cancel is not None and opts.cancel.is_set() else Status.TIME_LIMIT
    return configs, {"configs_enumerated": counts, "enumerate_seconds": time.perf_counter() - t1}


def _remaining(opts: SolveOptions, t0: float) -> SolveOptions:
    """Options whose time limit is what is left of the whole solve's."""
    if opts.time_limit is None:
        return opts
    return replace(opts, time_limit=max(opts.time_limit - (time.perf_counter() - t0), 1e-3))


def solve_milp(problem: PlanningProblem, scheduler: str = "ppipe", solver: str = "highs",
               opts: SolveOptions | None = None, fallback: bool = True,
               on_message: Optional[Callable[[str], None]] = None, method: str = "auto") -> SolveResult:
    """Solve the (PPipe) MILP for ``problem`` as stated (P, MPS levels, est_xput).

    ``method`` picks the direct MILP or the exact loss-budget search
    (:mod:`ppipe.planning.loss_budget`); both return a proven optimum."""
    opts = opts or SolveOptions()
    t0 = time.perf_counter()
    method = pick_method(problem, method)
    max_parts = problem.max_parts
    mps_levels = mps_levels_of(problem)
    enumerated = _enumerate(problem, opts, t0)
    if isinstance(enumerated, Status):
        return SolveResult(status=enumerated, solve_seconds=time.perf_counter() - t0, scheduler=scheduler,
                           solver=solver, message=("cancelled" if enumerated == Status.CANCELLED else
                                                   "time limit reached") + " while enumerating configurations")
    configs, enum_stats = enumerated
    whole_opts, opts = opts, _remaining(opts, t0)
    for spec, cfgs in zip(problem.models, configs):
        if not cfgs:
            return _infeasible(problem, scheduler, solver,
                               f"no pipeline of {spec.name} meets its SLO of {spec.sla / 1000:.1f} ms on "
                               f"{', '.join(problem.cluster.gpus)}", t0)
    if method == "loss-budget":
        out = _solve_loss_budget(problem, configs[0], scheduler, solver, opts, fallback, on_message, mps_levels, t0,
                                 enum_stats)
        if out is not None:
            return out
    mpm = build_milp(problem, configs, max_parts)
    full = mpm
    extra: dict = {}
    side = _PoolSide(problem, configs, mpm, whole_opts, t0, solver, fallback) if POOL_RELAXATION else None
    try:
        mpm, res, solver_seconds = _direct_solves(problem, configs, mpm, opts, whole_opts, t0, solver, fallback,
                                                  on_message, side, extra)
    except BaseException:
        if side is not None:
            side.stop()
        raise
    if side is not None:
        mpm, res = side.settle(full, mpm, res)
        extra["pool"] = side.info
    stats = dict(res.stats, configs=[len(c) for c in mpm.configs], method="direct", solver_seconds=solver_seconds,
                 build_seconds=time.perf_counter() - t0 - solver_seconds - enum_stats["enumerate_seconds"],
                 **extra, **enum_stats)
    if res.has_solution and problem.fill_leftover and len(problem.models) > 1 and res.status != Status.CANCELLED:
        res = _fill_leftover(problem, mpm, res, whole_opts, solver, fallback, t0)
        stats["filled"] = True
    if not res.has_solution:
        status = res.status if res.status != Status.OPTIMAL else Status.ERROR
        return SolveResult(status=status, bound=res.bound, solve_seconds=time.perf_counter() - t0,
                           scheduler=scheduler, solver=res.solver, message=res.message, stats=stats)
    plan = _plan_from_solution(problem, mpm, res, max_parts, mps_levels)
    objective = objective_of(problem, [m.xput for m in plan.models])
    if objective <= 0 and res.status != Status.OPTIMAL:
        # stopped (time limit, cancel) before a plan that serves every model: not a proof of anything
        why = "time limit" if res.status == Status.TIME_LIMIT else str(res.status)
        return SolveResult(status=res.status, bound=res.bound, solve_seconds=time.perf_counter() - t0,
                           scheduler=scheduler, solver=res.solver, stats=stats,
                           message=f"stopped ({why}) before finding a plan that serves every model")
    if objective <= 0:
        starved = [m.name for m in plan.models if m.xput <= 0]
        return SolveResult(status=Status.INFEASIBLE, objective=0.0, bound=res.bound,
                           solve_seconds=time.perf_counter() - t0, scheduler=scheduler, solver=res.solver,
                           message=f"no GPUs can serve {', '.join(starved)} within the SLO", stats=stats)
    return SolveResult(status=res.status, objective=objective, bound=res.bound, gap=res.gap,
                       solve_seconds=time.perf_counter() - t0, plan=plan, scheduler=scheduler, solver=res.solver,
                       message=res.message, stats=stats)


def _direct_solves(problem: PlanningProblem, configs: list[list[PipelineConfig]], mpm: MilpPlanModel,
                   opts: SolveOptions, whole_opts: SolveOptions, t0: float, solver: str, fallback: bool,
                   on_message, side: "_PoolSide | None", extra: dict) -> tuple[MilpPlanModel, MilpResult, float]:
    """The direct MILP's solves: the seed plan, the first solve, the priced restart's rounds.
    Returns the model and result to read the plan from, and the seconds spent solving."""
    seeded = None
    signal = threading.Event()

    def watched(o: SolveOptions) -> SolveOptions:
        return o if side is None else side.watch(o)

    def proved() -> bool:
        return side is not None and side.proved.is_set()

    def cancelled() -> bool:
        return opts.cancel is not None and opts.cancel.is_set()

    if sum(len(c) for c in configs) >= SEED_MIN_CONFIGS:
        seeded = _seed_plan(problem, configs, mpm, watched(opts), solver, fallback)
        if seeded is not None:
            extra["seed"] = seeded[2]
            mpm.model.start = seeded[3]
    seed_level = None if seeded is None else seeded[2]["objective"]
    if side is not None:
        side.seeded(seed_level)
        if side.search:
            side.wait(opts.progress, opts.cancel, t0, seed_level)
    first_seconds = 0.0  # the first solve's (the seed's result, when it stands in for it, is counted once)
    if seeded is not None and (proved() or cancelled()):
        # stopped while seeding: its plan is the best so far (the pool side's may replace it);
        # the seed MILP's bound covers only its few configurations
        mpm, res = seeded[0], replace(seeded[1], status=Status.CANCELLED if cancelled() else seeded[1].status,
                                      bound=None, gap=None)
    else:
        first_opts = watched(_remaining(whole_opts, t0))
        if sum(problem.cluster.limits) <= RESTART_MAX_GPUS and len(problem.models) >= RESTART_MIN_MODELS:
            first_opts = replace(first_opts, cancel=_EitherEvent(first_opts.cancel, signal),
                                 progress=_restart_watch(first_opts.progress, signal))
        res = solve_model(mpm.model, first_opts, solver=solver, fallback=fallback, on_fallback=on_message)
        first_seconds = res.seconds
        if seeded is not None and not res.has_solution and seeded[1].has_solution:
            mpm, res = seeded[0], replace(seeded[1], status=res.status, bound=res.bound, gap=None)
    solver_seconds = first_seconds + (extra["seed"]["seconds"] if "seed" in extra else 0.0)
    rounds = 0
    while signal.is_set() and not proved() and not cancelled() and res.has_solution:
        # each round prices at the best plan so far; all but the last may be cut short by a
        # clearly better plan (RESTART_GAIN), which prices tighter
        rounds += 1
        signal = threading.Event() if rounds < RESTART_ROUNDS else None
        mpm, res, restart_info = _restart(problem, mpm.configs, mpm, res, watched(_remaining(whole_opts, t0)),
                                          solver, fallback, on_message, signal)
        extra.update(restart_info, restarts=rounds)
        solver_seconds += restart_info.get("restart", {}).get("seconds", 0.0)
        if signal is None:
            break
    return mpm, res, solver_seconds


#: The direct MILP restarts, priced against its best plan (:func:`_restart`), once it has
#: run RESTART_AFTER_S with a plan within RESTART_GAP of its bound, or RESTART_ANYWAY_S
#: with any plan (a better plan prices tighter: 18 models restarted at 5% below the
#: optimum finish in 10 s, at 11% in 37 s, not restarted in 60-90 s).
RESTART_AFTER_S = 2.0
RESTART_ANYWAY_S = 8.0
RESTART_GAP = 0.10
#: A restarted solve is restarted again, priced at its better plan, when that plan is this
#: much above the level it was priced at (at most RESTART_ROUNDS rounds in all).
RESTART_GAIN = 0.005
RESTART_ROUNDS = 3
#: Only fleets up to this many GPUs restart: on larger ones rounding costs a negligible
#: share, the fluid bound is nearly tight and the first solve ends soon anyway.
RESTART_MAX_GPUS = 10_000
#: Only plans of this many models or more restart. With few models the per-model costs
#: leave most of the gap (it is in how the models share the types) and the restart costs
#: more than it saves (G1 on four types 7 s -> 9 s, zoo 3 on eight 4 s -> 7 s); with many,
#: each model's own rounding adds up and the costed restart closes fast (18 models: 60 s -> 12 s).
RESTART_MIN_MODELS = 4
#: Problems with this many configurations or more first find a plan over a few per model
#: (:func:`_seed_plan`): SEED_CONFIGS each, for at most SEED_NODES branch-and-bound nodes,
#: a limit that stops it at the same plan on any machine. Its 10 s time limit did not: the
#: ten zoo models' seed was 1791.17 or 1791.87 depending on the machine's load, and the
#: search then proved the optimum in 55 s or ran past 300 s. 14,000 nodes: 9-16 s here, a
#: plan at 1793.26. With SEED_HEURISTIC_EFFORT (HiGHS's default 0.05: 1793.26 after 11-13 s)
#: the same plan comes at 3,000 nodes (5.1 s); 4,000 nodes, 6.8 s (the very same level at 2,500,
#: 3,000 and 4,000 nodes, so what follows is the same solve). SEED_LIMIT_S (or a tenth of
#: the limit) only guards against a machine far slower than this one.
SEED_MIN_CONFIGS = 3000
SEED_CONFIGS = 10
SEED_NODES = 3_000
SEED_HEURISTIC_EFFORT = 0.2
SEED_LIMIT_S = 60.0
#: Time limit of each per-model cost MILP (its bound is used when it stops), and of them all.
MODEL_COST_LIMIT_S = 5.0
COST_PHASE_LIMIT_S = 20.0


#: The pool relaxation (:mod:`ppipe.planning.pool_relaxation`) runs at most this long (or a
#: third of the time left; its bound holds wherever it stops), and its completion this long.
POOL_RELAX_LIMIT_S = 30.0
COMPLETION_LIMIT_S = 10.0
#: The stage with slot binaries only runs on problems of at most this many configurations:
#: it is quick there (0.1-1 s on G1..G6 and HC2) but the 18 models (1,311) took 20 s, while
#: their MILP, waiting for it, was done in 8 s.
SLOT_STAGE_MAX_CONFIGS = 1000


@dataclass
class _PoolBound:
    bound: float | None  # the relaxation's bound on every plan (None: none found)
    result: MilpResult | None  # the completion: a plan, on the direct MILP's variables
    info: dict


def _pool_bound(problem: PlanningProblem, configs: list[list[PipelineConfig]], mpm: MilpPlanModel,
                opts: SolveOptions, solver: str, fallback: bool) -> _PoolBound:
    """Bound every plan by the pool relaxation, then look for a plan at that bound with each
    pool's GPUs fixed at the relaxation's (:mod:`ppipe.planning.pool_relaxation`).

    Two stages: the slot rule relaxed, then, when that relaxation's plan breaks the slot
    rule, with a binary per configuration (tighter there: G1 on HC2, 100 GPUs, 2139.8 ->
    2106.9, the optimum, in 0.2 s), on up to SLOT_STAGE_MAX_CONFIGS configurations. On
    fleets over TOTALS_MAX_GPUS whole GPUs per pool hardly bound anything, so only the
    second stage runs, without pool totals."""
    t0 = time.perf_counter()
    small = sum(problem.cluster.limits) <= TOTALS_MAX_GPUS
    budget = POOL_RELAX_LIMIT_S if opts.time_limit is None else min(POOL_RELAX_LIMIT_S, opts.time_limit / 3)
    bound: float | None = None
    best: MilpResult | None = None
    info: dict = {"stages": 0, "relaxation_seconds": 0.0}
    stages = (False, True) if small else (True,)
    if sum(len(c) for c in configs) > SLOT_STAGE_MAX_CONFIGS:
        stages = stages[:1] if small else ()
    for slot_binaries in stages:
        left = budget - (time.perf_counter() - t0)
        if left <= 0.01 or (opts.cancel is not None and opts.cancel.is_set()):
            break
        relax = build_pool_relaxation(problem, configs, problem.max_parts, slot_binaries=slot_binaries, totals=small)
        res = solve_model(relax.model, replace(opts, time_limit=left, progress=None), solver=solver,
                          fallback=fallback)
        info["stages"] += 1
        info["relaxation_seconds"] += res.seconds
        info["status"] = str(res.status)
        found = res.bound if res.bound is not None and math.isfinite(res.bound) else (
            res.objective if res.status == Status.OPTIMAL else None)
        if found is not None:
            bound = found if bound is None else min(bound, found)
            info["bound"] = bound
        if not res.has_solution or (opts.cancel is not None and opts.cancel.is_set()):
            break
        room = _remaining(opts, t0)
        limit = COMPLETION_LIMIT_S if room.time_limit is None else min(COMPLETION_LIMIT_S, room.time_limit / 2)
        done = complete_per_model(problem, configs, mpm, relax.pool_counts(res.values),
                                  replace(room, time_limit=limit, progress=None), solver, fallback)
        if done is not None and (best is None or done.objective > best.objective):
            best = done
            info["completion"] = float(done.objective)
        if bound is not None and best is not None and best.objective >= bound * (1 - opts.mip_rel_gap):
            break
        if not slot_binaries and relax.keeps_slot_rule(res.values, len(problem.cluster.gpus), problem.max_parts):
            break  # slot binaries would bound the same
    info["seconds"] = time.perf_counter() - t0
    return _PoolBound(bound, best, info)


def model_alone(problem: PlanningProblem, d: int, configs: list[PipelineConfig],
                limits: list[int] | None = None, totals: bool | None = False, slots: bool = True,
                xcaps: list[float] | None = None) -> MilpPlanModel:
    """Model d's own MILP at weight 1 (its T is what it serves), on ``limits`` GPUs of each
    type (default: the whole fleet), ``totals`` and ``slots`` as in :func:`build_milp`: what
    the completion, the search's checks and the per-model costs each solve. Only the
    configurations that fit ``limits`` are in it (:func:`usable_configs`; the model's
    ``configs`` say which). ``xcaps``: each configuration's throughput cap, as in
    :func:`build_milp`."""
    cluster = problem.cluster if limits is None else problem.cluster.with_limits(list(limits))
    sub = replace(problem, models=[replace(problem.models[d], weight=1.0)], cluster=cluster)
    kept = list(range(len(configs))) if limits is None else usable_configs(configs, limits)
    return build_milp(sub, [[configs[i] for i in kept]], problem.max_parts, totals=totals, slots=slots,
                      xcaps=None if xcaps is None else [[xcaps[i] for i in kept]])


def usable_configs(configs: list[PipelineConfig], limits) -> list[int]:
    """The configurations that can run on ``limits`` GPUs of each type (every type they use
    is there). Why: the search checks a model on a few types, and the others' columns only
    cost building and presolving (convnext_large on [1,46,1,13,1,0,0,0]: 953 of 1,956
    configurations kept; seven such checks 31.6 s -> 29.1 s, the rest was probing, see
    :attr:`ppipe.planning.milp.SolveOptions.probing`)."""
    return [i for i, cfg in enumerate(configs) if all(limits[st.gpu] > 0 for st in cfg.stages)]


def complete_per_model(problem: PlanningProblem, configs: list[list[PipelineConfig]], mpm: MilpPlanModel,
                       pools: dict[tuple[int, int, int], int] | None, opts: SolveOptions, solver: str,
                       fallback: bool, totals: list[list[int]] | None = None) -> MilpResult | None:
    """A plan in which each pool (model, position, type) has at most ``pools[key]`` GPUs
    (or each model at most ``totals[d][g]`` GPUs of each type, in pools as it likes), each
    model planned alone (its own MILP: the most it can serve on those GPUs), as values of
    ``mpm``'s variables. None when a model's MILP stops without a plan (cancel, time limit)."""
    t0 = time.perf_counter()
    values = np.zeros(mpm.model.num_vars)
    G = len(problem.cluster.gpus)
    level = math.inf
    for d, (spec, cfgs) in enumerate(zip(problem.models, configs)):
        limits = [0] * G if totals is None else list(totals[d])
        for (dd, _q, g), count in (pools or {}).items():
            if dd == d:
                limits[g] += count
        if not any(limits):  # no GPUs for this model: it serves nothing (all its values stay 0)
            level = 0.0
            continue
        one = model_alone(problem, d, cfgs, limits)
        for (_, q, g), z in one.z.items() if pools is not None else ():
            one.model.ub[z] = float(pools.get((d, q, g), 0))
        left = replace(_remaining(opts, t0), probing=False)  # see SolveOptions.probing
        res = solve_model(one.model, left, solver=solver, fallback=fallback)
        if not res.has_solution:
            return None
        for i, ci in enumerate(usable_configs(cfgs, limits)):  # the configurations in ``one``, in order
            values[mpm.x[d][ci]] = res.values[one.x[0][i]]
            if mpm.y[d][ci] is not None:
                values[mpm.y[d][ci]] = round(res.values[one.y[0][i]])
            for n_full, n_one in zip(mpm.n[d][ci], one.n[0][i]):
                values[n_full] = round(res.values[n_one])
        for (_, q, g), z in one.z.items():
            values[mpm.z[(d, q, g)]] = round(res.values[z])
        level = min(level, float(res.values[one.T]) / spec.weight)
    values[mpm.T] = level
    mpm.fill_totals(values)
    return MilpResult(Status.OPTIMAL, level, None, None, time.perf_counter() - t0, values, solver,
                      "each model planned on its GPUs",
                      {"vars": mpm.model.num_vars, "integer": mpm.model.num_integer, "rows": mpm.model.num_rows})


def model_level(problem: PlanningProblem, configs: list[PipelineConfig], d: int, totals: list[int],
                opts: SolveOptions, solver: str, fallback: bool, at_least: float | None = None) -> float | None:
    """Exactly what model d serves alone on ``totals`` GPUs of each type, per unit of its
    weight (its level); None when its MILP stops without a plan (cancel, time limit). With
    ``at_least``, the first plan that reaches it ends the solve: its level, a lower bound."""
    if not any(totals):
        return 0.0
    one = model_alone(problem, d, configs, totals)
    w = problem.models[d].weight
    opts = replace(opts, probing=False)  # see SolveOptions.probing
    if at_least is not None:
        opts = replace(opts, on_solution=lambda values: float(values[one.T]) >= at_least * w)
    res = solve_model(one.model, opts, solver=solver, fallback=fallback)
    if not res.has_solution:
        return None
    level = float(res.values[one.T]) / w
    if res.status == Status.OPTIMAL or (at_least is not None and level >= at_least):
        return level
    return None


def priced_search(problem: PlanningProblem, configs: list[list[PipelineConfig]], level: float,
                  opts: SolveOptions, solver: str, fallback: bool,
                  rounds: int | None = None, note=None) -> tuple[BendersResult | None, dict]:
    """The pool relaxation with each model's rounding priced (:func:`ppipe.planning.rows.add_cost_rows`
    at ``level``, costs from :func:`model_costs` at the fleet's fluid prices), solved and cut
    model by model (:func:`ppipe.planning.benders.benders`, at most ``rounds`` rounds; one:
    the bound only). Returns (its result, or None when cancelled or unpriced; stats).

    Why: the pool relaxation keeps whole GPUs but fractional instances, and the per-model
    costs keep whole instances but price the fleet's GPUs as if any model could have any
    fraction of them; together they see both. Measured on the ten zoo models on eight types:
    the relaxation alone 1800.40, with these rows 1797.26, the optimum (the cuts find a
    plan there). Valid at any ``level``: plans below it are bounded by it, plans at or
    above it by the relaxation's optimum (or by nothing, when it is infeasible); the closer
    ``level`` is to the optimum, the larger the costs."""
    t0 = time.perf_counter()
    info: dict = {"level": float(level)}
    priced = fleet_prices(configs, [m.weight for m in problem.models], problem.cluster.limits, solver, opts.threads)
    if priced is None:
        return None, info
    top, pi, mu = priced
    # the search runs while the MILP waits, so it may use every core
    workers = default_workers() if rounds is None else 1
    memo: dict = {}  # the costs' least plans, for the repricing (model_costs)
    costs = model_costs(problem, configs, pi, mu, level, opts, solver, fallback,
                        limits=SEARCH_COST_LIMITS_S if rounds is None else None, workers=workers, memo=memo)
    info["costs_seconds"] = time.perf_counter() - t0
    if costs is None:  # cancelled
        return None, info
    relax = build_pool_relaxation(problem, configs, problem.max_parts,
                                  totals=sum(problem.cluster.limits) <= TOTALS_MAX_GPUS)

    def reprice(at: float) -> tuple[np.ndarray, list[float]] | None:
        found = model_costs(problem, configs, pi, mu, at, _remaining(opts, t0), solver, fallback,
                            limits=SEARCH_COST_LIMITS_S, workers=workers, memo=memo)
        return None if found is None else (pi, found)

    found = benders(problem, relax, (pi, costs), level, top, _remaining(opts, t0), solver, fallback,
                    lambda d, totals, o, at_least: model_level(problem, configs[d], d, totals, o, solver, fallback,
                                                               at_least),
                    rounds=rounds, workers=workers, reprice=reprice if rounds is None else None, note=note,
                    restricted=(lambda used, target, o: restricted_plan(problem, configs, used, target, o, solver,
                                                                        fallback)) if rounds is None else None)
    info.update(found.info, seconds=time.perf_counter() - t0)
    return found, info


def restricted_plan(problem: PlanningProblem, configs: list[list[PipelineConfig]], used: list[list[int]],
                    target: float, opts: SolveOptions, solver: str, fallback: bool) -> list[list[int]] | None:
    """GPUs per model and type of a plan at ``target`` or above over only the configurations
    ``used`` (per model, indices into ``configs``): the direct MILP on those, whole instances
    and all, at most RESTRICTED_NODES nodes (a node limit, not a time limit: the same answer
    on any machine). None when it finds none (or a model has no configuration)."""
    sub = [[configs[d][c] for c in cs] for d, cs in enumerate(used)]
    if not all(sub):
        return None
    mpm = build_milp(problem, sub, problem.max_parts)
    mpm.model.lb[mpm.T] = float(target)
    res = solve_model(mpm.model, replace(opts, progress=None, on_solution=None, node_limit=RESTRICTED_NODES),
                      solver=solver, fallback=fallback)
    if not res.has_solution or float(res.values[mpm.T]) < target * (1 - 1e-9):
        return None
    return allocation(mpm.z, res.values, len(problem.models), len(problem.cluster.gpus))


#: The restricted plan's MILP (:func:`restricted_plan`) stops after this many nodes. The ten
#: zoo models (other est_xput): 400 nodes, 1.1 s for the plan at 1,796.62; 6,300 nodes,
#: 7.5 s for the optimum over three solutions' configurations.
RESTRICTED_NODES = 10_000


#: The priced stage (:func:`priced_search`) runs beside the MILP on plans of at least this
#: many models, when the pool relaxation did not prove the optimum: with few models the
#: rounding of each adds up to little (G1 on four types: the same bound as the pool relaxation).
COST_STAGE_MIN_MODELS = 4

#: On problems of at least this many configurations the priced stage also cuts model by
#: model until it proves the optimum (:func:`ppipe.planning.benders.benders`), and the solve
#: waits for it, so that the plan does not depend on which side finishes first; the MILP
#: starts only after it (when it has not proved the optimum): beside it, it only took half
#: the machine. These are the problems where the MILP spends minutes at its root (the ten
#: zoo models: 5,700); on smaller ones it only bounds, and stops when the MILP is done.
SEARCH_MIN_CONFIGS = SEED_MIN_CONFIGS
#: ... for at most this long (the solve waits for it; the ten zoo models: 80 s alone).
SEARCH_LIMIT_S = 300.0
#: Its per-model costs get this long (the phase, each model): the search needs them all
#: exact. On the ten zoo models the restart's 20 s left two at their fluid cost, and the
#: search then took four rounds (360 s) without a plan at the bound, against one (80 s).
SEARCH_COST_LIMITS_S = (90.0, 15.0)


#: A search stopped before its proof (a cancel, the time limit) still gives its best plan,
#: each model placed alone on its GPUs within this many seconds (ten zoo models: 0.3 s).
STOPPED_COMPLETION_S = 1.0


#: Run the pool relaxation beside the direct MILP (:class:`_PoolSide`); off only to test
#: the MILP's own machinery (the restart) alone.
POOL_RELAXATION = True


class _PoolSide:
    """The pool relaxation and its completion (:func:`_pool_bound`), run in a thread beside
    the direct MILP. HiGHS 1.16 runs its branch and bound on two workers, so on two cores
    this side takes CPU from it (G1 on four types: about 0.4 s of 4), a price paid for the
    problems it proves (the rows marked +pool in bench/bench_scale.py).

    Why beside and not before: where the relaxation is tight it proves the optimum in a
    fraction of the MILP's time (three zoo models on eight types: 3.5 s -> 0.9 s) and stops
    the MILP (``proved``); where it is not (G1 on four types: bound 2133.1, optimum
    2111.6) it would only add its time. Its bound tightens the MILP's, in progress and in
    the result, and a MILP plan that reaches it is optimal. The MILP stops only on a proof
    and :meth:`settle` waits for this thread, so the plan does not depend on which side
    finishes first."""

    def __init__(self, problem: PlanningProblem, configs: list[list[PipelineConfig]], mpm: MilpPlanModel,
                 opts: SolveOptions, t0: float, solver: str, fallback: bool):
        self.bound: float | None = None
        self.result: MilpResult | None = None
        self.info: dict = {}
        self.proved = threading.Event()
        self._gap = opts.mip_rel_gap
        self._stop = threading.Event()  # the main thread failed: nobody will read this side's result
        self._main_done = threading.Event()  # the MILP is done: the priced stage has nothing left to bound
        self._incumbent: float | None = None  # the MILP's best plan so far (its progress)
        #: the seed plan is done (its level, or None without one): the search prices at it
        self._seeded = threading.Event()
        self._seed_level: float | None = None
        self._search_plan: float | None = None  # the search's best plan's level so far
        #: the largest problems: the priced search runs to the end, and the MILP waits for it
        self.search = (sum(len(c) for c in configs) >= SEARCH_MIN_CONFIGS
                       and len(problem.models) >= COST_STAGE_MIN_MODELS
                       and sum(problem.cluster.limits) <= TOTALS_MAX_GPUS)
        self.finished = threading.Event()
        # what this side is doing, for progress
        self.stage = "waiting for the first plan to price the search at" if self.search else \
            "bounding by the pool relaxation"
        side_opts = replace(_remaining(opts, t0), progress=None, cancel=_EitherEvent(opts.cancel, self._stop))
        self._thread = threading.Thread(target=self._run, name="ppipe-pool-relaxation", daemon=True,
                                        args=(problem, configs, mpm, side_opts, solver, fallback))
        self._thread.start()

    def reaches(self, level: float) -> bool:
        """Whether a plan at ``level`` is within the MIP gap of this side's bound (the gap
        relative to the plan, as HiGHS and :func:`relative_gap` measure it)."""
        return self.bound is not None and level * (1 + self._gap) >= self.bound

    def _run(self, problem, configs, mpm, opts, solver, fallback) -> None:
        try:
            self._stages(problem, configs, mpm, opts, solver, fallback)
        finally:
            self.finished.set()

    def _pool_stage(self, problem, configs, mpm, opts, solver, fallback) -> bool:
        """The pool relaxation's bound and completion (:func:`_pool_bound`); False when
        nothing is left to do (it proved the optimum, or failed: the MILP goes on without
        it, and the stats say why)."""
        self.stage = "bounding by the pool relaxation"
        try:
            pool = _pool_bound(problem, configs, mpm, opts, solver, fallback)
        except Exception as exc:
            self.info = {"error": f"{type(exc).__name__}: {exc}"}
            return False
        self.info, self.result, self.bound = pool.info, pool.result, pool.bound
        if pool.result is not None and self.reaches(float(pool.result.values[mpm.T])):
            self.proved.set()
            return False
        return True

    def _stages(self, problem, configs, mpm, opts, solver, fallback) -> None:
        t0 = time.perf_counter()
        # On the largest problems the search bounds far tighter than the pool relaxation,
        # which would only take the second core from the seed plan the search waits for
        # (the ten zoo models: the seed took 16 s beside it, 9 s alone); it runs only when
        # there is no seed plan to price the search at.
        if self.search:
            # the search prices at the seed's plan, once it is done, not at whatever the MILP
            # had found by now: the plan must not depend on how fast each side ran
            while not self._seeded.wait(0.1):
                if opts.cancel is not None and opts.cancel.is_set():
                    return
            incumbent = self._seed_level
            if incumbent is None and not self._pool_stage(problem, configs, mpm, opts, solver, fallback):
                return
        else:
            if not self._pool_stage(problem, configs, mpm, opts, solver, fallback):
                return
            incumbent = self._incumbent  # a bound only: any plan so far prices it validly
        known = [v for v in (incumbent, None if self.result is None else float(self.result.objective))
                 if v is not None and v > 0]
        if ((self.bound is None and not self.search) or not known or len(problem.models) < COST_STAGE_MIN_MODELS
                or sum(problem.cluster.limits) > TOTALS_MAX_GPUS):
            return
        # on smaller problems only a bound, never a plan, so the plan does not depend on
        # whether it finishes before the MILP (which then stops it); on the largest the
        # search may find the plan, and the solve waits for it
        search = self.search
        self.stage = ("pricing each model's rounding, then searching for a plan at the bound" if search else
                      "bounding with each model's rounding priced")
        late = _remaining(opts, t0)
        if search:
            late = replace(late, time_limit=min(late.time_limit or math.inf, SEARCH_LIMIT_S))
        else:
            late = replace(late, cancel=_EitherEvent(opts.cancel, self._main_done))
        if late.time_limit is not None and late.time_limit < 1.0:
            return
        try:
            found, info = priced_search(problem, configs, max(known), late, solver, fallback,
                                        rounds=None if search else 1, note=self._note if search else None)
            self.info["priced"] = dict(info, waited=search)  # whether the solve waited for it
            if found is None:
                return
            if found.bound is not None and (self.bound is None or found.bound < self.bound):
                self.bound = found.bound
            if found.proved and found.totals is not None:
                done = complete_per_model(problem, configs, mpm, None, replace(_remaining(opts, t0), progress=None),
                                          solver, fallback, totals=found.totals)
                if done is not None and self.reaches(float(done.values[mpm.T])):
                    self.result = done
                    self.proved.set()
            elif search and found.totals is not None and found.level > (self._seed_level or 0.0):
                # stopped (a cancel, the time limit) before a proof, with a plan better than the
                # seed's: that plan, each model placed alone on its GPUs in at most
                # STOPPED_COMPLETION_S (past a cancel, as these checks ran before it)
                done = complete_per_model(problem, configs, mpm, None,
                                          SolveOptions(time_limit=STOPPED_COMPLETION_S, threads=opts.threads,
                                                       seed=opts.seed), solver, fallback, totals=found.totals)
                if done is not None:
                    self.result = done
        except Exception as exc:
            self.info["priced"] = {"error": f"{type(exc).__name__}: {exc}"}

    def _note(self, plan: float | None, bound: float | None, stage: str) -> None:
        """The search's progress (:func:`ppipe.planning.benders.benders`): its best plan's
        level, its bound (valid for every plan), what it does now."""
        if plan is not None:
            self._search_plan = plan
        if bound is not None and (self.bound is None or bound < self.bound):
            self.bound = bound
        self.stage = stage

    def wait(self, progress, cancel, t0: float, incumbent: float | None) -> None:
        """Wait for this side (on the largest problems the MILP beside it only slows it down:
        the ten zoo models' root alone takes minutes), reporting what it does meanwhile, and
        once more when it is done (so its last stage is always reported, however fast).
        ``incumbent``: the seed's plan; the search's plans, once better, show instead."""
        seed = incumbent
        while True:
            done = self.finished.is_set() or (cancel is not None and cancel.is_set())
            found = self._search_plan
            incumbent = seed if found is None or (seed is not None and seed >= found) else found
            if progress is not None:
                bound = self.bound if incumbent is None or self.bound is None else max(self.bound, incumbent)
                progress(Progress(incumbent, bound, relative_gap(incumbent, bound), time.perf_counter() - t0,
                                  self.stage))
            if done:
                return
            self.finished.wait(0.5)

    def watch(self, opts: SolveOptions) -> SolveOptions:
        """``opts`` for a solve of plans: it stops once the completion proves the optimum,
        and its progress shows the tighter of its bound and this side's."""
        progress = opts.progress

        def watch(p: Progress) -> None:
            if p.incumbent is not None and (self._incumbent is None or p.incumbent > self._incumbent):
                self._incumbent = p.incumbent
            bound = self.bound
            if bound is not None and (p.bound is None or bound < p.bound):
                b = bound if p.incumbent is None else max(bound, p.incumbent)
                p = replace(p, bound=b, gap=relative_gap(p.incumbent, b))
            if progress is not None:
                progress(p)
        return replace(opts, cancel=_EitherEvent(opts.cancel, self.proved), progress=watch)

    def seeded(self, level: float | None) -> None:
        """The seed plan is done (``level``: its objective; None: no seed plan)."""
        self._seed_level = level
        self._seeded.set()

    def stop(self) -> None:
        """Stop the side without waiting (the main thread is failing)."""
        self._stop.set()

    def settle(self, full: MilpPlanModel, mpm: MilpPlanModel, res: MilpResult) -> tuple[MilpPlanModel, MilpResult]:
        """The model and result to read the plan from, once this thread is done: the
        completion's plan when it proved the optimum (or, on the largest problems, when the
        search stopped before its proof with a better plan than the MILP's), else the MILP's
        with the tighter bound (optimal once it reaches the relaxation's). ``full``: the direct MILP the
        completion's values belong to; ``mpm``: the model ``res`` belongs to."""
        # waits even when the MILP proved its optimum first (the side stops on the user's
        # cancel and within its own time limit), so the plan does not depend on who finished first;
        # only the priced stage, which bounds and never plans, stops now
        self._main_done.set()
        self._thread.join()
        self.info["proved"] = self.proved.is_set()
        if self.proved.is_set() and self.result is not None:
            V = float(self.result.values[full.T])
            return full, replace(self.result, bound=max(self.bound, V), gap=relative_gap(V, max(self.bound, V)))
        if not res.has_solution and self.result is not None:
            return full, replace(self.result, status=res.status, bound=res.bound, gap=None)
        if self.search and self.result is not None and res.has_solution and \
                float(self.result.values[full.T]) > float(res.values[mpm.T]) * (1 + 1e-9):
            # the search stopped before its proof with a better plan than the MILP's (the seed's):
            # that plan, with the MILP's status and bounds
            mpm, res = full, replace(self.result, status=res.status, bound=res.bound, gap=None)
        if self.bound is None or not res.has_solution:
            return mpm, res
        V = float(res.values[mpm.T])
        bound = max(self.bound if res.bound is None else min(res.bound, self.bound), V)
        status = Status.OPTIMAL if self.reaches(V) else res.status
        return mpm, replace(res, status=status, bound=bound, gap=relative_gap(V, bound))


class _EitherEvent:
    """Set when any of the events is (a user's cancel, or the planner's restart signal)."""

    def __init__(self, *events):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def _restart_watch(progress, signal: threading.Event):
    """A progress callback that forwards to ``progress`` and sets ``signal`` when the
    solve is worth restarting: a plan close to the bound, after a while."""
    def watch(p: Progress) -> None:
        if progress is not None:
            progress(p)
        if p.incumbent is None or p.incumbent <= 0 or p.elapsed < RESTART_AFTER_S:
            return
        if (p.gap is not None and p.gap <= RESTART_GAP) or p.elapsed >= RESTART_ANYWAY_S:
            signal.set()
    return watch


def _improved_watch(progress, signal: threading.Event, level: float):
    """A progress callback that forwards to ``progress`` and sets ``signal`` once the
    restarted solve holds a plan RESTART_GAIN above ``level`` (after RESTART_AFTER_S)."""
    def watch(p: Progress) -> None:
        if progress is not None:
            progress(p)
        if (p.incumbent is not None and p.elapsed >= RESTART_AFTER_S and p.incumbent >= level * (1 + RESTART_GAIN)
                and (p.gap is None or p.gap > 1e-4)):
            signal.set()
    return watch


def _restart(problem: PlanningProblem, configs: list[list[PipelineConfig]], mpm: MilpPlanModel,
             first: MilpResult, opts: SolveOptions, solver: str, fallback: bool,
             on_message, signal: threading.Event | None = None) -> tuple[MilpPlanModel, MilpResult, dict]:
    """Solve again with only what can beat the first solve's plan (:mod:`ppipe.planning.restart`),
    that plan as the start. Returns the model and result to read the plan from. ``configs``
    are ``mpm``'s (all, or a previous round's). ``signal``: set (and the solve stopped)
    when a clearly better plan turns up, for another round."""
    V = float(first.values[mpm.T])
    priced = fleet_prices(configs, [m.weight for m in problem.models], problem.cluster.limits, solver, opts.threads)
    if priced is None:  # no prices: the plain MILP again, for the rest of the time
        res = solve_model(mpm.model, opts, solver=solver, fallback=fallback, on_fallback=on_message)
        info = {"restart": {"seconds": res.seconds}}
        return (mpm, res, info) if res.has_solution else (mpm, first, info)
    ub, pi, mu = priced
    weights = [m.weight for m in problem.models]
    budget = max(ub - V, 0.0) + 1e-7 * max(1.0, ub)
    t1 = time.perf_counter()
    costs = model_costs(problem, configs, pi, mu, V, opts, solver, fallback)
    info = {"restart": {"after_seconds": first.seconds, "incumbent": V, "fluid_bound": ub, "budget": budget,
                        "configs_before": [len(c) for c in configs], "cost_seconds": time.perf_counter() - t1}}
    if costs is None:  # cancelled or out of time while pricing: the first solve's result stands
        return mpm, first, info
    tol = 1e-7 * max(1.0, ub)
    budgets = np.minimum(model_budgets(pi, mu, weights, problem.cluster.limits, costs, V) + tol, budget)
    info["restart"]["model_budgets"] = [float(b) for b in budgets]
    kept, caps, index = restricted(configs, pi, mu, problem.cluster.limits, budgets)
    if any(not k for k in kept):  # cannot happen with a plan at V > 0; keep the first plan
        return mpm, replace(first, status=Status.OPTIMAL if V >= ub * (1 - 1e-9) else first.status), info
    mpm2 = build_milp(problem, kept, problem.max_parts, xcaps=caps, budget_row=(pi, mu, budget),
                      cost_rows=(pi, costs, V))
    mpm2.model.start = start_values(mpm2, mpm, first.values, index)
    again = _remaining(opts, t1)
    if signal is not None:
        again = replace(again, cancel=_EitherEvent(opts.cancel, signal), progress=_improved_watch(opts.progress, signal, V))
    res = solve_model(mpm2.model, again, solver=solver, fallback=fallback, on_fallback=on_message)
    info["restart"]["start_mapped"] = mpm2.model.start is not None
    info["restart"]["seconds"] = res.seconds
    # the restart covers every plan at level >= V, so V bounds whatever it leaves out; the
    # fluid bound and the first solve's bound hold too (a restart stopped early may have none better)
    known = [b for b in (res.bound, first.bound, ub) if b is not None and math.isfinite(b)]
    bound = max(min(known), V) if known else None
    if res.has_solution and float(res.values[mpm2.T]) >= V:
        return mpm2, replace(res, bound=bound, gap=relative_gap(float(res.values[mpm2.T]), bound)), info
    if res.status in (Status.OPTIMAL, Status.INFEASIBLE):  # nothing at level > V: V's plan is optimal
        status, bound = Status.OPTIMAL, V
    else:
        status = res.status
    return mpm, replace(first, status=status, bound=bound, gap=relative_gap(V, bound)), info


def _seed_plan(problem: PlanningProblem, configs: list[list[PipelineConfig]], mpm: MilpPlanModel,
               opts: SolveOptions, solver: str, fallback: bool):
    """A first plan from the MILP over each model's SEED_CONFIGS most efficient
    configurations (fluid reduced cost per unit of price), solved for SEED_NODES nodes.

    Why: on the largest problems (ten zoo models on eight types, thousands of
    configurations) HiGHS spends minutes at the root before its first plan; this small
    MILP has a plan within about 1% in seconds. It only seeds the full MILP (a start),
    so the answer stays exact. Returns (model, result, stats, start for ``mpm``) or None."""
    t0 = time.perf_counter()
    weights = [m.weight for m in problem.models]
    priced = fleet_prices(configs, weights, problem.cluster.limits, solver, opts.threads)
    if priced is None:
        return None
    _, pi, mu = priced
    G = len(problem.cluster.limits)
    kept, index = [], []
    for d, cfgs in enumerate(configs):
        price = np.array([float(pi @ gpu_per_xput(c, G)) for c in cfgs])
        order = np.argsort((price - mu[d]) / np.maximum(price, 1e-12), kind="stable")
        keep = sorted(int(i) for i in order[:SEED_CONFIGS])
        kept.append([cfgs[i] for i in keep])
        index.append(keep)
    small = build_milp(problem, kept, problem.max_parts)
    progress = opts.progress

    def relay(p: Progress) -> None:  # the small MILP's bound is not the plan's
        if progress is not None:
            progress(Progress(p.incumbent, None, None, p.elapsed, "finding a first plan over each model's "
                              f"{SEED_CONFIGS} most efficient configurations"))

    limit = SEED_LIMIT_S if opts.time_limit is None else min(SEED_LIMIT_S, opts.time_limit / 10)
    res = solve_model(small.model, replace(opts, time_limit=limit, node_limit=SEED_NODES, progress=relay,
                                           heuristic_effort=SEED_HEURISTIC_EFFORT),
                      solver=solver, fallback=fallback)
    if not res.has_solution:
        return None
    # the full model's configuration j is the small one's position of j (absent: never looked up)
    where = [{ci: j for j, ci in enumerate(keep)} for keep in index]
    full_to_small = [[where[d].get(j, -1) for j in range(len(cfgs))] for d, cfgs in enumerate(configs)]
    start = start_values(mpm, small, res.values, full_to_small)
    info = {"configs": [len(k) for k in kept], "objective": float(res.values[small.T]), "status": str(res.status),
            "seconds": time.perf_counter() - t0, "nodes": res.stats.get("nodes"), "start_mapped": start is not None}
    return small, res, info, start


def model_costs(problem: PlanningProblem, configs: list[list[PipelineConfig]], pi: np.ndarray, mu: np.ndarray,
                level: float, opts: SolveOptions, solver: str, fallback: bool,
                limits: tuple[float, float] | None = None, workers: int = 1,
                memo: dict[int, list[tuple[float, float, float]]] | None = None) -> list[float] | None:
    """Per model d, a lower bound on ``pi . z`` (its pools priced) over its own plans that
    serve ``w_d level``: a single-model MILP each (``workers`` at once), its bound when it
    stops early, never below the fluid cost ``mu_d w_d level`` (what a model gets when the
    phase runs out of time, COST_PHASE_LIMIT_S or half the time left). None when cancelled.

    Why: the fluid bound prices each model's GPUs as if they came in fractions. With many
    models their rounding losses add up, and these rows (``sum pi z_d >= cost_d``) give
    the LP that sum: on the 18 models of G1..G6 the restarted MILP closes at the root.

    ``memo``: what earlier calls at the same prices found, kept there per model as (level,
    cost, what its least plan serves). A model whose least plan at a level at most this one
    already serves this one costs what it did there (no plan of it at this level costs less,
    and that plan costs no more): no MILP. The search's repricing, just above its plan,
    needs it for most models (:func:`priced_search`)."""
    t0 = time.perf_counter()
    # the whole phase's seconds, each model's
    phase_limit, model_limit = limits or (COST_PHASE_LIMIT_S, MODEL_COST_LIMIT_S)
    phase = phase_limit if opts.time_limit is None else min(phase_limit, opts.time_limit / 2)
    D = len(configs)
    started = itertools.count(1)

    def cost(d: int) -> float:
        spec, cfgs = problem.models[d], configs[d]
        fluid = float(mu[d]) * spec.weight * level
        for at, found, serves in (memo or {}).get(d, ()):
            if at <= level and serves >= spec.weight * level:
                return max(fluid, found)
        left = phase - (time.perf_counter() - t0)
        if left <= 0.05 or (opts.cancel is not None and opts.cancel.is_set()):
            return fluid  # out of time for this phase: the fluid cost is still a valid bound
        if opts.progress is not None:
            opts.progress(Progress(level, None, None, time.perf_counter() - t0,
                                   f"pricing each model's rounding: {spec.name} ({next(started)}/{D})"))
        # Without the slot rule and the pool totals: a relaxation, so still a lower bound,
        # and the cheapest plan of one model rarely fills its slots. The ten zoo models:
        # the same ten costs in 11.9 s, against 29.3 s with both (swin_s's root LP alone
        # took 8 s with the slot rule) and 23.6 s with the totals.
        # Only what a plan cheaper than one pipeline's can use (the loss budget, see
        # ppipe.planning.restart): the least plan is among them. The ten zoo models: the
        # same ten costs in 6.1 s, against 16.0 s over every configuration (one thread).
        ceiling = single_pipeline_cost(cfgs, spec.weight * level, pi, problem.cluster.limits)
        caps = None
        if math.isfinite(ceiling):
            kept, caps, _ = restricted([cfgs], pi, mu[d:d + 1], problem.cluster.limits,
                                       ceiling - fluid + 1e-9 * max(1.0, ceiling))
            cfgs, caps = kept[0], caps[0]
        one = model_alone(problem, d, cfgs, totals=False, slots=False, xcaps=caps)
        one.model.lb[one.T] = spec.weight * level * (1 - 1e-9)
        one.model.objective({z: float(pi[key[-1]]) for key, z in one.z.items()}, maximize=False)
        sub_opts = SolveOptions(time_limit=min(model_limit, left), threads=opts.threads,
                                cancel=opts.cancel, seed=opts.seed)
        res = solve_model(one.model, sub_opts, solver=solver, fallback=fallback)
        # the dual bound: an "optimal" objective may sit above the minimum by the MIP gap
        found = res.bound if res.bound is not None else (
            res.objective * (1 - 2 * opts.mip_rel_gap) if res.status == Status.OPTIMAL else None)
        if found is None or not math.isfinite(found):
            return fluid
        found = min(float(found), ceiling)
        if memo is not None and res.has_solution:
            memo.setdefault(d, []).append((level, found, plan_serves(one, res.values, cfgs, problem.cluster.limits)))
        return max(fluid, found)

    costs = map_in_threads(cost, list(range(D)), workers, first=lambda d: len(configs[d]))
    return None if opts.cancel is not None and opts.cancel.is_set() else costs


def plan_serves(one: MilpPlanModel, values: np.ndarray, configs: list[PipelineConfig], limits) -> float:
    """What a plan of one model (``one``'s solution ``values``, ``configs`` its
    configurations) can serve with its instances: each pipeline up to its least stage's
    instances' throughput (and the fleet's cap on it), summed."""
    return sum(min(throughput_cap(cfg, limits), min(round(float(values[n])) * st.xput for n, st in zip(ns, cfg.stages)))
               for cfg, ns in zip(configs, one.n[0]))


def _fill_leftover(problem: PlanningProblem, mpm: MilpPlanModel, first: MilpResult, opts: SolveOptions,
                   solver: str, fallback: bool, t0: float) -> MilpResult:
    """Second solve: keep T at its optimum and maximise sum_d throughput_d / w_d, so
    GPUs the max-min optimum leaves idle go to the models. Status, bound and gap
    stay those of the max-min solve."""
    M = mpm.model
    T_star = float(first.values[mpm.T])
    M.row({mpm.T: 1.0}, lo=T_star * (1 - 1e-7))
    M.objective({x: 1.0 / spec.weight for spec, xd in zip(problem.models, mpm.x) for x in xd}, maximize=True)
    left = None if opts.time_limit is None else max(opts.time_limit - (time.perf_counter() - t0), 0.5)
    second = solve_model(M, replace(opts, time_limit=left, progress=None), solver=solver, fallback=fallback)
    if not second.has_solution:
        return first
    return replace(first, values=second.values, seconds=first.seconds + second.seconds)


def solve_ppipe(problem: PlanningProblem, *, solver: str = "highs", opts: SolveOptions | None = None,
                fallback: bool = True, on_message: Optional[Callable[[str], None]] = None, method: str = "auto",
                **_ignored) -> SolveResult:
    """The PPipe scheduler: the MILP over pools, partitions, MPS splits and batch sizes."""
    return solve_milp(problem, "ppipe", solver=solver, opts=opts, fallback=fallback, on_message=on_message,
                      method=method)
