"""ppipe-tui, second pass: instant stop, trustworthy plans, honest solve cards, file modes."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("textual")

from tui_helpers import (  # noqa: E402
    PROMPT_S,
    demo_plan,
    demo_plan_name,
    make_app,
    press,
    screen_text,
    slow_enumeration,
    type_text,
    wait_for,
    wait_mode,
    wait_screen,
)

from ppipe.atomic import write_text_atomic  # noqa: E402
from ppipe.planfile.plan import read_plan, write_plan  # noqa: E402
from ppipe.planfile.provenance import get_provenance, make_provenance, profile_fingerprint, set_provenance  # noqa: E402
from ppipe.profiles.store import ProfileStore  # noqa: E402
from ppipe_tui.app import exit_status  # noqa: E402
from ppipe_tui.screens.dialogs import ConfirmDialog, InputDialog  # noqa: E402
from ppipe_tui.screens.files import export_plan  # noqa: E402
from ppipe_tui.state import plan_warnings, rename_problem  # noqa: E402


async def start_solve(pilot, app) -> None:
    assert await wait_for(pilot, lambda: app.session.models is not None, 10)
    await type_text(pilot, "alpha")
    await press(pilot, "enter")
    await press(pilot, "ctrl+r")
    assert await wait_mode(pilot, app, "solve", 10) and app.session.solving


# -------------------------------------------------------------- 1. stopping

@pytest.mark.parametrize("phase", ["estimate", "solve"])
async def test_escape_cancels_during_enumeration_within_a_second(demo_data, plans_dir, monkeypatch, phase):
    import ppipe.planning.planner as planner

    started = threading.Event()
    monkeypatch.setattr(planner, "enumerate_configs",
                        slow_enumeration(started, slow_from_call=1 if phase == "estimate" else 2))
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_solve(pilot, app)
        run = app.session.runs[0]
        assert await wait_for(pilot, started.is_set, 30)
        if phase == "solve":  # the enumeration's progress shows live
            assert await wait_for(pilot, lambda: "enumerated" in run.message, 30), run.message
            assert await wait_for(pilot, lambda: "enumerated" in screen_text(app), 10), screen_text(app)
        t0 = time.monotonic()
        await press(pilot, "escape")
        assert await wait_for(pilot, lambda: run.finished, 10, step=0.01)
        latency = time.monotonic() - t0
        assert latency < PROMPT_S, latency
        assert run.result.status == "cancelled"
        assert app.is_running


async def test_ctrl_q_exits_within_a_second_while_a_solve_ignores_its_cancel(demo_data, plans_dir, monkeypatch):
    import ppipe.planning.planner as planner

    started = threading.Event()
    monkeypatch.setattr(planner, "enumerate_configs", slow_enumeration(started, honour_stop=False))
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_solve(pilot, app)
        assert await wait_for(pilot, started.is_set, 30)
        t0 = time.monotonic()
        await press(pilot, "ctrl+q")
    latency = time.monotonic() - t0
    assert latency < PROMPT_S, latency
    assert app.return_code == 0
    assert all(r.cancel.is_set() for r in app.session.runs)
    assert exit_status(app) == 0


def test_exit_status_is_never_zero_after_a_failure(tmp_path, capsys):
    def fake(rc, crash=None, failures=()):
        return SimpleNamespace(return_code=rc, crash_log=crash, session=SimpleNamespace(failures=list(failures)))

    assert exit_status(fake(0)) == 0
    assert exit_status(fake(None)) == 1
    assert exit_status(fake(1, crash=tmp_path / "log")) == 1
    assert exit_status(fake(0, crash=tmp_path / "log")) == 1
    assert exit_status(fake(0, failures=[("ValueError: x", "/tmp/log")])) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("ppipe-tui: error:") for line in err)
    assert "details in" in err[-1]


async def test_a_crash_exits_non_zero_with_a_log(demo_data, plans_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    app = make_app(demo_data, plans_dir)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_mode(pilot, app, "setup", 10)
            app.call_later(_boom)
            await wait_for(pilot, lambda: not app.is_running, 10)
    assert app.crash_log is not None and Path(app.crash_log).exists()
    assert "RuntimeError: boom" in Path(app.crash_log).read_text()
    assert exit_status(app) == 1


def _boom() -> None:
    raise RuntimeError("boom")


# ------------------------------------------------------------- 2. rename

@pytest.mark.parametrize("name", ["sub/dir", "../up", "..", "a\\b"])
def test_rename_rejects_paths(name):
    assert rename_problem(name)
    assert rename_problem("fine-name") is None and rename_problem("x.json") is None


async def test_rename_with_a_slash_is_refused_in_the_dialog(demo_data, plans_dir):
    src = write_plan(demo_plan(), plans_dir / demo_plan_name())
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "f7")
        assert await wait_mode(pilot, app, "files", 10)
        await press(pilot, "ctrl+r")
        assert await wait_screen(pilot, app, InputDialog, 5)
        await type_text(pilot, "sub/renamed")  # the name starts selected: typing replaces it
        await press(pilot, "enter")
        assert isinstance(app.screen, InputDialog), "a bad name must not close the dialog"
        assert await wait_for(pilot, lambda: "no /" in screen_text(app), 5), screen_text(app)
        assert app.screen.query_one("Input").value == "sub/renamed"
        await press(pilot, "escape")
        assert app.is_running and Path(src).exists()
        assert sorted(p.name for p in plans_dir.iterdir()) == [Path(src).name]


# ------------------------------------------ 3, 7. what a plan was made with

def _stamped(store: ProfileStore, fingerprint: str | None = None):
    plan = demo_plan()
    profs = [store.get(n) for n in plan.model_names]
    rec = make_provenance(scheduler="ppipe", gpus=["L4", "T4"], counts=[6, 8], bw_gbps=10, profiles=profs,
                          profile_source="test", weights=[1, 1], slo_multiplier=5, max_parts=2)
    if fingerprint is not None:
        rec["profiles"]["alpha-net"] = fingerprint
    set_provenance(plan, rec)
    return plan


def test_provenance_round_trips_and_leaves_reference_fields_alone(demo_data, tmp_path):
    store = ProfileStore.open(demo_data)
    bare = demo_plan()
    text_bare = bare.dumps()
    plan = _stamped(store)
    text = plan.dumps()
    assert text.startswith(text_bare[: text_bare.index('"pipelines"')])  # the reference keys come first
    out = write_plan(plan, tmp_path / "renamed.json")
    again = read_plan(out)
    assert again.dumps() == text
    rec = get_provenance(again)
    assert rec["scheduler"] == "ppipe" and rec["cluster"]["gpus"] == ["L4", "T4"]
    assert rec["cluster"]["counts"] == [6, 8] and rec["ppipe_version"]
    assert rec["profiles"]["alpha-net"] == profile_fingerprint(store.get("alpha-net"))
    assert plan_warnings(again, store, {"L4": 6, "T4": 8}) == []
    assert get_provenance(bare) is None


async def test_mismatched_plan_shows_a_banner_and_warns_before_simulating(demo_data, plans_dir):
    store = ProfileStore.open(demo_data)
    path = write_plan(_stamped(store, fingerprint="sha256:0000000000000000"), plans_dir / "other-profiles.json")
    app = make_app(demo_data, plans_dir, plan=path)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.session.current is not None, 10)
        assert await wait_mode(pilot, app, "plan", 10)
        entry = app.session.current
        assert entry.warnings and "alpha-net" in entry.warnings[0]
        assert await wait_for(pilot, lambda: "does not match the current profiles" in screen_text(app), 10)
        await press(pilot, "f5")
        assert await wait_mode(pilot, app, "sim", 10)
        await press(pilot, "ctrl+r")
        assert await wait_screen(pilot, app, ConfirmDialog, 5)
        assert "Simulate anyway?" in screen_text(app)
        await press(pilot, "n")
        assert app.screen.state == "idle"


async def test_renamed_plan_keeps_scheduler_and_gpus_in_f7(demo_data, plans_dir):
    store = ProfileStore.open(demo_data)
    write_plan(_stamped(store), plans_dir / "my plan.json")
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot, "f7")
        assert await wait_mode(pilot, app, "files", 10)
        text = screen_text(app)
        row = next(line for line in text.splitlines() if "my plan.json" in line)
        assert "PPipe" in row and "L4:6,T4:8" in row, text


# --------------------------------------------------------- 5. DART-r card

async def test_dart_r_card_shows_no_bound(demo_data, plans_dir):
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.session.models is not None, 10)
        await type_text(pilot, "alpha")
        await press(pilot, "enter", "ctrl+t")
        assert await wait_for(pilot, lambda: app.session.runs and not app.session.solving, 120)
        dart = next(r for r in app.session.runs if r.scheduler == "dart-r")
        assert dart.result.bound is None
        await press(pilot, "f3")
        assert await wait_mode(pilot, app, "solve", 10)
        card = str(app.screen.query_one(f"#run-{dart.id} .solve-stats").render())
        assert "bound     —" in card and "gap       —" in card, card


# ----------------------------------------------------------- 6. file modes

@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        p = write_text_atomic(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == mode


def test_atomic_write_keeps_an_existing_files_mode(tmp_path):
    p = tmp_path / "a.json"
    p.write_text("x")
    p.chmod(0o640)
    write_text_atomic(p, "y")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640 and p.read_text() == "y"


def test_saved_plans_and_exports_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        src = write_plan(demo_plan(), tmp_path / "p.json")
        csv = export_plan(Path(src), tmp_path / "p.csv")
        js = export_plan(Path(src), tmp_path / "copy.json")
    finally:
        os.umask(old)
    for p in (Path(src), csv, js):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p


# -------------------------------------------- 4, 8. groups, model search

def test_groups_show_only_complete_ones_or_say_where_they_come_from():
    from ppipe.planning.problem import MODEL_GROUPS
    from ppipe_tui.widgets.setup import group_choices

    opts, note = group_choices({"alpha-net"})
    assert opts == [] and "PPIPE_ARTIFACT" in note and "G1" in note
    g1 = list(MODEL_GROUPS["G1"])
    opts, note = group_choices(set(g1))
    assert opts == ["G1"]
    opts, note = group_choices(set(g1[1:]))
    assert "G1" not in opts and f"G1 lacks {g1[0][:10]}" in note


async def test_slash_and_f2_focus_the_search_escape_clears_it(demo_data, plans_dir):
    app = make_app(demo_data, plans_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.session.models is not None, 10)
        search = app.screen.query_one("#model-search")
        app.screen.query_one("#in-weights").focus()
        await press(pilot, "slash")
        assert app.focused is search and search.value == ""
        await type_text(pilot, "beta")
        await press(pilot, "escape")
        assert search.value == ""
        await type_text(pilot, "alpha")
        await press(pilot, "enter")
        assert app.session.form.models == ["alpha-net"]
        assert search.value == ""  # ticked: the search is cleared for the next model
        app.screen.query_one("#in-weights").focus()
        await press(pilot, "f2")
        assert app.focused is search


# ------------------------------------------------- 15-20. what things mean

async def test_each_sim_chart_has_its_own_legend(demo_data, plans_dir):
    src = write_plan(demo_plan(), plans_dir / demo_plan_name())
    app = make_app(demo_data, plans_dir, plan=src)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_mode(pilot, app, "plan", 10)
        await press(pilot, "s")  # S starts the simulation
        assert await wait_mode(pilot, app, "sim", 10)
        assert await wait_for(pilot, lambda: app.screen.state in ("running", "finished"), 60)
        await press(pilot, "escape")
        text = screen_text(app)
        assert "line: balancer · dots: workers" in text, text
        assert "line: p99" in text and "line: 1 s" in text
        assert "last second / p99" not in text  # the old shared legend, wrong for the queue chart


def test_tree_and_csv_show_the_same_chunk_ranges(tmp_path):
    from ppipe_tui.widgets.plan import partition_label

    plan = demo_plan()
    src = write_plan(plan, tmp_path / "p.json")
    rows = export_plan(Path(src), tmp_path / "p.csv").read_text().splitlines()
    header = rows[0].split(",")
    first = dict(zip(header, rows[1].split(",")))
    part = plan.models[0].pipelines[0].partitions[0]
    assert first["chunks"] == "0-1" and "chunks 0-1" in partition_label(0, part)
    assert first["num_gpu"] == "1"  # not 1.0
    mps = plan.models[0].pipelines[0].partitions[1]
    assert "chunks 2-3: 2 T4 GPUs, each split in 2 (MPS) = 4 workers, batch 1" in partition_label(1, mps)
