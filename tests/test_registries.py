"""The tables people add to (schedulers, balancers, solver backends, arrival kinds):
one registration is enough for every reader to see a new entry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ppipe import schedulers
from ppipe.errors import InputError
from ppipe.planfile.naming import parse_plan_file_name, plan_file_name
from ppipe.planning.baselines import solve_np
from ppipe.planning.solvers import SOLVERS
from ppipe.registry import Registry, resolve
from ppipe.schedulers import Scheduler


def solve_toy(problem, **kw):
    """A toy scheduler: NP's plan under another name."""
    return replace(solve_np(problem, **kw), scheduler="toy")


@pytest.fixture
def toy():
    entry = schedulers.register(Scheduler("toy", "Toy", "toy-tag", solve_toy, 30,
                                          description="NP under another name (test)"))
    try:
        yield entry
    finally:
        schedulers.SCHEDULERS.unregister("toy")


def test_registry_basics():
    r: Registry = Registry("widget")
    r.register(Scheduler("a", "A", "a", "x:y", 1))
    with pytest.raises(ValueError):
        r.register(Scheduler("a", "A", "a", "x:y", 1))
    with pytest.raises(InputError, match="unknown widget 'b' \\(use a\\)"):
        r.get("b")
    assert r.names() == ("a",) and "a" in r and len(r) == 1
    assert resolve("ppipe.planning.solve:solve").__name__ == "solve"


def test_builtin_schedulers_resolve_and_order():
    assert set(schedulers.names()) >= {"ppipe", "np", "dart-r", "np-single"}
    for s in schedulers.SCHEDULERS:
        assert callable(s.solve_function())
    assert [s.name for s in schedulers.ordered(compare_only=True)] == ["np", "dart-r", "ppipe"]
    assert schedulers.by_tag("v4") == "ppipe" and schedulers.by_tag("bl") == "np"


def test_toy_scheduler_everywhere(toy):
    from ppipe.experiments import variants
    from ppipe.experiments.settings import build_settings
    from ppipe_tui.state import compare_schedulers, scheduler_label

    # plan file names carry its tag, and the tag maps back to it
    name = plan_file_name(["a", "b"], [1, 1], ["L4", "T4"], [2, 3], 10, 5, "toy")
    assert name.endswith("_toy-tag.json") and parse_plan_file_name(name).scheduler == "toy"
    # experiment variants, figure order and labels
    assert "toy" in variants.for_set("maf19") and variants.label("toy") == "Toy"
    order = variants.order()
    assert order.index("dart-r") < order.index("toy") < order.index("ppipe-nexus") < order.index("ppipe")
    assert all("toy" in s.variants for s in build_settings("maf19", groups=["G2"], clusters=["HC2"]))
    # the TUI's comparison list and labels
    assert compare_schedulers() == ("np", "dart-r", "toy", "ppipe")
    assert scheduler_label("toy") == "Toy"


def test_toy_scheduler_solves(toy, tmp_path):
    from ppipe.planning.problem import ClusterSpec, build_problem
    from ppipe.planning.solve import solve
    from ppipe.profiles.store import ProfileStore

    store = ProfileStore.open()
    cluster = ClusterSpec(("A100", "T4"), (2, 4), (4, 4), (2, 2), 10.0)
    problem = build_problem([store.get("resnet50")], cluster)
    res = solve(problem, "toy")
    assert res.scheduler == "toy" and res.status == "optimal" and res.plan is not None


def test_unknown_balancer_is_an_error():
    from ppipe.sim import balancers
    from ppipe.sim import kernel as K
    from ppipe.sim.engine import Simulation
    from ppipe.sim.synthetic import synthetic_case

    assert balancers.get("reservation").code == K.BAL_RESERVATION
    assert balancers.get("nexus").code == K.BAL_NEXUS
    with pytest.raises(InputError, match="unknown balancer 'fifo'"):
        mp, prof = synthetic_case(1)
        Simulation(mp, prof, np.array([0, 10]), balancer="fifo")


def test_solver_backends_say_if_available():
    assert SOLVERS.get("highs").is_available()
    assert isinstance(SOLVERS.get("gurobi").is_available(), bool)
    with pytest.raises(InputError, match="unknown solver"):
        SOLVERS.get("cplex")


def test_arrival_kinds():
    from ppipe.sim.arrivals import ARRIVALS, BurstyArrivals, arrival_factory, arrivals_label, arrivals_spec

    assert ARRIVALS.names() == ("poisson", "bursty", "trace", "calibrated")
    spec = arrivals_spec("bursty", ratio=3.0)
    assert isinstance(arrival_factory(spec)(10.0), BurstyArrivals)
    assert "ratio 3" in arrivals_label(spec)
    with pytest.raises(InputError):
        arrivals_spec("bursty", ratio=-1.0)
    with pytest.raises(InputError, match="unknown arrival process"):
        arrivals_spec("weibull")
