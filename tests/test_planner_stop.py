"""The time limit and the cancel event cover the whole solve, enumeration included."""

from __future__ import annotations

import threading

import pytest

from ppipe.planning import configs as C
from ppipe.planning.milp import SolveOptions
from ppipe.planning.problem import CLUSTER_PRESETS, build_problem
from ppipe.planning.solve import solve
from ppipe.profiles.store import ProfileStore


@pytest.fixture
def vit_p4(monkeypatch):
    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    store = ProfileStore.open()
    return build_problem([store.get("vit_b_16")], CLUSTER_PRESETS["HC2"], max_parts=4)


def _slow_enumeration(monkeypatch, polls: list):
    """An enumeration that never ends by itself but honours ``should_stop``."""
    def slow(problem, d, max_parts=None, prune=True, *, should_stop=None, on_progress=None):
        n = 0
        while True:
            n += 1
            polls.append(n)
            if on_progress is not None:
                on_progress(n, n)
            if should_stop is not None and should_stop():
                raise C.EnumerationStopped()
            threading.Event().wait(0.001)

    monkeypatch.setattr("ppipe.planning.planner.enumerate_configs", slow)


def test_time_limit_stops_enumeration(vit_p4, monkeypatch):
    polls: list = []
    _slow_enumeration(monkeypatch, polls)
    res = solve(vit_p4.with_est_xput([100.0]), "ppipe", opts=SolveOptions(time_limit=0.3), estimate=False)
    assert res.status == "time_limit" and res.plan is None
    assert "enumerating" in res.message and polls


def test_cancel_stops_enumeration_and_reports_progress(vit_p4, monkeypatch):
    polls: list = []
    _slow_enumeration(monkeypatch, polls)
    cancel = threading.Event()
    messages = []

    def progress(p):
        messages.append(p.message)
        if len(polls) > 50:
            cancel.set()

    res = solve(vit_p4.with_est_xput([100.0]), "ppipe", opts=SolveOptions(cancel=cancel, progress=progress),
                estimate=False)
    assert res.status == "cancelled" and res.plan is None
    assert any("configurations of vit_b_16" in m for m in messages)


def test_real_enumeration_stats(vit_p4):
    res = solve(vit_p4.with_est_xput([300.0]), "ppipe", estimate=False, opts=SolveOptions(time_limit=120))
    assert res.status in ("optimal", "time_limit") and res.plan is not None
    assert res.stats["configs_enumerated"][0] > res.stats["configs"][0] > 0
    assert res.stats["enumerate_seconds"] >= 0


def test_a_time_limit_before_any_useful_plan_is_not_infeasible(monkeypatch):
    """A MILP stopped by its time limit with only the all-zero start (T = 0) proves nothing:
    the result is time_limit with no plan, never "infeasible"."""
    import numpy as np

    from ppipe.planning import planner
    from ppipe.planning.milp import MilpResult
    from ppipe.planning.status import Status

    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    store = ProfileStore.open()
    problem = build_problem([store.get("resnet50"), store.get("vit_b_16")], CLUSTER_PRESETS["HC2"],
                            [1.0, 1.0], max_parts=2)

    def stopped_at_zero(model, opts, **kw):
        return MilpResult(status=Status.TIME_LIMIT, objective=0.0, bound=1e4, values=np.zeros(model.num_vars),
                          solver="highs", seconds=0.1)

    monkeypatch.setattr(planner, "solve_model", stopped_at_zero)
    res = planner.solve_milp(problem, "ppipe", opts=SolveOptions(time_limit=1.0))
    assert res.status == Status.TIME_LIMIT and res.plan is None
    assert "before finding a plan" in res.message


def test_progress_incumbent_never_falls_and_keeps_the_bound():
    """Several MILPs report one after another; a later one's lower plan does not replace the
    best plan shown, and the gap is measured to the best."""
    from ppipe.planning.milp import Progress
    from ppipe.planning.solve import rising_incumbent

    seen = []
    relay = rising_incumbent(seen.append)
    relay(Progress(None, None, None, 0.1, "enumerating"))
    relay(Progress(100.0, 120.0, 0.2, 0.2, "seed"))
    relay(Progress(110.0, None, None, 0.3, ""))
    relay(Progress(90.0, 115.0, 0.28, 0.4, "improved"))  # a later MILP, started lower
    relay(Progress(None, 112.0, None, 0.5, "proving"))
    assert [p.incumbent for p in seen] == [None, 100.0, 110.0, 110.0, None]
    assert seen[3].bound == 115.0 and seen[3].gap == pytest.approx(5 / 110) and seen[3].message == "improved"
    assert seen[4].bound == 112.0 and seen[4].message == "proving"


def test_the_throughput_estimate_shows_nps_figures_in_its_words(monkeypatch):
    """During the est_xput flow the status line moves with NP's MILP, its figures named as
    NP's in the words (they are not the plan's, so not in the incumbent/bound fields)."""
    from types import SimpleNamespace

    from ppipe.planning import solve as S
    from ppipe.planning.milp import Progress

    def fake_np(problem, solver, opts, fallback):
        opts.progress(Progress(None, None, None, 0.1, "configurations of m: 42 enumerated, 7 kept"))
        opts.progress(Progress(1234.5, 1300.0, 0.05, 0.5, "improved"))
        opts.progress(Progress(None, 1290.0, None, 0.6, ""))
        return SimpleNamespace(plan=SimpleNamespace(models=[SimpleNamespace(xput=1234.5)]))

    monkeypatch.setattr(S, "solve_np", fake_np)
    seen = []
    problem = SimpleNamespace(models=[SimpleNamespace(est_xput=None)], with_est_xput=lambda est: problem)
    assert S.estimate_xput(problem, opts=SolveOptions(progress=seen.append)) == [1234.5]
    assert [p.message for p in seen] == ["estimating throughputs: configurations of m: 42 enumerated, 7 kept",
                                         "estimating throughputs: NP's MILP, plan 1,234.50, bound 1,300.00",
                                         "estimating throughputs: NP's MILP, bound 1,290.00"]
    assert all(p.incumbent is None and p.bound is None for p in seen)
