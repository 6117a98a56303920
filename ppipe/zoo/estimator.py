"""Estimated chunk latencies from a layer graph and a GPU's data-sheet figures.

The model (per layer, batch ``b``, one instance of a GPU split ``k`` ways by MPS):

* Views (reshape, slice, ...) cost nothing. An elementwise layer that reads
  the output of the layer right before it, which is a convolution / matrix
  product or is itself fused, is fused into it (as TensorRT does: conv + BN +
  ReLU, residual add, GELU after a linear layer) and costs nothing, unless a
  chunk boundary separates them.
* A compute layer (convolution, matrix product, attention) takes its compute
  time plus its memory time (no overlap assumed), with smoothed wave
  quantisation::

      t = tau + t_c + t_m
      t_c = F b / (P eta_c e / k) * max(1/w, 1 + 0.5/w),   w = out_elems b / (tile * SMs / k)
      t_m = rho (A b + W) / (BW eta_m / k)

  F = FLOPs per sample, A = activation bytes read+written per sample, W =
  parameter bytes, P = peak TF32 FLOP/s (FP32 on GPUs without TF32 tensor
  cores; depthwise convolutions always use the FP32 rate), BW = memory
  bandwidth, e = an efficiency factor for 3x3 stride-1 (Winograd), grouped and
  depthwise convolutions, rho = 2 (the graph counts 2 bytes per element;
  engines run TF32 with fp32 tensors). ``w`` is the number of waves of output
  tiles: a layer too small to fill the SMs still takes a whole wave (small-batch
  inefficiency) -- and so does not slow down when MPS leaves it fewer SMs.
  Tensor cores pad a convolution's input channels to a multiple of 8.
* Any other layer (normalisation, pooling, resize, concat, transpose,
  standalone elementwise) is memory-bound: ``t = tau + t_m`` (a LayerNorm
  makes ``m_norm`` passes: ONNX export decomposes it into several kernels).
* An MPS instance gets 1/k of the SMs and of the bandwidth; concurrent
  instances contend further: all times are multiplied by ``1 + gamma (k-1)``.
* A chunk (one engine) costs ``chunk_us`` plus the sum of its layers.

Within a chunk, time grows with the batch size and time per request never
grows (every term is constant or linear in ``b``, or a max of such), and a GPU
that is no worse on any data-sheet figure (peak FLOP/s, FLOP/s per SM,
bandwidth) is never estimated slower under the same parameters.

The few parameters per GPU type (eta_c, eta_m, tau, chunk_us, gamma, e_w3,
e_group, e_dw, m_norm, tile) are fitted to the PPipe artifact's block timings (see
:mod:`ppipe.zoo.calibrate`) and stored in ``data/estimator.json``. GPU types that
the artifact did not profile inherit them from the most similar calibrated GPU
(:func:`derive_params`), applied to their own data-sheet figures.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ppipe.errors import DataError, InputError
from ppipe.jsonio import check_name, read_json
from ppipe.paths import SHIPPED_DATA, SHIPPED_GPU_CATALOG, user_data_dir
from ppipe.zoo.graph import ModelGraph

ESTIMATOR_FILE = SHIPPED_DATA / "estimator.json"
ESTIMATOR_FORMAT = "ppipe-estimator"
#: Runtime bytes per graph byte: graphs count floats as 2 bytes; TF32 engines keep fp32 tensors.
RHO = 2.0
FIT_PARAMS = ("eta_c", "eta_m", "tau_us", "chunk_us", "gamma", "e_w3", "e_group", "e_dw", "m_norm")
# layer classes
_DENSE, _GROUP, _DW, _MEM, _FREE, _W3, _NORM = 0, 1, 2, 3, 4, 5, 6
#: Views that move data in an engine (a transpose is a real kernel unless fused).
_MOVING_VIEWS = ("permute", "transpose", "t")
_COMPUTE = (_DENSE, _GROUP, _DW, _W3)
#: Tensor cores pad input channels per group to a multiple of this.
TC_CHANNEL_ALIGN = 8
_COMPUTE_KINDS = ("conv", "matmul", "attention")
_FUSABLE_KINDS = ("eltwise",)
#: Elementwise ops that run as their own kernel (ONNX export decomposes GELU into erf arithmetic).
_UNFUSED_OPS = ("gelu",)


#: Architectures without TF32 tensor cores (TF32 engines run on FP32 CUDA cores).
_NO_TF32_ARCHS = {"kepler", "maxwell", "pascal", "volta", "turing"}


@dataclass(frozen=True)
class GpuSpec:
    """The data-sheet figures the estimator uses."""

    name: str
    peak_tflops: float  # TF32 tensor-core rate, or FP32 where there is none
    mem_bw_gbps: float
    sm_count: int
    tensor_tf32: bool = False  # has TF32 tensor cores
    memory_type: str = ""  # e.g. HBM2, GDDR6
    mps_levels: int = 4
    fp32_tflops: float = 0.0  # CUDA-core rate (depthwise convolutions run here); 0 = peak_tflops

    @classmethod
    def from_entry(cls, e: dict, source: str = "catalog") -> "GpuSpec":
        from ppipe.catalog.gpus import MAX_MPS_LEVEL, number_field

        name = e.get("name", "?")
        where = f"{source}: GPU {name!r}"
        for key in ("fp32_tflops", "mem_bw_gbps"):
            if key not in e:
                raise DataError(f"{where} lacks {key}")
        if not e.get("sm_count"):
            raise DataError(f"{source}: GPU {name!r} needs sm_count (streaming multiprocessors) to be estimated")
        fp32 = number_field(e, "fp32_tflops", where)
        tf32 = number_field(e, "tf32_tflops", where, default=fp32)
        sms = number_field(e, "sm_count", where, integer=True)
        bw = number_field(e, "mem_bw_gbps", where)
        arch = str(e.get("architecture", "")).strip().lower()
        if "tf32_tensor_cores" in e:
            tc = bool(e["tf32_tensor_cores"])
        elif arch:
            tc = arch not in _NO_TF32_ARCHS
        else:
            tc = tf32 > fp32 * 1.01
        levels = number_field(e, "mps_levels", where, integer=True, low=1, low_open=False, high=MAX_MPS_LEVEL,
                              default=4)
        return cls(name=str(name), peak_tflops=max(tf32, fp32), mem_bw_gbps=bw, sm_count=sms,
                   fp32_tflops=fp32, tensor_tf32=tc, memory_type=str(e.get("memory_type", "")), mps_levels=levels)

    @property
    def hbm(self) -> bool:
        if self.memory_type:
            return self.memory_type.upper().startswith("HBM")
        return self.mem_bw_gbps >= 800


@dataclass(frozen=True)
class GpuParams:
    """Fitted (or derived) efficiency parameters of one GPU type."""

    eta_c: float = 0.6  # achieved fraction of peak FLOP/s on large dense layers
    eta_m: float = 0.7  # achieved fraction of memory bandwidth
    tau_us: float = 5.0  # fixed time per kernel
    chunk_us: float = 50.0  # fixed time per chunk (engine launch, sync)
    gamma: float = 0.05  # MPS contention per extra instance
    e_w3: float = 1.0  # efficiency of 3x3 stride-1 convolutions relative to other dense layers (Winograd)
    e_group: float = 0.5  # compute efficiency of grouped convolutions relative to dense
    e_dw: float = 0.1  # ... of depthwise convolutions (on the FP32 CUDA cores)
    m_norm: float = 1.0  # memory passes of a LayerNorm (decomposed into several ops by ONNX export)
    tile: float = 16384.0  # output elements per tile (wave quantisation)
    calibrated: bool = False
    derived_from: str = ""
    note: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}


#: The numeric parameters, each True where it must be > 0 (an estimate divides by the
#: efficiencies and the tile size), False where >= 0 (times, contention, passes).
PARAM_POSITIVE = {"eta_c": True, "eta_m": True, "tau_us": False, "chunk_us": False, "gamma": False,
                  "e_w3": True, "e_group": True, "e_dw": True, "m_norm": False, "tile": True}


def _param_ok(v, positive: bool) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return False
    return v > 0 if positive else v >= 0


@dataclass
class GraphFeatures:
    """Per-layer arrays of a graph, precomputed for fast estimates."""

    flops: np.ndarray
    act: np.ndarray  # activation bytes read + written per sample
    params: np.ndarray
    out_elems: np.ndarray
    cls: np.ndarray  # _DENSE/_GROUP/_DW/_W3/_MEM/_FREE (before chunk-boundary un-fusing)
    tc_pad: np.ndarray  # FLOP factor on tensor-core GPUs (input channels padded)
    fuse_prev: np.ndarray  # bool: fused into the layer before it (if in the same chunk)

    @classmethod
    def of(cls, g: ModelGraph) -> "GraphFeatures":
        L = len(g.layers)
        flops = g.array("flops")
        act = g.array("in_bytes") + g.array("out_bytes")
        params = g.array("param_bytes")
        out_elems = g.array("out_bytes") / 2.0
        kinds = [lyr.kind for lyr in g.layers]
        klass = np.full(L, _MEM, dtype=int)
        tc_pad = np.ones(L)
        for i, lyr in enumerate(g.layers):
            if lyr.kind in _COMPUTE_KINDS:
                a = lyr.attrs
                groups = int(a.get("groups", 1)) if lyr.kind == "conv" else 1
                cin = int(a.get("cin", 0))
                if groups > 1 and groups >= cin > 0:
                    klass[i] = _DW
                elif groups > 1:
                    klass[i] = _GROUP
                elif (lyr.kind == "conv" and list(a.get("k", [])) == [3, 3] and "stride" not in a
                      and "dilation" not in a and "transposed" not in a):
                    klass[i] = _W3
                else:
                    klass[i] = _DENSE
                if lyr.kind == "conv" and cin > 0 and klass[i] != _DW:
                    cg = cin // max(groups, 1)
                    tc_pad[i] = -(-cg // TC_CHANNEL_ALIGN) * TC_CHANNEL_ALIGN / cg
            elif lyr.kind == "view" and lyr.op not in _MOVING_VIEWS:
                klass[i] = _FREE
            elif lyr.op in ("native_layer_norm", "layer_norm"):
                klass[i] = _NORM
        # effective producer of each tensor: follow views back to a real layer
        eff = {}
        for t, p in enumerate(g.tensor_producer):
            eff[t] = int(p)
        for i, lyr in enumerate(g.layers):
            if lyr.kind == "view" and lyr.inputs:
                src = eff.get(lyr.inputs[0], -1)
                for t in lyr.outputs:
                    eff[t] = src
        fuse = np.zeros(L, dtype=bool)
        last_real = -1  # index of the last non-view layer
        chain_ok = np.zeros(L, dtype=bool)  # layer is compute or fused
        for i, lyr in enumerate(g.layers):
            if kinds[i] == "view":
                continue
            # fused into the layer before it if it reads that layer's output and writes no
            # more than it (an epilogue: bias, activation, residual add; not a broadcast scale)
            if (kinds[i] in _FUSABLE_KINDS and lyr.op not in _UNFUSED_OPS and last_real >= 0 and chain_ok[last_real]
                    and g.layers[i].out_bytes <= g.layers[last_real].out_bytes * 1.001):
                if any(eff.get(t, -1) == last_real for t in lyr.inputs):
                    fuse[i] = True
            chain_ok[i] = klass[i] in _COMPUTE or fuse[i]
            last_real = i
        # where fused, the layer links to last_real; record that index for chunk checks
        return cls(flops=flops, act=act, params=params, out_elems=out_elems, cls=klass, tc_pad=tc_pad,
                   fuse_prev=fuse)


def _prev_real(g_feat: GraphFeatures) -> np.ndarray:
    """Index of the nearest earlier non-free layer (-1 if none)."""
    L = len(g_feat.cls)
    prev = np.full(L, -1, dtype=int)
    last = -1
    for i in range(L):
        prev[i] = last
        if g_feat.cls[i] != _FREE:
            last = i
    return prev


def layer_times(feat: GraphFeatures, spec: GpuSpec, p: GpuParams, k: int, batches,
                starts: list[int] | None = None) -> np.ndarray:
    """(L, B) µs per layer; ``starts`` are chunk start indices (fusion does not cross them)."""
    b = np.asarray(batches, dtype=float)[None, :]
    L = len(feat.cls)
    fused = feat.fuse_prev.copy()
    if starts is not None and len(starts) > 1:
        prev = _prev_real(feat)
        chunk_of = np.zeros(L, dtype=int)
        for s in starts[1:]:
            chunk_of[s:] += 1
        ok = prev >= 0
        same = np.zeros(L, dtype=bool)
        same[ok] = chunk_of[prev[ok]] == chunk_of[ok]
        fused &= same
    cls = feat.cls
    P = spec.peak_tflops * 1e12 * p.eta_c / k  # FLOP/s per instance
    BW = spec.mem_bw_gbps * 1e9 * p.eta_m / k
    slots = max(spec.sm_count / k, 1.0)
    eff = np.ones(L)
    eff[cls == _GROUP] = p.e_group
    eff[cls == _DW] = p.e_dw
    eff[cls == _W3] = p.e_w3
    if spec.fp32_tflops and spec.fp32_tflops < spec.peak_tflops:
        eff[cls == _DW] *= spec.fp32_tflops / spec.peak_tflops  # no tensor cores for depthwise
    F = (feat.flops * (feat.tc_pad if spec.tensor_tf32 else 1.0))[:, None] * b
    waves = np.maximum(feat.out_elems[:, None] * b / (p.tile * slots), 1e-9)
    # wave quantisation, smoothed: a layer smaller than one wave still takes a wave; larger
    # ones lose half a wave on average (keeps time monotone in b, time per request non-increasing)
    quant = np.maximum(1.0 / waves, 1.0 + 0.5 / waves)
    tc = F / (P * eff[:, None]) * quant * 1e6
    tm = RHO * (feat.act[:, None] * b + feat.params[:, None]) / BW * 1e6
    tm[cls == _NORM] *= p.m_norm
    compute = np.isin(cls, _COMPUTE)
    t = np.where(compute[:, None], tc + tm, tm) + p.tau_us
    t[(cls == _FREE) | fused] = 0.0
    return t * (1.0 + p.gamma * (k - 1))


def chunk_times(feat: GraphFeatures, spec: GpuSpec, p: GpuParams, k: int, batches,
                starts: list[int]) -> np.ndarray:
    """(C, B) µs per chunk [starts[c], starts[c+1])."""
    t = layer_times(feat, spec, p, k, batches, starts)
    return np.add.reduceat(t, np.asarray(starts, dtype=int), axis=0) + p.chunk_us * (1.0 + p.gamma * (k - 1))


# ---------------------------------------------------------------------------
# Parameters file and GPU catalogue
# ---------------------------------------------------------------------------

def _raw_catalog(extra: list[Path] | None = None) -> dict[str, dict]:
    """Catalog entries by name with every field (later files override earlier ones)."""
    files = [SHIPPED_GPU_CATALOG]
    user = user_data_dir() / "gpus.json"
    if user.exists():
        files.append(user)
    files += [Path(p) for p in (extra or [])]
    out: dict[str, dict] = {}
    for f in files:
        doc = read_json(f, "GPU catalog")
        if not isinstance(doc, dict) or not isinstance(doc.get("gpus"), list):
            raise DataError(f"{f}: a GPU catalog needs a 'gpus' list")
        for e in doc["gpus"]:
            if not isinstance(e, dict) or "name" not in e:
                raise DataError(f"{f}: each GPU entry needs a 'name'")
            name = check_name(e["name"], "GPU name", f"{f}: field 'name'")
            out[name] = dict(out.get(name, {}), **e, _source=str(f))
    return out


def derive_params(spec: GpuSpec, calibrated: dict[str, tuple[GpuSpec, GpuParams]]) -> GpuParams:
    """Parameters for a GPU the artifact did not profile, from the most similar calibrated one.

    Compute efficiency (eta_c, e_group, e_dw) comes from a calibrated GPU with
    the same compute path (TF32 tensor cores -> L4; FP32 CUDA cores -> V100);
    memory efficiency from one with the same memory type (HBM -> V100; GDDR ->
    L4); fixed costs (tau, chunk, gamma) from the compute reference.
    """
    def pick(prefer: str, pred) -> tuple[GpuSpec, GpuParams]:
        if prefer in calibrated:
            return calibrated[prefer]
        cands = [v for v in calibrated.values() if pred(v[0])] or list(calibrated.values())
        if not cands:
            raise DataError("no calibrated GPU to derive estimator parameters from")
        return cands[0]

    cref = pick("L4" if spec.tensor_tf32 else "V100", lambda s: s.tensor_tf32 == spec.tensor_tf32)
    mref = pick("V100" if spec.hbm else "L4", lambda s: s.hbm == spec.hbm)
    cp, mp = cref[1], mref[1]
    return replace(cp, eta_m=mp.eta_m, calibrated=False,
                   derived_from=f"compute/overheads: {cref[0].name}, memory: {mref[0].name}",
                   note="derived from data-sheet figures, not fitted")


@dataclass
class Estimator:
    specs: dict[str, GpuSpec]
    params: dict[str, GpuParams]
    meta: dict = field(default_factory=dict)
    unusable: dict = field(default_factory=dict)  # GPU name -> why its catalog entry cannot be used

    @classmethod
    def load(cls, path: str | Path | None = None, catalog: list[Path] | None = None) -> "Estimator":
        path = Path(path) if path else ESTIMATOR_FILE
        doc = read_json(path, "estimator parameters")
        if not isinstance(doc, dict) or doc.get("format") != ESTIMATOR_FORMAT:
            raise DataError(f"{path}: not a ppipe estimator file (missing 'format': '{ESTIMATOR_FORMAT}')")
        raw = _raw_catalog(catalog)
        specs: dict[str, GpuSpec] = {}
        bad: dict[str, DataError] = {}
        for n, e in raw.items():
            try:
                specs[n] = GpuSpec.from_entry(e, e["_source"])
            except DataError as exc:  # reported when (and only if) this GPU is asked for
                bad[n] = exc
        params: dict[str, GpuParams] = {}
        known = set(GpuParams.__dataclass_fields__)
        gpus = doc.get("gpus") or {}
        if not isinstance(gpus, dict):
            raise DataError(f"{path}: 'gpus' must map GPU names to parameters")
        for n, d in gpus.items():
            if not isinstance(d, dict):
                raise DataError(f"{path}: GPU {n}: parameters must be an object")
            for k, v in d.items():
                if k in PARAM_POSITIVE and not _param_ok(v, PARAM_POSITIVE[k]):
                    raise DataError(f"{path}: GPU {n}: {k} must be a finite number "
                                    f"{'> 0' if PARAM_POSITIVE[k] else '>= 0'}, got {v!r}")
            try:
                params[n] = GpuParams(**{k: v for k, v in d.items() if k in known})
            except TypeError as exc:
                raise DataError(f"{path}: GPU {n}: bad parameters ({exc})") from None
        est = cls(specs=specs, params=params, meta={k: v for k, v in doc.items() if k != "gpus"})
        est.unusable = bad
        return est

    def calibrated(self) -> dict[str, tuple[GpuSpec, GpuParams]]:
        return {n: (self.specs[n], p) for n, p in self.params.items() if p.calibrated and n in self.specs}

    def gpu(self, name: str) -> tuple[GpuSpec, GpuParams]:
        if name in self.unusable:
            raise self.unusable[name]
        if name not in self.specs:
            raise InputError(f"unknown GPU type {name!r} for the estimator (known: {', '.join(self.specs)};"
                             " add its data-sheet figures, incl. sm_count, with --catalog)")
        spec = self.specs[name]
        p = self.params.get(name)
        if p is None or not p.calibrated:
            p = derive_params(spec, self.calibrated())
            self.params[name] = p
        return spec, p

    def chunk_latency(self, g: ModelGraph | GraphFeatures, gpu: str, k: int, batches, starts: list[int]) -> np.ndarray:
        feat = g if isinstance(g, GraphFeatures) else GraphFeatures.of(g)
        spec, p = self.gpu(gpu)
        return chunk_times(feat, spec, p, k, batches, starts)

    def layer_latency(self, g: ModelGraph | GraphFeatures, gpu: str, k: int = 1, batch: int = 1) -> np.ndarray:
        """(L,) µs per layer when the whole model is one engine."""
        feat = g if isinstance(g, GraphFeatures) else GraphFeatures.of(g)
        spec, p = self.gpu(gpu)
        return layer_times(feat, spec, p, k, [batch])[:, 0]

    def model_latency(self, g: ModelGraph | GraphFeatures, gpu: str, k: int = 1, batch: int = 1) -> float:
        """Whole model as one engine, µs."""
        feat = g if isinstance(g, GraphFeatures) else GraphFeatures.of(g)
        return float(self.chunk_latency(feat, gpu, k, [batch], [0])[0, 0])


def write_estimator(path: Path, params: dict[str, GpuParams], meta: dict) -> Path:
    from ppipe.atomic import write_json_atomic

    doc = {"format": ESTIMATOR_FORMAT, "version": 1, **meta,
           "parameters": {n: d for n, d in zip(FIT_PARAMS, (
               "achieved fraction of peak TF32/FP32 FLOP/s on large dense layers",
               "achieved fraction of memory bandwidth",
               "fixed µs per kernel (launch, fill)",
               "fixed µs per chunk (one engine: launch, sync)",
               "MPS contention: times x (1 + gamma (k-1))",
               "compute efficiency of 3x3 stride-1 convolutions (x dense; Winograd makes it > 1)",
               "compute efficiency of grouped convolutions (x dense)",
               "compute efficiency of depthwise convolutions (x dense, on FP32 CUDA cores)",
               "memory passes of a LayerNorm (x one read + write)"))},
           "gpus": {n: p.to_json() for n, p in params.items()}}
    return write_json_atomic(path, doc, indent=1)
