"""Solve screen areas: one live panel per running solve."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ppipe_tui.formatting import elapsed, num, pct
from ppipe_tui.runners import downsample
from ppipe_tui.state import SolveRun
from ppipe_tui.widgets.common import Chart

DASH = "—"


class SolveChart(Chart):
    """Incumbent and best bound over time."""

    def draw(self, run: SolveRun) -> None:
        plt = self.begin()
        pts = run.history
        if not pts:
            plt.title("waiting for the first bound")
            self.refresh()
            return
        xs = [p[0] for p in pts]
        w = self.plot_width
        # a scheduler whose live bound is an inner solve's (DART-r runs NP) draws no bound line
        bx, by = downsample(xs, [p[2] if run.own_bound else None for p in pts], w)
        ix, iy = downsample(xs, [p[1] for p in pts], w)
        if bx:
            plt.plot(bx, by, marker="dot")
        if ix:
            plt.plot(ix, iy, marker="braille")
        ys = [y for y in by + iy if y is not None]
        if ys:
            lo, hi = min(ys), max(ys)
            pad = max((hi - lo) * 0.1, abs(hi) * 0.01, 1e-6)
            plt.ylim(max(lo - pad, 0.0), hi + pad)
        t1 = max(xs[-1], 0.5)
        plt.xlim(0, t1)
        self.refresh()


class SolvePanel(Vertical):
    """Status numbers and the chart of one scheduler's solve (side by side when narrow)."""

    def __init__(self, run: SolveRun, **kw) -> None:
        super().__init__(classes="solve-panel", **kw)
        self.run = run

    def compose(self) -> ComposeResult:
        yield Static("", classes="solve-stats", markup=False)
        yield SolveChart(classes="solve-chart")

    def on_mount(self) -> None:
        self.call_after_refresh(self.update_view)

    def update_view(self) -> None:
        if len(self.children) < 2:
            return  # not composed yet: on_mount draws
        run = self.run
        self.border_title = f"{run.label}: {run.status}"
        res = run.result
        lines = []
        if res is not None:
            # the result's own bound and gap only: "—" when it has none (DART-r: the bound of
            # the NP solve inside it is not a bound on DART-r's objective)
            lines.append(f"objective {num(res.objective)}")
            lines.append(f"bound     {DASH if res.bound is None else num(res.bound)}")
            lines.append(f"gap       {DASH if res.gap is None or res.bound is None else pct(res.gap, 3)}")
            lines.append(f"time      {elapsed(res.solve_seconds)}")
            if res.message and res.status not in ("optimal",):
                lines.append(res.message)
        elif run.error:
            lines.append(run.error)
        else:
            own = run.own_bound
            lines.append(f"incumbent {num(run.incumbent)}")
            lines.append(f"bound     {num(run.bound) if own else DASH + ' (its NP step runs)'}")
            lines.append(f"gap       {pct(run.gap, 3) if own else DASH}")
            lines.append(f"elapsed   {elapsed(run.elapsed)}")
            lines.append(run.message)
        lines.append("line=incumbent dots=bound" if run.own_bound else "line=incumbent")
        self.query_one(".solve-stats", Static).update("\n".join(lines))
        self.query_one(SolveChart).draw(run)
