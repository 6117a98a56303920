"""Modal dialogs: errors, confirmations, a line of text. Keys only: Enter / Escape."""

from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
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


class AddGpuTypeDialog(ModalScreen[str | None]):
    """A GPU type the catalog lacks, with the folder of profiles that have its latencies.
    ``submit(fields)`` adds it and returns what was done, or raises with why not (shown
    in the dialog, which stays open). Enter in any field submits; Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    #: (key, label, placeholder): placeholders say what an empty field means
    FIELDS = (
        ("name", "Name", "(needed, e.g. A6000)"),
        ("profiles", "Profiles folder", "(needed: profiles with its latencies)"),
        ("server", "GPUs per server", "(empty: as the like type)"),
        ("mps", "MPS levels", "(empty: as the like type)"),
        ("network", "Network Gb/s", "(empty: as the like type)"),
        ("price", "$/h", "(empty: not for sale)"),
    )

    def __init__(self, types: list[str], submit: Callable[[dict], str]) -> None:
        super().__init__(classes="dialog-screen")
        self.types = types
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog add-gpu-dialog") as box:
            box.border_title = "Add a GPU type"
            for key, label, ph in self.FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    yield Input("", placeholder=ph, id=f"gpu-new-{key}", compact=True)
            with Horizontal(classes="field"):
                yield Label("Like", classes="field-label")
                yield Select([(t, t) for t in self.types], value="T4" if "T4" in self.types else self.types[0],
                             allow_blank=False, compact=True, id="gpu-new-like")
            with Horizontal(classes="field"):
                yield Label("Class", classes="field-label")
                yield Select([("low (older, cheaper)", "low"), ("high", "high")], value="low", allow_blank=False,
                             compact=True, id="gpu-new-class")
            with Horizontal(classes="field"):
                yield Label("Save to catalog", classes="field-label")
                yield Select([("no: this session only", "no"), ("yes: $PPIPE_HOME/gpus.json", "yes")], value="no",
                             allow_blank=False, compact=True, id="gpu-new-save")
            yield Label("", id="dialog-error")
            yield Static("Like: the catalog type whose TFLOPS and memory bandwidth it takes (for estimates).\n"
                         "Enter: add   Escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#gpu-new-name", Input).focus()

    def fields(self) -> dict[str, str]:
        out = {key: self.query_one(f"#gpu-new-{key}", Input).value for key, _, _ in self.FIELDS}
        for key in ("like", "class", "save"):
            out[key] = str(self.query_one(f"#gpu-new-{key}", Select).value)
        return out

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#dialog-error", Label).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            done = self.submit(self.fields())
        except Exception as exc:  # noqa: BLE001 - any refusal is shown, the dialog stays open
            self.query_one("#dialog-error", Label).update(f"! {exc}")
            return
        self.dismiss(done)

    def action_cancel(self) -> None:
        self.dismiss(None)
