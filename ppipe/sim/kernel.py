"""The event loop of the data plane (SPEC section 7), on flat integer arrays.

Why arrays: the simulator has to push well over 100,000 requests per wall
second through a Python process. All state (workers, server links, batches,
requests, the event heap) therefore lives in a handful of ``int64`` numpy
arrays with named columns (the ``*_`` constants below), and the loop is
written in the subset of Python that numba compiles (:mod:`ppipe.sim._jit`:
an extension module compiled ahead of time and cached, or numba's JIT; nothing
is compiled or imported before the first call, so the constants below are
cheap to import). Without numba the same code runs as plain Python, giving the
same integers.

Clock and ordering. Time is an integer number of µs. Every entity (worker,
server link, balancer, arrival generator) has a fixed id, assigned in the
order the reference simulator creates its objects; it has at most one pending
event, and events at equal times run in id order. The heap holds
``time << 20 | id`` keys plus a version number per entry, so cancelling an
event (a balancer woken early by new requests) just bumps the entity's version.

Entities and what their events do:

- generator: one request arrives; the front balancer runs at once.
- front balancer (reservation, SPEC 7 steps 1-3, or Nexus-style): wakes up
  when it asked to, loops over its deadline-ordered queue, drops or commits.
  The queue is always a contiguous range of request ids (deadline = arrival +
  SLO is monotone in arrival order and only the head is ever removed alone).
- worker: its running batch finished; hand it to the server link (or complete
  the requests at the last stage) and start the next queued batch (FIFO).
- link: the head batch of the server's FIFO finished sending; deliver it to
  the next stage (reservation: to the worker reserved on its route; Nexus: to
  the inner balancer's queue) and start sending the next one.

:func:`run_kernel` runs events with time < ``until`` (at most ``max_events``
of them) and returns a status code; the Python wrapper in
:mod:`ppipe.sim.engine` owns the arrays.
"""

from __future__ import annotations

import math

import numpy as np

from ppipe.sim._jit import njit

# Signatures of the functions called from Python (:mod:`ppipe.sim.engine`).
_A1 = "int64[::1]"
_A2 = "int64[:, ::1]"
_SCHEDULE_SIG = f"void(int64, int64, {_A2}, {_A1}, {_A1}, {_A1})"
_RUN_SIG = ("int64(int64, int64, " + ", ".join((
    _A2, _A2, _A2, _A2, _A1, _A2,  # PQ, LAT, PP, WS, FRONTW, ENT
    _A2, _A2, _A2, _A1, _A2,  # W, S, B, M, R
    _A2, _A1, _A1, _A2, _A2, _A1,  # EV, HK, HV, IQ, IL, G
    _A1, _A2)) + ")")  # RING, OFF

BIG = 1 << 62
UID_BITS = 20
UID_MASK = (1 << UID_BITS) - 1

# --- partitions (pools): static
PQ_PIPE, PQ_STAGE, PQ_LAST, PQ_W0, PQ_W1, PQ_BS, PQ_NET, PQ_MAXB, PQ_SLACK, PQ_ILB, PQ_K = range(11)
NPQ = 11
# --- pipelines: static
PP_Q0, PP_NQ, PP_BS, PP_LATE = range(4)
NPP = 4
# --- workers: static
WS_Q, WS_SRV, WS_UID, WS_PIPE = range(4)
NWS = 4
# --- entity kinds
K_WORKER, K_LINK, K_FRONT, K_INNER, K_GEN = range(5)
# --- workers: dynamic
W_RES, W_TIME, W_BUSY, W_HEAD, W_TAIL, W_PEND, W_BUSYSUM, W_NPEND, W_NBATCH = range(9)
NW = 9
# --- servers (one link each): dynamic + static
S_UL, S_DL, S_HEAD, S_TAIL, S_UID, S_Q, S_NET, S_NQ, S_BUSYSUM = range(9)
NS = 9
# --- batches (one record per stage visited)
(B_STAGE, B_Q, B_W, B_SIZE, B_M0, B_ARRIVE, B_START, B_FINISH, B_NEXTW, B_NEXTL, B_PIPE,
 B_LINKIN, B_SENT, B_ROUTE) = range(14)
# --- requests
R_ARR, R_DL, R_STATUS, R_CAUSE, R_PIPE, R_DONE, R_QLEN, R_B0 = range(8)
ST_PENDING, ST_QUEUED, ST_RUNNING, ST_DROPPED, ST_DONE = range(5)
#: Drop causes (SPEC 7): first look at a head, no batch size fits once examined,
#: waiting for more requests would miss, Nexus-style drop, no usable pipeline.
C_FIRST_LOOK, C_NO_FIT, C_WAIT_MISS, C_NEXUS, C_NO_PIPELINE = range(5)
DROP_CAUSE_NAMES = ("first_look", "no_batch_fits", "waiting_would_miss", "nexus_slo", "no_pipeline")
# --- inner (Nexus-style) balancers
IL_SIZE, IL_EXAM, IL_Q, IL_UID = range(4)
NIL = 4
# --- globals
(G_NOW, G_HSIZE, G_NB, G_NM, G_NEXT, G_NREQ, G_QHEAD, G_QTAIL, G_EXAM, G_NDONE, G_NDROP, G_NLATE,
 G_FAIL, G_FAIL_LIMIT, G_WIN0, G_WIN1, G_BAL, G_SLA, G_EVENTS, G_ABORT, G_RING, G_NSTAGE,
 G_FRONT_UID, G_GEN_UID, G_NPIPE, G_RINGN) = range(26)
NG = 32
BAL_RESERVATION, BAL_NEXUS = 0, 1
#: run_kernel status codes
RUN_IDLE, RUN_MAX_EVENTS, RUN_ABORTED = 0, 1, 2


# ------------------------------------------------------------------ event heap

@njit
def _hpush(HK, HV, G, key, ver):
    i = G[G_HSIZE]
    G[G_HSIZE] = i + 1
    while i > 0:
        par = (i - 1) >> 1
        if HK[par] <= key:
            break
        HK[i] = HK[par]
        HV[i] = HV[par]
        i = par
    HK[i] = key
    HV[i] = ver


@njit
def _hpop(HK, HV, G):
    n = G[G_HSIZE] - 1
    G[G_HSIZE] = n
    if n <= 0:
        return
    key = HK[n]
    ver = HV[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and HK[c + 1] < HK[c]:
            c += 1
        if HK[c] >= key:
            break
        HK[i] = HK[c]
        HV[i] = HV[c]
        i = c
    HK[i] = key
    HV[i] = ver


@njit(aot=_SCHEDULE_SIG)
def _schedule(uid, t, EV, HK, HV, G):
    EV[uid, 1] += 1
    EV[uid, 0] = t
    _hpush(HK, HV, G, (t << UID_BITS) | uid, EV[uid, 1])


@njit
def _cancel(uid, EV):
    EV[uid, 1] += 1
    EV[uid, 0] = -1


# ------------------------------------------------------------ request outcomes

@njit
def _count_failure(r, R, G):
    if G[G_WIN0] <= R[r, R_ARR] < G[G_WIN1]:
        G[G_FAIL] += 1
        if G[G_FAIL_LIMIT] >= 0 and G[G_FAIL] > G[G_FAIL_LIMIT]:
            G[G_ABORT] = 1


@njit
def _drop(r, cause, pipe, R, G):
    R[r, R_STATUS] = ST_DROPPED
    R[r, R_CAUSE] = cause
    if pipe >= 0:
        R[r, R_PIPE] = pipe
    G[G_NDROP] += 1
    _count_failure(r, R, G)


@njit
def _complete(bid, now, B, M, R, PP, G, RING):
    m0 = B[bid, B_M0]
    pipe = B[bid, B_PIPE]
    ringn = G[G_RINGN]
    for j in range(B[bid, B_SIZE]):
        r = M[m0 + j]
        R[r, R_DONE] = now
        R[r, R_STATUS] = ST_DONE
        G[G_NDONE] += 1
        pos = G[G_RING]
        RING[pos % ringn] = now - R[r, R_ARR]
        G[G_RING] = pos + 1
        if now > R[r, R_DL]:
            G[G_NLATE] += 1
            if PP[pipe, PP_LATE] != 0:
                _count_failure(r, R, G)


# ---------------------------------------------------------- workers and links

@njit
def _worker_start_next(w, now, WS, PQ, LAT, W, B, EV, HK, HV, G):
    bid = W[w, W_HEAD]
    if bid < 0:
        W[w, W_BUSY] = -1
        return
    nxt = B[bid, B_NEXTW]
    W[w, W_HEAD] = nxt
    if nxt < 0:
        W[w, W_TAIL] = -1
    lat = LAT[WS[w, WS_Q], B[bid, B_SIZE]]
    W[w, W_PEND] -= lat
    W[w, W_NPEND] -= 1
    fin = now + lat
    B[bid, B_START] = now
    B[bid, B_FINISH] = fin
    W[w, W_TIME] = fin
    W[w, W_BUSY] = bid
    W[w, W_BUSYSUM] += lat
    W[w, W_NBATCH] += 1
    _schedule(WS[w, WS_UID], fin, EV, HK, HV, G)


@njit
def _worker_accept(w, bid, now, WS, PQ, LAT, W, B, EV, HK, HV, G):
    """A batch reaches worker ``w``: queue it (FIFO) and start it if idle."""
    B[bid, B_ARRIVE] = now
    B[bid, B_W] = w
    B[bid, B_NEXTW] = -1
    tail = W[w, W_TAIL]
    if tail < 0:
        W[w, W_HEAD] = bid
    else:
        B[tail, B_NEXTW] = bid
    W[w, W_TAIL] = bid
    W[w, W_PEND] += LAT[WS[w, WS_Q], B[bid, B_SIZE]]
    W[w, W_NPEND] += 1
    if W[w, W_BUSY] < 0:
        W[w, W_TIME] = now
        _worker_start_next(w, now, WS, PQ, LAT, W, B, EV, HK, HV, G)


@njit
def _link_accept(s, bid, now, S, B, EV, HK, HV, G):
    """A finished batch enters its server's uplink; links send FIFO, one at a time."""
    B[bid, B_LINKIN] = now
    B[bid, B_NEXTL] = -1
    tail = S[s, S_TAIL]
    if tail < 0:
        S[s, S_HEAD] = bid
        S[s, S_TAIL] = bid
        S[s, S_NQ] = 1
        dur = B[bid, B_SIZE] * S[s, S_NET]
        S[s, S_BUSYSUM] += dur
        _schedule(S[s, S_UID], now + dur, EV, HK, HV, G)
    else:
        B[tail, B_NEXTL] = bid
        S[s, S_TAIL] = bid
        S[s, S_NQ] += 1


# ------------------------------------------------------ reservation balancer

@njit
def _offer(p, b, now, PP, PQ, LAT, WS, W, S, OFF):
    """Reserve a batch of ``b`` on pipeline ``p`` (without committing).

    Writes the chosen worker, inference finish and transfer finish per stage
    into ``OFF`` and returns (completion time, queuing delay)."""
    q0 = PP[p, PP_Q0]
    nq = PP[p, PP_NQ]
    tglobal = now
    work = 0
    prev_srv = -1
    for i in range(nq):
        q = q0 + i
        last = PQ[q, PQ_LAST] != 0
        net = 0
        ul_prev = 0
        if i > 0:
            net = b * PQ[q - 1, PQ_NET]
            ul_prev = S[prev_srv, S_UL]
        inf = LAT[q, b]
        work += net + inf
        best = BIG
        bw = -1
        btn = 0
        bti = 0
        for w in range(PQ[q, PQ_W0], PQ[q, PQ_W1]):
            srv = WS[w, WS_SRV]
            t = tglobal
            tn = 0
            if i > 0:
                dl = S[srv, S_DL]
                m = ul_prev if ul_prev > dl else dl
                if t > m:
                    m = t
                tn = m + net
                t = tn
            res = W[w, W_RES]
            ti = (res if res > t else t) + inf
            t = ti
            if not last:
                ul = S[srv, S_UL]
                if ul > t:
                    t = ul
            if t < best:
                best = t
                bw = w
                btn = tn
                bti = ti
        OFF[0, i] = bw
        OFF[1, i] = bti
        OFF[2, i] = btn
        tglobal = bti
        prev_srv = WS[bw, WS_SRV]
    return tglobal, tglobal - now - work


@njit
def _commit(p, PP, WS, W, S, OFF):
    nq = PP[p, PP_NQ]
    for i in range(nq):
        W[OFF[0, i], W_RES] = OFF[1, i]
    for i in range(nq - 1):
        t = OFF[2, i + 1]
        S[WS[OFF[0, i], WS_SRV], S_UL] = t
        S[WS[OFF[0, i + 1], WS_SRV], S_DL] = t


@njit
def _round95(b):
    # Java's Math.round(0.95 * b): floor(x + 0.5)
    return int(math.floor(b * 0.95 + 0.5))


@njit
def _front_reservation(now, PP, PQ, LAT, WS, W, S, B, M, R, EV, HK, HV, G, OFF):
    npipe = G[G_NPIPE]
    sla = G[G_SLA]
    while G[G_QHEAD] < G[G_QTAIL]:
        head = G[G_QHEAD]
        deadline = R[head, R_DL]
        if npipe == 0:
            _drop(head, C_NO_PIPELINE, -1, R, G)
            G[G_QHEAD] = head + 1
            continue
        # 1. pipeline with the least queuing delay at its planned batch size
        bestp = 0
        bestkey = BIG
        for p in range(npipe):
            bsp = PP[p, PP_BS]
            comp, ql = _offer(p, bsp, now, PP, PQ, LAT, WS, W, S, OFF)
            key = ql
            if bsp == 1 and comp > deadline:
                key += sla
            if key < bestkey:
                bestkey = key
                bestp = p
        p = bestp
        bsp = PP[p, PP_BS]
        if G[G_EXAM] == head:
            # 3. examined head: largest b whose offer meets the head's deadline
            b = bsp
            while b > 0:
                comp, ql = _offer(p, b, now, PP, PQ, LAT, WS, W, S, OFF)
                if comp <= deadline:
                    break
                b -= 1
            if b == 0:
                _drop(head, C_NO_FIT, p, R, G)
                G[G_QHEAD] = head + 1
                continue
            qlen = G[G_QTAIL] - head
            if qlen >= b:
                _commit(p, PP, WS, W, S, OFF)
                bid = G[G_NB]
                G[G_NB] = bid + 1
                m0 = G[G_NM]
                G[G_NM] = m0 + b
                for j in range(b):
                    r = head + j
                    M[m0 + j] = r
                    R[r, R_STATUS] = ST_RUNNING
                    R[r, R_PIPE] = p
                    R[r, R_B0] = bid
                G[G_QHEAD] = head + b
                B[bid, B_STAGE] = 0
                B[bid, B_Q] = PP[p, PP_Q0]
                B[bid, B_SIZE] = b
                B[bid, B_M0] = m0
                B[bid, B_PIPE] = p
                for i in range(PP[p, PP_NQ]):
                    B[bid, B_ROUTE + i] = OFF[0, i]
                _worker_accept(OFF[0, 0], bid, now, WS, PQ, LAT, W, B, EV, HK, HV, G)
                continue
            comp, ql = _offer(p, qlen + 1, now, PP, PQ, LAT, WS, W, S, OFF)
            if comp > deadline:
                _drop(head, C_WAIT_MISS, p, R, G)
                G[G_QHEAD] = head + 1
                continue
            # sleep until the last safe moment to wait for more requests
            _schedule(G[G_FRONT_UID], now + deadline - comp + ql + 1, EV, HK, HV, G)
            break
        else:
            # 2. first look at a head: near-planned batch sizes only
            minb = _round95(bsp)
            found = False
            b = bsp
            while b >= minb and b >= 1:
                comp, ql = _offer(p, b, now, PP, PQ, LAT, WS, W, S, OFF)
                if comp <= deadline:
                    found = True
                    break
                b -= 1
            if not found:
                _drop(head, C_FIRST_LOOK, p, R, G)
                G[G_QHEAD] = head + 1
                continue
            G[G_EXAM] = head


# ------------------------------------------------------- Nexus-style balancer

@njit
def _iq_push(IQ, IL, lb, r):
    i = IL[lb, IL_SIZE]
    IL[lb, IL_SIZE] = i + 1
    while i > 0:
        par = (i - 1) >> 1
        if IQ[lb, par] <= r:
            break
        IQ[lb, i] = IQ[lb, par]
        i = par
    IQ[lb, i] = r


@njit
def _iq_pop(IQ, IL, lb):
    top = IQ[lb, 0]
    n = IL[lb, IL_SIZE] - 1
    IL[lb, IL_SIZE] = n
    if n > 0:
        key = IQ[lb, n]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            if c + 1 < n and IQ[lb, c + 1] < IQ[lb, c]:
                c += 1
            if IQ[lb, c] >= key:
                break
            IQ[lb, i] = IQ[lb, c]
            i = c
        IQ[lb, i] = key
    return top


@njit
def _nexus(lb, now, PQ, LAT, WS, FRONTW, W, B, M, R, EV, HK, HV, G, IQ, IL):
    """SLO-aware balancer; ``lb`` < 0 is the front one (over all first-stage workers)."""
    while True:
        # queue head and size
        if lb < 0:
            size = G[G_QTAIL] - G[G_QHEAD]
        else:
            size = IL[lb, IL_SIZE]
        if size == 0:
            return
        # the worker whose queued work finishes first
        bestw = -1
        bestc = BIG
        if lb < 0:
            for j in range(FRONTW.shape[0]):
                w = FRONTW[j]
                c = W[w, W_TIME] + W[w, W_PEND]
                if c < bestc:
                    bestc = c
                    bestw = w
        else:
            qq = IL[lb, IL_Q]
            for w in range(PQ[qq, PQ_W0], PQ[qq, PQ_W1]):
                c = W[w, W_TIME] + W[w, W_PEND]
                if c < bestc:
                    bestc = c
                    bestw = w
        if bestw < 0:
            while G[G_QHEAD] < G[G_QTAIL]:
                _drop(G[G_QHEAD], C_NO_PIPELINE, -1, R, G)
                G[G_QHEAD] += 1
            return
        ct = bestc if bestc > now else now
        q = WS[bestw, WS_Q]
        slack = PQ[q, PQ_SLACK]
        net = PQ[q, PQ_NET]
        planned = PQ[q, PQ_BS]
        pipe = WS[bestw, WS_PIPE]
        minb = _round95(planned)
        bs = 0
        while size > 0:
            head = G[G_QHEAD] if lb < 0 else IQ[lb, 0]
            remaining = R[head, R_DL] - slack - ct
            bs = planned
            for i in range(planned):
                if LAT[q, i + 1] + (i + 1) * net > remaining:
                    bs = i
                    break
            exam = G[G_EXAM] if lb < 0 else IL[lb, IL_EXAM]
            if (head != exam and bs < minb) or bs <= 0:
                _drop(head, C_NEXUS, pipe, R, G)
                if lb < 0:
                    G[G_QHEAD] += 1
                else:
                    _iq_pop(IQ, IL, lb)
                size -= 1
            else:
                break
        if size == 0:
            return
        head = G[G_QHEAD] if lb < 0 else IQ[lb, 0]
        if size >= bs:
            stage = PQ[q, PQ_STAGE]
            bid = G[G_NB]
            G[G_NB] = bid + 1
            m0 = G[G_NM]
            G[G_NM] = m0 + bs
            for j in range(bs):
                if lb < 0:
                    r = G[G_QHEAD]
                    G[G_QHEAD] = r + 1
                    R[r, R_STATUS] = ST_RUNNING
                    R[r, R_PIPE] = pipe
                else:
                    r = _iq_pop(IQ, IL, lb)
                M[m0 + j] = r
                R[r, R_B0 + stage] = bid
            B[bid, B_STAGE] = stage
            B[bid, B_Q] = q
            B[bid, B_SIZE] = bs
            B[bid, B_M0] = m0
            B[bid, B_PIPE] = pipe
            _worker_accept(bestw, bid, now, WS, PQ, LAT, W, B, EV, HK, HV, G)
            continue
        if lb < 0:
            G[G_EXAM] = head
            uid = G[G_FRONT_UID]
        else:
            IL[lb, IL_EXAM] = head
            uid = IL[lb, IL_UID]
        t = R[head, R_DL] - slack - LAT[q, size + 1] + 1
        if t <= now:
            t = now + 1
        _schedule(uid, t, EV, HK, HV, G)
        return


# ------------------------------------------------------------------ delivery

@njit
def _deliver(bid, now, PQ, LAT, WS, FRONTW, W, B, M, R, EV, HK, HV, G, IQ, IL):
    """A batch finished crossing a link: hand it to the next stage."""
    stage = B[bid, B_STAGE] + 1
    q = B[bid, B_Q] + 1
    m0 = B[bid, B_M0]
    size = B[bid, B_SIZE]
    if G[G_BAL] == BAL_RESERVATION:
        nb = G[G_NB]
        G[G_NB] = nb + 1
        B[nb, B_STAGE] = stage
        B[nb, B_Q] = q
        B[nb, B_SIZE] = size
        B[nb, B_M0] = m0
        B[nb, B_PIPE] = B[bid, B_PIPE]
        for i in range(G[G_NSTAGE]):
            B[nb, B_ROUTE + i] = B[bid, B_ROUTE + i]
        for j in range(size):
            R[M[m0 + j], R_B0 + stage] = nb
        _worker_accept(B[bid, B_ROUTE + stage], nb, now, WS, PQ, LAT, W, B, EV, HK, HV, G)
    else:
        lb = PQ[q, PQ_ILB]
        for j in range(size):
            _iq_push(IQ, IL, lb, M[m0 + j])
        _cancel(IL[lb, IL_UID], EV)
        _nexus(lb, now, PQ, LAT, WS, FRONTW, W, B, M, R, EV, HK, HV, G, IQ, IL)


# ---------------------------------------------------------------- main loop

@njit(aot=_RUN_SIG)
def run_kernel(until, max_events, PQ, LAT, PP, WS, FRONTW, ENT, W, S, B, M, R, EV, HK, HV, IQ, IL, G,
               RING, OFF):
    """Run events with time < ``until`` (at most ``max_events``); return a RUN_* code."""
    done = 0
    status = RUN_IDLE
    while G[G_HSIZE] > 0:
        key = HK[0]
        t = key >> UID_BITS
        if t >= until:
            break
        if done >= max_events:
            status = RUN_MAX_EVENTS
            break
        uid = key & UID_MASK
        ver = HV[0]
        _hpop(HK, HV, G)
        if EV[uid, 1] != ver:
            continue  # cancelled
        EV[uid, 0] = -1
        G[G_NOW] = t
        done += 1
        kind = ENT[uid, 0]
        idx = ENT[uid, 1]
        if kind == K_WORKER:
            bid = W[idx, W_BUSY]
            q = WS[idx, WS_Q]
            if PQ[q, PQ_LAST] != 0:
                _complete(bid, t, B, M, R, PP, G, RING)
            else:
                _link_accept(WS[idx, WS_SRV], bid, t, S, B, EV, HK, HV, G)
            _worker_start_next(idx, t, WS, PQ, LAT, W, B, EV, HK, HV, G)
        elif kind == K_LINK:
            bid = S[idx, S_HEAD]
            nxt = B[bid, B_NEXTL]
            S[idx, S_HEAD] = nxt
            S[idx, S_NQ] -= 1
            if nxt < 0:
                S[idx, S_TAIL] = -1
            B[bid, B_SENT] = t
            _deliver(bid, t, PQ, LAT, WS, FRONTW, W, B, M, R, EV, HK, HV, G, IQ, IL)
            if nxt >= 0:
                dur = B[nxt, B_SIZE] * S[idx, S_NET]
                S[idx, S_BUSYSUM] += dur
                _schedule(S[idx, S_UID], t + dur, EV, HK, HV, G)
        elif kind == K_GEN:
            r = G[G_NEXT]
            G[G_NEXT] = r + 1
            R[r, R_STATUS] = ST_QUEUED
            R[r, R_QLEN] = G[G_QTAIL] - G[G_QHEAD]
            G[G_QTAIL] = r + 1
            if r + 1 < G[G_NREQ]:
                _schedule(uid, R[r + 1, R_ARR], EV, HK, HV, G)
            fuid = G[G_FRONT_UID]
            _cancel(fuid, EV)
            if G[G_BAL] == BAL_RESERVATION:
                _front_reservation(t, PP, PQ, LAT, WS, W, S, B, M, R, EV, HK, HV, G, OFF)
            else:
                _nexus(-1, t, PQ, LAT, WS, FRONTW, W, B, M, R, EV, HK, HV, G, IQ, IL)
        elif kind == K_FRONT:
            if G[G_BAL] == BAL_RESERVATION:
                _front_reservation(t, PP, PQ, LAT, WS, W, S, B, M, R, EV, HK, HV, G, OFF)
            else:
                _nexus(-1, t, PQ, LAT, WS, FRONTW, W, B, M, R, EV, HK, HV, G, IQ, IL)
        else:  # K_INNER
            _nexus(idx, t, PQ, LAT, WS, FRONTW, W, B, M, R, EV, HK, HV, G, IQ, IL)
        if G[G_ABORT] != 0:
            status = RUN_ABORTED
            break
    G[G_EVENTS] += done
    return status


def empty_int(shape) -> np.ndarray:
    return np.zeros(shape, dtype=np.int64)
