"""F1 / ?: what each screen does and every key."""

from __future__ import annotations

from typing import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

INTRO = """\
# ppipe-tui

Plan DNN inference serving on a mix of GPU types, then watch the plan serve load.
Everything works from the keyboard: **Tab** / **Shift+Tab** move between fields,
arrows move in lists, **Enter** opens or confirms, **Escape** cancels.
**Ctrl+P** opens the command palette with every action.
"""

KEYS = """\
## Keys everywhere

| key | action |
| --- | --- |
| F1, ? | this help |
| {first} .. {last} | go to a screen |
| Ctrl+P | command palette |
| Ctrl+Q | quit |

Colours are optional: set `NO_COLOR=1`; markers and text carry the meaning
(`[x]` ticks, `!` problems, `#` bars, chart markers named under each chart).
No data? `ppipe-tui --demo` uses three small made-up models.
"""


def help_markdown(screens: Sequence) -> str:
    """The help text: the workflow, one item per row of the screen table, and the keys."""
    steps = "\n".join(f"{i}. **{s.key_label} {s.title}**: {s.help_line}" for i, s in enumerate(screens, 1))
    keys = KEYS.format(first=screens[0].key_label, last=screens[-1].key_label) if screens else ""
    return f"{INTRO}\n## The workflow\n\n{steps}\n\n{keys}"


class HelpScreen(ModalScreen[None]):
    """The help over the current screen (``text`` from :func:`help_markdown`)."""

    BINDINGS = [Binding("escape,f1,q,question_mark", "close", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box") as box:
            box.border_title = "Help (Escape closes; arrows scroll)"
            with VerticalScroll(id="help-scroll"):
                yield Markdown(self.text, id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.app.pop_screen()
