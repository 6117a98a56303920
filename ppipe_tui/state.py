"""What the TUI knows between screens: data, the set-up form, solves and plans.

Nothing here imports Textual: the screens read and write these objects on the
UI thread, workers only produce results that come back as messages. Keeping
the form as plain strings (what the user typed) lets every field be checked
on its own and flagged in place, and lets a solve start from the command
palette before the set-up screen was ever shown.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ppipe import schedulers
from ppipe.catalog.gpus import GpuCatalog
from ppipe.errors import InputError, PPipeError
from ppipe.paths import DEFAULT_PLAN_DIR
from ppipe.planfile.naming import parse_plan_file_name, plan_file_name
from ppipe.planfile.plan import Plan, read_plan
from ppipe.planfile.provenance import (
    get_provenance,
    make_provenance,
    provenance_problems,
    recorded_limits,
    set_provenance,
)
from ppipe.planning.problem import PlanningProblem, build_problem
from ppipe.planning.request import GpuRow, build_cluster, parse_weights, preset_rows
from ppipe.planning.solvers import SOLVERS
from ppipe.profiles.store import ProfileStore


def scheduler_label(name: str | None) -> str:
    """The scheduler's label from the scheduler table (its name when unknown)."""
    return schedulers.labels().get(name or "", name or "plan")


def compare_schedulers() -> tuple[str, ...]:
    """The side-by-side comparison (Ctrl+T, sweeps), in the table's comparison order."""
    return tuple(s.name for s in schedulers.ordered(compare_only=True))


def solver_names() -> tuple[str, ...]:
    return SOLVERS.names()


MAX_MPS = 4
DEFAULT_PRESET = "HC2"


# --------------------------------------------------------------------- models

@dataclass
class ModelInfo:
    """One line of the model picker."""

    name: str
    runtime_us: float | None = None
    gpus: tuple[str, ...] = ()
    chunks: int = 0
    estimated: bool = False
    provenance: str = ""
    error: str | None = None

    def sla_us(self, multiplier: float) -> float | None:
        return None if self.runtime_us is None else multiplier * self.runtime_us


def load_model_info(store: ProfileStore) -> list[ModelInfo]:
    """Every model of the store with its base runtime; a broken profile becomes an error line."""
    out = []
    for name in store.model_names():
        try:
            p = store.get(name)
            out.append(ModelInfo(name, p.base_runtime_us, tuple(p.gpus), p.num_chunks, p.estimated, p.provenance))
        except PPipeError as exc:
            out.append(ModelInfo(name, error=str(exc)))
    return out


# ---------------------------------------------------------------- set-up form

@dataclass
class GpuFields:
    """One GPU type's row of the form, as typed (``ppipe.planning.request.GpuRow`` once checked)."""

    count: str = "0"
    mps: str = "1"
    server: str = "1"


@dataclass
class SetupForm:
    """The set-up screen's values, as typed."""

    models: list[str] = field(default_factory=list)
    preset: str = DEFAULT_PRESET
    gpus: dict[str, GpuFields] = field(default_factory=dict)
    bw: str = ""
    weights: str = ""
    slo_multiplier: str = "5"
    slo_discount: str = "0.4"
    max_parts: str = "2"
    scheduler: str = "ppipe"
    solver: str = "highs"
    time_limit: str = "60"

    @classmethod
    def default(cls, catalog: GpuCatalog, preset: str = DEFAULT_PRESET) -> "SetupForm":
        # high-class GPUs first, as in the paper's clusters (and plan file names: L4-T4_25-75)
        types = sorted(catalog, key=lambda g: g.gpu_class != "high")
        form = cls(gpus={g.name: GpuFields("0", str(g.mps_levels), str(g.gpus_per_server)) for g in types})
        form.apply_preset(preset, catalog)
        return form

    def apply_preset(self, name: str, catalog: GpuCatalog) -> None:
        try:
            rows, bw = preset_rows(name)
        except InputError:  # "custom": the rows as they are
            self.preset = "custom"
            return
        self.preset = name
        for g, row in self.gpus.items():
            row.count = "0"
            if g in catalog:
                row.mps, row.server = str(catalog.get(g).mps_levels), str(catalog.get(g).gpus_per_server)
        for r in rows:
            self.gpus[r.gpu] = GpuFields(str(r.count), str(r.mps), str(r.per_server))
        self.bw = _num(bw)

    def field_value(self, key: str) -> str:
        if key.startswith("gpu."):
            _, g, what = key.split(".", 2)
            return getattr(self.gpus[g], what)
        return getattr(self, key)

    def set_field(self, key: str, value: str) -> None:
        if key.startswith("gpu."):
            _, g, what = key.split(".", 2)
            setattr(self.gpus.setdefault(g, GpuFields()), what, value)
        else:
            setattr(self, key, value)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _int(text: str, lo: int, hi: int | None, what: str) -> tuple[int | None, str | None]:
    t = text.strip()
    try:
        v = int(t)
    except ValueError:
        return None, f"{what}: a whole number"
    if v < lo or (hi is not None and v > hi):
        return None, f"{what}: {lo}..{hi}" if hi is not None else f"{what}: at least {lo}"
    return v, None


def _float(text: str, what: str, lo: float = 0.0, lo_open: bool = True, hi: float | None = None,
           hi_open: bool = True) -> tuple[float | None, str | None]:
    t = text.strip()
    try:
        v = float(t)
    except ValueError:
        return None, f"{what}: a number"
    if not math.isfinite(v):
        return None, f"{what}: a number"
    if (lo_open and not v > lo) or (not lo_open and v < lo):
        return None, f"{what}: {'>' if lo_open else '>='} {_num(lo)}"
    if hi is not None and ((hi_open and not v < hi) or (not hi_open and v > hi)):
        return None, f"{what}: {'<' if hi_open else '<='} {_num(hi)}"
    return v, None


def weights_problem(text: str, n: int) -> str | None:
    """The weights field's problem for ``n`` chosen models (the core's one-line message), or None."""
    if not n:
        return None  # nothing to weigh yet: the models field says so
    try:
        parse_weights(text, n)
    except InputError as exc:
        return str(exc)
    return None


def check_field(form: SetupForm, key: str) -> str | None:
    """The problem with one field, or None; used to flag fields in place as they change."""
    v = form.field_value(key) if key != "models" else None
    if key.startswith("gpu."):
        what = key.split(".")[2]
        if what == "count":
            return _int(v, 0, 100_000, "count")[1]
        if what == "mps":
            return _int(v, 1, MAX_MPS, "MPS")[1]
        return _int(v, 1, 64, "per server")[1]
    if key == "models":
        return None if form.models else "choose at least one model"
    if key == "bw":
        return None if not v.strip() else _float(v, "bandwidth")[1]
    if key == "weights":
        return weights_problem(v, len(form.models))
    if key == "slo_multiplier":
        return _float(v, "SLO multiplier")[1]
    if key == "slo_discount":
        return _float(v, "discount", 0.0, False, 1.0, True)[1]
    if key == "max_parts":
        return _int(v, 1, 4, "max partitions")[1]
    if key == "time_limit":
        return None if not v.strip() else _float(v, "time limit")[1]
    if key == "scheduler":
        return None if v in schedulers.SCHEDULERS else f"unknown scheduler {v!r}"
    if key == "solver":
        return None if v in SOLVERS else f"unknown solver {v!r}"
    return None


FORM_KEYS = ("models", "bw", "weights", "slo_multiplier", "slo_discount", "max_parts", "scheduler", "solver",
             "time_limit")


@dataclass
class SolveRequest:
    """A validated set-up: the problem plus how to solve it."""

    problem: PlanningProblem
    schedulers: tuple[str, ...]
    solver: str
    time_limit: float | None

    @property
    def key(self) -> tuple:
        return problem_key(self.problem)


def problem_key(problem: PlanningProblem) -> tuple:
    c = problem.cluster
    return (tuple(problem.names), tuple(c.gpus), tuple(c.limits), float(c.bw_gbps),
            float(problem.slo_multiplier))


def validate(form: SetupForm, store: ProfileStore, catalog: GpuCatalog,
             schedulers: tuple[str, ...] | None = None) -> tuple[SolveRequest | None, dict[str, str]]:
    """Check every field; build the problem when they all hold. Errors are keyed by field."""
    errors: dict[str, str] = {}
    for key in FORM_KEYS:
        msg = check_field(form, key)
        if msg:
            errors[key] = msg
    rows: list[GpuRow] = []
    for g, row in form.gpus.items():
        for what in ("count", "mps", "server"):
            msg = check_field(form, f"gpu.{g}.{what}")
            if msg:
                errors[f"gpu.{g}.{what}"] = msg
        if not any(k.startswith(f"gpu.{g}.") for k in errors):
            c = int(row.count)
            if c > 0:
                rows.append(GpuRow(g, c, int(row.mps), int(row.server)))
    if not any(k.startswith("gpu.") for k in errors) and not rows:
        errors["gpus"] = "the GPU mix has no GPUs: give a count or pick a preset"
    profiles = []
    for name in form.models:
        try:
            profiles.append(store.get(name))
        except PPipeError as exc:
            errors["models"] = str(exc)
    if rows and profiles and "gpus" not in errors:
        missing = [f"{p.name} lacks {r.gpu}" for p in profiles for r in rows if not p.has(r.gpu, 1)]
        if missing:
            errors["gpus"] = "no profile: " + "; ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
    if errors:
        return None, errors
    try:
        cluster = build_cluster(rows, float(form.bw) if form.bw.strip() else None, catalog)
        weights = parse_weights(form.weights, len(profiles))
        problem = build_problem(profiles, cluster, weights, max_parts=int(form.max_parts),
                                slo_multiplier=float(form.slo_multiplier), slo_discount=float(form.slo_discount))
    except PPipeError as exc:
        return None, {"gpus": str(exc)}
    tl = float(form.time_limit) if form.time_limit.strip() else None
    return SolveRequest(problem, tuple(schedulers or (form.scheduler,)), form.solver, tl), {}


# ----------------------------------------------------------------- solves

_ids = itertools.count(1)
#: schedulers whose solver progress belongs to an inner solve (DART-r refines an NP plan)
INNER_BOUND_SCHEDULERS = frozenset({"dart-r"})


@dataclass
class SolveRun:
    """One scheduler's solve, as the live panel shows it."""

    scheduler: str
    request: SolveRequest
    id: int = field(default_factory=lambda: next(_ids))
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.perf_counter)
    history: list = field(default_factory=list)  # (elapsed s, incumbent, bound)
    incumbent: float | None = None
    bound: float | None = None
    gap: float | None = None
    elapsed: float = 0.0
    message: str = "starting"
    result: object | None = None  # planner.SolveResult
    error: str | None = None
    finished: bool = False

    @property
    def label(self) -> str:
        return scheduler_label(self.scheduler)

    @property
    def own_bound(self) -> bool:
        """Whether the live bound is a bound on this scheduler's objective (DART-r's progress
        comes from the NP solve inside it: not a bound on DART-r's plan)."""
        return self.scheduler not in INNER_BOUND_SCHEDULERS

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        if self.result is not None:
            return self.result.status
        if self.cancel.is_set():
            return "cancelling"
        return "running"

    def add_progress(self, p) -> None:
        """Record a ``ppipe.planning.milp.Progress`` (called on the UI thread)."""
        if p.incumbent is not None and p.incumbent <= 0:  # the trivial all-zero start
            p = type(p)(None, p.bound, None, p.elapsed, p.message)
        if p.message and p.incumbent is None and p.bound is None:
            self.message = p.message
        else:
            self.message = "solving" if not p.message or p.message == "improved" else p.message
        if p.incumbent is not None:
            self.incumbent = p.incumbent
        if p.bound is not None:
            self.bound = p.bound
        if p.gap is not None:
            self.gap = p.gap
        self.elapsed = time.perf_counter() - self.started
        if p.incumbent is not None or p.bound is not None:
            self.history.append((self.elapsed, p.incumbent, p.bound))


# ------------------------------------------------------------------ plans

@dataclass
class PlanEntry:
    """A plan on screen: solved in this session or read from a file."""

    plan: Plan
    scheduler: str | None = None
    status: str = "file"
    objective: float | None = None
    gap: float | None = None
    solve_seconds: float | None = None
    limits: dict | None = None
    weights: list | None = None
    problem: PlanningProblem | None = None
    path: Path | None = None
    message: str = ""
    #: how the plan disagrees with the current profiles (empty: it agrees, or was not checked)
    warnings: list = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.path is not None:
            return self.path.name
        return f"{scheduler_label(self.scheduler)} plan (not saved)"

    @property
    def key(self) -> tuple | None:
        if self.problem is not None:
            return problem_key(self.problem)
        if self.path is not None:
            info = parse_plan_file_name(self.path)
            if info is not None:
                return (tuple(self.plan.model_names), tuple(info.gpus), tuple(info.counts), float(info.bw_gbps),
                        float(info.slo_multiplier))
        return None

    def suggested_name(self) -> str:
        if self.path is not None:
            return self.path.name
        p = self.problem
        if p is None:
            return "plan.json"
        c = p.cluster
        return plan_file_name(p.names, p.weights, list(c.gpus), list(c.limits), c.bw_gbps, p.slo_multiplier,
                              self.scheduler or "ppipe")

    @classmethod
    def from_result(cls, run: SolveRun, store: ProfileStore | None = None) -> "PlanEntry":
        res = run.result
        p = run.request.problem
        plan = res.plan_for_file()
        if plan is not None and store is not None:
            stamp_plan(plan, p, run.scheduler, store)
        return cls(plan=plan, scheduler=run.scheduler, status=res.status, objective=res.objective, gap=res.gap,
                   solve_seconds=res.solve_seconds, limits=dict(zip(p.cluster.gpus, p.cluster.limits)),
                   weights=list(p.weights), problem=p, message=res.message)

    @classmethod
    def from_file(cls, path: str | Path) -> "PlanEntry":
        path = Path(path)
        plan = read_plan(path)
        info = plan_file_info(path, plan)
        limits = info["limits"]
        weights = info["weights"] if info["weights"] and len(info["weights"]) == len(plan.models) else None
        return cls(plan=plan, scheduler=info["scheduler"], status="file",
                   objective=plan.objective(weights), gap=plan.mipgap, solve_seconds=plan.runtime, limits=limits,
                   weights=weights, path=path)


def plan_file_info(path: Path, plan: Plan | None) -> dict:
    """Scheduler, GPU limits and weights of a plan file: from its name (the artifact's
    convention), else from the record the plan carries (a renamed plan keeps them)."""
    info = parse_plan_file_name(path, plan.model_names if plan is not None else None)
    if info is not None:
        return {"scheduler": info.scheduler, "limits": info.limits(), "weights": info.weights}
    rec = get_provenance(plan) if plan is not None else None
    if rec is None:
        return {"scheduler": None, "limits": None, "weights": None}
    w = rec.get("weights")
    return {"scheduler": rec.get("scheduler"), "limits": recorded_limits(plan),
            "weights": [float(v) for v in w] if isinstance(w, list) else None}


def profile_source_of(store: ProfileStore, names: list[str]) -> str:
    out = []
    for n in names:
        try:
            src = store.source_of(n)
            label = f"{src.kind}:{src.root}"
        except PPipeError:
            label = "?"
        if label not in out:
            out.append(label)
    return "; ".join(out)


def stamp_plan(plan: Plan, problem: PlanningProblem, scheduler: str, store: ProfileStore) -> None:
    """Record in the plan what it was made with (see :mod:`ppipe.planfile.provenance`)."""
    c = problem.cluster
    profiles = []
    for n in plan.model_names:
        try:
            profiles.append(store.get(n))
        except PPipeError:
            pass
    set_provenance(plan, make_provenance(
        scheduler=scheduler, gpus=c.gpus, counts=c.limits, bw_gbps=c.bw_gbps, mps_levels=c.mps_levels,
        gpus_per_server=c.gpus_per_server, weights=problem.weights, slo_multiplier=problem.slo_multiplier,
        max_parts=problem.max_parts, profiles=profiles, profile_source=profile_source_of(store, plan.model_names)))


def plan_warnings(plan: Plan, store: ProfileStore, limits: dict | None = None) -> list[str]:
    """How a plan disagrees with the current profiles: the recorded fingerprints first,
    then ``check_plan``'s violations (latencies, throughputs, SLOs, GPU limits)."""
    from ppipe.planning.check import check_plan

    out = provenance_problems(plan, store)
    try:
        rep = check_plan(plan, store, limits)
    except PPipeError as exc:
        return out + [f"cannot check the plan: {exc}"]
    out += [str(v) for v in rep.violations]
    return out


def rename_problem(name: str) -> str | None:
    """Why ``name`` cannot be a plan's new file name (it stays in the plan's folder), or None."""
    n = name.strip()
    if not n:
        return "give a name"
    if "/" in n or "\\" in n:
        return "a name, not a path: no / or \\"
    if n in (".", "..") or n.startswith(".."):
        return "not . or .."
    if n.startswith("."):
        return "a name that does not start with ."
    if "\x00" in n:
        return "no NUL characters"
    return None


def sibling_plans(path: Path) -> dict[str, Path]:
    """Plans of the same setting by other schedulers, by the artifact's file-name convention."""
    info = parse_plan_file_name(path)
    if info is None:
        return {}
    stem = path.name[:-5] if path.name.endswith(".json") else path.name
    prefix = stem.rsplit("_", 1)[0]
    out = {}
    for sched in compare_schedulers():
        cand = path.with_name(f"{prefix}_{schedulers.get(sched).tag}.json")
        if cand.exists():
            out[sched] = cand
    return out


# ---------------------------------------------------------------- session

class Session:
    """Everything the screens share. Lives on the app, used from the UI thread."""

    def __init__(self, data: str | None = None, plan_dir: Path | None = None, store: ProfileStore | None = None,
                 catalog: GpuCatalog | None = None):
        self.data = data
        self.store = store if store is not None else ProfileStore.open(data)
        self.catalog = catalog if catalog is not None else GpuCatalog.load()
        self.plan_dir = Path(plan_dir) if plan_dir is not None else DEFAULT_PLAN_DIR
        self.form = SetupForm.default(self.catalog)
        self.models: list[ModelInfo] | None = None  # filled by a worker
        self.runs: list[SolveRun] = []
        self.current: PlanEntry | None = None
        #: latest plan per scheduler, for the side-by-side views (keyed by problem)
        self.by_scheduler: dict[str, PlanEntry] = {}
        #: perf_counter of the last handled key action (the responsiveness test reads it)
        self.last_action_at = 0.0
        #: background jobs (daemon threads); quitting cancels them and never waits
        self.jobs: list = []
        #: (message, log path) of background failures nothing handled: the exit status says so
        self.failures: list[tuple[str, str]] = []

    def start_job(self, name: str, target, *args, on_error=None, cancel: threading.Event | None = None):
        """Run ``target(*args)`` on a daemon thread (:class:`ppipe_tui.runners.Job`)."""
        from ppipe_tui.runners import Job

        def failed(msg: str, log: str) -> None:
            self.failures.append((msg, log))
            if on_error is not None:
                on_error(msg, log)

        self.jobs = [j for j in self.jobs if j.alive]
        job = Job(name, target, *args, on_error=failed, cancel=cancel)
        self.jobs.append(job)
        return job.start()

    def cancel_jobs(self) -> None:
        """Ask every background job (and solve) to stop; returns at once."""
        for r in self.runs:
            r.cancel.set()
        for j in self.jobs:
            j.cancel.set()

    def mark_action(self) -> None:
        """Note when an action ran (the responsiveness test compares it with the key press)."""
        self.last_action_at = time.perf_counter()

    @property
    def solving(self) -> bool:
        return any(not r.finished for r in self.runs)

    def model_info(self, name: str) -> ModelInfo | None:
        for m in self.models or []:
            if m.name == name:
                return m
        return None

    def set_current(self, entry: PlanEntry) -> None:
        self.current = entry
        if entry.scheduler:
            self.by_scheduler[entry.scheduler] = entry

    def comparison(self) -> dict[str, PlanEntry]:
        """Plans of the current plan's setting by NP, DART-r and PPipe (those there are)."""
        cur = self.current
        if cur is None:
            return {}
        key = cur.key
        out: dict[str, PlanEntry] = {}
        if key is not None:
            for s, e in self.by_scheduler.items():
                if e.key == key and s in compare_schedulers():
                    out[s] = e
        if cur.path is not None:
            for s, p in sibling_plans(cur.path).items():
                if s not in out:
                    try:
                        out[s] = PlanEntry.from_file(p)
                    except PPipeError:
                        pass
        if cur.scheduler and cur.scheduler not in out:
            out[cur.scheduler] = cur
        if not out:
            out["plan"] = cur
        return out
