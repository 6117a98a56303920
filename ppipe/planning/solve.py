"""One entry point for every scheduler: :func:`solve`.

It looks the scheduler up in :mod:`ppipe.schedulers`, runs the est_xput flow
first when the problem has none (SPEC section 4), and handles cancellation once
for every caller: a cancelled solve reports ``cancelled`` with the best plan it
found, whichever phase it was in.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Callable, Optional

from ppipe import schedulers
from ppipe.errors import InputError
from ppipe.planfile.plan import Plan
from ppipe.planning.baselines import solve_np
from ppipe.planning.milp import Progress, ProgressCallback, SolveOptions, relative_gap
from ppipe.planning.planner import METHODS, pick_method
from ppipe.planning.problem import PlanningProblem
from ppipe.planning.results import SolveResult
from ppipe.planning.solvers import DEFAULT_SOLVER, SOLVERS
from ppipe.planning.status import Status


class EstimateFailed(InputError):
    """The est_xput flow found no NP plan; ``status`` says why (infeasible, time limit, ...)."""

    def __init__(self, message: str, status: Status):
        super().__init__(message)
        self.status = status


def estimate_xput(problem: PlanningProblem, solver: str = DEFAULT_SOLVER, opts: SolveOptions | None = None,
                  fallback: bool = True) -> list[float]:
    """The est_xput flow: NP without est_xput; its per-model throughputs."""
    opts = opts or SolveOptions()
    relay = None
    if opts.progress is not None:
        outer = opts.progress

        def relay(p: Progress) -> None:
            # NP's figures are not the plan's: they go into the words, named as NP's, so
            # that a long NP solve still shows it moves (its last phase message stood still)
            if p.incumbent is None and p.bound is None:
                if p.message:
                    outer(replace(p, message=f"estimating throughputs: {p.message}"))
                return
            figures = ", ".join(f"{what} {value:,.2f}" for what, value in (("plan", p.incumbent),
                                                                            ("bound", p.bound))
                                if value is not None)
            outer(Progress(None, None, None, p.elapsed, f"estimating throughputs: NP's MILP, {figures}"))

    base = solve_np(problem.with_est_xput([None] * len(problem.models)), solver=solver,
                    opts=replace(opts, progress=relay), fallback=fallback)
    if base.plan is None:
        raise EstimateFailed(f"cannot estimate throughputs: NP is {base.status} ({base.message})",
                             Status(base.status) if base.status in Status._value2member_map_ else Status.ERROR)
    return [m.xput for m in base.plan.models]


def solve(problem: PlanningProblem, scheduler: str = "ppipe", solver: str = DEFAULT_SOLVER,
          opts: SolveOptions | None = None, estimate: bool = True, fallback: bool = True,
          on_message: Optional[Callable[[str], None]] = None, np_plan: Plan | None = None,
          method: str = "auto") -> SolveResult:
    """Plan ``problem`` with ``scheduler``; fills est_xput with the NP flow first when
    ``estimate`` and the problem has none."""
    entry = schedulers.get(scheduler)
    SOLVERS.get(solver)  # an unknown solver fails before any work
    if method not in METHODS or scheduler == "ppipe":
        pick_method(problem, method)  # a bad method fails before the est_xput solve
    opts = opts or SolveOptions()
    t0 = time.perf_counter()
    if estimate and any(m.est_xput is None for m in problem.models):
        if opts.progress:
            opts.progress(Progress(None, None, None, 0.0, "estimating throughputs (NP without est_xput)"))
        try:
            est = estimate_xput(problem, solver, opts, fallback)
        except InputError as exc:
            # an NP stopped by the time limit (or an error) is not an infeasible problem
            status = exc.status if isinstance(exc, EstimateFailed) and exc.status != Status.OPTIMAL \
                else Status.INFEASIBLE
            return _cancelled(opts, SolveResult(status=status, message=str(exc), scheduler=scheduler,
                                                solver=solver, solve_seconds=time.perf_counter() - t0))
        problem = problem.with_est_xput(est)
        if opts.time_limit is not None:  # the limit covers the whole solve
            opts = replace(opts, time_limit=max(opts.time_limit - (time.perf_counter() - t0), 1e-3))
    if opts.progress is not None:
        opts = replace(opts, progress=rising_incumbent(opts.progress))
    res = entry.solve_function()(problem, solver=solver, opts=opts, fallback=fallback, on_message=on_message,
                                 np_plan=np_plan, method=method)
    res = replace(res, scheduler=scheduler, est_xput=[m.est_xput for m in problem.models],
                  solve_seconds=time.perf_counter() - t0)
    return _cancelled(opts, res)


def rising_incumbent(progress: ProgressCallback) -> ProgressCallback:
    """``progress`` with an incumbent that never falls (and the gap to it).

    Why: a solve runs several MILPs one after another and beside each other (the seed,
    the priced search, the MILP proper); each reports its own best plan, and a later one
    may start below a plan already found (the ten zoo models: 1,794.46 found, then a
    MILP's 1,790.42 shown). Every scheduler maximizes, so the best plan so far is the max."""
    lock = threading.Lock()
    best: list[float | None] = [None]

    def relay(p: Progress) -> None:
        # reported under the lock too: a thread that read a lower best must not be shown after one
        # that raised it (the callbacks only store text)
        with lock:
            if p.incumbent is not None:
                if best[0] is not None and p.incumbent < best[0]:
                    p = replace(p, incumbent=best[0], gap=relative_gap(best[0], p.bound))
                else:
                    best[0] = p.incumbent
            progress(p)

    return relay


def _cancelled(opts: SolveOptions, res: SolveResult) -> SolveResult:
    """A solve whose cancel event was set reports ``cancelled``, keeping the best plan."""
    if opts.cancel is None or not opts.cancel.is_set():
        return res
    if res.plan is None:
        return replace(res, status=Status.CANCELLED, message="cancelled before a plan was found")
    if res.status in (Status.OPTIMAL, Status.TIME_LIMIT):
        return replace(res, status=Status.CANCELLED)
    return res
