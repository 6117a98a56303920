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

How it is computed (the result is the one of the plain definition, list order
included; ``tests/test_configs.py`` holds that definition as its oracle):

* Enumeration goes block by block, a block being (number of partitions, cuts,
  batch size) in the plain order. Within a block every stage's latency per
  option ((GPU type, k) pairs) is one vector; the latency sums of all option
  combinations are one broadcast sum (added stage by stage, as the plain loop
  does, so every float is bit-identical) and the feasible ones come out in
  ``itertools.product`` order. A stage, (start, end, batch, option), is built
  once and shared by every configuration that uses it.
* The plain pruning is a greedy pass over each type sequence's configurations
  sorted best first (bottleneck per-GPU xput, latency, batch, (end, k) per
  stage, input position): keep ``c`` unless a kept one dominates it, and drop
  the kept ones ``c`` dominates. Dominance compares per-GPU throughputs with a
  relative tolerance of 1e-12; it is transitive when the distinct throughputs
  fall into clusters narrower than the tolerance and further apart than it,
  which :func:`_tolerance_is_transitive` checks on every stage's value (a
  failure, never seen on real numbers, falls back to the plain pass). Then
  dominance is a preorder, whose classes (configurations dominating each
  other) are those with the same k and throughput cluster at every stage, and
  the greedy pass keeps exactly the configurations that come first in the
  sort order within their class and that no configuration of another class
  dominates, in sort order. That is what is computed: one lexsort, the first
  of each class, then bitsets: per stage position and distinct stage, the set
  of configurations whose stage there dominates it; the AND over a
  configuration's stages is its set of dominators.
* The rule drops a configuration because of some other one; one it drops
  within a subset is dropped in the whole set too, and a kept configuration
  witnesses every drop, so removing dropped ones changes nothing else.
  Buffered configurations are therefore pruned as they accumulate (memory
  stays bounded), and the survivors once more at the end.

``enumerate_configs`` takes ``should_stop`` (polled between small pieces of
work; :class:`EnumerationStopped` is raised when it returns True) and
``on_progress(enumerated, kept)`` (called at most every 0.2 s, and once at the
end with the final counts).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ppipe.planning.problem import ModelSpec, PlanningProblem

#: The relative tolerance of the dominance test, as the factor it multiplies by.
_TOL = 1 - 1e-12
#: Progress is reported at most this often (seconds).
PROGRESS_INTERVAL_S = 0.2
#: Buffered configurations (per partition count) that trigger an intermediate prune.
_BUFFER_ROWS = 1 << 17
#: Combinations summed at once (bounds the broadcast arrays of a block).
_COMBOS_AT_ONCE = 1 << 20
#: 64-bit words handled per bitset step (bounds memory and the time between stop checks).
_WORDS_AT_ONCE = 1 << 18


class EnumerationStopped(Exception):
    """Raised by :func:`enumerate_configs` when its ``should_stop`` callback returns True."""


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


# ----------------------------------------------------------------------------------------------
# Stop and progress


class _Pacer:
    """Polls ``should_stop`` and throttles ``on_progress``."""

    def __init__(self, should_stop: Callable[[], bool] | None,
                 on_progress: Callable[[int, int], None] | None):
        self.should_stop = should_stop
        self.on_progress = on_progress
        self.last = time.monotonic()
        self.enumerated = 0
        self.kept = 0

    def tick(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise EnumerationStopped("configuration enumeration stopped")
        if self.on_progress is not None:
            now = time.monotonic()
            if now - self.last >= PROGRESS_INTERVAL_S:
                self.last = now
                self.on_progress(self.enumerated, self.kept)

    def final(self, enumerated: int, kept: int) -> None:
        self.enumerated, self.kept = enumerated, kept
        if self.on_progress is not None:
            self.on_progress(enumerated, kept)


# ----------------------------------------------------------------------------------------------
# Stages: every (start, end, batch, option) once


class _Stages:
    """Interned stages and the per-stage numbers that dominance needs."""

    def __init__(self):
        self.objs: list[StageConfig] = []
        self.ids: dict = {}
        self._gpu: list[int] = []
        self._k: list[int] = []
        self._v: list[float] = []
        self._end: list[int] = []
        self._arrays: tuple | None = None
        self._classes: np.ndarray | None = None

    def add(self, key, make: Callable[[], StageConfig]) -> int:
        sid = self.ids.get(key)
        if sid is None:
            s = make()
            sid = self.ids[key] = len(self.objs)
            self.objs.append(s)
            self._gpu.append(s.gpu)
            self._k.append(s.k)
            self._v.append(s.k * s.xput)  # per-GPU throughput, as the plain test computes it
            self._end.append(s.end)
            self._arrays = self._classes = None
        return sid

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(gpu, k, per-GPU xput, end) per stage id."""
        if self._arrays is None:
            self._arrays = (np.array(self._gpu, dtype=np.int64), np.array(self._k, dtype=np.int64),
                            np.array(self._v, dtype=np.float64), np.array(self._end, dtype=np.int64))
        return self._arrays

    def transitive(self) -> bool:
        return _tolerance_is_transitive(self.arrays()[2])

    def classes(self) -> np.ndarray:
        """Per stage id, a class id: stages of one class have the same type and k and
        dominate each other. Only meaningful when :meth:`transitive`."""
        if self._classes is None:
            gpu, k, v, _ = self.arrays()
            u = np.unique(v)
            cluster = np.concatenate(([0], np.cumsum(u[:-1] < u[1:] * _TOL)))  # per distinct value
            rank = cluster[np.searchsorted(u, v)]
            code = (rank * (int(k.max()) + 1) + k) * (int(gpu.max()) + 1) + gpu
            self._classes = np.unique(code, return_inverse=True)[1].reshape(-1)
        return self._classes


def _tolerance_is_transitive(values: np.ndarray) -> bool:
    """Whether ``a >= b * (1 - 1e-12)`` (as floats) is a total preorder on ``values``:
    the sorted distinct values split into runs whose members all pass the test both
    ways, and values of different runs pass it only upwards."""
    u = np.unique(values)
    if not np.all(np.isfinite(u)):
        return False
    if u.size < 2:
        return True
    scaled = u * _TOL
    linked = ~(u[:-1] < scaled[1:])  # neighbours within the tolerance
    # runs of linked neighbours; a run from s to e must also pass between its ends
    starts = np.flatnonzero(np.concatenate(([True], ~linked)))
    ends = np.concatenate((starts[1:] - 1, [u.size - 1]))
    return not bool(np.any(u[starts] < scaled[ends]))


def _stage_dominance(a: np.ndarray, b: np.ndarray, gpu: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Matrix [i, j]: stage a[i] may replace stage b[j] (same type, k multiple, per-GPU xput
    no lower up to the tolerance), exactly as the plain per-pair test decides."""
    ga, gb = gpu[a][:, None], gpu[b][None, :]
    ka, kb = k[a][:, None], k[b][None, :]
    va, vb = v[a][:, None], v[b][None, :]
    return (ga == gb) & (ka % kb == 0) & ~(va < vb * _TOL)


# ----------------------------------------------------------------------------------------------
# Pruning of configurations given as stage-id rows

#: Multiplying eight 0/1 bytes (a little-endian uint64) by this puts them, as bits 0..7,
#: into the top byte: the 8 products that land there are distinct powers of two.
_PACK = np.uint64(0x0102040810204080)
#: Small type sequences are pruned together, up to this many rows at once.
_BATCH_ROWS = 2048


def _bit_table(col: np.ndarray, stages: _Stages, pacer: _Pacer) -> tuple[np.ndarray, np.ndarray]:
    """For one stage position: the distinct stages' row index per configuration, and per
    distinct stage the bitset (uint64 words, configuration x at bit x % 64 of word x // 64)
    of the configurations whose stage there dominates it."""
    gpu, k, v, _ = stages.arrays()
    if col.size * 16 < v.size:
        vals, inv = np.unique(col, return_inverse=True)
    else:
        present = np.zeros(v.size, dtype=bool)
        present[col] = True
        vals = np.flatnonzero(present)
        inv = (np.cumsum(present) - 1)[col]
    d = vals.size
    rel = np.zeros((d, d + 1), dtype=bool)  # [b, a]: a dominates b; a last, all-False column for padding
    types = gpu[vals]
    if (types == types[0]).all():
        rel[:, :d] = _stage_dominance(vals, vals, gpu, k, v).T
    else:
        for g in np.unique(types).tolist():
            sel = np.flatnonzero(types == g)
            rel[np.ix_(sel, sel)] = _stage_dominance(vals[sel], vals[sel], gpu, k, v).T
    words = (col.size + 63) // 64
    cols = np.full(words * 64, d, dtype=np.int64)
    cols[: col.size] = inv
    table = np.empty((d, words * 8), dtype=np.uint8)
    step = max(1, (_WORDS_AT_ONCE * 64) // cols.size)  # stage rows per piece: at most 16 MiB of 0/1 bytes
    for r0 in range(0, d, step):
        pacer.tick()
        member = np.take(rel[r0:r0 + step], cols, axis=1)  # (stages, configurations) as 0/1 bytes
        table[r0:r0 + step] = (member.view("<u8") * _PACK) >> np.uint64(56)
    return inv.reshape(-1), table.view("<u8")


def _undominated(sid: np.ndarray, stages: _Stages, pacer: _Pacer) -> np.ndarray:
    """Mask of the rows no other row dominates (rows of one length; rows of different type
    sequences never dominate each other)."""
    n, m = sid.shape
    if n <= 1:
        return np.ones(n, dtype=bool)
    tables = [_bit_table(sid[:, p], stages, pacer) for p in range(m)]
    words = (n + 63) // 64
    rows_at_once = max(1, _WORDS_AT_ONCE // words)
    kept = np.empty(n, dtype=bool)
    one = np.uint64(1)
    for r0 in range(0, n, rows_at_once):
        pacer.tick()
        r1 = min(n, r0 + rows_at_once)
        inv0, tab0 = tables[0]
        acc = tab0[inv0[r0:r1]]
        for inv, tab in tables[1:]:
            acc &= tab[inv[r0:r1]]
        pos = np.arange(r0, r1)
        acc[pos - r0, pos >> 6] &= ~(one << (pos & 63).astype(np.uint64))  # not itself
        kept[r0:r1] = ~acc.any(axis=1)
    return kept


def _row_codes(cols: np.ndarray) -> np.ndarray:
    """One integer per row of small non-negative integers, ordered as the rows' tuples."""
    n, m = cols.shape
    base = int(cols.max()) + 1 if n else 1
    if base ** m < 2 ** 62:
        return cols @ (base ** np.arange(m - 1, -1, -1, dtype=np.int64))
    return np.unique(cols, axis=0, return_inverse=True)[1].reshape(-1)  # pragma: no cover


def _prune_by_seq(sid: np.ndarray, lat: np.ndarray, batch: np.ndarray, idx: np.ndarray, stages: _Stages,
                  pacer: _Pacer) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """Rows of one length (any type sequences; ``idx`` their input positions): per type
    sequence, in order, the rows the plain pass keeps, in its sort order (best bottleneck
    per-GPU xput, then latency, batch, (end, k) per stage, then input position).

    Needs ``stages.transitive()``: then the pass keeps the rows that come first among
    their class (rows whose stages are pairwise of one class) and that no row of another
    class dominates."""
    n, m = sid.shape
    if n == 0:
        return []
    gpu, k, v, end = stages.arrays()
    seqs = gpu[sid]
    seq_code = _row_codes(seqs)
    keys = [idx]
    for p in range(m - 1, -1, -1):
        keys.append(k[sid[:, p]])
        keys.append(end[sid[:, p]])
    keys += [batch, lat, -(v[sid].min(axis=1)), seq_code]
    pacer.tick()
    order = np.lexsort(keys)
    pacer.tick()
    # first of each class (a class never spans two type sequences)
    cls = _row_codes(stages.classes()[sid[order]])
    first = np.zeros(n, dtype=bool)
    first[np.unique(cls, return_index=True)[1]] = True
    order = order[first]
    pacer.tick()
    seq_code = seq_code[order]
    starts = np.flatnonzero(np.diff(seq_code, prepend=seq_code[0] - 1)).tolist()
    ends = starts[1:] + [order.size]
    # small sequences together, large ones alone
    kept = np.empty(order.size, dtype=bool)
    a = 0
    while a < len(starts):
        b = a + 1
        while b < len(starts) and ends[b] - starts[a] <= _BATCH_ROWS:
            b += 1
        lo, hi = starts[a], ends[b - 1]
        kept[lo:hi] = _undominated(sid[order[lo:hi]], stages, pacer)
        a = b
    pacer.tick()
    return [(tuple(seqs[order[lo]].tolist()), order[lo:hi][kept[lo:hi]]) for lo, hi in zip(starts, ends)]


# ----------------------------------------------------------------------------------------------
# Enumeration


class _Buffer:
    """Configurations of one partition count as stage-id rows (pruned as they accumulate)."""

    def __init__(self, m: int):
        self.m = m
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.rows = 0
        self.new_rows = 0

    def add(self, sid, lat, batch, idx) -> None:
        self.parts.append((sid, lat, batch, idx))
        self.rows += sid.shape[0]
        self.new_rows += sid.shape[0]

    def arrays(self):
        if not self.parts:
            return (np.zeros((0, self.m), np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
        if len(self.parts) > 1:
            self.parts = [tuple(np.concatenate(a) for a in zip(*self.parts))]
        return self.parts[0]

    def compact(self, stages: _Stages, pacer: _Pacer) -> None:
        sid, lat, batch, idx = self.arrays()
        pacer.tick()
        keep = np.concatenate([rows for _seq, rows in _prune_by_seq(sid, lat, batch, idx, stages, pacer)])
        keep.sort()  # enumeration order again
        self.parts = [(sid[keep], lat[keep], batch[keep], idx[keep])]
        self.rows, self.new_rows = keep.size, 0


class _Enumeration:
    def __init__(self, problem: PlanningProblem, model_index: int, max_parts: int | None, pacer: _Pacer):
        spec = problem.models[model_index]
        self.problem, self.spec, self.pacer = problem, spec, pacer
        self.L = spec.profile.num_chunks
        self.P = min(max_parts or problem.max_parts, self.L)
        self.trans = spec.transmit_us
        self.gps = problem.cluster.gpus_per_server
        tables = _tables(problem, spec)
        self.options = sorted(tables)  # (gi, k)
        width = max((t.shape[1] for t in tables.values()), default=0)
        self.prefix = np.full((len(self.options), self.L + 1, max(width, 1)), np.nan)
        self.widths = np.zeros(len(self.options), dtype=np.int64)
        for o, key in enumerate(self.options):
            t = tables[key]
            self.prefix[o, :, : t.shape[1]] = t
            self.widths[o] = t.shape[1]
        self.budget0 = spec.sla - spec.hist_adjustment
        self.stages = _Stages()

    def blocks(self):
        """Per (partitions, cuts, batch) in the plain order: the combos that meet the SLO, as
        (m, b, stage-id rows, latencies)."""
        L, trans, spec, problem = self.L, self.trans, self.spec, self.problem
        for m in range(1, self.P + 1):
            for cuts in itertools.combinations(range(1, L), m - 1):
                bounds = (0, *cuts, L)
                for b in range(1, problem.max_batch + 1):
                    self.pacer.tick()
                    opts = np.flatnonzero(self.widths >= b)
                    if opts.size == 0:
                        continue
                    trans_total = sum(trans[c - 1] * b for c in cuts)
                    budget = (self.budget0 - batch_build_us(b, spec.est_xput, problem.batch_build_factor)
                              - trans_total)
                    if budget <= 0:
                        continue
                    col = self.prefix[opts, :, b - 1]  # (n_opts, L+1)
                    stage_lat = np.stack([col[:, bounds[p + 1]] - col[:, bounds[p]] for p in range(m)])
                    base = self.budget0 + spec.hist_adjustment - budget  # as the plain sum groups it
                    for digits, lat_sum in self._feasible(stage_lat, budget):
                        sid = self._stage_ids(digits, stage_lat, opts, bounds, b)
                        yield m, b, sid, base + lat_sum

    def _feasible(self, stage_lat: np.ndarray, budget: float):
        """Feasible combos in ``itertools.product`` order, in pieces: (digits per stage, sums)."""
        m, n = stage_lat.shape
        lead = 0  # leading stages fixed per piece
        while lead < m - 1 and n ** (m - lead) > _COMBOS_AT_ONCE:
            lead += 1
        for prefix in itertools.product(range(n), repeat=lead):
            if lead:
                self.pacer.tick()
            acc = None
            for p in range(m):
                x = stage_lat[p, prefix[p]: prefix[p] + 1] if p < lead else stage_lat[p]
                acc = x if acc is None else np.add.outer(acc, x)
            flat = acc.reshape(-1)
            hit = np.flatnonzero(~(flat > budget))
            if hit.size == 0:
                continue
            shape = tuple(1 if p < lead else n for p in range(m))
            digits = np.unravel_index(hit, shape)
            digits = [np.full(hit.size, prefix[p]) if p < lead else digits[p] for p in range(m)]
            yield digits, flat[hit]

    def _stage_ids(self, digits, stage_lat, opts, bounds, b) -> np.ndarray:
        L, trans, gps = self.L, self.trans, self.gps
        cols = []
        for p, d in enumerate(digits):
            i, j = bounds[p], bounds[p + 1]
            used = np.flatnonzero(np.bincount(d, minlength=stage_lat.shape[1]))
            ids = np.full(stage_lat.shape[1], -1, dtype=np.int64)
            for c in used.tolist():
                o = int(opts[c])
                gi, k = self.options[o]

                def make(c=c, gi=gi, k=k, i=i, j=j):
                    lat = float(stage_lat[p, c])
                    dl = trans[i - 1] if 0 < i < L else 1.0
                    ul = trans[j - 1] if 0 < j < L else 1.0
                    return StageConfig(gi, k, i, j, lat, trans[j - 1] * b if j < L else 0.0,
                                       stage_xput(b, lat, k, gps[gi], dl, ul))

                ids[c] = self.stages.add((i, j, b, o), make)
            cols.append(ids[d])
        return np.stack(cols, axis=1)

    def configs(self, sid: np.ndarray, lat: np.ndarray, batch: np.ndarray) -> list[PipelineConfig]:
        objs = self.stages.objs
        out: list[PipelineConfig] = []
        step = 1 << 13
        for r0 in range(0, sid.shape[0], step):
            self.pacer.tick()
            r1 = r0 + step
            out += [PipelineConfig(tuple(objs[s] for s in row), b, x)
                    for row, b, x in zip(sid[r0:r1].tolist(), batch[r0:r1].tolist(), lat[r0:r1])]
        return out

    def all_configs(self) -> list[PipelineConfig]:
        out: list[PipelineConfig] = []
        for _m, b, sid, lat in self.blocks():
            out += self.configs(sid, lat, np.full(sid.shape[0], b))
            self.pacer.enumerated = self.pacer.kept = len(out)
        return out

    def pruned(self) -> tuple[list[PipelineConfig], int] | None:
        """The pruned configurations and the raw count, or None when dominance is not
        transitive on this model's numbers (then the plain pass must decide)."""
        buffers = {m: _Buffer(m) for m in range(1, self.P + 1)}
        raw = 0
        for m, b, sid, lat in self.blocks():
            buf = buffers[m]
            buf.add(sid, lat, np.full(sid.shape[0], b, dtype=np.int64), np.arange(raw, raw + sid.shape[0]))
            raw += sid.shape[0]
            self.pacer.enumerated = raw
            self.pacer.kept += sid.shape[0]
            if buf.new_rows >= _BUFFER_ROWS and buf.new_rows >= buf.rows // 2:
                if not self.stages.transitive():
                    return None
                before = buf.rows
                buf.compact(self.stages, self.pacer)
                self.pacer.kept -= before - buf.rows
        if not self.stages.transitive():
            return None
        # type sequences in sorted order (tuples of any length), each pruned in full
        groups = []
        for m, buf in buffers.items():
            sid, lat, batch, idx = buf.arrays()
            groups += [(seq, m, rows) for seq, rows in _prune_by_seq(sid, lat, batch, idx, self.stages, self.pacer)]
            self.pacer.kept -= sid.shape[0] - sum(rows.size for _seq, _m, rows in groups if _m == m)
        groups.sort(key=lambda t: t[0])
        out: list[PipelineConfig] = []
        for _seq, m, rows in groups:
            sid, lat, batch, _idx = buffers[m].arrays()
            out += self.configs(sid[rows], lat[rows], batch[rows])
        return out, raw


def enumerate_configs(problem: PlanningProblem, model_index: int, max_parts: int | None = None,
                      prune: bool = True, *, should_stop: Callable[[], bool] | None = None,
                      on_progress: Callable[[int, int], None] | None = None) -> list[PipelineConfig]:
    """All SLO-feasible configurations of one model (dominated ones removed if ``prune``).

    ``should_stop`` is polled between small pieces of work (well under 0.1 s each) and
    :class:`EnumerationStopped` raised once it returns True; ``on_progress(enumerated,
    kept)`` gets the configurations enumerated so far and those still kept, at most every
    0.2 s and once at the end with the final counts."""
    pacer = _Pacer(should_stop, on_progress)
    pacer.tick()
    if prune:
        res = _Enumeration(problem, model_index, max_parts, pacer).pruned()
        if res is not None:
            out, raw = res
            pacer.final(raw, len(out))
            return out
        raw_configs = _Enumeration(problem, model_index, max_parts, pacer).all_configs()
        out = _prune_plain(raw_configs, pacer)
        pacer.final(len(raw_configs), len(out))
        return out
    out = _Enumeration(problem, model_index, max_parts, pacer).all_configs()
    pacer.final(len(out), len(out))
    return out


# ----------------------------------------------------------------------------------------------
# Pruning a list of configuration objects


def _dominates(a: PipelineConfig, b: PipelineConfig) -> bool:
    """``a`` can replace ``b``: same types, k_a multiple of k_b, per-GPU xput no lower."""
    for sa, sb in zip(a.stages, b.stages):
        if sa.k % sb.k or sa.k * sa.xput < sb.k * sb.xput * (1 - 1e-12):
            return False
    return True


def _plain_sort_key(c: PipelineConfig):
    # Best first (highest bottleneck per-GPU xput, then lowest latency), so that
    # among equivalent configurations the first one is kept.
    return (-min(s.k * s.xput for s in c.stages), c.latency, c.batch, tuple((s.end, s.k) for s in c.stages))


def _prune_plain(configs: list[PipelineConfig], pacer: _Pacer | None = None) -> list[PipelineConfig]:
    """The definition: per type sequence, a greedy pass over the sorted configurations."""
    groups: dict[tuple[int, ...], list[PipelineConfig]] = {}
    for c in configs:
        groups.setdefault(c.gpu_seq, []).append(c)
    kept: list[PipelineConfig] = []
    for seq in sorted(groups):
        front: list[PipelineConfig] = []
        for n, c in enumerate(sorted(groups[seq], key=_plain_sort_key)):
            if pacer is not None and n % 256 == 0:
                pacer.tick()
            if not any(_dominates(f, c) for f in front):
                front = [f for f in front if not _dominates(c, f)]
                front.append(c)
        kept.extend(front)
    return kept


def prune_dominated(configs: list[PipelineConfig]) -> list[PipelineConfig]:
    """Drop dominated configurations: per type sequence (sorted), the survivors of a greedy
    pass over the configurations sorted best first (highest bottleneck per-GPU xput, then
    lowest latency, batch, (end, k) per stage, input position)."""
    pacer = _Pacer(None, None)
    stages = _Stages()
    by_len: dict[int, list[int]] = {}
    for n, c in enumerate(configs):
        by_len.setdefault(len(c.stages), []).append(n)
    rows: dict[int, np.ndarray] = {}
    for m, members in by_len.items():
        rows[m] = np.array([[stages.add(s, lambda s=s: s) for s in configs[n].stages] for n in members],
                           dtype=np.int64).reshape(len(members), m)
    if not stages.transitive():
        return _prune_plain(configs)
    groups = []
    for m, members in by_len.items():
        idx = np.array(members, dtype=np.int64)
        lat = np.array([configs[n].latency for n in members], dtype=np.float64)
        batch = np.array([configs[n].batch for n in members], dtype=np.int64)
        groups += [(seq, idx[sel]) for seq, sel in _prune_by_seq(rows[m], lat, batch, idx, stages, pacer)]
    groups.sort(key=lambda t: t[0])
    return [configs[n] for _seq, kept in groups for n in kept.tolist()]


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
