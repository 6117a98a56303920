"""Experiment sets of the paper's evaluation (SPEC section 5) as lists of settings.

A *setting* is one planning problem: a model group (or, in the ablation, one
model) on one cluster. Each setting is planned by several *variants*: a
planner (``ppipe``, ``np``, ``dart-r``, ``np-single``) whose plan is served by
a data-plane balancer (``reservation`` or ``nexus``). The PPipe plan of a
setting is always solved, because its per-model throughput is load factor 100
for every variant of that setting (SPEC section 8).

- ``maf19`` / ``maf21``: the 6 groups x 4 clusters, P = 2, SLO x5, discount
  0.4, MAF'19 / MAF'21 weights; variants PPipe, NP, DART-r.
- ``ablation``: each of the 18 models alone on HC2, P = 3, discount 0.1;
  variants single-model NP, PPipe with the Nexus-style balancer, PPipe.

Which variants a set runs comes from :mod:`ppipe.experiments.variants`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppipe.errors import InputError
from ppipe.experiments.variants import for_set as variants_for_set
from ppipe.planning.problem import CLUSTER_PRESETS, MODEL_GROUPS, WEIGHT_PRESETS

SETS = ("maf19", "maf21", "ablation")


@dataclass(frozen=True)
class SetDefaults:
    """Planning constants of an experiment set."""

    max_parts: int
    slo_multiplier: float
    slo_discount: float
    weights: tuple[float, ...] | None  # None: weight 1 for every model
    arrivals: str  # poisson, or "bursty" (trace when the user gives one)


SET_DEFAULTS: dict[str, SetDefaults] = {
    "maf19": SetDefaults(2, 5.0, 0.4, tuple(WEIGHT_PRESETS["maf19"]), "poisson"),
    "maf21": SetDefaults(2, 5.0, 0.4, tuple(WEIGHT_PRESETS["maf21"]), "bursty"),
    "ablation": SetDefaults(3, 5.0, 0.1, None, "poisson"),
}


@dataclass(frozen=True)
class Setting:
    """One planning problem of an experiment set."""

    set: str
    group: str  # G1..G6, or the model's name in the ablation
    cluster: str  # HC1..HC4
    models: tuple[str, ...]
    variants: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """A file-name-safe identifier, unique within the set."""
        return f"{self.group}_{self.cluster}"


def ablation_models() -> list[str]:
    """The 18 models of the main experiments (the groups' union), sorted by name."""
    return sorted(m for ms in MODEL_GROUPS.values() for m in ms)


def _pick(values: list[str] | None, known: list[str], what: str) -> list[str]:
    if not values:
        return list(known)
    out = []
    for v in values:
        matches = [k for k in known if k == v] or [k for k in known if k.upper() == v.upper()] or \
                  [k for k in known if k.startswith(v)]
        if len(matches) != 1:
            hint = "ambiguous" if matches else "unknown"
            raise InputError(f"{hint} {what} {v!r} (choose from {', '.join(known)})")
        if matches[0] not in out:
            out.append(matches[0])
    return out


def pick_variants(set_name: str, names: list[str] | None) -> tuple[str, ...]:
    defaults = variants_for_set(set_name)
    if not names:
        return defaults
    bad = [n for n in names if n not in defaults]
    if bad:
        raise InputError(f"scheduler(s) {', '.join(bad)} are not part of the {set_name} set "
                         f"(choose from {', '.join(defaults)})")
    return tuple(n for n in defaults if n in names)


def build_settings(set_name: str, groups: list[str] | None = None, clusters: list[str] | None = None,
                   variants: list[str] | None = None, models: list[str] | None = None) -> list[Setting]:
    """The settings of ``set_name``, optionally restricted to some groups/models and clusters."""
    if set_name not in SETS:
        raise InputError(f"unknown experiment set {set_name!r} (choose {', '.join(SETS)})")
    chosen = pick_variants(set_name, variants)
    if set_name == "ablation":
        if groups:
            raise InputError("the ablation set has no groups: restrict it with --models")
        names = _pick(models, ablation_models(), "model")
        hcs = _pick(clusters, list(CLUSTER_PRESETS), "cluster") if clusters else ["HC2"]
        return [Setting(set_name, m, hc, (m,), chosen) for m in names for hc in hcs]
    if models:
        raise InputError("--models applies to the ablation set; restrict the main sets with --groups")
    gs = _pick(groups, list(MODEL_GROUPS), "group")
    hcs = _pick(clusters, list(CLUSTER_PRESETS), "cluster")
    return [Setting(set_name, g, hc, tuple(MODEL_GROUPS[g]), chosen) for g in gs for hc in hcs]


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``"i/n"`` -> (i, n) with 0 <= i < n; None for None."""
    if value is None:
        return None
    i, sep, n = value.partition("/")
    try:
        if not sep:
            raise ValueError
        i_, n_ = int(i), int(n)
    except ValueError:
        raise InputError(f"malformed shard {value!r}: expected I/N, e.g. 0/4") from None
    if n_ < 1 or not 0 <= i_ < n_:
        raise InputError(f"shard {value!r}: need 0 <= I < N")
    return i_, n_


def shard(settings: list[Setting], index: int, count: int) -> list[Setting]:
    """Shard ``index`` of ``count``: the settings sorted by id, every ``count``-th from ``index``
    (deterministic, disjoint, and together all of them)."""
    ordered = sorted(settings, key=lambda s: (s.set, s.id))
    return [s for k, s in enumerate(ordered) if k % count == index]
