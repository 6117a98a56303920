"""From what a user typed to a :class:`PlanningProblem`: one path for the CLI and the TUI.

Cluster building (presets, per-type counts, MPS levels, GPUs per server, the
bandwidth default), weight parsing (numbers or the MAF presets), the paper's
groups and their default weights live here, so both faces accept the same
input and explain a mistake with the same words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ppipe.catalog.gpus import GpuCatalog
from ppipe.errors import InputError
from ppipe.planning.problem import CLUSTER_PRESETS, MODEL_GROUPS, WEIGHT_PRESETS, ClusterSpec, check_weights
from ppipe.textparse import parse_csv_list

#: Weights a paper group gets when the user gives none (the paper's main set).
GROUP_DEFAULT_WEIGHTS = "maf19"


@dataclass(frozen=True)
class GpuRow:
    """One GPU type of a mix: how many, MPS split levels, GPUs per server (None: catalog's)."""

    gpu: str
    count: int
    mps: int | None = None
    per_server: int | None = None


def parse_weights(value: str | None, n: int) -> list[float]:
    """``None``/empty -> all 1; ``maf19``/``maf21``; or ``0.3,0.33,0.37`` (one per model, each > 0)."""
    if value is None or not value.strip():
        return [1.0] * n
    key = value.strip().lower()
    if key in WEIGHT_PRESETS:
        w = list(WEIGHT_PRESETS[key])
        if len(w) != n:
            raise InputError(f"{key} has {len(w)} weights, {n} model(s) chosen")
        return w
    try:
        w = [float(v) for v in parse_csv_list(value.replace(";", ","), "weight")]
    except ValueError:
        raise InputError(f"malformed weights {value!r}: expected numbers like 0.3,0.33,0.37 or maf19") from None
    if any(not (x > 0 and math.isfinite(x)) for x in w):
        raise InputError(f"weights must be finite numbers > 0, got {value!r}")
    if len(w) != n:
        raise InputError(f"{len(w)} weights for {n} models")
    check_weights(w)
    return w


def group_models(group: str) -> list[str]:
    key = group.upper()
    if key not in MODEL_GROUPS:
        raise InputError(f"unknown group {group!r} (use {', '.join(MODEL_GROUPS)})")
    return list(MODEL_GROUPS[key])


def default_weights(group: str | None, n_models: int, weights: str | None) -> str | None:
    """A paper group of three models gets the MAF'19 weights unless the user gave some."""
    if group and weights is None and n_models == 3:
        return GROUP_DEFAULT_WEIGHTS
    return weights


def preset_rows(name: str) -> tuple[list[GpuRow], float]:
    """A cluster preset (HC1..HC4) as rows, and its bandwidth."""
    key = name.upper()
    if key not in CLUSTER_PRESETS:
        raise InputError(f"unknown cluster {name!r} (presets: {', '.join(CLUSTER_PRESETS)})")
    c = CLUSTER_PRESETS[key]
    rows = [GpuRow(g, n, m, s) for g, n, m, s in zip(c.gpus, c.limits, c.mps_levels, c.gpus_per_server)]
    return rows, c.bw_gbps


def build_cluster(rows: list[GpuRow], bw_gbps: float | None = None,
                  catalog: GpuCatalog | None = None) -> ClusterSpec:
    """A cluster from rows; unknown GPU types fail with one line; settings a row leaves
    out come from the catalog, and the bandwidth defaults to the slowest type's network."""
    if not rows:
        raise InputError("give --gpus TYPE:COUNT,... or --cluster HC1..HC4")
    catalog = catalog or GpuCatalog.load()
    for r in rows:
        catalog.get(r.gpu)  # unknown GPU -> one-line error
    mps = tuple(r.mps if r.mps is not None else catalog.get(r.gpu).mps_levels for r in rows)
    per_server = tuple(r.per_server if r.per_server is not None else catalog.get(r.gpu).gpus_per_server
                       for r in rows)
    if bw_gbps is None:
        bw_gbps = min(catalog.get(r.gpu).network_gbps for r in rows)
    return ClusterSpec(tuple(r.gpu for r in rows), tuple(int(r.count) for r in rows), mps, per_server,
                       float(bw_gbps))
