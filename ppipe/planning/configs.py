"""Enumerate the SLO-feasible pipeline configurations of a model, and prune them.

A configuration fixes everything about one pipeline except its instance
counts: the GPU type sequence (its "slot" prefix), the chunk boundaries, the
MPS split per partition and the shared batch size. The MILP then only picks
configurations and instance counts, which is far smaller and tighter than the
reference's formulation over (position, chunk range, k, b) binaries.

Pruning is exact: configuration ``c`` is dropped when another ``c'`` with the
same type sequence has, for every partition, a split ``k'`` that is a multiple
of ``k`` and a per-GPU throughput ``k' t'`` >= ``k t``. Swapping ``c`` for ``c'``
(with ``k'/k`` times the instances) uses the same GPUs at every (position, type)
and serves at least as much, so some optimum never uses ``c``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ppipe.planning.problem import ModelSpec, PlanningProblem


@dataclass(frozen=True)
class StageConfig:
    gpu: int  # index into the cluster's GPU types
    k: int
    start: int
    end: int
    lat_infer: float
    lat_trans: float
    xput: float  # per instance, req/s


@dataclass(frozen=True)
class PipelineConfig:
    stages: tuple[StageConfig, ...]
    batch: int
    latency: float  # planned latency incl. batch building and adjustment

    @property
    def gpu_seq(self) -> tuple[int, ...]:
        return tuple(s.gpu for s in self.stages)

    @property
    def ks(self) -> tuple[int, ...]:
        return tuple(s.k for s in self.stages)


def stage_xput(batch: int, lat_infer: float, k: int, gps: int, dl: float, ul: float) -> float:
    """Per-instance throughput: compute-bound, or bound by the server NIC shared by k*gps instances."""
    return min(1e6 * batch / lat_infer, 1e6 / (dl * k * gps), 1e6 / (ul * k * gps))


def batch_build_us(batch: int, est_xput: float | None, factor: float) -> float:
    """Expected time to gather a batch at the estimated arrival rate (0 without an estimate)."""
    if not est_xput:
        return 0.0
    return factor * 1e6 * (batch - 1) / est_xput


def _tables(problem: PlanningProblem, spec: ModelSpec) -> dict[tuple[int, int], np.ndarray]:
    """(gpu index, k) -> prefix sums over chunks (L+1, max_batch) of clipped latencies."""
    out = {}
    prof = spec.profile
    for gi, g in enumerate(problem.cluster.gpus):
        max_k = 1 if problem.whole_gpus_only else problem.cluster.mps_levels[gi]
        for k in range(1, max_k + 1):
            if not prof.has(g, k):
                continue
            t = np.maximum(prof.table(g, k)[:, : problem.max_batch], 1.0)
            out[(gi, k)] = np.vstack([np.zeros((1, t.shape[1])), np.cumsum(t, axis=0)])
    return out


def enumerate_configs(problem: PlanningProblem, model_index: int, max_parts: int | None = None,
                      prune: bool = True) -> list[PipelineConfig]:
    """All SLO-feasible configurations of one model (dominated ones removed if ``prune``)."""
    spec = problem.models[model_index]
    L = spec.profile.num_chunks
    P = min(max_parts or problem.max_parts, L)
    trans = spec.transmit_us
    gps = problem.cluster.gpus_per_server
    tables = _tables(problem, spec)
    options = sorted(tables)  # (gi, k)
    budget0 = spec.sla - spec.hist_adjustment
    configs: list[PipelineConfig] = []
    for m in range(1, P + 1):
        for cuts in itertools.combinations(range(1, L), m - 1):
            bounds = (0, *cuts, L)
            for b in range(1, problem.max_batch + 1):
                opts = [o for o in options if tables[o].shape[1] >= b]
                if not opts:
                    continue
                trans_total = sum(trans[c - 1] * b for c in cuts)
                budget = budget0 - batch_build_us(b, spec.est_xput, problem.batch_build_factor) - trans_total
                if budget <= 0:
                    continue
                # latency of each option for each stage
                stage_lat = np.array([[tables[o][bounds[p + 1], b - 1] - tables[o][bounds[p], b - 1]
                                       for o in opts] for p in range(m)])  # (m, n_opts)
                for combo in itertools.product(range(len(opts)), repeat=m):
                    lat_sum = sum(stage_lat[p, c] for p, c in enumerate(combo))
                    if lat_sum > budget:
                        continue
                    stages = []
                    for p, c in enumerate(combo):
                        gi, k = opts[c]
                        i, j = bounds[p], bounds[p + 1]
                        lat = float(stage_lat[p, c])
                        dl = trans[i - 1] if 0 < i < L else 1.0
                        ul = trans[j - 1] if 0 < j < L else 1.0
                        stages.append(StageConfig(gi, k, i, j, lat, trans[j - 1] * b if j < L else 0.0,
                                                  stage_xput(b, lat, k, gps[gi], dl, ul)))
                    configs.append(PipelineConfig(tuple(stages), b, budget0 + spec.hist_adjustment - budget + lat_sum))
    return prune_dominated(configs) if prune else configs


def _dominates(a: PipelineConfig, b: PipelineConfig) -> bool:
    """``a`` can replace ``b``: same types, k_a multiple of k_b, per-GPU xput no lower."""
    for sa, sb in zip(a.stages, b.stages):
        if sa.k % sb.k or sa.k * sa.xput < sb.k * sb.xput * (1 - 1e-12):
            return False
    return True


def prune_dominated(configs: list[PipelineConfig]) -> list[PipelineConfig]:
    groups: dict[tuple[int, ...], list[PipelineConfig]] = {}
    for c in configs:
        groups.setdefault(c.gpu_seq, []).append(c)
    kept: list[PipelineConfig] = []
    for seq in sorted(groups):
        # Best first (highest bottleneck per-GPU xput, then lowest latency), so that
        # among equivalent configurations the first one is kept.
        cands = sorted(groups[seq], key=lambda c: (-min(s.k * s.xput for s in c.stages), c.latency, c.batch,
                                                   tuple((s.end, s.k) for s in c.stages)))
        front: list[PipelineConfig] = []
        for c in cands:
            if not any(_dominates(f, c) for f in front):
                front = [f for f in front if not _dominates(c, f)]
                front.append(c)
        kept.extend(front)
    return kept


def fits_slots(used: list[list[tuple[int, ...]]], num_types: int, max_parts: int) -> bool:
    """Whether each model's pipelines fit its |G|^P slots: for every type prefix v,
    at most |G|^(P-|v|) pipelines start with v (Hall's condition on the prefix tree)."""
    for seqs in used:
        counts: dict[tuple[int, ...], int] = {}
        for seq in seqs:
            for m in range(1, len(seq) + 1):
                counts[seq[:m]] = counts.get(seq[:m], 0) + 1
        if any(c > num_types ** (max_parts - len(v)) for v, c in counts.items()):
            return False
    return True
