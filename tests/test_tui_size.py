"""ppipe-tui F8 Size: targets, owned and purchasable GPUs, a live sizing with cancel, the
cost-versus-load chart, and the sized plan opened on F4 (issue 11, item 5)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("textual")

from tui_helpers import PROMPT_S, press, screen_text, slow_enumeration, type_text, wait_for, wait_mode  # noqa: E402

from ppipe.catalog.gpus import GpuCatalog  # noqa: E402
from ppipe.profiles.store import ProfileStore  # noqa: E402
from ppipe_tui.app import PPipeApp  # noqa: E402
from ppipe_tui.sizing import SizeForm, parse_buy, saving_text, validate_size  # noqa: E402
from ppipe_tui.state import Session, SetupForm  # noqa: E402


def make_app(data: Path, tmp_path: Path) -> PPipeApp:
    return PPipeApp(Session(str(data), tmp_path / "plans"))


async def open_size(pilot, app, models=("alpha", "beta")) -> object:
    """Tick ``models`` on F2, go to F8; the Models field is focused."""
    assert await wait_for(pilot, lambda: app.session.models is not None, 20)
    for m in models:
        await type_text(pilot, m)
        await press(pilot, "enter")
    await press(pilot, "f8")
    assert await wait_mode(pilot, app, "size", 20)
    return app.screen


async def fill(pilot, screen, key: str, text: str) -> None:
    screen.query_one(f"#in-{key}").focus()
    await press(pilot, "ctrl+shift+a")  # select all: typing replaces
    await type_text(pilot, text)


# ------------------------------------------------------------ the form

def test_the_form_builds_the_cli_s_problem(demo_data):
    store = ProfileStore.open(demo_data)
    cat = GpuCatalog.load()
    setup = SetupForm.default(cat)
    setup.models = ["alpha-net", "beta-det"]
    form = SizeForm.default(cat)
    form.rates = "300,200"
    form.gpus["L4"].own = "2"
    form.gpus["T4"].buy = "3"
    req, errors, notes = validate_size(form, setup, store, cat)
    assert not errors, errors
    sp = req.problem
    assert sp.names == ["alpha-net", "beta-det"] and sp.targets == (300.0, 200.0)
    assert sp.headroom == (0.1, 0.1) and sp.max_parts == 2 and sp.slo_multiplier == 5.0
    offers = {o.gpu: o for o in sp.offers}
    assert set(offers) == {"L4", "T4"}  # no model has a profile on the other catalog types: unsaid
    assert offers["L4"].own == 2 and offers["L4"].price == cat.get("L4").price_per_hour
    assert offers["T4"].cap == 3 and offers["T4"].own == 0
    assert not any("V100" in n for n in notes)
    # weights and a total instead of rates
    form.rates, form.weights, form.total = "", "1,3", "400"
    req, errors, _ = validate_size(form, setup, store, cat)
    assert not errors and req.problem.targets == (100.0, 300.0)


@pytest.mark.parametrize("field,value,needle", [
    ("rates", "300", "1 rate(s) for 2 model(s)"),
    ("rates", "300,-5", "each > 0"),
    ("headroom", "-1", "headroom: a share >= 0"),
    ("sweep", "2:1:0.5", "sweep:"),
    ("models", "nosuchmodel", "models: unknown model"),
])
def test_bad_fields_give_one_whole_line_naming_the_field(demo_data, field, value, needle):
    store = ProfileStore.open(demo_data)
    cat = GpuCatalog.load()
    setup = SetupForm.default(cat)
    setup.models = ["alpha-net", "beta-det"]
    form = SizeForm.default(cat)
    form.rates = "300,200"
    setattr(form, field, value)
    req, errors, _ = validate_size(form, setup, store, cat)
    assert req is None and needle in errors[field], errors


def test_a_type_to_buy_needs_a_price_and_buy_parses(demo_data):
    store = ProfileStore.open(demo_data)
    cat = GpuCatalog.load()
    setup = SetupForm.default(cat)
    setup.models = ["alpha-net"]
    form = SizeForm.default(cat)
    form.rates = "100"
    form.gpus["T4"].price = ""
    _, errors, _ = validate_size(form, setup, store, cat)
    assert "T4: no price" in errors["gpu.T4.price"]
    assert parse_buy("no") == (False, None) and parse_buy("any") == (True, None) and parse_buy("7") == (True, 7)
    with pytest.raises(ValueError):
        parse_buy("lots")


def test_saving_text():
    from types import SimpleNamespace as NS

    assert saving_text(NS(cost=1.0), NS(cost=4.0)) == "75%"
    assert saving_text(NS(cost=0.0), NS(cost=0.0)) == "same"
    assert saving_text(NS(cost=None), NS(cost=1.0)) == "-"


# ------------------------------------------------------------ the screen

@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_size_solves_shows_cost_per_scheduler_and_opens_the_plan(demo_data, tmp_path, size):
    app = make_app(demo_data, tmp_path)
    async with app.run_test(size=size) as pilot:
        scr = await open_size(pilot, app)
        await fill(pilot, scr, "rates", "300,200")
        await press(pilot, "ctrl+r")
        assert await wait_for(pilot, lambda: scr.size_run is not None and scr.size_run.finished, 120)
        run = scr.size_run
        assert run.error is None and run.comparison is not None
        res = run.comparison.results
        assert set(res) == {"ppipe", "np", "np-cheapest"}
        assert all(r.cost is not None for r in res.values())
        assert res["ppipe"].cost <= res["np"].cost + 1e-9  # NP's fleets are feasible for PPipe
        text = screen_text(app)
        table = scr.query_one("#size-table")
        for sched, label in (("ppipe", "PPipe"), ("np", "NP"), ("np-cheapest", "NP 1 type")):
            cells = [str(c) for c in table.get_row(sched)]
            assert cells[0] == label and cells[1] == f"{res[sched].cost:,.2f}", cells
            # on screen too: the label, then its $/h on the same line
            assert any(f" {label} " in line and cells[1] in line.split(f" {label} ", 1)[1]
                       for line in text.splitlines()), text
        assert "sized:" in text and f"PPipe ${res['ppipe'].cost:,.2f}/h" in text
        # the PPipe plan is current; Enter on the NP row opens NP's
        assert app.session.current is not None and "sized by PPipe" in app.session.current.origin
        table.focus()
        await press(pilot, "down", "enter")
        assert await wait_mode(pilot, app, "plan", 20)
        entry = app.session.current
        assert "sized by NP" in entry.origin and entry.limits == {g: n for g, n in res["np"].fleet.items()}
        assert entry.suggested_name().endswith("_bl.json")
        assert await wait_for(pilot, lambda: "sized by NP" in screen_text(app), 10), screen_text(app)


async def test_cost_against_load_draws_a_line_per_scheduler(demo_data, tmp_path):
    app = make_app(demo_data, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        scr = await open_size(pilot, app, models=("alpha",))
        await fill(pilot, scr, "rates", "200")
        await fill(pilot, scr, "sweep", "1,2")
        await press(pilot, "ctrl+t")
        assert await wait_for(pilot, lambda: scr.sweep_run is not None and scr.sweep_run.finished, 120)
        run = scr.sweep_run
        assert [p.factor for p in run.points] == [1.0, 2.0] and run.error is None
        for p in run.points:
            assert all(r.cost is not None for r in p.results.values())
        text = screen_text(app)
        assert "x PPipe · • NP · + NP 1 type" in text  # the chart's key
        assert "$/h against load" in text
        assert "PPipe $/h" in text  # the points' table


async def test_escape_cancels_a_sizing_within_a_second(demo_data, tmp_path, monkeypatch):
    import ppipe.planning.sizing as sizing

    started = threading.Event()
    monkeypatch.setattr(sizing, "enumerate_configs", slow_enumeration(started))
    app = make_app(demo_data, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        scr = await open_size(pilot, app, models=("alpha",))
        await fill(pilot, scr, "rates", "200")
        await press(pilot, "ctrl+r")
        assert await wait_for(pilot, started.is_set, 30)
        run = scr.size_run
        assert await wait_for(pilot, lambda: "enumerated" in screen_text(app), 20), screen_text(app)
        t0 = time.monotonic()
        await press(pilot, "escape")
        assert await wait_for(pilot, lambda: run.finished, 10, step=0.01)
        assert time.monotonic() - t0 < PROMPT_S
        assert run.cancel.is_set() and app.is_running
        assert await wait_for(pilot, lambda: "cancelled" in screen_text(app), 10), screen_text(app)


async def test_problems_are_listed_whole_and_nothing_starts(demo_data, tmp_path):
    app = make_app(demo_data, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        scr = await open_size(pilot, app)
        await fill(pilot, scr, "rates", "300")
        await press(pilot, "ctrl+r")
        assert scr.size_run is None
        msg = "rates: 1 rate(s) for 2 model(s) (alpha-net, beta-det)"
        assert await wait_for(pilot, lambda: msg in screen_text(app).replace("\n ", " "), 10), screen_text(app)
