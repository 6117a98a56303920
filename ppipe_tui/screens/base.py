"""What every workflow screen has: the top bar, a body, the footer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from ppipe_tui.widgets.common import NavBar

if TYPE_CHECKING:
    from ppipe_tui.app import PPipeApp
    from ppipe_tui.state import Session


class PPipeScreen(Screen):
    """A screen of the workflow. ``-narrow`` below 81 columns (the SSH layout)."""

    MODE = ""
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (81, "-wide")]

    @property
    def ppipe(self) -> "PPipeApp":
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> "Session":
        return self.ppipe.session

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE, id="nav")
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        """Re-read the session (another screen may have changed it)."""

    @property
    def narrow(self) -> bool:
        return self.has_class("-narrow")
