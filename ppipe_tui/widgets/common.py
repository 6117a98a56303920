"""Widgets every screen uses: the top bar, form fields, charts."""

from __future__ import annotations

from typing import NamedTuple, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Static
from textual_plotext import PlotextPlot


class NavItem(NamedTuple):
    """One screen in the top bar: its mode, key label, label, and label below 81 columns."""

    mode: str
    key: str
    label: str
    short: str


class NavBar(Static):
    """The top line: where you are and the keys that go elsewhere (readable without colour)."""

    def __init__(self, mode: str, items: Sequence[NavItem], **kw) -> None:
        super().__init__(**kw)
        self.mode = mode
        self.items = tuple(items)

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        narrow = self.size.width and self.size.width < 81
        parts = []
        for item in self.items:
            text = f"{item.key} {item.short if narrow else item.label}"
            parts.append(f"[reverse][b] {text} [/b][/reverse]" if item.mode == self.mode else f" {text} ")
        self.update("[b]ppipe[/b] " + "".join(parts) + " ^q Quit")


def set_text(label, text: str, layout: bool = True) -> None:
    """Update a label only when its text changes (an update costs a layout pass)."""
    if getattr(label, "_shown_text", None) != text:
        label._shown_text = text
        label.update(text, layout=layout)


class Field(Vertical):
    """A labelled input; its problem is shown whole on the line under it (wrapped when
    long), as text so it reads without colour, and a "!" marks the input itself.
    ``inline_errors=False``: only the "!" (the screen lists the problems elsewhere)."""

    LABEL_WIDTH = 15

    def __init__(self, label: str, key: str, value: str = "", placeholder: str = "", width: int | str = 10,
                 label_width: int | None = None, inline_errors: bool = True, **kw) -> None:
        super().__init__(classes="field", **kw)
        self.inline_errors = inline_errors
        self.label_text = label
        self.key = key
        self.value = value
        self.placeholder = placeholder
        self.input_width = width
        self.label_width = label_width

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            lab = Label(self.label_text, classes="field-label")
            if self.label_width:
                lab.styles.width = self.label_width
            yield lab
            inp = Input(self.value, placeholder=self.placeholder, compact=True, id=self.input_id(self.key),
                        select_on_focus=True)
            inp.styles.width = self.input_width
            inp.field_key = self.key  # type: ignore[attr-defined]
            yield inp
            yield Label("", classes="field-mark")
        err = Label("", classes="field-error")
        err.styles.margin = (0, 0, 0, self.label_width or self.LABEL_WIDTH)
        err.display = False
        yield err

    @staticmethod
    def input_id(key: str) -> str:
        return f"in-{_css_id(key)}"

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def set_error(self, message: str | None) -> None:
        if message == getattr(self, "_error", None):
            return  # unchanged: no repaint
        self._error = message
        self.query_one(".field-mark", Label).update("!" if message else "")
        err = self.query_one(".field-error", Label)
        err.update(f"! {message}" if message and self.inline_errors else "")
        err.display = bool(message) and self.inline_errors
        self.input.set_class(bool(message), "-invalid")
        self.set_class(bool(message), "-bad")


def _css_id(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


def css_id(key: str) -> str:
    return _css_id(key)


class Chart(PlotextPlot):
    """A plotext chart redrawn from scratch on every update (clear, plot, refresh)."""

    DEFAULT_CSS = """
    Chart { height: 1fr; min-height: 5; }
    """

    def __init__(self, title: str = "", legend: str = "", **kw) -> None:
        super().__init__(**kw)
        self.chart_title = title
        self.legend = legend

    def on_mount(self) -> None:
        self.border_title = self.chart_title
        if self.legend:  # the key of the series, on the lower border (plotext legends eat small plots)
            self.border_subtitle = self.legend
        self.clear()

    @property
    def plot_width(self) -> int:
        """Columns available for data (for downsampling)."""
        return max(self.size.width - 8, 10)

    def clear(self, message: str = "") -> None:
        plt = self.plt
        plt.clear_figure()
        plt.frame(True)
        if message:
            plt.title(message)
        self.refresh()

    def begin(self):
        plt = self.plt
        plt.clear_figure()
        plt.frame(True)
        return plt


class KeyLine(Static):
    """A line of text describing a chart's series (plotext legends eat small plots)."""


def slo_line(plt, y: float, x0: float, x1: float, label: str) -> None:
    """A horizontal target line with its label at the right end."""
    plt.horizontal_line(y)
    plt.text(label, x1, y, alignment="right")


class Spacer(Widget):
    DEFAULT_CSS = "Spacer { width: 1fr; height: 1; }"


class GridInput(Input):
    """A cell of a grid of inputs (rows of class ``grid-row``): Up / Down move to the same
    column of the row above / below (Tab still goes along the row). The text starts
    selected when the cell gets the focus, so typing replaces it."""

    BINDINGS = [
        Binding("up", "grid_move(-1)", "Row above", show=False),
        Binding("down", "grid_move(1)", "Row below", show=False),
    ]

    def __init__(self, value: str, column: str, **kw) -> None:
        super().__init__(value, compact=True, select_on_focus=True, **kw)
        self.grid_column = column

    def action_grid_move(self, delta: int) -> None:
        row = self.parent
        grid = row.parent if row is not None else None
        if grid is None:
            return
        rows = [r for r in grid.children if r.has_class("grid-row") and r.display]
        if row not in rows:
            return
        j = rows.index(row) + delta
        if not 0 <= j < len(rows):
            return
        for cell in rows[j].query(GridInput):
            if cell.grid_column == self.grid_column:
                cell.focus()
                return
