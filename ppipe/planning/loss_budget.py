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
item MILP picks items (binary), rounds GPU use up per (position, type) and keeps the
slot rows (the budget row ``sum loss_j u_j <= budget`` is optional: every item plan is
a real plan, so the MILP without it is still a restriction of the problem, and HiGHS
is about twice as fast without it). Two items of one
configuration merge into one pipeline (add the counts) that serves at least as
much in fewer slots, so items need no per-configuration row; and then an item is
dropped when another of the same type sequence uses no more of any pool and serves
no less (exact).

The search. Solve with budget ``B``; with best value ``V``: if ``V >= UB - B``
nothing outside the items can beat it, so ``V`` is optimal. Else grow ``B`` to
``min(2B, UB - V)`` and repeat. At any time ``max(item bound, UB - B)`` is a valid
bound.

Speed (issue 14). Items of all configurations come from one numpy pass per stage
count (:func:`all_items`, the items of :func:`config_items`). Only a plan worth at
least ``target = max(UB - B, best so far)`` can end or improve a round, so each
round first solves the item MILP's LP relaxation (value ``z``): an item at 0 there
with reduced cost ``d`` caps every plan using it at ``z - |d|`` (LP duality), and
items whose cap is below the target are dropped before the MILP
(:func:`fix_by_reduced_cost`; typically 90% of them). ``z < target`` skips the round's
MILP altogether. vit_b_16 with P = 4 on HC2: 20 s before, about 3 s after.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from ppipe.errors import SolverError
from ppipe.planning.configs import PipelineConfig
from ppipe.planning.milp import MilpModel, MilpResult, Progress, SolveOptions, relative_gap, relaxed
from ppipe.planning.rows import add_pool_rows, add_slot_rows, gpu_unit
from ppipe.planning.solvers import DEFAULT_SOLVER, solve_model
from ppipe.planning.status import Status

FIRST_BUDGET = 0.0025  # of the fluid bound
MAX_ITEMS = 200_000  # beyond this the caller should use the direct MILP
BUDGET_GROWTH = 2.0  # the budget of the next round, at most (it is UB - best when that is less)


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


class ConfigArrays:
    """Every configuration's stage numbers as arrays, grouped by stage count, built once
    per solve so that each budget round generates its items in a few numpy passes."""

    def __init__(self, configs: list[PipelineConfig], limits: np.ndarray):
        self.num_types = len(limits)
        self.limits = np.asarray(limits, dtype=float)
        self.A = (np.stack([gpu_per_xput(c, self.num_types) for c in configs])
                  if configs else np.zeros((0, self.num_types)))
        with np.errstate(divide="ignore"):
            ratio = np.where(self.A > 0, self.limits[None, :] / np.where(self.A > 0, self.A, 1.0), np.inf)
        self.xlim = ratio.min(axis=1) if configs else np.zeros(0)  # throughput cap from the pools
        self.groups: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # (index, t, k, g)
        by_len: dict[int, list[int]] = {}
        for ci, c in enumerate(configs):
            by_len.setdefault(len(c.stages), []).append(ci)
        for m, members in sorted(by_len.items()):
            idx = np.array(members, dtype=np.int64)
            t = np.array([[st.xput for st in configs[ci].stages] for ci in members], dtype=float).reshape(-1, m)
            k = np.array([[st.k for st in configs[ci].stages] for ci in members], dtype=np.int64).reshape(-1, m)
            g = np.array([[st.gpu for st in configs[ci].stages] for ci in members], dtype=np.int64).reshape(-1, m)
            self.groups.append((idx, t, k, g))


class TooManyItems(Exception):
    """More items than :data:`MAX_ITEMS`: the caller should use the direct MILP."""


#: Candidate breakpoints handled at once (bounds the temporary arrays of item generation).
_CANDIDATES_AT_ONCE = 1 << 21


def all_items(arrays: ConfigArrays, pi: np.ndarray, budget: float, unit: int,
              max_items: int = MAX_ITEMS) -> list[Item]:
    """``config_items`` of every configuration, in configuration order (the same items),
    computed group by group with numpy; raises :class:`TooManyItems` past ``max_items``."""
    rc = arrays.A @ pi - 1.0
    xmax = arrays.xlim.copy()
    pos = rc > 1e-12
    xmax[pos] = np.minimum(xmax[pos], budget / rc[pos])
    tol = 1e-9 * max(1.0, budget)
    lim = arrays.limits
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # ci, x, counts, k, loss
    total = 0
    for idx, t, k, g in arrays.groups:
        m = t.shape[1]
        reps = np.floor(xmax[idx][:, None] / t * (1 + 1e-9))
        reps = np.where(np.isfinite(reps), np.maximum(reps, 0), 0).astype(np.int64)  # (configs, stages)
        per_config = reps.sum(axis=1)
        price = pi[g] / k
        cap = lim[g] * k
        start = 0
        while start < len(idx):
            # configurations whose candidates fit in one piece (at least one configuration)
            cum = np.cumsum(per_config[start:])
            stop = start + max(1, int(np.searchsorted(cum, _CANDIDATES_AT_ONCE, side="right")))
            sel = np.arange(start, stop)
            r = reps[sel].reshape(-1)
            n = int(r.sum())
            start = stop
            if n == 0:
                continue
            owner = np.repeat(np.repeat(sel, m), r)  # row in the group
            step = np.repeat(np.tile(np.arange(m), len(sel)), r)
            first = np.repeat(np.cumsum(r) - r, r)
            j = np.arange(n) - first + 1
            x = j * t[owner, step]
            order = np.lexsort((x, owner))
            owner, x = owner[order], x[order]
            keep = np.ones(n, dtype=bool)
            keep[1:] = (owner[1:] != owner[:-1]) | (x[1:] != x[:-1])
            owner, x = owner[keep], x[keep]
            counts = np.ceil(x[:, None] / t[owner] - 1e-9)
            loss = np.einsum("ij,ij->i", counts, price[owner]) - x
            ok = (loss <= budget + tol) & (counts <= cap[owner]).all(axis=1)
            if ok.any():
                found.append((idx[owner[ok]], x[ok], counts[ok], k[owner[ok]], loss[ok]))
                total += int(ok.sum())
                if total > max_items:
                    raise TooManyItems(f"more than {max_items} items")
    if not found:
        return []
    ci = np.concatenate([f[0] for f in found])
    x = np.concatenate([f[1] for f in found])
    order = np.lexsort((x, ci))  # configuration order, then throughput (config_items' order)
    out: list[Item] = []
    for c_i, x_i, counts, kk, loss in found:
        n_all = counts.astype(np.int64).tolist()
        use_all = (counts.astype(np.int64) * (unit // kk)).tolist()
        for a, (n, use) in enumerate(zip(n_all, use_all)):
            out.append(Item(int(c_i[a]), float(x_i[a]), tuple(n), tuple(use), float(max(loss[a], 0.0))))
    return [out[i] for i in order]


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
                    budget: float, unit: int, budget_row: bool = True) -> MilpModel:
    """Binary per item (variables 0..len(items)-1); pools rounded up per (position, type);
    slot rows; the budget row (optional: it only prunes plans whose loss exceeds the
    budget, which are worth less than ``UB - budget`` anyway, and it slows HiGHS)."""
    M = MilpModel("ppipe-items")
    us = [M.var(0, 1, integer=True, name=f"u[{j}]") for j in range(len(items))]
    usage: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for u, it in zip(us, items):
        for q, (st, use) in enumerate(zip(configs[it.config].stages, it.use)):
            usage.setdefault((q, st.gpu), []).append((u, float(use)))
    add_pool_rows(M, usage, limits, unit)
    add_slot_rows(M, [(configs[it.config].gpu_seq, u) for u, it in zip(us, items)], len(limits), max_parts)
    if budget_row:
        M.row({u: it.loss for u, it in zip(us, items)}, hi=float(budget))
    M.objective({u: it.x for u, it in zip(us, items)}, maximize=True)
    return M


def fix_by_reduced_cost(M: MilpModel, n_items: int, target: float, opts: SolveOptions, solver: str,
                        fallback: bool = True) -> tuple[np.ndarray, float | None]:
    """Items that no solution worth ``target`` or more can use, by LP reduced costs.

    Solve the LP relaxation (value ``z``); an item at 0 there with reduced cost ``d`` caps
    every solution that uses it at ``z - |d|`` (LP duality), so when that is below
    ``target`` the item can go. Returns (mask of the items to keep, z); keeps all when
    the LP gives no reduced costs. ``z < target`` means no solution reaches the target."""
    keep = np.ones(n_items, dtype=bool)
    lp = solve_model(relaxed(M), SolveOptions(threads=opts.threads, cancel=opts.cancel,
                                              time_limit=opts.time_limit), solver=solver, fallback=fallback)
    if lp.status != Status.OPTIMAL or lp.values is None:
        return keep, None
    z = float(lp.objective)
    if lp.reduced is None:
        return keep, z
    at_zero = lp.values[:n_items] <= 1e-9
    tol = 1e-7 * max(1.0, abs(z))  # above the LP's primal and dual feasibility tolerances
    keep &= ~(at_zero & (z - np.abs(lp.reduced[:n_items]) < target - tol))
    return keep, z


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

    arrays = ConfigArrays(configs, lim)
    while True:
        try:
            items = all_items(arrays, pi, budget, unit)
        except TooManyItems:
            return None
        items = pareto_items(items, configs)
        n_items = len(items)
        remaining = None
        if opts.time_limit is not None:
            remaining = max(opts.time_limit - (time.perf_counter() - t0), 1e-3)
        best_x = best[0] if best else None
        # Only a plan worth at least UB - budget (or the best so far) proves anything in
        # this round: items that no such plan can use are dropped by reduced cost.
        target = max(ub - budget, best_x if best_x is not None else -math.inf)
        M = build_item_milp(items, configs, lim, max_parts, budget, unit, budget_row=False)
        keep, lp_value = np.ones(len(items), dtype=bool), 0.0
        if items:
            keep, lp_value = fix_by_reduced_cost(M, len(items), target, replace(opts, time_limit=remaining), solver,
                                                 fallback)
        below = lp_value is not None and lp_value < target - 1e-7 * max(1.0, abs(lp_value))
        if below or not keep.any():
            # no item plan reaches the target (or reduced costs leave no item, an empty model):
            # the optimum is below UB - budget
            log.append({"budget": budget, "items": n_items, "kept": 0, "seconds": 0.0, "status": Status.OPTIMAL,
                        "value": None, "lp": lp_value})
            last = MilpResult(Status.OPTIMAL, None, lp_value, None, 0.0, None, solver)
            if budget >= ub:
                break
            budget = min(BUDGET_GROWTH * budget, ub - best[0] if best else ub)
            budget = max(budget, 1e-9 * ub)
            continue
        if not keep.all():
            items = [it for it, k in zip(items, keep) if k]
            M = build_item_milp(items, configs, lim, max_parts, budget, unit, budget_row=False)

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
        log.append({"budget": budget, "items": n_items, "kept": len(items), "seconds": last.seconds,
                    "status": last.status, "value": value, "lp": lp_value})
        if last.status != "optimal" and last.status != "infeasible":
            break  # time limit, cancel or error: report what we have
        if best is not None and best[0] >= (ub - budget) * (1 - 1e-12):
            break  # proven: nothing outside the items beats it
        if budget >= ub:
            break  # every plan was in reach: the item MILP was exact
        budget = min(BUDGET_GROWTH * budget, ub - best[0] if best else ub)
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
