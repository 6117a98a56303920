"""Fit the estimator's per-GPU parameters to the PPipe artifact's block timings.

Developer-time only (needs the artifact). For each calibration model
(``data/graphs/calibration``: models the artifact profiles, rebuilt at the
artifact's input size) the artifact's chunks are located in our layer graph by
aligning the two graphs on their compute layers (convolutions and matrix
products appear in the same order in both), then the parameters are fitted by
least squares on log latency over every chunk, batch size and MPS split.
Only the fitted parameters (a few numbers per GPU type) are written.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ppipe.errors import DataError
from ppipe.paths import SHIPPED_DATA
from ppipe.zoo.estimator import FIT_PARAMS, GpuParams, GpuSpec, GraphFeatures, chunk_times
from ppipe.zoo.graph import ModelGraph, list_graphs, read_graph

CALIBRATION_GRAPHS = SHIPPED_DATA / "graphs" / "calibration"
ARTIFACT_GPUS = ("V100", "T4", "L4", "P4")
_COMPUTE_ONNX = {"Conv", "ConvTranspose", "MatMul", "Gemm"}


def onnx_op(node: str) -> str:
    """ONNX op type from an exported node name (``/a/b/Conv_1`` or ``Conv_12``)."""
    last = node.rstrip("/").split("/")[-1]
    return re.sub(r"(_\d+)+$", "", last)


@dataclass
class CalibModel:
    name: str
    graph: ModelGraph
    feat: GraphFeatures
    starts: list[int]  # our layer index where each artifact chunk starts
    timings: dict[str, dict[int, np.ndarray]]  # gpu -> k -> (C, B) measured µs
    runtime_us: dict[str, float]  # whole-model engine, batch 1


def align_chunks(graph: ModelGraph, nodes: list[str], chunk_of: dict[str, int]) -> list[int]:
    """Our layer index at which each artifact chunk starts."""
    a_comp = [i for i, n in enumerate(nodes) if onnx_op(n) in _COMPUTE_ONNX]
    m_comp = [i for i, lyr in enumerate(graph.layers) if lyr.kind in ("conv", "matmul", "attention")]
    if len(a_comp) != len(m_comp):
        raise DataError(f"{graph.model}: {len(a_comp)} compute layers in the artifact, {len(m_comp)} in our graph")
    # our position for each artifact node: the anchor before it plus the offset, kept below the next anchor
    pos = np.zeros(len(nodes), dtype=int)
    j = -1
    for i in range(len(nodes)):
        if j + 1 < len(a_comp) and a_comp[j + 1] == i:
            j += 1
            pos[i] = m_comp[j]
            continue
        if j < 0:
            pos[i] = min(i, (m_comp[0] - 1) if m_comp else i)
        else:
            hi = m_comp[j + 1] - 1 if j + 1 < len(m_comp) else len(graph.layers) - 1
            pos[i] = min(m_comp[j] + (i - a_comp[j]), hi)
    C = max(chunk_of.values()) + 1
    starts = []
    for c in range(C):
        first = next(i for i, n in enumerate(nodes) if chunk_of.get(n) == c)
        starts.append(0 if c == 0 else int(pos[first]))
    for a, b in zip(starts, starts[1:]):
        if b <= a:
            raise DataError(f"{graph.model}: chunk alignment is not increasing ({starts})")
    return starts


def load_calibration_model(artifact: Path, graph_path: Path) -> CalibModel:
    import json

    from ppipe.profiles.artifact import MAPPINGS, find_mapping_tag
    from ppipe.profiles.store import ProfileStore

    g = read_graph(graph_path)
    name = g.model
    cuts = json.loads((artifact / "models" / "cuts-no-const" / f"{name}.json").read_text())
    nodes = [e["node"] for e in cuts[1:-1]]
    tag = find_mapping_tag(artifact, name)
    mapping = artifact / MAPPINGS / name / f"contraction_mapping_ilpprepart10-{tag}.csv"
    with mapping.open() as fh:
        chunk_of = {row[0]: int(row[1]) for row in csv.reader(fh) if row}
    starts = align_chunks(g, nodes, chunk_of)
    prof = ProfileStore.open(artifact).get(name)
    return CalibModel(name=name, graph=g, feat=GraphFeatures.of(g), starts=starts,
                      timings={gpu: dict(prof.latency[gpu]) for gpu in prof.latency},
                      runtime_us=dict(prof.runtime_us))


def load_calibration_set(artifact: Path, folder: Path = CALIBRATION_GRAPHS) -> list[CalibModel]:
    out = []
    for p in list_graphs(folder):
        out.append(load_calibration_model(Path(artifact), p))
    return out


def predict(m: CalibModel, spec: GpuSpec, p: GpuParams, k: int, nb: int) -> np.ndarray:
    return chunk_times(m.feat, spec, p, k, np.arange(1, nb + 1), m.starts)


def _residuals(models: list[CalibModel], spec: GpuSpec, p: GpuParams, gpu: str) -> np.ndarray:
    res = []
    for m in models:
        for k, meas in m.timings.get(gpu, {}).items():
            pred = predict(m, spec, p, k, meas.shape[1])
            w = 1.0 / np.sqrt(meas.size)  # each (model, k) table weighs about the same
            res.append(w * (np.log(pred) - np.log(np.maximum(meas, 1.0))).ravel())
            # whole-model sum, weighted more: it is what SLOs are made of
            res.append(2.0 * (np.log(pred.sum(0)) - np.log(meas.sum(0))) / np.sqrt(meas.shape[1]))
        if gpu in m.runtime_us and gpu in m.timings:  # the whole model as one engine
            one = chunk_times(m.feat, spec, p, 1, [1], [0])[0, 0]
            res.append(np.array([np.log(one) - np.log(m.runtime_us[gpu])]))
    return np.concatenate(res) if res else np.zeros(0)


_BOUNDS = {  # each parameter is fitted log-uniformly within these bounds (a smooth transform)
    "eta_c": (0.05, 2.0), "eta_m": (0.1, 1.2), "tau_us": (0.1, 5.0), "chunk_us": (1.0, 1000.0),
    "gamma": (0.001, 1.0), "e_w3": (0.3, 3.0), "e_group": (0.02, 1.5), "e_dw": (0.002, 1.5),
    "m_norm": (0.5, 20.0), "tile": (512.0, 65536.0),
}
#: Where the fit starts, and what a weak prior pulls weakly-identified parameters toward.
START = GpuParams(eta_c=0.6, eta_m=0.7, tau_us=2.0, chunk_us=50.0, gamma=0.05, e_w3=1.2,
                  e_group=0.4, e_dw=0.05, m_norm=2.0)
PRIOR_WEIGHT = 0.05


def _to_x(v: float, n: str) -> float:
    lo, hi = _BOUNDS[n]
    u = (np.log(min(max(v, lo * 1.0001), hi / 1.0001)) - np.log(lo)) / (np.log(hi) - np.log(lo))
    return float(np.log(u / (1 - u)))


def _from_x(x: float, n: str) -> float:
    lo, hi = _BOUNDS[n]
    u = 1.0 / (1.0 + np.exp(-x))
    return float(np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))))


def fit_gpu(models: list[CalibModel], spec: GpuSpec, gpu: str, start: GpuParams | None = None,
            names: tuple[str, ...] = FIT_PARAMS, iters: int = 80) -> GpuParams:
    """Levenberg-Marquardt on log-latency residuals with a weak prior toward ``START``."""
    p0 = start or START
    has_mps = any(len(m.timings.get(gpu, {})) > 1 for m in models)
    has = {c: any(np.any(m.feat.cls == c) for m in models) for c in (1, 2, 5, 6)}
    names = tuple(n for n in names if (n != "gamma" or has_mps) and (n != "e_group" or has[1])
                  and (n != "e_dw" or has[2]) and (n != "e_w3" or has[5]) and (n != "m_norm" or has[6]))
    x0 = np.array([_to_x(getattr(p0, n), n) for n in names])

    def params(x):
        return replace(p0, **{n: _from_x(v, n) for n, v in zip(names, x)})

    def resid(x):
        r = _residuals(models, spec, params(x), gpu)
        return np.concatenate([r, PRIOR_WEIGHT * (x - x0)])

    x = x0.copy()
    r = resid(x)
    cost = float(r @ r)
    lam = 1e-2
    for _ in range(iters):
        J = np.empty((len(r), len(x)))
        for j in range(len(x)):
            dx = np.zeros_like(x)
            dx[j] = 1e-5
            J[:, j] = (resid(x + dx) - r) / 1e-5
        A = J.T @ J
        g = J.T @ r
        improved = False
        for _ in range(12):
            step = -np.linalg.solve(A + lam * (np.diag(np.diag(A)) + 1e-6 * np.eye(len(x))), g)
            xn = x + step
            rn = resid(xn)
            cn = float(rn @ rn)
            if cn < cost:
                done = cost - cn < 1e-7 * cost
                x, r, cost = xn, rn, cn
                lam = max(lam / 3, 1e-7)
                improved = True
                break
            lam *= 4
        if not improved or done:
            break
    return params(x)


def fit_all(models: list[CalibModel], specs: dict[str, GpuSpec], gpus=ARTIFACT_GPUS,
            tiles=(1024.0, 2048.0, 4096.0)) -> dict[str, GpuParams]:
    """Fit every GPU; the tile size (wave quantisation) is one value shared by all GPUs.

    A shared tile keeps small-layer behaviour comparable across GPUs (fitted
    per GPU it trades off against other parameters and can make, e.g., a V100
    slower than a T4 on tiny layers, which no data sheet supports).
    """
    best = None
    for tile in tiles:
        fitted, cost = {}, 0.0
        for gpu in gpus:
            p = fit_gpu(models, specs[gpu], gpu, replace(START, tile=tile))
            r = _residuals(models, specs[gpu], p, gpu)
            cost += float(r @ r)
            fitted[gpu] = replace(p, calibrated=True, note="fitted to the PPipe artifact's block timings")
        if best is None or cost < best[0]:
            best = (cost, fitted)
    return best[1]


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------

def spearman(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2:
        return float("nan")

    def rank(x):
        order = np.argsort(x, kind="mergesort")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        # average ties
        for v in np.unique(x):
            idx = np.flatnonzero(x == v)
            if len(idx) > 1:
                r[idx] = r[idx].mean()
        return r

    ra, rb = rank(a), rank(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra @ ra) * (rb @ rb))
    return float(ra @ rb / den) if den > 0 else float("nan")


RATIO_PAIRS = (("T4", "L4"), ("P4", "L4"), ("T4", "V100"), ("P4", "V100"))


def evaluate(models: list[CalibModel], specs: dict[str, GpuSpec], params: dict[str, GpuParams]) -> dict:
    """Relative errors (pred/meas - 1) and low/high ratio rank correlations."""
    whole = {1: [], 8: []}
    chunk = {1: [], 8: []}
    mps = []
    engine = []
    per_model = {}
    rho_within, ratio_meas_all, ratio_pred_all = [], [], []
    for m in models:
        pm = {"whole_b1": {}, "whole_b8": {}}
        preds = {}
        for gpu, p in params.items():
            if gpu not in m.timings:
                continue
            for k, meas in m.timings[gpu].items():
                pred = predict(m, specs[gpu], p, k, meas.shape[1])
                if k == 1:
                    preds[gpu] = pred
                    for b in (1, 8):
                        if meas.shape[1] >= b:
                            e = pred[:, b - 1].sum() / meas[:, b - 1].sum() - 1
                            whole[b].append(e)
                            pm[f"whole_b{b}"][gpu] = e
                            chunk[b].extend(pred[:, b - 1] / np.maximum(meas[:, b - 1], 1.0) - 1)
                else:
                    mps.extend((pred / np.maximum(meas, 1.0) - 1).ravel())
            if gpu in m.runtime_us:
                single = chunk_times(m.feat, specs[gpu], p, 1, [1], [0])[0, 0]
                engine.append(single / m.runtime_us[gpu] - 1)
        for lo, hi in RATIO_PAIRS:
            if lo in preds and hi in preds:
                rm = m.timings[lo][1][:, 0] / np.maximum(m.timings[hi][1][:, 0], 1.0)
                rp = preds[lo][:, 0] / preds[hi][:, 0]
                rho_within.append(spearman(rm, rp))
                ratio_meas_all.extend(rm)
                ratio_pred_all.extend(rp)
        per_model[m.name] = pm
    def stats(x):
        a = np.abs(np.asarray(x, float))
        return {"n": int(a.size), "median": float(np.median(a)) if a.size else float("nan"),
                "p90": float(np.percentile(a, 90)) if a.size else float("nan"),
                "bias": float(np.median(np.asarray(x, float))) if a.size else float("nan")}
    return {
        "whole_b1": stats(whole[1]), "whole_b8": stats(whole[8]),
        "chunk_b1": stats(chunk[1]), "chunk_b8": stats(chunk[8]),
        "mps_chunks": stats(mps), "engine_b1": stats(engine),
        "ratio_spearman_pooled": spearman(ratio_meas_all, ratio_pred_all),
        "ratio_spearman_within_median": float(np.nanmedian(rho_within)) if rho_within else float("nan"),
        "per_model": per_model,
    }
