"""Same seed -> bit-identical results; different seeds differ; compiled == plain Python."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ppipe.sim import PoissonArrivals, Simulation, simulate
from ppipe.sim._jit import HAVE_NUMBA
from ppipe.sim.synthetic import synthetic_case


def _digest(seed: int, balancer: str) -> str:
    mp, prof = synthetic_case(seed)
    sim = Simulation(mp, prof, PoissonArrivals(mp.xput * 1.1), rng=np.random.default_rng(seed), duration_s=0.5,
                     balancer=balancer)
    sim.run()
    h = hashlib.sha256()
    for a in (sim.R, sim.B, sim.W, sim.S, sim.G):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _metrics(res) -> str:
    d = res.to_json()
    d.pop("wall_seconds")
    d.pop("requests_per_wall_second")
    return json.dumps(d, sort_keys=True)


@pytest.mark.parametrize("balancer", ["reservation", "nexus"])
def test_same_seed_bit_identical_and_seeds_differ(balancer):
    mp, prof = synthetic_case(4)
    a = simulate(mp, prof, load=mp.xput, seed=9, balancer=balancer, duration_s=1.0)
    b = simulate(mp, prof, load=mp.xput, seed=9, balancer=balancer, duration_s=1.0)
    c = simulate(mp, prof, load=mp.xput, seed=10, balancer=balancer, duration_s=1.0)
    assert _metrics(a) == _metrics(b)
    assert _metrics(a) != _metrics(c)
    assert _digest(3, balancer) == _digest(3, balancer)


def test_two_simulations_interleaved_do_not_share_state():
    mp, prof = synthetic_case(8)
    solo = Simulation(mp, prof, PoissonArrivals(mp.xput), rng=np.random.default_rng(1), duration_s=0.3).run()
    x = Simulation(mp, prof, PoissonArrivals(mp.xput), rng=np.random.default_rng(1), duration_s=0.3)
    y = Simulation(mp, prof, PoissonArrivals(mp.xput * 2), rng=np.random.default_rng(2), duration_s=0.3)
    while not (x.done and y.done):
        x.run(until=x.now + 10_000)
        y.run(until=y.now + 10_000)
    assert np.array_equal(solo.R, x.R)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed: only the plain-Python path exists")
def test_compiled_and_plain_python_agree():
    code = ("import sys; sys.path.insert(0, %r); from tests.test_sim_determinism import _digest; "
            "print(_digest(21, 'reservation')); print(_digest(22, 'nexus'))") % os.getcwd()
    env = dict(os.environ, PPIPE_NO_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.split() == [_digest(21, "reservation"), _digest(22, "nexus")]


def test_a_point_that_can_be_stopped_runs_the_same_and_stops_when_asked():
    """``run_point(should_stop=...)`` runs in slices of simulated time: the same result as
    one run when never stopped, and :class:`RunStopped` at the first check when asked."""
    from ppipe.sim.lfsearch import STOP_CHECK_US, RunStopped, run_point

    mp, prof = synthetic_case(3)
    duration = 3 * STOP_CHECK_US / 1e6 + 0.5  # several slices
    whole = run_point(mp, prof, 90, mp.xput, seeds=(0, 1), duration_s=duration, abort=False)
    checks = []
    sliced = run_point(mp, prof, 90, mp.xput, seeds=(0, 1), duration_s=duration, abort=False,
                       should_stop=lambda: checks.append(1) and False)
    assert sliced == whole and len(checks) >= 6  # two seeds, at least three slices each
    with pytest.raises(RunStopped):
        run_point(mp, prof, 90, mp.xput, seeds=(0,), duration_s=duration, should_stop=lambda: True)
