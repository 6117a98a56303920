"""Size screen areas: the GPU grid (owned, to buy, price) and the cost-versus-load chart."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from ppipe.catalog.gpus import GpuCatalog
from ppipe_tui.runners import downsample
from ppipe_tui.sizing import SIZE_SCHEDULERS, SizeGpuFields, size_label
from ppipe_tui.widgets.common import Chart, GridInput, css_id, set_text

#: chart markers per sizing scheduler (distinct without colour), and how they look
SIZE_MARKERS = {"ppipe": "x", "np": "dot", "np-cheapest": "+"}
MARKER_TEXT = {"x": "x", "dot": "•", "+": "+"}
#: (column, width) of the grid's inputs
GPU_COLUMNS = (("own", 8), ("buy", 6), ("price", 8))


def size_input_id(gpu: str, what: str) -> str:
    return f"size-{css_id(gpu)}-{what}"


def chart_key() -> str:
    return " · ".join(f"{MARKER_TEXT[SIZE_MARKERS[s]]} {size_label(s)}" for s in SIZE_SCHEDULERS)


class SizeGpuGrid(Vertical):
    """One row per GPU type: GPUs owned, what may be bought (no / any / the most), $/h, and
    where the price comes from. Up / Down move between rows in a column."""

    def __init__(self, rows: dict[str, SizeGpuFields], catalog: GpuCatalog, **kw) -> None:
        super().__init__(**kw)
        self.rows = rows
        self.catalog = catalog

    def compose(self) -> ComposeResult:
        yield Label(f"{'GPU':<6} {'owned':<8} {'buy':<6} {'$/h':<8} price from", classes="grid-head")
        for g, row in self.rows.items():
            with Horizontal(classes="grid-row", id=f"size-row-{css_id(g)}"):
                yield Label(f"{g:<6}", classes="grid-name")
                for what, width in GPU_COLUMNS:
                    cell = GridInput(getattr(row, what), what, id=size_input_id(g, what), classes=f"size-{what}")
                    cell.styles.width = width
                    cell.field_key = f"gpu.{g}.{what}"  # type: ignore[attr-defined]
                    yield cell
                yield Label(self.source(g), classes="grid-source", markup=False)

    def on_mount(self) -> None:
        self.border_title = "GPUs: owned, to buy (no / any / most), $/h"

    def source(self, gpu: str) -> str:
        """Where the row's price comes from: the catalog's source, "typed", or nothing."""
        row = self.rows[gpu]
        listed = self.catalog.get(gpu).price_per_hour if gpu in self.catalog else None
        if not row.price.strip():
            return "no price: own only"
        try:
            same = listed is not None and abs(float(row.price) - listed) < 1e-12
        except ValueError:
            return ""
        return (self.catalog.get(gpu).price_source or "catalog") if same else "typed here"

    def refresh_source(self, gpu: str) -> None:
        try:
            set_text(self.query_one(f"#size-row-{css_id(gpu)} .grid-source", Label), self.source(gpu), False)
        except Exception:  # noqa: BLE001 - a row not shown
            pass

    def show_types(self, types: set[str] | None) -> None:
        """Show only these types (those some model has a profile for); None: all."""
        for g in self.rows:
            try:
                row = self.query_one(f"#size-row-{css_id(g)}")
            except Exception:  # noqa: BLE001
                continue
            row.display = types is None or g in types

    def set_errors(self, errors: dict[str, str]) -> None:
        for g in self.rows:
            for what, _ in GPU_COLUMNS:
                try:
                    self.query_one(f"#{size_input_id(g, what)}").set_class(f"gpu.{g}.{what}" in errors, "-invalid")
                except Exception:  # noqa: BLE001
                    pass


class SizeChart(Chart):
    """$/h against the load factor (x the targets), one line per scheduler."""

    def draw(self, points: list, what: str = "$/h") -> None:
        plt = self.begin()
        xs_all: list[float] = []
        ys_all: list[float] = []
        # PPipe last, so where the lines meet its markers stay on top (the table has the numbers)
        for s in reversed(SIZE_SCHEDULERS):
            pts = [(p.factor, p.results[s].cost) for p in points if s in p.results and p.results[s].cost is not None]
            if not pts:
                continue
            xs, ys = downsample([x for x, _ in pts], [y for _, y in pts], self.plot_width)
            plt.plot(xs, ys, marker=SIZE_MARKERS[s])
            xs_all += xs
            ys_all += ys
        if not xs_all:
            plt.title("Ctrl+T: cost against load, one line per scheduler")
            self.refresh()
            return
        x0, x1 = min(xs_all), max(xs_all)
        if x1 <= x0:
            x1 = x0 + 0.1
        plt.xlim(x0, x1)
        top = max(ys_all) if ys_all else 1.0
        plt.ylim(0, top * 1.1 if top > 0 else 1.0)
        self.refresh()
