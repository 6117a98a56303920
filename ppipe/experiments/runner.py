"""Run an experiment set: solve every setting's plans, then sweep every model's load factors.

Work is split into *settings* (one planning problem each, see
:mod:`ppipe.experiments.settings`), run one per process with ``workers`` > 1.
For a setting the runner

1. solves the plans (SPEC 4's est_xput flow: NP without est_xput first -- the
   single-model NP in the ablation, as the artifact does -- and its per-model
   throughputs become est_xput for NP, DART-r and PPipe; DART-r reuses the NP
   plan's GPU split);
2. for every variant (planner + balancer) and model, runs the simulator at
   every load factor of the grid (load = lf x int(X_ppipe) // 100, X_ppipe the
   setting's PPipe plan throughput for that model; the same absolute load for
   every variant), each seed drawing its arrivals from ``(seed, lf)`` exactly
   as :func:`ppipe.sim.lfsearch.find_lf99` does. Every point is run in full, so
   the table holds the whole attainment curve and the GPU utilisation at every
   load factor, and lf99 (the largest passing load factor) equals the search's.

Resumability. Everything lands in the output folder through atomic writes
(temp file + rename), so a crash or Ctrl-C never leaves a half-written file:

- ``experiment.json``: the configuration (what affects results); a re-run with
  a different one is refused instead of mixing results;
- ``plans/<setting>/<plan file>.json`` and ``plans/<setting>/solve.json``: each
  plan as soon as it is solved (a re-run loads it instead of solving again);
- ``parts/<setting>/<variant>.csv``: one variant's rows, written when its
  sweep is complete; ``parts/<setting>/timing.json``: solve and sweep times;
- ``results.csv``: all parts merged (rewritten after every setting);
  ``summary.json``: the summary (:mod:`ppipe.experiments.figures`).

A re-run skips variants whose part exists, so killing a run half-way and
running it again finishes the rest and yields the same table as one
uninterrupted run (the simulator is deterministic and plans are reused).

Nothing here imports a UI library: progress is reported through a callback.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Optional, Sequence

from ppipe.atomic import write_json_atomic, write_text_atomic
from ppipe.errors import DataError, InputError, PPipeError
from ppipe.experiments import variants as V
from ppipe.experiments.settings import SET_DEFAULTS, Setting
from ppipe.sim.lfsearch import GRID
from ppipe.sim.metrics import attainment, passes

CONFIG_FILE = "experiment.json"
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.json"
FORMAT = "ppipe-experiment"
LOAD_BASES = ("plan", "objective")


# ------------------------------------------------------------------ config

@dataclass
class ExperimentConfig:
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
    def for_set(cls, set_name: str, **kw) -> "ExperimentConfig":
        d = SET_DEFAULTS[set_name]
        base = dict(set=set_name, max_parts=d.max_parts, slo_multiplier=d.slo_multiplier,
                    slo_discount=d.slo_discount, weights=list(d.weights) if d.weights else None,
                    arrivals={"kind": d.arrivals})
        base.update({k: v for k, v in kw.items() if v is not None})
        cfg = cls(**base)
        cfg.validate()
        return cfg

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
        if kind not in ("poisson", "bursty", "trace"):
            raise InputError(f"unknown arrival process {kind!r}")
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

    def arrivals_label(self) -> str:
        a = self.arrivals
        if a["kind"] == "trace":
            return f"trace {Path(a['path']).name}"
        if a["kind"] == "bursty":
            return (f"bursty (synthetic MMPP: ratio {a.get('ratio', 4.0):g}, burst share "
                    f"{a.get('burst_fraction', 0.2):g}, mean burst {a.get('burst_s', 1.0):g} s)")
        return "Poisson"


def arrivals_spec(kind: str, trace: str | os.PathLike | None = None, ratio: float = 4.0,
                  burst_fraction: float = 0.2, burst_s: float = 1.0) -> dict:
    if kind == "trace":
        from ppipe.sim.traces import read_trace_seconds

        path = Path(trace).resolve()
        times = read_trace_seconds(path)  # one-line error now rather than in a worker
        if len(times) < 2:
            raise DataError(f"{path}: a trace needs at least two arrivals")
        return {"kind": "trace", "path": str(path), "arrivals_in_file": int(len(times)),
                "span_s": float(times[-1] - times[0])}
    if kind == "bursty":
        from ppipe.sim.arrivals import BurstyArrivals

        BurstyArrivals(1.0, ratio, burst_fraction, burst_s)  # validate
        return {"kind": "bursty", "ratio": ratio, "burst_fraction": burst_fraction, "burst_s": burst_s}
    return {"kind": "poisson"}


_TRACE_CACHE: dict[str, object] = {}


def arrival_factory(spec: dict):
    """load -> ArrivalProcess for the configured arrivals (trace read once per process)."""
    from ppipe.sim.arrivals import BurstyArrivals, PoissonArrivals, TraceArrivals

    kind = spec["kind"]
    if kind == "trace":
        from ppipe.sim.traces import read_trace_seconds

        path = spec["path"]
        if path not in _TRACE_CACHE:
            _TRACE_CACHE[path] = read_trace_seconds(path)
        times = _TRACE_CACHE[path]
        return lambda load: TraceArrivals(path, load, times_s=times)
    if kind == "bursty":
        r, f, s = spec.get("ratio", 4.0), spec.get("burst_fraction", 0.2), spec.get("burst_s", 1.0)
        return lambda load: BurstyArrivals(load, r, f, s)
    return PoissonArrivals


# ------------------------------------------------------------------ output folder layout

class OutDir:
    """Paths inside an experiment's output folder."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def results(self) -> Path:
        return self.root / RESULTS_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

    def plans(self, s: Setting) -> Path:
        return self.root / "plans" / s.id

    def parts(self, s: Setting) -> Path:
        return self.root / "parts" / s.id

    def part(self, s: Setting, variant: str) -> Path:
        return self.parts(s) / f"{variant}.csv"

    def timing(self, s: Setting) -> Path:
        return self.parts(s) / "timing.json"

    def failed(self, s: Setting) -> Path:
        return self.parts(s) / "failed.json"

    def done(self, s: Setting) -> bool:
        return all(self.part(s, v).exists() for v in s.variants)

    def part_files(self) -> list[Path]:
        return sorted((self.root / "parts").glob("*/*.csv"))


def remove_stale_temp_files(root: Path) -> int:
    """Delete hidden ``.*.tmp`` files a killed run left behind (atomic writes that never
    reached their rename); they hold no result. Returns how many were removed."""
    n = 0
    for tmp in root.rglob(".*.tmp"):
        try:
            tmp.unlink()
            n += 1
        except OSError:
            pass
    return n


def prepare_out(out: OutDir, cfg: ExperimentConfig, fresh: bool = False) -> None:
    """Create the folder or check it holds results of the same configuration."""
    if fresh:
        import shutil

        for sub in ("parts", "plans"):
            shutil.rmtree(out.root / sub, ignore_errors=True)
        for f in (out.results, out.summary, out.config):
            f.unlink(missing_ok=True)
    if out.config.exists():
        try:
            doc = json.loads(out.config.read_text())
            old = doc["config"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DataError(f"{out.config}: not an experiment configuration file") from None
        new = cfg.fingerprint()
        # fields added since the folder was written compare as their defaults
        defaults = {f.name: f.default for f in fields(ExperimentConfig) if f.default is not MISSING}
        diff = [k for k in sorted(set(old) | set(new)) if old.get(k, defaults.get(k)) != new.get(k)]
        if diff:
            what = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in diff[:3])
            raise InputError(f"{out.root} holds results of another configuration ({what}); "
                             f"use another --out or --fresh to discard them")
        remove_stale_temp_files(out.root)
        return
    if out.root.exists() and not out.root.is_dir():
        raise InputError(f"{out.root} is not a folder")
    write_json_atomic(out.config, {"format": FORMAT, "version": 1, "config": cfg.fingerprint(),
                                   "time_limit": cfg.time_limit, "data": cfg.data})


# ------------------------------------------------------------------ planning

_STORES: dict = {}


def _store(data: str | None):
    from ppipe.profiles.store import ProfileStore

    if data not in _STORES:
        _STORES[data] = ProfileStore.open(data)
    return _STORES[data]


def build_setting_problem(s: Setting, cfg: ExperimentConfig):
    from ppipe.planning.problem import CLUSTER_PRESETS, build_problem

    store = _store(cfg.data)
    profiles = [store.get(m) for m in s.models]
    weights = list(cfg.weights) if cfg.weights and len(cfg.weights) == len(profiles) else None
    return build_problem(profiles, CLUSTER_PRESETS[s.cluster], weights, cfg.max_parts, cfg.slo_multiplier,
                         cfg.slo_discount)


def plan_path(out: OutDir, s: Setting, problem, planner: str) -> Path:
    from ppipe.planfile.naming import plan_file_name

    c = problem.cluster
    return out.plans(s) / plan_file_name(list(s.models), problem.weights, list(c.gpus), list(c.limits),
                                         c.bw_gbps, problem.slo_multiplier, planner)


def solve_setting(s: Setting, cfg: ExperimentConfig, out: OutDir, threads: int | None = 1) -> dict:
    """Plans of every planner the setting needs (PPipe always), solved or loaded.

    Returns {planner: {"plan": Plan | None, "status", "objective", "solve_seconds", ...}}.
    """
    from ppipe.planning.milp import SolveOptions
    from ppipe.planfile.plan import read_plan, write_plan
    from ppipe.planning.solve import estimate_xput, solve

    problem = build_setting_problem(s, cfg)
    planners = {V.get(v).planner for v in s.variants} | {"ppipe"}
    order = sorted(planners, key=lambda p: (p == "ppipe", V.get(p).order))  # NP before DART-r, PPipe last
    info_path = out.plans(s) / "solve.json"
    info: dict = {}
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text())
        except json.JSONDecodeError:
            info = {}
    opts = SolveOptions(time_limit=cfg.time_limit, threads=threads)
    plans: dict = {}
    est = info.get("est_xput")
    for planner in order:
        path = plan_path(out, s, problem, planner)
        rec = info.get("planners", {}).get(planner)
        if rec is not None and (rec.get("plan") is None or path.exists()):
            plans[planner] = dict(rec, plan=read_plan(path) if rec.get("plan") else None)
            continue
        if est is None:
            t0 = time.perf_counter()
            if cfg.set == "ablation":  # the artifact's single-model flow: NP-single without est_xput
                r = solve(problem.with_est_xput([None] * len(problem.models)), "np-single", estimate=False)
                if r.plan is None:
                    raise InputError(f"{s.id}: cannot estimate throughputs ({r.message or r.status})")
                est = [m.xput for m in r.plan.models]
            else:
                est = estimate_xput(problem, cfg.solver, opts)
            info["est_xput"] = est
            info["est_seconds"] = time.perf_counter() - t0
        np_plan = plans.get("np", {}).get("plan") if planner == "dart-r" else None
        res = solve(problem.with_est_xput(est), planner, solver=cfg.solver, opts=opts, estimate=False,
                    np_plan=np_plan)
        rec = {"status": res.status, "objective": res.objective, "gap": res.gap, "bound": res.bound,
               "solve_seconds": res.solve_seconds, "solver": res.solver, "message": res.message,
               "xput": [m.xput for m in res.plan.models] if res.plan else None,
               "plan": path.name if res.plan is not None else None}
        if res.plan is not None:
            write_plan(res.plan_for_file(), path)
        info.setdefault("planners", {})[planner] = rec
        write_json_atomic(info_path, info)
        plans[planner] = dict(rec, plan=res.plan)
    return plans


# ------------------------------------------------------------------ simulating

def _classes(gpus: Sequence[str]) -> dict[str, str]:
    """GPU type -> "high" | "low" from the catalog (unknown types count as high)."""
    from ppipe.catalog.gpus import GpuCatalog

    cat = GpuCatalog.load()
    return {g: (cat.get(g).gpu_class if g in cat else "high") for g in gpus}


def sweep_model(mp, profile, x_ppipe: float, cfg: ExperimentConfig, balancer: str,
                classes: dict[str, str]) -> list[dict]:
    """Every grid point of one model's plan, in full (no early abort); seeds pooled."""
    from ppipe.sim.engine import Simulation
    from ppipe.sim.layout import build_layout
    from ppipe.sim.lfsearch import lf_load, lf_rng

    factory = arrival_factory(cfg.arrivals)
    rows = []
    try:
        layout = build_layout(mp, profile, balancer) if mp.pipelines else None
    except (DataError, InputError):
        layout = None
    pool_gpus = {"high": 0.0, "low": 0.0}
    if layout is not None and layout.n_pipelines:
        for pool in layout.pools:
            pool_gpus[classes.get(pool.gpu, "high")] += pool.workers / pool.k
    else:
        layout = None
    for lf in cfg.grid:
        load = lf_load(lf, x_ppipe)
        row = {"load_factor": lf, "load": load, "requests": 0, "dropped_requests": 0, "late_requests": 0,
               "late_requests_reference": 0, "pool_gpus_high": pool_gpus["high"],
               "pool_gpus_low": pool_gpus["low"], "util_high": 0.0, "util_low": 0.0,
               "latency_p50_ms": None, "latency_p99_ms": None, "servable": layout is not None}
        if load > 0 and layout is None:
            # nothing can serve: every request is dropped
            n = 0
            for seed in cfg.seeds:
                arr = factory(load).generate(int(round(cfg.duration_s * 1e6)), lf_rng(seed, lf))
                n += int((arr >= 1000).sum())
            row.update(requests=n, dropped_requests=n)
        elif load > 0:
            busy = {"high": 0.0, "low": 0.0}
            p50, p99 = [], []
            for seed in cfg.seeds:
                sim = Simulation(mp, profile, factory(load), rng=lf_rng(seed, lf), seed=seed,
                                 duration_s=cfg.duration_s, layout=layout)
                sim.run()
                r = sim.result()
                t, ref = r.counts["true"], r.counts["reference"]
                row["requests"] += t["requests"]
                row["dropped_requests"] += t["dropped_requests"]
                row["late_requests"] += t["late_requests"]
                row["late_requests_reference"] += ref["late_requests"]
                gpus_by_type: dict[str, float] = {}
                for pool in layout.pools:
                    gpus_by_type[pool.gpu] = gpus_by_type.get(pool.gpu, 0.0) + pool.workers / pool.k
                for g, u in r.gpu_utilization.items():
                    busy[classes.get(g, "high")] += u * gpus_by_type.get(g, 0.0)
                if r.latency_ms.get("p50") is not None:
                    p50.append(r.latency_ms["p50"])
                    p99.append(r.latency_ms["p99"])
            for c in ("high", "low"):
                if pool_gpus[c] > 0:
                    row[f"util_{c}"] = busy[c] / (pool_gpus[c] * len(cfg.seeds))
            row["latency_p50_ms"] = sum(p50) / len(p50) if p50 else None
            row["latency_p99_ms"] = sum(p99) / len(p99) if p99 else None
        n = row["requests"]
        row["dropped"] = row["dropped_requests"] / n if n else 0.0
        for acc, late in (("", row["late_requests"]), ("_reference", row["late_requests_reference"])):
            row[f"violated{acc}"] = late / n if n else 0.0
            value = attainment(n, row["dropped_requests"], late)
            row[f"attainment{acc}"] = 1.0 if value is None else value
            row[f"passed{acc}"] = passes(n, row["dropped_requests"], late)
        rows.append(row)
    for acc in ("", "_reference"):
        passed = [r["load_factor"] for r in rows if r[f"passed{acc}"]]
        best = max(passed) if passed else 0
        for r in rows:
            r[f"lf99{acc}"] = best
    return rows


def sweep_variant(s: Setting, variant: str, plan, x_ppipe: list[float], cfg: ExperimentConfig,
                  solve_rec: dict) -> list[dict]:
    from ppipe.planning.problem import CLUSTER_PRESETS

    v = V.get(variant)
    store = _store(cfg.data)
    cluster = CLUSTER_PRESETS[s.cluster]
    classes = _classes(cluster.gpus)
    cluster_count = {"high": 0, "low": 0}
    for g, n in zip(cluster.gpus, cluster.limits):
        cluster_count[classes[g]] += n
    label = cfg.arrivals_label()
    rows = []
    for d, name in enumerate(s.models):
        mp = plan.model(name) if plan is not None else None
        if mp is None:
            from ppipe.planfile.plan import ModelPlan

            mp = ModelPlan(xput=0.0, config={"dnn_name": name}, sla=0.0, pipelines=[])
        base = {"set": s.set, "setting": s.id, "group": s.group, "cluster": s.cluster, "scheduler": variant,
                "planner": v.planner, "balancer": v.balancer, "arrivals": label, "model": name,
                "model_index": d, "weight": (cfg.weights[d] if cfg.weights else 1.0),
                "sla_ms": float(mp.sla or 0.0) / 1000.0, "plan_xput": float(mp.xput), "x_ppipe": x_ppipe[d],
                "plan_status": solve_rec.get("status"),
                "high_gpus": "+".join(g for g in cluster.gpus if classes[g] == "high"),
                "low_gpus": "+".join(g for g in cluster.gpus if classes[g] == "low"),
                "cluster_high": cluster_count["high"], "cluster_low": cluster_count["low"],
                "seeds": len(cfg.seeds), "duration_s": cfg.duration_s}
        for r in sweep_model(mp, store.get(name), x_ppipe[d], cfg, v.balancer, classes):
            rows.append({**base, **r})
    return rows


COLUMNS = ["set", "setting", "group", "cluster", "scheduler", "planner", "balancer", "arrivals", "model",
           "model_index", "weight", "sla_ms", "plan_status", "plan_xput", "x_ppipe", "load_factor", "load",
           "seeds", "duration_s", "requests", "dropped_requests", "late_requests", "late_requests_reference",
           "dropped", "violated", "attainment", "passed", "violated_reference", "attainment_reference",
           "passed_reference", "lf99", "lf99_reference", "high_gpus", "low_gpus", "cluster_high", "cluster_low",
           "pool_gpus_high", "pool_gpus_low", "util_high", "util_low", "latency_p50_ms", "latency_p99_ms",
           "servable"]


def _write_rows(path: Path, rows: list[dict]) -> None:
    import pandas as pd

    df = pd.DataFrame(rows, columns=COLUMNS)
    write_text_atomic(path, df.to_csv(index=False))


# ------------------------------------------------------------------ one setting

def load_base(plan, s: Setting, cfg: ExperimentConfig) -> list[float]:
    """X_ppipe per model of the setting: load factor 100 (see ``ExperimentConfig.load_base``)."""
    xs = [float(plan.model(m).xput) for m in s.models]
    if cfg.load_base == "plan":
        return xs
    w = list(cfg.weights) if cfg.weights and len(cfg.weights) == len(xs) else [1.0] * len(xs)
    T = min(x / wi for x, wi in zip(xs, w))
    return [wi * T for wi in w]


def run_setting(s: Setting, cfg: ExperimentConfig, out_root: str, threads: int | None = 1) -> dict:
    """Solve and sweep one setting (in a worker process); skips variants already done."""
    out = OutDir(out_root)
    t0 = time.perf_counter()
    todo = [v for v in s.variants if not out.part(s, v).exists()]
    report = {"setting": s.id, "group": s.group, "cluster": s.cluster, "computed": todo, "ok": True,
              "message": ""}
    if not todo:
        report["wall_seconds"] = 0.0
        return report
    timing = {}
    if out.timing(s).exists():
        try:
            timing = json.loads(out.timing(s).read_text())
        except json.JSONDecodeError:
            timing = {}
    try:
        plans = solve_setting(s, cfg, out, threads=threads)
    except PPipeError as exc:
        report.update(ok=False, message=str(exc))
        write_json_atomic(out.failed(s), report)
        return report
    pp = plans["ppipe"]
    timing["solve_seconds"] = {p: r.get("solve_seconds") for p, r in plans.items()}
    if pp["plan"] is None:
        report.update(ok=False, message=f"PPipe plan {pp['status']}: {pp.get('message') or 'no plan'} "
                                        f"(no load factor 100 without it)")
        write_json_atomic(out.failed(s), report)
        return report
    x_ppipe = load_base(pp["plan"], s, cfg)
    for variant in todo:
        v = V.get(variant)
        rec = plans[v.planner]
        t1 = time.perf_counter()
        rows = sweep_variant(s, variant, rec["plan"], x_ppipe, cfg, rec)
        timing.setdefault("sweep_seconds", {})[variant] = time.perf_counter() - t1
        _write_rows(out.part(s, variant), rows)
        write_json_atomic(out.timing(s), timing)
    out.failed(s).unlink(missing_ok=True)
    report["wall_seconds"] = time.perf_counter() - t0
    report["solve_seconds"] = timing["solve_seconds"]
    return report


# ------------------------------------------------------------------ the whole set

def merge_results(out: OutDir):
    """All parts of the folder as one table (sorted), written to results.csv atomically."""
    import pandas as pd

    files = out.part_files()
    if not files:
        df = pd.DataFrame(columns=COLUMNS)
    else:
        df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        df = df.sort_values(["set", "group", "cluster", "scheduler", "model_index", "load_factor"],
                            ascending=[True, True, True, True, True, False], kind="mergesort")
        df = df.reset_index(drop=True)[COLUMNS]
    write_text_atomic(out.results, df.to_csv(index=False))
    return df


Event = Callable[[str, dict], None]


@dataclass
class RunReport:
    total: int
    skipped: int
    computed: list = field(default_factory=list)  # setting reports
    failed: list = field(default_factory=list)
    wall_seconds: float = 0.0


def run_experiment(settings: Sequence[Setting], cfg: ExperimentConfig, out_root: str | os.PathLike,
                   workers: int = 1, on_event: Optional[Event] = None, fresh: bool = False) -> RunReport:
    """Run (or finish) every setting; ``on_event(kind, info)`` sees "start" and "setting".

    Solves use one solver thread, so a run gives the same plans whatever ``workers`` is."""
    out = OutDir(out_root)
    prepare_out(out, cfg, fresh=fresh)
    t0 = time.perf_counter()
    pending = [s for s in settings if not out.done(s)]
    rep = RunReport(total=len(settings), skipped=len(settings) - len(pending))
    emit = on_event or (lambda kind, info: None)
    emit("start", {"total": len(settings), "done": rep.skipped, "pending": len(pending),
                   "workers": workers})

    def finished(r: dict) -> None:
        (rep.computed if r["ok"] else rep.failed).append(r)
        merge_results(out)
        emit("setting", r)

    if workers <= 1 or len(pending) <= 1:
        for s in pending:
            finished(run_setting(s, cfg, str(out.root), threads=1))
    else:
        ex = ProcessPoolExecutor(max_workers=min(workers, len(pending)))
        try:
            futs = {ex.submit(run_setting, s, cfg, str(out.root), 1) for s in pending}
            while futs:
                done, futs = wait(futs, return_when=FIRST_COMPLETED)
                for f in done:
                    finished(f.result())
        except BaseException:
            procs = list(getattr(ex, "_processes", {}).values())
            ex.shutdown(wait=False, cancel_futures=True)
            for p in procs:  # our own workers only
                if p.is_alive():
                    p.terminate()
            raise
        ex.shutdown(wait=True)
    df = merge_results(out)
    rep.wall_seconds = time.perf_counter() - t0
    from ppipe.experiments.figures import summarize

    summary = summarize(df, out=out)
    summary["run"] = {"settings": rep.total, "skipped": rep.skipped, "computed": len(rep.computed),
                      "failed": [{"setting": r["setting"], "message": r["message"]} for r in rep.failed],
                      "wall_seconds": rep.wall_seconds, "workers": workers}
    write_json_atomic(out.summary, summary)
    return rep
