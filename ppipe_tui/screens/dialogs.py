"""Modal dialogs: errors, confirmations, a line of text. Keys only: Enter / Escape."""

from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.widgets.input import Selection


class ErrorDialog(ModalScreen[None]):
    """Something failed; the app keeps running."""

    BINDINGS = [Binding("escape,enter", "dismiss_dialog", "Close")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog") as box:
            box.border_title = f"Error: {self.title_text}"
            yield Static(self.message, classes="dialog-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", compact=True, variant="error")

    def on_mount(self) -> None:
        self.query_one("#ok").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    def __init__(self, title: str, message: str, yes: str = "Yes") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.message = message
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            yield Static(self.message, classes="dialog-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", compact=True, variant="warning")
                yield Button("Cancel (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class InputDialog(ModalScreen[str | None]):
    """Ask for a line of text (a file name, a folder). The text starts selected: typing
    replaces it. ``check(value)`` returns why a value is refused (shown in the dialog,
    which stays open) or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, prompt: str, value: str = "",
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.prompt = prompt
        self.value = value
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            yield Label(self.prompt, classes="dialog-message")
            yield Input(self.value, id="dialog-input", compact=True)
            yield Label("", id="dialog-error")
            yield Static("Enter: OK   Escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        inp = self.query_one(Input)
        inp.focus()
        inp.selection = Selection(0, len(inp.value))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#dialog-error", Label).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        problem = "give a name" if not value else (self.check(value) if self.check is not None else None)
        if problem:
            self.query_one("#dialog-error", Label).update(f"! {problem}")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
