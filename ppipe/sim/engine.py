"""The simulator's public object: build, step, run, snapshot, summarise.

Usage (this is the API the TUI animates)::

    sim = Simulation(model_plan, profile, PoissonArrivals(load=800),
                     rng=np.random.default_rng(7), balancer="reservation")
    while not sim.done:
        sim.run(until=sim.now + 100_000)   # advance 100 ms of simulated time
        snap = sim.snapshot()              # counters, busy shares, queues, recent latencies
    result = sim.result()                  # SimulationResult (dataclass, .to_json())

or in one call: ``simulate(model_plan, profile, load=800, seed=7)``.

A Simulation owns its arrays (no global or class-level state), so several can
run side by side; the same plan, arrivals and seed give bit-identical results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ppipe.errors import InputError
from ppipe.planfile.plan import ModelPlan
from ppipe.profiles.model import ModelProfile
from ppipe.sim import balancers
from ppipe.sim import kernel as K
from ppipe.sim.arrivals import ArrivalProcess, FixedArrivals, PoissonArrivals
from ppipe.sim.layout import Layout, build_layout
from ppipe.sim.metrics import ACCOUNTINGS, SimulationResult, late_masks, summarize

#: Simulated arrival window of the reference experiments (30 s).
DEFAULT_DURATION_S = 30.0
#: Longest window one simulation may have (times are int64 µs; beyond a few days nothing is learnt).
MAX_DURATION_S = 1e7
#: A cap callers (``ppipe simulate --max-requests``) put on one simulation's requests:
#: a typo (``--lf 100000`` for 100) is refused in a line instead of running for a minute in 10 GB.
DEFAULT_MAX_REQUESTS = 5_000_000
#: Share of the memory available now that one simulation may plan to use.
MEMORY_SHARE = 0.7
#: Requests arriving before this (1 ms) are warm-up and do not count.
WARMUP_US = 1000
RING_SIZE = 512


@dataclass
class Snapshot:
    """A live view of a running simulation (cheap to take)."""

    time_us: int
    arrived: int
    total_requests: int
    completed: int
    dropped: int
    late: int
    front_queue: int
    pools: list  # per pool: gpu, stage, workers, busy_now (share), utilization (so far), queued batches
    links_queued: int
    recent_latency_ms: list
    done: bool

    def to_json(self) -> dict:
        return dict(self.__dict__)


def bytes_per_request(layout: Layout) -> int:
    """Bytes the simulator allocates per request for ``layout`` (request, batch, heap and
    inner-queue rows, and the arrival generation's temporaries)."""
    st = max(layout.stages, 1)
    words = (K.R_B0 + st) + st * (K.B_ROUTE + st) + st + 2 * st
    if balancers.get(layout.balancer).inner_queues and layout.n_inner:
        words += layout.n_inner
    return 8 * words + 64


def available_memory_bytes() -> int | None:
    """Memory the system can give now (``MemAvailable``), None where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n < 2**30 * 1e6 else f"{n / 2**30:.3g} GiB"


def _count(n: float) -> str:
    """``1,234,567``; ``1.5e+21`` for numbers too long to read."""
    return f"{n:,.0f}" if n < 1e15 else f"{n:.3g}"


def check_size(requests: float, layout: Layout, max_requests: int | None = None, *, what: str = "",
               hint: str = "") -> None:
    """Refuse (one-line InputError) a simulation of ``requests`` requests above ``max_requests``
    or needing more memory than the machine has available; before anything is allocated."""
    need = requests * bytes_per_request(layout)
    head = f"{what + ' is ' if what else ''}about {_count(requests)} requests"
    if max_requests is not None and requests > max_requests:
        raise InputError(f"{head}, above the cap of {max_requests:,} (needs about {_gib(need)})"
                         f"{'; ' + hint if hint else ''}")
    avail = available_memory_bytes()
    if avail is not None and need > MEMORY_SHARE * avail:
        raise InputError(f"{head} needs about {_gib(need)} of memory; {_gib(avail)} is available "
                         "(a shorter --duration or a lower load)")


class Simulation:
    """One model's plan served under one arrival stream (SPEC section 7).

    ``arrivals`` is an :class:`~ppipe.sim.arrivals.ArrivalProcess` or an array of
    arrival times in µs. ``rng`` (a seeded ``numpy.random.Generator``) is used
    only to draw the arrivals. ``fail_limit`` stops the run (``aborted``) as
    soon as more than that many counted requests were dropped or late under
    ``accounting`` -- the load-factor search uses it to give up on runs that
    have already failed.
    """

    def __init__(self, model_plan: ModelPlan, profile: ModelProfile, arrivals, *,
                 rng: np.random.Generator | None = None, seed: int | None = None,
                 balancer: str = "reservation", duration_s: float = DEFAULT_DURATION_S,
                 accounting: str = "true", fail_limit: int | None = None, layout: Layout | None = None,
                 max_requests: int | None = None, size_hint: str = ""):
        if accounting not in ACCOUNTINGS:
            raise InputError(f"unknown accounting {accounting!r} (choose {' or '.join(ACCOUNTINGS)})")
        if not 0 < duration_s <= MAX_DURATION_S:
            raise InputError(f"duration must be a number of seconds in (0, {MAX_DURATION_S:g}], got {duration_s:g} s")
        balancers.get(balancer)  # an unknown name is an error, whatever the layout says
        self.layout = layout if layout is not None else build_layout(model_plan, profile, balancer)
        self.accounting = accounting
        self.seed = seed
        if rng is None:
            rng = np.random.default_rng(0 if seed is None else seed)
        self.duration_us = int(round(duration_s * 1e6))
        if isinstance(arrivals, ArrivalProcess):
            proc = arrivals
        else:
            proc = FixedArrivals(np.asarray(arrivals, dtype=np.int64))
        rate = getattr(proc, "load", None)
        expected, what = None, ""
        if isinstance(proc, FixedArrivals):
            expected = float(len(proc.times_us))
        elif rate:
            expected, what = float(rate) * duration_s, f"{_count(float(rate))} req/s for {duration_s:g} s"
        if expected is not None:  # before the arrivals are drawn: they alone can take gigabytes
            check_size(expected, self.layout, max_requests, what=what, hint=size_hint)
        times = np.asarray(proc.generate(self.duration_us, rng), dtype=np.int64)
        if len(times) and (np.any(np.diff(times) < 0) or times[0] < 0):
            raise InputError("arrival times must be sorted and non-negative")
        self.load = float(getattr(proc, "load", 0.0) or (len(times) / (self.duration_us / 1e6)))
        self.arrivals_info = proc.describe()
        self._alloc(times, fail_limit)
        self.wall_seconds = 0.0

    # ------------------------------------------------------------------ state
    def _alloc(self, times: np.ndarray, fail_limit: int | None) -> None:
        lay = self.layout
        n = len(times)
        st = lay.stages
        self.R = np.full((n, K.R_B0 + st), -1, dtype=np.int64)
        self.R[:, K.R_ARR] = times
        self.R[:, K.R_DL] = times + lay.sla_us
        self.R[:, K.R_STATUS] = K.ST_PENDING
        nb = n * st + 1
        self.B = np.full((nb, K.B_ROUTE + st), -1, dtype=np.int64)
        self.M = np.zeros(n * st + 1, dtype=np.int64)
        self.W = np.zeros((max(lay.n_workers, 1), K.NW), dtype=np.int64)
        self.W[:, K.W_BUSY] = -1
        self.W[:, K.W_HEAD] = -1
        self.W[:, K.W_TAIL] = -1
        self.S = lay.S0.copy()
        nent = lay.ENT.shape[0]
        self.EV = np.zeros((nent, 2), dtype=np.int64)
        self.EV[:, 0] = -1
        hcap = nent + n * st + 16
        self.HK = np.zeros(hcap, dtype=np.int64)
        self.HV = np.zeros(hcap, dtype=np.int64)
        if balancers.get(lay.balancer).inner_queues and lay.n_inner:
            self.IQ = np.zeros((lay.n_inner, max(n, 1)), dtype=np.int64)
        else:
            self.IQ = np.zeros((1, 1), dtype=np.int64)
        self.IL = np.zeros((max(lay.n_inner, 1), K.NIL), dtype=np.int64)
        self.IL[:, K.IL_EXAM] = -1
        for i, (q, uid) in enumerate(zip(lay.inner_q, lay.inner_uid)):
            self.IL[i, K.IL_Q] = q
            self.IL[i, K.IL_UID] = uid
        self.RING = np.zeros(RING_SIZE, dtype=np.int64)
        self.OFF = np.zeros((3, max(st, 1)), dtype=np.int64)
        self.PP = lay.PP.copy()
        acc_mask = late_masks(lay)[self.accounting]
        if self.PP.shape[0]:
            self.PP[:, K.PP_LATE] = acc_mask[: self.PP.shape[0]].astype(np.int64)
        G = np.zeros(K.NG, dtype=np.int64)
        G[K.G_NREQ] = n
        G[K.G_EXAM] = -1
        G[K.G_FAIL_LIMIT] = -1 if fail_limit is None else int(fail_limit)
        G[K.G_WIN0] = WARMUP_US
        G[K.G_WIN1] = self.duration_us
        G[K.G_BAL] = balancers.get(lay.balancer).code
        G[K.G_SLA] = lay.sla_us
        G[K.G_NSTAGE] = st
        G[K.G_FRONT_UID] = nent - 2
        G[K.G_GEN_UID] = nent - 1
        G[K.G_NPIPE] = lay.n_pipelines
        G[K.G_RINGN] = RING_SIZE
        self.G = G
        if n:
            K._schedule(nent - 1, int(times[0]), self.EV, self.HK, self.HV, G)
        self._status = K.RUN_IDLE

    def _args(self):
        lay = self.layout
        return (lay.PQ, lay.LAT, self.PP, lay.WS, lay.FRONTW, lay.ENT, self.W, self.S, self.B, self.M,
                self.R, self.EV, self.HK, self.HV, self.IQ, self.IL, self.G, self.RING, self.OFF)

    # ---------------------------------------------------------------- control
    @property
    def now(self) -> int:
        """Simulated time in µs."""
        return int(self.G[K.G_NOW])

    @property
    def done(self) -> bool:
        """No event left (every request dropped or completed), or aborted."""
        return self.aborted or int(self.G[K.G_HSIZE]) == 0

    @property
    def aborted(self) -> bool:
        return bool(self.G[K.G_ABORT])

    @property
    def total_requests(self) -> int:
        return int(self.R.shape[0])

    def step(self) -> bool:
        """Run the next event; False once there is none left."""
        if self.done:
            return False
        t0 = time.perf_counter()
        self._status = K.run_kernel(K.BIG, 1, *self._args())
        self.wall_seconds += time.perf_counter() - t0
        return not self.done

    def run(self, until: int | None = None, max_events: int | None = None) -> "Simulation":
        """Run every event before ``until`` µs (all of them if None); the clock then reads ``until``."""
        if self.done:
            return self
        limit = K.BIG if until is None else int(until)
        t0 = time.perf_counter()
        self._status = K.run_kernel(limit, K.BIG if max_events is None else int(max_events), *self._args())
        self.wall_seconds += time.perf_counter() - t0
        if until is not None and self._status == K.RUN_IDLE and not self.done and self.now < limit:
            self.G[K.G_NOW] = limit
        return self

    # ---------------------------------------------------------------- reports
    def snapshot(self) -> Snapshot:
        G, W, lay = self.G, self.W, self.layout
        now = max(self.now, 1)
        pools = []
        for qi, pool in enumerate(lay.pools):
            w0, w1 = int(lay.PQ[qi, K.PQ_W0]), int(lay.PQ[qi, K.PQ_W1])
            n = max(w1 - w0, 1)
            pools.append({"pipeline": pool.pipeline, "stage": pool.stage, "gpu": pool.gpu, "k": pool.k,
                          "workers": pool.workers,
                          "busy_now": float((W[w0:w1, K.W_BUSY] >= 0).sum()) / n,
                          "utilization": float(W[w0:w1, K.W_BUSYSUM].sum()) / (n * now),
                          "queued_batches": int(W[w0:w1, K.W_NPEND].sum())})
        filled = min(int(G[K.G_RING]), RING_SIZE)
        pos = int(G[K.G_RING])
        idx = [(pos - 1 - i) % RING_SIZE for i in range(filled)][::-1]
        recent = (self.RING[idx] / 1000.0).tolist() if filled else []
        return Snapshot(time_us=self.now, arrived=int(G[K.G_NEXT]), total_requests=self.total_requests,
                        completed=int(G[K.G_NDONE]), dropped=int(G[K.G_NDROP]), late=int(G[K.G_NLATE]),
                        front_queue=int(G[K.G_QTAIL] - G[K.G_QHEAD]), pools=pools,
                        links_queued=int(self.S[:, K.S_NQ].sum()), recent_latency_ms=recent, done=self.done)

    def result(self) -> SimulationResult:
        return summarize(self, self.wall_seconds)

    def request_log(self):
        """Per-request rows like the reference's master.csv (a pandas DataFrame)."""
        import pandas as pd

        R, B = self.R, self.B
        arrived = R[:, K.R_STATUS] != K.ST_PENDING
        R = R[arrived]
        b0 = R[:, K.R_B0]
        has = b0 >= 0
        def col(c):
            out = np.full(len(R), -1, dtype=np.int64)
            out[has] = B[b0[has], c]
            return out
        plan_pipe = np.array(self.layout.plan_pipelines + [-1], dtype=np.int64)
        df = pd.DataFrame({
            "requestId": np.nonzero(arrived)[0], "arrivalTime": R[:, K.R_ARR], "deadline": R[:, K.R_DL],
            "queueLen": R[:, K.R_QLEN], "discarded": R[:, K.R_STATUS] == K.ST_DROPPED,
            "dropCause": [K.DROP_CAUSE_NAMES[c] if c >= 0 else "" for c in R[:, K.R_CAUSE]],
            "pipelineId": np.where(R[:, K.R_PIPE] >= 0, plan_pipe[R[:, K.R_PIPE]], -1),
            "batchId": b0, "workerId": col(K.B_W), "bs": col(K.B_SIZE),
            "timeArriveWorker": col(K.B_ARRIVE), "timeStartInference": col(K.B_START),
            "timeComplete": col(K.B_FINISH), "timeDone": R[:, K.R_DONE],
            "late": (R[:, K.R_STATUS] == K.ST_DONE) & (R[:, K.R_DONE] > R[:, K.R_DL]),
        })
        return df

    def write_log(self, path) -> None:
        from ppipe.atomic import write_text_atomic

        write_text_atomic(path, self.request_log().to_csv(index=False))


def simulate(model_plan: ModelPlan, profile: ModelProfile, load: float | None = None, *,
             arrivals: ArrivalProcess | None = None, seed: int = 0, balancer: str = "reservation",
             duration_s: float = DEFAULT_DURATION_S, accounting: str = "true",
             fail_limit: int | None = None, log_path=None, max_requests: int | None = None) -> SimulationResult:
    """Run one simulation to the end and return its result."""
    if arrivals is None:
        if load is None:
            raise InputError("give a load or an arrival process")
        arrivals = PoissonArrivals(load)
    sim = Simulation(model_plan, profile, arrivals, rng=np.random.default_rng(seed), seed=seed,
                     balancer=balancer, duration_s=duration_s, accounting=accounting, fail_limit=fail_limit,
                     max_requests=max_requests)
    sim.run()
    if log_path is not None:
        sim.write_log(log_path)
    return sim.result()
