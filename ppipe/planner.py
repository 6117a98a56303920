"""The planners: PPipe's MILP, NP, DART-r and the single-model NP (SPEC 3 and 4).

Each scheduler takes a :class:`~ppipe.problem.PlanningProblem` and returns a
solver-neutral :class:`SolveResult` (status, objective, bound, gap, time,
plan). The MILP is stated over pre-enumerated SLO-feasible pipeline
configurations (:mod:`ppipe.configs`) and solved by any backend in
:mod:`ppipe.milp`.

MILP (per model d, configuration c with partitions p on GPU type g_p, split k_p):
  y_c in {0,1}  configuration used (at most one pipeline per "slot", see below)
  n_cp in Z+    instances of partition p;  n_cp <= limit[g_p] k_p y_c
  x_c >= 0      pipeline throughput;       x_c <= t_cp n_cp
  z_dqg in Z+   GPUs of type g at position q for model d: 12 z >= sum (12/k) n
  sum_dq z_dqg <= limit[g];  T <= sum_c x_c / w_d;  maximise T.
Slots: the reference gives each model |G|^P slots (type tuples) holding one
configuration that uses a prefix of the tuple; a set of pipelines fits iff for
every type prefix v, #configurations whose sequence starts with v <= |G|^(P-|v|).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from ppipe.configs import PipelineConfig, batch_build_us, enumerate_configs
from ppipe.errors import InputError
from ppipe.loss_budget import solve_single
from ppipe.milp import MilpModel, MilpResult, Progress, SolveOptions, relative_gap, solve as milp_solve
from ppipe.milp_rows import add_pool_rows, add_slot_rows, gpu_unit
from ppipe.plan import ModelPlan, Partition, Pipeline, Plan
from ppipe.problem import PlanningProblem

SCHEDULERS = ("ppipe", "np", "dart-r", "np-single")
STATUSES = ("optimal", "time_limit", "infeasible", "cancelled", "error")


@dataclass
class SolveResult:
    status: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    plan: Plan | None = None
    scheduler: str = "ppipe"
    solver: str = "highs"
    message: str = ""
    est_xput: list | None = None
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.plan is not None and self.status in ("optimal", "time_limit", "cancelled")

    def model_rows(self, problem: PlanningProblem) -> list[dict]:
        rows = []
        if self.plan is None:
            return rows
        for spec, mp in zip(problem.models, self.plan.models):
            rows.append({"name": mp.name, "throughput": mp.xput, "weight": spec.weight,
                         "gpus": mp.gpus_used(), "pipelines": len(mp.pipelines), "sla_us": spec.sla})
        return rows


# ------------------------------------------------------------------ helpers

def _config_doc(problem: PlanningProblem, d: int, max_parts: int, mps_levels: list[int]) -> dict:
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


def _pipeline(problem: PlanningProblem, d: int, cfg: PipelineConfig, counts: list[int]) -> Pipeline:
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


def _objective(problem: PlanningProblem, xputs: list[float]) -> float:
    return min(x / m.weight for x, m in zip(xputs, problem.models))


def _infeasible(problem: PlanningProblem, scheduler: str, solver: str, message: str, t0: float) -> SolveResult:
    return SolveResult("infeasible", None, None, None, time.perf_counter() - t0, None, scheduler, solver, message)


# ------------------------------------------------------------------ the MILP

@dataclass
class MilpPlanModel:
    model: MilpModel
    configs: list[list[PipelineConfig]]
    y: list[list[int]]
    n: list[list[list[int]]]
    x: list[list[int]]
    T: int


def build_milp(problem: PlanningProblem, configs: list[list[PipelineConfig]], max_parts: int,
               slots: bool = True) -> MilpPlanModel:
    """The MILP over configurations; ``slots=False`` drops the one-pipeline-per-slot
    rows and the binaries (a relaxation, used to bound and to test)."""
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
            per_type: dict[int, float] = {}
            for st in cfg.stages:
                per_type[st.gpu] = per_type.get(st.gpu, 0.0) + 1.0 / (st.k * st.xput)
            cap = min(c.limits[g] / v for g, v in per_type.items())
            ncs = []
            for q, st in enumerate(cfg.stages):
                nmax = min(c.limits[st.gpu] * st.k, math.ceil(cap / st.xput - 1e-9))
                n = M.var(0, nmax, integer=True, name=f"n[{d},{ci},{q}]")
                if slots:
                    M.row({n: 1.0, y: -float(nmax)}, hi=0.0)
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
    add_pool_rows(M, usage, c.limits, unit)
    M.objective({T: 1.0}, maximize=True)
    return MilpPlanModel(M, configs, ys, ns, xs, T)


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
            pipes.append(_pipeline(problem, d, cfg, counts))
        xput = sum(p.xput for p in pipes)
        models.append(ModelPlan(xput=xput, config=_config_doc(problem, d, max_parts, mps_levels),
                                sla=problem.models[d].sla, pipelines=pipes))
    return Plan(models)


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
                       t0: float) -> SolveResult | None:
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
    stats = dict(res.stats, configs=[len(configs)], method="loss-budget",
                 build_seconds=time.perf_counter() - t0 - res.seconds)
    bound = None if res.bound is None else res.bound / w
    if res.objective is None:
        return SolveResult(res.status if res.status != "optimal" else "error", None, bound, None,
                           time.perf_counter() - t0, None, scheduler, res.solver, res.message, stats=stats)
    pipes = [_pipeline(problem, 0, configs[ci], counts) for ci, counts in sorted(lb.counts.items())]
    xput = sum(p.xput for p in pipes)
    plan = Plan([ModelPlan(xput=xput, config=_config_doc(problem, 0, problem.max_parts, mps_levels),
                           sla=spec.sla, pipelines=pipes)])
    objective = xput / w
    if objective <= 0:
        return SolveResult("infeasible", 0.0, bound, None, time.perf_counter() - t0, None, scheduler, res.solver,
                           f"no GPUs can serve {spec.name} within the SLO", stats=stats)
    bound = max(bound, objective) if bound is not None else None
    return SolveResult(res.status, objective, bound, relative_gap(objective, bound), time.perf_counter() - t0,
                       plan, scheduler, res.solver, res.message, stats=stats)


def solve_milp(problem: PlanningProblem, scheduler: str = "ppipe", solver: str = "highs",
               opts: SolveOptions | None = None, fallback: bool = True,
               on_message: Optional[Callable[[str], None]] = None, method: str = "auto") -> SolveResult:
    """Solve the (PPipe) MILP for ``problem`` as stated (P, MPS levels, est_xput).

    ``method`` picks the direct MILP or the exact loss-budget search
    (:mod:`ppipe.loss_budget`); both return a proven optimum."""
    opts = opts or SolveOptions()
    t0 = time.perf_counter()
    method = pick_method(problem, method)
    max_parts = problem.max_parts
    mps_levels = [1] * len(problem.cluster.gpus) if problem.whole_gpus_only else list(problem.cluster.mps_levels)
    configs = [enumerate_configs(problem, d) for d in range(len(problem.models))]
    for spec, cfgs in zip(problem.models, configs):
        if not cfgs:
            return _infeasible(problem, scheduler, solver,
                               f"no pipeline of {spec.name} meets its SLO of {spec.sla / 1000:.1f} ms on "
                               f"{', '.join(problem.cluster.gpus)}", t0)
    if method == "loss-budget":
        out = _solve_loss_budget(problem, configs[0], scheduler, solver, opts, fallback, on_message, mps_levels, t0)
        if out is not None:
            return out
    mpm = build_milp(problem, configs, max_parts)
    res = milp_solve(mpm.model, opts, solver=solver, fallback=fallback, on_fallback=on_message)
    stats = dict(res.stats, configs=[len(c) for c in configs], method="direct",
                 build_seconds=time.perf_counter() - t0 - res.seconds)
    if res.has_solution and problem.fill_leftover and len(problem.models) > 1 and res.status != "cancelled":
        res = _fill_leftover(problem, mpm, res, opts, solver, fallback, t0)
        stats["filled"] = True
    if not res.has_solution:
        status = res.status if res.status != "optimal" else "error"
        return SolveResult(status, None, res.bound, None, time.perf_counter() - t0, None, scheduler, res.solver,
                           res.message, stats=stats)
    plan = _plan_from_solution(problem, mpm, res, max_parts, mps_levels)
    objective = _objective(problem, [m.xput for m in plan.models])
    if objective <= 0:
        starved = [m.name for m in plan.models if m.xput <= 0]
        return SolveResult("infeasible", 0.0, res.bound, None, time.perf_counter() - t0, None, scheduler, res.solver,
                           f"no GPUs can serve {', '.join(starved)} within the SLO", stats=stats)
    return SolveResult(res.status, objective, res.bound, res.gap, time.perf_counter() - t0, plan, scheduler,
                       res.solver, res.message, stats=stats)


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
    second = milp_solve(M, replace(opts, time_limit=left, progress=None), solver=solver, fallback=fallback)
    if not second.has_solution:
        return first
    return replace(first, values=second.values, seconds=first.seconds + second.seconds)


# ------------------------------------------------------------------ schedulers

def np_problem(problem: PlanningProblem) -> PlanningProblem:
    """NP: no partitioning, whole GPUs only."""
    return replace(problem, max_parts=1, whole_gpus_only=True)


def solve_np(problem: PlanningProblem, **kw) -> SolveResult:
    return solve_milp(np_problem(problem), scheduler="np", **kw)


def solve_dart_r(problem: PlanningProblem, solver: str = "highs", opts: SolveOptions | None = None,
                 fallback: bool = True, on_message: Optional[Callable[[str], None]] = None,
                 np_plan: Plan | None = None) -> SolveResult:
    """DART-r: NP splits the GPUs among models; each model then replicates a PPipe
    "unit" of one GPU per type, plus single-GPU NP replicas on the type it has more of.

    NP's max-min optimum often leaves a non-binding model's GPU count free, and
    that split changes DART-r's result; ``np_plan`` imposes a given NP plan's split
    (e.g. the reference's ``_bl`` plan of the same setting) instead of solving NP.
    """
    opts = opts or SolveOptions()
    t0 = time.perf_counter()
    if np_plan is not None:
        if np_plan.model_names != problem.names:
            raise InputError(f"NP plan models {np_plan.model_names} do not match {problem.names}")
        base = SolveResult("optimal", plan=np_plan, scheduler="np", solver="given")
    else:
        base = solve_np(problem, solver=solver, opts=opts, fallback=fallback, on_message=on_message)
    if base.plan is None:
        return replace(base, scheduler="dart-r")
    c = problem.cluster
    G = len(c.gpus)
    whole = []
    for mp in base.plan.models:
        counts = [0] * G
        for pl in mp.pipelines:
            for part in pl.partitions:
                counts[c.gpus.index(part.gpu)] += int(round(part.num_gpu))
        whole.append(counts)
    unused = [c.limits[g] - sum(w[g] for w in whole) for g in range(G)]
    D = len(problem.models)
    own = [[w[g] + unused[g] // D for g in range(G)] for w in whole]
    sub_opts = replace(opts, progress=None)
    models = []
    for d, spec in enumerate(problem.models):
        single = replace(problem, models=[replace(spec, weight=1.0)])
        pipes: list[Pipeline] = []
        counts = own[d]
        if G == 2:
            reps_unit = min(counts)
            more = 0 if counts[0] >= counts[1] else 1
            reps_single = abs(counts[0] - counts[1])
        else:  # generalisation: a unit of one GPU per type, singles on every leftover GPU
            reps_unit = min(counts)
            more, reps_single = None, 0
        if reps_unit > 0:
            unit = replace(single, cluster=c.with_limits([1] * G), whole_gpus_only=True)
            r = solve_milp(unit, scheduler="dart-r", solver=solver, opts=sub_opts, fallback=fallback)
            if r.plan is not None:
                pipes += [_scale(pl, reps_unit) for pl in r.plan.models[0].pipelines]
        singles = []
        if more is not None and reps_single > 0:
            singles.append((more, reps_single))
        elif more is None:
            singles = [(g, counts[g] - reps_unit) for g in range(G) if counts[g] > reps_unit]
        for g, reps in singles:
            lim = [0] * G
            lim[g] = 1
            one = replace(single, cluster=c.with_limits(lim), max_parts=1, whole_gpus_only=True)
            r = solve_milp(one, scheduler="dart-r", solver=solver, opts=sub_opts, fallback=fallback)
            if r.plan is not None:
                pipes += [_scale(pl, reps) for pl in r.plan.models[0].pipelines]
        config = _config_doc(problem, d, problem.max_parts, list(c.mps_levels))
        models.append(ModelPlan(xput=sum(p.xput for p in pipes), config=config, sla=spec.sla, pipelines=pipes))
    plan = Plan(models)
    xputs = [m.xput for m in models]
    objective = _objective(problem, xputs)
    status = "optimal" if objective > 0 else "infeasible"
    return SolveResult(status, objective if objective > 0 else None, None, 0.0 if objective > 0 else None,
                       time.perf_counter() - t0, plan if objective > 0 else None, "dart-r", base.solver,
                       "" if objective > 0 else "DART-r leaves a model without a feasible pipeline",
                       stats={"np_split": whole, "gpus_per_model": own})


def _scale(pl: Pipeline, reps: int) -> Pipeline:
    parts = [replace(p, num_gpu=p.num_gpu * reps, xput=p.xput * reps, extra=dict(p.extra)) for p in pl.partitions]
    return replace(pl, xput=pl.xput * reps, partitions=parts, extra=dict(pl.extra))


def solve_np_single(problem: PlanningProblem, **_ignored) -> SolveResult:
    """Single-model NP (ablation): every GPU of each type runs the whole model at the
    largest batch that meets the SLO; no MILP needed."""
    t0 = time.perf_counter()
    c = problem.cluster
    models = []
    for d, spec in enumerate(problem.models):
        L = spec.profile.num_chunks
        pipes = []
        for g, gpu in enumerate(c.gpus):
            if c.limits[g] <= 0 or not spec.profile.has(gpu, 1):
                continue
            best = None
            for b in range(1, min(problem.max_batch, spec.profile.max_batch(gpu, 1)) + 1):
                lat = spec.profile.lat_infer(gpu, 1, 0, L, b)
                total = lat + batch_build_us(b, spec.est_xput, problem.batch_build_factor) + spec.hist_adjustment
                if total < spec.sla:
                    best = (b, lat)
            if best is None:
                continue
            b, lat = best
            part = Partition(dnn=spec.name, layers=[0, L], gpu=gpu, mps=0, bs=b,
                             num_gpu_per_server=c.gpus_per_server[g], num_gpu=float(c.limits[g]), lat_infer=lat,
                             lat_trans=0.0, xput=c.limits[g] * b * 1e6 / lat)
            pipes.append(Pipeline(xput=part.xput, partitions=[part], est_xput=spec.est_xput,
                                  est_batch_build_lat=batch_build_us(b, spec.est_xput, problem.batch_build_factor),
                                  batch_build_factor=problem.batch_build_factor,
                                  hist_adjustment=spec.hist_adjustment))
        models.append(ModelPlan(xput=sum(p.xput for p in pipes), config=_config_doc(problem, d, 1, [1] * len(c.gpus)),
                                sla=spec.sla, pipelines=pipes))
    objective = _objective(problem, [m.xput for m in models])
    if objective <= 0:
        return SolveResult("infeasible", None, None, None, time.perf_counter() - t0, None, "np-single", "none",
                           "no GPU type can run the whole model within the SLO")
    return SolveResult("optimal", objective, objective, 0.0, time.perf_counter() - t0, Plan(models), "np-single",
                       "none")


def estimate_xput(problem: PlanningProblem, solver: str = "highs", opts: SolveOptions | None = None,
                  fallback: bool = True) -> list[float]:
    """The est_xput flow: NP without est_xput; its per-model throughputs."""
    base = solve_np(problem.with_est_xput([None] * len(problem.models)), solver=solver,
                    opts=replace(opts or SolveOptions(), progress=None), fallback=fallback)
    if base.plan is None:
        raise InputError(f"cannot estimate throughputs: NP is {base.status} ({base.message})")
    return [m.xput for m in base.plan.models]


def solve(problem: PlanningProblem, scheduler: str = "ppipe", solver: str = "highs",
          opts: SolveOptions | None = None, estimate: bool = True, fallback: bool = True,
          on_message: Optional[Callable[[str], None]] = None, np_plan: Plan | None = None,
          method: str = "auto") -> SolveResult:
    """Plan ``problem`` with ``scheduler``; fills est_xput with the NP flow first when
    ``estimate`` and the problem has none (SPEC section 4)."""
    if scheduler not in SCHEDULERS:
        raise InputError(f"unknown scheduler {scheduler!r} (use {', '.join(SCHEDULERS)})")
    if method not in METHODS or scheduler == "ppipe":
        pick_method(problem, method)  # a bad method fails before the est_xput solve
    opts = opts or SolveOptions()
    t0 = time.perf_counter()
    est = None
    if estimate and any(m.est_xput is None for m in problem.models):
        if opts.progress:
            opts.progress(Progress(None, None, None, 0.0, "estimating throughputs (NP without est_xput)"))
        try:
            est = estimate_xput(problem, solver, opts, fallback)
        except InputError as exc:
            return SolveResult("infeasible", message=str(exc), scheduler=scheduler, solver=solver,
                               solve_seconds=time.perf_counter() - t0)
        problem = problem.with_est_xput(est)
    kw = dict(solver=solver, opts=opts, fallback=fallback, on_message=on_message)
    if scheduler == "ppipe":
        res = solve_milp(problem, "ppipe", method=method, **kw)
    elif scheduler == "np":
        res = solve_np(problem, **kw)
    elif scheduler == "dart-r":
        res = solve_dart_r(problem, np_plan=np_plan, **kw)
    else:
        res = solve_np_single(problem)
    res.est_xput = [m.est_xput for m in problem.models]
    res.solve_seconds = time.perf_counter() - t0
    if res.plan is not None and res.plan.models:
        res.plan.models[0].extra = {"mipgap": res.gap if res.gap is not None else 0.0, "runtime": res.solve_seconds}
    return res
