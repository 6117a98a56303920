"""An experiment's specification: everything that affects its numbers.

:class:`ExperimentSpec` is stored in the output folder's ``experiment.json``
(see :mod:`ppipe.experiments.outdir`); its :meth:`~ExperimentSpec.fingerprint`
decides whether a re-run may add to a folder's results. The arrival process is
part of it, as a small dict made by :func:`ppipe.sim.arrivals.arrivals_spec`
(the arrival table) and turned into arrival processes by
:func:`ppipe.sim.arrivals.arrival_factory`.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields

from ppipe.errors import InputError
from ppipe.experiments.settings import SET_DEFAULTS
from ppipe.sim.arrivals import ARRIVALS, arrivals_label
from ppipe.sim.lfsearch import GRID

LOAD_BASES = ("plan", "objective")


@dataclass
class ExperimentSpec:
    """Everything that affects an experiment's numbers (stored in ``experiment.json``)."""

    set: str
    max_parts: int
    slo_multiplier: float
    slo_discount: float
    weights: list | None
    arrivals: dict  # {"kind": "poisson"} | {"kind": "bursty", ...} | {"kind": "trace", "path": ...}
    duration_s: float = 30.0
    seeds: list = field(default_factory=lambda: [0])
    grid: list = field(default_factory=lambda: list(GRID))
    #: Load factor 100: "objective" (default) = weight x the PPipe plan's max-min objective T,
    #: which is what the artifact's plans record as ``xput`` for most models (the MILP's x
    #: variable), so lf99 is comparable with the paper; "plan" = the capacity our planner
    #: provisions for the model (a heavier load where the optimum leaves slack).
    load_base: str = "objective"
    time_limit: float | None = 60.0
    solver: str = "highs"
    data: str | None = None  # profile data folder (None: the default store)

    @classmethod
    def for_set(cls, set_name: str, **kw) -> "ExperimentSpec":
        d = SET_DEFAULTS[set_name]
        base = dict(set=set_name, max_parts=d.max_parts, slo_multiplier=d.slo_multiplier,
                    slo_discount=d.slo_discount, weights=list(d.weights) if d.weights else None,
                    arrivals={"kind": d.arrivals})
        base.update({k: v for k, v in kw.items() if v is not None})
        spec = cls(**base)
        spec.validate()
        return spec

    def validate(self) -> None:
        if not self.duration_s > 0:
            raise InputError(f"--duration must be positive, got {self.duration_s:g} s")
        if not self.seeds:
            raise InputError("--seeds must be at least 1")
        grid = sorted({int(g) for g in self.grid}, reverse=True)
        if not grid or any(g <= 0 or g > 1000 for g in grid):
            raise InputError("load factors must be integers in 1..1000 (percent of the PPipe throughput)")
        self.grid = grid
        if self.max_parts < 1:
            raise InputError("--max-parts must be >= 1")
        if self.time_limit is not None and not self.time_limit > 0:
            raise InputError("--time-limit must be positive")
        kind = self.arrivals.get("kind")
        ARRIVALS.get(kind)  # unknown -> one line naming the known kinds
        if self.load_base not in LOAD_BASES:
            raise InputError(f"unknown load base {self.load_base!r} (choose {' or '.join(LOAD_BASES)})")
        if kind == "trace" and len(self.seeds) > 1:
            self.seeds = self.seeds[:1]  # a trace is deterministic: more seeds repeat the same run

    def fingerprint(self) -> dict:
        """What must match for results to be mixed in one folder (the time limit only
        matters for plans not yet solved; the data folder is recorded, not compared)."""
        d = asdict(self)
        d.pop("time_limit")
        d.pop("data")
        return d

    def fingerprint_changes(self, old: dict) -> list[str]:
        """The fields whose value differs from a stored fingerprint ``old``, sorted (fields
        added since ``old`` was written compare as their defaults)."""
        new = self.fingerprint()
        defaults = {f.name: f.default for f in fields(self) if f.default is not MISSING}
        return [k for k in sorted(set(old) | set(new)) if old.get(k, defaults.get(k)) != new.get(k)]

    def arrivals_label(self) -> str:
        return arrivals_label(self.arrivals)
