"""The screen table: one row per screen of the workflow, in F-key order.

The app reads it for its modes, the F-key bindings, the navigation bar, the
command palette and the help. Adding a screen is one row here plus its module
(the screen's own palette commands are its class's ``PALETTE``).
"""

from __future__ import annotations

from ppipe_tui.screens.base import ScreenSpec
from ppipe_tui.screens.files import FilesScreen
from ppipe_tui.screens.plan import PlanScreen
from ppipe_tui.screens.setup import SetupScreen
from ppipe_tui.screens.sim import SimScreen
from ppipe_tui.screens.solve import SolveScreen
from ppipe_tui.screens.sweep import SweepScreen

SCREENS: tuple[ScreenSpec, ...] = (
    ScreenSpec(
        "setup", "f2", "Set-up", SetupScreen,
        "type to search the models, **Up** / **Down** pick one, **Enter** ticks or unticks it (in the list "
        "itself: **Space** or Enter); `G1`..`G6` lists a group of the paper, the *group* box ticks all three. "
        "Pick a cluster preset (HC1..HC4) or type GPU counts, MPS levels and GPUs per server; weights "
        "(`1,1,1`, `maf19`), SLO multiplier and discount, max partitions, scheduler, solver and time limit. "
        "Problems are flagged beside each field. **Ctrl+R** solves, **Ctrl+T** solves NP, DART-r and PPipe "
        "side by side.",
        summary="Choose models, GPU mix and settings"),
    ScreenSpec(
        "solve", "f3", "Solve", SolveScreen,
        "incumbent, best bound, gap and elapsed time, live. **Escape** cancels and keeps the best plan found "
        "so far. **Enter** opens the highlighted result.",
        summary="Incumbent, bound and gap of the running solves"),
    ScreenSpec(
        "plan", "f4", "Plan", PlanScreen,
        "model > pipeline > partition; move the cursor for details (latency budget against the SLO). "
        "**Ctrl+S** saves the plan, **S** simulates the highlighted model.",
        summary="The current plan as a tree"),
    ScreenSpec(
        "sim", "f5", "Simulate", SimScreen,
        "choose model, load factor (% of the plan's throughput) or a load in req/s, seed. **Ctrl+R** starts, "
        "**Space** pauses, **+** / **-** change speed, **Escape** stops.",
        short="Sim", summary="Run a model of the plan under load"),
    ScreenSpec(
        "sweep", "f6", "Sweep", SweepScreen,
        "SLO attainment against load factor for the NP, DART-r and PPipe plans of the same setting. "
        "**Ctrl+R** runs, **Escape** stops.",
        summary="Load-factor sweep: attainment vs load for NP, DART-r and PPipe"),
    ScreenSpec(
        "files", "f7", "Saved plans", FilesScreen,
        "plans in `saved_plans/` (or any folder, artifact plans too: **Ctrl+O** and type a folder). **Enter** "
        "opens, **R** renames, **D** / **Delete** deletes (asks first), **X** exports (JSON, or CSV of "
        "partitions).",
        short="Files", summary="Browse, open, rename, delete, export plan files"),
)


def screen_spec(mode: str) -> ScreenSpec:
    for spec in SCREENS:
        if spec.mode == mode:
            return spec
    raise KeyError(f"no screen for mode {mode!r}")
