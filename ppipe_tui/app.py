"""The Textual app. A placeholder screen until the TUI issue lands."""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class PPipeApp(App):
    TITLE = "ppipe"
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("ppipe-tui: the interactive planner is under construction. Use `ppipe --help`.")
        yield Footer()


def main() -> None:
    PPipeApp().run()
    sys.exit(0)
