"""The bundled model zoo (data/graphs -> data/profiles) and ``ppipe profile``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ppipe.cli.profile_cmds  # noqa: F401  (registers `ppipe profile` even before cli/__init__ imports it)
from ppipe.cli import run
from ppipe.paths import SHIPPED_DATA, SHIPPED_PROFILES
from ppipe.profiles.ownformat import OwnFormatSource, read_profile_file
from ppipe.profiles.store import ProfileStore
from ppipe.zoo.build import ZOO_GPUS, build_zoo
from ppipe.zoo.graph import Layer, ModelGraph, list_graphs, read_graph, write_graph

GRAPHS = SHIPPED_DATA / "graphs"


@pytest.fixture(scope="module")
def zoo() -> dict:
    src = OwnFormatSource(SHIPPED_PROFILES)
    return {n: src.load(n) for n in src.model_names()}


def test_zoo_contents(zoo):
    assert len(zoo) >= 12
    assert {"wide_resnet101_2", "convnext_large"} <= set(zoo)
    graphs = {read_graph(p).model for p in list_graphs(GRAPHS)}
    assert graphs == set(zoo), "every shipped graph has a profile and vice versa"
    total = sum(p.stat().st_size for p in SHIPPED_DATA.rglob("*") if p.is_file())
    assert total < 5e6, "keep data/ small"


def test_zoo_profiles_sane(zoo):
    for name, p in zoo.items():
        p.validate()
        assert p.estimated and p.provenance.startswith("estimated by ppipe ")
        assert set(ZOO_GPUS) <= set(p.gpus)
        assert p.mps_splits("P4") == [1] and p.mps_splits("L4") == [1, 2, 3, 4]
        assert "L4" in p.runtime_us and p.slo_gpu == "L4"
        assert 8 <= p.num_chunks <= 10 and p.chunk_layers and len(p.chunk_layers) == p.num_chunks
        assert np.all(p.cut_bytes > 0)
        for g in p.gpus:
            for k in p.mps_splits(g):
                t = p.table(g, k)
                assert t.shape == (p.num_chunks, 8)
                assert np.all(np.isfinite(t)) and np.all(t > 0)
                assert np.all(np.diff(t, axis=1) >= 0), (name, g, k)  # rounded to 0.1 µs
        # the SLO (5 x L4 runtime) is achievable: one L4 at batch 1 fits easily, a T4 fits alone
        assert p.table("L4", 1)[:, 0].sum() < p.sla_us()
        assert p.runtime_us["T4"] < 5 * p.runtime_us["L4"], name
        assert p.runtime_us["H100"] < p.runtime_us["A100"] < p.runtime_us["T4"]
    ratios = [p.runtime_us["T4"] / p.runtime_us["L4"] for p in zoo.values()]
    assert np.median(ratios) < 4


def test_store_without_artifact(monkeypatch, tmp_path):
    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    monkeypatch.setenv("PPIPE_HOME", str(tmp_path / "home"))
    store = ProfileStore.open()
    names = store.model_names()
    assert "resnet50" in names and "convnext_large" in names
    assert store.get("resnet50").estimated


def test_models_command_lists_zoo(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    monkeypatch.setenv("PPIPE_HOME", str(tmp_path / "home"))
    assert run(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by = {r["model"]: r for r in rows}
    assert by["wide_resnet101_2"]["estimated"] and "estimated by ppipe" in by["wide_resnet101_2"]["provenance"]


def test_build_zoo_is_deterministic(tmp_path):
    """Rebuilding from data/graphs + data/estimator.json reproduces the shipped files.

    Byte for byte when run twice here; against the shipped files up to the 0.1 µs
    rounding (another platform's libm may differ in the last bit).
    """
    a = build_zoo(out=tmp_path / "a", models=["resnet50", "vgg16"])
    b = build_zoo(out=tmp_path / "b", models=["resnet50", "vgg16"])
    for ea, eb in zip(a, b):
        assert ea.profile.read_bytes() == eb.profile.read_bytes(), ea.model
        new = json.loads(ea.profile.read_text())
        old = json.loads((SHIPPED_PROFILES / ea.profile.name).read_text())
        skip = ("latency_us", "runtime_us")
        assert {k: v for k, v in new.items() if k not in skip} == {k: v for k, v in old.items() if k not in skip}
        assert new["runtime_us"].keys() == old["runtime_us"].keys()
        assert np.allclose(list(new["runtime_us"].values()), list(old["runtime_us"].values()), rtol=1e-6, atol=0.11)
        for g, tables in old["latency_us"].items():
            for k, rows in tables.items():
                assert np.allclose(new["latency_us"][g][k], rows, rtol=1e-6, atol=0.11), (ea.model, g, k)


# ---------------------------------------------------------------- CLI

def tiny_graph() -> ModelGraph:
    """conv -> relu -> conv -> add(skip) -> pool -> linear, with a skip connection."""
    E = 2 * 16 * 32 * 32
    layers = [
        Layer("c1", "convolution", "conv", 2 * 16 * 3 * 9 * 1024, 900, 2 * 3 * 1024, E, [0], [1],
              [16, 32, 32], {"k": [3, 3], "groups": 1, "cin": 3, "cout": 16}),
        Layer("r1", "relu", "eltwise", 16384, 0, E, E, [1], [2], [16, 32, 32]),
        Layer("c2", "convolution", "conv", 2 * 16 * 16 * 9 * 1024, 4700, E, E, [2], [3],
              [16, 32, 32], {"k": [3, 3], "groups": 1, "cin": 16, "cout": 16}),
        Layer("add", "add", "eltwise", 16384, 0, 2 * E, E, [2, 3], [4], [16, 32, 32]),
        Layer("pool", "mean", "reduce", 16384, 0, E, 32, [4], [5], [16]),
        Layer("fc", "addmm", "matmul", 2 * 16 * 10, 340, 32, 20, [5], [6], [10]),
    ]
    tb = np.array([2 * 3 * 1024, E, E, E, E, 32, 20], dtype=float)
    prod = np.array([-1, 0, 1, 2, 3, 4, 5])
    last = np.array([0, 1, 3, 3, 4, 5, 6])
    return ModelGraph("tiny", layers, tb, prod, last, inputs=[[3, 32, 32]], task="test")


@pytest.fixture()
def tiny(tmp_path) -> Path:
    return write_graph(tiny_graph(), tmp_path / "tiny.graph.json")


def _one_line_error(capsys, code: int, needle: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and err[0].startswith("ppipe: error:") and needle in err[0], err


def test_estimate_small_graph(tiny, tmp_path, capsys):
    out = tmp_path / "tiny.profile.json"
    code = run(["profile", "estimate", "--graph", str(tiny), "--gpus", "T4,L4,A100", "--chunks", "3",
                "-o", str(out), "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["chunks"] == 3 and doc["file"] == str(out)
    p = read_profile_file(out)
    assert p.estimated and p.gpus == ["T4", "L4", "A100"] and p.mps_splits("T4") == [1, 2, 3, 4]
    assert "tiny.graph.json" in p.provenance
    assert len(p.cut_bytes) == 2 and p.table("L4", 1).shape == (3, 8)
    # the skip connection crosses a cut placed between c2 and add
    g = read_graph(tiny)
    assert g.cut_bytes()[2] == 2 * 2 * 16 * 32 * 32


def test_estimate_default_destination_and_store(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PPIPE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    assert run(["profile", "estimate", "--graph", str(tiny), "--gpus", "L4,P4", "--chunks", "2",
                "--name", "my-tiny"]) == 0
    assert (tmp_path / "home" / "profiles" / "my-tiny.profile.json").exists()
    store = ProfileStore.open()
    assert "my-tiny" in store.model_names() and store.get("my-tiny").num_chunks == 2


def test_estimate_custom_gpu(tiny, tmp_path, capsys):
    cat = tmp_path / "cat.json"
    cat.write_text(json.dumps({"gpus": [{"name": "MyGPU", "architecture": "Ampere", "fp32_tflops": 20,
                                         "tf32_tflops": 80, "mem_bw_gbps": 1000, "sm_count": 80,
                                         "mps_levels": 2}]}))
    out = tmp_path / "t.profile.json"
    assert run(["profile", "estimate", "--graph", str(tiny), "--gpus", "MyGPU,L4", "--catalog", str(cat),
                "-o", str(out), "--chunks", "2", "--name", "t"]) == 0
    p = read_profile_file(out)
    assert p.mps_splits("MyGPU") == [1, 2]


@pytest.mark.parametrize("args,needle", [
    (["--graph", "/nonexistent/x.graph.json"], "graph file not found"),
    (["--gpus", "T4,Nope"], "unknown GPU type 'Nope'"),
    (["--gpus", "T4,,L4"], "malformed GPU list"),
    (["--chunks", "0"], "chunk count must be at least 1"),
    (["--max-batch", "0"], "maximum batch size must be at least 1"),
    (["--mps", "T4:x"], "is not a whole number"),
])
def test_estimate_errors(tiny, tmp_path, capsys, args, needle):
    base = ["profile", "estimate", "--graph", str(tiny), "-o", str(tmp_path / "o.json")]
    _one_line_error(capsys, run(base + args), needle)


def test_estimate_bad_graph_files(tmp_path, capsys):
    bad = tmp_path / "bad.graph.json"
    bad.write_text("{oops")
    _one_line_error(capsys, run(["profile", "estimate", "--graph", str(bad)]), "not valid JSON")
    bad.write_text(json.dumps({"format": "ppipe-profile"}))
    _one_line_error(capsys, run(["profile", "estimate", "--graph", str(bad)]), "not a ppipe layer graph")
    cat = tmp_path / "cat.json"
    cat.write_text(json.dumps({"gpus": [{"name": "X", "fp32_tflops": 1, "mem_bw_gbps": 1}]}))
    g = write_graph(tiny_graph(), tmp_path / "t.graph.json")
    _one_line_error(capsys, run(["profile", "estimate", "--graph", str(g), "--gpus", "X", "--catalog", str(cat)]),
                    "sm_count")


def test_graph_command(capsys):
    assert run(["profile", "graph", str(GRAPHS / "resnet50.graph.json.gz"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["model"] == "resnet50" and s["layers"] > 100 and 8 < s["gflops"] < 8.5


def test_build_zoo_command(tmp_path, capsys):
    assert run(["profile", "build-zoo", "--out", str(tmp_path), "--models", "mobilenet_v3_large",
                "--gpus", "T4,L4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["mobilenet_v3_large"]
    assert read_profile_file(tmp_path / "mobilenet_v3_large.profile.json").gpus == ["T4", "L4"]
    _one_line_error(capsys, run(["profile", "build-zoo", "--out", str(tmp_path), "--models", "nope"]), "no graph for nope")
