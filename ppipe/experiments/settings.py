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
- ``sensitivity`` (Fig. 13): each of the 18 models alone on the small HC1-like
  testbed (L4 + P4, 16 GPUs, 6 Gbit/s, MPS as HC1), P = 3; variants PPipe and
  single-model NP; three one-factor sweeps around the centre (SLO x5, 4 L4 +
  12 P4, discount 0.4): (a) the SLO multiplier, (b) the L4:P4 split, (c) the
  SLO discount. A setting's own planning constants are in ``Setting.params``
  and its cluster in its name (``HC1-4+12``: HC1's types and settings with 4
  and 12 GPUs, see :func:`resolve_cluster`); the centre is one setting shared
  by the three sweeps.

Which variants a set runs comes from :mod:`ppipe.experiments.variants`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppipe.errors import InputError
from ppipe.experiments.variants import for_set as variants_for_set
from ppipe.planning.problem import CLUSTER_PRESETS, MODEL_GROUPS, WEIGHT_PRESETS

SETS = ("maf19", "maf21", "ablation", "sensitivity")
#: Sets whose settings plan one model alone: est_xput comes from the single-model NP, as the
#: artifact's ablation does.
SINGLE_MODEL_SETS = ("ablation", "sensitivity")


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
    "sensitivity": SetDefaults(3, 5.0, 0.4, None, "poisson"),
}

#: Fig. 13's sweeps: the values of each study, and the centre the other two are held at.
SENSITIVITY_BASE = "HC1"
SENSITIVITY_STUDIES: dict[str, tuple] = {
    "slo": (2.0, 3.0, 5.0, 7.0, 10.0),
    "mix": ((2, 14), (4, 12), (6, 10), (8, 8), (10, 6), (12, 4)),
    "discount": (0.0, 0.2, 0.4, 0.6),
}
SENSITIVITY_CENTER = {"slo": 5.0, "mix": (4, 12), "discount": 0.4}
#: The paper's Fig. 13 (mean lf99 gain of PPipe over NP, percent) where its text gives a number,
#: else its words.
SENSITIVITY_PAPER = {"slo": {2.0: "none", 10.0: "marginal"}, "mix": {(2, 14): 64.03, (12, 4): 5.64},
                     "discount": {0.2: 24.9, 0.4: 52.8, 0.6: 16.4}}


@dataclass(frozen=True)
class Setting:
    """One planning problem of an experiment set."""

    set: str
    group: str  # G1..G6, or the model's name in the ablation
    cluster: str  # HC1..HC4
    models: tuple[str, ...]
    variants: tuple[str, ...] = ()
    #: Planning constants of this setting that differ from the specification's
    #: (``slo_multiplier``, ``slo_discount``), as (name, value) pairs.
    params: tuple[tuple[str, float], ...] = ()

    @property
    def id(self) -> str:
        """A file-name-safe identifier, unique within the set."""
        extra = "".join(f"_{PARAM_TAGS[k]}{v:g}" for k, v in self.params)
        return f"{self.group}_{self.cluster}{extra}"

    def constants(self, spec) -> tuple[float, float]:
        """(SLO multiplier, SLO discount) this setting is planned with."""
        p = dict(self.params)
        return float(p.get("slo_multiplier", spec.slo_multiplier)), float(p.get("slo_discount", spec.slo_discount))


#: Short tags of ``Setting.params`` in setting ids.
PARAM_TAGS = {"slo_multiplier": "x", "slo_discount": "d"}


def cluster_name(base: str, counts) -> str:
    """``HC1-4+12``: the preset ``base``'s GPU types and settings with these counts."""
    return f"{base}-" + "+".join(str(int(c)) for c in counts)


def resolve_cluster(name: str):
    """The :class:`~ppipe.planning.problem.ClusterSpec` a setting's cluster name stands for:
    a preset (``HC1``) or a preset with other counts (``HC1-4+12``)."""
    from ppipe.planning.problem import CLUSTER_PRESETS

    if name in CLUSTER_PRESETS:
        return CLUSTER_PRESETS[name]
    base, sep, counts = name.partition("-")
    if sep and base in CLUSTER_PRESETS:
        preset = CLUSTER_PRESETS[base]
        try:
            limits = tuple(int(c) for c in counts.split("+"))
        except ValueError:
            limits = ()
        if len(limits) == len(preset.gpus) and all(c >= 0 for c in limits):
            return preset.with_limits(limits)
    raise InputError(f"unknown cluster {name!r} (a preset {', '.join(CLUSTER_PRESETS)}, or e.g. HC1-4+12)")


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


def sensitivity_points(studies: list[str] | None = None, values: dict | None = None) -> list[tuple]:
    """The distinct (SLO multiplier, (L4, P4), discount) points of the chosen studies (default
    all), each study's values from ``values`` (default :data:`SENSITIVITY_STUDIES`) with the
    other two factors at the centre; the centre appears once."""
    names = _pick(studies, list(SENSITIVITY_STUDIES), "study")
    values = {**SENSITIVITY_STUDIES, **(values or {})}
    c = SENSITIVITY_CENTER
    points: list[tuple] = []
    for st in names:
        for v in values[st]:
            p = (float(v) if st == "slo" else c["slo"], tuple(v) if st == "mix" else c["mix"],
                 float(v) if st == "discount" else c["discount"])
            if p not in points:
                points.append(p)
    return points


def study_of(multiplier: float, mix, discount: float) -> list[str]:
    """The sensitivity studies a point belongs to (the centre: all three)."""
    c = SENSITIVITY_CENTER
    same = {"slo": multiplier == c["slo"], "mix": tuple(mix) == tuple(c["mix"]), "discount": discount == c["discount"]}
    return [st for st in SENSITIVITY_STUDIES if all(v for k, v in same.items() if k != st)]


def build_settings(set_name: str, groups: list[str] | None = None, clusters: list[str] | None = None,
                   variants: list[str] | None = None, models: list[str] | None = None,
                   studies: list[str] | None = None, study_values: dict | None = None) -> list[Setting]:
    """The settings of ``set_name``, optionally restricted to some groups/models and clusters
    (and, for the sensitivity set, studies and their values)."""
    if set_name not in SETS:
        raise InputError(f"unknown experiment set {set_name!r} (choose {', '.join(SETS)})")
    chosen = pick_variants(set_name, variants)
    if set_name == "sensitivity":
        if groups or clusters:
            raise InputError("the sensitivity set has no groups or cluster choice: restrict it with --models "
                             "and --studies")
        names = _pick(models, ablation_models(), "model")
        out = []
        for mult, mix, disc in sensitivity_points(studies, study_values):
            params = (("slo_multiplier", mult), ("slo_discount", disc))
            cl = cluster_name(SENSITIVITY_BASE, mix)
            out += [Setting(set_name, m, cl, (m,), chosen, params) for m in names]
        return out
    if studies or study_values:
        raise InputError("--studies applies to the sensitivity set")
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
