"""Widgets every screen uses: the top bar, form fields, charts."""

from __future__ import annotations

from typing import NamedTuple, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal
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
        self.update("[b]ppipe[/b] " + "".join(parts) + "  ^q Quit")


def set_text(label, text: str, layout: bool = True) -> None:
    """Update a label only when its text changes (an update costs a layout pass)."""
    if getattr(label, "_shown_text", None) != text:
        label._shown_text = text
        label.update(text, layout=layout)


class Field(Horizontal):
    """A labelled input with its problem shown in place (text, so it reads without colour)."""

    def __init__(self, label: str, key: str, value: str = "", placeholder: str = "", width: int = 10,
                 label_width: int | None = None, **kw) -> None:
        super().__init__(classes="field", **kw)
        self.label_text = label
        self.key = key
        self.value = value
        self.placeholder = placeholder
        self.input_width = width
        self.label_width = label_width

    def compose(self) -> ComposeResult:
        lab = Label(self.label_text, classes="field-label")
        if self.label_width:
            lab.styles.width = self.label_width
        yield lab
        inp = Input(self.value, placeholder=self.placeholder, compact=True, id=f"in-{_css_id(self.key)}",
                    select_on_focus=True)
        inp.styles.width = self.input_width
        inp.field_key = self.key  # type: ignore[attr-defined]
        yield inp
        yield Label("", classes="field-error")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def set_error(self, message: str | None) -> None:
        if message == getattr(self, "_error", None):
            return  # unchanged: no repaint
        self._error = message
        err = self.query_one(".field-error", Label)
        err.update(f"! {message}" if message else "", layout=False)
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
