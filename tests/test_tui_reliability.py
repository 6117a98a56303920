"""ppipe-tui against corrupt plan files (issue 13): F7 over a folder of them, opening each,
the rename cases, and ``ppipe-tui BADPLAN`` at start-up. Never a traceback, never a crash:
an error row, an error dialog, or one line and exit 2 before the app starts."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("textual")

from tui_helpers import (  # noqa: E402
    CORRUPT_PLANS,
    press,
    screen_text,
    type_text,
    wait_for,
    wait_mode,
    wait_screen,
    write_corrupt_plans,
)

from ppipe.errors import DataError  # noqa: E402
from ppipe_tui.app import PPipeApp, main  # noqa: E402
from ppipe_tui.screens.dialogs import ConfirmDialog, ErrorDialog, InputDialog  # noqa: E402
from ppipe_tui.state import Session, load_plan  # noqa: E402

BAD = sorted(CORRUPT_PLANS)


@pytest.fixture
def corrupt(tmp_path) -> Path:
    folder = tmp_path / "plans"
    write_corrupt_plans(folder)
    return folder


@pytest.mark.parametrize("name", BAD)
def test_every_corrupt_plan_is_one_error_naming_the_file(corrupt, name):
    with pytest.raises(DataError) as err:
        load_plan(corrupt / name)
    msg = str(err.value)
    assert name in msg and "\n" not in msg and len(msg) < 400, msg
    assert load_plan(corrupt / "good.json").models


async def test_f7_over_corrupt_plans_shows_errors_and_keeps_running(demo_data, corrupt):
    app = PPipeApp(Session(str(demo_data), corrupt))
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "f7")
        assert await wait_mode(pilot, app, "files", 20)
        scr = app.screen
        names = [p.name for p in scr.files]
        assert names == sorted(BAD + ["good.json"]), names
        # move over each: the preview says what is wrong; Enter opens an error dialog
        for i, name in enumerate(names):
            assert scr.current_file().name == name
            text = screen_text(app)
            if name != "good.json":
                assert "! cannot be read" in text and name in text, text
                await press(pilot, "enter")
                assert await wait_screen(pilot, app, ErrorDialog, 10), name
                assert "Cannot open plan" in screen_text(app)
                await press(pilot, "escape")
                assert await wait_for(pilot, lambda: app.screen is scr, 10)
            if i < len(names) - 1:
                await press(pilot, "down")
        assert app.is_running

        # the rename cases, on a broken entry (the symlink loop)
        scr.query_one("#files-filter").value = "loop"
        assert await wait_for(pilot, lambda: [p.name for p in scr.files] == ["loop.json"], 10)
        await press(pilot, "ctrl+r")
        assert await wait_screen(pilot, app, InputDialog, 10)
        for bad_name in ("sub/renamed", "..", ".hidden"):
            await press(pilot, "ctrl+shift+a")
            await type_text(pilot, bad_name)
            await press(pilot, "enter")
            assert isinstance(app.screen, InputDialog), bad_name  # refused in the dialog
            assert await wait_for(pilot, lambda: "! " in str(app.screen.query_one("#dialog-error").render()), 5)
        await press(pilot, "ctrl+shift+a")
        await type_text(pilot, "good")  # exists already
        await press(pilot, "enter")
        assert await wait_screen(pilot, app, ErrorDialog, 10)
        assert "exists already" in screen_text(app)
        await press(pilot, "escape")
        assert await wait_for(pilot, lambda: app.screen is scr, 10)
        await press(pilot, "ctrl+r")
        assert await wait_screen(pilot, app, InputDialog, 10)
        await press(pilot, "ctrl+shift+a")
        await type_text(pilot, "loop-renamed")
        await press(pilot, "enter")
        assert await wait_for(pilot, lambda: (corrupt / "loop-renamed.json").is_symlink(), 10)
        # delete a directory and export a broken plan: error dialogs
        scr.query_one("#files-filter").value = "x.json"
        assert await wait_for(pilot, lambda: [p.name for p in scr.files] == ["x.json"], 10)
        await press(pilot, "ctrl+d")
        assert await wait_screen(pilot, app, ConfirmDialog, 10)
        await press(pilot, "y")
        assert await wait_screen(pilot, app, ErrorDialog, 10)
        assert "cannot delete x.json" in screen_text(app)
        await press(pilot, "escape")
        assert await wait_for(pilot, lambda: app.screen is scr, 10)
        await press(pilot, "ctrl+e")
        assert await wait_screen(pilot, app, InputDialog, 10)
        await press(pilot, "enter")
        assert await wait_screen(pilot, app, ErrorDialog, 10)
        await press(pilot, "escape")
        assert app.is_running and (corrupt / "x.json").is_dir()
        assert not app.session.failures
        await press(pilot, "ctrl+q")
    assert app.return_code == 0 and app.crash_log is None


@pytest.mark.parametrize("name", ["deep.json", "loop.json", "x.json", "nan.json", "fast.json", "binary.json",
                                  "missing.json"])
def test_bad_plan_at_start_up_is_one_line_and_exit_2(demo_data, corrupt, name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--data", str(demo_data), "--plans", str(corrupt), str(corrupt / name)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ppipe-tui: error:") and "Traceback" not in err, err


async def test_a_bad_plan_given_to_the_app_is_an_error_dialog(demo_data, corrupt):
    app = PPipeApp(Session(str(demo_data), corrupt), plan=corrupt / "deep.json")
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_screen(pilot, app, ErrorDialog, 20)
        assert "nested too deeply" in screen_text(app).replace("\n", " ")
        await press(pilot, "escape")
        assert app.is_running
