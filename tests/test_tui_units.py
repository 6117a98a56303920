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
