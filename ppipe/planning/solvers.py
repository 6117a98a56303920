"""The registry of MILP backends, and the one function every solve goes through.

Each backend is a name, a solve function and an ``available()`` check. Gurobi
falls back to HiGHS (with a message) when gurobipy is missing or its licence is
size-limited, unless ``fallback`` is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ppipe.errors import SolverError
from ppipe.planning.milp import MilpModel, MilpResult, SolveOptions
from ppipe.registry import Registry, resolve


@dataclass(frozen=True)
class SolverBackend:
    name: str
    label: str
    solve: str | Callable  # "module:function": (MilpModel, SolveOptions) -> MilpResult
    available: str | Callable  # "module:function": () -> bool

    def is_available(self) -> bool:
        return bool(resolve(self.available)())


SOLVERS: Registry[SolverBackend] = Registry("solver")
SOLVERS.register(SolverBackend("highs", "HiGHS", "ppipe.planning.highs:solve_highs", "ppipe.planning.highs:available"))
SOLVERS.register(SolverBackend("gurobi", "Gurobi", "ppipe.planning.gurobi:solve_gurobi",
                               "ppipe.planning.gurobi:available"))
DEFAULT_SOLVER = "highs"


def solve_model(model: MilpModel, opts: SolveOptions, solver: str = DEFAULT_SOLVER, fallback: bool = True,
                on_fallback: Optional[Callable[[str], None]] = None) -> MilpResult:
    """Solve ``model`` with the named backend, falling back to HiGHS when allowed."""
    if solver not in SOLVERS:
        raise SolverError(f"unknown solver {solver!r} (use {', '.join(SOLVERS.names())})")
    backend = SOLVERS.get(solver)
    try:
        return resolve(backend.solve)(model, opts)
    except SolverError as exc:
        if not fallback or solver == DEFAULT_SOLVER:
            raise
        if on_fallback is not None:
            on_fallback(f"{exc}; solving with HiGHS instead")
        return resolve(SOLVERS.get(DEFAULT_SOLVER).solve)(model, opts)
