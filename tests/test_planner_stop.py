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
