"""Fig. 13 (``ppipe experiment sensitivity``) and Fig. 14 (``ppipe experiment scalability``):
their settings and points, the figure data against the paper's numbers, tiny end-to-end runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ppipe.cli import run
from ppipe.errors import InputError
from ppipe.experiments import figures as F
from ppipe.experiments import scaling as SC
from ppipe.experiments.outdir import COLUMNS
from ppipe.experiments.settings import (
    SENSITIVITY_CENTER,
    build_settings,
    resolve_cluster,
    sensitivity_points,
    study_of,
)
from ppipe.experiments.spec import ExperimentSpec


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("ppipe: error:") and "Traceback" not in err
    return err


# ------------------------------------------------------------------ sensitivity settings

def test_sensitivity_settings():
    ss = build_settings("sensitivity")
    # 5 + 6 + 4 points, the centre shared by the three studies: 13 per model, 18 models
    assert len(sensitivity_points()) == 13 and len(ss) == 13 * 18
    assert len({s.id for s in ss}) == len(ss)
    assert all(s.variants == ("ppipe", "np-single") and len(s.models) == 1 for s in ss)
    spec = ExperimentSpec.for_set("sensitivity")
    assert (spec.max_parts, spec.slo_multiplier, spec.slo_discount, spec.weights) == (3, 5.0, 0.4, None)
    centre = [s for s in ss if s.group == "googlenet-v3-pytorch" and s.cluster == "HC1-4+12"
              and s.constants(spec) == (5.0, 0.4)]
    assert len(centre) == 1 and centre[0].id == "googlenet-v3-pytorch_HC1-4+12_x5_d0.4"
    assert study_of(5.0, (4, 12), 0.4) == ["slo", "mix", "discount"]
    assert study_of(2.0, (4, 12), 0.4) == ["slo"] and study_of(5.0, (2, 14), 0.4) == ["mix"]
    assert study_of(2.0, (2, 14), 0.4) == []
    only = build_settings("sensitivity", models=["googlenet"], studies=["mix"], study_values={"mix": [(2, 14)]})
    assert [s.cluster for s in only] == ["HC1-2+14"]
    assert SENSITIVITY_CENTER["mix"] == (4, 12)


def test_resolve_cluster():
    c = resolve_cluster("HC1-4+12")
    assert c.gpus == ("L4", "P4") and c.limits == (4, 12) and c.mps_levels == (4, 1) and c.bw_gbps == 6
    assert resolve_cluster("HC2").limits == (25, 75)
    for bad in ("HC9", "HC1-4", "HC1-a+b", "HC1--1+2"):
        with pytest.raises(InputError, match="unknown cluster"):
            resolve_cluster(bad)


def test_sensitivity_errors(capsys, tmp_path):
    with pytest.raises(InputError, match="no groups or cluster choice"):
        build_settings("sensitivity", groups=["G1"])
    with pytest.raises(InputError, match="--studies applies to the sensitivity set"):
        build_settings("ablation", studies=["slo"])
    out = ["--out", str(tmp_path / "x")]
    for args, words in ((["--studies", "speed"], "unknown study"), (["--splits", "4-12"], "malformed split"),
                        (["--multipliers", "0"], "out of range"), (["--discounts", "1"], "out of range"),
                        (["--multipliers", "x"], "malformed SLO multiplier"),
                        (["--schedulers", "dart-r"], "not part of the sensitivity set")):
        assert run(["experiment", "sensitivity", *args, *out]) == 2
        assert words in _err_line(capsys)


def _fake_sensitivity():
    """Two models; at the centre PPipe passes 90 / 80 and NP 60 / 40; at 2x NP passes nothing
    for model b; at 12:4 both reach 80."""
    rows = []

    def add(model, mult, mix, disc, sched, lf99):
        for lf in (100, 90, 80, 60, 40):
            ok = lf <= lf99
            rows.append({"set": "sensitivity", "setting": f"{model}_{mix}_{mult}_{disc}", "group": model,
                         "cluster": f"HC1-{mix[0]}+{mix[1]}", "scheduler": sched, "model": model, "model_index": 0,
                         "load_factor": lf, "arrivals": "Poisson", "attainment": 1.0 if ok else 0.5,
                         "attainment_reference": 1.0 if ok else 0.5, "passed": ok, "passed_reference": ok,
                         "cluster_high": mix[0], "cluster_low": mix[1], "pool_gpus_high": 1.0,
                         "pool_gpus_low": 1.0, "util_high": 0.5, "util_low": 0.5, "weight": 1.0,
                         "slo_multiplier": mult, "slo_discount": disc})

    for m, (pp, np_) in {"a": (90, 60), "b": (80, 40)}.items():
        add(m, 5.0, (4, 12), 0.4, "ppipe", pp)
        add(m, 5.0, (4, 12), 0.4, "np-single", np_)
        add(m, 5.0, (12, 4), 0.4, "ppipe", 80)
        add(m, 5.0, (12, 4), 0.4, "np-single", 80)
    add("a", 2.0, (4, 12), 0.4, "ppipe", 60)
    add("a", 2.0, (4, 12), 0.4, "np-single", 0)  # passes nothing: lf99 0
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def test_fig13_data():
    d = F.fig13(_fake_sensitivity())
    assert set(d) == {"slo", "mix", "discount"}
    centre = {r["label"]: r for r in d["mix"]}["4:12"]
    assert centre["ppipe"] == 85.0 and centre["base"] == 50.0 and centre["baseline"] == "np-single"
    assert centre["gain"] == pytest.approx(70.0)  # 85 / 50 - 1
    assert centre["mean_gain"] == pytest.approx(100 * ((90 / 60 - 1) + (80 / 40 - 1)) / 2)
    end = {r["label"]: r for r in d["mix"]}["12:4"]
    assert end["gain"] == 0.0 and end["paper"] == 5.64
    slo = {r["label"]: r for r in d["slo"]}
    assert list(slo) == ["2x", "5x"]
    assert slo["2x"]["models"] == 1 and slo["2x"]["no_plan"] == 1 and slo["2x"]["zero_base"] == 1
    assert slo["2x"]["mean_gain"] is None and slo["2x"]["paper"] == "none"
    assert {r["label"]: r for r in d["discount"]}["40%"]["paper"] == 52.8


def test_sensitivity_end_to_end(tmp_path, artifact_dir, capsys):
    out = tmp_path / "sens"
    args = ["experiment", "sensitivity", "--models", "googlenet", "--studies", "mix", "--splits", "4:12,12:4",
            "--duration", "1", "--load-factors", "100,50", "--out", str(out), "--data", str(artifact_dir)]
    assert run(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = doc["sets"]["sensitivity"]["sensitivity"]["mix"]
    assert [r["label"] for r in rows] == ["4:12", "12:4"] and rows[1]["paper"] == 5.64
    df = pd.read_csv(out / "results.csv")
    assert list(df.columns) == COLUMNS
    assert set(df["cluster"]) == {"HC1-4+12", "HC1-12+4"} and set(df["scheduler"]) == {"ppipe", "np-single"}
    assert set(df["slo_multiplier"]) == {5.0} and set(df["slo_discount"]) == {0.4}
    assert set(zip(df["cluster_high"], df["cluster_low"])) == {(4, 12), (12, 4)}
    assert run(args + ["--json"]) == 0  # resumes: nothing to do
    assert json.loads(capsys.readouterr().out)["settings"]["skipped"] == 2
    assert run(["figures", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Fig. 13" in text and "(b) L4:P4 split" in text and "Fig. 6" not in text
    assert run(["figures", str(out), "--fig", "13", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["figures"]["13"]["mix"][0]["label"] == "4:12"
    assert run(["figures", str(out), "--fig", "6"]) == 2
    assert "no main-set results" in _err_line(capsys)


# ------------------------------------------------------------------ scalability

def test_scalability_points_and_clusters():
    pts = SC.build_points()
    assert len(pts) == (len(SC.DEFAULT_SIZES) + len(SC.DEFAULT_TYPES)) * 6 and len({p.id for p in pts}) == len(pts)
    big = SC.cluster_of("size", 100_000)
    assert big.gpus == ("L4", "P4") and big.limits == (25_000, 75_000) and big.mps_levels == (4, 1)
    four = SC.cluster_of("types", 4)
    assert four.gpus == ("L4", "P4", "T4", "V100") and four.limits == (25, 75, 25, 25)
    assert SC.cluster_of("types", 2) == SC.cluster_of("size", 100)  # both are HC1
    for args, words in (({"studies": ["speed"]}, "unknown study"), ({"sizes": [2]}, "at least 4 GPUs"),
                        ({"types": [5]}, "choose 1..4"), ({"groups": ["G9"]}, "unknown group")):
        with pytest.raises(InputError, match=words):
            SC.build_points(**args)


def test_fig14_data():
    rows = []
    for st, x, g, t in (("size", 100, "G1", 1.0), ("size", 100, "G2", 3.0), ("size", 1000, "G1", 2.0),
                        ("types", 3, "G1", 30.0), ("types", 4, "G1", 70.0)):
        rows.append({"study": st, "x": x, "group": g, "status": "optimal", "solve_seconds": t + 1,
                     "solve_cpu_seconds": t, "total_seconds": t + 2, "est_seconds": 1.0, "total_cpu_seconds": t})
    d = SC.fig14(pd.DataFrame(rows))
    assert [r["x"] for r in d["size"]] == [100, 1000]
    assert d["size"][0]["mean_cpu"] == 2.0 and d["size"][0]["max_cpu"] == 3.0 and d["size"][0]["n"] == 2
    assert d["size"][0]["paper"] is None and d["size"][0]["label"] == "100 GPUs"
    assert [r["paper"] for r in d["types"]] == [35.3, 77.0]


def test_scalability_end_to_end(tmp_path, artifact_dir, capsys):
    out = tmp_path / "scal"
    args = ["experiment", "scalability", "--groups", "G2", "--studies", "types", "--types", "2",
            "--out", str(out), "--data", str(artifact_dir), "--time-limit", "120"]
    assert run(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    row = doc["figures"]["14"]["types"][0]
    assert row["x"] == 2 and row["statuses"] == {"optimal": 1} and row["mean_cpu"] > 0
    df = pd.read_csv(out / "scalability.csv")
    assert list(df.columns) == SC.COLUMNS and df["cluster"].tolist() == ["L4:25,P4:75"]
    first = (out / "parts" / "types_2_G2.json").read_bytes()
    assert run(args + ["--json"]) == 0  # resumes: the point is not solved again
    capsys.readouterr()
    assert (out / "parts" / "types_2_G2.json").read_bytes() == first
    assert run(["figures", str(out)]) == 0
    assert "Fig. 14 (b)" in capsys.readouterr().out
    assert run(args[:-2] + ["--time-limit", "60"]) == 2
    assert "another configuration" in _err_line(capsys)
    (out / "parts" / "types_2_G2.json").write_text("{")
    assert run(args) == 2
    assert "types_2_G2.json: damaged point" in _err_line(capsys)
    assert run(["figures", str(tmp_path), "--fig", "14", "--json"]) == 0  # a folder of experiment folders
    assert json.loads(capsys.readouterr().out)["figures"]["14"]["types"][0]["x"] == 2


def test_scalability_refuses_foreign_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert run(["experiment", "scalability", "--out", str(tmp_path), "--fresh"]) == 2
    assert "not an experiment folder" in _err_line(capsys)
    assert (tmp_path / "keep.txt").read_text() == "x"


def test_sensitivity_setting_without_a_plan(tmp_path, artifact_dir, capsys):
    """At SLO x2 no GPU of the testbed runs atss within its SLO: the setting has no plan, which
    is a result (Fig. 13 counts it under "no plan"), not a failure to retry."""
    out = tmp_path / "tight"
    code = run(["experiment", "sensitivity", "--models", "atss", "--studies", "slo", "--multipliers", "2",
                "--duration", "1", "--load-factors", "100", "--out", str(out), "--data", str(artifact_dir), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "1 of 1 settings have no plan that meets the SLO" in captured.err and "re-run" not in captured.err
    assert json.loads(captured.out)["settings"]["failed"][0]["setting"] == "atss_r101_fpn_1x_coco_HC1-4+12_x2_d0.4"
