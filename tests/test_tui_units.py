"""The TUI's logic without a terminal: form validation, plan entries, simulation driver."""

from __future__ import annotations

import pytest
from tui_helpers import demo_plan, write_demo_plans

from ppipe.catalog.gpus import GpuCatalog
from ppipe.errors import InputError
from ppipe.planning.request import parse_weights
from ppipe.profiles.store import ProfileStore
from ppipe_tui.demo import demo_profile, write_demo_profiles
from ppipe_tui.formatting import bar, shorten
from ppipe_tui.runners import QUANTUM_US, SimDriver, SimSettings, downsample, parse_grid
from ppipe_tui.state import PlanEntry, Session, SetupForm, check_field, sibling_plans, validate


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ProfileStore:
    return ProfileStore.open(write_demo_profiles(tmp_path_factory.mktemp("p")))


@pytest.fixture(scope="module")
def catalog() -> GpuCatalog:
    return GpuCatalog.load()


def test_default_form_is_hc2_and_validates_once_models_are_chosen(store, catalog):
    form = SetupForm.default(catalog)
    assert form.preset == "HC2" and form.gpus["L4"].count == "25" and form.gpus["T4"].count == "75"
    req, errors = validate(form, store, catalog)
    assert req is None and "models" in errors
    form.models = ["alpha-net", "beta-det"]
    req, errors = validate(form, store, catalog, ("np", "ppipe"))
    assert errors == {}
    assert req.schedulers == ("np", "ppipe") and req.time_limit == 60.0
    assert req.problem.cluster.gpus == ("L4", "T4")  # count-0 types are left out
    assert req.problem.cluster.bw_gbps == 10.0


@pytest.mark.parametrize("key,value,needle", [
    ("slo_multiplier", "0", "SLO multiplier"),
    ("slo_discount", "1", "discount"),
    ("max_parts", "x", "whole number"),
    ("time_limit", "-3", "time limit"),
    ("bw", "fast", "bandwidth"),
    ("gpu.L4.mps", "9", "MPS"),
    ("gpu.T4.count", "-1", "count"),
])
def test_each_field_is_checked_on_its_own(catalog, key, value, needle):
    form = SetupForm.default(catalog)
    form.set_field(key, value)
    msg = check_field(form, key)
    assert msg and needle in msg


def test_weights_and_missing_profiles(store, catalog):
    assert parse_weights("", 2) == [1.0, 1.0]
    assert parse_weights("maf19", 3) == [0.30, 0.33, 0.37]
    form = SetupForm.default(catalog)
    form.models = ["alpha-net", "beta-det"]
    # the weights field shows the core's one-line message in place
    for text, needle in (("maf21", "3 weights"), ("1,-1", "> 0"), ("1,x", "malformed weights"), ("1", "1 weights")):
        form.weights = text
        msg = check_field(form, "weights")
        assert msg and needle in msg, (text, msg)
        with pytest.raises(InputError):
            parse_weights(text, 2)
    form.weights = "0.5,0.5"
    assert check_field(form, "weights") is None
    form.weights = ""
    form.models = ["alpha-net"]
    form.gpus["V100"].count = "4"
    _, errors = validate(form, store, catalog)
    assert "alpha-net lacks V100" in errors["gpus"]
    for row in form.gpus.values():
        row.count = "0"
    _, errors = validate(form, store, catalog)
    assert "no GPUs" in errors["gpus"]


def test_plan_entries_from_files_know_their_setting(tmp_path):
    plans = write_demo_plans(tmp_path)
    e = PlanEntry.from_file(plans["ppipe"])
    assert e.scheduler == "ppipe" and e.limits == {"L4": 6, "T4": 8} and e.weights == [1.0, 1.0]
    assert e.objective == pytest.approx(min(m.xput for m in e.plan.models))
    assert set(sibling_plans(plans["ppipe"])) == {"ppipe", "np"}
    session = Session(str(tmp_path), tmp_path, store=ProfileStore([]), catalog=GpuCatalog([]))
    session.set_current(e)
    assert set(session.comparison()) == {"ppipe", "np"}


def test_sim_driver_series_do_not_depend_on_step_sizes():
    plan = demo_plan()
    mp = plan.models[0]
    prof = demo_profile(mp.name)
    s = SimSettings(mp.name, 600.0, None, seed=3, duration_s=2.0)
    a, b = SimDriver(mp, prof, s), SimDriver(mp, prof, s)
    fa = fb = None
    while not a.done:
        fa = a.advance(QUANTUM_US * 3) or fa
    steps = [1, QUANTUM_US // 2, QUANTUM_US * 7, 12345]
    i = 0
    while not b.done:
        fb = b.advance(steps[i % len(steps)]) or fb
        i += 1
    assert fa.done and fb.done
    assert fa.series == fb.series
    assert fa.result.to_json()["counts"] == fb.result.to_json()["counts"]
    assert len(fa.series.t_s) >= 20


def test_small_helpers():
    assert parse_grid("10-30/10, 50") == [10, 20, 30, 50]
    with pytest.raises(ValueError):
        parse_grid("0-300")
    xs, ys = downsample(list(range(100)), [None if i % 10 == 0 else i for i in range(100)], 20)
    assert len(xs) <= 21 and None not in ys and xs[-1] == 99
    assert bar(0.5, 10) == "#####....."
    assert shorten("abcdefghij", 5) == "ab~ij"


# ------------------------------------------------- odd input found by the session-20 audit

@pytest.mark.parametrize("name", [".", "/", "..", "~ppipe_no_such_user_x/plan.json"])
def test_save_path_refuses_what_is_no_file(name):
    from ppipe_tui.state import save_path

    with pytest.raises(InputError):
        save_path(name)


def test_save_path_adds_json_and_refuses_a_folder(tmp_path):
    from ppipe_tui.state import save_path

    assert save_path(str(tmp_path / "mine")) == tmp_path / "mine.json"
    assert save_path(str(tmp_path / "mine.json")) == tmp_path / "mine.json"
    with pytest.raises(InputError, match="folder"):
        save_path(str(tmp_path))


def test_a_gpu_type_with_a_dot_in_its_name_is_one_form_row(catalog):
    from ppipe_tui.state import gpu_key_parts

    assert gpu_key_parts("gpu.A100.80GB.count") == ("A100.80GB", "count")
    form = SetupForm.default(catalog)
    form.set_field("gpu.A100.80GB.count", "4")
    assert form.field_value("gpu.A100.80GB.count") == "4" and form.gpus["A100.80GB"].count == "4"
    assert check_field(form, "gpu.A100.80GB.count") is None
    form.set_field("gpu.A100.80GB.mps", "0")
    assert "MPS" in check_field(form, "gpu.A100.80GB.mps")


def test_an_slo_multiplier_too_big_for_the_arithmetic_is_a_field_error(store, catalog):
    form = SetupForm.default(catalog)
    form.models = ["alpha-net"]
    form.slo_multiplier = "1e308"
    req, errors = validate(form, store, catalog)  # used to raise OverflowError
    assert req is None and any("SLO" in m for m in errors.values()), errors


@pytest.mark.parametrize("sweep", ["0.5:inf:1", "1e-320:1:1e-320", "nan:1:1"])
def test_a_sweep_that_cannot_be_counted_is_a_field_error(store, catalog, sweep):
    from ppipe_tui.sizing import SizeForm, validate_size

    setup = SetupForm.default(catalog)
    setup.models = ["alpha-net"]
    form = SizeForm.default(catalog)
    form.sweep = sweep
    _, errors, _ = validate_size(form, setup, store, catalog)
    assert "sweep" in errors, errors


def test_a_sweep_is_cancelled_inside_a_point():
    """The F6 sweep checks its cancel while a point runs, not only between points."""
    from ppipe.sim.synthetic import synthetic_case
    from ppipe_tui.runners import SweepCancelled, run_sweep

    mp, prof = synthetic_case(3)
    calls, points = [], []

    def cancelled() -> bool:  # False before the first point, True at the first check inside it
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(SweepCancelled):
        run_sweep({"ppipe": mp}, prof, mp.xput, [50, 90], 0, 5.0, lambda s, p: points.append(p), cancelled)
    assert points == [] and len(calls) == 2
