"""ppipe-tui, issue 12's leftovers: the GPU mix as a grid, every catalog type, validation
messages shown whole at 80, 120 and 200 columns, F7's filter with commands on modifier
keys, keys typed at the first paint, the palette over dialogs, idle GPUs and Fill."""

from __future__ import annotations

import math
import os
import re
import threading
from pathlib import Path

import pytest

pytest.importorskip("textual")

from tui_helpers import (  # noqa: E402
    make_app,
    press,
    screen_text,
    settle,
    type_text,
    wait_for,
    wait_mode,
    wait_screen,
    write_demo_plans,
)

from ppipe.catalog.gpus import GpuCatalog  # noqa: E402
from ppipe.planning.problem import ClusterSpec, build_problem  # noqa: E402
from ppipe.profiles.store import ProfileStore  # noqa: E402
from ppipe_tui.messages import SavePlan  # noqa: E402
from ppipe_tui.screens.dialogs import ErrorDialog, InputDialog  # noqa: E402
from ppipe_tui.screens.files import FilesScreen  # noqa: E402
from ppipe_tui.state import PlanEntry, SolveRequest, SolveRun, idle_reason  # noqa: E402


def region_text(app, widget) -> str:
    """What the screen shows inside ``widget``'s region, its lines joined by spaces."""
    r = widget.region
    lines = screen_text(app).splitlines()
    rows = [lines[y][r.x:r.x + r.width] if y < len(lines) else "" for y in range(r.y, r.y + r.height)]
    return re.sub(r"\s+", " ", " ".join(rows)).strip()


# ------------------------------------------------------------- the GPU mix

async def test_gpu_mix_is_a_grid_with_every_catalog_type_and_wide_counts(demo_data, tmp_path):
    catalog = GpuCatalog.load()
    app = make_app(demo_data, tmp_path, catalog=catalog)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_mode(pilot, app, "setup", 20)
        scr = app.screen
        rows = [r for r in scr.query(".gpu-row")]
        assert len(rows) == len(list(catalog)) >= 8  # every catalog type, not only the paper's two
        first = scr.query_one("#gpu-V100-count")
        first.focus()
        await type_text(pilot, "100000")
        await press(pilot, "down")
        assert app.focused.id == "gpu-L4-count"  # Up / Down move in the column
        await press(pilot, "down", "down", "up")
        assert app.focused.id == "gpu-A10-count"
        app.focused.screen.query_one("#gpu-L4-mps").focus()
        await press(pilot, "down")
        assert app.focused.id == "gpu-A10-mps"
        assert app.session.form.gpus["V100"].count == "100000"
        assert await wait_for(pilot, lambda: "V100   100000" in screen_text(app), 10), screen_text(app)


# ------------------------------------------------------ whole messages

WEIGHTS_MSG = "! malformed weights 'x,y': expected numbers like 0.3,0.33,0.37 or maf19"


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_validation_messages_are_shown_whole(demo_data, tmp_path, size):
    app = make_app(demo_data, tmp_path)
    async with app.run_test(size=size) as pilot:
        assert await wait_for(pilot, lambda: app.session.models is not None, 20)
        await type_text(pilot, "alpha")
        await press(pilot, "enter")
        scr = app.screen
        for key, text in (("weights", "x,y"), ("max_parts", "x")):
            scr.query_one(f"#in-{key}").focus()
            await press(pilot, "ctrl+shift+a")
            await type_text(pilot, text)
        scr.query_one("#gpu-T4-count").focus()
        await press(pilot, "ctrl+shift+a")
        await type_text(pilot, "lots")
        for widget, msg in ((scr.query_one("#field-weights .field-error"), WEIGHTS_MSG),
                            (scr.query_one("#field-max_parts .field-error"), "! max partitions: a whole number"),
                            (scr.query_one("#err-gpu-T4"), "! T4 count: a whole number")):
            widget.scroll_visible(animate=False)
            assert await wait_for(pilot, lambda w=widget, m=msg: region_text(app, w) == m, 10), \
                (region_text(app, widget), screen_text(app))


# ------------------------------------------------------------- F7

async def test_f7_filter_letters_never_run_commands(demo_data, tmp_path):
    plans = tmp_path / "plans"
    write_demo_plans(plans)
    (plans / "rtm-notes.json").write_text("[]")
    app = make_app(demo_data, plans)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f7")
        assert await wait_mode(pilot, app, "files", 20)
        scr = app.screen
        assert len(scr.files) == 3
        await type_text(pilot, "/rtm")
        assert isinstance(app.screen, FilesScreen)  # no Rename dialog
        assert [p.name for p in scr.files] == ["rtm-notes.json"]
        await press(pilot, "escape")  # clears the filter
        assert len(scr.files) == 3
        scr.query_one("#files-table").focus()
        await type_text(pilot, "bl")  # letters typed in the list go to the filter
        assert app.focused.id == "files-filter" and scr.query_one("#files-filter").value == "bl"
        assert [p.name for p in scr.files] == [p.name for p in sorted(plans.glob("*_bl.json"))]
        assert "1 of 3" in screen_text(app)
        await press(pilot, "ctrl+r")  # the command is a modifier key
        assert await wait_screen(pilot, app, InputDialog, 10)
        await press(pilot, "escape")


# ------------------------------------------------------------- first paint

@pytest.mark.parametrize("typed,model", [("beta", "beta-det"), ("wide", "wide_resnet101_2")])
async def test_keys_typed_before_the_models_load_are_kept(demo_data, tmp_path, monkeypatch, typed, model):
    import ppipe_tui.app as app_module

    data = demo_data
    if model == "wide_resnet101_2":
        art = os.environ.get("PPIPE_ARTIFACT")
        if not art or not (Path(art) / "models").exists():
            pytest.skip("needs PPIPE_ARTIFACT")
        data = Path(art)
    release = threading.Event()
    real = app_module.load_model_info

    def slow(store):
        release.wait(30)
        return real(store)

    monkeypatch.setattr(app_module, "load_model_info", slow)
    app = make_app(data, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, typed)  # at the first paint: the models are still loading
        await press(pilot, "enter")
        assert app.session.models is None
        release.set()
        assert await wait_for(pilot, lambda: app.session.form.models == [model], 30), app.session.form.models
        assert app.screen.query_one("#model-search").value == ""


# ------------------------------------------------------------- palette

def _app_on_a_plan(demo_data, tmp_path):
    """The app opened on a saved demo PPipe plan (it starts on F4)."""
    plans = write_demo_plans(tmp_path / "plans")
    return make_app(demo_data, tmp_path / "plans", plan=plans["ppipe"])


async def test_palette_never_opens_over_a_dialog_and_save_never_stacks(demo_data, tmp_path):
    from textual.command import CommandPalette

    app = _app_on_a_plan(demo_data, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_mode(pilot, app, "plan", 20)
        await press(pilot, "ctrl+s")
        assert await wait_screen(pilot, app, InputDialog, 10)
        await press(pilot, "ctrl+p")
        assert not CommandPalette.is_open(app) and isinstance(app.screen, InputDialog)
        app.post_message(SavePlan())  # e.g. from the palette's "Save plan"
        await press(pilot, "ctrl+s")
        assert sum(isinstance(s, InputDialog) for s in app.screen_stack) == 1
        await press(pilot, "escape")
        app.push_screen(ErrorDialog("x", "y"))
        assert await wait_screen(pilot, app, ErrorDialog, 10)
        await press(pilot, "ctrl+p")
        assert not CommandPalette.is_open(app)
        await press(pilot, "escape")
        await press(pilot, "ctrl+p")
        assert await wait_for(pilot, lambda: CommandPalette.is_open(app), 10)


# ------------------------------------------------------------- idle GPUs

def _solved(store, mult: float, t4: int) -> PlanEntry:
    from ppipe.planning.solve import solve

    profs = [store.get("alpha-net"), store.get("beta-det")]
    problem = build_problem(profs, ClusterSpec(("L4", "T4"), (2, t4), (4, 4), (4, 2), 10.0), [1, 1],
                            slo_multiplier=mult)
    run = SolveRun("ppipe", SolveRequest(problem, ("ppipe",), "highs", 60.0))
    run.result = solve(problem, "ppipe")
    return PlanEntry.from_result(run, store)


def test_idle_reason_tells_an_slo_from_the_max_min_objective(demo_data):
    store = ProfileStore.open(demo_data)
    slo = idle_reason(_solved(store, 2.0, 8), store)
    assert slo is not None and "8 T4: no model meets its SLO" in slo, slo
    entry = _solved(store, 4.0, 40)
    maxmin = idle_reason(entry, store)
    # which T4s stay idle is the solver's choice among optima; the note counts them
    idle = 40 - math.ceil(entry.plan.gpus_used().get("T4", 0) - 1e-9)
    assert idle > 0
    assert maxmin is not None and f"{idle} T4: the max-min objective" in maxmin and "Fill (F)" in maxmin, maxmin
    assert "also need L4, all in use" in maxmin  # no pipeline of T4 alone meets an SLO


async def test_fill_hands_idle_gpus_to_the_models(demo_data, tmp_path):
    app = make_app(demo_data, tmp_path)
    store = app.session.store
    entry = _solved(store, 4.0, 40)
    used = entry.plan.gpus_used()["T4"]
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_mode(pilot, app, "setup", 20)
        app.session.set_current(entry)
        await press(pilot, "f4")
        assert await wait_mode(pilot, app, "plan", 20)
        assert await wait_for(pilot, lambda: "the max-min objective" in screen_text(app), 10), screen_text(app)
        await press(pilot, "f")
        assert await wait_for(pilot, lambda: app.session.runs and not app.session.solving, 120)
        assert await wait_for(pilot, lambda: app.session.current is not entry and app.current_mode == "plan", 30)
        filled = app.session.current
        assert filled.problem.fill_leftover
        assert filled.plan.gpus_used()["T4"] > used
        assert filled.objective == pytest.approx(entry.objective, rel=1e-6)  # the max-min optimum is kept
        assert await wait_for(pilot, lambda: "stay idle after Fill" in screen_text(app), 10), screen_text(app)


# ------------------------------------------------- odd input (the session-20 audit): never a crash

def _notes(app) -> list[str]:
    """Every notification the app shows from now on (they are toasts, not in the screen text)."""
    notes: list[str] = []
    shown = app.notify

    def notify(message, *args, **kwargs):
        notes.append(str(message))
        return shown(message, *args, **kwargs)

    app.notify = notify
    return notes


async def test_fill_refuses_a_bad_time_limit(demo_data, tmp_path):
    app = make_app(demo_data, tmp_path)
    entry = _solved(app.session.store, 4.0, 40)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_mode(pilot, app, "setup", 20)
        app.session.form.time_limit = "-5"
        app.session.set_current(entry)
        await press(pilot, "f4")
        assert await wait_mode(pilot, app, "plan", 20)
        runs, notes = len(app.session.runs), _notes(app)
        await press(pilot, "f")
        assert await wait_for(pilot, lambda: any("Fix the set-up" in n for n in notes), 10), notes
        assert len(app.session.runs) == runs and not app.session.solving


@pytest.mark.parametrize("name", [".", "/", "~ppipe_no_such_user_x/p.json"])
async def test_save_as_a_name_that_is_no_file_is_an_error_dialog(demo_data, tmp_path, name):
    from textual.widgets import Input

    app = _app_on_a_plan(demo_data, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_mode(pilot, app, "plan", 20)
        await press(pilot, "ctrl+s")
        assert await wait_screen(pilot, app, InputDialog, 10)
        app.screen.query_one(Input).value = name
        await press(pilot, "enter")
        assert await wait_screen(pilot, app, ErrorDialog, 10)
        assert "Cannot save plan" in screen_text(app)
        assert app.is_running


async def test_f7_folder_of_an_unknown_user_is_an_error_dialog(demo_data, tmp_path):
    from textual.widgets import Input

    write_demo_plans(tmp_path / "plans")
    app = make_app(demo_data, tmp_path / "plans")
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f7")
        assert await wait_mode(pilot, app, "files", 20)
        await press(pilot, "ctrl+o")
        app.screen.query_one("#files-dir", Input).value = "~ppipe_no_such_user_x/plans"
        await press(pilot, "enter")
        assert await wait_screen(pilot, app, ErrorDialog, 10)
        assert "cannot expand" in screen_text(app) and app.is_running


@pytest.mark.parametrize("screen_key,field", [("f5", "#sim-seed"), ("f6", "#sweep-seed")])
async def test_a_negative_seed_is_refused_before_the_run(demo_data, tmp_path, screen_key, field):
    from textual.widgets import Input

    app = _app_on_a_plan(demo_data, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_mode(pilot, app, "plan", 20)
        await press(pilot, screen_key)
        assert await wait_mode(pilot, app, "sim" if screen_key == "f5" else "sweep", 20)
        app.screen.query_one(field, Input).value = "-1"
        notes = _notes(app)
        await press(pilot, "ctrl+r")
        assert await wait_for(pilot, lambda: any("seed: a whole number >= 0" in n for n in notes), 10), notes
        assert app.screen.state not in ("running",)


async def test_gpu_use_box_shows_every_figure_whole_at_80_columns(demo_data, tmp_path):
    """At 80x24 the GPU-use box widens to its figures: a 5-letter type name, a 4-digit
    limit and a type used to 100% are shown whole, not behind a horizontal scroll."""
    from types import SimpleNamespace

    from ppipe_tui.widgets.plan import GpuUseTable

    app = _app_on_a_plan(demo_data, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_mode(pilot, app, "plan", 20)
        table = app.screen.query_one(GpuUseTable)
        used = {"A100X": 250.0, "T4": 45.0, "L40S": 3.0}
        limits = {"A100X": 1000, "T4": 45, "L40S": 12}
        table.show(SimpleNamespace(plan=SimpleNamespace(gpus_used=lambda: used), limits=limits))
        await settle(pilot)  # the table sizes itself on its own idle, which pinging it runs
        figures = ("A100X", "250/1000", "45/45", "100%")
        assert await wait_for(pilot, lambda: all(f in region_text(app, table) for f in figures), 10), (
            region_text(app, table))
        assert table.virtual_size.width <= table.size.width, (table.virtual_size, table.size)
