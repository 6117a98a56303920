"""The baselines PPipe is compared with: NP, DART-r and single-model NP (SPEC 4).

Each is a scheduler of :mod:`ppipe.schedulers`; NP and DART-r reuse the PPipe
MILP (:mod:`ppipe.planning.planner`) on restricted problems.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable, Optional

from ppipe.errors import InputError
from ppipe.planfile.plan import ModelPlan, Partition, Pipeline, Plan
from ppipe.planning.configs import batch_build_us
from ppipe.planning.milp import SolveOptions
from ppipe.planning.planner import config_doc, objective_of, solve_milp
from ppipe.planning.problem import PlanningProblem
from ppipe.planning.results import SolveResult
from ppipe.planning.status import Status


def np_problem(problem: PlanningProblem) -> PlanningProblem:
    """NP: no partitioning, whole GPUs only."""
    return replace(problem, max_parts=1, whole_gpus_only=True)


def solve_np(problem: PlanningProblem, *, solver: str = "highs", opts: SolveOptions | None = None,
             fallback: bool = True, on_message: Optional[Callable[[str], None]] = None, **_ignored) -> SolveResult:
    return solve_milp(np_problem(problem), scheduler="np", solver=solver, opts=opts, fallback=fallback,
                      on_message=on_message)


def solve_dart_r(problem: PlanningProblem, *, solver: str = "highs", opts: SolveOptions | None = None,
                 fallback: bool = True, on_message: Optional[Callable[[str], None]] = None,
                 np_plan: Plan | None = None, **_ignored) -> SolveResult:
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
        base = SolveResult(status=Status.OPTIMAL, plan=np_plan, scheduler="np", solver="given")
    else:
        base = solve_np(problem, solver=solver, opts=opts, fallback=fallback, on_message=on_message)
    if base.plan is None:
        # the bound and gap were NP's, not DART-r's
        return replace(base, scheduler="dart-r", bound=None, gap=None)
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
        config = config_doc(problem, d, problem.max_parts, list(c.mps_levels))
        models.append(ModelPlan(xput=sum(p.xput for p in pipes), config=config, sla=spec.sla, pipelines=pipes))
    plan = Plan(models)
    objective = objective_of(problem, [m.xput for m in models])
    stats = {"np_split": whole, "gpus_per_model": own}
    if objective <= 0:
        return SolveResult(status=Status.INFEASIBLE, solve_seconds=time.perf_counter() - t0, scheduler="dart-r",
                           solver=base.solver, message="DART-r leaves a model without a feasible pipeline",
                           stats=stats)
    # DART-r is a construction, not an optimisation: it has no bound of its own
    return SolveResult(status=Status.OPTIMAL, objective=objective, gap=0.0, solve_seconds=time.perf_counter() - t0,
                       plan=plan, scheduler="dart-r", solver=base.solver, stats=stats)


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
        models.append(ModelPlan(xput=sum(p.xput for p in pipes), config=config_doc(problem, d, 1, [1] * len(c.gpus)),
                                sla=spec.sla, pipelines=pipes))
    objective = objective_of(problem, [m.xput for m in models])
    if objective <= 0:
        return SolveResult(status=Status.INFEASIBLE, solve_seconds=time.perf_counter() - t0, scheduler="np-single",
                           solver="none", message="no GPU type can run the whole model within the SLO")
    return SolveResult(status=Status.OPTIMAL, objective=objective, bound=objective, gap=0.0,
                       solve_seconds=time.perf_counter() - t0, plan=Plan(models), scheduler="np-single", solver="none")
