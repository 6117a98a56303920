"""The latency estimator: physics monotonicity, GPU derivation, graph I/O, calibration data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ppipe.errors import DataError, InputError
from ppipe.paths import SHIPPED_DATA
from ppipe.zoo.estimator import ESTIMATOR_FILE, Estimator, GraphFeatures, chunk_times
from ppipe.zoo.graph import graph_to_json, read_graph, write_graph

GRAPHS = SHIPPED_DATA / "graphs"
SAMPLE = ("resnet50", "efficientnet_b4", "convnext_large", "vit_b_16", "fasterrcnn_resnet50_fpn",
          "lraspp_mobilenet_v3_large")
BATCHES = np.arange(1, 9)


@pytest.fixture(scope="module")
def est() -> Estimator:
    return Estimator.load()


@pytest.fixture(scope="module")
def feats() -> dict[str, tuple]:
    out = {}
    for name in SAMPLE:
        g = read_graph(GRAPHS / f"{name}.graph.json.gz")
        L = len(g)
        starts = sorted({0, L // 5, L // 3, L // 2, (3 * L) // 4})
        out[name] = (GraphFeatures.of(g), starts)
    return out


def test_shipped_parameters(est):
    for gpu in ("V100", "T4", "L4", "P4"):
        assert est.params[gpu].calibrated, gpu
    for gpu in ("A10", "A100", "L40S", "H100"):
        _, p = est.gpu(gpu)
        assert not p.calibrated and p.derived_from, gpu


@pytest.mark.parametrize("gpu", ["V100", "T4", "L4", "P4", "A100", "H100"])
def test_batch_monotone(est, feats, gpu):
    """More batch -> more latency per batch; less (or equal) latency per request."""
    for name, (feat, starts) in feats.items():
        for k in (1, 2, 4):
            t = est.chunk_latency(feat, gpu, k, BATCHES, starts)
            assert np.all(np.isfinite(t)) and np.all(t > 0)
            assert np.all(np.diff(t, axis=1) > 0), (name, gpu, k)
            per_req = t / BATCHES
            assert np.all(np.diff(per_req, axis=1) <= 1e-9), (name, gpu, k)


def test_mps_split_not_faster_per_instance(est, feats):
    for name, (feat, starts) in feats.items():
        for gpu in ("V100", "T4", "L4"):
            prev = None
            for k in (1, 2, 3, 4):
                t = est.chunk_latency(feat, gpu, k, BATCHES, starts)
                if prev is not None:
                    assert np.all(t >= prev - 1e-9), (name, gpu, k)
                prev = t


def test_faster_gpu_not_slower(est, feats):
    """A GPU that beats another on every data-sheet figure is never estimated slower."""
    spec, p = est.gpu("L4")
    faster = [replace(spec, peak_tflops=spec.peak_tflops * 2),
              replace(spec, peak_tflops=spec.peak_tflops * 2, fp32_tflops=spec.fp32_tflops * 2),
              replace(spec, mem_bw_gbps=spec.mem_bw_gbps * 2),
              replace(spec, peak_tflops=spec.peak_tflops * 2, fp32_tflops=spec.fp32_tflops * 2,
                      sm_count=spec.sm_count * 2)]
    for feat, starts in feats.values():
        base = chunk_times(feat, spec, p, 1, BATCHES, starts)
        for f in faster:
            assert np.all(chunk_times(feat, f, p, 1, BATCHES, starts) <= base + 1e-9)
    # real data sheets with the same derived parameters
    for fast, slow in (("H100", "A100"), ("L40S", "L4")):
        for feat, starts in feats.values():
            a = est.chunk_latency(feat, fast, 1, BATCHES, starts)
            b = est.chunk_latency(feat, slow, 1, BATCHES, starts)
            assert np.all(a <= b + 1e-9), (fast, slow)


def test_chunks_sum_close_to_whole(est, feats):
    """Chunking adds per-engine overheads and breaks fusions; it never makes the model faster."""
    for feat, starts in feats.values():
        for gpu in ("T4", "L4", "A100"):
            one = est.chunk_latency(feat, gpu, 1, [1], [0])[0, 0]
            many = est.chunk_latency(feat, gpu, 1, [1], starts)[:, 0].sum()
            assert one <= many + 1e-9
            assert many < one * 1.5


def test_unknown_gpu_and_missing_figures(tmp_path):
    cat = tmp_path / "gpus.json"
    cat.write_text(json.dumps({"gpus": [{"name": "NoSMs", "fp32_tflops": 10, "mem_bw_gbps": 500}]}))
    est = Estimator.load(catalog=[cat])
    with pytest.raises(InputError, match="unknown GPU type 'Nope'"):
        est.gpu("Nope")
    with pytest.raises(DataError, match="sm_count"):
        est.gpu("NoSMs")


def test_new_gpu_from_data_sheet(tmp_path, feats):
    cat = tmp_path / "gpus.json"
    cat.write_text(json.dumps({"gpus": [{"name": "RTX4090", "architecture": "Ada", "fp32_tflops": 82.6,
                                         "tf32_tflops": 82.6, "mem_bw_gbps": 1008, "sm_count": 128,
                                         "memory_type": "GDDR6X", "mps_levels": 2}]}))
    est = Estimator.load(catalog=[cat])
    spec, p = est.gpu("RTX4090")
    assert spec.tensor_tf32 and not spec.hbm and "L4" in p.derived_from
    feat, starts = feats["resnet50"]
    t = est.chunk_latency(feat, "RTX4090", 2, BATCHES, starts)
    assert np.all(np.isfinite(t))


def test_estimator_file_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        Estimator.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(DataError, match="not a ppipe estimator file"):
        Estimator.load(bad)
    doc = json.loads(ESTIMATOR_FILE.read_text())
    assert set(doc["gpus"]) >= {"V100", "T4", "L4", "P4"}


# ---------------------------------------------------------------- graph format

def test_graph_roundtrip(tmp_path):
    g = read_graph(GRAPHS / "inception_v3.graph.json.gz")
    for name in ("g.graph.json", "g.graph.json.gz"):
        path = write_graph(g, tmp_path / name)
        h = read_graph(path)
        assert graph_to_json(h) == graph_to_json(g)
    # deterministic bytes (gzip without timestamps)
    a = write_graph(g, tmp_path / "a.graph.json.gz").read_bytes()
    b = write_graph(g, tmp_path / "b.graph.json.gz").read_bytes()
    assert a == b


def test_graph_cuts_consistent():
    g = read_graph(GRAPHS / "resnet50.graph.json.gz")
    after = g.cut_bytes_after()
    for i in (0, 5, 50, len(g) - 2):
        assert after[i] == sum(g.tensor_bytes[t] for t in g.cut_tensors(i))
    assert g.cut_bytes().shape == (len(g) - 1,)
    assert after[-1] == 2 * 1000  # the logits, fp16
    # a residual block: the cut inside it carries the skip connection too
    assert any(len(g.cut_tensors(i)) >= 2 for i in range(len(g) - 1))


def test_graph_bad_input(tmp_path):
    doc = graph_to_json(read_graph(GRAPHS / "resnet50.graph.json.gz"))
    bad = dict(doc, format="nope")
    (tmp_path / "a.graph.json").write_text(json.dumps(bad))
    with pytest.raises(DataError, match="not a ppipe layer graph"):
        read_graph(tmp_path / "a.graph.json")
    broken = json.loads(json.dumps(doc))
    broken["layers"][3][9] = [0]  # a stored cut that contradicts the dataflow
    (tmp_path / "b.graph.json").write_text(json.dumps(broken))
    with pytest.raises(DataError, match="stored cut disagrees"):
        read_graph(tmp_path / "b.graph.json")
    kind = json.loads(json.dumps(doc))
    kind["layers"][0][2] = "warp"
    (tmp_path / "c.graph.json").write_text(json.dumps(kind))
    with pytest.raises(DataError, match="unknown kind"):
        read_graph(tmp_path / "c.graph.json")
    (tmp_path / "d.graph.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        read_graph(tmp_path / "d.graph.json")


def test_fusion_rules():
    g = read_graph(GRAPHS / "resnet50.graph.json.gz")
    f = GraphFeatures.of(g)
    names = g.names
    relu = names.index("relu/relu_")
    assert f.fuse_prev[relu]  # conv1 + BN (folded) + ReLU
    add = names.index("layer1.0/add_")
    assert f.fuse_prev[add]  # residual add into conv3
    e = read_graph(GRAPHS / "efficientnet_b4.graph.json.gz")
    fe = GraphFeatures.of(e)
    # the squeeze-excitation scale reads a (C,1,1) gate: a broadcast, not an epilogue
    scale = [i for i, lyr in enumerate(e.layers) if lyr.op == "mul" and "scale_activation" not in lyr.name]
    assert scale and not all(fe.fuse_prev[i] for i in scale)


# ---------------------------------------------------------------- calibration (artifact)

def test_calibration_alignment_and_fit_quality(artifact_dir):
    from ppipe.zoo.calibrate import evaluate, load_calibration_set

    models = load_calibration_set(artifact_dir)
    assert len(models) >= 8
    for m in models:
        assert m.starts[0] == 0 and len(m.starts) == m.timings["L4"][1].shape[0]
    est = Estimator.load()
    specs = {g: est.specs[g] for g in ("V100", "T4", "L4", "P4")}
    ev = evaluate(models, specs, {g: est.params[g] for g in specs})
    assert ev["whole_b1"]["median"] < 0.25
    assert ev["chunk_b1"]["median"] < 0.35
    assert ev["ratio_spearman_pooled"] > 0.3


def test_onnx_op_names():
    from ppipe.zoo.calibrate import onnx_op

    assert onnx_op("/layer1/layer1.0/conv1/Conv") == "Conv"
    assert onnx_op("Conv_12") == "Conv"
    assert onnx_op("/features/features.1/Add_1") == "Add"
    assert onnx_op("/classifier/classifier.2/Gemm") == "Gemm"


def test_core_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, ppipe.zoo.estimator, ppipe.zoo.graph, ppipe.zoo.build, ppipe.zoo.calibrate, ppipe.zoo.extract\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert Path(ESTIMATOR_FILE).exists()
