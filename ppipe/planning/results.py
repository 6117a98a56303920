"""What a solve returns: :class:`SolveResult`, solver-neutral and typed.

Every scheduler returns one; the CLI prints it (``to_json`` is the ``ppipe
solve --json`` document) and the TUI shows it. Results are built once, with
keywords, and changed only through :func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ppipe.planfile.plan import Plan
from ppipe.planning.problem import PlanningProblem
from ppipe.planning.status import Status


@dataclass(frozen=True, kw_only=True)
class SolveResult:
    status: Status
    objective: float | None = None  # min over models of throughput / weight
    bound: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    plan: Plan | None = None
    scheduler: str = "ppipe"
    solver: str = "highs"
    message: str = ""
    est_xput: list | None = None
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    @property
    def ok(self) -> bool:
        return self.plan is not None and self.status.has_plan_kind

    @property
    def method(self) -> str | None:
        return self.stats.get("method")

    def plan_for_file(self) -> Plan | None:
        """The plan with the solver's record (the artifact's ``mipgap`` and ``runtime``
        keys on the first model), as it is written to a file."""
        if self.plan is None or not self.plan.models:
            return self.plan
        first = self.plan.models[0]
        extra = dict(first.extra, mipgap=self.gap if self.gap is not None else 0.0, runtime=self.solve_seconds)
        return replace(self.plan, models=[replace(first, extra=extra), *self.plan.models[1:]])

    def model_rows(self, problem: PlanningProblem) -> list[dict]:
        """One row per model: throughput, weight, GPUs by type, pipelines, SLO."""
        rows = []
        if self.plan is None:
            return rows
        for spec, mp in zip(problem.models, self.plan.models):
            rows.append({"name": mp.name, "throughput": mp.xput, "weight": spec.weight,
                         "gpus": mp.gpus_used(), "pipelines": len(mp.pipelines), "sla_us": spec.sla})
        return rows

    def to_json(self, problem: PlanningProblem, plan_file: str | None = None) -> dict:
        """The ``ppipe solve --json`` document."""
        return {
            "status": str(self.status), "objective": self.objective, "bound": self.bound, "mip_gap": self.gap,
            "solve_seconds": self.solve_seconds, "scheduler": self.scheduler, "solver": self.solver,
            "method": self.method,
            "models": [{"name": r["name"], "throughput": r["throughput"], "weight": r["weight"],
                        "gpus": r["gpus"], "pipelines": r["pipelines"]} for r in self.model_rows(problem)],
            "gpus_used": self.plan.gpus_used() if self.plan else {},
            "gpu_limits": dict(zip(problem.cluster.gpus, problem.cluster.limits)),
            "est_xput": self.est_xput, "plan_file": plan_file, "message": self.message,
            # where the time went: configurations enumerated and kept, enumeration, model
            # build and solver seconds, MILP size (vars, integer, rows, nodes), method details
            "stats": _jsonable(self.stats),
        }


def _jsonable(value):
    """Stats as plain JSON values (numpy numbers and statuses become floats, ints, strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return str(value) if isinstance(value, Status) else value
    try:
        return value.item()  # numpy scalar
    except AttributeError:
        return str(value)
