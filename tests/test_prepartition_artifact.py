"""Pre-partitioning the artifact's models, compared with its reference mappings.

Reference files are read here with plain ``csv``/``json`` so the comparison does
not depend on the readers under test.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from ppipe.partition.layers import (
    format_tag,
    layer_models,
    load_layer_graph,
    read_mapping,
    read_reference_chunking,
    read_trans_size,
    tensor_size_bytes,
    write_artifact_mapping,
)
from ppipe.partition.prepartition import (
    DEFAULT_LADDER,
    estimate_profile,
    min_cut_chunking,
    partition_layers,
    prepartition_model,
)
from ppipe.profiles.artifact import TAG_ORDER

TOL = 1e-9  # documented share tolerance
#: The 9-chunk reference mappings break their own tag's bounds at K = 9 (see test below).
REFERENCE_VIOLATORS = {
    "atss_r101_fpn_1x_coco", "centernet-update_r50-caffe_fpn_ms-1x_coco", "fsaf_r101_fpn_1x_coco",
    "gfl_r50_fpn_ms-2x_coco", "gfl_x101-32x4d_fpn_ms-2x_coco",
}


def _reference(root: Path, model: str):
    """(tag, chunk id per layer name in file order, trans sizes) read directly."""
    folder = root / "prepartition_mappings" / model
    for tag in TAG_ORDER:
        mp = folder / f"contraction_mapping_ilpprepart10-{tag}.csv"
        if mp.exists():
            rows = [r for r in csv.reader(mp.open()) if r]
            sizes = [float(x) for x in (folder / f"contraction_trans-size_ilpprepart10-{tag}.csv").read_text().split()]
            return tag, [r[0] for r in rows], [int(r[1]) for r in rows], sizes
    return None


def _latencies(root: Path, model: str) -> dict[str, list[float]]:
    out = {}
    for gpu in ("V100", "L4", "T4", "P4"):
        rows = list(csv.reader((root / "models/node-profile-no-const" / f"{model}-{gpu}.csv").open()))[1:]
        out[gpu] = [float(r[1]) for r in rows]
    return out


def _ok(lat: dict[str, list[float]], starts: list[int], lb: float, ub: float) -> list[str]:
    """Independent balance check (plain sums); returns violations."""
    k = len(starts)
    bad = []
    for g, v in lat.items():
        total = math.fsum(v)
        for c, (s, e) in enumerate(zip(starts, starts[1:] + [len(v)])):
            share = math.fsum(v[s:e]) / total
            if not (e > s and lb / k - TOL <= share <= ub / k + TOL):
                bad.append(f"{g}:{c}:{share * k:.3f}")
    return bad


@pytest.fixture(scope="module")
def ref_models(artifact_dir) -> list[str]:
    names = sorted(p.name for p in (artifact_dir / "prepartition_mappings").iterdir() if p.is_dir())
    assert len(names) == 28
    return names


def test_matches_or_beats_every_reference(artifact_dir, ref_models):
    ladder = [format_tag(lb, ub) for lb, ub in DEFAULT_LADDER]
    violators = set()
    for model in ref_models:
        tag, names, ids, sizes = _reference(artifact_dir, model)
        lat = _latencies(artifact_dir, model)
        g = load_layer_graph(artifact_dir, model)
        assert g.layers == names  # node profiles, mapping and cuts list the same layers in order
        k = max(ids) + 1
        ref_starts = [0] + [i for i in range(1, len(ids)) if ids[i] != ids[i - 1]]
        if _ok(lat, ref_starts, *map(float, tag.split("-"))):
            violators.add(model)

        r = partition_layers(g.latency, g.cut_bytes, k)
        assert r.k == k and r.boundaries[0] == 0 and not _ok(lat, r.boundaries, r.lb, r.ub), model
        assert ladder.index(r.tag) <= ladder.index(tag), (model, r.tag, tag)  # same or tighter step
        at_ref = partition_layers(g.latency, g.cut_bytes, k, [tuple(map(float, tag.split("-")))])
        assert not _ok(lat, at_ref.boundaries, at_ref.lb, at_ref.ub)
        assert at_ref.total_cut_bytes <= sum(sizes), model
        if model not in REFERENCE_VIOLATORS:
            assert at_ref.total_cut_bytes == sum(sizes), model  # the MILP's optimum, reproduced
    assert violators == REFERENCE_VIOLATORS


def test_nine_chunk_references_are_ten_chunk_optima_with_the_last_cut_dropped(artifact_dir):
    """How the violators came about: each equals, in total cut size, the K = 10
    optimum at its tag (bounds lb/10, ub/10) with its last two chunks merged."""
    for model in sorted(REFERENCE_VIOLATORS):
        tag, _, ids, sizes = _reference(artifact_dir, model)
        g = load_layer_graph(artifact_dir, model)
        lb, ub = map(float, tag.split("-"))
        ten = min_cut_chunking(g.latency, g.cut_bytes, 10, lb, ub)
        assert ten is not None
        assert sum(g.cut_bytes[b - 1] for b in ten[1:-1]) == sum(sizes), model
        # and its first 8 chunks meet the 10-chunk bounds, its last one (two merged) twice them
        lat = _latencies(artifact_dir, model)
        for v in lat.values():
            total = math.fsum(v)
            chunk = np.bincount(ids, weights=v) / total
            assert np.all(chunk[:-1] >= lb / 10 - TOL) and np.all(chunk[:-1] <= ub / 10 + TOL), model
            assert 2 * lb / 10 - TOL <= chunk[-1] <= 2 * ub / 10 + TOL


def test_reference_is_kept_when_it_is_optimal(artifact_dir, ref_models):
    kept = 0
    for model in ref_models:
        mp = prepartition_model(artifact_dir, model)
        assert mp.reference is not None and mp.result.k == mp.reference.k
        if model in REFERENCE_VIOLATORS:
            assert mp.reference_violations and mp.changed
        else:
            assert not mp.reference_violations
            assert not mp.changed, model
            kept += 1
    assert kept == 23


def test_cut_sizes_follow_the_size_rules(artifact_dir):
    shapes = json.loads((artifact_dir / "models/shapes/tf_efficientdet_d1.json").read_text())
    cuts = json.loads((artifact_dir / "models/cuts-no-const/tf_efficientdet_d1.json").read_text())
    g = load_layer_graph(artifact_dir, "tf_efficientdet_d1")
    item = {"<f4": 2, "<i8": 4, "<i4": 4, "|b1": 1}
    for i, entry in enumerate(cuts[1:-2]):
        want = sum(item[shapes[t]["dtype"]] * abs(int(np.prod(shapes[t]["shape"]))) for t in entry["cut"])
        assert g.cut_bytes[i] == want
    assert tensor_size_bytes("<f4", [-1, 3, 4]) == 24
    assert tensor_size_bytes("<i8", [-1, 5]) == 20
    assert tensor_size_bytes("|b1", [-1, 5]) == 5
    assert tensor_size_bytes("<f8", [2]) == 16


def test_reference_cut_sizes_reproduced_from_layer_files(artifact_dir, ref_models):
    for model in ref_models:
        ref = read_reference_chunking(artifact_dir, model)
        g = load_layer_graph(artifact_dir, model)
        assert list(g.cut_bytes[np.array(ref.boundaries[1:]) - 1]) == list(ref.cut_bytes), model


def test_all_layer_models_are_listed(artifact_dir):
    names = layer_models(artifact_dir)
    assert len(names) == 31 and "upernet_r101_4xb2-40k_cityscapes-512x1024" in names


def test_writer_round_trip(artifact_dir, tmp_path):
    from ppipe.profiles.artifact import find_mapping_tag, read_cut_bytes

    mp = prepartition_model(artifact_dir, "repvgg-b3", k=6)
    r = mp.result
    write_artifact_mapping(tmp_path, "repvgg-b3", mp.graph.layers, [0, 3, 9], [1.0, 2.0], "0.4-4.0")
    m_path, t_path = write_artifact_mapping(tmp_path, "repvgg-b3", mp.graph.layers, r.boundaries, r.cut_bytes, r.tag)
    assert find_mapping_tag(tmp_path, "repvgg-b3") == r.tag  # the older tag's files were replaced
    assert len(list(m_path.parent.glob("contraction_*"))) == 2
    names, ids = read_mapping(m_path)
    assert names == mp.graph.layers and list(ids) == list(mp.graph.chunk_ids(r.boundaries))
    assert list(read_trans_size(t_path)) == r.cut_bytes == list(read_cut_bytes(t_path))
    assert t_path.read_text().splitlines()[0].isdigit()  # integers, like the reference
    back = read_reference_chunking(tmp_path, "repvgg-b3")
    assert back.boundaries == r.boundaries and back.tag == r.tag


def test_estimated_profile(artifact_dir, store, tmp_path):
    from ppipe.profiles.ownformat import read_profile_file, write_profile_file

    model = "googlenet-v3-pytorch"
    base = store.get(model)
    ref = read_reference_chunking(artifact_dir, model)
    g = load_layer_graph(artifact_dir, model)
    same = estimate_profile(g, ref.boundaries, ref.cut_bytes, base, ref.boundaries)
    for gpu, tables in base.latency.items():
        for k, t in tables.items():
            np.testing.assert_allclose(same.latency[gpu][k], t, rtol=1e-12)
    r = partition_layers(g.latency, g.cut_bytes, 7)
    est = estimate_profile(g, r.boundaries, r.cut_bytes, base, ref.boundaries)
    assert est.estimated and est.provenance.startswith("estimated from layer-level batch-1 latencies")
    assert est.num_chunks == 7 and est.chunk_layers == g.chunk_layers(r.boundaries)
    assert sum(len(c) for c in est.chunk_layers) == g.n_layers
    for gpu, tables in base.latency.items():
        assert sorted(est.latency[gpu]) == sorted(tables)
        for k, t in tables.items():
            assert est.latency[gpu][k].shape == (7, t.shape[1])
            np.testing.assert_allclose(est.latency[gpu][k].sum(axis=0), t.sum(axis=0), rtol=1e-9)
    assert est.runtime_us == base.runtime_us
    back = read_profile_file(write_profile_file(est, tmp_path / f"{model}.profile.json"))
    assert back.estimated and back.chunk_layers == est.chunk_layers and back.num_chunks == 7

    bare = estimate_profile(g, r.boundaries, r.cut_bytes)  # no block timings: batch 1, k = 1 only
    assert bare.estimated and all(list(t) == [1] for t in bare.latency.values())
    np.testing.assert_allclose(bare.latency["L4"][1][:, 0], np.array(r.runtime_share["L4"]) * g.latency["L4"].sum())
