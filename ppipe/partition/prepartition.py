"""Exact pre-partitioning of a layer chain into K balanced chunks (SPEC section 2).

Problem: split ``n`` layers (execution order) into ``K`` contiguous, non-empty
chunks minimising the total size of the ``K - 1`` cuts, such that on every GPU
each chunk's share of that GPU's total per-layer latency lies in
``[lb/K, ub/K]``. The reference solves it as an MILP (Gurobi, ~10 min for all
models); here it is a shortest path over (chunk, layer) solved exactly by
dynamic programming:

    f_1(j) = 0                 if layers [0, j) form a feasible chunk
    f_c(j) = min_{i in W(j)}  f_{c-1}(i) + cut[i - 1]

where ``W(j)`` is the set of chunk starts ``i < j`` such that layers ``[i, j)``
form a feasible chunk. Latencies are non-negative, so each GPU's prefix sums
``P_g`` are non-decreasing and ``P_g(j) - P_g(i)`` is non-increasing in ``i``:
the feasible starts for one GPU form a contiguous window (two binary searches)
and the intersection over GPUs is one window ``[L(j), R(j)]`` whose ends never
move left as ``j`` grows. Each level is then a batch of range-minimum queries,
answered with a sparse table in numpy: ``O(K n log n)`` per ladder step (a few
milliseconds for thousands of layers). The optimum is exact for integer byte
counts (what the artifact readers produce; float64 sums of integers below 2^53
are exact; other floats are optimal up to rounding of the sums). Among optimal
chunkings, an optional preferred set of chunk starts (e.g. a mapping whose
chunks are already profiled) wins: the solver minimises (cut size, number of
starts outside the set) lexicographically. Remaining ties go to the earliest
last chunk start, then the earliest one before it, and so on (leftmost argmin
per level), so results are deterministic.

Floating-point tolerance (used consistently by the solver and by
:func:`balance_violations`): chunk ``[i, j)`` is feasible on GPU ``g`` iff

    (lb/K - SHARE_TOL) * T_g  <=  S_g(i, j)  <=  (ub/K + SHARE_TOL) * T_g

with ``S_g`` the chunk's summed latency, ``T_g`` the GPU's total and
``SHARE_TOL = 1e-9`` (absolute, on the share). A share exactly at a bound
(e.g. integer latencies hitting ``lb/K``) is therefore feasible regardless of
rounding in ``lb/K * T``; only shares outside the bound by more than 1e-9 are
rejected. The solver evaluates ``S_g`` as a difference of prefix sums; any
other summation order differs by ~1e-16 relative, far below the tolerance.

The ladder walk tries each (lb, ub) step in order and returns the first
feasible one, recording every step tried.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ppipe.errors import DataError, InputError
from ppipe.partition.layers import LayerChain, ReferenceChunking, format_tag

#: The reference's ladder of balance bounds (SPEC section 2), tightest first.
DEFAULT_LADDER: tuple[tuple[float, float], ...] = (
    (0.7, 1.3), (0.5, 1.5), (0.5, 2.0), (0.5, 2.5), (0.5, 3.0), (0.5, 3.5), (0.5, 4.0), (0.4, 4.0))
#: Absolute tolerance on a chunk's latency share at the balance bounds.
SHARE_TOL = 1e-9
#: Chunks when a model has no reference mapping (fewer if it has fewer layers).
DEFAULT_CHUNKS = 10
#: Provenance of profiles estimated by :func:`estimate_profile`.
ESTIMATE_PROVENANCE = "estimated from layer-level batch-1 latencies"


class InfeasibleError(InputError):
    """No step of the ladder admits a balanced chunking."""


@dataclass
class ChunkingResult:
    boundaries: list[int]  # K start indices, boundaries[0] == 0
    lb: float
    ub: float  # the ladder step used
    cut_bytes: list[float]  # K-1: bytes after chunk 0..K-2
    total_cut_bytes: float
    runtime_share: dict[str, list[float]]  # gpu -> K shares of the GPU's total (sum to 1)
    ladder_tried: list[tuple[float, float]]

    @property
    def k(self) -> int:
        return len(self.boundaries)

    @property
    def tag(self) -> str:
        return format_tag(self.lb, self.ub)


# ---------------------------------------------------------------- validation

def _check_inputs(layer_latency: Mapping[str, np.ndarray], cut_bytes, k) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InputError(f"the chunk count K must be an integer, got {k!r}")
    k = int(k)
    if k < 1:
        raise InputError(f"the chunk count K must be at least 1, got {k}")
    if not layer_latency:
        raise InputError("no per-layer latencies given (need at least one GPU)")
    lat: dict[str, np.ndarray] = {}
    n = None
    for g, v in layer_latency.items():
        a = np.asarray(v, dtype=float)
        if a.ndim != 1 or a.size == 0:
            raise InputError(f"layer latencies of {g} must be a non-empty 1-D array")
        if n is None:
            n = a.size
        elif a.size != n:
            raise InputError(f"mismatched layer lists: {g} has {a.size} layer latencies, expected {n}")
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise InputError(f"layer latencies of {g} must be finite and non-negative")
        if a.sum() <= 0:
            raise InputError(f"layer latencies of {g} sum to zero: latency shares are undefined")
        lat[str(g)] = a
    assert n is not None
    cut = np.asarray(cut_bytes, dtype=float).reshape(-1)
    if cut.size != n - 1:
        raise InputError(f"expected {n - 1} cut sizes for {n} layers, got {cut.size}")
    if not np.all(np.isfinite(cut)) or np.any(cut < 0):
        raise InputError("cut sizes must be finite and non-negative")
    if k > n:
        raise InputError(f"K={k} chunks is larger than the layer count ({n})")
    return lat, cut, k


def check_ladder(ladder: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    steps = []
    for step in ladder:
        try:
            lb, ub = (float(x) for x in step)
        except (TypeError, ValueError):
            raise InputError(f"ladder step {step!r} is not a (lb, ub) pair") from None
        if not (math.isfinite(lb) and math.isfinite(ub)) or lb < 0 or ub < lb:
            raise InputError(f"ladder step {format_tag(lb, ub)}: need 0 <= lb <= ub")
        steps.append((lb, ub))
    if not steps:
        raise InputError("the ladder is empty")
    return steps


def parse_ladder(text: str) -> list[tuple[float, float]]:
    """``"0.7-1.3,0.5-1.5"`` -> [(0.7, 1.3), (0.5, 1.5)]."""
    steps = []
    for item in text.split(","):
        item = item.strip()
        lb, sep, ub = item.partition("-")
        try:
            if not sep:
                raise ValueError
            steps.append((float(lb), float(ub)))
        except ValueError:
            raise InputError(f"malformed ladder step {item!r}: expected LB-UB, e.g. 0.5-1.5") from None
    return check_ladder(steps)


# ---------------------------------------------------------------- the solver

def _windows(prefix: dict[str, np.ndarray], k: int, lb: float, ub: float) -> tuple[np.ndarray, np.ndarray]:
    """For each end position j (0..n): feasible chunk starts form [L(j), R(j)] (empty if L > R)."""
    n = next(iter(prefix.values())).size - 1
    j = np.arange(n + 1)
    left = np.zeros(n + 1, dtype=np.int64)
    right = j - 1  # non-empty chunks
    for P in prefix.values():
        total = P[-1]
        lo = (lb / k - SHARE_TOL) * total
        hi = (ub / k + SHARE_TOL) * total
        # P[j] - P[i] <= hi  <=>  P[i] >= P[j] - hi;   P[j] - P[i] >= lo  <=>  P[i] <= P[j] - lo
        np.maximum(left, np.searchsorted(P, P - hi, side="left"), out=left)
        np.minimum(right, np.searchsorted(P, P - lo, side="right") - 1, out=right)
    return left, right


def _range_argmin(h: np.ndarray, h2: np.ndarray, lo: np.ndarray, hi: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lexicographic (h, h2) leftmost argmin over ``[lo[q], hi[q]]`` for each query.

    Returns (h value, h2 value, index); inf, inf, -1 for empty ranges. Sparse
    table: level p holds the best of each run of 2^p entries; a query combines
    two overlapping runs. Ties keep the left (earlier) entry at every step.
    """
    m = h.size
    q_ok = lo <= hi
    val = np.full(lo.size, np.inf)
    val2 = np.full(lo.size, np.inf)
    arg = np.full(lo.size, -1, dtype=np.int64)
    if not q_ok.any():
        return val, val2, arg
    ql, qr = lo[q_ok], hi[q_ok]
    length = qr - ql + 1
    levels = int(length.max()).bit_length()  # runs of 1, 2, ..., 2^(levels-1)
    V = np.full((levels, m), np.inf)
    V2 = np.full((levels, m), np.inf)
    Ix = np.zeros((levels, m), dtype=np.int64)
    V[0], V2[0], Ix[0] = h, h2, np.arange(m)
    span = 1
    for p in range(1, levels):
        a, b = V[p - 1, : m - span], V[p - 1, span:]
        a2, b2 = V2[p - 1, : m - span], V2[p - 1, span:]
        take_b = (b < a) | ((b == a) & (b2 < a2))
        V[p, : m - span] = np.where(take_b, b, a)
        V2[p, : m - span] = np.where(take_b, b2, a2)
        Ix[p, : m - span] = np.where(take_b, Ix[p - 1, span:], Ix[p - 1, : m - span])
        span *= 2
    p = np.frexp(length.astype(float))[1] - 1  # floor(log2(length)), exact for integers
    r0 = qr - (1 << p) + 1
    va, vb, va2, vb2 = V[p, ql], V[p, r0], V2[p, ql], V2[p, r0]
    take_b = (vb < va) | ((vb == va) & (vb2 < va2))
    val[q_ok] = np.where(take_b, vb, va)
    val2[q_ok] = np.where(take_b, vb2, va2)
    arg[q_ok] = np.where(take_b, Ix[p, r0], Ix[p, ql])
    return val, val2, arg


def _solve_step(prefix: dict[str, np.ndarray], cut: np.ndarray, k: int, lb: float, ub: float,
                prefer: np.ndarray | None = None) -> list[int] | None:
    """Optimal chunk starts for one (lb, ub) step, or None if infeasible.

    ``prefer``: boolean mask over positions 0..n; among chunkings of minimal
    cut size, one with the fewest chunk starts outside the mask is returned.
    """
    n = cut.size + 1
    left, right = _windows(prefix, k, lb, ub)
    # f[j]: min cost of splitting layers [0, j) into c chunks (inf = impossible);
    # s[j]: the fewest non-preferred chunk starts among those splits
    f = np.where((left <= 0) & (0 <= right), 0.0, np.inf)
    f[0] = np.inf
    if k == 1:
        return [0] if np.isfinite(f[n]) else None
    s = np.zeros(n + 1)
    cut_at = np.full(n + 1, np.inf)  # cost of starting a chunk at position i (a cut after layer i-1)
    cut_at[1:n] = cut
    miss_at = np.zeros(n + 1) if prefer is None else np.where(prefer, 0.0, 1.0)
    lo = np.maximum(left, 1)
    args = []
    for _ in range(2, k + 1):
        f, s, arg = _range_argmin(f + cut_at, s + miss_at, lo, right)
        if not np.isfinite(f).any():
            return None
        args.append(arg)
    if not np.isfinite(f[n]):
        return None
    starts = []
    j = n
    for arg in reversed(args):
        j = int(arg[j])
        starts.append(j)
    starts.append(0)
    return starts[::-1]


def _prefer_mask(prefer: Sequence[int] | None, n: int) -> np.ndarray | None:
    if prefer is None:
        return None
    mask = np.zeros(n + 1, dtype=bool)
    for b in prefer:
        if isinstance(b, bool) or not 0 <= int(b) <= n:
            raise InputError(f"preferred chunk start {b!r} is outside 0..{n}")
        mask[int(b)] = True
    return mask


def _prefixes(lat: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {g: np.concatenate(([0.0], np.cumsum(a))) for g, a in lat.items()}


def chunk_shares(layer_latency: Mapping[str, np.ndarray], boundaries: Sequence[int]) -> dict[str, list[float]]:
    """Per GPU, each chunk's share of the GPU's total latency (slice sums)."""
    out = {}
    for g, v in layer_latency.items():
        a = np.asarray(v, dtype=float)
        ends = list(boundaries[1:]) + [a.size]
        total = float(a.sum())
        out[g] = [float(a[s:e].sum()) / total for s, e in zip(boundaries, ends)]
    return out


def balance_violations(layer_latency: Mapping[str, np.ndarray], boundaries: Sequence[int],
                       lb: float, ub: float) -> list[str]:
    """Human-readable balance violations of a chunking (empty list if it is feasible)."""
    k = len(boundaries)
    out = []
    for g, shares in chunk_shares(layer_latency, boundaries).items():
        for c, s in enumerate(shares):
            if s < lb / k - SHARE_TOL or s > ub / k + SHARE_TOL:
                out.append(f"{g} chunk {c}: share x K = {s * k:.3f} outside [{lb:g}, {ub:g}]")
    return out


def min_cut_chunking(layer_latency: Mapping[str, np.ndarray], cut_bytes: np.ndarray, k: int,
                     lb: float, ub: float, prefer: Sequence[int] | None = None) -> list[int] | None:
    """Optimal chunk starts for one balance step, or None if no chunking is feasible."""
    lat, cut, k = _check_inputs(layer_latency, cut_bytes, k)
    (lb, ub), = check_ladder([(lb, ub)])
    return _solve_step(_prefixes(lat), cut, k, lb, ub, _prefer_mask(prefer, cut.size + 1))


def partition_layers(layer_latency: dict[str, np.ndarray], cut_bytes: np.ndarray, k: int,
                     ladder: Sequence[tuple[float, float]] = DEFAULT_LADDER, *,
                     prefer: Sequence[int] | None = None) -> ChunkingResult:
    """Exact minimum-cut balanced chunking at the first feasible ladder step.

    ``layer_latency[gpu]``: (n_layers,) non-negative latencies; ``cut_bytes``:
    (n_layers - 1,) bytes crossing a cut after layer i. Among chunkings of
    minimal total cut size, the one sharing the most chunk starts with
    ``prefer`` (e.g. an existing mapping whose chunks are already profiled) is
    returned, then the one with the earliest starts. Raises
    :class:`InputError` for bad input and :class:`InfeasibleError` when no step
    of the ladder is feasible.
    """
    lat, cut, k = _check_inputs(layer_latency, cut_bytes, k)
    steps = check_ladder(ladder)
    prefix = _prefixes(lat)
    mask = _prefer_mask(prefer, cut.size + 1)
    tried: list[tuple[float, float]] = []
    for lb, ub in steps:
        tried.append((lb, ub))
        starts = _solve_step(prefix, cut, k, lb, ub, mask)
        if starts is None:
            continue
        cuts = [float(cut[b - 1]) for b in starts[1:]]
        shares = {}
        for g, P in prefix.items():
            ends = starts[1:] + [cut.size + 1]
            shares[g] = [float(P[e] - P[s]) / float(P[-1]) for s, e in zip(starts, ends)]
        return ChunkingResult(boundaries=starts, lb=lb, ub=ub, cut_bytes=cuts, total_cut_bytes=float(sum(cuts)),
                              runtime_share=shares, ladder_tried=tried)
    raise InfeasibleError(
        f"no feasible ladder step for K={k} over {cut.size + 1} layers"
        f" (tried {', '.join(format_tag(lb, ub) for lb, ub in tried)}){_infeasible_hint(lat, k, steps)}")


def _infeasible_hint(lat: dict[str, np.ndarray], k: int, steps: list[tuple[float, float]]) -> str:
    """Why no step fits, when one layer alone is heavier than the loosest chunk bound."""
    ub = max(u for _, u in steps)
    worst = max(((float(a.max() / a.sum()), g, int(a.argmax())) for g, a in lat.items()))
    share, g, i = worst
    if share > ub / k + SHARE_TOL:
        return (f": layer {i} alone takes {share:.0%} of {g}'s latency, above the loosest bound"
                f" ub/K = {ub / k:.0%}; try fewer chunks")
    return ""


# ---------------------------------------------------------------- whole models

@dataclass
class ModelPrepartition:
    """One model's re-partitioning, with the reference mapping it replaces (if any)."""

    model: str
    graph: LayerChain
    result: ChunkingResult
    reference: ReferenceChunking | None = None
    load_seconds: float = 0.0
    solve_seconds: float = 0.0
    reference_violations: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.solve_seconds

    @property
    def changed(self) -> bool:
        """True unless the reference mapping has exactly these chunks."""
        return self.reference is None or list(self.reference.boundaries) != list(self.result.boundaries)

    def chunk_layers(self) -> list[list[str]]:
        return self.graph.chunk_layers(self.result.boundaries)

    def to_json(self) -> dict:
        r = self.result
        ref = None
        if self.reference is not None:
            rr = self.reference
            ref = {"tag": rr.tag, "chunks": rr.k, "boundaries": rr.boundaries,
                   "total_cut_bytes": rr.total_cut_bytes, "satisfies_own_tag": not self.reference_violations,
                   "violations": self.reference_violations}
        return {
            "model": self.model, "layers": self.graph.n_layers, "gpus": self.graph.gpus,
            "lb": r.lb, "ub": r.ub, "tag": r.tag, "chunks": r.k, "boundaries": r.boundaries,
            "cut_bytes": r.cut_bytes, "total_cut_bytes": r.total_cut_bytes,
            "runtime_share": r.runtime_share,
            "ladder_tried": [format_tag(lb, ub) for lb, ub in r.ladder_tried],
            "seconds": self.seconds, "solve_seconds": self.solve_seconds,
            "reference": ref, "chunking_changed": self.changed,
            "reprofile_needed": self.changed,
        }


def default_chunk_count(n_layers: int, reference: ReferenceChunking | None) -> int:
    """The reference mapping's chunk count if there is one, else 10 (at most n_layers)."""
    if reference is not None:
        return reference.k
    return min(DEFAULT_CHUNKS, n_layers)


def prepartition_model(root: Path, model: str, k: int | None = None,
                       ladder: Sequence[tuple[float, float]] = DEFAULT_LADDER,
                       prefer_reference: bool = True) -> ModelPrepartition:
    """Load a model's layer-level files under ``root`` and re-partition it.

    With ``prefer_reference`` ties in cut size are broken towards the reference
    mapping's chunk starts, so an already optimal reference (whose block timings
    are measured) is kept as is.
    """
    from ppipe.partition.layers import load_layer_graph, read_reference_chunking

    t0 = time.perf_counter()
    graph = load_layer_graph(root, model)
    reference = read_reference_chunking(root, model)
    if reference is not None and reference.layers != graph.layers:
        raise DataError(f"model {model}: the reference mapping ({reference.tag}) lists other layers than the node profiles")
    t1 = time.perf_counter()
    kk = default_chunk_count(graph.n_layers, reference) if k is None else k
    prefer = reference.boundaries if (reference is not None and prefer_reference) else None
    result = partition_layers(graph.latency, graph.cut_bytes, kk, ladder, prefer=prefer)
    t2 = time.perf_counter()
    viol = []
    if reference is not None:
        viol = balance_violations(graph.latency, reference.boundaries, reference.lb, reference.ub)
    return ModelPrepartition(model, graph, result, reference, t1 - t0, t2 - t1, viol)


def chunking_to_json(mp: ModelPrepartition) -> dict:
    """The chunk-structure part of the own profile format (``chunk_layers``, ``cut_bytes``)."""
    r = mp.result
    return {
        "format": "ppipe-chunking", "version": 1, "model": mp.model, "chunks": r.k,
        "lb": r.lb, "ub": r.ub, "tag": r.tag, "boundaries": r.boundaries,
        "cut_bytes": r.cut_bytes, "chunk_layers": mp.chunk_layers(),
        "runtime_share": r.runtime_share,
        "note": "block timings of these chunks must be (re-)profiled; see ppipe prepartition --estimate-profile",
    }


# ---------------------------------------------------------------- estimated block timings

def estimate_profile(graph: LayerChain, boundaries: Sequence[int], cut_bytes: Sequence[float],
                     base=None, base_boundaries: Sequence[int] | None = None):
    """An explicitly *estimated* chunk-level profile for a new chunking.

    With ``base`` (the measured :class:`~ppipe.profiles.store.ModelProfile` of the
    reference chunking, chunks starting at ``base_boundaries``): for each GPU,
    MPS split k and batch size b, each reference chunk's measured block timing
    is spread over its layers in proportion to their batch-1 layer latencies
    (evenly if those are all zero) and summed over each new chunk. So the
    per-(GPU, k, b) model totals are preserved, batch and MPS scaling follow
    what the artifact measured for that region of the model, and the reference
    chunking reproduces the measured tables exactly. GPUs with layer latencies
    but no block timings (or no ``base`` at all) get k = 1, batch 1 only: the
    plain sums of the layer latencies.
    """
    from ppipe.profiles.model import ModelProfile

    n = graph.n_layers
    starts = np.asarray(boundaries, dtype=int)
    latency: dict[str, dict[int, np.ndarray]] = {}
    notes = []
    if base is not None:
        if base_boundaries is None or len(base_boundaries) != base.num_chunks:
            raise DataError(f"model {graph.model}: the measured profile's chunks do not match its reference mapping")
        ref_ids = graph.chunk_ids(base_boundaries)
        for g, tables in base.latency.items():
            if g not in graph.latency:  # pragma: no cover - the artifact has both for every GPU
                notes.append(f"{g} dropped (no layer latencies)")
                continue
            lat = graph.latency[g]
            ref_sum = np.bincount(ref_ids, weights=lat, minlength=base.num_chunks)
            ref_cnt = np.bincount(ref_ids, minlength=base.num_chunks)
            weight = np.where(ref_sum[ref_ids] > 0, lat / np.where(ref_sum[ref_ids] > 0, ref_sum[ref_ids], 1.0),
                              1.0 / ref_cnt[ref_ids])
            latency[g] = {}
            for k, t in tables.items():
                per_layer = weight[:, None] * t[ref_ids]  # (n, max_batch)
                latency[g][k] = np.add.reduceat(per_layer, starts, axis=0)
    for g, lat in graph.latency.items():
        if g not in latency:
            latency[g] = {1: np.add.reduceat(lat, starts)[:, None]}
            if base is not None:
                notes.append(f"{g}: k=1, batch 1 only (layer sums; no block timings to scale by)")
    method = ("scaled per GPU, MPS split and batch size by the artifact's block timings of the reference chunks"
              if base is not None else "batch 1, k=1 only (sums of layer latencies)")
    provenance = f"{ESTIMATE_PROVENANCE}; {method}" + (f"; {'; '.join(notes)}" if notes else "")
    prof = ModelProfile(
        name=graph.model, cut_bytes=np.asarray(cut_bytes, dtype=float), latency=latency,
        runtime_us=dict(base.runtime_us) if base is not None else {},
        provenance=provenance, estimated=True, chunk_layers=graph.chunk_layers(list(boundaries)),
        source=graph.source,
    )
    assert prof.num_chunks == len(boundaries) and n >= len(boundaries)
    prof.validate()
    return prof
