"""Exact single-model planning by a loss budget.

Why: with P = 3 a single model has thousands of configurations of nearly equal
efficiency, and the direct MILP's bound stays at its LP value (integer instance
counts are what cost the last ~0.5%), so proving optimality takes minutes. Here
the integrality loss is priced instead.

The fluid bound. Drop integrality and per-position rounding: the problem is an LP
with one row per GPU type, ``max sum x_c  s.t.  sum_c a_cg x_c <= limit_g`` where
``a_cg`` is GPUs of type g per req/s of configuration c. Dual prices ``pi_g`` with
``pi . a_c >= 1`` for every c give the bound ``UB = pi . limit``.

The loss identity. For any feasible plan,
``sum x = UB - pi.(idle GPUs) - sum_c loss_c``, with
``loss_c = sum_p pi_{g_p} n_cp / k_cp - x_c >= 0`` (the value of the GPUs a
pipeline holds minus what it serves). Every term is >= 0, so a plan that beats
``UB - budget`` uses only pipelines whose own loss is <= ``budget``.

Items. For one configuration, x only matters at breakpoints ``x = m t_p`` (then
``n_p = ceil(x / t_p)``); the items are the breakpoints with loss <= budget. The
item MILP picks items (binary), rounds GPU use up per (position, type), keeps the
slot rows and the budget row ``sum loss_j u_j <= budget``. Two items of one
configuration merge into one pipeline (add the counts) that serves at least as
much in fewer slots, so items need no per-configuration row; and then an item is
dropped when another of the same type sequence uses no more of any pool and serves
no less (exact).

The search. Solve with budget ``B``; with best value ``V``: if ``V >= UB - B``
nothing outside the items can beat it, so ``V`` is optimal. Else grow ``B`` to
``min(2B, UB - V)`` and repeat. At any time ``max(item bound, UB - B)`` is a valid
bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from ppipe.errors import SolverError
from ppipe.planning.configs import PipelineConfig
from ppipe.planning.milp import MilpModel, MilpResult, Progress, SolveOptions, relative_gap
from ppipe.planning.rows import add_pool_rows, add_slot_rows, gpu_unit
from ppipe.planning.solvers import DEFAULT_SOLVER, solve_model
from ppipe.planning.status import Status

FIRST_BUDGET = 0.0025  # of the fluid bound
MAX_ITEMS = 200_000  # beyond this the caller should use the direct MILP


@dataclass(frozen=True)
class Item:
    """One pipeline of configuration ``config`` with instance ``counts``, serving ``x``."""
    config: int
    x: float
    counts: tuple[int, ...]
    use: tuple[int, ...]  # per stage, in 1/lcm(k) GPU units
    loss: float


def gpu_per_xput(cfg: PipelineConfig, num_types: int) -> np.ndarray:
    """GPUs of each type one req/s of this configuration occupies (fluid, no rounding)."""
    a = np.zeros(num_types)
    for st in cfg.stages:
        a[st.gpu] += 1.0 / (st.k * st.xput)
    return a


def fluid_bound(A: np.ndarray, limits: np.ndarray, threads: int | None = None,
                solver: str = DEFAULT_SOLVER) -> tuple[float, np.ndarray]:
    """Upper bound and GPU prices from the LP ``max 1.x, A x <= limits`` (A: types x configs).

    The prices are scaled so that ``pi . a_c >= 1`` holds exactly for every
    configuration; then ``pi . limits`` is a valid bound by weak duality."""
    G, C = A.shape
    M = MilpModel("fluid")
    xs = [M.var(0.0) for _ in range(C)]
    for g in range(G):
        nz = np.flatnonzero(A[g])
        M.row([(xs[i], float(A[g, i])) for i in nz], hi=float(limits[g]))
    M.objective({x: 1.0 for x in xs}, maximize=True)
    res = solve_model(M, SolveOptions(threads=threads), solver=solver)
    if res.status != Status.OPTIMAL or res.duals is None:
        raise SolverError(f"the fluid LP ended {res.status} ({res.message or 'no row prices'})")
    pi = np.abs(res.duals)
    cover = pi @ A
    low = float(cover.min()) if C else 1.0
    if low <= 0:  # a configuration on unpriced types only: give every type a small price
        used = np.where(A > 0, A, np.inf).min(axis=1)
        pi = np.maximum(pi, 1e-3 / np.where(np.isfinite(used), used, 1.0))
        low = float((pi @ A).min())
    if low < 1.0:
        pi = pi / low
    return float(pi @ limits), pi


def pipeline_loss(counts: np.ndarray, x: np.ndarray, price_per_instance: np.ndarray) -> np.ndarray:
    """loss = value of the GPUs held (price / k per instance) minus throughput; rows are candidates."""
    return counts @ price_per_instance - x


def config_items(ci: int, cfg: PipelineConfig, pi: np.ndarray, limits: np.ndarray, budget: float,
                 unit: int) -> list[Item]:
    """The breakpoints of configuration ``ci`` whose loss is <= ``budget``."""
    t = np.array([st.xput for st in cfg.stages])
    k = np.array([st.k for st in cfg.stages])
    g = np.array([st.gpu for st in cfg.stages])
    a = gpu_per_xput(cfg, len(limits))
    rc = float(pi @ a) - 1.0  # loss per req/s before rounding, >= 0
    xmax = min(float(limits[j] / a[j]) for j in range(len(limits)) if a[j] > 0)
    if rc > 1e-12:
        xmax = min(xmax, budget / rc)
    tol = 1e-9 * max(1.0, budget)
    # m t_p <= xmax up to rounding: the cap is often exactly a breakpoint (a full pool)
    cand = np.unique(np.concatenate([np.arange(1, math.floor(xmax / tp * (1 + 1e-9)) + 1) * tp for tp in t]))
    if not len(cand):
        return []
    counts = np.ceil(cand[:, None] / t[None, :] - 1e-9)
    loss = pipeline_loss(counts, cand, pi[g] / k)
    ok = loss <= budget + tol
    # no pool can hold more instances than its GPU type has
    ok &= (counts <= (limits[g] * k)[None, :]).all(axis=1)
    out = []
    for j in np.flatnonzero(ok):
        n = counts[j].astype(int)
        out.append(Item(ci, float(cand[j]), tuple(int(v) for v in n),
                        tuple(int(v) * (unit // int(kk)) for v, kk in zip(n, k)), float(max(loss[j], 0.0))))
    return out


def pareto_items(items: list[Item], configs: list[PipelineConfig]) -> list[Item]:
    """Drop items another item of the same type sequence beats: no more of any pool, x no lower."""
    groups: dict[tuple[int, ...], list[Item]] = {}
    for it in items:
        groups.setdefault(configs[it.config].gpu_seq, []).append(it)
    kept: list[Item] = []
    for seq in sorted(groups):
        lst = sorted(groups[seq], key=lambda it: (-it.x, it.use, it.config))
        U = np.array([it.use for it in lst])
        alive = np.ones(len(lst), dtype=bool)
        for i in range(len(lst)):
            if alive[i]:
                later = alive[i + 1:]
                later &= ~(U[i][None, :] <= U[i + 1:]).all(axis=1)
        kept.extend(it for it, a in zip(lst, alive) if a)
    return kept


def build_item_milp(items: list[Item], configs: list[PipelineConfig], limits: np.ndarray, max_parts: int,
                    budget: float, unit: int) -> MilpModel:
    """Binary per item; pools rounded up per (position, type); slot rows; the budget row."""
    M = MilpModel("ppipe-items")
    us = [M.var(0, 1, integer=True, name=f"u[{j}]") for j in range(len(items))]
    usage: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for u, it in zip(us, items):
        for q, (st, use) in enumerate(zip(configs[it.config].stages, it.use)):
            usage.setdefault((q, st.gpu), []).append((u, float(use)))
    add_pool_rows(M, usage, limits, unit)
    add_slot_rows(M, [(configs[it.config].gpu_seq, u) for u, it in zip(us, items)], len(limits), max_parts)
    M.row({u: it.loss for u, it in zip(us, items)}, hi=float(budget))
    M.objective({u: it.x for u, it in zip(us, items)}, maximize=True)
    return M


@dataclass
class LossBudgetResult:
    """A MilpResult in throughput units plus the chosen counts per configuration."""
    result: MilpResult  # stats: fluid_bound, loss_budget, items, and the per-round log
    counts: dict[int, list[int]]


def merge_items(chosen: list[Item]) -> dict[int, list[int]]:
    """Items of one configuration become one pipeline: instance counts add."""
    out: dict[int, list[int]] = {}
    for it in chosen:
        cur = out.setdefault(it.config, [0] * len(it.counts))
        for p, n in enumerate(it.counts):
            cur[p] += n
    return out


def solve_single(configs: list[PipelineConfig], limits: list[int] | tuple[int, ...], max_parts: int,
                 opts: SolveOptions, solver: str = "highs", fallback: bool = True,
                 on_fallback=None) -> LossBudgetResult | None:
    """Maximise one model's throughput exactly; None when the items would be too many."""
    t0 = time.perf_counter()
    lim = np.asarray(limits, dtype=float)
    G = len(lim)
    A = np.stack([gpu_per_xput(c, G) for c in configs], axis=1)
    ub, pi = fluid_bound(A, lim, opts.threads, solver)
    unit = gpu_unit(configs)
    budget = FIRST_BUDGET * ub
    best: tuple[float, list[Item]] | None = None
    last: MilpResult | None = None
    n_items = 0
    log: list[dict] = []  # per round: budget, items, seconds, status, value

    def bound_now(item_bound: float | None) -> float:
        b = ub - budget
        if item_bound is not None:
            b = max(b, item_bound)
        return min(b, ub)

    while True:
        items = [it for ci, c in enumerate(configs) for it in config_items(ci, c, pi, lim, budget, unit)]
        if len(items) > MAX_ITEMS:
            return None
        items = pareto_items(items, configs)
        n_items = len(items)
        M = build_item_milp(items, configs, lim, max_parts, budget, unit)
        remaining = None
        if opts.time_limit is not None:
            remaining = max(opts.time_limit - (time.perf_counter() - t0), 1e-3)
        best_x = best[0] if best else None

        def relay(p: Progress, best_x=best_x) -> None:
            found = [v for v in (p.incumbent, best_x) if v is not None]
            inc = max(found) if found else None
            bnd = bound_now(p.bound) if p.bound is not None else ub
            if inc is not None:
                bnd = max(bnd, inc)
            opts.progress(Progress(inc, bnd, relative_gap(inc, bnd), time.perf_counter() - t0,
                                   p.message or f"loss budget {budget:.4g} ({n_items} items)"))

        sub = replace(opts, time_limit=remaining, progress=relay if opts.progress else None)
        last = solve_model(M, sub, solver=solver, fallback=fallback, on_fallback=on_fallback)
        value = None
        if last.has_solution:
            chosen = [it for it, v in zip(items, last.values) if v > 0.5]
            value = sum(it.x for it in chosen)
            if best is None or value > best[0]:
                best = (value, chosen)
        log.append({"budget": budget, "items": n_items, "seconds": last.seconds, "status": last.status,
                    "value": value})
        if last.status != "optimal" and last.status != "infeasible":
            break  # time limit, cancel or error: report what we have
        if best is not None and best[0] >= (ub - budget) * (1 - 1e-12):
            break  # proven: nothing outside the items beats it
        if budget >= ub:
            break  # every plan was in reach: the item MILP was exact
        budget = min(2 * budget, ub - best[0] if best else ub)
        budget = max(budget, 1e-9 * ub)
    seconds = time.perf_counter() - t0
    stats = {"rounds": log, "items": n_items, "fluid_bound": ub, "loss_budget": budget}
    if best is None:
        status = last.status if last.status != Status.OPTIMAL else Status.INFEASIBLE
        return LossBudgetResult(MilpResult(status, None, None, None, seconds, None, last.solver, last.message,
                                           stats=stats), {})
    value, chosen = best
    # the item MILP always has the empty plan, so "infeasible" never ends a round in practice
    status = Status.OPTIMAL if last.status in (Status.OPTIMAL, Status.INFEASIBLE) else last.status
    bound = max(value, bound_now(last.bound))
    res = MilpResult(status, value, bound, relative_gap(value, bound), seconds, None, last.solver, last.message,
                     stats=stats)
    return LossBudgetResult(res, merge_items(chosen))
