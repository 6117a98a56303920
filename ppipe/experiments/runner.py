"""Run an experiment set: solve every setting's plans, then sweep every model's load factors.

Work is split into *settings* (one planning problem each, see
:mod:`ppipe.experiments.settings`), run by an executor
(:mod:`ppipe.experiments.executors`: a local process pool, or Ray tasks).
For a setting, :func:`run_setting`

1. solves its plans or loads them (:mod:`ppipe.experiments.solving`);
2. for every variant (planner + balancer) not done yet, sweeps every model over
   the load-factor grid (:mod:`ppipe.experiments.sweeping`) and writes the
   variant's part of the table.

:func:`run_experiment` checks the output folder against the specification
(:mod:`ppipe.experiments.spec`, :mod:`ppipe.experiments.outdir`), runs the
settings not done, merges the parts into ``results.csv`` after every setting
and writes ``summary.json`` (:mod:`ppipe.experiments.figures`).

Resumability: every file is written atomically and a re-run skips variants
whose part exists, so killing a run half-way and running it again finishes the
rest and yields the same table as one uninterrupted run (the simulator is
deterministic and plans are reused).

Nothing here imports a UI library: progress is reported through a callback.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from ppipe.atomic import write_json_atomic
from ppipe.errors import PPipeError
from ppipe.experiments import variants as V
from ppipe.experiments.figures import summarize
from ppipe.experiments.outdir import (
    OutDir,
    check_parts,
    check_target,
    lock_folder,
    merge_results,
    prepare_out,
    read_json_or_empty,
    write_rows,
)
from ppipe.experiments.settings import Setting
from ppipe.experiments.solving import NoPlan, solve_setting
from ppipe.experiments.spec import ExperimentSpec
from ppipe.experiments.sweeping import load_base, sweep_variant


def run_setting(s: Setting, spec: ExperimentSpec, out_root: str, threads: int | None = 1) -> dict:
    """Solve and sweep one setting (in a worker process); skips variants already done."""
    out = OutDir(out_root)
    t0 = time.perf_counter()
    todo = [v for v in s.variants if not out.part(s, v).exists()]
    report = {"setting": s.id, "group": s.group, "cluster": s.cluster, "computed": todo, "ok": True,
              "message": ""}
    if not todo:
        report["wall_seconds"] = 0.0
        return report
    timing = read_json_or_empty(out.timing(s))
    try:
        plans = solve_setting(s, spec, out, threads=threads)
    except PPipeError as exc:
        report.update(ok=False, message=str(exc), no_plan=isinstance(exc, NoPlan))
        write_json_atomic(out.failed(s), report)
        return report
    pp = plans["ppipe"]
    timing["solve_seconds"] = {p: r.get("solve_seconds") for p, r in plans.items()}
    if pp["plan"] is None:
        report.update(ok=False, message=f"PPipe plan {pp['status']}: {pp.get('message') or 'no plan'} "
                                        f"(no load factor 100 without it)", no_plan=pp["status"] == "infeasible")
        write_json_atomic(out.failed(s), report)
        return report
    x_ppipe = load_base(pp["plan"], s, spec)
    for variant in todo:
        v = V.get(variant)
        rec = plans[v.planner]
        t1 = time.perf_counter()
        rows = sweep_variant(s, variant, rec["plan"], x_ppipe, spec, rec)
        timing.setdefault("sweep_seconds", {})[variant] = time.perf_counter() - t1
        write_rows(out.part(s, variant), rows)
        write_json_atomic(out.timing(s), timing)
    out.failed(s).unlink(missing_ok=True)
    report["wall_seconds"] = time.perf_counter() - t0
    report["solve_seconds"] = timing["solve_seconds"]
    return report


Event = Callable[[str, dict], None]


@dataclass
class RunReport:
    total: int
    skipped: int
    computed: list = field(default_factory=list)  # setting reports
    failed: list = field(default_factory=list)
    wall_seconds: float = 0.0


def run_experiment(settings: Sequence[Setting], spec: ExperimentSpec, out_root: str | os.PathLike,
                   workers: int = 1, on_event: Optional[Event] = None, fresh: bool = False,
                   executor: str = "local", executor_options: dict | None = None) -> RunReport:
    """Run (or finish) every setting with an executor (:mod:`ppipe.experiments.executors`);
    ``on_event(kind, info)`` sees "start", "status" (what is running, the CPUs) and "setting".

    Solves use one solver thread, so a run gives the same plans whatever ``workers`` or the
    executor is, and the same folder."""
    from ppipe.experiments.executors import get as get_executor

    run_fn = get_executor(executor).runner()  # unknown / not installed: one line, before any work
    out = OutDir(out_root)
    check_target(out.root, fresh)  # before the lock creates the folder
    with lock_folder(out.root):
        return _run_locked(settings, spec, out, workers, on_event, fresh, executor, executor_options, run_fn)


def _run_locked(settings, spec, out: OutDir, workers, on_event, fresh, executor, executor_options,
                run_fn) -> RunReport:
    prepare_out(out, spec, fresh=fresh)
    check_parts(out, settings, spec)  # a damaged part never counts as done
    t0 = time.perf_counter()
    pending = [s for s in settings if not out.done(s)]
    rep = RunReport(total=len(settings), skipped=len(settings) - len(pending))
    emit = on_event or (lambda kind, info: None)
    emit("start", {"total": len(settings), "done": rep.skipped, "pending": len(pending),
                   "workers": workers, "executor": executor})

    def finished(r: dict) -> None:
        (rep.computed if r["ok"] else rep.failed).append(r)
        merge_results(out)
        emit("setting", r)

    if pending:
        run_fn(pending, spec, str(out.root), finished, lambda info: emit("status", info), workers=workers,
               **(executor_options or {}))
    df = merge_results(out)
    rep.wall_seconds = time.perf_counter() - t0
    summary = summarize(df, out=out)
    summary["run"] = {"settings": rep.total, "skipped": rep.skipped, "computed": len(rep.computed),
                      "failed": [{"setting": r["setting"], "message": r["message"]} for r in rep.failed],
                      "wall_seconds": rep.wall_seconds, "workers": workers, "executor": executor}
    write_json_atomic(out.summary, summary)
    return rep
