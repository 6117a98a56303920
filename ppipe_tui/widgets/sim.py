"""Simulation screen areas: live charts and per-pool utilisation bars."""

from __future__ import annotations

from textual.widgets import Static

from ppipe_tui.formatting import bar, pct
from ppipe_tui.runners import SimFrame, downsample
from ppipe_tui.widgets.common import Chart, slo_line

LEGEND = "x axis: simulated time (s); each chart's key is on its lower edge"
#: (title with units, key of the series) per chart
#: Keys fit a chart's lower edge at 80x24 (34 columns): without colour they tell the series apart.
ATTAINMENT_KEY = ("SLO attainment %", "line: 1 s · dots: all · flat: 99%")
LATENCY_KEY = ("latency ms", "line: p99 · dots: p50 · flat: SLO")
QUEUE_KEY = ("queued requests/batches", "line: balancer · dots: workers")


class AttainmentChart(Chart):
    """SLO attainment per interval (line) and so far (dots), with the 99% target."""

    def draw(self, frame: SimFrame, duration_s: float) -> None:
        plt = self.begin()
        s = frame.series
        w = self.plot_width
        x1 = max(duration_s, s.t_s[-1] if s.t_s else 0.0)
        cx, cy = downsample(s.t_s, s.cumulative, w)
        ax, ay = downsample(s.t_s, s.attainment, w)
        if cx:
            plt.plot(cx, [100 * y for y in cy], marker="dot")
        if ax:
            plt.plot(ax, [100 * y for y in ay], marker="braille")
        ys = [100 * y for y in ay + cy]
        lo = min(ys + [98.0]) if ys else 98.0
        lo = max(min(lo - 0.5, 98.0), 0.0)
        plt.ylim(lo, 100.2)
        plt.xlim(0, x1)
        slo_line(plt, 99.0, 0, x1, "99%")
        self.refresh()


class LatencyChart(Chart):
    """Latency percentiles of recent requests (p99 line, p50 dots) against the SLO."""

    def draw(self, frame: SimFrame, duration_s: float, sla_ms: float) -> None:
        plt = self.begin()
        s = frame.series
        w = self.plot_width
        x1 = max(duration_s, s.t_s[-1] if s.t_s else 0.0)
        px, py = downsample(s.t_s, s.p50_ms, w)
        qx, qy = downsample(s.t_s, s.p99_ms, w)
        if px:
            plt.plot(px, py, marker="dot")
        if qx:
            plt.plot(qx, qy, marker="braille")
        top = max([sla_ms] + list(qy) + list(py)) * 1.15
        plt.ylim(0, top)
        plt.xlim(0, x1)
        slo_line(plt, sla_ms, 0, x1, "SLO")
        self.refresh()


class QueueChart(Chart):
    """Requests waiting at the front balancer (line) and batches queued at workers (dots)."""

    def draw(self, frame: SimFrame, duration_s: float) -> None:
        plt = self.begin()
        s = frame.series
        w = self.plot_width
        x1 = max(duration_s, s.t_s[-1] if s.t_s else 0.0)
        bx, by = downsample(s.t_s, s.batches, w)
        qx, qy = downsample(s.t_s, s.queue, w)
        if bx:
            plt.plot(bx, by, marker="dot")
        if qx:
            plt.plot(qx, qy, marker="braille")
        top = max(list(qy) + list(by) + [4])
        plt.ylim(0, top * 1.1)
        plt.xlim(0, x1)
        self.refresh()


class PoolBars(Static):
    """Per pool: share of workers busy now, and utilisation so far."""

    def show(self, frame: SimFrame | None) -> None:
        if frame is None:
            self.update("pool utilisation appears here while the simulation runs", layout=False)
            return
        width = max(self.size.width - 28, 6)
        lines = [f"{'pool':<12}{'busy':>6}  use so far"]
        for p in frame.snapshot.pools:
            name = f"p{p['pipeline']}.{p['stage']} {p['gpu']}" + (f"/{p['k']}" if p["k"] > 1 else "")
            lines.append(f"{name:<12}{pct(p['busy_now'], 0):>6}  {bar(p['utilization'], width)} "
                         f"{pct(p['utilization'], 0)}")
        if frame.result is not None:
            util = frame.result.gpu_utilization
            lines.append("GPU use: " + ", ".join(f"{g} {pct(u, 0)}" for g, u in util.items()))
        self.update("\n".join(lines), layout=False)
