"""F1 / ?: what each screen does and every key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# ppipe-tui

Plan DNN inference serving on a mix of GPU types, then watch the plan serve load.
Everything works from the keyboard: **Tab** / **Shift+Tab** move between fields,
arrows move in lists, **Enter** opens or confirms, **Escape** cancels.
**Ctrl+P** opens the command palette with every action.

## The workflow

1. **F2 Set-up**: type to search the models, **Up** / **Down** pick one,
   **Enter** ticks or unticks it (in the list itself: **Space** or Enter);
   `G1`..`G6` lists a group of the paper, the *group* box ticks all three.
   Pick a cluster preset (HC1..HC4) or type GPU counts, MPS levels and GPUs per
   server; weights (`1,1,1`, `maf19`), SLO multiplier and discount, max partitions,
   scheduler, solver and time limit. Problems are flagged beside each field.
   **Ctrl+R** solves, **Ctrl+T** solves NP, DART-r and PPipe side by side.
2. **F3 Solve**: incumbent, best bound, gap and elapsed time, live.
   **Escape** cancels and keeps the best plan found so far. **Enter** opens the
   highlighted result.
3. **F4 Plan**: model > pipeline > partition; move the cursor for details
   (latency budget against the SLO). **Ctrl+S** saves the plan,
   **S** simulates the highlighted model.
4. **F5 Simulate**: choose model, load factor (% of the plan's throughput) or a
   load in req/s, seed. **Ctrl+R** starts, **Space** pauses, **+** / **-** change
   speed, **Escape** stops.
5. **F6 Sweep**: SLO attainment against load factor for the NP, DART-r and
   PPipe plans of the same setting. **Ctrl+R** runs, **Escape** stops.
6. **F7 Saved plans**: plans in `saved_plans/` (or any folder, artifact plans
   too: **Ctrl+O** and type a folder). **Enter** opens, **R** renames,
   **D** / **Delete** deletes (asks first), **X** exports (JSON, or CSV of
   partitions).

## Keys everywhere

| key | action |
| --- | --- |
| F1, ? | this help |
| F2 .. F7 | go to a screen |
| Ctrl+P | command palette |
| Ctrl+Q | quit |

Colours are optional: set `NO_COLOR=1`; markers and text carry the meaning
(`[x]` ticks, `!` problems, `#` bars, chart markers named under each chart).
No data? `ppipe-tui --demo` uses three small made-up models.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box") as box:
            box.border_title = "Help (Escape closes; arrows scroll)"
            with VerticalScroll(id="help-scroll"):
                yield Markdown(HELP, id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.app.pop_screen()
