"""What every workflow screen has: the top bar, a body, the footer.

A screen gets the shared :class:`~ppipe_tui.state.Session` (and the navigation bar's
entries) when the app creates its mode; it reads and writes the session and posts
:mod:`ppipe_tui.messages` requests up to the app. It never imports or calls the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Sequence

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from ppipe_tui.widgets.common import NavBar, NavItem

if TYPE_CHECKING:
    from ppipe_tui.state import Session


@dataclass(frozen=True)
class Command:
    """A command palette entry of a screen: ``action`` runs on that screen (the app goes there first)."""

    title: str
    help: str
    action: str


@dataclass(frozen=True)
class ScreenSpec:
    """One row of the screen table (``ppipe_tui.screens.table``): everything the app needs to
    offer a screen: its mode, F-key, navigation bar label, palette entry and help paragraph."""

    mode: str
    key: str  # the F-key, as Textual names it ("f2")
    title: str  # navigation bar, palette, help
    screen_class: type["PPipeScreen"]
    help_line: str  # Markdown, the screen's item of the help's workflow list
    short: str = ""  # navigation bar below 81 columns (default: title)
    summary: str = ""  # command palette description

    @property
    def key_label(self) -> str:
        return self.key.upper()

    @property
    def nav_item(self) -> NavItem:
        return NavItem(self.mode, self.key_label, self.title, self.short or self.title)


class PPipeScreen(Screen):
    """A screen of the workflow. ``-narrow`` below 81 columns (the SSH layout), ``-xwide``
    from 161 (forms get room for their messages)."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (81, "-wide"), (161, "-xwide")]
    #: the screen's own actions for the command palette
    PALETTE: ClassVar[tuple[Command, ...]] = ()

    def __init__(self, session: "Session", mode: str = "", nav: Sequence[NavItem] = ()) -> None:
        super().__init__()
        self.session = session
        self.mode = mode
        self.nav = tuple(nav)

    def compose(self) -> ComposeResult:
        yield NavBar(self.mode, self.nav, id="nav")
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        """Re-read the session (another screen may have changed it)."""

    def models_loaded(self) -> None:
        """The session's model list (``session.models``) has arrived."""

    @property
    def narrow(self) -> bool:
        return self.has_class("-narrow")
