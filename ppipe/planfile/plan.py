"""Plans: which pipelines serve each model, on which GPU pools (SPEC section 6).

The JSON format is the PPipe artifact's, read and written exactly: a reference
plan loaded and saved again is byte-identical. Unknown keys are kept.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ppipe.atomic import write_text_atomic
from ppipe.errors import DataError

PARTITION_KEYS = ("dnn", "layers", "gpu", "mps", "bs", "num_gpu_per_server", "num_gpu",
                  "lat_infer", "lat_trans", "xput")
PIPELINE_KEYS = ("xput", "partitions", "est_xput", "est_batch_build_lat", "batch_build_factor",
                 "hist_adjustment", "hist_adjustment_w_scheduling")
MODEL_KEYS = ("xput", "config", "sla", "pipelines")
CONFIG_KEYS = ("dnn_name", "gpu_name_arr", "sla", "num_mps_levels", "max_num_parts", "bs_same",
               "transmit_time_us_arr", "est_xput", "batch_build_factor", "hist_adjustment",
               "hist_adjustment_w_scheduling", "num_gpu_per_server_arr",
               "force_sum_gpu_integer_per_partition", "bw_gbps", "runtime_fmt")


@dataclass
class Partition:
    """One stage of a pipeline: chunks [start, end) on a pool of one GPU type."""

    dnn: str
    layers: list  # [start_chunk, end_chunk_exclusive]
    gpu: str
    mps: int  # k - 1
    bs: int
    num_gpu_per_server: int
    num_gpu: float  # GPUs of the pool (instances / k)
    lat_infer: float
    lat_trans: float
    xput: float
    extra: dict = field(default_factory=dict)

    @property
    def start(self) -> int:
        return int(self.layers[0])

    @property
    def end(self) -> int:
        return int(self.layers[1])

    @property
    def k(self) -> int:
        """MPS split: the GPU runs k instances (k = 1 is a whole GPU)."""
        return int(self.mps) + 1

    @property
    def instances(self) -> int:
        return int(round(float(self.num_gpu) * self.k))

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in PARTITION_KEYS}
        d.update(self.extra)
        return d


@dataclass
class Pipeline:
    xput: float
    partitions: list[Partition]
    est_xput: Any = None
    est_batch_build_lat: float = 0.0
    batch_build_factor: float = 1.3
    hist_adjustment: Any = 0
    hist_adjustment_w_scheduling: Any = 0
    extra: dict = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return int(self.partitions[0].bs) if self.partitions else 0

    @property
    def gpu_sequence(self) -> tuple[str, ...]:
        return tuple(p.gpu for p in self.partitions)

    @property
    def latency_us(self) -> float:
        """Planned latency: compute + transfer + batch building + adjustment."""
        return (sum(p.lat_infer + p.lat_trans for p in self.partitions)
                + float(self.est_batch_build_lat or 0.0) + float(self.hist_adjustment or 0.0))

    def to_json(self) -> dict:
        d = {}
        for k in PIPELINE_KEYS:
            d[k] = [p.to_json() for p in self.partitions] if k == "partitions" else getattr(self, k)
        d.update(self.extra)
        return d


@dataclass
class ModelPlan:
    xput: float
    config: dict
    sla: float
    pipelines: list[Pipeline]
    extra: dict = field(default_factory=dict)  # e.g. mipgap, runtime on the first entry

    @property
    def name(self) -> str:
        return str(self.config.get("dnn_name", ""))

    def gpus_used(self) -> dict[str, float]:
        """GPUs per type with the reference's accounting: per (position, type), rounded up."""
        import math

        per: dict[tuple[int, str], float] = {}
        for pl in self.pipelines:
            for pos, part in enumerate(pl.partitions):
                per[(pos, part.gpu)] = per.get((pos, part.gpu), 0.0) + float(part.num_gpu)
        force = self.config.get("force_sum_gpu_integer_per_partition", True)
        used: dict[str, float] = {}
        for (pos, g), v in per.items():
            used[g] = used.get(g, 0.0) + (math.ceil(v - 1e-6) if force else v)
        return used

    def to_json(self) -> dict:
        d = {"xput": self.xput, "config": self.config, "sla": self.sla,
             "pipelines": [p.to_json() for p in self.pipelines]}
        d.update(self.extra)
        return d


@dataclass
class Plan:
    models: list[ModelPlan]
    path: Path | None = None

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    def model(self, token: str | int) -> ModelPlan:
        """A model of the plan by name, unique prefix or index."""
        from ppipe.errors import InputError

        names = self.model_names
        if isinstance(token, int) or (isinstance(token, str) and token.isdigit()):
            i = int(token)
            if 0 <= i < len(self.models):
                return self.models[i]
            raise InputError(f"model index {i} out of range (plan has {len(self.models)} models)")
        if token in names:
            return self.models[names.index(token)]
        matches = [i for i, n in enumerate(names) if n.startswith(token)]
        if len(matches) == 1:
            return self.models[matches[0]]
        raise InputError(f"model {token!r} is not in the plan (has: {', '.join(names)})")

    def gpus_used(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for m in self.models:
            for g, v in m.gpus_used().items():
                total[g] = total.get(g, 0.0) + v
        return total

    @property
    def mipgap(self) -> float | None:
        return self.models[0].extra.get("mipgap") if self.models else None

    @property
    def runtime(self) -> float | None:
        return self.models[0].extra.get("runtime") if self.models else None

    def objective(self, weights: list[float] | None = None) -> float:
        """min over models of throughput / weight (weights default to 1)."""
        w = weights or [1.0] * len(self.models)
        return min(m.xput / wi for m, wi in zip(self.models, w)) if self.models else 0.0

    def to_json(self) -> list:
        return [m.to_json() for m in self.models]

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


# --------------------------------------------------------------------- reading

def _take(d: dict, keys: tuple[str, ...], where: str, required: tuple[str, ...]) -> tuple[dict, dict]:
    if not isinstance(d, dict):
        raise DataError(f"{where}: expected an object")
    missing = [k for k in required if k not in d]
    if missing:
        raise DataError(f"{where}: missing {', '.join(missing)}")
    known = {k: d[k] for k in keys if k in d}
    extra = {k: v for k, v in d.items() if k not in keys}
    return known, extra


def _partition(d: dict, where: str) -> Partition:
    known, extra = _take(d, PARTITION_KEYS, where, ("layers", "gpu", "mps", "bs", "num_gpu"))
    layers = known["layers"]
    if not (isinstance(layers, list) and len(layers) == 2 and all(isinstance(v, int) for v in layers)
            and 0 <= layers[0] < layers[1]):
        raise DataError(f"{where}: 'layers' must be [start, end) chunk indices, got {layers!r}")
    for key in ("mps", "bs"):
        if not isinstance(known[key], int) or known[key] < (0 if key == "mps" else 1):
            raise DataError(f"{where}: bad {key!r} value {known[key]!r}")
    for key in ("num_gpu", "xput", "lat_infer", "lat_trans"):
        v = known.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise DataError(f"{where}: bad {key!r} value {v!r}")
    return Partition(
        dnn=known.get("dnn", ""), layers=layers, gpu=str(known["gpu"]), mps=known["mps"], bs=known["bs"],
        num_gpu_per_server=known.get("num_gpu_per_server", 1), num_gpu=known["num_gpu"],
        lat_infer=known.get("lat_infer", 0.0), lat_trans=known.get("lat_trans", 0.0),
        xput=known.get("xput", 0.0), extra=extra)


def _pipeline(d: dict, where: str) -> Pipeline:
    known, extra = _take(d, PIPELINE_KEYS, where, ("partitions",))
    parts = known["partitions"]
    if not isinstance(parts, list) or not parts:
        raise DataError(f"{where}: 'partitions' must be a non-empty list")
    partitions = [_partition(p, f"{where}.partitions[{i}]") for i, p in enumerate(parts)]
    for a, b in zip(partitions, partitions[1:]):
        if a.end != b.start:
            raise DataError(f"{where}: partitions are not contiguous ({a.layers} then {b.layers})")
    if partitions[0].start != 0:
        raise DataError(f"{where}: the first partition must start at chunk 0")
    return Pipeline(
        xput=known.get("xput", 0.0), partitions=partitions, est_xput=known.get("est_xput"),
        est_batch_build_lat=known.get("est_batch_build_lat", 0.0),
        batch_build_factor=known.get("batch_build_factor", 1.3),
        hist_adjustment=known.get("hist_adjustment", 0),
        hist_adjustment_w_scheduling=known.get("hist_adjustment_w_scheduling", 0), extra=extra)


def plan_from_json(doc: object, source: str = "plan") -> Plan:
    if not isinstance(doc, list) or not doc:
        raise DataError(f"{source}: a plan is a non-empty JSON list with one entry per model")
    models = []
    for i, entry in enumerate(doc):
        where = f"{source}: entry {i}"
        known, extra = _take(entry, MODEL_KEYS, where, ("config", "pipelines"))
        config = known["config"]
        if not isinstance(config, dict) or "dnn_name" not in config:
            raise DataError(f"{where}: 'config' must be an object with 'dnn_name'")
        if not isinstance(known["pipelines"], list):
            raise DataError(f"{where}: 'pipelines' must be a list")
        pipes = [_pipeline(p, f"{where}.pipelines[{j}]") for j, p in enumerate(known["pipelines"])]
        models.append(ModelPlan(xput=known.get("xput", 0.0), config=config,
                                sla=known.get("sla", config.get("sla", 0.0)), pipelines=pipes, extra=extra))
    return Plan(models)


def read_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataError(f"{path}: plan file not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: cannot read plan (not UTF-8 text)") from None
    except OSError as exc:  # a directory, permissions, a symlink loop, an I/O error
        raise DataError(f"{path}: cannot read plan ({exc.strerror or exc.__class__.__name__})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise DataError(f"{path}: not a plan (JSON nested too deeply)") from None
    plan = plan_from_json(doc, str(path))
    plan.path = path
    return plan


def write_plan(plan: Plan, path: str | Path) -> Path:
    """Write atomically (temp file + rename)."""
    out = write_text_atomic(path, plan.dumps())
    plan.path = Path(out)
    return out


# -------------------------------------------------------------------- summary

def summary_rows(plan: Plan) -> list[dict]:
    """One flat row per partition: the data behind tree and table views."""
    rows = []
    for mi, m in enumerate(plan.models):
        for pi, pl in enumerate(m.pipelines):
            for qi, part in enumerate(pl.partitions):
                rows.append({
                    "model": m.name, "model_index": mi, "pipeline": pi, "partition": qi,
                    "chunks": [part.start, part.end], "gpu": part.gpu, "k": part.k, "bs": part.bs,
                    "num_gpu": float(part.num_gpu), "instances": part.instances,
                    "lat_infer_us": float(part.lat_infer), "lat_trans_us": float(part.lat_trans),
                    "xput": float(part.xput), "pipeline_xput": float(pl.xput),
                })
    return rows
