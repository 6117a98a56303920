"""F6 Sweep: SLO attainment against load factor for NP, DART-r and PPipe."""

from __future__ import annotations

import itertools

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Select, Static
from textual.worker import get_current_worker

from ppipe.errors import PPipeError
from ppipe_tui.formatting import pct, rate
from ppipe_tui.messages import ShowError, SweepDone, SweepPointReady
from ppipe_tui.runners import SweepCancelled, SweepCurve, downsample, parse_grid, run_sweep
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.state import compare_schedulers, scheduler_label
from ppipe_tui.widgets.common import Chart, slo_line

_ids = itertools.count(1)
MARKERS = {"np": "dot", "dart-r": "+", "ppipe": "braille", "plan": "braille"}
#: how each marker looks on screen, for the table that doubles as the legend
MARKER_TEXT = {"dot": "•", "+": "+", "braille": "⣿"}


class SweepChart(Chart):
    def draw(self, curves: dict[str, SweepCurve]) -> None:
        plt = self.begin()
        xs_all, ys_all = [], []
        for sched, c in curves.items():
            if not c.points:
                continue
            xs = [p.load_factor for p in c.points]
            ys = [100 * (p.counts["true"]["attainment"] if p.counts.get("true") else 0.0) for p in c.points]
            xs, ys = downsample(xs, ys, self.plot_width)
            plt.plot(xs, ys, marker=MARKERS.get(sched, "braille"))
            xs_all += xs
            ys_all += ys
        x1 = max(xs_all + [100])
        lo = max(0.0, 10 * ((min(ys_all + [95.0]) - 2) // 10))
        plt.xlim(0, x1)
        plt.ylim(lo, 100.5)
        slo_line(plt, 99.0, 0, x1, "99%")
        self.refresh()


class SweepScreen(PPipeScreen):
    BINDINGS = [
        Binding("ctrl+r", "run_sweep", "Run sweep"),
        Binding("escape", "stop", "Stop"),
    ]
    PALETTE = (
        Command("Run sweep (Ctrl+R on F6)", "", "run_sweep"),
        Command("Stop sweep (Escape on F6)", "", "stop"),
    )

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="sweep-controls"):
            yield Label("Model", classes="ctl-label")
            yield Select([], id="sweep-model", compact=True, allow_blank=True, prompt="(no plan)")
            yield Label("LF %", classes="ctl-label")
            yield Input("10-100/10", id="sweep-grid", compact=True, select_on_focus=True)
            yield Label("s", classes="ctl-label")
            yield Input("10", id="sweep-duration", compact=True, select_on_focus=True)
            yield Label("seed", classes="ctl-label")
            yield Input("0", id="sweep-seed", compact=True, select_on_focus=True)
        yield Static("", id="sweep-status", markup=False)
        yield SweepChart("SLO attainment % vs load factor %", id="sweep-chart")
        yield DataTable(id="sweep-table", cursor_type="row", show_cursor=False)

    def on_mount(self) -> None:
        self.run_id = 0
        self.curves: dict[str, SweepCurve] = {}
        self.state = "idle"
        self._plan_shown = None
        t = self.query_one("#sweep-table", DataTable)
        t.add_columns("scheduler", "marker", "plan req/s", "lf99", "attainment at load factor")
        self.refresh_view()

    def refresh_view(self) -> None:
        entry = self.session.current
        if entry is not self._plan_shown:
            self._plan_shown = entry
            sel = self.query_one("#sweep-model", Select)
            if entry is None:
                sel.set_options([])
            else:
                sel.set_options([(m.name, i) for i, m in enumerate(entry.plan.models)])
                sel.value = 0
        self._status()

    def _plans(self) -> tuple[str, dict, float, list[str]]:
        """(model name, scheduler -> ModelPlan, X_ppipe, notes) for the chosen model."""
        entry = self.session.current
        sel = self.query_one("#sweep-model", Select)
        idx = 0 if sel.value is Select.NULL else int(sel.value)
        name = entry.plan.models[idx].name
        plans = {}
        notes = []
        for sched, e in self.session.comparison().items():
            try:
                plans[sched] = e.plan.model(name)
            except PPipeError:
                notes.append(f"{sched} plan lacks {name}")
        compare = compare_schedulers()
        order = [s for s in compare if s in plans] + [s for s in plans if s not in compare]
        plans = {s: plans[s] for s in order}
        base = plans.get("ppipe") or entry.plan.models[idx]
        return name, plans, float(base.xput), notes

    def _status(self) -> None:
        st = self.query_one("#sweep-status", Static)
        if self.session.current is None:
            st.update("No plan: solve one (F2, Ctrl+T compares all three) or open a saved plan (F7).")
            return
        try:
            name, plans, x, notes = self._plans()
        except Exception:  # noqa: BLE001 - only a hint line
            return
        which = ", ".join(scheduler_label(s) for s in plans)
        missing = [scheduler_label(s) for s in compare_schedulers() if s not in plans]
        hint = f" (no {', '.join(missing)} plan: Ctrl+T on F2 solves all three)" if missing else ""
        st.update(f"{self.state}: {name}, plans {which}; 100% = {rate(x)}{hint}")

    def action_run_sweep(self) -> None:
        if self.session.current is None:
            self.notify("No plan to sweep.", severity="warning")
            return
        try:
            grid = parse_grid(self.query_one("#sweep-grid", Input).value)
        except ValueError:
            self.notify("load factors: like 10-100/10 or 50,75,100 (each 1..200)", severity="error")
            return
        try:
            duration = float(self.query_one("#sweep-duration", Input).value)
            seed = int(self.query_one("#sweep-seed", Input).value)
            if not 0 < duration <= 600:
                raise ValueError
        except ValueError:
            self.notify("duration: seconds in (0, 600]; seed: a whole number", severity="error")
            return
        name, plans, x, _ = self._plans()
        if x * max(grid) / 100 * duration > 20_000_000:
            self.notify("that many requests per run would not fit in memory: lower the duration or load factors",
                        severity="error")
            return
        try:
            profile = self.session.store.get(name)
        except PPipeError as exc:
            self.post_message(ShowError("No profile for this model", str(exc)))
            return
        self.workers.cancel_group(self, "sweep")
        self.run_id = next(_ids)
        self.curves = {s: SweepCurve(s) for s in plans}
        self.state = "running"
        self._redraw()
        self._sweep(self.run_id, plans, profile, x, grid, seed, duration)

    def action_stop(self) -> None:
        if self.state == "running":
            self.workers.cancel_group(self, "sweep")
            self.state = "stopped"
            self._status()

    @work(thread=True, group="sweep", exit_on_error=False)
    def _sweep(self, run_id, plans, profile, x, grid, seed, duration) -> None:
        worker = get_current_worker()
        try:
            run_sweep(plans, profile, x, grid, seed, duration,
                      lambda s, p: self.post_message(SweepPointReady(run_id, s, p)),
                      lambda: worker.is_cancelled)
        except SweepCancelled:
            self.post_message(SweepDone(run_id, cancelled=True))
            return
        except Exception as exc:  # noqa: BLE001 - shown in a dialog
            self.post_message(SweepDone(run_id, error=f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(SweepDone(run_id))

    @on(SweepPointReady)
    def _point(self, message: SweepPointReady) -> None:
        if message.run_id != self.run_id:
            return
        self.curves.setdefault(message.scheduler, SweepCurve(message.scheduler)).points.append(message.point)
        self._redraw()

    @on(SweepDone)
    def _done(self, message: SweepDone) -> None:
        if message.run_id != self.run_id:
            return
        self.state = "stopped" if message.cancelled else ("failed" if message.error else "done")
        self._redraw()
        if message.error:
            self.post_message(ShowError("Sweep failed", message.error))

    def _redraw(self) -> None:
        self.query_one(SweepChart).draw(self.curves)
        t = self.query_one("#sweep-table", DataTable)
        t.clear()
        try:
            _, plans, _, _ = self._plans()
        except Exception:  # noqa: BLE001
            plans = {}
        for s, c in self.curves.items():
            mp = plans.get(s)
            t.add_row(scheduler_label(s), MARKER_TEXT[MARKERS.get(s, "braille")], rate(mp.xput) if mp else "-",
                      f"{c.lf99}%" if c.points else "-",
                      " ".join(f"{p.load_factor}:{pct(p.counts['true']['attainment'], 0)}"
                               for p in c.points if p.counts.get("true")))
        self._status()
