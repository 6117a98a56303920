"""Configuration enumeration and pruning (ppipe.planning.configs) against the plain
definition: the same configurations, in the same order, for random synthetic problems
and artifact models; stopping and progress."""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import replace

import numpy as np
import pytest

from ppipe.planning import configs as C
from ppipe.planning.configs import (
    EnumerationStopped,
    PipelineConfig,
    StageConfig,
    batch_build_us,
    enumerate_configs,
    prune_dominated,
    stage_xput,
)
from ppipe.planning.problem import CLUSTER_PRESETS, ClusterSpec, PlanningProblem, build_problem
from ppipe.profiles.model import ModelProfile

# ----------------------------------------------------------------------------------------------
# The oracle: the straightforward implementation (ppipe/planning/configs.py at d7194fc), verbatim


def _oracle_tables(problem, spec):
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


def oracle_enumerate(problem, model_index, max_parts=None, prune=True):
    spec = problem.models[model_index]
    L = spec.profile.num_chunks
    P = min(max_parts or problem.max_parts, L)
    trans = spec.transmit_us
    gps = problem.cluster.gpus_per_server
    tables = _oracle_tables(problem, spec)
    options = sorted(tables)  # (gi, k)
    budget0 = spec.sla - spec.hist_adjustment
    configs = []
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
    return oracle_prune(configs) if prune else configs


def _oracle_dominates(a, b):
    for sa, sb in zip(a.stages, b.stages):
        if sa.k % sb.k or sa.k * sa.xput < sb.k * sb.xput * (1 - 1e-12):
            return False
    return True


def oracle_prune(configs):
    groups = {}
    for c in configs:
        groups.setdefault(c.gpu_seq, []).append(c)
    kept = []
    for seq in sorted(groups):
        cands = sorted(groups[seq], key=lambda c: (-min(s.k * s.xput for s in c.stages), c.latency, c.batch,
                                                   tuple((s.end, s.k) for s in c.stages)))
        front = []
        for c in cands:
            if not any(_oracle_dominates(f, c) for f in front):
                front = [f for f in front if not _oracle_dominates(c, f)]
                front.append(c)
        kept.extend(front)
    return kept


# ----------------------------------------------------------------------------------------------
# Helpers


def assert_same(got: list[PipelineConfig], want: list[PipelineConfig]) -> None:
    """Same configurations in the same order, down to the float types."""
    assert len(got) == len(want)
    for n, (a, b) in enumerate(zip(got, want)):
        assert a == b, f"configuration {n} differs:\n{a}\n{b}"
        assert type(a.latency) is type(b.latency) and type(a.batch) is type(b.batch)
        for sa, sb in zip(a.stages, b.stages):
            assert all(type(x) is type(y) for x, y in zip(vars(sa).values(), vars(sb).values()))


GPU_NAMES = ("A", "B", "C", "D")


def random_problem(seed: int) -> PlanningProblem:
    """A small random single-model problem: 1-4 GPU types, 1-4 MPS levels, P 1-3, varied
    batch limits, SLOs, bandwidths (low ones make network-bound stages whose per-GPU
    throughputs tie up to rounding across k), with or without est_xput, whole GPUs or not."""
    rng = np.random.default_rng([seed, 7])
    for _ in range(100):
        G = int(rng.integers(1, 5))
        P = int(rng.integers(1, 4))
        L = int(rng.integers(2, 7))
        max_batch = int(rng.choice([1, 2, 4, 8]))
        levels = [int(rng.integers(1, 5)) for _ in range(G)]
        whole = bool(rng.random() < 0.25)
        n_opts = sum(1 if whole else lv for lv in levels)
        blocks = sum(len(list(itertools.combinations(range(1, L), m - 1))) for m in range(1, min(P, L) + 1))
        if n_opts ** min(P, L) * blocks * max_batch <= 20000:
            break
    gpus = GPU_NAMES[:G]
    latency = {}
    rounded = rng.random() < 0.5  # integer latencies: many exact ties
    for gi, g in enumerate(gpus):
        base = rng.uniform(100, 3000, size=L) * rng.uniform(0.3, 2.0)
        latency[g] = {}
        for k in range(1, levels[gi] + 1):
            mb = max_batch if k == 1 else max(1, max_batch // int(rng.choice([1, 2, 4])))
            b = np.arange(1, mb + 1)
            t = base[:, None] * (0.4 + 0.6 * b[None, :]) * (1 + 0.45 * (k - 1)) * rng.uniform(0.9, 1.1, (L, mb))
            if rounded:
                t = np.floor(t / 50) * 50
            t[rng.random((L, mb)) < 0.05] = 0.5  # clipped to 1 µs
            latency[g][k] = t
    cut = rng.uniform(1e4, 3e6, size=L - 1)
    if rng.random() < 0.3:
        cut[:] = cut[0]  # equal transmit times everywhere
    prof = ModelProfile(name=f"synthetic{seed}", cut_bytes=np.floor(cut), latency=latency,
                        runtime_us={gpus[0]: float(latency[gpus[0]][1][:, 0].sum())}, slo_gpu=gpus[0])
    cluster = ClusterSpec(gpus, tuple(int(x) for x in rng.integers(1, 20, G)),
                          tuple(int(rng.integers(1, 5)) for _ in range(G)),
                          tuple(int(rng.integers(1, 5)) for _ in range(G)),
                          float(rng.choice([0.5, 1.0, 10.0, 100.0])))
    problem = build_problem([prof], cluster, max_parts=P, slo_multiplier=float(rng.uniform(1.5, 12.0)),
                            slo_discount=float(rng.choice([0.0, 0.4])))
    est = None if rng.random() < 0.4 else float(rng.uniform(50, 5000))
    return replace(problem.with_est_xput([est]), whole_gpus_only=whole, max_batch=max_batch,
                   batch_build_factor=float(rng.choice([0.0, 1.3])))


# ----------------------------------------------------------------------------------------------
# Same result as the definition


@pytest.mark.parametrize("seed", range(80))
def test_enumeration_and_pruning_match_the_definition(seed):
    problem = random_problem(seed)
    raw = oracle_enumerate(problem, 0, prune=False)
    kept = oracle_prune(raw)
    assert_same(enumerate_configs(problem, 0, prune=False), raw)
    assert_same(enumerate_configs(problem, 0), kept)
    assert_same(prune_dominated(raw), kept)
    shuffled = raw[:]
    random.Random(seed).shuffle(shuffled)  # input order breaks ties in the sort
    assert_same(prune_dominated(shuffled), oracle_prune(shuffled))


@pytest.mark.parametrize("seed", range(12))
def test_small_pieces_give_the_same_result(seed, monkeypatch):
    """Intermediate pruning of the buffered rows, several type sequences per bitset batch,
    bitsets in many pieces and combos summed in pieces change nothing."""
    problem = random_problem(100 + seed)
    raw = oracle_enumerate(problem, 0, prune=False)
    monkeypatch.setattr(C, "_BUFFER_ROWS", 7)
    monkeypatch.setattr(C, "_BATCH_ROWS", 40)
    monkeypatch.setattr(C, "_WORDS_AT_ONCE", 1)
    monkeypatch.setattr(C, "_COMBOS_AT_ONCE", 3)
    assert_same(enumerate_configs(problem, 0, prune=False), raw)
    assert_same(enumerate_configs(problem, 0), oracle_prune(raw))


def test_max_parts_argument_and_empty_result():
    problem = random_problem(3)
    for P in (1, 2):
        assert_same(enumerate_configs(problem, 0, max_parts=P), oracle_enumerate(problem, 0, max_parts=P))
    tight = replace(problem, models=[replace(problem.models[0], sla=1.0, hist_adjustment=0)])
    assert enumerate_configs(tight, 0) == [] == oracle_enumerate(tight, 0)
    assert prune_dominated([]) == []


def _stage(gpu, k, xput, end=1):
    return StageConfig(gpu, k, end - 1, end, 100.0, 0.0, xput)


def test_tolerance_ties_and_the_non_transitive_fallback():
    """Per-GPU throughputs equal up to rounding count as equal; a chain of values each
    within the tolerance of the next (not transitive) takes the plain pass."""
    x = 1000.0
    tie = [x, np.nextafter(x, 0), np.nextafter(x, 2 * x)]
    cfgs = [PipelineConfig((_stage(0, k, v / k), _stage(1, 1, 50.0 + n, 2)), 1, float(n))
            for n, (k, v) in enumerate(itertools.product((1, 2, 4), tie))]
    assert C._tolerance_is_transitive(np.array([s.k * s.xput for c in cfgs for s in c.stages]))
    assert_same(prune_dominated(cfgs), oracle_prune(cfgs))
    chain = [x * (1 - 0.6e-12 * n) for n in range(4)]  # neighbours within 1e-12, ends not
    assert not C._tolerance_is_transitive(np.array(chain))
    cfgs = [PipelineConfig((_stage(0, 1, v), _stage(0, 1, chain[-1 - n], 2)), 1, float(n))
            for n, v in enumerate(chain)]
    for order in itertools.permutations(cfgs):
        assert_same(prune_dominated(list(order)), oracle_prune(list(order)))


@pytest.mark.parametrize("seed", range(40))
def test_pruning_of_tie_heavy_random_sets(seed):
    """Few distinct values, equal up to an ulp or two: duplicates, classes of mutually
    dominating configurations, equal sort keys broken by the input order."""
    rng = random.Random(seed)
    m = rng.randint(1, 3)
    pool = [100.0 * rng.randint(1, 6) for _ in range(4)]
    pool += [float(np.nextafter(v, np.inf)) for v in pool[:2]] + [float(np.nextafter(v, 0)) for v in pool[2:]]
    stages = [StageConfig(rng.randint(0, 1), k, 0, rng.randint(1, 3), 100.0, 0.0, v / k)
              for v in pool for k in (1, 2, 3, 4) if rng.random() < 0.6] or [_stage(0, 1, 100.0)]
    cfgs = [PipelineConfig(tuple(rng.choice(stages) for _ in range(m)), rng.choice([1, 2]),
                           float(rng.choice([10.0, 20.0])))
            for _ in range(rng.randint(1, 300))]
    assert_same(prune_dominated(cfgs), oracle_prune(cfgs))


def test_enumeration_falls_back_when_dominance_is_not_transitive(monkeypatch):
    problem = random_problem(5)
    monkeypatch.setattr(C, "_tolerance_is_transitive", lambda values: False)
    assert_same(enumerate_configs(problem, 0), oracle_enumerate(problem, 0))


ARTIFACT_CASES = [
    # (model, cluster, P)
    ("efficientnet-b8_3rdparty_8xb32-aa-advprop_in1k", "HC1", 2),
    ("rtmdet_x_8xb32-300e_coco", "HC2", 2),
    ("tf_efficientdet_d1", "HC4", 3),
]


@pytest.mark.parametrize("name, cluster, P", ARTIFACT_CASES)
def test_artifact_models_match_the_definition(store, name, cluster, P):
    problem = build_problem([store.get(name)], CLUSTER_PRESETS[cluster], max_parts=P)
    for est in (None, 400.0):
        p = problem.with_est_xput([est])
        raw = oracle_enumerate(p, 0, prune=False)
        assert_same(enumerate_configs(p, 0, prune=False), raw)
        assert_same(enumerate_configs(p, 0), oracle_prune(raw))


# ----------------------------------------------------------------------------------------------
# Stopping and progress


def _bundled_problem(max_parts: int = 4) -> PlanningProblem:
    from ppipe.paths import SHIPPED_PROFILES
    from ppipe.profiles.store import ProfileStore

    store = ProfileStore.open(SHIPPED_PROFILES)
    return build_problem([store.get("vit_b_16")], CLUSTER_PRESETS["HC2"], max_parts=max_parts).with_est_xput([6000.0])


@pytest.mark.parametrize("prune", [True, False])
@pytest.mark.parametrize("after", [1, 2, 50])
def test_should_stop_raises(after, prune):
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) >= after

    with pytest.raises(EnumerationStopped):
        enumerate_configs(random_problem(11), 0, prune=prune, should_stop=stop) if after < 50 else \
            enumerate_configs(_bundled_problem(), 0, prune=prune, should_stop=stop)
    assert len(calls) == after


def test_stop_takes_effect_quickly():
    """A stop is obeyed at the poll that asks for it, and polls come often enough for that to
    be quick: well under 0.1 s of work apart. The stop is asked by poll count, not by time (a
    fast machine finished the whole enumeration before a 0.1 s stop came, and it never came)."""
    problem = _bundled_problem()
    gaps = []
    last = [time.perf_counter()]

    def poll() -> bool:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now
        return False

    enumerate_configs(problem, 0, should_stop=poll)
    assert len(gaps) > 50
    assert sorted(gaps)[-3] < 0.25  # the worst few may include a scheduler hiccup
    # half-way through: the poll that says stop is the last one
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) >= len(gaps) // 2

    with pytest.raises(EnumerationStopped):
        enumerate_configs(problem, 0, should_stop=stop)
    assert len(calls) == len(gaps) // 2


def test_progress_reports(monkeypatch):
    problem = random_problem(13)
    raw = oracle_enumerate(problem, 0, prune=False)
    for prune in (True, False):
        seen = []
        out = enumerate_configs(problem, 0, prune=prune, on_progress=lambda e, k: seen.append((e, k)))
        assert seen[-1] == (len(raw), len(out))  # once at the end, with the final counts
    # throttled: at most one report per interval before the final one
    stamps = []
    enumerate_configs(_bundled_problem(), 0, on_progress=lambda e, k: stamps.append((time.monotonic(), e, k)))
    assert all(b[0] - a[0] >= C.PROGRESS_INTERVAL_S for a, b in zip(stamps[:-2], stamps[1:-1]))
    # unthrottled: counts only grow (enumerated) and stay within bounds (kept)
    monkeypatch.setattr(C, "PROGRESS_INTERVAL_S", 0.0)
    seen = []
    out = enumerate_configs(problem, 0, on_progress=lambda e, k: seen.append((e, k)))
    assert len(seen) > 2
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert all(0 <= k <= e for e, k in seen) and seen[-1] == (len(raw), len(out))
