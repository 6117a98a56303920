"""``ppipe experiment`` / ``ppipe figures``: settings, resumability, table, summary, charts.

Tiny subsets only (group G2 on HC2 solves in well under a second), with a few
load factors and seconds of simulated arrivals.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ppipe.cli import run
from ppipe.errors import InputError
from ppipe.experiments import figures as F
from ppipe.experiments import runner as R
from ppipe.experiments.outdir import COLUMNS
from ppipe.experiments.runner import run_experiment
from ppipe.experiments.settings import build_settings
from ppipe.experiments.spec import ExperimentSpec
from ppipe.experiments.sweeping import load_base

SMALL = dict(duration_s=2.0, grid=[100, 80, 60])
SMALL_ARGS = ["--duration", "2", "--load-factors", "100,80,60"]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("ppipe: error:") and "Traceback" not in err
    return err


# ------------------------------------------------------------------ settings

def test_settings_sets():
    main = build_settings("maf19")
    assert len(main) == 24 and {s.cluster for s in main} == {"HC1", "HC2", "HC3", "HC4"}
    assert all(s.variants == ("ppipe", "np", "dart-r") and len(s.models) == 3 for s in main)
    abl = build_settings("ablation")
    assert len(abl) == 18 and {s.cluster for s in abl} == {"HC2"} and all(len(s.models) == 1 for s in abl)
    assert abl[0].variants == ("ppipe", "np-single", "ppipe-nexus")  # PPipe first: it defines load factor 100
    sub = build_settings("maf21", ["g1", "G3"], ["HC2"], ["np", "ppipe"])
    assert [s.id for s in sub] == ["G1_HC2", "G3_HC2"] and sub[0].variants == ("ppipe", "np")
    with pytest.raises(InputError, match="unknown group"):
        build_settings("maf19", ["G9"])
    with pytest.raises(InputError, match="not part of the maf19 set"):
        build_settings("maf19", None, None, ["ppipe-nexus"])
    with pytest.raises(InputError, match="ablation set has no groups"):
        build_settings("ablation", ["G1"])


def test_spec_validation():
    spec = ExperimentSpec.for_set("maf19", grid=[80, 100, 80])
    assert spec.grid == [100, 80] and spec.max_parts == 2 and spec.slo_discount == 0.4
    assert ExperimentSpec.for_set("ablation").max_parts == 3
    with pytest.raises(InputError):
        ExperimentSpec.for_set("maf19", grid=[0])
    with pytest.raises(InputError):
        ExperimentSpec.for_set("maf19", duration_s=0)


# ------------------------------------------------------------------ figures data (no artifact needed)

def _fake_rows():
    rows = []
    for s, passes, util_low in (("ppipe", {100: False, 90: True, 80: True}, 0.6),
                                ("np", {100: False, 90: False, 80: False}, 0.0)):
        for m, mi in (("a", 0), ("b", 1)):
            for lf, ok in passes.items():
                rows.append({"set": "maf19", "setting": "G1_HC2", "group": "G1", "cluster": "HC2", "scheduler": s,
                             "model": m, "model_index": mi, "load_factor": lf, "arrivals": "Poisson",
                             "attainment": 0.995 if ok else 0.9, "attainment_reference": 0.995 if ok else 0.9,
                             "passed": ok, "passed_reference": ok, "cluster_high": 25, "cluster_low": 75,
                             "pool_gpus_high": 10.0, "pool_gpus_low": 30.0 if s == "ppipe" else 0.0,
                             "util_high": 0.9, "util_low": util_low})
    return pd.DataFrame(rows)


def test_figure_data_conventions():
    df = _fake_rows()
    t = F.lf99_table(df)
    pp = t[t["scheduler"] == "ppipe"]
    assert set(pp["lf99"]) == {90}
    npt = t[t["scheduler"] == "np"]
    assert set(npt["lf99"]) == {0} and npt["none_passed"].all() and set(npt["load_factor"]) == {80}
    u = F.fig8(df)["maf19"]["HC2"]
    # two models x 30 low GPUs x 60 % busy over the cluster's 75 low-class GPUs
    assert u["ppipe"]["low"] == pytest.approx(100 * 2 * 30 * 0.6 / 75)
    assert u["ppipe"]["high"] == pytest.approx(100 * 2 * 10 * 0.9 / 25)
    assert u["np"]["low"] == 0.0
    s = F.summarize(df)
    assert s["mean_lf99"] == {"np": 0.0, "ppipe": 90.0}
    assert s["sets"]["maf19"]["none_passed"]["np"] == 2
    c = F.fig7(df)["maf19"]
    assert c["group"] == "G1" and c["curves"]["HC2"]["ppipe"]["load_factor"] == [80, 90, 100]


# ------------------------------------------------------------------ runs (artifact)

@pytest.fixture(scope="module")
def full_run(tmp_path_factory, artifact_dir):
    """G2 on HC2, uninterrupted: the reference for the resume tests."""
    out = tmp_path_factory.mktemp("exp-full")
    spec = ExperimentSpec.for_set("maf19", data=str(artifact_dir), **SMALL)
    events = []
    rep = run_experiment(build_settings("maf19", ["G2"], ["HC2"]), spec, out, on_event=lambda k, i: events.append(k))
    assert [e for e in events if e != "status"] == ["start", "setting"] and not rep.failed
    return out


def test_table_and_outputs(full_run):
    df = pd.read_csv(full_run / "results.csv")
    assert list(df.columns) == COLUMNS
    # one row per (setting, scheduler, model, load factor)
    assert len(df) == 3 * 3 * 3
    assert not df.duplicated(["setting", "scheduler", "model", "load_factor"]).any()
    assert set(df["scheduler"]) == {"ppipe", "np", "dart-r"}
    # the same absolute load for every scheduler of the setting
    loads = df.groupby(["model", "load_factor"])["load"].nunique()
    assert (loads == 1).all()
    pp = df[df["scheduler"] == "ppipe"]
    # load factor 100 = weight x the PPipe objective: at most the plan's capacity, equal for the binding model
    assert (pp["x_ppipe"] <= pp["plan_xput"] * (1 + 1e-9)).all()
    assert (abs(pp["x_ppipe"] - pp["plan_xput"]) <= 1e-6 * pp["plan_xput"]).any()
    assert ((df["attainment"] >= 0) & (df["attainment"] <= 1)).all()
    plans = sorted(p.name for p in (full_run / "plans" / "G2_HC2").glob("*.json") if p.name != "solve.json")
    assert [p.rsplit("_", 1)[1] for p in plans] == ["bl.json", "dart-r.json", "v4.json"]
    info = json.loads((full_run / "plans" / "G2_HC2" / "solve.json").read_text())
    assert len(info["est_xput"]) == 3 and info["planners"]["ppipe"]["status"] == "optimal"
    summary = json.loads((full_run / "summary.json").read_text())
    assert set(summary["mean_lf99"]) == {"ppipe", "np", "dart-r"}
    assert "ppipe" in summary["solve_seconds"]


def test_resume_after_interrupt_in_process(full_run, tmp_path, artifact_dir, monkeypatch):
    """Interrupted after the first variant: the re-run computes only the rest, solves
    nothing again, and the table equals the uninterrupted run's."""
    out = tmp_path / "exp"
    spec = ExperimentSpec.for_set("maf19", data=str(artifact_dir), **SMALL)
    settings = build_settings("maf19", ["G2"], ["HC2"])
    real_sweep = R.sweep_variant
    calls = []

    def interrupting(*a, **kw):
        calls.append(a[1])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_sweep(*a, **kw)

    monkeypatch.setattr(R, "sweep_variant", interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(settings, spec, out)
    parts = sorted(p.name for p in (out / "parts" / "G2_HC2").iterdir())
    assert parts == ["ppipe.csv", "timing.json"]  # nothing half-written
    monkeypatch.setattr(R, "sweep_variant", real_sweep)

    import ppipe.planning.solve

    def no_solve(*a, **kw):
        raise AssertionError("plans must be reused, not solved again")

    monkeypatch.setattr(ppipe.planning.solve, "solve", no_solve)
    monkeypatch.setattr(ppipe.planning.solve, "estimate_xput", no_solve)
    events = []
    rep = run_experiment(settings, spec, out, on_event=lambda k, i: events.append((k, i)))
    assert rep.computed[0]["computed"] == ["np", "dart-r"]
    assert (out / "results.csv").read_bytes() == (full_run / "results.csv").read_bytes()
    # a third run finds everything done
    rep = run_experiment(settings, spec, out)
    assert rep.skipped == 1 and not rep.computed


def test_kill_and_rerun_cli(full_run, tmp_path, artifact_dir):
    """SIGKILL the CLI once the first part is written; re-running finishes the rest."""
    out = tmp_path / "exp"
    cmd = [sys.executable, "-c", "import sys; from ppipe.cli import main; sys.argv[0] = 'ppipe'; main()",
           "experiment", "main", "--groups", "G2", "--clusters", "HC2", "--out", str(out),
           "--data", str(artifact_dir), *SMALL_ARGS]
    env = dict(os.environ, PPIPE_ARTIFACT=str(artifact_dir))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    part = out / "parts" / "G2_HC2" / "ppipe.csv"
    deadline = time.monotonic() + 90
    while not part.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert part.exists()
    # a kill between temp write and rename may leave a hidden temp file, never a visible result
    assert not [p for p in out.rglob("*.tmp") if not p.name.startswith(".")]
    done = subprocess.run(cmd + ["--json"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    for key in ("mean_lf99", "mean_lf99_by_cluster", "low_class_utilization", "wall_seconds"):
        assert key in doc
    assert set(doc["mean_lf99"]) == {"ppipe", "np", "dart-r"}
    assert set(doc["mean_lf99_by_cluster"]) == {"HC2"}
    assert (out / "results.csv").read_bytes() == (full_run / "results.csv").read_bytes()
    assert not list(out.rglob("*.tmp"))  # the resumed run swept away stale temp files


def test_stale_temp_files_removed_on_resume(full_run, tmp_path, artifact_dir):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(full_run, out)
    stale = out / "parts" / "G2_HC2" / ".timing.json.abc123.tmp"
    stale.write_text("{half")
    spec = ExperimentSpec.for_set("maf19", data=str(artifact_dir), **SMALL)
    rep = run_experiment(build_settings("maf19", ["G2"], ["HC2"]), spec, out)
    assert rep.skipped == 1
    assert not stale.exists() and (out / "parts" / "G2_HC2" / "ppipe.csv").exists()


def test_other_configuration_refused(full_run, artifact_dir, capsys):
    code = run(["experiment", "main", "--groups", "G2", "--clusters", "HC2", "--out", str(full_run),
                "--data", str(artifact_dir), "--duration", "3", "--load-factors", "100,80,60"])
    assert code != 0
    err = _err_line(capsys)
    assert "another configuration" in err and "duration_s" in err


def test_cli_errors(capsys, tmp_path):
    assert run(["experiment", "main", "--set", "maf20", "--out", str(tmp_path)]) != 0
    assert "unknown set" in _err_line(capsys)
    assert run(["experiment", "main", "--trace", "x.csv", "--out", str(tmp_path)]) != 0
    assert "apply to --set maf21" in _err_line(capsys)
    assert run(["experiment", "main", "--load-factors", "100,x", "--out", str(tmp_path)]) != 0
    assert "malformed load factor" in _err_line(capsys)
    assert run(["figures", str(tmp_path / "nothing")]) != 0
    assert "no such folder" in _err_line(capsys)


def test_figures_cli(full_run, capsys, tmp_path):
    assert run(["figures", str(full_run)]) == 0
    out = capsys.readouterr().out
    for fig in ("Fig. 6", "Fig. 7", "Fig. 8"):
        assert fig in out
    assert "96.5" in out  # the paper's PPipe figure beside ours
    assert run(["figures", str(full_run.parent), "--fig", "6", "--json"]) == 0  # a folder of experiment folders
    doc = json.loads(capsys.readouterr().out)
    assert "HC2" in doc["figures"]["6"]["maf19"]
    assert run(["figures", str(full_run), "--fig", "10"]) != 0
    assert "no ablation results" in _err_line(capsys)
    png = tmp_path / "fig8.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert run(["figures", str(full_run), "--fig", "8", "--png", str(png)]) != 0
        assert "pip install 'ppipe[figures]'" in _err_line(capsys)
    else:
        assert run(["figures", str(full_run), "--fig", "8", "--png", str(png)]) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ablation_end_to_end(tmp_path, artifact_dir, capsys):
    out = tmp_path / "abl"
    code = run(["experiment", "ablation", "--models", "centernet", "--out", str(out), "--data", str(artifact_dir),
                "--duration", "2", "--load-factors", "100,70", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["mean_lf99"]) == {"np-single", "ppipe-nexus", "ppipe"}
    df = pd.read_csv(out / "results.csv")
    assert set(df["balancer"]) == {"reservation", "nexus"} and set(df["cluster"]) == {"HC2"}
    nexus = df[df["scheduler"] == "ppipe-nexus"]
    assert (nexus["planner"] == "ppipe").all()
    assert run(["figures", str(out), "--fig", "10"]) == 0
    assert "Fig. 10" in capsys.readouterr().out


def test_maf21_arrivals(tmp_path, artifact_dir, capsys, monkeypatch):
    """Default: a real trace when one is at hand (--trace, $PPIPE_TRACES), else the generator
    calibrated to the code trace; the choice is printed and recorded in the results."""
    monkeypatch.delenv("PPIPE_TRACES", raising=False)
    trace = Path(__file__).resolve().parents[2] / "shared" / "traces" / "AzureLLMInferenceTrace_conv.csv"
    args = ["experiment", "main", "--set", "maf21", "--groups", "G2", "--clusters", "HC2", "--schedulers", "ppipe",
            "--data", str(artifact_dir), "--duration", "1", "--load-factors", "100", "--json"]
    assert run(args + ["--out", str(tmp_path / "calibrated")]) == 0
    captured = capsys.readouterr()
    assert "calibrated generator" in captured.err and "AzureLLMInferenceTrace_code.csv" in captured.err
    assert json.loads(captured.out)["arrivals"].startswith("calibrated generator")
    assert run(args + ["--out", str(tmp_path / "bursty"), "--burst-ratio", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["arrivals"].startswith("bursty")
    if trace.exists():
        assert run(args + ["--out", str(tmp_path / "trace"), "--trace", str(trace)]) == 0
        assert json.loads(capsys.readouterr().out)["arrivals"] == f"trace {trace.name}"
        monkeypatch.setenv("PPIPE_TRACES", str(trace))
        assert run(args + ["--out", str(tmp_path / "env")]) == 0
        captured = capsys.readouterr()
        assert json.loads(captured.out)["arrivals"] == f"trace {trace.name}" and "PPIPE_TRACES" in captured.err


def test_load_base_objective(full_run):
    from ppipe.planfile.plan import read_plan

    plan = read_plan(next((full_run / "plans" / "G2_HC2").glob("*_v4.json")))
    s = build_settings("maf19", ["G2"], ["HC2"])[0]
    spec = ExperimentSpec.for_set("maf19", load_base="plan")
    assert load_base(plan, s, spec) == [m.xput for m in plan.models]
    obj = load_base(plan, s, ExperimentSpec.for_set("maf19"))
    T = min(m.xput / w for m, w in zip(plan.models, spec.weights))
    assert obj == pytest.approx([w * T for w in spec.weights])
    assert all(o <= m.xput + 1e-6 for o, m in zip(obj, plan.models))
    with pytest.raises(InputError, match="load base"):
        ExperimentSpec.for_set("maf19", load_base="x")


def test_failed_settings_exit_nonzero(tmp_path, artifact_dir, capsys, monkeypatch):
    def boom(*a, **kw):
        raise InputError("no plan for this one")

    monkeypatch.setattr(R, "solve_setting", boom)
    code = run(["experiment", "ablation", "--models", "centernet", "--out", str(tmp_path / "abl"),
                "--data", str(artifact_dir), "--duration", "1", "--load-factors", "100", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    doc = json.loads(captured.out)
    assert doc["settings"]["failed"][0]["message"] == "no plan for this one"
    assert "1 of 1 settings failed" in captured.err and "Traceback" not in captured.err
