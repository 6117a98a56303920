"""Fig. 14, scalability: how long the PPipe planner takes as the problem grows.

Two studies, each a list of *points* (a cluster and a model group):

- ``size`` (Fig. 14a): HC1 (L4 + P4, 1:3) from 100 to 100,000 GPUs;
- ``types`` (Fig. 14b): 2, 3 and 4 GPU types: HC1 (25 L4 + 75 P4), then 25 T4
  added, then 25 V100 added (each type with its settings in the presets: MPS 4,
  2 per server for T4 and V100; HC1's 6 Gbit/s).

Every point plans a main-set group (P = 2, SLO x5, discount 0.4, MAF'19
weights) with one solver thread: the NP throughput estimate first, then the
PPipe MILP, timed apart (wall clock, and the process's CPU time, which
other load on the machine does not inflate). Points run one at a time in this process (so
timings do not compete for CPUs), each written to ``parts/<point>.json`` in the
output folder as soon as it is solved; a re-run skips the points done, and
``scalability.csv`` is merged from the parts. The folder has the experiments'
marker and lock (:mod:`ppipe.experiments.outdir`). Status, objective and the
problem's size are deterministic; times are measurements, so only they differ
between runs.

Ctrl-C cancels the running solve (within the solver's reaction time) and
records nothing for it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ppipe.atomic import write_json_atomic, write_text_atomic
from ppipe.errors import DataError, InputError
from ppipe.experiments.outdir import FORMAT, SPEC_FILE, check_target, lock_folder, read_marker, remove_stale_temp_files

RESULTS = "scalability.csv"
SET = "scalability"
STUDIES = ("size", "types")
DEFAULT_SIZES = (100, 1000, 10_000, 100_000)
DEFAULT_TYPES = (2, 3, 4)
#: GPU types in the order the ``types`` study adds them, with (MPS levels, GPUs per server, count).
TYPE_LADDER = (("L4", 4, 1, 25), ("P4", 1, 1, 75), ("T4", 4, 2, 25), ("V100", 4, 2, 25))
BASE_BW = 6.0
#: The paper's Fig. 14 (Gurobi): seconds, or its words.
PAPER = {"size": "nearly flat", "types": {3: 35.3, 4: 77.0}}

COLUMNS = ["study", "x", "point", "group", "cluster", "gpus", "types", "status", "objective", "gap",
           "est_seconds", "solve_seconds", "total_seconds", "solve_cpu_seconds", "total_cpu_seconds", "configs", "vars", "integer", "rows", "method",
           "message"]


@dataclass(frozen=True)
class Point:
    study: str
    x: int  # GPUs (size) or GPU types (types)
    group: str

    @property
    def id(self) -> str:
        return f"{self.study}_{self.x}_{self.group}"


def cluster_of(study: str, x: int):
    """The :class:`~ppipe.planning.problem.ClusterSpec` of a point."""
    from ppipe.planning.problem import ClusterSpec

    if study == "size":
        if x < 4:
            raise InputError(f"cluster size {x}: need at least 4 GPUs (1 L4 : 3 P4)")
        return ClusterSpec(("L4", "P4"), (x // 4, x - x // 4), (4, 1), (1, 1), BASE_BW)
    if study == "types":
        if not 1 <= x <= len(TYPE_LADDER):
            raise InputError(f"{x} GPU types: choose 1..{len(TYPE_LADDER)} ({', '.join(t[0] for t in TYPE_LADDER)})")
        ladder = TYPE_LADDER[:x]
        return ClusterSpec(tuple(t[0] for t in ladder), tuple(t[3] for t in ladder), tuple(t[1] for t in ladder),
                           tuple(t[2] for t in ladder), BASE_BW)
    raise InputError(f"unknown study {study!r} (choose {', '.join(STUDIES)})")


def build_points(studies=None, groups=None, sizes=None, types=None) -> list[Point]:
    from ppipe.experiments.settings import _pick
    from ppipe.planning.problem import MODEL_GROUPS

    names = _pick(studies, list(STUDIES), "study")
    gs = _pick(groups, list(MODEL_GROUPS), "group")
    sizes = list(sizes or DEFAULT_SIZES)
    types = list(types or DEFAULT_TYPES)
    for n in sizes:
        cluster_of("size", n)
        if n > 10_000_000:
            raise InputError(f"cluster size {n}: at most 10,000,000 GPUs")
    for k in types:
        cluster_of("types", k)
    out = []
    for st in names:
        for x in (sizes if st == "size" else types):
            out += [Point(st, int(x), g) for g in gs]
    return out


def config(max_parts: int, time_limit: float | None, solver: str, data: str | None) -> dict:
    """What the folder's numbers depend on (the time limit only where it binds)."""
    from ppipe.planning.problem import WEIGHT_PRESETS

    return {"set": SET, "max_parts": max_parts, "slo_multiplier": 5.0, "slo_discount": 0.4,
            "weights": list(WEIGHT_PRESETS["maf19"]), "solver": solver, "time_limit": time_limit,
            "version": 1, "data": data}


def _solve_point(p: Point, cfg: dict, cancel: threading.Event) -> dict:
    from ppipe.experiments.solving import profile_store
    from ppipe.planning.milp import SolveOptions
    from ppipe.planning.problem import MODEL_GROUPS, build_problem
    from ppipe.planning.solve import estimate_xput, solve

    store = profile_store(cfg["data"])
    cluster = cluster_of(p.study, p.x)
    problem = build_problem([store.get(m) for m in MODEL_GROUPS[p.group]], cluster, cfg["weights"],
                            cfg["max_parts"], cfg["slo_multiplier"], cfg["slo_discount"])
    opts = SolveOptions(time_limit=cfg["time_limit"], threads=1, cancel=cancel)
    t0, c0 = time.perf_counter(), time.process_time()
    est = estimate_xput(problem, cfg["solver"], opts)
    t1, c1 = time.perf_counter(), time.process_time()
    res = solve(problem.with_est_xput(est), "ppipe", solver=cfg["solver"], opts=opts, estimate=False)
    t2, c2 = time.perf_counter(), time.process_time()
    st = res.stats or {}
    return {"study": p.study, "x": p.x, "point": p.id, "group": p.group, "cluster": cluster.label(),
            "gpus": sum(cluster.limits), "types": len(cluster.gpus), "status": str(res.status),
            "objective": res.objective, "gap": res.gap, "est_seconds": t1 - t0, "solve_seconds": t2 - t1,
            "total_seconds": t2 - t0, "solve_cpu_seconds": c2 - c1, "total_cpu_seconds": c2 - c0, "configs": sum(st.get("configs") or [0]), "vars": st.get("vars"),
            "integer": st.get("integer"), "rows": st.get("rows"), "method": st.get("method"),
            "message": res.message or ""}


def _run_cancellable(fn: Callable[[threading.Event], dict]) -> dict:
    """``fn(cancel)`` in a thread; Ctrl-C sets ``cancel``, waits for the solve to stop and
    re-raises KeyboardInterrupt (nothing is recorded for the point)."""
    cancel = threading.Event()
    box: dict = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["result"] = fn(cancel)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc
        finally:
            done.set()

    th = threading.Thread(target=work, name="ppipe-scalability-solve", daemon=True)
    th.start()
    interrupted = False
    while not done.is_set():
        try:
            done.wait(0.1)
        except KeyboardInterrupt:
            interrupted = True
            cancel.set()
    if interrupted:
        raise KeyboardInterrupt
    if "error" in box:
        raise box["error"]
    return box["result"]


def _read_point(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DataError(f"{path}: damaged point ({exc.__class__.__name__}); delete it and re-run to solve it "
                        f"again") from None
    if not isinstance(doc, dict) or any(c not in doc for c in COLUMNS):
        raise DataError(f"{path}: damaged point (missing fields); delete it and re-run to solve it again")
    return doc


def merge(root: Path):
    """``scalability.csv`` from the folder's points, in study, x, group order."""
    import pandas as pd

    docs = [_read_point(f) for f in sorted((root / "parts").glob("*.json"))]
    df = pd.DataFrame(docs, columns=COLUMNS)
    if not df.empty:
        df["_s"] = df["study"].map({s: i for i, s in enumerate(STUDIES)})
        df = df.sort_values(["_s", "x", "group"], kind="mergesort").drop(columns="_s").reset_index(drop=True)
    write_text_atomic(root / RESULTS, df.to_csv(index=False))
    return df


def run_scalability(points: list[Point], cfg: dict, out_root, fresh: bool = False,
                    on_event: Optional[Callable[[str, dict], None]] = None):
    """Solve every point not done yet into ``out_root``; returns the merged table."""
    root = Path(out_root)
    emit = on_event or (lambda kind, info: None)
    check_target(root, fresh)
    with lock_folder(root):
        doc = read_marker(root)
        if doc is not None and fresh:
            import shutil

            if (root / "parts").is_dir() and not (root / "parts").is_symlink():
                shutil.rmtree(root / "parts", ignore_errors=True)
            for f in (root / RESULTS, root / SPEC_FILE):
                f.unlink(missing_ok=True)
            doc = None
        if doc is not None:
            old = doc["config"]
            diff = sorted(k for k in set(old) | set(cfg) if old.get(k) != cfg.get(k))
            if diff:
                what = ", ".join(f"{k} {old.get(k)!r} -> {cfg.get(k)!r}" for k in diff[:3])
                raise InputError(f"{root} holds results of another configuration ({what}); "
                                 f"use another --out or --fresh to discard them")
            remove_stale_temp_files(root)
        else:
            write_json_atomic(root / SPEC_FILE, {"format": FORMAT, "version": 1, "config": cfg})
        for f in sorted((root / "parts").glob("*.json")):
            _read_point(f)  # a damaged point never counts as done
        pending = [p for p in points if not (root / "parts" / f"{p.id}.json").exists()]
        emit("start", {"total": len(points), "done": len(points) - len(pending)})
        for p in pending:
            emit("point", {"point": p.id, "state": "start"})
            row = _run_cancellable(lambda cancel, p=p: _solve_point(p, cfg, cancel))
            write_json_atomic(root / "parts" / f"{p.id}.json", row)
            merge(root)
            emit("point", {"point": p.id, "state": "done", "row": row})
        return merge(root)


def load(path) -> "object":
    """A scalability table (folder or CSV), checked."""
    import pandas as pd

    p = Path(path)
    f = p / RESULTS if p.is_dir() else p
    if not f.is_file():
        raise DataError(f"{p}: no {RESULTS} (run `ppipe experiment scalability --out {p}` first)")
    try:
        df = pd.read_csv(f)
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds on garbage
        raise DataError(f"{f}: not a readable scalability table ({exc.__class__.__name__})") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{f}: not a scalability table (missing columns {', '.join(missing[:5])})")
    for c in ("x", "solve_seconds", "total_seconds", "est_seconds", "solve_cpu_seconds", "total_cpu_seconds"):
        try:
            df[c] = pd.to_numeric(df[c])
        except (ValueError, TypeError):
            raise DataError(f"{f}: column {c} holds non-numbers") from None
    return df


def fig14(df) -> dict:
    """{study: [{"x", "label", "mean", "max", "mean_cpu", "max_cpu", "mean_total", "n", "statuses",
    "paper"}, ...]}: seconds of the PPipe solve (``mean``/``max`` over groups, wall clock;
    ``*_cpu``: the process's CPU time, which other load on the machine does not inflate;
    ``mean_total``: with the NP estimate) per point value."""
    out: dict = {}
    for st in STUDIES:
        d = df[df["study"] == st]
        rows = []
        for x in sorted(d["x"].unique()):
            g = d[d["x"] == x]
            statuses: dict = {}
            for s in g["status"]:
                statuses[str(s)] = statuses.get(str(s), 0) + 1
            paper = PAPER.get(st)
            rows.append({"x": int(x), "label": f"{int(x):,} GPUs" if st == "size" else f"{int(x)} types",
                         "mean": float(g["solve_seconds"].mean()), "max": float(g["solve_seconds"].max()),
                         "mean_cpu": float(g["solve_cpu_seconds"].mean()),
                         "max_cpu": float(g["solve_cpu_seconds"].max()),
                         "mean_total": float(g["total_seconds"].mean()), "n": int(len(g)), "statuses": statuses,
                         "groups": sorted(str(v) for v in g["group"]),
                         "paper": paper.get(int(x)) if isinstance(paper, dict) else None})
        if rows:
            out[st] = rows
    return out
