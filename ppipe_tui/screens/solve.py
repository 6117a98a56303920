"""F3 Solve: live progress of the running solves; Escape cancels, Enter opens a plan."""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import DataTable, Static

from ppipe_tui.formatting import elapsed, num, pct, shorten
from ppipe_tui.messages import CancelSolve, OpenRun
from ppipe_tui.screens.base import Command, PPipeScreen
from ppipe_tui.widgets.solve import SolvePanel


class ResultTable(DataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open")]


class SolveScreen(PPipeScreen):
    BINDINGS = [Binding("escape", "cancel_solve", "Cancel")]
    PALETTE = (Command("Cancel solve (Escape on F3)", "Stop solving, keep the best plan so far", "cancel_solve"),
               Command("Open the highlighted result (Enter on F3)", "Show its plan on F4", "open_result"))

    def compose_body(self) -> ComposeResult:
        yield Static("", id="solve-title", markup=False)
        yield ResultTable(id="solve-results", cursor_type="row", zebra_stripes=False)
        yield Container(id="solve-panels")

    def on_mount(self) -> None:
        t = self.query_one(ResultTable)
        t.add_columns("scheduler", "status", "objective", "gap", "time", "req/s per model")
        self._runs_shown: list[int] = []
        self.set_interval(0.25, self._tick)
        self.refresh_view()

    def refresh_view(self) -> None:
        runs = self.session.runs
        if [r.id for r in runs] != self._runs_shown:
            self._runs_shown = [r.id for r in runs]
            box = self.query_one("#solve-panels")
            box.remove_children()
            box.set_class(len(runs) > 1, "-multi")
            box.mount_all([SolvePanel(r, id=f"run-{r.id}") for r in runs])
        self._update_title()
        self._update_table()
        for p in self.query(SolvePanel):
            p.update_view()
        self._show_panels()

    def on_resize(self) -> None:
        self._show_panels()

    def _show_panels(self) -> None:
        """Wide: every panel side by side. Narrow: the highlighted run's panel only."""
        t = self.query_one(ResultTable)
        runs = self.session.runs
        row = t.cursor_row if 0 <= t.cursor_row < len(runs) else 0
        for i, p in enumerate(self.query(SolvePanel)):
            p.display = not self.narrow or len(runs) <= 1 or i == row

    @on(DataTable.RowHighlighted, "#solve-results")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._show_panels()

    def _update_title(self) -> None:
        runs = self.session.runs
        title = self.query_one("#solve-title", Static)
        if not runs:
            title.update("Nothing solved yet: set up a problem on F2 and press Ctrl+R (or Ctrl+T to compare).")
            return
        p = runs[0].request.problem
        c = p.cluster
        state = "solving" if self.session.solving else "done"
        title.update(f"{state}: {', '.join(p.names)} on {c.label()}, P={p.max_parts}, SLO x{p.slo_multiplier:g}")

    def _update_table(self) -> None:
        t = self.query_one(ResultTable)
        cursor = t.cursor_row
        t.clear()
        for r in self.session.runs:
            res = r.result
            if res is not None:
                x = ", ".join(f"{shorten(m.name, 12)} {m.xput:,.0f}" for m in res.plan.models) if res.plan else "-"
                t.add_row(r.label, res.status, num(res.objective),
                          "—" if res.gap is None or res.bound is None else pct(res.gap, 2),
                          elapsed(res.solve_seconds), x,
                          key=str(r.id))
            else:
                t.add_row(r.label, r.status, num(r.incumbent),
                          pct(r.gap, 2) if r.own_bound else "—", elapsed(r.elapsed), "", key=str(r.id))
        t.display = bool(self.session.runs)
        if self.session.runs:
            t.move_cursor(row=min(max(cursor, 0), len(self.session.runs) - 1))

    def _tick(self) -> None:
        if not self.session.solving or not self.is_current:
            return
        now = time.perf_counter()
        for r in self.session.runs:
            if not r.finished:
                r.elapsed = now - r.started
        self._update_table()
        for p in self.query(SolvePanel):
            if not p.run.finished:
                p.update_view()

    def run_changed(self, run_id: int) -> None:
        """A worker reported: redraw that run (at most the solver's 5 Hz; only when shown)."""
        if not self.is_mounted or not self.is_current:
            return  # refresh_view redraws everything on resume
        for p in self.query(SolvePanel):
            if p.run.id == run_id:
                p.update_view()
        self._update_table()
        self._update_title()

    def action_cancel_solve(self) -> None:
        self.post_message(CancelSolve())

    @on(DataTable.RowSelected, "#solve-results")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.post_message(OpenRun(int(event.row_key.value)))

    def action_open_result(self) -> None:
        t = self.query_one(ResultTable)
        if t.row_count == 0:
            self.notify("No results yet: solve on F2.")
            return
        key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key
        self.post_message(OpenRun(int(key.value)))
