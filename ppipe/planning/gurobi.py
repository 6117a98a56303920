"""The optional Gurobi backend (``gurobipy``, ``pip install 'ppipe[gurobi]'``).

pip's gurobipy comes with a size-limited licence: a model over the limit raises
:class:`GurobiLicenseLimit`, and :func:`ppipe.planning.solvers.solve_model` then
falls back to HiGHS (saying so) unless told not to.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ppipe.errors import SolverError
from ppipe.planning.milp import MilpModel, MilpResult, Progress, SettledSolutions, SolveOptions, relative_gap
from ppipe.planning.status import Status


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("gurobipy") is not None


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
        if opts.node_limit is not None:
            g.Params.NodeLimit = max(int(opts.node_limit), 1)
        if opts.heuristic_effort is not None:
            g.Params.Heuristics = float(opts.heuristic_effort)
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

        columns = list(x.values())
        solutions = SettledSolutions(opts)  # on_solution; an error in it is raised after the solve

        def cb(m, where):
            if where == GRB.Callback.MIPSOL and opts.on_solution is not None:
                if solutions.found(np.array(m.cbGetSolution(columns), dtype=float),
                                   int(m.cbGet(GRB.Callback.MIPSOL_NODCNT))):
                    m.terminate()
            if where == GRB.Callback.MIP:
                if opts.on_solution is not None and solutions.at_node(int(m.cbGet(GRB.Callback.MIP_NODCNT))):
                    m.terminate()
                if opts.cancel is not None and opts.cancel.is_set():
                    m.terminate()
                if opts.progress is not None:
                    inc = m.cbGet(GRB.Callback.MIP_OBJBST)
                    bnd = m.cbGet(GRB.Callback.MIP_OBJBND)
                    inc = None if abs(inc) >= 1e30 else inc
                    bnd = None if abs(bnd) >= 1e30 else bnd
                    opts.progress(Progress(inc, bnd, relative_gap(inc, bnd), time.perf_counter() - start))

        g.optimize(cb)
        if g.Status == GRB.OPTIMAL:
            solutions.finish()  # a solution still waiting for its node to end
        if solutions.failed:
            raise solutions.failed[0]
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
    status = {GRB.OPTIMAL: Status.OPTIMAL, GRB.INFEASIBLE: Status.INFEASIBLE, GRB.INF_OR_UNBD: Status.INFEASIBLE,
              GRB.TIME_LIMIT: Status.TIME_LIMIT, GRB.NODE_LIMIT: Status.TIME_LIMIT, GRB.INTERRUPTED: Status.CANCELLED}.get(st, Status.ERROR)
    gap = relative_gap(obj, bound) if values is not None else None
    duals = None
    if values is not None and not model.num_integer:
        duals = np.array([c.Pi for c in g.getConstrs()])
    return MilpResult(status, obj, bound, gap if status != Status.OPTIMAL else (gap or 0.0), seconds, values, "gurobi",
                      f"status {st}", {"vars": model.num_vars, "integer": model.num_integer, "rows": model.num_rows},
                      duals)


