"""A GPU type the catalog lacks, added on the set-up with the profiles that have its
latencies (Ctrl+N): its row joins the GPU mix, its profiles the store, and a solve uses
it. Bad names, folders without its latencies and bad settings are refused in the dialog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("textual")

from tui_helpers import press, screen_text, type_text, wait_for, wait_mode, wait_screen  # noqa: E402

from ppipe.catalog.gpus import GpuCatalog, derived_gpu_type, save_user_gpu_type  # noqa: E402
from ppipe.errors import DataError  # noqa: E402
from ppipe_tui.app import PPipeApp  # noqa: E402
from ppipe_tui.demo import write_demo_profiles  # noqa: E402
from ppipe_tui.screens.dialogs import AddGpuTypeDialog  # noqa: E402
from ppipe_tui.state import Session  # noqa: E402

NEW = "X9"


def profiles_with_new_type(src: Path, dest: Path, model: str = "alpha-net") -> Path:
    """``model``'s demo profile with latencies for a type no catalog has (L4's, renamed)."""
    doc = json.loads((src / f"{model}.profile.json").read_text())
    doc["latency_us"][NEW] = doc["latency_us"]["L4"]
    if NEW not in doc.get("runtime_us", {}) and "L4" in doc.get("runtime_us", {}):
        doc["runtime_us"][NEW] = doc["runtime_us"]["L4"]
    dest.mkdir(parents=True, exist_ok=True)
    (dest / f"{model}.profile.json").write_text(json.dumps(doc))
    return dest


@pytest.fixture()
def folders(tmp_path) -> tuple[Path, Path]:
    demo = write_demo_profiles(tmp_path / "demo")
    return demo, profiles_with_new_type(demo, tmp_path / "x9")


def shown_error(dialog) -> str:
    """The dialog's error line, whole (the screen wraps it)."""
    return str(dialog.query_one("#dialog-error").render())


async def _fill(pilot, dialog, name: str, folder: str) -> None:
    dialog.query_one("#gpu-new-name").focus()
    await type_text(pilot, name)
    dialog.query_one("#gpu-new-profiles").focus()
    await type_text(pilot, folder)
    await press(pilot, "enter")


async def test_add_a_gpu_type_with_its_profiles_and_solve_on_it(folders, tmp_path):
    demo, x9 = folders
    session = Session(str(demo), tmp_path / "plans", catalog=GpuCatalog.load())
    app = PPipeApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_mode(pilot, app, "setup", 60)
        assert await wait_for(pilot, lambda: session.models is not None, 60)
        setup = app.screen

        # refused: a known name, a folder without the type's latencies, a bad MPS level
        await press(pilot, "ctrl+n")
        assert await wait_screen(pilot, app, AddGpuTypeDialog)
        dialog = app.screen
        await _fill(pilot, dialog, "T4", str(x9))
        assert await wait_for(pilot, lambda: "already in the catalog" in shown_error(dialog))
        dialog.query_one("#gpu-new-name").value = ""
        dialog.query_one("#gpu-new-profiles").value = ""
        await _fill(pilot, dialog, "Y1", str(demo))
        assert await wait_for(pilot, lambda: "no profile there has latencies for Y1" in shown_error(dialog))
        dialog.query_one("#gpu-new-name").value = ""
        dialog.query_one("#gpu-new-profiles").value = ""
        dialog.query_one("#gpu-new-mps").focus()
        await type_text(pilot, "0")
        await _fill(pilot, dialog, NEW, str(x9))
        assert await wait_for(pilot, lambda: "mps_levels" in shown_error(dialog))
        assert NEW not in session.catalog and NEW not in session.form.gpus  # nothing changed
        dialog.query_one("#gpu-new-mps").value = "2"
        dialog.query_one("#gpu-new-name").focus()
        await press(pilot, "enter")
        assert await wait_for(pilot, lambda: app.screen is setup, 30)

        # its row is in the GPU mix, its profiles in the store
        assert NEW in session.catalog and session.catalog.get(NEW).mps_levels == 2
        assert session.store.get("alpha-net").latency.get(NEW) is not None
        assert await wait_for(pilot, lambda: bool(setup.query(f"#gpu-{NEW}-count")))
        assert await wait_for(pilot, lambda: app.focused is setup.query_one(f"#gpu-{NEW}-count"))
        assert await wait_for(pilot, lambda: NEW in screen_text(app))  # in view, its count next

        # a solve on that type alone plans alpha-net on it
        for g in list(session.form.gpus):
            setup.query_one(f"#gpu-{g}-count").value = "4" if g == NEW else "0"
        setup.query_one("#model-search").focus()
        await type_text(pilot, "alpha")
        await press(pilot, "enter")
        assert await wait_for(pilot, lambda: session.form.models == ["alpha-net"])
        await press(pilot, "ctrl+r")
        assert await wait_for(pilot, lambda: session.runs and session.runs[-1].finished, 120)
        run = session.runs[-1]
        assert run.result.status == "optimal", run.result.message
        assert set(run.result.plan.gpus_used()) == {NEW}
        # the app goes on to show the plan: let it, before the test closes the app under it
        assert await wait_mode(pilot, app, "plan", 60)
        assert await wait_for(pilot, lambda: NEW in screen_text(app), 30)


def test_derived_type_takes_the_like_types_figures_and_checks_fields(tmp_path):
    cat = GpuCatalog.load()
    t4 = cat.get("T4")
    g = derived_gpu_type(NEW, t4, gpu_class="high", gpus_per_server="8", mps_levels="2", network_gbps="25",
                         price_per_hour="1.5")
    assert (g.name, g.gpu_class, g.gpus_per_server, g.mps_levels, g.network_gbps) == (NEW, "high", 8, 2, 25.0)
    assert g.fp32_tflops == t4.fp32_tflops and g.mem_bw_gbps == t4.mem_bw_gbps
    assert g.price_per_hour == 1.5 and g.price_source
    for bad, field in (({"mps_levels": "0"}, "mps_levels"), ({"gpus_per_server": "-1"}, "gpus_per_server"),
                       ({"network_gbps": "inf"}, "network_gbps"), ({"gpu_class": "mid"}, "class"),
                       ({"price_per_hour": "x"}, "price")):
        with pytest.raises(DataError, match=field):
            derived_gpu_type(NEW, t4, **bad)
    with pytest.raises(DataError):
        derived_gpu_type("../x", t4)
    assert NEW in cat.with_type(g) and NEW not in cat


def test_saved_type_joins_the_user_catalog(tmp_path, monkeypatch):
    monkeypatch.setenv("PPIPE_HOME", str(tmp_path / "home"))
    g = derived_gpu_type(NEW, GpuCatalog.load().get("T4"), mps_levels="2")
    path = save_user_gpu_type(g)
    assert path == tmp_path / "home" / "gpus.json"
    assert GpuCatalog.load().get(NEW).mps_levels == 2
    save_user_gpu_type(derived_gpu_type(NEW, GpuCatalog.load().get("L4"), mps_levels="3"))  # replaces, once
    doc = json.loads(path.read_text())
    assert [e["name"] for e in doc["gpus"]] == [NEW] and GpuCatalog.load().get(NEW).mps_levels == 3
    path.write_text("not json")
    with pytest.raises(DataError):
        save_user_gpu_type(g)
    assert path.read_text() == "not json"  # an unreadable catalog is never overwritten
