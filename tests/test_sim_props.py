"""Invariants of the data plane on random small plans (property-based)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ppipe.sim import PoissonArrivals, Simulation
from ppipe.sim import kernel as K
from ppipe.sim.synthetic import synthetic_case


def check_invariants(sim: Simulation) -> None:
    R, B, M, lay = sim.R, sim.B, sim.M, sim.layout
    nb = int(sim.G[K.G_NB])
    Bu = B[:nb]
    # every request is dropped or completed, exactly once
    assert sim.done and not sim.aborted
    st_ = R[:, K.R_STATUS]
    assert np.all((st_ == K.ST_DROPPED) | (st_ == K.ST_DONE))
    assert int(sim.G[K.G_NDONE]) == int((st_ == K.ST_DONE).sum())
    assert int(sim.G[K.G_NDROP]) == int((st_ == K.ST_DROPPED).sum())
    # membership: each request in at most one batch per stage; completed ones in exactly one per stage
    seen = np.zeros((R.shape[0], lay.stages), dtype=np.int64)
    for b in range(nb):
        mem = M[Bu[b, K.B_M0]: Bu[b, K.B_M0] + Bu[b, K.B_SIZE]]
        assert len(mem) >= 1
        np.add.at(seen[:, Bu[b, K.B_STAGE]], mem, 1)
        assert np.all(R[mem, K.R_B0 + Bu[b, K.B_STAGE]] == b)
    assert seen.max() <= 1
    done = st_ == K.ST_DONE
    for r in np.nonzero(done)[0]:
        nq = lay.PP[R[r, K.R_PIPE], K.PP_NQ]
        assert seen[r, :nq].sum() == nq
        # no request served before it arrived; stages in order; completion = last stage's finish
        prev_fin = R[r, K.R_ARR]
        for s in range(nq):
            b = R[r, K.R_B0 + s]
            assert Bu[b, K.B_ARRIVE] >= prev_fin
            assert Bu[b, K.B_START] >= Bu[b, K.B_ARRIVE]
            prev_fin = Bu[b, K.B_FINISH]
        assert R[r, K.R_DONE] == prev_fin
    # a worker never runs two batches at once, and runs them in arrival order
    for w in range(lay.n_workers):
        sel = np.nonzero(Bu[:, K.B_W] == w)[0]
        if len(sel) == 0:
            continue
        assert np.all(Bu[sel, K.B_START] >= 0)
        order = np.argsort(Bu[sel, K.B_START], kind="stable")
        starts, fins = Bu[sel, K.B_START][order], Bu[sel, K.B_FINISH][order]
        assert np.all(starts[1:] >= fins[:-1])
        assert np.all(np.diff(sel[order]) > 0) or len(sel) == 1  # FIFO: creation order = start order
        q = lay.WS[w, K.WS_Q]
        assert np.all(fins - starts == lay.LAT[q, Bu[sel, K.B_SIZE][order]])
    # links: FIFO in order of arrival at the link, never overlapping, work-conserving
    srv_of_batch = np.where(Bu[:, K.B_W] >= 0, lay.WS[np.clip(Bu[:, K.B_W], 0, None), K.WS_SRV], -1)
    for s in range(sim.S.shape[0]):
        net = sim.S[s, K.S_NET]
        sel = np.nonzero((srv_of_batch == s) & (Bu[:, K.B_LINKIN] >= 0))[0]
        if len(sel) == 0:
            continue
        # batches that reach the link at the same instant may go in either order (seen: two
        # workers' batches at once, the later-made one sent first): ties by when they were sent
        order = np.lexsort((Bu[sel, K.B_SENT], Bu[sel, K.B_LINKIN]))
        sel = sel[order]
        sent = Bu[sel, K.B_SENT]
        start = sent - Bu[sel, K.B_SIZE] * net
        assert np.all(start >= Bu[sel, K.B_LINKIN])
        assert np.all(start[1:] >= sent[:-1])
        expect = np.maximum(Bu[sel, K.B_LINKIN][1:], sent[:-1])
        assert np.all(start[1:] == expect)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), load_scale=st.floats(0.2, 2.5), balancer=st.sampled_from(["reservation", "nexus"]))
@example(seed=1607, load_scale=0.828125, balancer="nexus")  # simultaneous arrivals at a link
def test_invariants_random_plans(seed, load_scale, balancer):
    mp, prof = synthetic_case(seed)
    sim = Simulation(mp, prof, PoissonArrivals(max(mp.xput * load_scale, 1.0)), rng=np.random.default_rng(seed),
                     duration_s=0.3, balancer=balancer)
    sim.run()
    check_invariants(sim)


@pytest.mark.parametrize("balancer", ["reservation", "nexus"])
def test_ample_plan_light_load_meets_every_slo(balancer):
    for seed in range(5):
        mp, prof = synthetic_case(seed, slo_factor=6.0, workers_scale=3.0)
        sim = Simulation(mp, prof, PoissonArrivals(mp.xput * 0.1), rng=np.random.default_rng(seed),
                         duration_s=1.0, balancer=balancer)
        sim.run()
        res = sim.result()
        assert res.requests > 10
        assert res.attainment == 1.0, (seed, res.drop_causes)


@pytest.mark.parametrize("balancer", ["reservation", "nexus"])
def test_load_factor_200_collapses(balancer):
    for seed in range(3):
        mp, prof = synthetic_case(seed, slo_factor=3.0)
        sim = Simulation(mp, prof, PoissonArrivals(mp.xput * 2.0), rng=np.random.default_rng(seed),
                         duration_s=1.0, balancer=balancer)
        sim.run()
        check_invariants(sim)
        assert sim.result().attainment < 0.75


def test_step_and_run_until_match_one_run():
    mp, prof = synthetic_case(11)
    mk = lambda: Simulation(mp, prof, PoissonArrivals(mp.xput), rng=np.random.default_rng(3), duration_s=0.2)  # noqa: E731
    a = mk().run()
    b = mk()
    while b.step():
        pass
    c = mk()
    t = 0
    snaps = []
    while not c.done:
        t += 7_919
        c.run(until=t)
        assert c.now >= min(t, c.now)
        snaps.append(c.snapshot())
    for x in (b, c):
        assert np.array_equal(a.R, x.R) and np.array_equal(a.B, x.B)
    assert snaps[-1].done and snaps[-1].completed + snaps[-1].dropped == a.total_requests
    assert all(s1.arrived <= s2.arrived for s1, s2 in zip(snaps, snaps[1:]))


def test_snapshot_fields_midway():
    mp, prof = synthetic_case(5)
    sim = Simulation(mp, prof, PoissonArrivals(mp.xput), rng=np.random.default_rng(1), duration_s=0.5)
    sim.run(until=200_000)
    s = sim.snapshot()
    assert s.time_us == 200_000 and 0 < s.arrived < s.total_requests
    assert all(0.0 <= p["busy_now"] <= 1.0 and 0.0 <= p["utilization"] <= 1.0 for p in s.pools)
    assert len(s.recent_latency_ms) <= 512 and all(v > 0 for v in s.recent_latency_ms)
    assert s.to_json()["front_queue"] >= 0
