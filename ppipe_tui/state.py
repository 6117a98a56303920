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
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ppipe import schedulers
from ppipe.catalog.gpus import GpuCatalog
from ppipe.errors import DataError, InputError, PPipeError
from ppipe.paths import DEFAULT_PLAN_DIR, expand_user
from ppipe.planfile.naming import parse_plan_file_name, partial_path, plan_file_name, settings_items
from ppipe.planfile.plan import Plan, read_plan
from ppipe.planfile.provenance import (
    get_provenance,
    recorded_limits,
)
from ppipe.planning.problem import PlanningProblem, build_problem
from ppipe.planning.record import plan_warnings, profile_source_of, stamp_plan  # noqa: F401 - re-exported
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


class KeyedForm:
    """A form whose fields are read and written by key: a field's name, or ``gpu.TYPE.column``
    for a cell of the GPU rows (``self.gpus``, rows of ``row_type``). Shared by the set-up
    and the Size screen."""

    row_type: type = GpuFields

    def field_value(self, key: str) -> str:
        if key.startswith("gpu."):
            g, what = gpu_key_parts(key)
            return getattr(self.gpus[g], what)
        return getattr(self, key)

    def set_field(self, key: str, value: str) -> None:
        if key.startswith("gpu."):
            g, what = gpu_key_parts(key)
            setattr(self.gpus.setdefault(g, self.row_type()), what, value)
        else:
            setattr(self, key, value)


def gpu_key_parts(key: str) -> tuple[str, str]:
    """``gpu.TYPE.column`` -> (TYPE, column); a type's name may hold dots (``A100.80GB``)."""
    g, _, what = key[len("gpu."):].rpartition(".")
    return g, what


def format_number(v: float | None) -> str:
    """A number as a form shows it: ``25`` not ``25.0``, ``0.4``; empty for None."""
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


@dataclass
class SetupForm(KeyedForm):
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



_num = format_number


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
        what = gpu_key_parts(key)[1]
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
        if not any(k.startswith("gpu.") and gpu_key_parts(k)[0] == g for k in errors):
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
    #: the file name to suggest when saving (a sized plan's), else one is made from the problem
    name_hint: str | None = None
    #: a line on where the plan came from (a sizing: its cost and what it adds)
    origin: str = ""
    #: the title's label before "plan (not saved)" (default: the scheduler's)
    label: str = ""

    @property
    def title(self) -> str:
        if self.path is not None:
            return self.path.name
        return f"{self.label or scheduler_label(self.scheduler)} plan (not saved)"

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
        if self.name_hint:
            return self.name_hint
        p = self.problem
        if p is None:
            return "plan.json"
        c = p.cluster
        items = settings_items(max_parts=p.max_parts, slo_discount=p.slo_discount, fill=p.fill_leftover)
        name = plan_file_name(p.names, p.weights, list(c.gpus), list(c.limits), c.bw_gbps, p.slo_multiplier,
                              self.scheduler or "ppipe", items)
        # a plan that is not proven optimal is named apart, so it never replaces a finished one
        return partial_path(name).name if str(self.status) in ("cancelled", "time_limit") else name

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
        plan = load_plan(path)
        info = plan_file_info(path, plan)
        limits = info["limits"]
        weights = info["weights"] if info["weights"] and len(info["weights"]) == len(plan.models) else None
        return cls(plan=plan, scheduler=info["scheduler"], status="file",
                   objective=plan.objective(weights), gap=plan.mipgap, solve_seconds=plan.runtime, limits=limits,
                   weights=weights, path=path)


#: The most GPUs one pool of a plan may hold, and the highest rate a plan may claim: more
#: is a corrupt or absurd file (simulating it would exhaust memory), not a plan to show.
MAX_PLAN_GPUS = 1_000_000
MAX_PLAN_RATE = 1e9
#: The largest plan file read (the artifact's are a few kB; a huge file would stall the UI).
MAX_PLAN_BYTES = 64 * 1024 * 1024


def load_plan(path: str | Path) -> Plan:
    """:func:`read_plan` for the TUI: whatever is wrong with the file (not JSON, nested too
    deep, binary, a directory, a symlink loop, a value of the wrong type, NaN, absurd
    numbers) is one :class:`DataError` naming the file, never an exception the app did
    not expect."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DataError(f"{p}: plan file not found") from None
    except OSError as exc:
        raise DataError(f"{p}: cannot read plan ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{p}: a directory, not a plan file")
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
        raise DataError(f"{p}: not a regular file")
    if st.st_size > MAX_PLAN_BYTES:
        raise DataError(f"{p}: {st.st_size:,} bytes, too large for a plan file (at most {MAX_PLAN_BYTES:,})")
    try:
        plan = read_plan(p)
    except PPipeError:
        raise
    except RecursionError:
        raise DataError(f"{p}: cannot read plan (nested too deeply)") from None
    except OSError as exc:
        raise DataError(f"{p}: cannot read plan ({exc.strerror or type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - a corrupt file, shown as an error
        raise DataError(f"{p}: cannot read plan ({type(exc).__name__}: {exc})") from None
    problem = plan_value_problem(plan)
    if problem:
        raise DataError(f"{p}: {problem}")
    return plan


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def plan_value_problem(plan: Plan) -> str | None:
    """The first value of ``plan`` the screens cannot show or simulate (a string where a
    number belongs, NaN, a negative or absurd count), or None."""

    def bad(where: str, key: str, v, lo: float = 0.0, hi: float | None = None) -> str | None:
        x = _number(v)
        if x is None:
            return f"{where}: {key} {v!r} is not a finite number"
        if x < lo or (hi is not None and x > hi):
            return f"{where}: {key} {v!r} is out of range ({_num(lo)}..{hi:g})" if hi is not None else (
                f"{where}: {key} {v!r} is below {_num(lo)}")
        return None

    for i, m in enumerate(plan.models):
        where = f"model {m.name or i}"
        msg = bad(where, "xput", m.xput, 0.0, MAX_PLAN_RATE) or bad(where, "sla", m.sla, 0.0)
        if msg:
            return msg
        for j, pl in enumerate(m.pipelines):
            pw = f"{where} pipeline {j}"
            msg = bad(pw, "xput", pl.xput, 0.0, MAX_PLAN_RATE)
            if msg:
                return msg
            for q, part in enumerate(pl.partitions):
                qw = f"{pw} partition {q}"
                msg = (bad(qw, "num_gpu", part.num_gpu, 0.0, MAX_PLAN_GPUS)
                       or bad(qw, "xput", part.xput, 0.0, MAX_PLAN_RATE)
                       or bad(qw, "lat_infer", part.lat_infer) or bad(qw, "lat_trans", part.lat_trans)
                       or bad(qw, "num_gpu_per_server", part.num_gpu_per_server, 1.0, MAX_PLAN_GPUS))
                if msg:
                    return msg
    return None


def plan_file_info(path: Path, plan: Plan | None) -> dict:
    """Scheduler, GPU limits and weights of a plan file: from its name (the artifact's
    convention), else from the record the plan carries (a renamed plan keeps them)."""
    none = {"scheduler": None, "limits": None, "weights": None}
    try:
        info = parse_plan_file_name(path, plan.model_names if plan is not None else None)
        if info is not None:
            return {"scheduler": info.scheduler, "limits": info.limits(), "weights": info.weights}
        rec = get_provenance(plan) if plan is not None else None
        if not isinstance(rec, dict):
            return none
        w = rec.get("weights")
        sched = rec.get("scheduler")
        return {"scheduler": sched if isinstance(sched, str) else None, "limits": recorded_limits(plan),
                "weights": [float(v) for v in w] if isinstance(w, list) else None}
    except Exception:  # noqa: BLE001 - an odd name or record: nothing known, the plan still opens
        return none


def _fits_slo(store: ProfileStore, m, gpu: str, types: list[str], whole_model: bool) -> bool | None:
    """Whether a pipeline of model ``m`` with a stage on ``gpu`` could meet its SLO, by a
    lower bound on its latency: each chunk on its fastest type of ``types`` (batch 1, a whole
    GPU, nothing for transfers or batch building) except one chunk on ``gpu`` (all of them
    for NP), against the SLO less the share held back for queueing. False is certain;
    None: no profile to tell."""
    try:
        prof = store.get(m.name)
        if not prof.has(gpu, 1):
            return False
        budget = float(m.sla) - float(m.config.get("hist_adjustment") or 0.0)
        L = prof.num_chunks
        if whole_model:
            return prof.lat_infer(gpu, 1, 0, L, 1) <= budget
        usable = [t for t in dict.fromkeys([*types, gpu]) if prof.has(t, 1)]
        best = [min(prof.lat_infer(t, 1, c, c + 1, 1) for t in usable) for c in range(L)]
        extra = min(prof.lat_infer(gpu, 1, c, c + 1, 1) - best[c] for c in range(L))
    except Exception:  # noqa: BLE001 - no profile to tell: say nothing
        return None
    return sum(best) + extra <= budget


def idle_reason(entry: "PlanEntry", store: ProfileStore) -> str | None:
    """One line on the GPUs the plan leaves idle, and why: no model can meet its SLO on
    that type (certain, from the profiles), or the max-min objective (the slowest model
    gains nothing from them; Fill hands them to the others). None when nothing is idle
    or the limits are unknown."""
    from ppipe_tui.formatting import gpus as gpu_text

    limits = entry.limits or {}
    used = entry.plan.gpus_used()
    idle = {g: float(n) - used.get(g, 0.0) for g, n in limits.items() if float(n) - used.get(g, 0.0) > 1e-6}
    if not idle:
        return None
    whole = entry.scheduler == "np"
    models = entry.plan.models
    filled = entry.problem is not None and entry.problem.fill_leftover
    slo, maxmin, busy_needed = [], [], set()
    for g, n in idle.items():
        text = f"{gpu_text(n)} {g}"
        if models and all(_fits_slo(store, m, g, list(limits), whole) is False for m in models):
            slo.append(text)
            continue
        maxmin.append(text)
        if models and all(_fits_slo(store, m, g, list(idle), whole) is False for m in models):
            busy_needed.update(t for t in limits if t not in idle)
    parts = []
    if slo:
        parts.append(f"{', '.join(slo)}: no model meets its SLO on {'these types' if len(slo) > 1 else 'that type'}")
    if maxmin:
        busy = (f"; pipelines through them also need {', '.join(sorted(busy_needed))}, all in use"
                if busy_needed else "")
        if filled:
            parts.append(f"{', '.join(maxmin)} stay idle after Fill: no model can use them{busy}")
        else:
            fill = ("Fill (F) gives them to the models that can use them" if entry.problem is not None
                    and len(models) > 1 else "one model only: nothing to fill" if len(models) < 2
                    else "solve on F2 and Fill (F) to use them")
            parts.append(f"{', '.join(maxmin)}: the max-min objective (the slowest model gains nothing from "
                         f"them{busy}); {fill}")
    return "idle: " + "; ".join(parts)


def save_path(name: str) -> Path:
    """Where Save writes a plan the user named: ``~`` expanded, ``.json`` added. A name that
    is no file (``.``, ``/``, a folder, an unknown ``~user``) is an :class:`InputError`."""
    text = name.strip()
    path = expand_user(text)
    if not path.name or path.name in (".", "..") or text.endswith("/") or path.is_dir():
        raise InputError(f"{text or name!r} is a folder: give a file name for the plan")
    if "\x00" in text:
        raise InputError("a file name has no NUL characters")
    return path if path.suffix == ".json" else path.with_name(path.name + ".json")


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
        #: perf_counter of the last handled key action (tests and bench/bench_tui_latency.py read it)
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

    def add_gpu_type(self, fields: dict[str, str]) -> str:
        """Add a GPU type the catalog lacks, with the profile data that has its latencies
        (the set-up's "Add GPU type" dialog). ``fields``: name, profiles (a folder), like
        (a catalog type whose hardware figures it takes), class, server, mps, network,
        price, save ("yes" writes it to the user's catalog). Returns what was done; raises
        a one-line PPipeError for what is wrong, and changes nothing then."""
        from ppipe.catalog.gpus import derived_gpu_type, save_user_gpu_type
        from ppipe.profiles.store import open_source

        name = (fields.get("name") or "").strip()
        if not name:
            raise InputError("give the new GPU type a name")
        if name in self.catalog:
            raise InputError(f"{name} is already in the catalog: its row is in the GPU mix")
        folder = (fields.get("profiles") or "").strip()
        if not folder:
            raise InputError(f"give the folder of profiles that have latencies for {name}")
        like = self.catalog.get((fields.get("like") or "").strip() or "T4")
        gpu = derived_gpu_type(name, like, gpu_class=fields.get("class") or None,
                               gpus_per_server=(fields.get("server") or "").strip() or None,
                               mps_levels=(fields.get("mps") or "").strip() or None,
                               network_gbps=(fields.get("network") or "").strip() or None,
                               price_per_hour=(fields.get("price") or "").strip() or None,
                               price_source="given in ppipe-tui")
        source = open_source(expand_user(folder))
        # the first model with its latencies is proof enough (this runs on the UI thread:
        # loading every profile of a large folder would stall it)
        have = []
        for model in source.model_names():
            try:
                if name in source.load(model).latency:
                    have.append(model)
                    break
            except PPipeError:
                continue  # a broken profile in the folder: the model list reports it
        if not have:
            raise DataError(f"{folder}: no profile there has latencies for {name} (the profiles' GPU names must "
                            f"match it exactly)")
        saved = None
        if str(fields.get("save", "")).lower() in ("yes", "y", "true", "1"):
            try:
                saved = save_user_gpu_type(gpu)
            except OSError as exc:
                raise DataError(f"cannot save {name} to the user catalog: {exc.strerror or exc}") from None
        self.catalog = self.catalog.with_type(gpu)
        self.store = self.store.with_source_first(source)
        self.form.gpus[name] = GpuFields("0", str(gpu.mps_levels), str(gpu.gpus_per_server))
        return (f"{name} added with the profiles in {folder} (e.g. {have[0]})"
                + (f"; saved to {saved}" if saved else " (this session only)"))

    def mark_action(self) -> None:
        """Note when an action ran (``bench/bench_tui_latency.py`` compares it with the key press)."""
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
