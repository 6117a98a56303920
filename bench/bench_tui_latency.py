"""Key latency in ppipe-tui while a solve and a live simulation both run (target: 100 ms).

The scenario of ``tests/test_tui_flows.py::test_keypress_handled_while_solving_and_simulating``
(the demo models, a solve that outlasts the keys (four partitions here), the demo PPipe plan
simulated at 1x on F5), with many more keys: ``+``/``-`` (speed) and F1/Escape (help).
The latency of a key is the time from posting it to its action running; keys pressed after
the solve or the simulation ended are not counted. Then a fresh solve is cancelled with
Escape as soon as its MILP holds a plan: the time until it has stopped. The test checks
that every key is handled; the time it takes is measured here, not in the suite (a timed
assertion fails whenever the machine is busy).

    .venv/bin/python bench/bench_tui_latency.py [--rounds 10] [--busy N] [--stacks]
        --busy N   # N extra processes spinning on the CPU meanwhile (a loaded machine)
        --stacks   # when the event loop is late by over 0.2 s, print every thread's stack
                   # (a watchdog thread samples them): what held it up

Prints the median, 95th percentile and worst latency, how many keys took over 100 ms, and
how long Escape then takes to stop the solve (target: a second).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

TARGET_S = 0.1
KEYS = ("plus", "minus", "f1", "escape")


def _spin() -> None:
    while True:
        pass


class Watchdog:
    """Samples every thread's stack when the main thread's heartbeat is late."""

    def __init__(self, late_s: float = 0.2):
        self.late_s = late_s
        self.beat: float | None = None  # none until the keys start: set-up is not measured
        self.stop = threading.Event()
        self.reports: list[str] = []
        self.main_id = threading.main_thread().ident

    async def heartbeat(self) -> None:
        while not self.stop.is_set():
            self.beat = time.perf_counter()
            await asyncio.sleep(0.01)

    def watch(self) -> None:
        reported_for = None
        while not self.stop.wait(0.05):
            if self.beat is None:
                continue
            lag = time.perf_counter() - self.beat
            if lag > self.late_s and reported_for != self.beat:
                reported_for = self.beat
                names = {t.ident: t.name for t in threading.enumerate()}
                parts = [f"--- event loop late by {lag:.2f} s"]
                for ident, frame in sys._current_frames().items():
                    if ident == threading.get_ident():
                        continue
                    stack = "".join(traceback.format_stack(frame, limit=8))
                    parts.append(f"[{names.get(ident, ident)}{' (main)' if ident == self.main_id else ''}]\n{stack}")
                self.reports.append("\n".join(parts))


class Measured(NamedTuple):
    key_delays: list[float]  # seconds from posting a key to its action, keys met with both at work
    cancel: float | None  # seconds from Escape to the solve stopped; None: not measured
    cancel_note: str  # why not measured, or ""


async def scenario(rounds: int, dog: Watchdog | None) -> Measured:
    import ppipe.planning.planner as planner

    planner.POOL_RELAXATION = False  # the solve keeps running (as in the test)
    with tempfile.TemporaryDirectory(prefix="ppipe-latency-") as folder:
        return await _keys_then_cancel(Path(folder), rounds, dog)


async def _keys_then_cancel(tmp: Path, rounds: int, dog: Watchdog | None) -> Measured:
    from tui_helpers import choose_models, make_app, press, tab_to, type_text, wait_for, wait_mode, write_demo_plans

    from ppipe_tui.demo import write_demo_profiles
    from ppipe_tui.screens.help import HelpScreen

    data = write_demo_profiles(tmp / "profiles")
    plans = write_demo_plans(tmp / "plans")
    app = make_app(data, tmp / "plans", plan=plans["ppipe"])
    delays: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.session.current is not None, 10)
        await press(pilot, "f2")
        await choose_models(pilot, app, "a", 3)
        await tab_to(pilot, app, "in-max_parts")
        await press(pilot, "4", "ctrl+r")  # four partitions: longer than the keys take
        assert await wait_for(pilot, lambda: app.session.solving, 10)
        await press(pilot, "f5")
        sim = app.screen
        await tab_to(pilot, app, "sim-duration")
        await type_text(pilot, "600")
        await press(pilot, "ctrl+r", "minus", "minus")
        assert await wait_for(pilot, lambda: sim.state == "running", 60)
        beat = asyncio.ensure_future(dog.heartbeat()) if dog else None
        for _ in range(rounds):
            for key in KEYS:
                t0 = time.perf_counter()
                await press(pilot, key)
                if key != "escape":  # escape closes help: not an app action
                    if not app.last_action_at > t0:
                        raise SystemExit(f"the key {key} ran no action")
                    if sim.state == "running" and app.session.solving:
                        delays.append(app.last_action_at - t0)  # only keys met with both at work
                assert isinstance(app.screen, HelpScreen) == (key == "f1")
                await asyncio.sleep(0.15)
        key_state = (sim.state, app.session.solving)
        if beat:
            dog.stop.set()
            await beat
        await press(pilot, "escape", "f3")  # stop the simulation, go to the solve
        if app.session.solving:
            await press(pilot, "escape")
        assert await wait_for(pilot, lambda: not app.session.solving, 15)
        # the cancel: a fresh solve, Escape once its MILP has a plan, until the solve stopped
        await press(pilot, "f2", "ctrl+r")
        assert await wait_mode(pilot, app, "solve", 10)
        run = app.session.runs[-1]
        assert await wait_for(pilot, lambda: run.incumbent is not None or run.finished, 60)
        cancel, cancel_note = None, "the solve ended before its MILP had a plan"
        if not run.finished:
            t0 = time.perf_counter()
            await press(pilot, "escape")
            if await wait_for(pilot, lambda: run.finished, 15, step=0.005):
                cancel, cancel_note = time.perf_counter() - t0, ""
            else:
                cancel_note = "the solve did not stop within 15 s of Escape"
    if key_state != ("running", True):
        print(f"note: at the last key: simulation {key_state[0]}, solving {key_state[1]} (keys after the "
              "end of either are not counted)", file=sys.stderr)
    return Measured(delays, cancel, cancel_note)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10, help="rounds of + - F1 Esc (3 timed keys each)")
    ap.add_argument("--busy", type=int, default=0, help="extra CPU-spinning processes")
    ap.add_argument("--stacks", action="store_true", help="print stacks when the event loop is late")
    args = ap.parse_args()
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for h in hogs:
        h.start()
    dog = Watchdog() if args.stacks else None
    if dog:
        threading.Thread(target=dog.watch, daemon=True).start()
    try:
        measured = asyncio.run(scenario(args.rounds, dog))
    finally:
        for h in hogs:
            h.terminate()
            h.join()
    delays = measured.key_delays
    if not delays:
        sys.exit("no key was pressed while both the solve and the simulation ran")
    ms = sorted(d * 1000 for d in delays)
    over = sum(d > TARGET_S * 1000 for d in ms)
    p95 = ms[math.ceil(0.95 * len(ms)) - 1]  # nearest rank
    print(f"keys timed: {len(ms)} (busy processes: {args.busy})")
    print(f"latency ms: median {statistics.median(ms):.1f}  p95 {p95:.1f}  worst {ms[-1]:.1f}")
    print(f"over {TARGET_S * 1000:.0f} ms: {over} of {len(ms)}  (worst / target = {ms[-1] / (TARGET_S * 1000):.2f}x)")
    if measured.cancel is not None:
        print(f"cancel (Escape -> the solve stopped): {measured.cancel * 1000:.0f} ms  (target 1 s)")
    else:
        print(f"cancel: not measured ({measured.cancel_note})")
    if dog:
        for report in dog.reports:
            print(report)


if __name__ == "__main__":
    main()
