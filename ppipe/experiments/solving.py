"""A setting's plans: solved once, stored in the output folder, reused on re-runs.

SPEC 4's est_xput flow: NP without est_xput first -- the single-model NP in
the ablation, as the artifact does -- and its per-model throughputs become
est_xput for NP, DART-r and PPipe; DART-r reuses the NP plan's GPU split. The
PPipe plan is always solved (it defines load factor 100). Each plan is written
to ``plans/<setting>/`` as soon as it is solved, with its status and times in
``plans/<setting>/solve.json`` (see :mod:`ppipe.experiments.outdir`).
"""

from __future__ import annotations

import time
from pathlib import Path

from ppipe.atomic import write_json_atomic
from ppipe.errors import InputError
from ppipe.experiments import variants as V
from ppipe.experiments.outdir import OutDir, read_json_or_empty
from ppipe.experiments.settings import SINGLE_MODEL_SETS, Setting, resolve_cluster
from ppipe.experiments.spec import ExperimentSpec

_STORES: dict = {}


class NoPlan(InputError):
    """No plan of the setting can meet its SLO: a result (the setting has no load factor 100),
    not a failure that a re-run could fix."""


def profile_store(data: str | None):
    """The profile store of a data folder (None: the default), opened once per process."""
    from ppipe.profiles.store import ProfileStore

    if data not in _STORES:
        _STORES[data] = ProfileStore.open(data)
    return _STORES[data]


def build_setting_problem(s: Setting, spec: ExperimentSpec):
    from ppipe.planning.problem import build_problem

    store = profile_store(spec.data)
    profiles = [store.get(m) for m in s.models]
    weights = list(spec.weights) if spec.weights and len(spec.weights) == len(profiles) else None
    multiplier, discount = s.constants(spec)
    return build_problem(profiles, resolve_cluster(s.cluster), weights, spec.max_parts, multiplier, discount)


def plan_path(out: OutDir, s: Setting, problem, planner: str) -> Path:
    from ppipe.planfile.naming import plan_file_name

    c = problem.cluster
    return out.plans(s) / plan_file_name(list(s.models), problem.weights, list(c.gpus), list(c.limits),
                                         c.bw_gbps, problem.slo_multiplier, planner)


def solve_setting(s: Setting, spec: ExperimentSpec, out: OutDir, threads: int | None = 1) -> dict:
    """Plans of every planner the setting needs (PPipe always), solved or loaded.

    Returns {planner: {"plan": Plan | None, "status", "objective", "solve_seconds", ...}}.
    """
    from ppipe.planfile.plan import read_plan, write_plan
    from ppipe.planning.milp import SolveOptions
    from ppipe.planning.solve import estimate_xput, solve

    problem = build_setting_problem(s, spec)
    planners = {V.get(v).planner for v in s.variants} | {"ppipe"}
    order = sorted(planners, key=lambda p: (p == "ppipe", V.get(p).order))  # NP before DART-r, PPipe last
    info_path = out.plans(s) / "solve.json"
    info = read_json_or_empty(info_path)
    opts = SolveOptions(time_limit=spec.time_limit, threads=threads)
    plans: dict = {}
    est = info.get("est_xput")
    for planner in order:
        path = plan_path(out, s, problem, planner)
        rec = info.get("planners", {}).get(planner)
        if rec is not None and (rec.get("plan") is None or path.exists()):
            plans[planner] = dict(rec, plan=read_plan(path) if rec.get("plan") else None)
            continue
        if est is None:
            t0 = time.perf_counter()
            if spec.set in SINGLE_MODEL_SETS:  # the artifact's single-model flow: NP-single without est_xput
                r = solve(problem.with_est_xput([None] * len(problem.models)), "np-single", estimate=False)
                if r.plan is None:
                    raise (NoPlan if r.status == "infeasible" else InputError)(
                        f"cannot estimate throughputs ({r.message or r.status})")
                est = [m.xput for m in r.plan.models]
            else:
                est = estimate_xput(problem, spec.solver, opts)
            info["est_xput"] = est
            info["est_seconds"] = time.perf_counter() - t0
        np_plan = plans.get("np", {}).get("plan") if planner == "dart-r" else None
        res = solve(problem.with_est_xput(est), planner, solver=spec.solver, opts=opts, estimate=False,
                    np_plan=np_plan)
        retried = None
        if res.plan is None and res.status == "error" and planner == "ppipe" and len(problem.models) == 1:
            # the single-model loss-budget search can end "error" where the direct MILP solves
            # (an empty first item set); the direct MILP is exact too
            retried = res.message or res.status
            res = solve(problem.with_est_xput(est), planner, solver=spec.solver, opts=opts, estimate=False,
                        method="direct")
        rec = {"status": res.status, "objective": res.objective, "gap": res.gap, "bound": res.bound,
               "solve_seconds": res.solve_seconds, "solver": res.solver, "message": res.message,
               "xput": [m.xput for m in res.plan.models] if res.plan else None,
               "plan": path.name if res.plan is not None else None}
        if retried is not None:
            rec["retried_direct_after"] = retried
        if res.plan is not None:
            write_plan(res.plan_for_file(), path)
        info.setdefault("planners", {})[planner] = rec
        write_json_atomic(info_path, info)
        plans[planner] = dict(rec, plan=res.plan)
    return plans
