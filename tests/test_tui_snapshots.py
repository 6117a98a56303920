"""Text snapshots of the main screens at 80x24 (the SSH terminal) and 120x40.

Each screen is rendered headless, exported as plain text (no colour) and compared with a
golden file in tests/snapshots_tui/. Everything on screen comes from fixed inputs: the demo
profiles, hand-made demo plans, a fixed GPU catalog, fixed seeds, solve results with fixed
times, relative paths. Regenerate after an intended change with

    PPIPE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_tui_snapshots.py

and review the diff of the .txt files like any other change.

A snapshot is taken once the screen shows the data it is about (a few strings of the
golden, polled for with a generous deadline) and has stopped changing; never after a
fixed wait, so a loaded machine makes the test slower, not wrong.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

pytest.importorskip("textual")

from tui_helpers import demo_plan, press, stable_text, type_text, wait_for, wait_mode, wait_screen, write_demo_plans  # noqa: E402

from ppipe.catalog.gpus import GpuCatalog, GpuType  # noqa: E402
from ppipe.planning.milp import Progress  # noqa: E402
from ppipe.planning.problem import ClusterSpec, build_problem  # noqa: E402
from ppipe.planning.results import SolveResult  # noqa: E402
from ppipe.profiles.store import ProfileStore  # noqa: E402
from ppipe_tui.app import PPipeApp  # noqa: E402
from ppipe_tui.demo import write_demo_profiles  # noqa: E402
from ppipe_tui.screens.dialogs import ErrorDialog  # noqa: E402
from ppipe_tui.screens.help import HelpScreen  # noqa: E402
from ppipe_tui.state import PlanEntry, Session, SolveRequest, SolveRun  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "snapshots_tui"
UPDATE = os.environ.get("PPIPE_UPDATE_SNAPSHOTS") == "1"
SIZES = [(80, 24), (120, 40)]
#: Every screen shows the footer; a capture without it caught a frame before the footer drew.
FOOTER = "^p palette"


def fixed_catalog() -> GpuCatalog:
    return GpuCatalog([
        GpuType("L4", "high", 4, 4, 10.0, 30.3, 60.0, 121.0, 300.0, price_per_hour=0.8,
                price_source="fixed test price"),
        GpuType("T4", "low", 2, 4, 10.0, 8.1, 8.1, 65.0, 320.0, price_per_hour=0.5, price_source="fixed test price"),
    ])


class Snapshots:
    def __init__(self, size: tuple[int, int]):
        self.size = size
        self.failures: list[str] = []

    def check(self, name: str, text: str) -> None:
        path = GOLDEN / f"{name}-{self.size[0]}x{self.size[1]}.txt"
        if UPDATE:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        if not path.exists():
            self.failures.append(f"{path.name}: no golden (run with PPIPE_UPDATE_SNAPSHOTS=1)")
            return
        want = path.read_text()
        if want != text:
            diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True), "golden", "now"))
            self.failures.append(f"{path.name} differs:\n{diff}")


def fake_runs(store: ProfileStore) -> list[SolveRun]:
    """Finished solves with fixed numbers (the solve screen's goldens must not show real timings)."""
    profiles = [store.get("alpha-net"), store.get("beta-det")]
    problem = build_problem(profiles, ClusterSpec(("L4", "T4"), (6, 8), (4, 4), (4, 2), 10.0))
    request = SolveRequest(problem, ("np", "dart-r", "ppipe"), "highs", 60.0)
    runs = []
    for i, (sched, obj, bound, secs) in enumerate((("np", 420.0, 420.0, 0.4), ("dart-r", 410.5, None, 0.6),
                                                    ("ppipe", 483.9, 490.1, 2.5))):
        run = SolveRun(sched, request, id=900 + i)
        for t in range(1, 11):
            run.add_progress(Progress(obj * (0.8 + 0.02 * t), (bound or obj) * (1.3 - 0.03 * t), None, t * secs / 10))
        run.history = [(t * secs / 10, obj * (0.8 + 0.02 * t), (bound or obj) * (1.3 - 0.03 * t))
                       for t in range(1, 11)]
        plan = demo_plan("ppipe" if sched == "ppipe" else "np")
        run.result = SolveResult(status="optimal", objective=obj, bound=bound, gap=0.0 if bound else None, solve_seconds=secs,
                                 plan=plan, scheduler=sched, solver="highs")
        run.finished = True
        runs.append(run)
    return runs


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_screens_match_goldens(size, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = write_demo_profiles(tmp_path / "profiles")
    plans = write_demo_plans(Path("plans"))
    (Path("plans") / "broken.json").write_text("{ not json")
    session = Session(str(data), Path("plans"), catalog=fixed_catalog())
    app = PPipeApp(session, plan=plans["ppipe"])
    snap = Snapshots(size)
    async with app.run_test(size=size) as pilot:
        assert await wait_mode(pilot, app, "plan", 120)
        # plan: the tree, and a pipeline's latency budget
        await press(pilot, "down", "down")
        snap.check("plan", await stable_text(pilot, app, FOOTER, "alpha-net pipeline 0: L4 > T4", "latency budget",
                                             "GPU use"))

        # set-up with a model ticked
        await press(pilot, "f2")
        assert await wait_mode(pilot, app, "setup", 120)
        assert await wait_for(pilot, lambda: session.models is not None, 120)
        await type_text(pilot, "alpha")
        await press(pilot, "enter")
        snap.check("setup", await stable_text(pilot, app, FOOTER, "[x] alpha-net", "Time limit s   60"))

        # solve: three finished solves side by side
        session.runs = fake_runs(session.store)
        await press(pilot, "f3")
        assert await wait_mode(pilot, app, "solve", 120)
        snap.check("solve", await stable_text(pilot, app, FOOTER, "done: alpha-net, beta-det", "483.90", "NP: optimal"))

        # simulation of the PPipe demo plan at full speed, to the end
        session.set_current(PlanEntry.from_file(plans["ppipe"]))
        await press(pilot, "f5")
        assert await wait_mode(pilot, app, "sim", 120)
        sim = app.screen
        await press(pilot, "tab")  # model -> load factor
        await type_text(pilot, "90")
        while app.focused.id != "sim-duration":
            await press(pilot, "tab")
        await type_text(pilot, "4")
        await press(pilot, "ctrl+r", *["plus"] * 8)
        assert await wait_for(pilot, lambda: sim.state == "finished", 300)
        snap.check("sim", await stable_text(pilot, app, FOOTER, "finished, speed max", "GPU use: L4"))

        # sweep: PPipe and NP (sibling plan files) at two load factors
        await press(pilot, "f6")
        assert await wait_mode(pilot, app, "sweep", 120)
        sweep = app.screen
        await press(pilot, "tab")
        await type_text(pilot, "60,120")
        await press(pilot, "tab")
        await type_text(pilot, "2")
        await press(pilot, "ctrl+r")
        assert await wait_for(pilot, lambda: sweep.state == "done", 300)
        snap.check("sweep", await stable_text(pilot, app, FOOTER, "done: alpha-net, plans NP, PPipe", "120:98", "120:84"))

        # saved plans
        await press(pilot, "f7")
        assert await wait_mode(pilot, app, "files", 120)
        snap.check("files", await stable_text(pilot, app, FOOTER, "L4:6,T4:8", "broken.json", "bad", "- beta-det"))

        # a corrupt file opens as an error dialog
        await press(pilot, "down", "down")  # broken.json sorts last
        await press(pilot, "enter")
        assert await wait_screen(pilot, app, ErrorDialog)
        snap.check("error", await stable_text(pilot, app, FOOTER, "Error: Cannot open plan", "L4:6,T4:8",
                                              "cannot be read"))
        await press(pilot, "enter")
        # the files screen redraws its table when the dialog goes: let it settle (at 80x24 the
        # cursor on broken.json may scroll the L4:6,T4:8 row away, so wait for no text)
        assert await wait_for(pilot, lambda: app.screen is app.mode_screen("files"))
        await stable_text(pilot, app)

        # size: alpha-net (ticked on the set-up) at 300 req/s, L4 owned, T4 to buy; then cost vs load
        await press(pilot, "f8")
        assert await wait_mode(pilot, app, "size", 120)
        sizer = app.screen
        sizer.query_one("#in-rates").focus()
        await type_text(pilot, "300")
        sizer.query_one("#size-L4-own").focus()
        await type_text(pilot, "1")
        sizer.query_one("#in-sweep").focus()
        await type_text(pilot, "1,2,3")
        await press(pilot, "ctrl+r")
        assert await wait_for(pilot, lambda: sizer.size_run is not None and sizer.size_run.finished, 300)
        await press(pilot, "ctrl+t")
        assert await wait_for(pilot, lambda: sizer.sweep_run is not None and sizer.sweep_run.finished, 300)
        snap.check("size", await stable_text(pilot, app, FOOTER, "done: cost vs load, 3 of 3", "NP 1 type"))

        # help
        await press(pilot, "f1")
        assert await wait_screen(pilot, app, HelpScreen)
        behind = ("done: cost vs load",) if size[1] >= 40 else ()  # the Size screen shows around the help at 120x40
        snap.check("help", await stable_text(pilot, app, FOOTER, "The workflow", "1. F2 Set-up", *behind))
    assert not snap.failures, "\n\n".join(snap.failures)
