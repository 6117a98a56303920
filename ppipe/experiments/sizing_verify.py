"""Proof of a sized fleet by simulation (``ppipe size --verify``).

:func:`sim_check` serves each model of a sized plan in the simulator at its
target rate (Poisson by default, or any arrival process of
:mod:`ppipe.sim.arrivals`), with fixed seeds, and reports SLO attainment;
:func:`size_and_verify` runs :func:`ppipe.planning.sizing.size_until_verified`
with it: a model that misses 99 % gets more headroom and the fleet is sized
again. It lives here, above both the planner and the simulator (which do not
import each other).
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from ppipe.planfile.plan import Plan
from ppipe.planning.milp import SolveOptions
from ppipe.planning.sizing import ModelCheck, SizingProblem, VerifiedSizing, VerifyRound, size_until_verified
from ppipe.planning.solvers import DEFAULT_SOLVER
from ppipe.sim.arrivals import ArrivalFactory, PoissonArrivals
from ppipe.sim.engine import DEFAULT_DURATION_S, WARMUP_US, Simulation
from ppipe.sim.layout import build_layout
from ppipe.sim.metrics import Counts, counts_for, late_masks


def check_model(plan: Plan, sp: SizingProblem, d: int, *, arrivals: ArrivalFactory | None = None,
                seeds: Sequence[int] = (0,), duration_s: float = DEFAULT_DURATION_S,
                balancer: str = "reservation") -> ModelCheck:
    """Model ``d`` of ``plan`` at its target rate; counts pooled over ``seeds``. The run
    with seed s draws its arrivals from ``default_rng([s, d])`` (fixed, order-free)."""
    mp = plan.models[d]
    profile = sp.profiles[d]
    load = float(sp.targets[d])
    factory = arrivals or PoissonArrivals
    layout = build_layout(mp, profile, balancer)
    total = Counts(0, 0, 0)
    for s in seeds:
        sim = Simulation(mp, profile, factory(load), rng=np.random.default_rng([int(s), d]), seed=int(s),
                         duration_s=duration_s, accounting="true", layout=layout)
        sim.run()
        c = counts_for(sim.R, late_masks(layout)["true"], WARMUP_US, sim.duration_us)
        total = Counts(total.requests + c.requests, total.dropped + c.dropped, total.late + c.late)
    return ModelCheck(name=mp.name, load=load, requests=total.requests, dropped=total.dropped_share,
                      violated=total.violated_share, attainment=total.attainment, passed=total.passed)


def sim_check(*, arrivals: ArrivalFactory | None = None, seeds: Sequence[int] = (0,),
              duration_s: float = DEFAULT_DURATION_S, balancer: str = "reservation",
              cancel=None) -> Callable[[Plan, SizingProblem], list[ModelCheck]]:
    """A plan check for :func:`size_until_verified`: every model simulated at its target."""

    def check(plan: Plan, sp: SizingProblem) -> list[ModelCheck]:
        out = []
        for d in range(len(sp.profiles)):
            if cancel is not None and cancel.is_set():
                break
            out.append(check_model(plan, sp, d, arrivals=arrivals, seeds=seeds, duration_s=duration_s,
                                   balancer=balancer))
        return out

    return check


def size_and_verify(sp: SizingProblem, *, scheduler: str = "ppipe", step: float = 0.05, max_rounds: int = 6,
                    arrivals: ArrivalFactory | None = None, seeds: Sequence[int] = (0,),
                    duration_s: float = DEFAULT_DURATION_S, balancer: str = "reservation",
                    solver: str = DEFAULT_SOLVER, opts: SolveOptions | None = None, fallback: bool = True,
                    on_message: Optional[Callable[[str], None]] = None,
                    catalog_prices: dict | None = None,
                    on_round: Optional[Callable[[VerifyRound], None]] = None) -> VerifiedSizing:
    """Size ``sp``, simulate the plan at the targets, raise the headroom of models below
    99 % by ``step`` and size again, at most ``max_rounds`` times."""
    opts = opts or SolveOptions()
    return size_until_verified(sp, sim_check(arrivals=arrivals, seeds=seeds, duration_s=duration_s,
                                             balancer=balancer, cancel=opts.cancel),
                               scheduler=scheduler, step=step, max_rounds=max_rounds, solver=solver, opts=opts,
                               fallback=fallback, on_message=on_message, catalog_prices=catalog_prices,
                               on_round=on_round)
