"""The HiGHS backend (``highspy``): the default, embedded and licence-free."""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from ppipe.errors import SolverError
from ppipe.planning.milp import MilpModel, MilpResult, Progress, SettledSolutions, SolveOptions, relative_gap
from ppipe.planning.status import Status


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("highspy") is not None


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


_banner_lock = threading.Lock()


def _new_highs():
    """A Highs instance; the first one per process prints a banner on C-level stdout,
    which would corrupt ``--json`` output, so that one is made with fd 1 muted.

    Under a lock: the planner makes instances in two threads (the pool relaxation beside
    the MILP), and a second thread that saved fd 1 while the first had it muted restored
    it muted, for good (a bench row lost its JSON line that way)."""
    global _highs_banner_done
    import os
    import sys

    import highspy

    if _highs_banner_done:
        return highspy.Highs()
    with _banner_lock:
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

#: HiGHS's presolve_rule_off bit for probing (HiGHS 1.7+, listed at log_dev_level 1).
PRESOLVE_RULE_PROBING = 1 << 15


def solve_highs(model: MilpModel, opts: SolveOptions) -> MilpResult:
    import highspy

    h = new_highs(opts.threads)
    h.setOptionValue("mip_rel_gap", float(opts.mip_rel_gap))
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("random_seed", int(opts.seed))
    if opts.time_limit is not None:
        h.setOptionValue("time_limit", max(float(opts.time_limit), 1e-3))
    if opts.node_limit is not None:
        h.setOptionValue("mip_max_nodes", max(int(opts.node_limit), 1))
    if not opts.probing:
        h.setOptionValue("presolve_rule_off", PRESOLVE_RULE_PROBING)
    if opts.heuristic_effort is not None:
        h.setOptionValue("mip_heuristic_effort", float(opts.heuristic_effort))
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
    if model.start is not None and len(ints) and len(model.start) == n:
        h.setSolution(n, np.arange(n, dtype=np.int32), np.asarray(model.start, dtype=float))

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

    solutions = SettledSolutions(opts)  # on_solution, and whether it asked to stop

    def on_interrupt(e) -> None:
        if opts.cancel is not None and opts.cancel.is_set():
            cancelled["flag"] = True
            e.interrupt()
        elif solutions.stopped:
            e.interrupt()
        now = time.perf_counter() - start
        if now - last_report["t"] >= 0.2:
            last_report["t"] = now
            report(e.data_out)

    def on_mip_interrupt(e) -> None:
        solutions.at_node(int(e.data_out.mip_node_count))
        on_interrupt(e)

    best: dict = {}

    def on_improving(e) -> None:
        sol = e.data_out.mip_solution
        if sol is not None and len(sol) == n:
            best["values"] = np.array(sol, dtype=float)
            best["objective"] = sign * e.data_out.objective_function_value
            solutions.found(best["values"], int(e.data_out.mip_node_count))
        report(e.data_out, "improved")

    if opts.progress is not None or opts.cancel is not None or opts.on_solution is not None:
        h.cbMipInterrupt.subscribe(on_mip_interrupt)
        h.cbSimplexInterrupt.subscribe(on_interrupt)
        h.cbMipImprovingSolution.subscribe(on_improving)
    if opts.cancel is not None and opts.cancel.is_set():
        return MilpResult(Status.CANCELLED, solver="highs", message="cancelled before start")
    try:
        run_status = h.run() if opts.cancel is None else _run_cancellable(h, opts.cancel)
    except Exception as exc:  # pragma: no cover - solver internals
        raise SolverError(f"HiGHS failed: {exc}") from None
    if run_status is not _ABANDONED and not cancelled["flag"] \
            and h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        solutions.finish()  # a solution still waiting for its node to end
    if solutions.failed:
        raise solutions.failed[0]
    seconds = time.perf_counter() - start
    if run_status is _ABANDONED:
        values = best.get("values")
        obj = best.get("objective")
        return MilpResult(Status.CANCELLED, obj, None, None, seconds, values, "highs",
                          "cancelled in a step HiGHS cannot interrupt (it finishes that step in the background)",
                          {"vars": model.num_vars, "integer": model.num_integer, "rows": model.num_rows,
                           "abandoned": True})
    ms = h.getModelStatus()
    if run_status == highspy.HighsStatus.kError and ms == highspy.HighsModelStatus.kNotset:
        return MilpResult(Status.ERROR, seconds=seconds, solver="highs", message="HiGHS refused to run the model")
    info = h.getInfo()
    MS = highspy.HighsModelStatus
    values = None
    sol = h.getSolution()
    if info.primal_solution_status == 2 or ms == MS.kOptimal:
        values = np.asarray(sol.col_value, dtype=float)
    obj = info.objective_function_value if values is not None else None
    bound = info.mip_dual_bound if math.isfinite(info.mip_dual_bound) and abs(info.mip_dual_bound) < 1e30 else None
    if ms == MS.kOptimal:
        status = Status.OPTIMAL
    elif ms in (MS.kInfeasible,):
        status = Status.INFEASIBLE
    elif ms == MS.kTimeLimit or (ms == MS.kSolutionLimit and opts.node_limit is not None):
        status = Status.TIME_LIMIT  # a limit stopped it (HiGHS reports the node limit as this)
    elif ms == MS.kInterrupt or cancelled["flag"]:
        status = Status.CANCELLED
    elif ms == MS.kUnboundedOrInfeasible:
        status = Status.INFEASIBLE
    else:
        status = Status.ERROR
    gap = relative_gap(obj, bound) if values is not None else None
    if status == Status.OPTIMAL and gap is None:
        gap = 0.0
    duals = reduced = None
    if values is not None and not model.num_integer and sol.dual_valid:
        duals = np.asarray(sol.row_dual, dtype=float)
        reduced = np.asarray(sol.col_dual, dtype=float)
    return MilpResult(status, obj, bound, gap, seconds, values, "highs", h.modelStatusToString(ms),
                      {"vars": model.num_vars, "integer": model.num_integer, "rows": model.num_rows,
                       "nodes": int(info.mip_node_count)}, duals, reduced)




#: After a cancel, how long to wait for HiGHS to stop by itself before leaving its run to
#: finish in the background. HiGHS checks its interrupt callbacks between steps, but not
#: inside a MIP's LP solves: the ten zoo models' root LP runs 8 s without one.
ABANDON_AFTER_S = 0.5
_ABANDONED = object()


def _run_cancellable(h, cancel) -> object:
    """``h.run()`` in a thread, so that a cancel returns within about ABANDON_AFTER_S even
    while HiGHS is in a step it cannot interrupt; then ``_ABANDONED`` (the thread ends at
    HiGHS's next check of the interrupt callback, which sees the cancel)."""
    box: dict = {}

    def run() -> None:
        try:
            box["status"] = h.run()
        except BaseException as exc:  # pragma: no cover - solver internals
            box["error"] = exc

    worker = threading.Thread(target=run, name="ppipe-highs", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)
        if cancel.is_set() and worker.is_alive():
            worker.join(ABANDON_AFTER_S)
            if worker.is_alive():
                return _ABANDONED
    if "error" in box:
        raise box["error"]
    return box["status"]

