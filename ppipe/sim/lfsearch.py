"""Load factor at 99 % attainment (SPEC section 8).

A plan is run at ``load = lf x X_ppipe // 100`` for lf on the grid 100, 95,
..., 5 (``X_ppipe``: the PPipe plan's throughput for that model, truncated to
an integer as the reference scripts do; the same absolute load is used for the
NP and DART-r plans of a setting). lf99 is the largest lf whose dropped +
violated <= 1 % -- the reference's descending scan that stops at the first
success.

Why the answer does not depend on how we search: the run at a given lf draws
its arrivals from ``numpy.random.default_rng([seed, lf])``, so each grid point
has one fixed outcome whatever order points are visited in. The descending
scan is kept, but made cheaper without changing any outcome:

- early abort: all arrivals are drawn before a run starts, so the number N of
  counted requests is known; failures (drops, and late completions under the
  accounting being decided) only grow, so a run is stopped -- and counted as a
  fail -- the moment failures exceed N // 100. Overloaded points (everything
  above the answer) typically stop after a small fraction of their requests;
- one scan for both accountings: the reference accounting counts a subset of
  the late requests, so a run aborted under it fails under both; the scan
  aborts on the more lenient pending accounting and reads both from each
  completed run.

With several seeds the counts are pooled (sum of failures over sum of N), and
the abort budget is shared across the seeds of one grid point.

:func:`lf99_table` runs many (plan, model) searches in parallel processes, each
with explicit seeds, for the bench and the ``sweep`` command.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ppipe.errors import InputError
from ppipe.planfile.plan import ModelPlan
from ppipe.profiles.model import ModelProfile
from ppipe.sim import kernel as K
from ppipe.sim.arrivals import ArrivalProcess, PoissonArrivals
from ppipe.sim.engine import DEFAULT_DURATION_S, WARMUP_US, Simulation
from ppipe.sim.layout import build_layout
from ppipe.sim.metrics import ACCOUNTINGS, Counts, counts_for, late_masks

GRID = tuple(range(100, 0, -5))


def lf_load(lf: int, x_ppipe: float) -> int:
    """The reference's absolute load for load factor ``lf``: ``lf x int(X) // 100`` req/s."""
    return int(lf) * int(x_ppipe) // 100


def lf_rng(seed: int, lf: int) -> np.random.Generator:
    """The generator of the run at (seed, lf): independent of the search order."""
    return np.random.default_rng([int(seed), int(lf)])


@dataclass
class LfPoint:
    load_factor: int
    load: int
    requests: int
    aborted: bool
    counts: dict  # accounting -> Counts.to_json() (None where aborted)
    passed: dict  # accounting -> bool

    def row(self, accounting: str = "true") -> dict:
        c = self.counts.get(accounting)
        return {"load_factor": self.load_factor, "load": self.load, "requests": self.requests,
                "attainment": c["attainment"] if c else None, "dropped": c["dropped"] if c else None,
                "violated": c["violated"] if c else None, "passed": self.passed[accounting],
                "aborted": self.aborted}


@dataclass
class Lf99Result:
    model: str
    x_ppipe: float
    lf99: dict  # accounting -> int (0 when no grid point passes)
    points: list  # LfPoint in the order run
    runs: int
    aborted_runs: int
    wall_seconds: float
    seeds: list = field(default_factory=list)

    def to_json(self) -> dict:
        d = asdict(self)
        return d


ArrivalFactory = Callable[[float], ArrivalProcess]


class RunStopped(Exception):
    """A grid point stopped by its ``should_stop`` (a user's cancel)."""


#: With ``should_stop``, a simulation runs this much simulated time between checks.
STOP_CHECK_US = 1_000_000


def _run(sim: Simulation, should_stop: Callable[[], bool] | None) -> None:
    """``sim.run()``; with ``should_stop``, in slices of simulated time, checked between
    them (the same events in the same order: stepping does not change a run)."""
    if should_stop is None:
        sim.run()
        return
    while not sim.done:
        if should_stop():
            raise RunStopped()
        sim.run(until=sim.now + STOP_CHECK_US)


def run_point(mp: ModelPlan, profile: ModelProfile, lf: int, x_ppipe: float, *, seeds: Sequence[int] = (0,),
              duration_s: float = DEFAULT_DURATION_S, balancer: str = "reservation",
              accountings: Sequence[str] = ACCOUNTINGS, abort: bool = True,
              arrivals: ArrivalFactory | None = None, layout=None,
              should_stop: Callable[[], bool] | None = None) -> LfPoint:
    """Run one grid point (all seeds), pooled; with ``abort``, stop once it has failed.
    ``should_stop`` is checked every :data:`STOP_CHECK_US` of simulated time (raises
    :class:`RunStopped`), so a user's cancel lands within about a second."""
    load = lf_load(lf, x_ppipe)
    layout = layout or build_layout(mp, profile, balancer)
    if load <= 0:
        return LfPoint(lf, load, 0, False, {a: None for a in accountings}, {a: True for a in accountings})
    factory = arrivals or PoissonArrivals
    lenient = "reference" if "reference" in accountings else accountings[0]
    sims = [Simulation(mp, profile, factory(load), rng=lf_rng(s, lf), seed=s, duration_s=duration_s,
                       accounting=lenient, layout=layout) for s in seeds]
    total = sum(int((sim.R[:, K.R_ARR] >= WARMUP_US).sum()) for sim in sims)
    budget = total // 100
    fails = 0
    aborted = False
    for sim in sims:
        if abort:
            sim.G[K.G_FAIL_LIMIT] = budget - fails
        _run(sim, should_stop)
        if sim.aborted:
            aborted = True
            break
        fails += int(sim.G[K.G_FAIL])
    if aborted:
        return LfPoint(lf, load, total, True, {a: None for a in accountings}, {a: False for a in accountings})
    counts = {}
    for a in accountings:
        parts = [counts_for(sim.R, late_masks(layout)[a], WARMUP_US, sim.duration_us) for sim in sims]
        counts[a] = Counts(sum(c.requests for c in parts), sum(c.dropped for c in parts),
                           sum(c.late for c in parts))
    return LfPoint(lf, load, total, False, {a: c.to_json() for a, c in counts.items()},
                   {a: c.passed for a, c in counts.items()})


def find_lf99(mp: ModelPlan, profile: ModelProfile, x_ppipe: float | None = None, *,
              seeds: Sequence[int] = (0,), grid: Iterable[int] = GRID, duration_s: float = DEFAULT_DURATION_S,
              balancer: str = "reservation", accountings: Sequence[str] = ACCOUNTINGS,
              arrivals: ArrivalFactory | None = None, early_abort: bool = True) -> Lf99Result:
    """The reference's descending scan (first passing lf), with safe early aborts."""
    for a in accountings:
        if a not in ACCOUNTINGS:
            raise InputError(f"unknown accounting {a!r}")
    x = float(mp.xput if x_ppipe is None else x_ppipe)
    t0 = time.perf_counter()
    layout = build_layout(mp, profile, balancer)
    grid = sorted(set(int(g) for g in grid), reverse=True)
    pending = list(accountings)
    lf99 = {a: 0 for a in accountings}
    points, aborted = [], 0
    for lf in grid:
        pt = run_point(mp, profile, lf, x, seeds=seeds, duration_s=duration_s, balancer=balancer,
                       accountings=pending, abort=early_abort, arrivals=arrivals, layout=layout)
        points.append(pt)
        aborted += pt.aborted
        for a in list(pending):
            if pt.passed[a]:
                lf99[a] = lf
                pending.remove(a)
        if not pending:
            break
    return Lf99Result(model=mp.name, x_ppipe=x, lf99=lf99, points=points, runs=len(points) * len(seeds),
                      aborted_runs=aborted * len(seeds), wall_seconds=time.perf_counter() - t0,
                      seeds=list(seeds))


def attainment_curve(mp: ModelPlan, profile: ModelProfile, x_ppipe: float | None = None, *,
                     seeds: Sequence[int] = (0,), grid: Iterable[int] = GRID,
                     duration_s: float = DEFAULT_DURATION_S, balancer: str = "reservation",
                     arrivals: ArrivalFactory | None = None, on_point=None) -> list[LfPoint]:
    """Every grid point run in full (no abort), ascending load factor."""
    x = float(mp.xput if x_ppipe is None else x_ppipe)
    layout = build_layout(mp, profile, balancer)
    out = []
    for lf in sorted(set(int(g) for g in grid)):
        out.append(run_point(mp, profile, lf, x, seeds=seeds, duration_s=duration_s, balancer=balancer,
                             abort=False, arrivals=arrivals, layout=layout))
        if on_point:
            on_point(out[-1])
    return out


def lf99_from_curve(points: Sequence[LfPoint], accounting: str = "true") -> int:
    passed = [p.load_factor for p in points if p.passed[accounting]]
    return max(passed) if passed else 0


# ------------------------------------------------------------- many in parallel

@dataclass
class Lf99Task:
    """One plan file's models, searched in a worker process."""

    plan: str
    base: str | None = None  # plan whose throughput is 100 % (default: the plan itself)
    models: list | None = None  # indices (default: all)
    data: str | None = None
    seeds: list = field(default_factory=lambda: [0])
    balancer: str = "reservation"
    duration_s: float = DEFAULT_DURATION_S
    grid: list = field(default_factory=lambda: list(GRID))


def run_task(task: Lf99Task) -> list[dict]:
    """Search every requested model of one plan file (runs in a worker process)."""
    from ppipe.planfile.plan import read_plan
    from ppipe.profiles.store import ProfileStore

    plan = read_plan(task.plan)
    base = read_plan(task.base) if task.base else plan
    store = ProfileStore.open(task.data)
    out = []
    for mi in (task.models if task.models is not None else range(len(plan.models))):
        mp = plan.models[mi]
        bm = base.model(mp.name)
        res = find_lf99(mp, store.get(mp.name), bm.xput, seeds=task.seeds, grid=task.grid,
                        duration_s=task.duration_s, balancer=task.balancer)
        out.append({"plan": str(task.plan), "model": mp.name, "model_index": mi, "x_ppipe": bm.xput,
                    "lf99": res.lf99, "runs": res.runs, "aborted_runs": res.aborted_runs,
                    "wall_seconds": res.wall_seconds})
    return out


def lf99_table(tasks: Sequence[Lf99Task], processes: int = 2, on_result=None) -> list[dict]:
    """Run tasks across ``processes`` worker processes; rows in task order."""
    rows: list[list[dict] | None] = [None] * len(tasks)
    if processes <= 1 or len(tasks) <= 1:
        for i, t in enumerate(tasks):
            rows[i] = run_task(t)
            if on_result:
                on_result(rows[i])
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=processes) as ex:
            futs = {ex.submit(run_task, t): i for i, t in enumerate(tasks)}
            from concurrent.futures import as_completed

            for f in as_completed(futs):
                rows[futs[f]] = f.result()
                if on_result:
                    on_result(rows[futs[f]])
    return [r for chunk in rows for r in (chunk or [])]


def default_data() -> str | None:
    import os

    return os.environ.get("PPIPE_ARTIFACT")


def plan_tasks(plan_dir: str | Path, **kw) -> list[Lf99Task]:
    """Tasks for every plan in an artifact-style folder, with each setting's v4 plan as base."""
    from ppipe.planfile.naming import parse_plan_file_name

    tasks = []
    for p in sorted(Path(plan_dir).glob("*.json")):
        info = parse_plan_file_name(p)
        base = None
        if info is not None and info.scheduler != "ppipe":
            tag = p.name.rsplit("_", 1)
            cand = p.with_name(tag[0] + "_v4.json")
            base = str(cand) if cand.exists() else None
        tasks.append(Lf99Task(plan=str(p), base=base, **kw))
    return tasks
