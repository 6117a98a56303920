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
from ppipe_tui.screens.size import SizeScreen
from ppipe_tui.screens.solve import SolveScreen
from ppipe_tui.screens.sweep import SweepScreen

SCREENS: tuple[ScreenSpec, ...] = (
    ScreenSpec(
        "setup", "f2", "Set-up", SetupScreen,
        "type to search the models, **Up** / **Down** pick one, **Enter** ticks or unticks it (in the list "
        "itself: **Space** or Enter); `G1`..`G6` lists a group of the paper, the *group* box ticks all three. "
        "Pick a cluster preset (HC1..HC4) or type GPU counts, MPS levels and GPUs per server for any catalog "
        "type (**Up** / **Down** move between rows of the GPU mix; **Ctrl+N** adds a type the catalog lacks, "
        "given a folder of profiles with its latencies); weights "
        "(`1,1,1`, `maf19`), SLO multiplier and discount, max partitions, scheduler, solver and time limit. "
        "A problem is marked `!` at its field and said whole under it. **Ctrl+R** solves, **Ctrl+T** solves NP, DART-r and PPipe "
        "side by side.",
        short="Setup", summary="Choose models, GPU mix and settings"),
    ScreenSpec(
        "solve", "f3", "Solve", SolveScreen,
        "incumbent, best bound, gap and elapsed time, live. **Escape** cancels and keeps the best plan found "
        "so far. **Enter** opens the highlighted result.",
        summary="Incumbent, bound and gap of the running solves"),
    ScreenSpec(
        "plan", "f4", "Plan", PlanScreen,
        "model > pipeline > partition; move the cursor for details (latency budget against the SLO). "
        "**Ctrl+S** saves the plan, **S** simulates the highlighted model. A line over the tree says which "
        "GPUs the plan leaves idle and why (an SLO no model meets on that type, or the max-min objective); "
        "**F** (Fill) solves again and gives them to the models, as `ppipe solve --fill` does.",
        summary="The current plan as a tree"),
    ScreenSpec(
        "sim", "f5", "Simulate", SimScreen,
        "choose model, load factor (% of the plan's throughput) or a load in req/s, seed. **Ctrl+R** starts, "
        "**Space** pauses, **+** / **-** change speed, **Escape** stops. The charts: SLO attainment over the "
        "last second (line) and over the whole run so far (dots) against the 99% target; latency p99 (line) and p50 (dots) "
        "against the SLO; requests queued at the balancer (line) and batches queued at the workers (dots).",
        short="Sim", summary="Run a model of the plan under load"),
    ScreenSpec(
        "sweep", "f6", "Sweep", SweepScreen,
        "SLO attainment against load factor for the NP, DART-r and PPipe plans of the same setting. "
        "**Ctrl+R** runs, **Escape** stops.",
        summary="Load-factor sweep: attainment vs load for NP, DART-r and PPipe"),
    ScreenSpec(
        "files", "f7", "Saved plans", FilesScreen,
        "plans in `saved_plans/` (or any folder, artifact plans too: **Ctrl+O** and type a folder). Typing "
        "filters the list (words of names, models, scheduler, GPUs; **Escape** clears), **Up** / **Down** move, "
        "**Enter** opens, **Ctrl+R** renames, **Ctrl+D** deletes (asks first), **Ctrl+E** exports (JSON, or "
        "CSV of partitions); the buttons under the list do the same. A file that cannot be read is marked "
        "`bad`, with its problem in the preview.",
        short="Files", summary="Browse, open, rename, delete, export plan files"),
    ScreenSpec(
        "size", "f8", "Size", SizeScreen,
        "the cheapest GPUs to add (or fleet to build) so every model serves its target: rates per model "
        "(or weights and a total), GPUs owned, types to buy (`no`, `any` or the most) at catalog or typed "
        "$/h, a headroom. **Ctrl+R** sizes with PPipe, NP and NP on the cheapest single type side by side; "
        "**Ctrl+T** draws $/h against load; **Escape** cancels; **Enter** opens a fleet's plan on F4; on a "
        "small terminal **Ctrl+O** switches between the form and the results. "
        "Partitions, SLO and network come from the set-up.",
        summary="Cheapest fleet for target rates, with the GPUs you own"),
)


def screen_spec(mode: str) -> ScreenSpec:
    for spec in SCREENS:
        if spec.mode == mode:
            return spec
    raise KeyError(f"no screen for mode {mode!r}")
