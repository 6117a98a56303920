"""Plan + profile -> simulator tables: latencies, link times, servers, validation."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from ppipe.errors import DataError, InputError
from ppipe.sim import kernel as K
from ppipe.sim.layout import build_layout, link_time_us, partition_latencies
from ppipe.sim.synthetic import synthetic_case


def test_link_time_rounds_half_up_like_java():
    assert link_time_us(1250, 10) == 1  # 1.0
    assert link_time_us(625, 10) == 1  # 0.5 -> 1 (Math.round), not banker's 0
    assert link_time_us(1874, 10) == 1
    assert link_time_us(5_242_880, 6) == 6991


def test_partition_latency_sums_clipped_chunks():
    mp, prof = synthetic_case(1)
    prof.latency["A"][1][2, :] = 0.2  # clipped to 1 µs
    lat = partition_latencies(prof, "A", 1, 1, 4)
    t = prof.table("A", 1)
    assert lat[0] == 0
    assert lat[3] == int(np.floor(np.maximum(t[1:4, 2], 1).sum() + 0.5))


def test_servers_group_workers_and_last_stage_is_private():
    mp, prof = synthetic_case(3, n_pipelines=1, max_parts=3)
    pl = mp.pipelines[0]
    for p in pl.partitions:
        p.num_gpu = 5 / p.k
        p.num_gpu_per_server = 1
    if len(pl.partitions) > 1:
        pl.partitions[1].num_gpu_per_server = 2
    lay = build_layout(mp, prof)
    for qi in range(lay.PQ.shape[0]):
        w0, w1 = lay.PQ[qi, K.PQ_W0], lay.PQ[qi, K.PQ_W1]
        assert w1 - w0 == 5
        srvs = lay.WS[w0:w1, K.WS_SRV]
        if lay.PQ[qi, K.PQ_LAST]:
            assert len(set(srvs)) == 5 and np.all(lay.S0[srvs, K.S_UID] == -1)
        else:
            part = pl.partitions[qi]
            group = max(part.num_gpu_per_server, pl.partitions[qi + 1].num_gpu_per_server) * part.k
            expect = [i // group for i in range(5)]
            assert list(srvs - srvs[0]) == expect
            assert np.all(lay.S0[srvs, K.S_NET] == link_time_us(prof.cut_bytes[part.end - 1], 10.0))


def test_entity_ids_follow_reference_construction_order():
    mp, prof = synthetic_case(7)
    lay = build_layout(mp, prof, "nexus")
    kinds = lay.ENT[:, 0]
    assert kinds[-2] == K.K_FRONT and kinds[-1] == K.K_GEN
    # workers appear in pool order
    assert np.all(np.diff(lay.ENT[kinds == K.K_WORKER, 1]) == 1)
    assert sorted(lay.inner_uid) == list(np.nonzero(kinds == K.K_INNER)[0])


def test_empty_pool_pipelines_are_skipped():
    mp, prof = synthetic_case(2, n_pipelines=2)
    mp.pipelines[0].partitions[0].num_gpu = 0
    lay = build_layout(mp, prof)
    assert lay.skipped_pipelines == [0] and lay.plan_pipelines == [1]


@pytest.mark.parametrize("edit, exc", [
    (lambda p: setattr(p.pipelines[0].partitions[-1], "layers", [p.pipelines[0].partitions[-1].start, 99]), DataError),
    (lambda p: setattr(p.pipelines[0].partitions[0], "gpu", "H100"), DataError),
    (lambda p: setattr(p.pipelines[0].partitions[0], "mps", 3), DataError),
    (lambda p: [setattr(q, "bs", 64) for q in p.pipelines[0].partitions], DataError),
    (lambda p: (setattr(p, "sla", 0), p.config.update(sla=0)), DataError),
])
def test_mismatched_plans_are_one_line_errors(edit, exc):
    mp, prof = synthetic_case(5)
    bad = copy.deepcopy(mp)
    edit(bad)
    with pytest.raises(exc) as info:
        build_layout(bad, prof)
    assert "\n" not in str(info.value)


def test_unknown_balancer():
    mp, prof = synthetic_case(5)
    with pytest.raises(InputError):
        build_layout(mp, prof, "round-robin")
