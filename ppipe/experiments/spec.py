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
#: The longest simulated arrival window per load factor (about four months).
MAX_DURATION_S = 1e7


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
        if not 0 < self.duration_s <= MAX_DURATION_S:  # NaN and inf fail here, before any work
            raise InputError(f"--duration must be a finite number of seconds in (0, {MAX_DURATION_S:g}], "
                             f"got {self.duration_s:g}")
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


#: Arrival choices of the maf21 set: "auto" = a real trace when one is at hand (--trace, else
#: $PPIPE_TRACES), else the generator calibrated to the code trace's burstiness.
MAF21_ARRIVALS = ("auto", "trace", "calibrated", "bursty")
TRACES_ENV = "PPIPE_TRACES"


def _trace_from_env() -> "str | None":
    """The trace $PPIPE_TRACES names: a file, or in a folder the trace the shipped fit was made
    from, else its first CSV by name. None when unset; a one-line error when it names nothing."""
    import os
    from pathlib import Path

    value = os.environ.get(TRACES_ENV)
    if not value:
        return None
    p = Path(value).expanduser()
    if p.is_file():
        return str(p)
    if p.is_dir():
        from ppipe.sim.arrivals import DEFAULT_FIT
        from ppipe.sim.burstiness import load_fit

        try:
            preferred = load_fit(DEFAULT_FIT).get("trace")
        except InputError:
            preferred = None
        if preferred and (p / preferred).is_file():
            return str(p / preferred)
        csvs = sorted(p.glob("*.csv"))
        if csvs:
            return str(csvs[0])
        raise InputError(f"${TRACES_ENV}={value}: no .csv trace in that folder")
    raise InputError(f"${TRACES_ENV}={value}: no such file or folder")


def maf21_arrivals(choice: str = "auto", trace=None, ratio: float | None = None,
                   burst_fraction: float | None = None, burst_s: float | None = None) -> tuple[dict, str]:
    """The maf21 set's arrival spec and a one-line note saying which process was chosen and why.

    ``auto``: ``trace`` if given, else the trace ``$PPIPE_TRACES`` names, else (or with burst
    options) the synthetic MMPP with those options, else the calibrated generator."""
    from ppipe.sim.arrivals import arrivals_spec

    if choice not in MAF21_ARRIVALS:
        raise InputError(f"unknown arrivals {choice!r} (choose {', '.join(MAF21_ARRIVALS)})")
    burst = {k: v for k, v in (("ratio", ratio), ("burst_fraction", burst_fraction), ("burst_s", burst_s))
             if v is not None}
    if choice == "auto":
        if trace is not None:
            choice = "trace"
        elif burst:
            choice = "bursty"
        else:
            trace = _trace_from_env()
            choice = "trace" if trace else "calibrated"
            if trace:
                a = arrivals_spec("trace", trace=trace)
                return a, f"maf21 arrivals: real trace {a['path']} (from ${TRACES_ENV})"
    if choice == "trace":
        trace = trace if trace is not None else _trace_from_env()
        if trace is None:
            raise InputError(f"--arrivals trace needs --trace FILE or ${TRACES_ENV}")
        a = arrivals_spec("trace", trace=trace)
        return a, f"maf21 arrivals: real trace {a['path']}"
    if choice == "bursty":
        a = arrivals_spec("bursty", **burst)
        return a, f"maf21 arrivals: {arrivals_label(a)} (uncalibrated)"
    a = arrivals_spec("calibrated")
    return a, (f"maf21 arrivals: no trace given (--trace or ${TRACES_ENV}); {arrivals_label(a)}, "
               f"folded like the trace")
