"""``ppipe prepartition``: JSON output, files written, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ppipe.cli import run


def make_model(root: Path, model: str, lat: dict[str, list[float]], layers: list[str] | None = None,
               unknown_tensor: bool = False, rename: dict[str, list[str]] | None = None) -> None:
    """A synthetic layer-level model in the artifact layout (fp32 tensors of 1 x 8 x n)."""
    n = len(next(iter(lat.values())))
    layers = layers or [f"/layer{i}/Conv" for i in range(n)]
    prof = root / "models/node-profile-no-const"
    prof.mkdir(parents=True, exist_ok=True)
    for gpu, values in lat.items():
        names = (rename or {}).get(gpu, layers)
        rows = ["node,latency"] + [f"{a},{v}" for a, v in zip(names, values)]
        (prof / f"{model}-{gpu}.csv").write_text("\n".join(rows) + "\n")
    cuts = [{"node": "$input$", "cut": ["input"]}]
    shapes = {"input": {"dtype": "<f4", "shape": [-1, 3, 8, 8]}}
    for i, name in enumerate(layers):
        t = f"{name}_output_0" if i < n - 1 else "output"
        cuts.append({"node": name, "cut": [t]})
        shapes[t] = {"dtype": "<f4", "shape": [-1, 8, i + 1]}
    cuts.append({"node": "$output$", "cut": []})
    if unknown_tensor:
        cuts[2]["cut"].append("ghost")
    for sub, doc in (("cuts-no-const", cuts), ("shapes", shapes)):
        (root / "models" / sub).mkdir(parents=True, exist_ok=True)
        (root / "models" / sub / f"{model}.json").write_text(json.dumps(doc))


@pytest.fixture()
def toy(tmp_path) -> Path:
    root = tmp_path / "data"
    make_model(root, "toy", {"V100": [1, 2, 3, 4, 5, 6, 7, 8], "L4": [2, 2, 2, 2, 2, 2, 2, 2]})
    make_model(root, "toy-big", {"V100": [1.0] * 30, "P4": [2.0] * 30})
    return root


def _one_line_error(capsys, code: int, needle: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and err[0].startswith("ppipe: error:") and needle in err[0], err


def test_json_output(toy, capsys):
    assert run(["prepartition", "toy", "--data", str(toy), "--chunks", "3", "--json"]) == 0
    cap = capsys.readouterr()
    (row,) = json.loads(cap.out)
    for key in ("model", "lb", "ub", "chunks", "boundaries", "cut_bytes", "runtime_share", "seconds"):
        assert key in row
    assert row["model"] == "toy" and row["chunks"] == 3 and row["boundaries"][0] == 0
    assert len(row["cut_bytes"]) == 2 and set(row["runtime_share"]) == {"V100", "L4"}
    assert row["reference"] is None and row["chunking_changed"] and "RE-PROFILE NEEDED" in cap.err


def test_default_k_is_ten_or_the_layer_count(toy, capsys):
    assert run(["prepartition", "toy", "--data", str(toy), "--json", "--ladder", "0.1-9"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["chunks"] == 8
    assert run(["prepartition", "toy-big", "--data", str(toy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["chunks"] == 10


def test_all_writes_files_and_estimates(toy, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(["prepartition", "--all", "--data", str(toy), "-o", str(out), "--estimate-profile",
                "--chunks", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["toy", "toy-big"]
    for r in rows:
        files = r["files"]
        assert Path(files["mapping"]).exists() and Path(files["trans_size"]).exists()
        assert files["profile_estimated"] is True
        prof = json.loads(Path(files["profile"]).read_text())
        assert prof["estimated"] and "estimated from layer-level batch-1 latencies" in prof["provenance"]
        assert len(prof["chunk_layers"]) == 4 and prof["cut_bytes"] == r["cut_bytes"]
        chunking = json.loads(Path(files["chunking"]).read_text())
        assert chunking["chunk_layers"] == prof["chunk_layers"]
    # the output folder reads back as a profile store
    from ppipe.profiles.store import ProfileStore

    assert ProfileStore.open(out).get("toy").estimated


def test_artifact_model_by_prefix(artifact_dir, capsys, tmp_path):
    assert run(["prepartition", "repvgg", "--data", str(artifact_dir), "--json", "-o", str(tmp_path),
                "--estimate-profile"]) == 0
    cap = capsys.readouterr()
    (row,) = json.loads(cap.out)
    assert row["model"] == "repvgg-b3" and row["tag"] == "0.5-2.0" and row["chunks"] == 10
    assert not row["chunking_changed"] and row["reference"]["satisfies_own_tag"]
    assert "RE-PROFILE" not in cap.err
    prof = json.loads(Path(row["files"]["profile"]).read_text())
    assert prof["estimated"] is False  # unchanged chunks keep their measured block timings
    assert run(["prepartition", "repvgg", "--data", str(artifact_dir), "--no-prefer-reference"]) == 0
    assert "RE-PROFILE NEEDED: repvgg-b3" in capsys.readouterr().err


def test_k_larger_than_layers(toy, capsys):
    _one_line_error(capsys, run(["prepartition", "toy", "--data", str(toy), "--chunks", "9"]),
                    "larger than the layer count (8)")


def test_mismatched_layer_lists(tmp_path, capsys):
    root = tmp_path / "d"
    layers = [f"n{i}" for i in range(4)]
    make_model(root, "m", {"V100": [1, 1, 1, 1], "T4": [1, 1, 1, 1]}, layers,
               rename={"T4": ["n0", "n1", "x2", "n3"]})
    _one_line_error(capsys, run(["prepartition", "m", "--data", str(root)]), "mismatched layer lists between GPU files")


def test_unknown_tensor(tmp_path, capsys):
    make_model(tmp_path, "m", {"V100": [1, 1, 1, 1]}, unknown_tensor=True)
    _one_line_error(capsys, run(["prepartition", "m", "--data", str(tmp_path)]), "unknown tensor 'ghost'")


def test_no_feasible_step(toy, capsys):
    _one_line_error(capsys, run(["prepartition", "toy", "--data", str(toy), "--chunks", "3", "--ladder", "1.0-1.0"]),
                    "no feasible ladder step")


def test_all_reports_failures_and_exits_nonzero(toy, capsys):
    code = run(["prepartition", "--all", "--data", str(toy), "--chunks", "3", "--ladder", "1.0-1.0", "--json"])
    cap = capsys.readouterr()
    # toy-big (30 equal layers) splits exactly into thirds; toy cannot
    assert code != 0 and [r["model"] for r in json.loads(cap.out)] == ["toy-big"]
    assert cap.err.strip().splitlines()[-1] == "ppipe: error: 1 of 2 models failed: toy"


@pytest.mark.parametrize("args, needle", [
    (["prepartition"], "give one MODEL or --all"),
    (["prepartition", "nope"], "unknown model 'nope'"),
    (["prepartition", "toy", "--estimate-profile"], "needs an output folder"),
    (["prepartition", "toy", "--ladder", "0.5"], "malformed ladder step"),
    (["prepartition", "toy", "--chunks", "0"], "at least 1"),
])
def test_bad_arguments(toy, capsys, args, needle):
    _one_line_error(capsys, run(args + ["--data", str(toy)]), needle)


def test_no_layer_data(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PPIPE_ARTIFACT", raising=False)
    _one_line_error(capsys, run(["prepartition", "x"]), "no layer-level data")
    _one_line_error(capsys, run(["prepartition", "x", "--data", str(tmp_path)]), "no layer-level files")


def test_table_output(toy, capsys):
    assert run(["prepartition", "--all", "--data", str(toy), "--chunks", "2"]) == 0
    out = capsys.readouterr().out
    assert "toy-big" in out and "0.7-1.3" in out
