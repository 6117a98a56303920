"""Verify a plan against the profiles: latencies, throughputs, SLOs, GPU limits.

Every partition's latency and throughput is recomputed from the profile store
(the same formulas the planner uses) and compared with what the plan claims.
Also: :func:`validate_plan_values` (every number a command reads from a plan is
one), and :func:`explain_infeasible` (why a problem has no plan, in one line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ppipe.errors import DataError, InputError
from ppipe.planfile.plan import Plan
from ppipe.planning.configs import EnumerationStopped, batch_build_us, enumerate_configs, fits_slots, stage_xput
from ppipe.planning.problem import PlanningProblem
from ppipe.profiles.store import ProfileStore

REL_TOL = 1e-6
#: More GPUs than any cluster has: a partition asking for more is flagged by :func:`check_plan`
#: (and refused by the simulator, which would make one worker per GPU instance).
MAX_PLAUSIBLE_GPUS = 1_000_000
#: Throughputs above this (req/s) are not a plan's but a corrupt file's.
MAX_PLAUSIBLE_XPUT = 1e9


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(v: object, where: str, key: str, *, low: float | None = 0.0, allow_none: bool = False,
            integer: bool = False, high: float | None = None) -> None:
    if v is None and allow_none:
        return
    if not _is_num(v) or not math.isfinite(v):
        raise DataError(f"{where}: {key!r} must be a finite number, got {v!r}")
    if high is not None and v > high:
        raise DataError(f"{where}: {key!r} is {v:g}, not a plausible value (at most {high:g})")
    if integer and float(v) != int(v):
        raise DataError(f"{where}: {key!r} must be a whole number, got {v!r}")
    if low is not None and v < low:
        raise DataError(f"{where}: {key!r} must be >= {low:g}, got {v!r}")


def validate_plan_values(plan: Plan, source: str = "plan") -> None:
    """Every number a command reads from a plan is a finite number of the right sign.

    ``read_plan`` checks a plan's shape; this checks its values, so that ``show``,
    ``show --json``, ``check``, ``simulate`` and ``solve --replay`` all reject
    ``num_gpu: NaN``, ``"xput": "fast"`` or ``config.sla: "x"`` with one line naming
    the JSON location, instead of failing somewhere inside."""
    for i, mp in enumerate(plan.models):
        where = f"{source}: entry {i}"
        _number(mp.xput, where, "xput", high=MAX_PLAUSIBLE_XPUT)
        _number(mp.sla, where, "sla")
        cfg = mp.config
        cw = f"{where}.config"
        if not isinstance(cfg.get("dnn_name"), str) or not cfg["dnn_name"]:
            raise DataError(f"{cw}: 'dnn_name' must be a model name, got {cfg.get('dnn_name')!r}")
        for key in ("sla", "hist_adjustment", "hist_adjustment_w_scheduling", "bw_gbps", "batch_build_factor"):
            if key in cfg:
                _number(cfg[key], cw, key)
        if "est_xput" in cfg:
            _number(cfg["est_xput"], cw, "est_xput", allow_none=True)
        if "max_num_parts" in cfg:
            _number(cfg["max_num_parts"], cw, "max_num_parts", low=1, integer=True)
        for key, low, integer in (("transmit_time_us_arr", 0.0, False), ("num_mps_levels", 1, True),
                                  ("num_gpu_per_server_arr", 1, True)):
            if key in cfg:
                arr = cfg[key]
                if not isinstance(arr, list):
                    raise DataError(f"{cw}: {key!r} must be a list of numbers, got {arr!r}")
                for j, v in enumerate(arr):
                    _number(v, cw, f"{key}[{j}]", low=low, integer=integer)
        if "gpu_name_arr" in cfg and not (isinstance(cfg["gpu_name_arr"], list)
                                          and all(isinstance(g, str) and g for g in cfg["gpu_name_arr"])):
            raise DataError(f"{cw}: 'gpu_name_arr' must be a list of GPU names, got {cfg['gpu_name_arr']!r}")
        for j, pl in enumerate(mp.pipelines):
            pw = f"{where}.pipelines[{j}]"
            _number(pl.xput, pw, "xput", high=MAX_PLAUSIBLE_XPUT)
            _number(pl.est_xput, pw, "est_xput", allow_none=True)
            _number(pl.est_batch_build_lat, pw, "est_batch_build_lat")
            _number(pl.batch_build_factor, pw, "batch_build_factor")
            _number(pl.hist_adjustment, pw, "hist_adjustment", low=None, allow_none=True)
            for q, part in enumerate(pl.partitions):
                qw = f"{pw}.partitions[{q}]"
                if not part.gpu:
                    raise DataError(f"{qw}: 'gpu' must be a GPU name")
                _number(part.num_gpu, qw, "num_gpu")
                _number(part.num_gpu_per_server, qw, "num_gpu_per_server", low=1, integer=True)
                for key in ("lat_infer", "lat_trans"):
                    _number(getattr(part, key), qw, key)
                _number(part.xput, qw, "xput", high=MAX_PLAUSIBLE_XPUT)


@dataclass
class Violation:
    model: str
    where: str  # e.g. "pipeline 0 partition 1"
    what: str

    def __str__(self) -> str:
        return f"{self.model}: {self.where}: {self.what}"


@dataclass
class CheckReport:
    violations: list[Violation] = field(default_factory=list)
    checked_partitions: int = 0
    gpus_used: dict[str, float] = field(default_factory=dict)
    limits: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict:
        return {"ok": self.ok, "checked_partitions": self.checked_partitions, "gpus_used": self.gpus_used,
                "limits": self.limits, "violations": [vars(v) for v in self.violations]}


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-6)


def check_plan(plan: Plan, store: ProfileStore, limits: dict[str, int] | None = None) -> CheckReport:
    rep = CheckReport(limits=limits)
    for mp in plan.models:
        add = lambda where, what, m=mp.name: rep.violations.append(Violation(m, where, what))  # noqa: E731
        cfg = mp.config
        try:
            prof = store.get(mp.name)
        except InputError as exc:
            add("model", str(exc))
            continue
        L = prof.num_chunks
        trans = [float(v) for v in cfg.get("transmit_time_us_arr") or prof.transmit_times_us(cfg.get("bw_gbps", 10))]
        if len(trans) != L - 1:
            add("config", f"{len(trans)} transmit times for {L} chunks")
            continue
        gpu_names = list(cfg.get("gpu_name_arr") or [])
        mps_levels = dict(zip(gpu_names, cfg.get("num_mps_levels") or []))
        max_parts = int(cfg.get("max_num_parts", 0) or 0)
        sla = float(cfg.get("sla", mp.sla))
        total = 0.0
        for pi, pl in enumerate(mp.pipelines):
            wp = f"pipeline {pi}"
            if max_parts and len(pl.partitions) > max_parts:
                add(wp, f"{len(pl.partitions)} partitions, more than max_num_parts {max_parts}")
            if pl.partitions[-1].end != L:
                add(wp, f"ends at chunk {pl.partitions[-1].end}, the model has {L} chunks")
                continue
            bs = {p.bs for p in pl.partitions}
            if cfg.get("bs_same", True) and len(bs) > 1:
                add(wp, f"partitions use different batch sizes {sorted(bs)}")
            lat_total = 0.0
            part_x = []
            for qi, part in enumerate(pl.partitions):
                rep.checked_partitions += 1
                wq = f"{wp} partition {qi}"
                if gpu_names and part.gpu not in gpu_names:
                    add(wq, f"GPU {part.gpu} is not in the plan's GPU types {gpu_names}")
                if part.gpu in mps_levels and part.k > mps_levels[part.gpu]:
                    add(wq, f"MPS split {part.k} above the {mps_levels[part.gpu]} levels allowed on {part.gpu}")
                if not prof.has(part.gpu, part.k):
                    add(wq, f"{part.gpu} with MPS split {part.k} is not profiled")
                    continue
                if part.bs > prof.max_batch(part.gpu, part.k):
                    add(wq, f"batch {part.bs} not profiled on {part.gpu} k={part.k}")
                    continue
                lat = prof.lat_infer(part.gpu, part.k, part.start, part.end, part.bs)
                if not _close(lat, float(part.lat_infer)):
                    add(wq, f"lat_infer {part.lat_infer:.1f} us, profiles give {lat:.1f} us")
                lt = trans[part.end - 1] * part.bs if part.end < L else 0.0
                if not _close(lt, float(part.lat_trans)):
                    add(wq, f"lat_trans {part.lat_trans:.1f} us, expected {lt:.1f} us")
                dl = trans[part.start - 1] if 0 < part.start < L else 1.0
                ul = trans[part.end - 1] if 0 < part.end < L else 1.0
                t = stage_xput(part.bs, lat, part.k, int(part.num_gpu_per_server), dl, ul)
                inst = float(part.num_gpu) * part.k
                if float(part.num_gpu) > MAX_PLAUSIBLE_GPUS:
                    add(wq, f"num_gpu {part.num_gpu:g} is not a plausible GPU count (more than "
                            f"{MAX_PLAUSIBLE_GPUS:,})")
                if abs(inst - round(inst)) > 1e-6:
                    add(wq, f"num_gpu {part.num_gpu} x k={part.k} is not a whole number of instances")
                x = round(inst) * t
                part_x.append(x)
                if x < float(part.xput) * (1 - REL_TOL) - 1e-6:
                    add(wq, f"claims {part.xput:.2f} req/s, profiles allow {x:.2f} req/s")
                lat_total += lat + lt
            est = pl.est_xput if pl.est_xput is not None else cfg.get("est_xput")
            b = pl.partitions[0].bs
            lat_total += batch_build_us(b, est, float(pl.batch_build_factor or 1.3)) + float(pl.hist_adjustment or 0)
            if lat_total > sla * (1 + REL_TOL):
                add(wp, f"latency {lat_total / 1000:.2f} ms exceeds the SLO {sla / 1000:.2f} ms")
            if part_x and float(pl.xput) > min(part_x) * (1 + REL_TOL) + 1e-6:
                add(wp, f"claims {pl.xput:.2f} req/s, its slowest partition allows {min(part_x):.2f} req/s")
            total += float(pl.xput)
        if gpu_names and max_parts and all(p.gpu in gpu_names for pl in mp.pipelines for p in pl.partitions):
            seqs = [tuple(gpu_names.index(p.gpu) for p in pl.partitions) for pl in mp.pipelines]
            if not fits_slots([seqs], len(gpu_names), max_parts):
                add("model", f"{len(seqs)} pipelines do not fit the {len(gpu_names)}^{max_parts} GPU-type slots")
        if float(mp.xput) > total * (1 + REL_TOL) + 1e-6:
            add("model", f"claims {mp.xput:.2f} req/s, its pipelines sum to {total:.2f} req/s")
    rep.gpus_used = plan.gpus_used()
    if limits is not None:
        for g, used in rep.gpus_used.items():
            if used > limits.get(g, 0) + 1e-6:
                rep.violations.append(Violation("cluster", g, f"uses {used:g} GPUs, limit {limits.get(g, 0)}"))
    return rep


def explain_infeasible(problem: PlanningProblem, time_budget_s: float = 10.0) -> str | None:
    """Why ``problem`` has no plan, in one line, when the cause is plain: a model with
    no pipeline within its SLO on these GPUs, or a GPU budget too small for the models
    together (each model served needs at least one whole GPU). None when neither is
    the cause, or when finding out would take more than ``time_budget_s``."""
    import time
    from dataclasses import replace
    from itertools import combinations

    c = problem.cluster
    deadline = time.perf_counter() + time_budget_s
    stop = lambda: time.perf_counter() > deadline  # noqa: E731
    usable: list[set[int]] = []
    for spec in problem.models:
        alone = replace(problem, models=[replace(spec, est_xput=None)])
        try:
            cfgs = enumerate_configs(alone, 0, should_stop=stop)
        except EnumerationStopped:
            return None
        types = {g for cfg in cfgs for g in cfg.gpu_seq if c.limits[g] > 0}
        if not types:
            on = ", ".join(g for g, n in zip(c.gpus, c.limits) if n > 0)
            return (f"no pipeline of {spec.name} meets its SLO of {spec.sla / 1000:.1f} ms "
                    f"(--slo-multiplier {problem.slo_multiplier:g}) on {on}, even with every GPU to itself")
        usable.append(types)
    n = len(problem.models)
    total = sum(c.limits)
    if total < n:
        return (f"GPU budget: {n} models need at least one whole GPU each, the cluster has {total} "
                f"({c.label()}); the SLOs are not the cause")
    if n <= 12:
        for size in range(2, n + 1):
            for group in combinations(range(n), size):
                types = set().union(*(usable[i] for i in group))
                cap = sum(c.limits[g] for g in types)
                if cap < size:
                    names = ", ".join(problem.models[i].name for i in group)
                    return (f"GPU budget: {names} can only be served on {', '.join(c.gpus[g] for g in sorted(types))}"
                            f" ({cap} GPUs) but need at least one whole GPU each; the SLOs are not the cause")
    return None
