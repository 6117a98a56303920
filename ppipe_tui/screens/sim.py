"""F5 Simulate: one model of the plan under load, animated a few times a second."""

from __future__ import annotations

import itertools
import threading
import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.widgets import Input, Label, Select, Static

from ppipe.errors import PPipeError
from ppipe_tui.formatting import pct, rate, shorten
from ppipe_tui.messages import ShowError, SimFailed, SimFrameReady
from ppipe_tui.runners import TICK_S, SimControl, SimDriver, SimFrame, SimSettings, speed_label
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.widgets.common import set_text
from ppipe_tui.widgets.sim import (
    ATTAINMENT_KEY,
    LATENCY_KEY,
    LEGEND,
    QUEUE_KEY,
    AttainmentChart,
    LatencyChart,
    PoolBars,
    QueueChart,
)

_run_ids = itertools.count(1)
#: Requests one live run may hold in memory (the simulator allocates per request up front).
MAX_REQUESTS = 20_000_000
SPEED = Binding.Group("Speed")


class SimCharts(Container, can_focus=True):
    """The chart area; focusable so Space, + and - reach the screen, not an input."""


class SimScreen(PPipeScreen):
    BINDINGS = [
        Binding("ctrl+r", "start", "Start"),
        Binding("space", "pause", "Pause"),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+", group=SPEED),
        Binding("minus", "slower", "Slower", key_display="-", group=SPEED),
        Binding("escape", "stop", "Stop"),
    ]
    PALETTE = (
        Command("Start simulation (Ctrl+R on F5)", "Start or restart the simulation", "start"),
        Command("Pause or resume simulation (Space)", "", "pause"),
        Command("Simulate faster (+)", "", "faster"),
        Command("Simulate slower (-)", "", "slower"),
        Command("Stop simulation (Escape on F5)", "", "stop"),
    )

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="sim-controls"):
            yield Label("Model", classes="ctl-label")
            yield Select([], id="sim-model", compact=True, allow_blank=True, prompt="(no plan)")
            yield Label("LF %", classes="ctl-label")
            yield Input("80", id="sim-lf", compact=True, select_on_focus=True)
            yield Label("or req/s", classes="ctl-label")
            yield Input("", id="sim-load", compact=True, placeholder="-", select_on_focus=True)
            yield Label("seed", classes="ctl-label")
            yield Input("0", id="sim-seed", compact=True, select_on_focus=True)
            yield Label("s", classes="ctl-label")
            yield Input("30", id="sim-duration", compact=True, select_on_focus=True)
        yield Static("", id="sim-status", markup=False)
        with SimCharts(id="sim-charts"):
            yield AttainmentChart(*ATTAINMENT_KEY, id="chart-attainment")
            yield LatencyChart(*LATENCY_KEY, id="chart-latency")
            yield QueueChart(*QUEUE_KEY, id="chart-queue")
            yield PoolBars("", id="pool-bars", markup=False)
        yield Static(LEGEND, id="sim-legend", markup=False)

    def on_mount(self) -> None:
        self.control = SimControl()
        self.driver: SimDriver | None = None
        self.run_id = 0
        self.frame: SimFrame | None = None
        self.state = "idle"
        self._plan_shown = None
        self.query_one("#pool-bars").border_title = "pools"
        self.refresh_view()
        self.query_one(PoolBars).show(None)
        self._status()

    # ------------------------------------------------------------- options
    def refresh_view(self) -> None:
        entry = self.session.current
        if entry is self._plan_shown:
            return
        self._plan_shown = entry
        sel = self.query_one("#sim-model", Select)
        if entry is None:
            sel.set_options([])
            return
        sel.set_options([(m.name, i) for i, m in enumerate(entry.plan.models)])
        sel.value = 0

    def choose_model(self, index: int) -> None:
        """Simulate this model of the current plan next; the load factor has the focus."""
        self.refresh_view()
        sel = self.query_one("#sim-model", Select)
        if self.session.current is not None and 0 <= index < len(self.session.current.plan.models):
            sel.value = index
        self.query_one("#sim-lf").focus()

    def _settings(self) -> tuple[SimSettings | None, str | None, object]:
        entry = self.session.current
        if entry is None:
            return None, "no plan: solve one (F2) or open a saved plan (F7)", None
        sel = self.query_one("#sim-model", Select)
        idx = 0 if sel.value is Select.NULL else int(sel.value)
        mp = entry.plan.models[idx]
        lf_text = self.query_one("#sim-lf", Input).value.strip()
        load_text = self.query_one("#sim-load", Input).value.strip()
        try:
            seed = int(self.query_one("#sim-seed", Input).value.strip() or "0")
            if seed < 0:
                raise ValueError
        except ValueError:
            return None, "seed: a whole number >= 0", None
        try:
            duration = float(self.query_one("#sim-duration", Input).value.strip() or "30")
            if not 0 < duration <= 600:
                raise ValueError
        except ValueError:
            return None, "duration: seconds in (0, 600]", None
        if load_text:
            try:
                load = float(load_text)
                if not load > 0:
                    raise ValueError
            except ValueError:
                return None, "load: requests per second > 0", None
            lf = None
        else:
            try:
                lf = float(lf_text)
                if not 0 < lf <= 500:
                    raise ValueError
            except ValueError:
                return None, "load factor: a percentage in (0, 500]", None
            from ppipe.sim.lfsearch import lf_load

            load = (lf_load(int(lf), mp.xput) if lf.is_integer() else int(lf * int(mp.xput) / 100))
            if load <= 0:
                return None, f"{lf:g}% of {mp.xput:.1f} req/s is no load at all", None
        if load * duration > MAX_REQUESTS:
            return None, (f"{load:,.0f} req/s for {duration:g} s is {load * duration:,.0f} requests; "
                          f"keep it under {MAX_REQUESTS:,}"), None
        return SimSettings(mp.name, float(load), lf, seed, "reservation", duration), None, mp

    # ------------------------------------------------------------- actions
    def action_start(self) -> None:
        settings, err, mp = self._settings()
        if err:
            self.notify(err, severity="error", title="Simulation")
            return
        entry = self.session.current
        if entry is not None and entry.warnings and getattr(self, "_warned_for", None) is not entry:
            from ppipe_tui.screens.dialogs import ConfirmDialog

            def answer(yes: bool | None) -> None:
                if yes:
                    self._warned_for = entry
                    self.action_start()

            more = f"\n... and {len(entry.warnings) - 3} more" if len(entry.warnings) > 3 else ""
            self.app.push_screen(ConfirmDialog(
                "Plan does not match the profiles",
                "This plan disagrees with the current profiles, so the simulation may drop requests:\n"
                + "\n".join(f"- {w}" for w in entry.warnings[:3]) + more + "\n\nSimulate anyway?",
                "Simulate"), answer)
            return
        try:
            profile = self.session.store.get(settings.model)
        except PPipeError as exc:
            self.post_message(ShowError("No profile for this model", f"{exc}\n\nOpen ppipe-tui with --data DIR "
                                        "(or set PPIPE_ARTIFACT) to simulate plans of these models."))
            return
        self.stop_quietly()
        self.run_id = next(_run_ids)
        self.control = SimControl(self.control.speed_index)
        self.frame = None
        self.state = "starting"
        self._settings_shown = settings
        self.query_one("#sim-charts").focus()
        self._status()
        cancel = threading.Event()
        self._job = self.session.start_job("simulation", self._drive, self.run_id, mp, profile, settings,
                                           self.control, cancel, cancel=cancel,
                                           on_error=self._job_failed)

    def action_pause(self) -> None:
        if self.state not in ("running", "paused"):
            return
        paused = self.control.toggle_pause()
        self.state = "paused" if paused else "running"
        self._status()

    def action_faster(self) -> None:
        self.session.mark_action()
        self.control.change_speed(+1)
        self._status()

    def action_slower(self) -> None:
        self.session.mark_action()
        self.control.change_speed(-1)
        self._status()

    def action_stop(self) -> None:
        if self.state in ("running", "paused", "starting"):
            self.stop_quietly()
            self.state = "stopped"
            self._status()

    def stop_quietly(self) -> None:
        job = getattr(self, "_job", None)
        if job is not None:
            job.cancel.set()

    # -------------------------------------------------------------- worker
    def _job_failed(self, message: str, log: str) -> None:
        self.post_message(ShowError("Simulation failed", f"{message}\n\nDetails: {log}"))

    def _drive(self, run_id: int, mp, profile, settings: SimSettings, control: SimControl,
               cancel: threading.Event) -> None:
        """On a job's thread (:meth:`Session.start_job`): advance the simulation, post frames."""
        try:
            driver = SimDriver(mp, profile, settings)
            self.driver = driver
            last_post = 0.0
            while not cancel.is_set():
                if control.paused:
                    cancel.wait(0.05)
                    continue
                t0 = time.perf_counter()
                frame = driver.advance(control.step_us())
                fast = control.speed is None
                if frame is not None and (frame.done or not fast or t0 - last_post >= 0.1):
                    self.post_message(SimFrameReady(run_id, frame))
                    last_post = t0
                if frame is not None and frame.done:
                    return
                if fast:
                    time.sleep(0.001)
                else:
                    cancel.wait(max(TICK_S - (time.perf_counter() - t0), 0.0))
        except Exception as exc:  # noqa: BLE001 - shown in a dialog, the app keeps running
            self.post_message(SimFailed(run_id, f"{type(exc).__name__}: {exc}"))

    @on(SimFrameReady)
    def _frame(self, message: SimFrameReady) -> None:
        if message.run_id != self.run_id:
            return
        self.frame = message.frame
        if self.state == "starting":
            self.state = "running"
        if message.frame.done:
            self.state = "finished"
        if self.is_current:
            self.draw()  # otherwise on resume

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.draw()

    @on(SimFailed)
    def _failed(self, message: SimFailed) -> None:
        if message.run_id != self.run_id:
            return
        self.state = "failed"
        self._status()
        self.post_message(ShowError("Simulation failed", message.error))

    # -------------------------------------------------------------- drawing
    def draw(self) -> None:
        frame = self.frame
        if frame is None:
            return
        st = self._settings_shown
        sla_ms = self.driver.sla_ms if self.driver is not None else 0.0
        self.query_one(AttainmentChart).draw(frame, st.duration_s)
        self.query_one(LatencyChart).draw(frame, st.duration_s, sla_ms)
        self.query_one(QueueChart).draw(frame, st.duration_s)
        self.query_one(PoolBars).show(frame)
        self._status()

    def _status(self) -> None:
        status = self.query_one("#sim-status", Static)
        speed = speed_label(self.control.speed)
        if self.state == "idle":
            set_text(status, f"Ctrl+R starts (speed {speed}); pick the model, load factor % of its planned "
                          "throughput or a load in req/s.", False)
            return
        st = self._settings_shown
        lf = f" ({st.load_factor:g}% of plan)" if st.load_factor is not None else ""
        head = f"{shorten(st.model, 28)}: {rate(st.load)}{lf}, seed {st.seed}"
        if self.state == "starting":
            set_text(status, f"{head} | starting (the first run compiles the simulator) | speed {speed}", False)
            return
        f = self.frame
        if f is None:
            set_text(status, f"{head} | {self.state} | speed {speed}", False)
            return
        snap = f.snapshot
        res = f.result
        if res is not None:
            verdict = "meets" if res.passed else "misses"
            tail = (f"attainment {pct(res.attainment, 2)} ({verdict} 99%), dropped {pct(res.dropped, 2)}, "
                    f"late {pct(res.violated, 2)}, p99 {res.latency_ms.get('p99') or 0:.1f} ms")
        else:
            att = f.series.cumulative[-1] if f.series.cumulative else None
            tail = (f"t {snap.time_us / 1e6:.1f}/{st.duration_s:g} s, {snap.arrived} arrived, {snap.dropped} dropped, "
                    f"{snap.late} late, attainment {pct(att, 2)}")
        set_text(status, f"{head} | {self.state}, speed {speed} | {tail}", False)
