"""F6 Sweep: SLO attainment against load factor for NP, DART-r and PPipe."""

from __future__ import annotations

import itertools
import threading

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Select, Static

from ppipe.errors import PPipeError
from ppipe_tui.formatting import rate
from ppipe_tui.messages import ShowError, SweepDone, SweepPointReady
from ppipe_tui.runners import SweepCancelled, SweepCurve, downsample, parse_grid, run_sweep
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.state import compare_schedulers, scheduler_label
from ppipe_tui.widgets.common import Chart, slo_line

_ids = itertools.count(1)
MARKERS = {"np": "dot", "dart-r": "+", "ppipe": "x", "plan": "x"}
#: how each marker looks on screen, for the table that doubles as the legend
MARKER_TEXT = {"dot": "•", "+": "+", "x": "x", "braille": "⣿"}


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
        x0 = min(xs_all) if xs_all else 0
        x1 = max(xs_all + [x0 + 1])
        lo = max(0.0, 10 * ((min(ys_all + [95.0]) - 2) // 10))
        plt.xlim(x0, x1)
        plt.ylim(lo, 100.5)
        slo_line(plt, 99.0, x0, x1, "99%")
        self.refresh()


def lf99_text(c: SweepCurve, grid_top: int | None) -> str:
    """The highest load factor meeting 99%; "≥ N%" when that is the grid's last point (capped:
    the plan may hold more load than the sweep tried)."""
    if not c.points:
        return "-"
    lf = c.lf99
    return f"≥ {lf}%" if lf and grid_top is not None and lf >= grid_top else f"{lf}%"


def attainment_cells(c: SweepCurve, width: int) -> str:
    """"LF:att" per point, as many of the last points as fit ``width`` (the table fits 80 columns)."""
    cells = [f"{p.load_factor}:{100 * p.counts['true']['attainment']:.0f}" for p in c.points if p.counts.get("true")]
    out: list[str] = []
    for cell in reversed(cells):
        if sum(len(x) + 1 for x in out) + len(cell) + 2 > width:
            out.append("…")
            break
        out.append(cell)
    return " ".join(reversed(out))


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
        yield SweepChart("SLO attainment % vs load factor %",
                         "flat line: 99%", id="sweep-chart")
        yield DataTable(id="sweep-table", cursor_type="row", show_cursor=False)

    def on_mount(self) -> None:
        self.run_id = 0
        self.curves: dict[str, SweepCurve] = {}
        self.state = "idle"
        self._plan_shown = None
        t = self.query_one("#sweep-table", DataTable)
        for label, width in (("scheduler", 9), ("mark", 4), ("plan req/s", 12), ("lf99", 6),
                             ("attainment % at LF %", None)):
            t.add_column(label, width=width)
        self.grid_top: int | None = None
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
        st.update(f"{self.state}: {name}, plans {which}; load factor 100% = the PPipe plan's planned rate for "
                  f"{name}, {rate(x)}{hint}")

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
            if not 0 < duration <= 600 or seed < 0:
                raise ValueError
        except ValueError:
            self.notify("duration: seconds in (0, 600]; seed: a whole number >= 0", severity="error")
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
        self._stop_job()
        self.run_id = next(_ids)
        self.curves = {s: SweepCurve(s) for s in plans}
        self.grid_top = max(grid)
        self.state = "running"
        self._redraw()
        cancel = threading.Event()
        self._job = self.session.start_job("sweep", self._sweep, self.run_id, plans, profile, x, grid, seed,
                                           duration, cancel, cancel=cancel, on_error=self._job_failed)

    def _stop_job(self) -> None:
        job = getattr(self, "_job", None)
        if job is not None:
            job.cancel.set()

    def action_stop(self) -> None:
        if self.state == "running":
            self._stop_job()
            self.state = "stopped"
            self._status()

    def _job_failed(self, message: str, log: str) -> None:
        self.post_message(ShowError("Sweep failed", f"{message}\n\nDetails: {log}"))

    def _sweep(self, run_id, plans, profile, x, grid, seed, duration, cancel: threading.Event) -> None:
        """On a job's thread (:meth:`Session.start_job`)."""
        try:
            run_sweep(plans, profile, x, grid, seed, duration,
                      lambda s, p: self.post_message(SweepPointReady(run_id, s, p)),
                      cancel.is_set)
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
                      lf99_text(c, self.grid_top), attainment_cells(c, max(self.size.width - 48, 16)))
        self._status()
