"""Rows both planner MILPs share: GPU use rounded up per pool, and the slot rule.

The direct MILP (:mod:`ppipe.planning.planner`) counts instances per configuration; the
loss-budget MILP (:mod:`ppipe.planning.loss_budget`) picks whole pipelines. Both account
GPUs and slots the same way, stated once here.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterable

from ppipe.planning.configs import PipelineConfig
from ppipe.planning.milp import MilpModel


def gpu_unit(configs: Iterable[PipelineConfig]) -> int:
    """GPU accounting unit: an instance at MPS split k is ``unit / k`` units. The lcm
    of 1..4 (the usual splits, so rows look alike across problems) and every split in use."""
    return math.lcm(12, *{st.k for c in configs for st in c.stages})


def throughput_cap(cfg: PipelineConfig, limits) -> float:
    """The most a configuration can serve: all GPUs of each type it uses, ignoring rounding."""
    per_type: dict[int, float] = {}
    for st in cfg.stages:
        per_type[st.gpu] = per_type.get(st.gpu, 0.0) + 1.0 / (st.k * st.xput)
    return min(limits[g] / v for g, v in per_type.items())


def add_pool_rows(M: MilpModel, usage: dict[tuple, list[tuple[int, float]]], limits, unit: int) -> dict:
    """One integer GPU count z per pool, ``unit * z >= sum coef * var``, and per type
    ``sum z <= limit``. ``usage`` maps a pool key ending in the GPU type index to
    (variable, units per unit of the variable). Returns {pool key: z}."""
    zs: dict[tuple, int] = {}
    per_type: dict[int, list[int]] = {}
    for key, terms in sorted(usage.items()):
        g = key[-1]
        z = M.var(0, limits[g], integer=True, name=f"z[{','.join(map(str, key))}]")
        row: dict[int, float] = {z: float(unit)}
        for var, coef in terms:
            row[var] = row.get(var, 0.0) - float(coef)
        M.row(row, lo=0.0)
        zs[key] = z
        per_type.setdefault(g, []).append(z)
    for g, group in per_type.items():
        M.row({z: 1.0 for z in group}, hi=float(limits[g]))
    return zs


def allocation(zs: dict[tuple, int], values, num_models: int, num_types: int) -> list[list[int]]:
    """Each model's whole GPUs of each type in a solution ``values``: its pools summed (``zs``
    as :func:`add_pool_rows` returns it, keys (model, ..., type))."""
    sums = [[0.0] * num_types for _ in range(num_models)]
    for key, z in zs.items():
        sums[key[0]][key[-1]] += float(values[z])
    return [[int(round(v)) for v in row] for row in sums]


def add_slot_rows(M: MilpModel, used: list[tuple[tuple[int, ...], int]], num_types: int, max_parts: int,
                  shares: list[float] | None = None) -> None:
    """Hall's condition on the prefix tree of one model's slots: for every type prefix
    v, the pipelines (variables) whose sequence starts with v sum to <= |G|^(P-|v|).
    ``shares``: each variable's coefficient (default 1: slot binaries; the pool relaxation
    counts a throughput as its share of the configuration's cap)."""
    prefixes: dict[tuple[int, ...], list[tuple[int, float]]] = {}
    for i, (seq, var) in enumerate(used):
        for m in range(1, len(seq) + 1):
            prefixes.setdefault(seq[:m], []).append((var, 1.0 if shares is None else shares[i]))
    for v, members in prefixes.items():
        cap = num_types ** (max_parts - len(v))
        if len(members) > cap:
            M.row(dict(members), hi=float(cap))


def add_cost_rows(M: MilpModel, T: int, zs: dict[tuple, int], pi, costs, level: float) -> None:
    """Keep only plans at ``T >= level``, and price each model's pools at least at what its
    own plans at that level cost: ``sum_q,g pi_g z_dqg >= costs[d]`` (costs from
    :func:`ppipe.planning.planner.model_costs`, a bound on ``pi . z_d`` over model d's plans
    alone). Both hold for every plan at ``T >= level``: exact there."""
    M.lb[T] = float(level) * (1 - 1e-9)
    for d, cost in enumerate(costs):
        row = {z: float(pi[key[-1]]) for key, z in zs.items() if key[0] == d}
        if cost > 0 and row:
            M.row(row, lo=float(cost) * (1 - 1e-9) - 1e-9)


def add_allocation_vars(M: MilpModel, zs: dict[tuple, int], limits) -> list[tuple[int, list[int]]]:
    """Integer totals of each model's pools, for the solver to branch on: per model and
    group of GPU types (every group on fleets of up to ALL_GROUPS_UP_TO types, else per
    type, per pair and in all; each distinct set of pools once).

    Why: the models share the fleet only through their per-type totals, and branching on
    "model d gets at most 4 V100s" splits the search far better than branching on one pool
    or one pipeline. Each is ``v = sum z`` over integer pools, so every plan keeps its
    objective: exact. Measured (bench/bench_scale.py): G1 on four types 24 s -> 12 s, the
    18 models from the 120 s limit (gap 3%) to optimal in 31 s. Returns (variable, the
    pools it sums), to fill start values."""
    per_model: dict[int, dict[int, list[int]]] = {}
    for key, z in zs.items():
        per_model.setdefault(key[0], {}).setdefault(key[-1], []).append(z)
    seen: set[frozenset] = set()
    out: list[tuple[int, list[int]]] = []

    def total(members: list[int], hi: float, name: str) -> None:
        key = frozenset(members)
        if len(members) < 2 or key in seen:
            return
        seen.add(key)
        v = M.var(0, hi, integer=True, name=name)
        M.row({v: 1.0, **{z: -1.0 for z in members}}, lo=0.0, hi=0.0)
        out.append((v, list(members)))

    for d, by_type in sorted(per_model.items()):
        types = sorted(by_type)
        sizes = range(1, len(types) + 1) if len(limits) <= ALL_GROUPS_UP_TO else (1, len(types), 2)
        for size in sizes:
            for group in itertools.combinations(types, size):
                total([z for g in group for z in by_type[g]], sum(limits[g] for g in group),
                      f"u[{d},{'+'.join(map(str, group))}]")
    return out


#: On fleets of at most this many GPU types each model gets a total for every group of
#: types (15 for four); beyond it, per type, per pair and in all (every group would be
#: 255 for eight types, and slower). G1 on four types: 5.6 s -> 4.0 s with every group.
ALL_GROUPS_UP_TO = 4
