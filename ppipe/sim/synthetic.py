"""Small made-up models and plans, for tests, demos and property checks.

Why: the simulator's invariants (one batch per worker at a time, FIFO links,
each request resolved exactly once, ...) should hold for *any* valid plan, not
only the artifact's. :func:`synthetic_case` draws a profile (chunk latency
tables growing with batch size, cut sizes) and a plan over it (1-3 pipelines of
1-3 partitions on two GPU types with MPS splits) from a seed, so property-based
tests can explore many shapes without data files.
"""

from __future__ import annotations

import numpy as np

from ppipe.planfile.plan import ModelPlan, Partition, Pipeline
from ppipe.profiles.model import ModelProfile
from ppipe.sim.layout import link_time_us, partition_latencies

GPUS = ("A", "B")


def synthetic_profile(seed: int, chunks: int = 6, max_batch: int = 8) -> ModelProfile:
    rng = np.random.default_rng([seed, 1])
    latency: dict[str, dict[int, np.ndarray]] = {}
    for gi, g in enumerate(GPUS):
        base = rng.uniform(200, 2000, size=chunks) * (1 + gi)
        latency[g] = {}
        for k in (1, 2):
            mb = max_batch if k == 1 else max_batch // 2
            b = np.arange(1, mb + 1)
            per = base[:, None] * (0.35 + 0.65 * b[None, :]) * (1.6 if k == 2 else 1.0)
            latency[g][k] = np.floor(per)
    cut = rng.uniform(2e4, 6e5, size=chunks - 1)
    return ModelProfile(name="synthetic", cut_bytes=np.floor(cut), latency=latency,
                        runtime_us={"A": float(latency["A"][1][:, 0].sum())}, slo_gpu="A")


def synthetic_plan(profile: ModelProfile, seed: int, n_pipelines: int | None = None,
                   max_parts: int = 3, slo_factor: float = 4.0, workers_scale: float = 1.0,
                   bw_gbps: float = 10.0) -> ModelPlan:
    rng = np.random.default_rng([seed, 2])
    L = profile.num_chunks
    n_pipelines = n_pipelines or int(rng.integers(1, 4))
    pipes = []
    worst = 0.0
    for _ in range(n_pipelines):
        nparts = int(rng.integers(1, min(max_parts, L) + 1))
        cuts = sorted(rng.choice(np.arange(1, L), size=nparts - 1, replace=False).tolist()) if nparts > 1 else []
        bounds = [0] + cuts + [L]
        k_choice = [int(rng.integers(1, 3)) for _ in range(nparts)]
        bs = int(rng.integers(1, 5))
        parts = []
        total = 0.0
        for j in range(nparts):
            g = GPUS[int(rng.integers(0, 2))]
            k = k_choice[j]
            lat = partition_latencies(profile, g, k, bounds[j], bounds[j + 1])
            inst = max(1, int(round(rng.integers(1, 6) * workers_scale)))
            net = 0 if j == nparts - 1 else link_time_us(profile.cut_bytes[bounds[j + 1] - 1], bw_gbps)
            total += lat[bs] + net * bs
            parts.append(Partition(dnn="synthetic", layers=[bounds[j], bounds[j + 1]], gpu=g, mps=k - 1, bs=bs,
                                   num_gpu_per_server=int(rng.integers(1, 3)), num_gpu=inst / k,
                                   lat_infer=float(lat[bs]), lat_trans=float(net * bs),
                                   xput=inst * bs * 1e6 / lat[bs]))
        worst = max(worst, total)
        xput = min(p.xput for p in parts)
        pipes.append(Pipeline(xput=xput, partitions=parts))
    sla = float(slo_factor * worst)
    config = {"dnn_name": "synthetic", "gpu_name_arr": list(GPUS), "sla": sla, "bw_gbps": bw_gbps}
    return ModelPlan(xput=sum(p.xput for p in pipes), config=config, sla=sla, pipelines=pipes)


def synthetic_case(seed: int, **kw) -> tuple[ModelPlan, ModelProfile]:
    prof = synthetic_profile(seed)
    return synthetic_plan(prof, seed, **kw), prof
