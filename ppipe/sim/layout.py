"""From one model's plan to the simulator's static arrays (SPEC section 7).

Why a separate step: the plan says *what* runs where (pipelines of partitions
on pools of GPU instances); the event loop needs flat integer tables. This
module validates the plan against the profile (chunk ranges inside the model,
GPU type and MPS split profiled, planned batch size profiled), then lays out

- pools: partition p of a pipeline gets ``round(num_gpu x k)`` workers;
- latencies: ``lat[pool][b]`` = Σ of the partition's chunk latencies at batch
  ``b`` on its GPU type and MPS split (each clipped below at 1 µs), rounded to
  whole µs (the artifact's tables are integers already);
- servers: workers of a non-last partition are grouped, in order, into servers
  of ``max(gpus_per_server of this partition, of the next) x k`` workers; each
  has one uplink sending ``b x round(cut_bytes x 8 / (bw x 1000))`` µs per
  batch. Last-partition workers send nothing; each is its own (down)link
  endpoint for reservations, as in the reference;
- entity ids in the reference simulator's construction order, which fixes the
  order of events at equal times.

Pipelines with an empty pool cannot serve and are left out (listed in
``skipped_pipelines``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ppipe.errors import DataError, InputError
from ppipe.planfile.plan import ModelPlan
from ppipe.profiles.model import ModelProfile
from ppipe.sim import balancers
from ppipe.sim import kernel as K


def link_time_us(cut_bytes: float, bw_gbps: float) -> int:
    """Per-request link time: the reference's ``Math.round(bytes x 8 / (bw x 1000))``."""
    return int(math.floor(float(cut_bytes) * 8.0 / (float(bw_gbps) * 1000.0) + 0.5))


def partition_latencies(profile: ModelProfile, gpu: str, k: int, start: int, end: int) -> np.ndarray:
    """Integer µs latency of chunks [start, end) for b = 1..max_batch (index 0 unused)."""
    table = profile.table(gpu, k)
    lat = np.maximum(np.asarray(table[start:end], dtype=float), 1.0).sum(axis=0)
    out = np.zeros(len(lat) + 1, dtype=np.int64)
    out[1:] = np.maximum(np.floor(lat + 0.5), 1).astype(np.int64)
    return out


@dataclass
class Pool:
    """One partition's pool of workers, for reports and snapshots."""

    pipeline: int  # index in the plan's pipeline list
    stage: int
    gpu: str
    k: int
    chunks: tuple[int, int]
    workers: int
    planned_bs: int
    net_us: int  # per-request uplink time (0 for the last stage)


@dataclass
class Layout:
    model: str
    sla_us: int
    balancer: str
    stages: int  # most partitions in any pipeline
    plan_pipelines: list[int]  # plan index of each simulated pipeline
    skipped_pipelines: list[int]
    pools: list[Pool]
    PQ: np.ndarray
    LAT: np.ndarray
    PP: np.ndarray
    WS: np.ndarray
    FRONTW: np.ndarray
    ENT: np.ndarray
    S0: np.ndarray  # initial server table
    n_inner: int
    inner_q: list[int] = field(default_factory=list)
    inner_uid: list[int] = field(default_factory=list)

    @property
    def n_workers(self) -> int:
        return int(self.WS.shape[0])

    @property
    def n_pipelines(self) -> int:
        return int(self.PP.shape[0])


def validate(mp: ModelPlan, profile: ModelProfile) -> None:
    """One-line errors for a plan whose partitions the profile cannot back."""
    L = profile.num_chunks
    if mp.name and profile.name and mp.name != profile.name:
        raise InputError(f"plan model {mp.name!r} does not match profile {profile.name!r}")
    for i, pl in enumerate(mp.pipelines):
        for j, part in enumerate(pl.partitions):
            where = f"model {mp.name}: pipeline {i} partition {j}"
            if not (0 <= part.start < part.end <= L):
                raise DataError(f"{where}: chunks {part.layers} outside the model's {L} chunks")
            if not profile.has(part.gpu, part.k):
                raise DataError(f"{where}: {part.gpu} with MPS split k={part.k} is not profiled for this model")
            mb = profile.max_batch(part.gpu, part.k)
            if not 1 <= int(part.bs) <= mb:
                raise DataError(f"{where}: batch size {part.bs} not profiled on {part.gpu} k={part.k} (max {mb})")
        if pl.partitions and pl.partitions[-1].end != L:
            raise DataError(f"model {mp.name}: pipeline {i} ends at chunk {pl.partitions[-1].end}, "
                            f"the model has {L}")
        if len({int(p.bs) for p in pl.partitions}) > 1:
            raise DataError(f"model {mp.name}: pipeline {i} mixes batch sizes; the data plane needs one")


#: Most GPU instances (workers) one simulation may have: entity ids are UID_BITS wide,
#: and each worker may add a link entity.
MAX_WORKERS = K.UID_MASK // 2 - 16


def build_layout(mp: ModelPlan, profile: ModelProfile, balancer: str = "reservation") -> Layout:
    balancers.get(balancer)  # the table of balancers: an unknown name is a one-line error listing them
    validate(mp, profile)
    try:
        sla = float(mp.sla or mp.config.get("sla", 0.0))
        bw = float(mp.config.get("bw_gbps", 0) or 0)
    except (TypeError, ValueError):
        raise DataError(f"model {mp.name}: 'sla' and config 'bw_gbps' must be numbers "
                        f"(got {mp.sla!r}, {mp.config.get('bw_gbps')!r})") from None
    if not (sla > 0 and math.isfinite(sla)):
        raise DataError(f"model {mp.name}: the plan has no positive 'sla'")
    for i, pl in enumerate(mp.pipelines):
        for j, p in enumerate(pl.partitions):
            n = p.num_gpu if isinstance(p.num_gpu, (int, float)) and not isinstance(p.num_gpu, bool) else None
            if n is None or not (math.isfinite(n) and n >= 0):
                raise DataError(f"model {mp.name}: pipeline {i} partition {j}: bad num_gpu {p.num_gpu!r}")
    # one worker (and entity) per GPU instance: an absurd num_gpu (1e12) is refused here, before
    # a loop over the workers that would never end
    workers = sum(float(p.num_gpu) * p.k for pl in mp.pipelines for p in pl.partitions)
    if workers > MAX_WORKERS:
        raise InputError(f"model {mp.name}: the plan asks for {workers:.4g} GPU instances; the simulator "
                         f"handles at most {MAX_WORKERS:,} (is num_gpu right?)")
    used, skipped = [], []
    for i, pl in enumerate(mp.pipelines):
        (used if all(p.instances > 0 for p in pl.partitions) else skipped).append(i)
    stages = max([len(mp.pipelines[i].partitions) for i in used], default=1)
    if any(len(mp.pipelines[i].partitions) > 1 for i in used) and not bw > 0:
        raise DataError(f"model {mp.name}: partitioned pipelines need a positive 'bw_gbps' in the config")

    pq_rows, lat_rows, pp_rows, ws_rows, pools = [], [], [], [], []
    servers: list[list[int]] = []  # [uid, q, net]
    ent: list[tuple[int, int]] = []
    inner_q, inner_uid = [], []
    maxb = 1
    for pi, plan_idx in enumerate(used):
        parts = mp.pipelines[plan_idx].partitions
        q0 = len(pq_rows)
        pp_rows.append([q0, len(parts), int(parts[0].bs), 1])
        # slack after each stage: Σ (lat_infer + lat_trans) of later partitions (plan values)
        slacks = [0] * len(parts)
        for j in range(len(parts) - 2, -1, -1):
            slacks[j] = slacks[j + 1] + int(parts[j + 1].lat_infer) + int(parts[j + 1].lat_trans)
        for j, part in enumerate(parts):
            last = j == len(parts) - 1
            lat = partition_latencies(profile, part.gpu, part.k, part.start, part.end)
            maxb = max(maxb, len(lat) - 1)
            lat_rows.append(lat)
            net = 0 if last else link_time_us(profile.cut_bytes[part.end - 1], bw)
            ilb = -1
            if j > 0:
                ilb = len(inner_q)
                inner_q.append(len(pq_rows))
                inner_uid.append(-1)
            if not last:
                # the balancer feeding the next stage is created first (reference order)
                inner_uid_pos = len(inner_q)  # index the next stage's balancer will get
                ent.append((K.K_INNER, inner_uid_pos))
            n = part.instances
            w0 = len(ws_rows)
            group = (max(int(part.num_gpu_per_server or 1), int(parts[j + 1].num_gpu_per_server or 1))
                     * part.k if not last else 1)
            srv = -1
            for wi in range(n):
                if last or wi % group == 0:
                    srv = len(servers)
                    if last:
                        servers.append([-1, len(pq_rows), 0])
                    else:
                        servers.append([len(ent), len(pq_rows), net])
                        ent.append((K.K_LINK, srv))
                ws_rows.append([len(pq_rows), srv, len(ent), pi])
                ent.append((K.K_WORKER, len(ws_rows) - 1))
            pq_rows.append([pi, j, int(last), w0, w0 + n, int(part.bs), net, len(lat) - 1, slacks[j], ilb, part.k])
            pools.append(Pool(pipeline=plan_idx, stage=j, gpu=part.gpu, k=part.k, chunks=(part.start, part.end),
                              workers=n, planned_bs=int(part.bs), net_us=net))
    # inner balancer entity ids: the K_INNER entries were appended in creation order
    k = 0
    for uid, (kind, _) in enumerate(ent):
        if kind == K.K_INNER:
            ent[uid] = (K.K_INNER, k)
            inner_uid[k] = uid
            k += 1
    ent.append((K.K_FRONT, 0))  # the last two ids: front balancer, generator (engine: G_FRONT_UID, G_GEN_UID)
    ent.append((K.K_GEN, 0))
    if len(ent) > K.UID_MASK:
        raise InputError(f"model {mp.name}: too many workers to simulate ({len(ws_rows)})")

    nq = len(pq_rows)
    LAT = np.zeros((max(nq, 1), maxb + 1), dtype=np.int64)
    for i, row in enumerate(lat_rows):
        LAT[i, : len(row)] = row
    PQ = np.array(pq_rows, dtype=np.int64).reshape(-1, K.NPQ)
    PP = np.array(pp_rows, dtype=np.int64).reshape(-1, K.NPP)
    WS = np.array(ws_rows, dtype=np.int64).reshape(-1, K.NWS)
    FRONTW = np.array([w for w in range(len(ws_rows)) if pq_rows[ws_rows[w][0]][K.PQ_STAGE] == 0],
                      dtype=np.int64)
    ENT = np.array(ent, dtype=np.int64).reshape(-1, 2)
    S0 = np.zeros((max(len(servers), 1), K.NS), dtype=np.int64)
    S0[:, K.S_HEAD] = -1
    S0[:, K.S_TAIL] = -1
    for s, (uid, q, net) in enumerate(servers):
        S0[s, K.S_UID] = uid
        S0[s, K.S_Q] = q
        S0[s, K.S_NET] = net
    return Layout(model=mp.name, sla_us=int(sla), balancer=balancer, stages=stages, plan_pipelines=used,
                  skipped_pipelines=skipped, pools=pools, PQ=PQ, LAT=LAT, PP=PP, WS=WS, FRONTW=FRONTW,
                  ENT=ENT, S0=S0, n_inner=len(inner_q), inner_q=inner_q, inner_uid=inner_uid)
