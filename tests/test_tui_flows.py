"""ppipe-tui driven with keys only (Textual pilot): set-up -> solve -> plan -> simulate -> save ->
reopen, comparison and sweep, cancel mid-solve, error dialogs, responsiveness under load."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

pytest.importorskip("textual")

from tui_helpers import (  # noqa: E402
    PROMPT_S,
    choose_models,
    make_app,
    press,
    screen_text,
    settle,
    tab_to,
    type_text,
    wait_for,
    wait_mode,
    wait_screen,
    write_demo_plans,
)

from ppipe_tui.app import main  # noqa: E402
from ppipe_tui.screens.dialogs import ErrorDialog  # noqa: E402
from ppipe_tui.screens.help import HelpScreen  # noqa: E402


def keep_the_solve_slow(monkeypatch) -> None:
    """No pool relaxation beside the MILP: it could prove the optimum early, and these tests
    need a solve that is still running."""
    import ppipe.planning.planner as planner

    monkeypatch.setattr(planner, "POOL_RELAXATION", False)


def keep_solving_until_cancelled(monkeypatch) -> None:
    """Each solve runs for real (HiGHS at work on a thread), then its run stays open until it is
    cancelled: a test that needs a solve in progress does not depend on how fast HiGHS is (the
    demo's three-partition solve takes 6.5 s here; a faster machine would end it sooner)."""
    import ppipe_tui.app as tui_app

    real = tui_app.run_solve

    def held(request, scheduler, cancel, on_progress):
        res = real(request, scheduler, cancel, on_progress)
        cancel.wait()
        return res

    monkeypatch.setattr(tui_app, "run_solve", held)


async def start_slow_solve(pilot, app) -> None:
    """Three demo models with 3 partitions: about 6 s of HiGHS here, its first plan after
    0.6 s (with :func:`keep_the_solve_slow`)."""
    await choose_models(pilot, app, "a", 3)
    await tab_to(pilot, app, "in-max_parts")
    await press(pilot, "3")
    assert app.session.form.max_parts == "3"
    await press(pilot, "ctrl+r")
    assert await wait_mode(pilot, app, "solve", 10) and app.session.solving


# ------------------------------------------------------------------ flows

async def test_setup_solve_plan_simulate_save_reopen(demo_data, plans_dir):
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await choose_models(pilot, app, "alpha", 1)
        assert app.session.form.models == ["alpha-net"]
        await press(pilot, "ctrl+r")
        assert await wait_mode(pilot, app, "plan", 60), screen_text(app)
        entry = app.session.current
        assert entry is not None and entry.status == "optimal" and entry.scheduler == "ppipe"
        text = screen_text(app)
        assert "alpha-net" in text and "GPU use" in text

        # plan tree: walk down to a partition, the details follow the cursor
        await press(pilot, "down", "down", "down")
        assert "latency budget" in str(app.screen.query_one("#plan-details").render())

        # simulate the model: S starts it at once (default settings); stop it, then a short run
        await press(pilot, "s")
        assert app.current_mode == "sim"
        assert await wait_for(pilot, lambda: app.screen.state in ("starting", "running", "finished"), 10)
        await press(pilot, "escape")
        app.screen.query_one("#sim-lf").focus()  # selects its text: typing replaces it
        await settle(pilot)
        await type_text(pilot, "50")
        assert app.screen.query_one("#sim-lf").value == "50"
        await tab_to(pilot, app, "sim-duration")
        await type_text(pilot, "3")
        await press(pilot, "ctrl+r")
        sim = app.screen
        assert app.focused.id == "sim-charts"
        await press(pilot, *["plus"] * 6)
        assert sim.control.speed is None
        assert await wait_for(pilot, lambda: sim.state == "finished", 60), screen_text(app)
        assert sim.frame.result.requests > 0
        assert "attainment" in screen_text(app)

        # save from the plan screen
        await press(pilot, "f4", "ctrl+s")
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "InputDialog", 5)
        await press(pilot, "enter")
        assert await wait_for(pilot, lambda: entry.path is not None, 5)
        saved = entry.path
        assert saved.parent == plans_dir and saved.exists()
        assert json.loads(saved.read_text())[0]["config"]["dnn_name"] == "alpha-net"

        # browse and reopen it
        await press(pilot, "f7")
        assert app.current_mode == "files"
        assert saved.name[:20] in screen_text(app)
        app.session.current = None
        await press(pilot, "enter")
        assert await wait_mode(pilot, app, "plan", 5)
        assert app.session.current.path == saved
        assert saved.name[:20] in screen_text(app)


async def test_compare_then_sweep(demo_data, plans_dir):
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_models(pilot, app, "alpha", 1)
        await press(pilot, "ctrl+t")
        assert await wait_for(pilot, lambda: app.session.runs and not app.session.solving, 60)
        assert [r.scheduler for r in app.session.runs] == ["np", "dart-r", "ppipe"]
        assert all(r.result.plan is not None for r in app.session.runs)
        assert app.current_mode == "solve"
        text = screen_text(app)
        for label in ("NP", "DART-r", "PPipe"):
            assert label in text
        # the highlighted result opens with Enter
        await press(pilot, "enter")
        assert await wait_mode(pilot, app, "plan", 5)
        assert app.session.current.scheduler == "np"

        await press(pilot, "f6")
        scr = app.screen
        assert set(app.session.comparison()) == {"np", "dart-r", "ppipe"}
        await tab_to(pilot, app, "sweep-grid")
        await type_text(pilot, "40,80")
        await tab_to(pilot, app, "sweep-duration")
        await type_text(pilot, "2")
        await press(pilot, "ctrl+r")
        assert await wait_for(pilot, lambda: scr.state == "done", 60), screen_text(app)
        assert {s: len(c.points) for s, c in scr.curves.items()} == {"np": 2, "dart-r": 2, "ppipe": 2}
        assert "lf99" in screen_text(app)


async def test_cancel_mid_solve_keeps_best_plan(demo_data, plans_dir, monkeypatch):
    keep_the_solve_slow(monkeypatch)
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_slow_solve(pilot, app)
        run = app.session.runs[0]
        assert await wait_for(pilot, lambda: run.incumbent is not None, 30), screen_text(app)
        t0 = time.monotonic()
        await press(pilot, "escape")
        assert await wait_for(pilot, lambda: run.finished, 15)
        assert time.monotonic() - t0 < 15
        assert run.result.status == "cancelled"
        assert run.result.plan is not None
        assert await wait_mode(pilot, app, "plan", 5)
        assert app.session.current.status == "cancelled"
        assert "cancelled" in screen_text(app)


async def test_solver_error_shows_dialog_and_app_keeps_running(demo_data, plans_dir, monkeypatch):
    import ppipe.planning.solve
    from ppipe.errors import SolverError

    def boom(*a, **k):
        raise SolverError("HiGHS failed: simulated crash")

    monkeypatch.setattr(ppipe.planning.solve, "solve", boom)
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await choose_models(pilot, app, "alpha", 1)
        await press(pilot, "ctrl+r")
        assert await wait_screen(pilot, app, ErrorDialog, 10)
        assert "simulated crash" in screen_text(app)
        await press(pilot, "enter")
        assert not isinstance(app.screen, ErrorDialog)
        assert app.is_running
        # the next solve works again
        monkeypatch.undo()
        await press(pilot, "f2", "ctrl+r")
        assert await wait_mode(pilot, app, "plan", 60)


async def test_corrupt_plan_file_shows_dialog(demo_data, plans_dir):
    bad = plans_dir / "broken.json"
    bad.write_text("[{\"config\": ")
    (plans_dir / "wrong-shape.json").write_text(json.dumps({"not": "a plan"}))
    app = make_app(demo_data, plans_dir, plan=bad)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_screen(pilot, app, ErrorDialog, 5)
        assert "not valid JSON" in screen_text(app)
        await press(pilot, "escape")
        await press(pilot, "f7")
        assert "bad" in screen_text(app)  # the models column flags unreadable files
        await press(pilot, "enter")
        assert await wait_screen(pilot, app, ErrorDialog, 5)
        await press(pilot, "enter")
        await press(pilot, "down", "enter")
        assert await wait_screen(pilot, app, ErrorDialog, 5)
        assert "non-empty JSON list" in screen_text(app)
        await press(pilot, "enter")
        assert app.is_running and app.session.current is None


async def test_keypress_handled_while_solving_and_simulating(demo_data, plans_dir, monkeypatch):
    """Every key is handled, in order, while a solve and a live simulation both run. How
    fast (the 100 ms target) is measured by ``bench/bench_tui_latency.py``, not here: a
    tight timed assertion fails whenever the machine is busy (CI saw one key at 0.69 s)."""
    keep_the_solve_slow(monkeypatch)
    keep_solving_until_cancelled(monkeypatch)
    plans = write_demo_plans(plans_dir)
    app = make_app(demo_data, plans_dir, plan=plans["ppipe"])
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.session.current is not None, 5)
        await press(pilot, "f2")
        await start_slow_solve(pilot, app)
        await press(pilot, "f5")
        sim = app.screen
        await tab_to(pilot, app, "sim-duration")
        await type_text(pilot, "60")
        await press(pilot, "ctrl+r", "minus", "minus")  # 1x: it keeps running
        assert await wait_for(pilot, lambda: sim.state == "running", 30)
        assert app.session.solving
        speed = sim.control.speed_index
        for key in ("plus", "minus", "f1", "escape", "plus", "minus", "f1", "escape", "plus", "minus"):
            t0 = time.perf_counter()
            await press(pilot, key)
            # handled by the time press() returns: its action ran, its effect shows, and
            # nothing blocked the event loop meanwhile (PROMPT_S: headroom for a busy machine)
            if key != "escape":  # escape closes help: not an app action
                assert t0 < app.last_action_at < t0 + PROMPT_S, (key, app.last_action_at - t0)
            assert isinstance(app.screen, HelpScreen) == (key == "f1")
            speed += {"plus": 1, "minus": -1}.get(key, 0)
            assert sim.control.speed_index == speed, key
            await asyncio.sleep(0.15)  # let a few frames draw in between
        assert sim.state == "running" and app.session.solving
        await press(pilot, "escape")  # stop the simulation
        await press(pilot, "f3", "escape")  # cancel the solve
        assert await wait_for(pilot, lambda: not app.session.solving, 15)


async def test_invalid_values_are_flagged_in_place(demo_data, plans_dir):
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await choose_models(pilot, app, "alpha", 1)
        await tab_to(pilot, app, "in-weights")
        await type_text(pilot, "1,2")
        await tab_to(pilot, app, "in-slo_multiplier")
        await type_text(pilot, "-1")
        scr = app.screen
        err = scr.query_one("#field-slo_multiplier .field-error").render()
        assert "SLO multiplier" in str(err)
        assert "2 weights for 1 models" in str(scr.query_one("#field-weights .field-error").render())
        await press(pilot, "ctrl+r")
        assert app.current_mode == "setup" and not app.session.runs
        # a GPU type the models have no profile for
        await tab_to(pilot, app, "gpu-V100-count")
        await type_text(pilot, "4")
        assert "no profile" in str(scr.query_one("#err-gpus").render())
        assert app.session.form.preset == "custom"


async def test_files_rename_export_delete(demo_data, plans_dir):
    plans = write_demo_plans(plans_dir)
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "f7")
        scr = app.screen
        assert len(scr.files) == 2
        await press(pilot, "ctrl+r")  # commands are on modifier keys: letters filter
        await press(pilot, "ctrl+u")
        await type_text(pilot, "renamed")
        await press(pilot, "enter")
        target = plans_dir / "renamed.json"
        assert await wait_for(pilot, lambda: target.exists(), 5)
        assert scr.current_file() == target
        await press(pilot, "ctrl+e")
        await press(pilot, "ctrl+u")
        csv_path = plans_dir / "export.csv"
        await type_text(pilot, str(csv_path))
        await press(pilot, "enter")
        assert await wait_for(pilot, lambda: csv_path.exists(), 5)
        assert csv_path.read_text().startswith("model,")
        await press(pilot, "ctrl+d")
        await press(pilot, "n")  # cancel keeps it
        assert target.exists()
        await press(pilot, "ctrl+d", "y")
        assert await wait_for(pilot, lambda: not target.exists(), 5)
        assert len(scr.files) == 1
        assert plans["np"].exists() or plans["ppipe"].exists()


async def test_help_palette_and_no_color(demo_data, plans_dir, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color
        assert app.screen.has_class("-narrow")
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        assert "F2 Set-up" in screen_text(app) or "Set-up" in screen_text(app)
        await press(pilot, "escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for needle in ("Solve", "Compare", "Cancel solve", "Save plan", "Open plan file", "Start simulation",
                       "Pause", "faster", "slower", "Run sweep", "Rename", "Delete", "Export", "Help", "Quit"):
            assert any(needle in t for t in titles), needle
        await press(pilot, "ctrl+p")
        await type_text(pilot, "saved plans")
        await press(pilot, "enter")
        assert await wait_mode(pilot, app, "files", 5)
    wide = make_app(demo_data, plans_dir)
    async with wide.run_test(size=(120, 40)) as pilot:
        assert wide.screen.has_class("-wide")


async def test_one_table_drives_modes_keys_nav_palette_and_help(demo_data, plans_dir):
    from ppipe_tui.messages import GotoMode, ShowError
    from ppipe_tui.screens.table import SCREENS

    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_mode(pilot, app, "setup")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for spec in SCREENS:
            await press(pilot, spec.key)
            assert await wait_mode(pilot, app, spec.mode)
            assert type(app.screen) is spec.screen_class and app.mode_screen(spec.mode) is app.screen
            assert app.screen.session is app.session  # injected when the mode was made
            nav = screen_text(app).splitlines()[0]
            assert f"{spec.key_label} {spec.title}" in nav
            assert any(spec.title in t and spec.key_label in t for t in titles), spec.title
            for cmd in spec.screen_class.PALETTE:
                assert cmd.title in titles
        await press(pilot, "f1")
        assert await wait_screen(pilot, app, HelpScreen)
        for spec in SCREENS:
            assert f"**{spec.key_label} {spec.title}**" in app.screen.text
        await press(pilot, "escape")
        # a screen's requests reach the app as messages
        app.screen.post_message(GotoMode("plan"))
        assert await wait_mode(pilot, app, "plan")
        app.screen.post_message(ShowError("Test", "posted by a screen"))
        assert await wait_screen(pilot, app, ErrorDialog)
        assert "posted by a screen" in screen_text(app)


def test_main_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--data", str(tmp_path / "nowhere")])
    assert exc.value.code == 2
    assert "data directory not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "missing-plan.json")])
    assert exc.value.code == 2
