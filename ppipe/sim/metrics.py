"""What a run measured (SPEC section 8), computed from the final arrays.

Counting window: requests arriving in [1 ms, duration) count; all shares are
over that count N, as in the reference parser. ``dropped`` = dropped / N,
``violated`` = completed after the deadline / N, attainment =
(1 - dropped) x (1 - violated). A run *passes* (the load-factor criterion)
when dropped + violated <= 1 %, decided on integers: 100 x (drops + lates) <= N.

Two accountings of late requests:

- ``true``: every late completion counts.
- ``reference``: what the artifact's log parser ends up counting. Its inner
  balancers' logs lose the pipeline id, so lateness is only seen on
  single-partition pipelines, and never with the Nexus-style balancer (its
  front log carries no pipeline id either).

GPU utilisation per type = Σ over that type's instances of busy time / k,
divided by (GPUs of that type in the simulated pools x the arrival window),
so MPS instances count 1/k of a GPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ppipe.sim import kernel as K

ACCOUNTINGS = ("true", "reference")


def attainment(requests: int, dropped: int, late: int) -> float | None:
    """SLO attainment = (1 - dropped share) x (1 - late share); None without requests."""
    if requests <= 0:
        return None
    return (1 - dropped / requests) * (1 - late / requests)


def passes(requests: int, dropped: int, late: int) -> bool:
    """At most 1 % of requests dropped or late (vacuously true without requests)."""
    return 100 * (dropped + late) <= requests


@dataclass
class Counts:
    requests: int  # N, counted
    dropped: int
    late: int

    @property
    def dropped_share(self) -> float:
        return self.dropped / self.requests if self.requests else 0.0

    @property
    def violated_share(self) -> float:
        return self.late / self.requests if self.requests else 0.0

    @property
    def attainment(self) -> float:
        value = attainment(self.requests, self.dropped, self.late)
        return 1.0 if value is None else value

    @property
    def passed(self) -> bool:
        return passes(self.requests, self.dropped, self.late)

    def to_json(self) -> dict:
        return {"requests": self.requests, "dropped_requests": self.dropped, "late_requests": self.late,
                "dropped": self.dropped_share, "violated": self.violated_share,
                "attainment": self.attainment, "passed": self.passed}


@dataclass
class SimulationResult:
    """Summary of one run; ``to_json()`` is what ``ppipe simulate --json`` prints."""

    model: str
    balancer: str
    arrivals: dict
    load: float
    duration_s: float
    seed: int | None
    accounting: str
    finished: bool
    aborted: bool
    requests: int
    dropped: float
    violated: float
    attainment: float
    passed: bool
    counts: dict  # accounting -> Counts.to_json()
    completed: int
    arrived: int
    latency_ms: dict
    batch_sizes: list
    queueing_ms: list
    gpu_utilization: dict
    drop_causes: dict
    pipelines: list
    events: int
    sim_time_s: float
    wall_seconds: float
    extra: dict = field(default_factory=dict)

    @property
    def requests_per_wall_second(self) -> float:
        return self.arrived / self.wall_seconds if self.wall_seconds > 0 else float("inf")

    def to_json(self) -> dict:
        d = asdict(self)
        d["requests_per_wall_second"] = self.requests_per_wall_second
        return d


def _pct(values: np.ndarray, qs=(50, 90, 99)) -> dict:
    if len(values) == 0:
        return {f"p{q}": None for q in qs} | {"mean": None, "max": None}
    out = {f"p{q}": float(np.percentile(values, q)) for q in qs}
    out["mean"] = float(values.mean())
    out["max"] = float(values.max())
    return out


def counts_for(R: np.ndarray, late_pipe_mask: np.ndarray, win0: int, win1: int) -> Counts:
    arr = R[:, K.R_ARR]
    cnt = (arr >= win0) & (arr < win1) & (R[:, K.R_STATUS] != K.ST_PENDING)
    st = R[:, K.R_STATUS]
    dropped = cnt & (st == K.ST_DROPPED)
    late = cnt & (st == K.ST_DONE) & (R[:, K.R_DONE] > R[:, K.R_DL])
    if late.any():
        pipes = R[:, K.R_PIPE]
        late &= late_pipe_mask[np.clip(pipes, 0, None)] & (pipes >= 0)
    return Counts(int(cnt.sum()), int(dropped.sum()), int(late.sum()))


def late_masks(layout) -> dict[str, np.ndarray]:
    n = max(layout.n_pipelines, 1)
    true_mask = np.ones(n, dtype=bool)
    ref = np.zeros(n, dtype=bool)
    if layout.balancer == "reservation":
        ref[: layout.n_pipelines] = layout.PP[:, K.PP_NQ] == 1
    return {"true": true_mask, "reference": ref}


def summarize(sim, wall_seconds: float) -> SimulationResult:
    """Build the result of a :class:`ppipe.sim.engine.Simulation` (finished or not)."""
    lay = sim.layout
    R, B, W = sim.R, sim.B, sim.W
    G = sim.G
    win0, win1 = int(G[K.G_WIN0]), int(G[K.G_WIN1])
    masks = late_masks(lay)
    counts = {a: counts_for(R, masks[a], win0, win1) for a in ACCOUNTINGS}
    main = counts[sim.accounting]

    arr = R[:, K.R_ARR]
    st = R[:, K.R_STATUS]
    cnt = (arr >= win0) & (arr < win1) & (st != K.ST_PENDING)
    done = cnt & (st == K.ST_DONE)
    lat_ms = (R[done, K.R_DONE] - arr[done]) / 1000.0

    nb = int(G[K.G_NB])
    Bu = B[:nb]
    # batch sizes: planned vs achieved, per pool (achieved = mean over batches run there)
    batch_sizes, queueing = [], []
    started = Bu[:, K.B_START] >= 0 if nb else np.zeros(0, dtype=bool)
    for qi, pool in enumerate(lay.pools):
        sel = (Bu[:, K.B_Q] == qi) & started
        sizes = Bu[sel, K.B_SIZE]
        batch_sizes.append({"pipeline": pool.pipeline, "stage": pool.stage, "gpu": pool.gpu, "k": pool.k,
                            "planned": pool.planned_bs, "achieved_mean": float(sizes.mean()) if len(sizes) else None,
                            "batches": int(len(sizes)), "requests": int(sizes.sum())})
        wait = (Bu[sel, K.B_START] - Bu[sel, K.B_ARRIVE]) / 1000.0
        w = np.repeat(wait, sizes) if len(sizes) else wait
        entry = {"pipeline": pool.pipeline, "stage": pool.stage, "worker_queue": _pct(w, (50, 99))}
        if pool.net_us > 0:
            sent = sel & (Bu[:, K.B_SENT] >= 0)
            netq = (Bu[sent, K.B_SENT] - Bu[sent, K.B_LINKIN] - Bu[sent, K.B_SIZE] * pool.net_us) / 1000.0
            entry["link_queue"] = _pct(np.repeat(netq, Bu[sent, K.B_SIZE]) if sent.any() else netq, (50, 99))
        queueing.append(entry)
    # front wait: from arrival to the first stage's worker
    disp = cnt & (st >= K.ST_RUNNING) & (R[:, K.R_B0] >= 0)
    if disp.any():
        b0 = R[disp, K.R_B0]
        front = (B[b0, K.B_ARRIVE] - arr[disp]) / 1000.0
    else:
        front = np.zeros(0)
    queueing.insert(0, {"stage": "front", "balancer_wait": _pct(front, (50, 99))})

    # GPU utilisation per type
    window_s = max(win1, 1) / 1e6
    busy: dict[str, float] = {}
    gpus: dict[str, float] = {}
    for qi, pool in enumerate(lay.pools):
        w0, w1 = int(lay.PQ[qi, K.PQ_W0]), int(lay.PQ[qi, K.PQ_W1])
        busy[pool.gpu] = busy.get(pool.gpu, 0.0) + float(W[w0:w1, K.W_BUSYSUM].sum()) / pool.k / 1e6
        gpus[pool.gpu] = gpus.get(pool.gpu, 0.0) + pool.workers / pool.k
    util = {g: (busy[g] / (gpus[g] * window_s) if gpus[g] > 0 else 0.0) for g in gpus}

    causes = {}
    dropped_sel = cnt & (st == K.ST_DROPPED)
    if dropped_sel.any():
        c = np.bincount(R[dropped_sel, K.R_CAUSE].clip(0), minlength=len(K.DROP_CAUSE_NAMES))
        causes = {K.DROP_CAUSE_NAMES[i]: int(v) for i, v in enumerate(c) if v}

    pipes = []
    for pi, plan_idx in enumerate(lay.plan_pipelines):
        sel = cnt & (R[:, K.R_PIPE] == pi)
        pipes.append({"pipeline": plan_idx, "partitions": int(lay.PP[pi, K.PP_NQ]),
                      "planned_bs": int(lay.PP[pi, K.PP_BS]), "requests": int(sel.sum()),
                      "dropped": int((sel & (st == K.ST_DROPPED)).sum()),
                      "late": int((sel & (st == K.ST_DONE) & (R[:, K.R_DONE] > R[:, K.R_DL])).sum())})

    return SimulationResult(
        model=lay.model, balancer=lay.balancer, arrivals=sim.arrivals_info, load=float(sim.load),
        duration_s=sim.duration_us / 1e6, seed=sim.seed, accounting=sim.accounting, finished=sim.done,
        aborted=sim.aborted, requests=main.requests, dropped=main.dropped_share,
        violated=main.violated_share, attainment=main.attainment, passed=main.passed,
        counts={a: c.to_json() for a, c in counts.items()}, completed=int(done.sum()),
        arrived=int(G[K.G_NEXT]), latency_ms=_pct(lat_ms), batch_sizes=batch_sizes, queueing_ms=queueing,
        gpu_utilization=util, drop_causes=causes, pipelines=pipes, events=int(G[K.G_EVENTS]),
        sim_time_s=float(G[K.G_NOW]) / 1e6, wall_seconds=float(wall_seconds),
        extra={"skipped_pipelines": lay.skipped_pipelines, "sla_us": lay.sla_us})
