"""Blocking work the screens start in thread workers (no Textual imports).

- :func:`run_solve`: one scheduler's solve with progress and cancellation.
- :class:`SimDriver`: a :class:`ppipe.sim.Simulation` advanced in steps of
  simulated time, keeping the series the live charts draw. The series depend
  only on the plan, load, seed and step sizes -- never on wall-clock time -- so
  a run at a fixed speed draws the same charts every time.
- :func:`run_sweep`: attainment against load factor for several plans.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ppipe.planfile.plan import ModelPlan
from ppipe.planning.milp import Progress, SolveOptions
from ppipe.profiles.model import ModelProfile
from ppipe.sim.metrics import attainment

#: Simulation speeds (simulated seconds per wall second); None = as fast as it goes.
SPEEDS: tuple[float | None, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, None)
DEFAULT_SPEED = 5  # index: 4x
#: Wall seconds between frames at a fixed speed (the charts' refresh rate: 4 Hz).
TICK_S = 0.25
#: Simulated time per frame at full speed.
MAX_STEP_US = 500_000
#: The charts get one point per this much simulated time, whatever the speed, so a run's
#: charts depend only on its inputs (never on how fast the terminal kept up).
QUANTUM_US = 100_000
#: Attainment "per interval" is taken over this many quanta (1 s).
WINDOW_QUANTA = 10


class SweepCancelled(Exception):
    pass


# ------------------------------------------------------------------ jobs

class Job:
    """Blocking work on a daemon thread, stopped by setting its ``cancel`` event.

    Not a Textual thread worker on purpose: those run on asyncio's default executor,
    which ``asyncio.run`` joins when the app exits, so Ctrl+Q would wait for a solve
    or simulation step to notice its cancel event. A daemon thread is never joined:
    quitting sets every job's event and leaves at once. An exception that escapes
    ``target`` is written to the crash log and reported through ``on_error``.
    """

    def __init__(self, name: str, target: Callable[..., None], *args,
                 on_error: Callable[[str, str], None] | None = None,
                 cancel: threading.Event | None = None) -> None:
        self.name = name
        self.cancel = cancel if cancel is not None else threading.Event()
        self.error: str | None = None
        self.log_path: str | None = None
        self._target, self._args, self._on_error = target, args, on_error
        self.thread = threading.Thread(target=self._run, name=f"ppipe-{name}", daemon=True)

    def start(self) -> "Job":
        self.thread.start()
        return self

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def _run(self) -> None:
        try:
            self._target(*self._args)
        except Exception as exc:  # noqa: BLE001 - reported, never lost
            self.error = f"{type(exc).__name__}: {exc}"
            self.log_path = str(write_crash_log(f"background task {self.name!r} failed"))
            if self._on_error is not None:
                self._on_error(self.error, self.log_path)


def crash_log_path():
    from ppipe.paths import user_data_dir

    return user_data_dir() / "logs" / "ppipe-tui-error.log"


def write_crash_log(headline: str, exc: BaseException | None = None, with_traceback: bool = True):
    """Append a headline and the exception's (or the current one's) traceback to the log;
    return the log's path."""
    import datetime
    import traceback

    path = crash_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tb = ""
        if with_traceback:
            tb = ("".join(traceback.format_exception(exc)) if exc is not None else traceback.format_exc())
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')} {headline}\n{tb}\n")
    except OSError:
        pass
    return path


def run_solve(request, scheduler: str, cancel: threading.Event, on_progress: Callable[[Progress], None]):
    """Solve ``request.problem`` with ``scheduler``; the best plan so far survives a cancel."""
    from ppipe.planning.solve import solve

    opts = SolveOptions(time_limit=request.time_limit, progress=on_progress, cancel=cancel)
    res = solve(request.problem, scheduler, solver=request.solver, opts=opts, estimate=True, fallback=True,
                on_message=lambda m: on_progress(Progress(None, None, None, 0.0, m)))
    return res


# ---------------------------------------------------------------- simulation

@dataclass(frozen=True)
class SimSeries:
    """What the live charts draw, one point per frame (immutable copies)."""

    t_s: tuple = ()
    attainment: tuple = ()  # over the last second, None if nothing resolved
    cumulative: tuple = ()
    p50_ms: tuple = ()
    p99_ms: tuple = ()
    queue: tuple = ()  # front balancer queue (requests)
    batches: tuple = ()  # batches queued at workers


@dataclass
class SimFrame:
    """One update of the live view."""

    series: SimSeries
    snapshot: object  # ppipe.sim.Snapshot
    done: bool
    result: object | None = None  # SimulationResult once done


@dataclass
class SimSettings:
    model: str
    load: float
    load_factor: float | None
    seed: int = 0
    balancer: str = "reservation"
    duration_s: float = 30.0


class SimDriver:
    """A simulation advanced in steps of simulated time."""

    def __init__(self, mp: ModelPlan, profile: ModelProfile, settings: SimSettings):
        from ppipe.sim.arrivals import PoissonArrivals
        from ppipe.sim.engine import Simulation
        from ppipe.sim.lfsearch import lf_rng

        self.settings = settings
        self.sla_ms = float(mp.sla) / 1000.0
        lf = settings.load_factor
        rng = (lf_rng(settings.seed, int(lf)) if lf is not None and float(lf).is_integer()
               else np.random.default_rng(settings.seed))
        self.sim = Simulation(mp, profile, PoissonArrivals(settings.load), rng=rng, seed=settings.seed,
                              balancer=settings.balancer, duration_s=settings.duration_s)
        self._cols: dict[str, list] = {k: [] for k in SimSeries.__dataclass_fields__}
        self._history: list[tuple[int, int, int]] = []  # completed, dropped, late after each quantum
        self._carry = 0
        self.result = None

    @property
    def done(self) -> bool:
        return self.sim.done

    @property
    def duration_us(self) -> int:
        return self.sim.duration_us

    def advance(self, step_us: int) -> SimFrame | None:
        """Advance by ``step_us`` of simulated time (carried over in whole quanta).

        Returns the new frame, or None when the step did not complete a quantum.
        """
        sim = self.sim
        self._carry += max(int(step_us), 1)
        n = self._carry // QUANTUM_US
        self._carry -= n * QUANTUM_US
        if n == 0 and not sim.done:
            return None
        snap = None
        for _ in range(max(n, 1)):
            if sim.done and snap is not None:
                break
            if not sim.done:
                sim.run(until=sim.now + QUANTUM_US)
            snap = self._point()
        if sim.done and self.result is None:
            self.result = sim.result()
        series = SimSeries(**{k: tuple(v) for k, v in self._cols.items()})
        return SimFrame(series, snap, sim.done, self.result)

    def _point(self):
        snap = self.sim.snapshot()
        c, d, late = snap.completed, snap.dropped, snap.late
        self._history.append((c, d, late))
        past = self._history[-WINDOW_QUANTA - 1] if len(self._history) > WINDOW_QUANTA else (0, 0, 0)
        cols = self._cols
        cols["t_s"].append(snap.time_us / 1e6)
        cols["attainment"].append(_attainment(c - past[0], d - past[1], late - past[2]))
        cols["cumulative"].append(_attainment(c, d, late))
        lat = snap.recent_latency_ms
        if lat:
            arr = np.asarray(lat, dtype=float)
            cols["p50_ms"].append(float(np.percentile(arr, 50)))
            cols["p99_ms"].append(float(np.percentile(arr, 99)))
        else:
            cols["p50_ms"].append(None)
            cols["p99_ms"].append(None)
        cols["queue"].append(int(snap.front_queue))
        cols["batches"].append(int(sum(p["queued_batches"] for p in snap.pools)))
        return snap


def _attainment(completed: int, dropped: int, late: int) -> float | None:
    return attainment(completed + dropped, dropped, late)


class SimControl:
    """Pause and speed, shared by the UI thread (writes) and the sim worker (reads)."""

    def __init__(self, speed_index: int = DEFAULT_SPEED):
        self._lock = threading.Lock()
        self._paused = False
        self._speed = speed_index

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    def toggle_pause(self) -> bool:
        with self._lock:
            self._paused = not self._paused
            return self._paused

    @property
    def speed_index(self) -> int:
        with self._lock:
            return self._speed

    def change_speed(self, delta: int) -> int:
        with self._lock:
            self._speed = min(max(self._speed + delta, 0), len(SPEEDS) - 1)
            return self._speed

    @property
    def speed(self) -> float | None:
        return SPEEDS[self.speed_index]

    def step_us(self) -> int:
        s = self.speed
        return MAX_STEP_US if s is None else max(int(round(s * TICK_S * 1e6)), 1)


def speed_label(speed: float | None) -> str:
    return "max" if speed is None else f"{speed:g}x"


# ------------------------------------------------------------------- sweep

@dataclass
class SweepCurve:
    scheduler: str
    points: list = field(default_factory=list)  # ppipe.sim.lfsearch.LfPoint, ascending lf

    @property
    def lf99(self) -> int:
        passed = [p.load_factor for p in self.points if p.passed.get("true")]
        return max(passed) if passed else 0


def parse_grid(text: str) -> list[int]:
    """Load factors: "10-100/10", "50,75,100" or a mix; each in 1..200."""
    out: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            rng, _, step = part.partition("/")
            a, _, b = rng.partition("-")
            lo, hi, st = int(a), int(b), int(step or 10)
            if st <= 0 or lo > hi:
                raise ValueError(part)
            out.update(range(lo, hi + 1, st))
        else:
            out.add(int(part))
    if not out or any(not 1 <= v <= 200 for v in out):
        raise ValueError(text)
    return sorted(out)


def run_sweep(plans: dict[str, ModelPlan], profile: ModelProfile, x_ppipe: float, grid: list[int], seed: int,
              duration_s: float, on_point: Callable[[str, object], None], cancelled: Callable[[], bool]) -> None:
    """Run every grid point of every plan (ascending), reporting each as it is done."""
    from ppipe.sim.layout import build_layout
    from ppipe.sim.lfsearch import RunStopped, run_point

    for sched, mp in plans.items():
        layout = build_layout(mp, profile, "reservation")
        for lf in grid:
            if cancelled():
                raise SweepCancelled()
            try:  # checked within a point too: one point can take many seconds
                pt = run_point(mp, profile, lf, x_ppipe, seeds=(seed,), duration_s=duration_s, abort=False,
                               layout=layout, should_stop=cancelled)
            except RunStopped:
                raise SweepCancelled() from None
            on_point(sched, pt)


def downsample(xs, ys, width: int):
    """At most ``width`` points (keep every n-th and the last), dropping None values."""
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None and not (isinstance(y, float) and math.isnan(y))]
    if width > 0 and len(pts) > width:
        step = math.ceil(len(pts) / width)
        last = pts[-1]
        pts = pts[::step]
        if pts[-1] != last:
            pts.append(last)
    return [p[0] for p in pts], [p[1] for p in pts]
