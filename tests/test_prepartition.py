"""The exact partitioner against brute force and an independent quadratic DP.

Feasibility is re-checked here without the solver's prefix-sum windows: a chunk
is feasible on a GPU iff its summed latency divided by the GPU total lies in
[lb/K - 1e-9, ub/K + 1e-9] (the documented tolerance, SHARE_TOL).
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ppipe.errors import InputError
from ppipe.partition.prepartition import (
    DEFAULT_LADDER,
    SHARE_TOL,
    InfeasibleError,
    balance_violations,
    min_cut_chunking,
    parse_ladder,
    partition_layers,
)

TOL = 1e-9
assert SHARE_TOL == TOL  # the documented tolerance; the checks below spell it out on their own


def shares_ok(lat: dict[str, list[float]], starts: list[int], lb: float, ub: float) -> bool:
    """Independent balance check: plain Python sums per chunk, no prefix sums."""
    k = len(starts)
    for values in lat.values():
        n = len(values)
        total = math.fsum(values)
        ends = starts[1:] + [n]
        for s, e in zip(starts, ends):
            if e <= s:
                return False
            share = math.fsum(values[s:e]) / total
            if share < lb / k - TOL or share > ub / k + TOL:
                return False
    return True


def brute_force(lat, cut, k, lb, ub, prefer=()):
    """All C(n-1, k-1) chunkings; returns the lexicographic min of
    (total cut, starts outside ``prefer``, reversed starts) over feasible ones, or None."""
    n = len(next(iter(lat.values())))
    best = None
    for inner in itertools.combinations(range(1, n), k - 1):
        starts = [0, *inner]
        if not shares_ok(lat, starts, lb, ub):
            continue
        key = (sum(cut[b - 1] for b in inner), sum(b not in prefer for b in inner), starts[::-1])
        if best is None or key < best[0]:
            best = (key, starts)
    return None if best is None else best[1]


def first_feasible(lat, cut, k, ladder, prefer=()):
    for lb, ub in ladder:
        starts = brute_force(lat, cut, k, lb, ub, prefer)
        if starts is not None:
            return (lb, ub), starts
    return None, None


LADDER = [(1.0, 1.0), *DEFAULT_LADDER]


@st.composite
def instances(draw):
    k = draw(st.integers(1, 5))
    max_n = {1: 36, 2: 36, 3: 36, 4: 26, 5: 18}[k]
    n = draw(st.integers(k, max_n))
    n_gpus = draw(st.integers(1, 3))
    # small integers make exact hits of the bounds and ties in cut size common
    lat = {f"G{g}": draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)) for g in range(n_gpus)}
    for v in lat.values():
        assume(sum(v) > 0)
    cut = draw(st.lists(st.integers(0, 20), min_size=n - 1, max_size=n - 1))
    prefer = draw(st.sets(st.integers(1, max(1, n - 1)), max_size=k)) if draw(st.booleans()) else set()
    return lat, cut, k, prefer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instances())
def test_matches_brute_force(inst):
    lat, cut, k, prefer = inst
    step, expected = first_feasible(lat, cut, k, LADDER, prefer)
    arrays = {g: np.asarray(v, dtype=float) for g, v in lat.items()}
    if step is None:
        with pytest.raises(InfeasibleError):
            partition_layers(arrays, np.asarray(cut, dtype=float), k, LADDER, prefer=sorted(prefer) or None)
        return
    r = partition_layers(arrays, np.asarray(cut, dtype=float), k, LADDER, prefer=sorted(prefer) or None)
    assert (r.lb, r.ub) == step
    assert r.ladder_tried == LADDER[: LADDER.index(step) + 1]
    assert r.boundaries == expected  # same optimum, same documented tie-breaking
    assert r.total_cut_bytes == sum(cut[b - 1] for b in expected[1:])
    assert r.cut_bytes == [cut[b - 1] for b in r.boundaries[1:]]
    assert shares_ok(lat, r.boundaries, r.lb, r.ub)
    for g, shares in r.runtime_share.items():
        assert len(shares) == k and math.isclose(sum(shares), 1.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(4, 22), st.randoms(use_true_random=False))
def test_float_latencies_match_brute_force(k, n, rnd):
    assume(k <= n)
    lat = {g: [rnd.uniform(0.01, 100.0) for _ in range(n)] for g in ("A", "B")}
    cut = [float(rnd.randint(1, 10**6)) for _ in range(n - 1)]
    for lb, ub in DEFAULT_LADDER:
        got = min_cut_chunking({g: np.array(v) for g, v in lat.items()}, np.array(cut), k, lb, ub)
        want = brute_force(lat, cut, k, lb, ub)
        assert got == want


def quadratic_dp(lat, cut, k, lb, ub):
    """O(n^2 K) textbook DP with explicit per-chunk checks: the optimum value only."""
    n = len(next(iter(lat.values())))
    totals = {g: math.fsum(v) for g, v in lat.items()}

    def ok(i, j):
        for g, v in lat.items():
            s = math.fsum(v[i:j]) / totals[g]
            if s < lb / k - TOL or s > ub / k + TOL:
                return False
        return True

    feasible = [[ok(i, j) if i < j else False for j in range(n + 1)] for i in range(n + 1)]
    inf = float("inf")
    f = [0.0 if feasible[0][j] else inf for j in range(n + 1)]
    for _ in range(2, k + 1):
        g_ = [inf] * (n + 1)
        for j in range(1, n + 1):
            for i in range(1, j):
                if f[i] < inf and feasible[i][j]:
                    g_[j] = min(g_[j], f[i] + cut[i - 1])
        f = g_
    return f[n]


@pytest.mark.parametrize("seed", range(3))
def test_larger_instances_match_quadratic_dp(seed):
    rng = np.random.default_rng(seed)
    n, k = 90, 8
    lat = {g: list(rng.gamma(0.6, 50.0, n)) for g in ("V100", "L4", "T4")}
    cut = list(rng.integers(1, 10**7, n - 1).astype(float))
    for lb, ub in DEFAULT_LADDER[:4]:
        got = min_cut_chunking({g: np.array(v) for g, v in lat.items()}, np.array(cut), k, lb, ub)
        want = quadratic_dp(lat, cut, k, lb, ub)
        if want == float("inf"):
            assert got is None
        else:
            assert got is not None and shares_ok(lat, got, lb, ub)
            assert sum(cut[b - 1] for b in got[1:]) == want


def test_thousands_of_layers_fast():
    import time

    rng = np.random.default_rng(7)
    n = 5000
    lat = {g: rng.gamma(0.5, 30.0, n) for g in ("V100", "L4", "T4", "P4")}
    cut = rng.integers(1, 10**7, n - 1).astype(float)
    t0 = time.perf_counter()
    r = partition_layers(lat, cut, 10)
    assert time.perf_counter() - t0 < 2.0
    assert shares_ok({g: list(v) for g, v in lat.items()}, r.boundaries, r.lb, r.ub)


# ---------------------------------------------------------------- tolerance at the bounds

def test_exact_equal_shares_are_feasible():
    lat = {"A": np.full(10, 0.1), "B": np.arange(1, 11, dtype=float)[::-1].copy()}
    r = partition_layers({"A": lat["A"]}, np.ones(9), 10, [(1.0, 1.0)])
    assert r.boundaries == list(range(10)) and r.tag == "1.0-1.0"
    # 0.1 * 3 != 0.3 in binary, yet a share of exactly lb/K counts as inside
    r = partition_layers({"A": np.full(9, 0.1)}, np.ones(8), 3, [(1.0, 1.0)])
    assert r.boundaries == [0, 3, 6]


def test_share_just_outside_the_tolerance_is_infeasible():
    eps = 5 * TOL
    lat = {"A": np.array([1.0 / 3 + eps, 1.0 / 3 - eps / 2, 1.0 / 3 - eps / 2])}
    with pytest.raises(InfeasibleError):
        partition_layers(lat, np.ones(2), 3, [(1.0, 1.0)])
    ok = {"A": np.array([1.0 / 3 + TOL / 4, 1.0 / 3 - TOL / 8, 1.0 / 3 - TOL / 8])}
    assert partition_layers(ok, np.ones(2), 3, [(1.0, 1.0)]).boundaries == [0, 1, 2]
    assert balance_violations(ok, [0, 1, 2], 1.0, 1.0) == []
    assert balance_violations(lat, [0, 1, 2], 1.0, 1.0)


def test_zero_latency_layers_and_single_chunk():
    lat = {"A": np.array([0.0, 0.0, 5.0, 0.0, 5.0, 0.0])}
    r = partition_layers(lat, np.array([1.0, 2.0, 3.0, 1.0, 1.0]), 2, [(1.0, 1.0)])
    assert r.boundaries == [0, 1] or r.total_cut_bytes <= 1.0
    assert shares_ok({"A": list(lat["A"])}, r.boundaries, 1.0, 1.0)
    one = partition_layers(lat, np.arange(5.0), 1)
    assert one.boundaries == [0] and one.cut_bytes == [] and one.tag == "0.7-1.3"


def test_walks_the_ladder():
    # one heavy layer: 0.7-1.3 and 0.5-1.5 fail at K=4, 0.5-2.0 fits
    lat = {"A": np.array([4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])}  # total 12, heavy = 1.33 x mean
    r = partition_layers(lat, np.ones(8), 4)
    assert r.ladder_tried == list(DEFAULT_LADDER[:2])
    assert (r.lb, r.ub) == (0.5, 1.5) and r.boundaries[1] == 1
    lat = {"A": np.array([6.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])}  # heavy = 2 x mean at K=4
    r = partition_layers(lat, np.ones(6), 4)
    assert (r.lb, r.ub) == (0.5, 2.0) and r.ladder_tried == list(DEFAULT_LADDER[:3])


def test_prefer_keeps_an_equally_good_chunking():
    lat = {"A": np.ones(8)}
    cut = np.zeros(7)  # every chunking costs 0
    # chunks of 1..3 layers; ties go to the earliest last start, then the one before, ...
    assert partition_layers(lat, cut, 4, [(0.5, 1.5)]).boundaries == [0, 1, 2, 5]
    assert partition_layers(lat, cut, 4, [(0.5, 1.5)], prefer=[0, 2, 4, 6]).boundaries == [0, 2, 4, 6]
    # but never at the price of a larger cut
    cut = np.array([0, 0, 0, 0, 0, 5, 0], dtype=float)
    r = partition_layers(lat, cut, 4, [(0.5, 1.5)], prefer=[0, 2, 4, 6])
    assert r.total_cut_bytes == 0 and 6 not in r.boundaries


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("lat, cut, k, msg", [
    ({"A": np.ones(3)}, np.ones(2), 4, "larger than the layer count"),
    ({"A": np.ones(3), "B": np.ones(4)}, np.ones(2), 2, "mismatched layer lists"),
    ({"A": np.array([1.0, -1.0, 2.0])}, np.ones(2), 2, "non-negative"),
    ({"A": np.array([1.0, np.nan, 2.0])}, np.ones(2), 2, "finite"),
    ({"A": np.zeros(3)}, np.ones(2), 2, "sum to zero"),
    ({"A": np.ones(3)}, np.ones(3), 2, "expected 2 cut sizes"),
    ({"A": np.ones(3)}, np.array([1.0, -2.0]), 2, "cut sizes"),
    ({}, np.ones(2), 2, "no per-layer latencies"),
    ({"A": np.ones(3)}, np.ones(2), 0, "at least 1"),
    ({"A": np.ones(3)}, np.ones(2), 2.5, "integer"),
])
def test_bad_input(lat, cut, k, msg):
    with pytest.raises(InputError, match=msg):
        partition_layers(lat, cut, k)


def test_infeasible_says_why():
    lat = {"A": np.array([20.0] + [1.0] * 19)}
    with pytest.raises(InfeasibleError, match=r"no feasible ladder step.*layer 0 alone takes 51% of A"):
        partition_layers(lat, np.ones(19), 10)
    with pytest.raises(InfeasibleError, match=r"\(tried 1.0-1.0\)$"):  # no hint: no single layer is too heavy
        partition_layers({"A": np.array([2.0, 2.0, 2.0])}, np.ones(2), 2, [(1.0, 1.0)])


def test_parse_ladder():
    assert parse_ladder("0.7-1.3, 0.5-1.5") == [(0.7, 1.3), (0.5, 1.5)]
    for bad in ("", "0.5", "a-b", "1.5-0.5", "-1-2"):
        with pytest.raises(InputError):
            parse_ladder(bad)
    with pytest.raises(InputError, match="empty"):
        partition_layers({"A": np.ones(3)}, np.ones(2), 2, [])


def test_core_modules_import_no_ui():
    code = ("import sys, ppipe.partition.prepartition, ppipe.partition.layers\n"
            "print('\\n'.join(sorted(m.split('.')[0] for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    for pkg in ("typer", "rich", "textual", "plotext"):
        assert pkg not in loaded
