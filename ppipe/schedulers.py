"""The scheduler table: every planner ppipe knows, in one place.

A scheduler has a name (CLI, JSON, results tables), a label (figures, TUI), the
tag the artifact's plan-file names use, the function that solves a
:class:`~ppipe.planning.problem.PlanningProblem`, and its place in comparisons
(lower ``order`` first, so baselines come before PPipe). The solve function is
named as ``"module:function"`` and imported on first use, which keeps this table
at the bottom of the import graph (plan-file naming reads it too).

To add a scheduler: write its solve function (``problem, *, solver, opts,
fallback, on_message, **extra -> SolveResult``) and call :func:`register`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ppipe.registry import Registry, resolve

#: Experiment sets whose main comparison includes a scheduler by default.
MAIN_SETS = ("maf19", "maf21")


@dataclass(frozen=True)
class Scheduler:
    name: str
    label: str
    tag: str  # the plan-file name suffix (the artifact's: v4, bl, ...)
    solve: str | Callable  # "module:function" or the function itself
    order: int  # comparison order: lower first
    compare: bool = True  # in side-by-side comparisons (TUI, sweeps)
    sets: tuple[str, ...] = MAIN_SETS  # experiment sets that run it
    description: str = ""

    def solve_function(self) -> Callable:
        return resolve(self.solve)


SCHEDULERS: Registry[Scheduler] = Registry("scheduler")


def register(scheduler: Scheduler, *, replace: bool = False) -> Scheduler:
    return SCHEDULERS.register(scheduler, replace=replace)


def get(name: str) -> Scheduler:
    return SCHEDULERS.get(name)


def names() -> tuple[str, ...]:
    return SCHEDULERS.names()


def ordered(*, compare_only: bool = False) -> list[Scheduler]:
    """Schedulers in comparison order."""
    return sorted((s for s in SCHEDULERS if s.compare or not compare_only), key=lambda s: s.order)


def labels() -> dict[str, str]:
    return {s.name: s.label for s in SCHEDULERS}


def by_tag(tag: str) -> str | None:
    """The scheduler whose plan-file tag is ``tag``."""
    for s in SCHEDULERS:
        if s.tag == tag:
            return s.name
    return None


for _s in (
    Scheduler("ppipe", "PPipe", "v4", "ppipe.planning.planner:solve_ppipe", 40,
              sets=MAIN_SETS + ("ablation",),
              description="pools of one GPU type per partition, MPS splits, batch sizes (the MILP)"),
    Scheduler("np", "NP", "bl", "ppipe.planning.baselines:solve_np", 10,
              description="no partitioning: whole models on whole GPUs (the MILP with P = 1)"),
    Scheduler("dart-r", "DART-r", "dart-r", "ppipe.planning.baselines:solve_dart_r", 20,
              description="NP's GPU split, then PPipe units of one GPU per type plus NP replicas"),
    Scheduler("np-single", "NP (single)", "np-single", "ppipe.planning.baselines:solve_np_single", 5,
              compare=False, sets=("ablation",),
              description="one model: every GPU runs the whole model at its best batch"),
):
    register(_s)
