"""A tiny solver-neutral MILP model, and the backends that solve it.

The planner states its problem once (:class:`MilpModel`) and any backend
solves it: HiGHS through ``highspy`` (default, no licence) or Gurobi through
``gurobipy`` (optional). Results are solver-neutral (:class:`MilpResult`:
status, objective, bound, gap, time, values), as in linopy. A progress
callback sees (incumbent, bound, gap, elapsed) and a ``threading.Event``
cancels a solve, keeping the best solution found so far.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ppipe.errors import SolverError

INF = math.inf


@dataclass
class Progress:
    incumbent: float | None
    bound: float | None
    gap: float | None
    elapsed: float
    message: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class SolveOptions:
    time_limit: float | None = None
    mip_rel_gap: float = 1e-6
    threads: int | None = None
    progress: Optional[ProgressCallback] = None
    cancel: Optional[threading.Event] = None
    seed: int = 0


class MilpModel:
    """Variables, linear rows and a linear objective (maximised or minimised)."""

    def __init__(self, name: str = "ppipe"):
        self.name = name
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.integer: list[bool] = []
        self.names: list[str] = []
        self.obj: dict[int, float] = {}
        self.maximize = True
        self.row_lo: list[float] = []
        self.row_hi: list[float] = []
        self.row_idx: list[list[int]] = []
        self.row_val: list[list[float]] = []

    @property
    def num_vars(self) -> int:
        return len(self.lb)

    @property
    def num_rows(self) -> int:
        return len(self.row_lo)

    @property
    def num_integer(self) -> int:
        return sum(self.integer)

    def var(self, lb: float = 0.0, ub: float = INF, integer: bool = False, name: str = "") -> int:
        self.lb.append(float(lb))
        self.ub.append(float(ub))
        self.integer.append(bool(integer))
        self.names.append(name or f"v{len(self.lb) - 1}")
        return len(self.lb) - 1

    def row(self, terms: dict[int, float] | list[tuple[int, float]], lo: float = -INF, hi: float = INF) -> int:
        items = terms.items() if isinstance(terms, dict) else terms
        idx, val = [], []
        for i, v in items:
            if v != 0:
                idx.append(int(i))
                val.append(float(v))
        self.row_idx.append(idx)
        self.row_val.append(val)
        self.row_lo.append(float(lo))
        self.row_hi.append(float(hi))
        return len(self.row_lo) - 1

    def objective(self, terms: dict[int, float], maximize: bool = True) -> None:
        self.obj = dict(terms)
        self.maximize = maximize


@dataclass
class MilpResult:
    status: str  # optimal, time_limit, infeasible, cancelled, error
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    values: np.ndarray | None = None
    solver: str = ""
    message: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        return self.values is not None


def relative_gap(incumbent: float | None, bound: float | None) -> float | None:
    if incumbent is None or bound is None or not math.isfinite(incumbent) or not math.isfinite(bound):
        return None
    return abs(bound - incumbent) / max(abs(incumbent), 1e-10)


# ----------------------------------------------------------------- HiGHS

_highs_banner_done = False
_highs_threads: int | None = None  # what the process-wide HiGHS scheduler was started with


def new_highs(threads: int | None = None):
    """A quiet Highs instance with a consistent thread count.

    HiGHS starts one global scheduler per process with the first run's ``threads``
    and refuses (model status "Not Set") any later run asking for another count, so
    the first request wins and later ones follow it."""
    global _highs_threads
    h = _new_highs()
    h.setOptionValue("output_flag", False)
    if _highs_threads is None:
        _highs_threads = int(threads or 0)
    if _highs_threads:
        h.setOptionValue("threads", _highs_threads)
    return h


def _new_highs():
    """A Highs instance; the first one per process prints a banner on C-level stdout,
    which would corrupt ``--json`` output, so that one is made with fd 1 muted."""
    global _highs_banner_done
    import os
    import sys

    import highspy

    if _highs_banner_done:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _highs_banner_done = True
    return h

def solve_highs(model: MilpModel, opts: SolveOptions) -> MilpResult:
    import highspy

    h = new_highs(opts.threads)
    h.setOptionValue("mip_rel_gap", float(opts.mip_rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("random_seed", int(opts.seed))
    if opts.time_limit is not None:
        h.setOptionValue("time_limit", max(float(opts.time_limit), 1e-3))
    n = model.num_vars
    cost = np.zeros(n)
    for i, v in model.obj.items():
        cost[i] = v
    h.addVars(n, np.asarray(model.lb), np.asarray(model.ub))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    ints = np.flatnonzero(np.asarray(model.integer, dtype=bool)).astype(np.int32)
    if len(ints):
        h.changeColsIntegrality(len(ints), ints, np.full(len(ints), highspy.HighsVarType.kInteger))
    m = model.num_rows
    starts = np.zeros(m, dtype=np.int32)
    pos = 0
    for r in range(m):
        starts[r] = pos
        pos += len(model.row_idx[r])
    index = np.fromiter((i for row in model.row_idx for i in row), dtype=np.int32, count=pos)
    value = np.fromiter((v for row in model.row_val for v in row), dtype=float, count=pos)
    h.addRows(m, np.asarray(model.row_lo), np.asarray(model.row_hi), pos, starts, index, value)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize if model.maximize else highspy.ObjSense.kMinimize)

    start = time.perf_counter()
    cancelled = {"flag": False}
    last_report = {"t": -1.0}
    sign = 1.0

    def report(out, message: str = "") -> None:
        if opts.progress is None:
            return
        inc = out.mip_primal_bound
        bnd = out.mip_dual_bound
        inc = None if not math.isfinite(inc) or abs(inc) >= 1e30 else sign * inc
        bnd = None if not math.isfinite(bnd) or abs(bnd) >= 1e30 else sign * bnd
        opts.progress(Progress(inc, bnd, relative_gap(inc, bnd), time.perf_counter() - start, message))

    def on_interrupt(e) -> None:
        if opts.cancel is not None and opts.cancel.is_set():
            cancelled["flag"] = True
            e.interrupt()
        now = time.perf_counter() - start
        if now - last_report["t"] >= 0.2:
            last_report["t"] = now
            report(e.data_out)

    def on_improving(e) -> None:
        report(e.data_out, "improved")

    if opts.progress is not None or opts.cancel is not None:
        h.cbMipInterrupt.subscribe(on_interrupt)
        h.cbSimplexInterrupt.subscribe(on_interrupt)
        h.cbMipImprovingSolution.subscribe(on_improving)
    if opts.cancel is not None and opts.cancel.is_set():
        return MilpResult("cancelled", solver="highs", message="cancelled before start")
    try:
        run_status = h.run()
    except Exception as exc:  # pragma: no cover - solver internals
        raise SolverError(f"HiGHS failed: {exc}") from None
    seconds = time.perf_counter() - start
    ms = h.getModelStatus()
    if run_status == highspy.HighsStatus.kError and ms == highspy.HighsModelStatus.kNotset:
        return MilpResult("error", seconds=seconds, solver="highs", message="HiGHS refused to run the model")
    info = h.getInfo()
    MS = highspy.HighsModelStatus
    values = None
    sol = h.getSolution()
    if info.primal_solution_status == 2 or ms == MS.kOptimal:
        values = np.asarray(sol.col_value, dtype=float)
    obj = info.objective_function_value if values is not None else None
    bound = info.mip_dual_bound if math.isfinite(info.mip_dual_bound) and abs(info.mip_dual_bound) < 1e30 else None
    if ms == MS.kOptimal:
        status = "optimal"
    elif ms in (MS.kInfeasible,):
        status = "infeasible"
    elif ms == MS.kTimeLimit:
        status = "time_limit"
    elif ms == MS.kInterrupt or cancelled["flag"]:
        status = "cancelled"
    elif ms == MS.kUnboundedOrInfeasible:
        status = "infeasible"
    else:
        status = "error"
    gap = relative_gap(obj, bound) if values is not None else None
    if status == "optimal" and gap is None:
        gap = 0.0
    return MilpResult(status, obj, bound, gap, seconds, values, "highs", h.modelStatusToString(ms),
                      {"vars": model.num_vars, "integer": model.num_integer, "rows": model.num_rows,
                       "nodes": int(info.mip_node_count)})


# ----------------------------------------------------------------- Gurobi

class GurobiLicenseLimit(SolverError):
    """The installed Gurobi licence cannot solve a model of this size."""


def solve_gurobi(model: MilpModel, opts: SolveOptions) -> MilpResult:
    try:
        import gurobipy as gp
        from gurobipy import GRB
    except ImportError:
        raise SolverError("gurobipy is not installed (pip install 'ppipe[gurobi]'), use --solver highs") from None
    try:
        env = gp.Env(empty=True)
        env.setParam("OutputFlag", 0)
        env.start()
        g = gp.Model(model.name, env=env)
        g.Params.MIPGap = opts.mip_rel_gap
        g.Params.Seed = opts.seed
        if opts.threads:
            g.Params.Threads = opts.threads
        if opts.time_limit is not None:
            g.Params.TimeLimit = max(float(opts.time_limit), 1e-3)
        vtype = [GRB.INTEGER if i else GRB.CONTINUOUS for i in model.integer]
        x = g.addVars(model.num_vars, lb=model.lb, ub=[u if math.isfinite(u) else GRB.INFINITY for u in model.ub],
                      vtype=vtype)
        for idx, val, lo, hi in zip(model.row_idx, model.row_val, model.row_lo, model.row_hi):
            expr = gp.LinExpr(val, [x[i] for i in idx])
            if lo == hi:
                g.addLConstr(expr, GRB.EQUAL, lo)
            else:
                if math.isfinite(lo):
                    g.addLConstr(expr, GRB.GREATER_EQUAL, lo)
                if math.isfinite(hi):
                    g.addLConstr(expr, GRB.LESS_EQUAL, hi)
        g.setObjective(gp.LinExpr(list(model.obj.values()), [x[i] for i in model.obj]),
                       GRB.MAXIMIZE if model.maximize else GRB.MINIMIZE)
        start = time.perf_counter()

        def cb(m, where):
            if where == GRB.Callback.MIP:
                if opts.cancel is not None and opts.cancel.is_set():
                    m.terminate()
                if opts.progress is not None:
                    inc = m.cbGet(GRB.Callback.MIP_OBJBST)
                    bnd = m.cbGet(GRB.Callback.MIP_OBJBND)
                    inc = None if abs(inc) >= 1e30 else inc
                    bnd = None if abs(bnd) >= 1e30 else bnd
                    opts.progress(Progress(inc, bnd, relative_gap(inc, bnd), time.perf_counter() - start))

        g.optimize(cb)
        seconds = time.perf_counter() - start
    except gp.GurobiError as exc:
        if getattr(exc, "errno", None) == 10010 or "size-limited" in str(exc):
            raise GurobiLicenseLimit(
                f"model has {model.num_vars} variables and {model.num_rows} rows, over the size-limited Gurobi licence"
            ) from None
        raise SolverError(f"Gurobi failed: {exc}") from None
    st = g.Status
    values = np.array([v.X for v in x.values()]) if g.SolCount > 0 else None
    obj = g.ObjVal if values is not None else None
    bound = g.ObjBound if g.SolCount > 0 or st == GRB.OPTIMAL else None
    status = {GRB.OPTIMAL: "optimal", GRB.INFEASIBLE: "infeasible", GRB.INF_OR_UNBD: "infeasible",
              GRB.TIME_LIMIT: "time_limit", GRB.INTERRUPTED: "cancelled"}.get(st, "error")
    gap = relative_gap(obj, bound) if values is not None else None
    return MilpResult(status, obj, bound, gap if status != "optimal" else (gap or 0.0), seconds, values, "gurobi",
                      f"status {st}", {"vars": model.num_vars, "integer": model.num_integer, "rows": model.num_rows})


def solve(model: MilpModel, opts: SolveOptions, solver: str = "highs", fallback: bool = True,
          on_fallback: Optional[Callable[[str], None]] = None) -> MilpResult:
    """Solve with the named backend. ``gurobi`` falls back to HiGHS (with a message)
    when gurobipy is missing or its licence is size-limited, unless ``fallback`` is off."""
    if solver == "highs":
        return solve_highs(model, opts)
    if solver == "gurobi":
        try:
            return solve_gurobi(model, opts)
        except SolverError as exc:
            if not fallback:
                raise
            if on_fallback is not None:
                on_fallback(f"{exc}; solving with HiGHS instead")
            return solve_highs(model, opts)
    raise SolverError(f"unknown solver {solver!r} (use highs or gurobi)")
