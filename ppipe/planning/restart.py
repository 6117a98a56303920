"""The direct MILP's priced restart: once a plan is known, drop what cannot beat it.

Why: on several models and GPU types HiGHS finds a near-optimal plan in a second or
two but then spends most of the solve proving it, over every configuration and the
full range of instance counts. A known plan at level ``V`` bounds what a better plan
can look like, exactly, through the max-min fluid LP's prices.

The prices. The fluid LP ``max T  s.t.  T w_d <= sum_c x_c,  sum_c a_cg x_c <= L_g``
has duals ``mu_d`` (models) and ``pi_g`` (GPU types); scaled so that
``sum_d mu_d w_d = 1`` and ``pi . a_c >= mu_d`` for every configuration c of model d,
``UB = pi . L`` bounds T (weak duality).

The loss identity. For any plan at level T, with ``z`` its pools (GPUs per model,
position and type, rounded up) and ``x_c`` its pipelines' throughputs:
``sum_g pi_g sum z_dqg <= pi . L = UB`` and ``sum_d mu_d X_d >= sum_d mu_d w_d T = T``,
so ``sum pi z - sum mu x <= UB - T``. The left side is the sum of the pipelines'
losses ``loss_c = sum_p pi_{g_p} n_p / k_p - mu_d x_c >= 0`` plus the pools' rounding,
all >= 0. A plan at level >= V therefore

* satisfies the budget row ``sum pi z - sum mu x <= B = UB - V`` (added to the MILP),
* uses only pipelines whose loss is <= B. Serving at its breakpoint
  ``x = min_p n_p t_p`` never costs more, so a configuration whose every breakpoint
  has loss > B is dropped, and one whose largest breakpoint within the budget is
  ``xbar`` gets ``x_c <= xbar`` (and its instance counts ``ceil(xbar / t_p)``).

Per-model budgets. With ``C_d``, a lower bound on what model d's own plans that serve
``w_d V`` spend (``pi . z_d``, pools rounded; one single-model MILP each), a plan at level
>= V spends at most ``pi . L - sum_{e != d} C_e`` on model d and earns at least
``mu_d w_d V``: model d's pipelines lose at most ``B_d`` = the difference
(:func:`model_budgets`), and ``pi . z_d >= C_d`` is a valid row. With many models their
rounding adds up and these budgets are far smaller than the shared one.

The restart keeps every plan at level >= V, so its optimum (or V's plan) is the
optimum; its bound, with V, is a valid bound.
"""

from __future__ import annotations

import math

import numpy as np

from ppipe.planning.configs import PipelineConfig
from ppipe.planning.loss_budget import gpu_per_xput
from ppipe.planning.milp import MilpModel, SolveOptions
from ppipe.planning.solvers import DEFAULT_SOLVER, solve_model
from ppipe.planning.status import Status

#: Breakpoints examined per configuration, at most (beyond it the cap stays the pool cap).
MAX_BREAKPOINTS = 20_000


def fleet_prices(configs: list[list[PipelineConfig]], weights: list[float], limits,
                 solver: str = DEFAULT_SOLVER, threads: int | None = None) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(UB, pi, mu) of the max-min fluid LP, scaled as the module docstring says; None
    when the LP does not solve."""
    L = np.asarray(limits, dtype=float)
    G = len(L)
    M = MilpModel("fleet-fluid")
    T = M.var(0.0)
    rows: list[dict[int, float]] = [dict() for _ in range(G)]
    A_all = []
    for d, cfgs in enumerate(configs):
        A = np.stack([gpu_per_xput(c, G) for c in cfgs])
        A_all.append(A)
        xd = [M.var(0.0) for _ in cfgs]
        for i, x in enumerate(xd):
            for g in np.flatnonzero(A[i]):
                rows[g][x] = float(A[i, g])
        M.row({T: float(weights[d]), **{x: -1.0 for x in xd}}, hi=0.0)
    for g in range(G):
        M.row(rows[g] or {T: 0.0}, hi=float(L[g]))
    M.objective({T: 1.0}, maximize=True)
    res = solve_model(M, SolveOptions(threads=threads), solver=solver)
    if res.status != Status.OPTIMAL or res.duals is None:
        return None
    D = len(configs)
    mu = np.abs(res.duals[:D])
    pi = np.abs(res.duals[D:D + G])
    s = float(mu @ np.asarray(weights, dtype=float))
    if not s > 0:
        return None
    mu = mu / s  # sum mu w = 1
    for d, A in enumerate(A_all):  # pi . a_c >= mu_d for every configuration
        low = float((A @ pi).min())
        if mu[d] > 0 and low < mu[d]:
            if low <= 0:
                return None
            pi = pi * (mu[d] / low)
    return float(pi @ L), pi, mu


def budget_caps(cfg: PipelineConfig, pi: np.ndarray, mu: float, limits: np.ndarray,
                budget: float) -> float | None:
    """The largest breakpoint throughput of ``cfg`` whose loss is <= ``budget`` (None:
    none is), capped by the pools; the cap itself when there are too many to check."""
    t = np.array([st.xput for st in cfg.stages])
    k = np.array([st.k for st in cfg.stages])
    g = np.array([st.gpu for st in cfg.stages])
    a = gpu_per_xput(cfg, len(limits))
    xmax = min(float(limits[j] / a[j]) for j in range(len(limits)) if a[j] > 0)
    rc = float(pi @ a) - mu
    if rc > 1e-12:
        xmax = min(xmax, budget / rc)
    reps = np.floor(xmax / t * (1 + 1e-9))
    if reps.sum() > MAX_BREAKPOINTS:
        return xmax * (1 + 1e-9)
    cand = np.unique(np.concatenate([np.arange(1, int(m) + 1) * tp for m, tp in zip(reps, t)]))
    if not len(cand):
        return None
    counts = np.ceil(cand[:, None] / t[None, :] - 1e-9)
    loss = counts @ (pi[g] / k) - mu * cand
    ok = loss <= budget + 1e-9 * max(1.0, budget)
    ok &= (counts <= (limits[g] * k)[None, :]).all(axis=1)
    if not ok.any():
        return None
    return float(cand[ok].max()) * (1 + 1e-12)


def model_budgets(pi: np.ndarray, mu: np.ndarray, weights, limits, costs, level: float) -> np.ndarray:
    """Each model's loss budget at level ``level`` from per-model integer costs.

    ``costs[d]`` is a lower bound on ``pi . z`` over model d's own plans serving
    ``w_d level`` (pools rounded, see :func:`ppipe.planning.planner.model_costs`). A plan at
    level >= ``level`` spends at most ``pi . L - sum_{e != d} costs[e]`` on model d and earns
    at least ``mu_d w_d level``, so model d's pipelines lose at most the difference."""
    spare = float(pi @ np.asarray(limits, dtype=float)) - float(np.sum(costs))
    w = np.asarray(weights, dtype=float)
    return np.maximum(spare + np.asarray(costs, dtype=float) - mu * w * level, 0.0)


def single_pipeline_cost(configs: list[PipelineConfig], xput: float, pi: np.ndarray, limits) -> float:
    """The least ``pi . z`` of a plan of one model that serves ``xput`` with one pipeline
    (each stage's instances rounded up, then its pool's GPUs; within ``limits``): a cost a
    model's plans can reach, so an upper bound on the least (:func:`ppipe.planning.planner.model_costs`
    restricts its MILP with it). ``inf`` when no configuration fits alone."""
    L = np.asarray(limits, dtype=float)
    best = math.inf
    for cfg in configs:
        gpus = np.zeros(len(L))
        for st in cfg.stages:
            gpus[st.gpu] += math.ceil(math.ceil(xput / st.xput - 1e-9) / st.k - 1e-9)
        if (gpus <= L).all():
            best = min(best, float(pi @ gpus))
    return best


def restricted(configs: list[list[PipelineConfig]], pi: np.ndarray, mu: np.ndarray, limits,
               budget) -> tuple[list[list[PipelineConfig]], list[list[float]], list[list[int]]]:
    """Per model: the configurations some breakpoint of which fits the budget (one for all,
    or one per model), their throughput caps, and their indices in ``configs``."""
    L = np.asarray(limits, dtype=float)
    budgets = np.broadcast_to(np.asarray(budget, dtype=float), (len(configs),))
    kept, caps, index = [], [], []
    for d, cfgs in enumerate(configs):
        kd, cd, idx = [], [], []
        for ci, cfg in enumerate(cfgs):
            cap = budget_caps(cfg, pi, float(mu[d]), L, float(budgets[d]))
            if cap is not None:
                kd.append(cfg)
                cd.append(cap)
                idx.append(ci)
        kept.append(kd)
        caps.append(cd)
        index.append(idx)
    return kept, caps, index


def start_values(mpm, first_mpm, values: np.ndarray, index: list[list[int]]) -> np.ndarray | None:
    """The first solve's plan in the restarted model's variables (counts trimmed to what
    each pipeline's throughput needs, pools recomputed); None if it does not map."""
    M = mpm.model
    start = np.zeros(M.num_vars)
    pools: dict[tuple[int, int, int], int] = {}
    unit = mpm.unit
    where = [{ci: j for j, ci in enumerate(idx)} for idx in index]
    for d, cfgs in enumerate(first_mpm.configs):
        for ci, cfg in enumerate(cfgs):
            x = float(values[first_mpm.x[d][ci]])
            n_old = [int(round(values[v])) for v in first_mpm.n[d][ci]]
            y = first_mpm.y[d][ci]
            if x <= 1e-9 or min(n_old) <= 0 or (y is not None and values[y] < 0.5):
                continue
            j = where[d].get(ci)
            if j is None:
                return None
            n = [min(no, max(1, math.ceil(x / st.xput - 1e-9))) for no, st in zip(n_old, cfg.stages)]
            x = min(x, min(k * st.xput for k, st in zip(n, cfg.stages)))
            for var, k in zip(mpm.n[d][j], n):
                if k > M.ub[var]:
                    return None
                start[var] = k
            start[mpm.x[d][j]] = x
            if mpm.y[d][j] is not None:
                start[mpm.y[d][j]] = 1.0
            for q, (st, k) in enumerate(zip(cfg.stages, n)):
                key = (d, q, st.gpu)
                pools[key] = pools.get(key, 0) + k * (unit // st.k)
    for key, units in pools.items():
        if key not in mpm.z:
            return None
        start[mpm.z[key]] = -(-units // unit)
    start[mpm.T] = float(values[first_mpm.T])
    return mpm.fill_totals(start)
