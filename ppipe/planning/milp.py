"""A tiny solver-neutral MILP model and result (as in linopy and PuLP).

The planner states its problem once (:class:`MilpModel`) and any backend of
:mod:`ppipe.planning.solvers` solves it. Results are solver-neutral
(:class:`MilpResult`: status, objective, bound, gap, time, values, and row
duals for a pure LP). A progress callback sees (incumbent, bound, gap, elapsed)
and a ``threading.Event`` cancels a solve, keeping the best solution so far.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ppipe.planning.status import Status

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
    #: At most this many branch-and-bound nodes: unlike a time limit, the same on any
    #: machine, so a solve cut short this way ends in the same plan everywhere.
    node_limit: int | None = None
    #: Called with each better solution (a value per variable) as the solve finds it; the
    #: solve stops (status cancelled, that solution kept) once it returns True.
    on_solution: Optional[Callable[[np.ndarray], bool]] = None
    #: With ``on_solution``: pass a solution only once the solver has left the node that
    #: found it (a better one found at the same node replaces it; the last is passed when the
    #: solve ends optimal), so that it stays deterministic: node counts, not time. Why: one
    #: node's heuristics often find several solutions in a row, and each check costs seconds
    #: (the search's first solve on the ten zoo models found 1,795.61 and then 1,797.26 at node
    #: 6,073; checking the first took 7.7 s for nothing). See :class:`SettledSolutions`.
    settle_solutions: bool = False
    #: Probing in presolve (HiGHS; other backends ignore it). Off for one model alone on a
    #: few GPUs: there HiGHS probed for up to 17 s a MILP it then solved at its root in 0.6 s.
    probing: bool = True
    #: The share of the search spent on primal heuristics (HiGHS's mip_heuristic_effort,
    #: Gurobi's Heuristics; None: the solver's default, 0.05 in both). Higher where a good
    #: plan soon matters more than the bound: the seed plan (``planner.SEED_HEURISTIC_EFFORT``).
    heuristic_effort: float | None = None


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
        #: A feasible solution to start from (a value per variable), or None. HiGHS takes
        #: it as its first incumbent (and ignores one that is not feasible).
        self.start: np.ndarray | None = None

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

    def copy(self) -> MilpModel:
        """A copy that variables and rows can be added to without changing this model (the
        rows' own lists are shared: rows are never edited in place)."""
        c = MilpModel(self.name)
        c.lb, c.ub, c.integer, c.names = list(self.lb), list(self.ub), list(self.integer), list(self.names)
        c.obj, c.maximize, c.start = dict(self.obj), self.maximize, self.start
        c.row_lo, c.row_hi = list(self.row_lo), list(self.row_hi)
        c.row_idx, c.row_val = list(self.row_idx), list(self.row_val)
        return c


def relaxed(model: MilpModel) -> MilpModel:
    """The LP relaxation: the same model with every variable continuous (rows shared)."""
    lp = MilpModel(model.name + "-lp")
    lp.lb, lp.ub, lp.names = model.lb, model.ub, model.names
    lp.integer = [False] * model.num_vars
    lp.obj, lp.maximize = model.obj, model.maximize
    lp.row_lo, lp.row_hi, lp.row_idx, lp.row_val = model.row_lo, model.row_hi, model.row_idx, model.row_val
    return lp


@dataclass
class MilpResult:
    status: Status
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    values: np.ndarray | None = None
    solver: str = ""
    message: str = ""
    stats: dict = field(default_factory=dict)
    duals: np.ndarray | None = None  # row duals of a pure LP (no integer variables)
    reduced: np.ndarray | None = None  # column duals (reduced costs) of a pure LP

    @property
    def has_solution(self) -> bool:
        return self.values is not None


def relative_gap(incumbent: float | None, bound: float | None) -> float | None:
    if incumbent is None or bound is None or not math.isfinite(incumbent) or not math.isfinite(bound):
        return None
    return abs(bound - incumbent) / max(abs(incumbent), 1e-10)


class SettledSolutions:
    """``opts.on_solution`` as a backend calls it (:attr:`SolveOptions.settle_solutions`):
    :meth:`found` with each better solution and the node that found it, :meth:`at_node` as
    the search goes on, :meth:`finish` when it ends optimal. Each returns whether the
    solve should stop (then :attr:`stopped` stays set and ``on_solution`` is not called
    again); an error in ``on_solution`` is kept (:attr:`failed`) and stops it."""

    def __init__(self, opts: SolveOptions):
        self._on_solution = opts.on_solution
        self._settle = opts.settle_solutions
        self._pending: tuple[np.ndarray, int] | None = None
        self.stopped = False
        self.failed: list[BaseException] = []

    def _call(self, values: np.ndarray) -> bool:
        if self._on_solution is None or self.stopped:
            return False
        try:
            self.stopped = bool(self._on_solution(values))
        except BaseException as exc:  # never into the solver: HiGHS reported such a solve as infeasible
            self.failed.append(exc)
            self.stopped = True
        return self.stopped

    def found(self, values: np.ndarray, node: int) -> bool:
        if not self._settle:
            return self._call(values)
        if not self.stopped:
            self._pending = (values, node)
        return False

    def at_node(self, node: int) -> bool:
        if self._pending is None or node <= self._pending[1]:
            return False
        values, self._pending = self._pending[0], None
        return self._call(values)

    def finish(self) -> None:
        if self._pending is not None:
            values, self._pending = self._pending[0], None
            self._call(values)
