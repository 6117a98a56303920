"""Planning problems: models, a GPU mix, SLOs and weights (SPEC sections 3 and 5).

A :class:`PlanningProblem` holds every number the MILP needs, already
resolved (SLOs, adjustments, transmit times, est_xput), so that replaying a
reference plan's ``config`` and building a problem from flags give the same
kind of object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ppipe.catalog.gpus import MAX_GPUS_PER_SERVER, MAX_MPS_LEVEL
from ppipe.errors import InputError
from ppipe.profiles.model import ModelProfile

BATCH_BUILD_FACTOR = 1.3
MAX_BATCH = 8
#: Bounds that keep a cluster within what any real one has (a typo such as an extra
#: three zeros fails with one line instead of an absurd solve or simulation).
MAX_GPUS_PER_TYPE = 1_000_000
#: Weights are relative workload shares; beyond these the MILP loses precision (a
#: weight of 1e-9 next to 1 made HiGHS run for minutes).
WEIGHT_RANGE = (1e-6, 1e6)
MAX_WEIGHT_RATIO = 1e4


@dataclass(frozen=True)
class ClusterSpec:
    """GPU types with counts and per-type serving settings (lists aligned by type)."""

    gpus: tuple[str, ...]
    limits: tuple[int, ...]
    mps_levels: tuple[int, ...]
    gpus_per_server: tuple[int, ...]
    bw_gbps: float

    def __post_init__(self):
        n = len(self.gpus)
        if n == 0:
            raise InputError("a cluster needs at least one GPU type")
        if len(set(self.gpus)) != n:
            raise InputError(f"GPU types repeat in {','.join(self.gpus)}")
        for name, seq in (("counts", self.limits), ("MPS levels", self.mps_levels),
                          ("GPUs per server", self.gpus_per_server)):
            if len(seq) != n:
                raise InputError(f"{name} {list(seq)} do not match GPU types {list(self.gpus)}")
        for g, c in zip(self.gpus, self.limits):
            if not 0 <= c <= MAX_GPUS_PER_TYPE:
                raise InputError(f"GPU count {g}:{c} must be between 0 and {MAX_GPUS_PER_TYPE:,}")
        if sum(self.limits) == 0:
            raise InputError("the cluster has zero GPUs")
        for g, m in zip(self.gpus, self.mps_levels):
            if not 1 <= m <= MAX_MPS_LEVEL:
                raise InputError(f"MPS level {g}={m} must be between 1 and {MAX_MPS_LEVEL}")
        for g, n in zip(self.gpus, self.gpus_per_server):
            if not 1 <= n <= MAX_GPUS_PER_SERVER:
                raise InputError(f"GPUs per server {g}={n} must be between 1 and {MAX_GPUS_PER_SERVER}")
        if not (self.bw_gbps > 0 and math.isfinite(self.bw_gbps)):
            raise InputError(f"network bandwidth must be a finite number > 0 Gbit/s, got {self.bw_gbps}")

    def limit(self, gpu: str) -> int:
        return self.limits[self.gpus.index(gpu)]

    def label(self) -> str:
        return ",".join(f"{g}:{c}" for g, c in zip(self.gpus, self.limits))

    def with_limits(self, limits: list[int] | tuple[int, ...]) -> "ClusterSpec":
        return replace(self, limits=tuple(int(x) for x in limits))


#: The heterogeneous clusters of the paper's evaluation (SPEC section 5).
CLUSTER_PRESETS: dict[str, ClusterSpec] = {
    "HC1": ClusterSpec(("L4", "P4"), (25, 75), (4, 1), (1, 1), 6),
    "HC2": ClusterSpec(("L4", "T4"), (25, 75), (4, 4), (4, 2), 10),
    "HC3": ClusterSpec(("V100", "P4"), (25, 75), (4, 1), (2, 1), 6),
    "HC4": ClusterSpec(("V100", "T4"), (25, 75), (4, 4), (4, 2), 10),
}

MODEL_GROUPS: dict[str, list[str]] = {
    "G1": ["efficientnet-b8_3rdparty_8xb32-aa-advprop_in1k", "encnet_r101-d8_4xb2-40k_cityscapes-512x1024",
           "rtmdet_x_8xb32-300e_coco"],
    "G2": ["colorization-v2", "googlenet-v3-pytorch", "repvgg-b3"],
    "G3": ["apcnet_r101-d8_4xb2-40k_cityscapes-512x1024", "atss_r101_fpn_1x_coco",
           "gcnet_r101-d8_4xb2-40k_cityscapes-512x1024"],
    "G4": ["fcn-d6_r101-d16_4xb2-40k_cityscapes-512x1024", "gfl_x101-32x4d_fpn_ms-2x_coco", "wide_resnet101_2"],
    "G5": ["centernet-update_r50-caffe_fpn_ms-1x_coco", "convnext_large",
           "dnl_r101-d8_4xb2-40k_cityscapes-512x1024"],
    "G6": ["fsaf_r101_fpn_1x_coco", "nonlocal_r101-d8_4xb2-40k_cityscapes-512x1024", "tf_efficientdet_d1"],
}

WEIGHT_PRESETS: dict[str, list[float]] = {"maf19": [0.30, 0.33, 0.37], "maf21": [0.39, 0.26, 0.35]}


@dataclass
class ModelSpec:
    """One model's inputs to the MILP."""

    profile: ModelProfile
    weight: float
    sla: float
    hist_adjustment: float
    est_xput: float | None
    transmit_us: list[float]  # per cut, per request

    @property
    def name(self) -> str:
        return self.profile.name


@dataclass
class PlanningProblem:
    models: list[ModelSpec]
    cluster: ClusterSpec
    max_parts: int = 2
    batch_build_factor: float = BATCH_BUILD_FACTOR
    max_batch: int = MAX_BATCH
    slo_multiplier: float = 5.0
    slo_discount: float = 0.4
    #: Restrict MPS splits to k = 1 (NP and the DART-r units).
    whole_gpus_only: bool = False
    #: After the max-min optimum, give leftover GPUs to models (maximise the sum of
    #: throughput / weight while keeping the optimum): a second solve, off by default
    #: as in the reference.
    fill_leftover: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def weights(self) -> list[float]:
        return [m.weight for m in self.models]

    def with_est_xput(self, est: list[float | None]) -> "PlanningProblem":
        models = [replace(m, est_xput=e) for m, e in zip(self.models, est)]
        return replace(self, models=models)


def check_max_parts(max_parts: int | None, profiles) -> None:
    """A ``--max-parts`` the user gave (None: the default, capped by the enumeration) must be
    at least 1 and at most the models' chunks (one line otherwise)."""
    if max_parts is None:
        return
    if max_parts < 1:
        raise InputError(f"--max-parts must be at least 1, got {max_parts}")
    most = max(p.num_chunks for p in profiles)
    if max_parts > most:
        raise InputError(f"--max-parts {max_parts}: the models have at most {most} chunks, so at most {most} "
                         "partitions")


#: The longest SLO a plan may have (an hour): beyond it the latency arithmetic overflows.
MAX_SLA_US = 3600e6


def check_weights(weights: list[float], labels: list[str] | None = None, what: str = "weights",
                  unit: str = "") -> None:
    """Weights must be finite, > 0, within :data:`WEIGHT_RANGE` and at most
    :data:`MAX_WEIGHT_RATIO` apart (one line naming the weight otherwise). ``labels`` name
    each value and ``what`` all of them in the user's terms (sizing's target rates, which
    the planner takes as weights); ``unit`` follows each number."""
    lo, hi = WEIGHT_RANGE
    labels = labels or [f"weight {i + 1}" for i in range(len(weights))]
    for label, w in zip(labels, weights):
        if not (isinstance(w, (int, float)) and math.isfinite(w) and w > 0):
            raise InputError(f"{label} ({w!r}) must be a finite number > 0")
        if not lo <= w <= hi:
            raise InputError(f"{label} ({w:g}{unit}) must be between {lo:g} and {hi:g}{unit}")
    if weights and max(weights) / min(weights) > MAX_WEIGHT_RATIO:
        raise InputError(f"{what} {','.join(f'{w:g}' for w in weights)} span a ratio of "
                         f"{max(weights) / min(weights):.3g}; at most {MAX_WEIGHT_RATIO:g} (the solver loses "
                         "precision beyond)")


def build_problem(profiles: list[ModelProfile], cluster: ClusterSpec, weights: list[float] | None = None,
                  max_parts: int = 2, slo_multiplier: float = 5.0, slo_discount: float = 0.4,
                  est_xput: list[float | None] | None = None) -> PlanningProblem:
    """A problem from profiles and settings, deriving SLOs and transmit times."""
    if not profiles:
        raise InputError("no models given")
    names = [p.name for p in profiles]
    if len(set(names)) != len(names):
        raise InputError(f"a model is listed twice: {','.join(names)}")
    weights = list(weights) if weights is not None else [1.0] * len(profiles)
    if len(weights) != len(profiles):
        raise InputError(f"{len(weights)} weights for {len(profiles)} models")
    check_weights(weights)
    if max_parts < 1:
        raise InputError(f"--max-parts must be >= 1, got {max_parts}")
    if not (slo_multiplier > 0 and math.isfinite(slo_multiplier)):
        raise InputError(f"the SLO multiplier must be a finite number > 0, got {slo_multiplier:g}")
    if not 0 <= slo_discount < 1:
        raise InputError(f"the SLO discount must be in [0, 1), got {slo_discount:g}")
    est = list(est_xput) if est_xput is not None else [None] * len(profiles)
    for p in profiles:
        missing = [g for g in cluster.gpus if not p.has(g, 1)]
        if missing:
            raise InputError(f"model {p.name} has no profile for GPU type(s) {', '.join(missing)}")
    models = []
    for p, w, e in zip(profiles, weights, est):
        sla = p.sla_us(slo_multiplier)
        if not (math.isfinite(sla) and sla <= MAX_SLA_US):
            raise InputError(f"the SLO multiplier {slo_multiplier:g} gives model {p.name} an SLO of "
                             f"{sla / 1e6:.3g} s; at most {MAX_SLA_US / 1e6:g} s")
        models.append(ModelSpec(profile=p, weight=float(w), sla=sla, hist_adjustment=round(slo_discount * sla),
                                est_xput=e, transmit_us=p.transmit_times_us(cluster.bw_gbps)))
    return PlanningProblem(models=models, cluster=cluster, max_parts=max_parts, slo_multiplier=slo_multiplier,
                           slo_discount=slo_discount)

