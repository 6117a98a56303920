"""Executors (local, ray), shards and merge: the output folder does not depend on how the
settings ran. Two single-model ablation settings, 1 s of arrivals, two load factors."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sigint_child import CLI

from ppipe.cli import run
from ppipe.errors import InputError
from ppipe.experiments import executors as EX
from ppipe.experiments.settings import build_settings, parse_shard, shard

MODELS = "centernet,googlenet"
ARGS = ["experiment", "ablation", "--models", MODELS, "--duration", "1", "--load-factors", "100,70", "--json"]
HAVE_RAY = importlib.util.find_spec("ray") is not None
NO_RAY = "ray is not installed (pip install 'ppipe[ray]'); CI installs it"


def _cli(out: Path, artifact_dir, *extra) -> list[str]:
    return ARGS + ["--out", str(out), "--data", str(artifact_dir), *extra]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, artifact_dir):
    out = tmp_path_factory.mktemp("exec") / "local"
    assert run(_cli(out, artifact_dir)) == 0
    return out


def test_registry():
    assert EX.EXECUTORS.names()[:2] == ("local", "ray")
    assert "local" in EX.available()
    assert EX.get("ray").available() == HAVE_RAY
    with pytest.raises(InputError, match="unknown executor"):
        EX.get("slurm")


def test_shards_are_a_partition():
    ss = build_settings("maf19")
    parts = [shard(ss, i, 5) for i in range(5)]
    assert sorted(s.id for p in parts for s in p) == sorted(s.id for s in ss)
    assert parse_shard("1/3") == (1, 3)
    for bad in ("3/3", "x", "1/0", "-1/2"):
        with pytest.raises(InputError):
            parse_shard(bad)


def test_shards_merge_to_one_run(local_run, tmp_path, artifact_dir, capsys):
    a, b, merged = tmp_path / "s0", tmp_path / "s1", tmp_path / "merged"
    assert run(_cli(a, artifact_dir, "--shard", "0/2")) == 0
    assert run(_cli(b, artifact_dir, "--shard", "1/2")) == 0
    capsys.readouterr()
    assert len(list((a / "parts").iterdir())) == 1 and len(list((b / "parts").iterdir())) == 1
    assert run(["experiment", "merge", str(merged), str(a), str(b), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings_merged"] == 2
    assert (merged / "results.csv").read_bytes() == (local_run / "results.csv").read_bytes()
    assert (merged / "experiment.json").read_bytes() == (local_run / "experiment.json").read_bytes()
    # the merged folder is a normal experiment folder: a re-run finds everything done
    assert run(_cli(merged, artifact_dir)) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["skipped"] == 2
    # shards of another configuration refuse to merge
    c = tmp_path / "other"
    assert run(ARGS[:-3] + ["--duration", "2", "--load-factors", "100,70", "--shard", "0/2", "--out", str(c),
                            "--data", str(artifact_dir)]) == 0
    capsys.readouterr()
    assert run(["experiment", "merge", str(tmp_path / "m2"), str(a), str(c)]) != 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("ppipe: error:") and "another configuration" in err and "duration_s" in err


def test_executor_errors(tmp_path, capsys):
    assert run(["experiment", "main", "--executor", "slurm", "--out", str(tmp_path)]) != 0
    assert "unknown executor" in capsys.readouterr().err
    assert run(["experiment", "main", "--address", "x:1", "--out", str(tmp_path)]) != 0
    assert "--address applies to --executor ray" in capsys.readouterr().err
    assert run(["experiment", "main", "--shard", "2/2", "--out", str(tmp_path)]) != 0
    assert "need 0 <= I < N" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_RAY, reason=NO_RAY)
def test_ray_matches_local_and_resumes_after_kill(local_run, tmp_path, artifact_dir):
    """A local Ray instance (2 CPUs) gives the local run's folder byte for byte; SIGKILL the
    driver once the first setting is written and the re-run finishes the other."""
    out = tmp_path / "ray"
    cmd = [sys.executable, "-c", "import sys; from ppipe.cli import main; sys.argv[0] = 'ppipe'; main()",
           *_cli(out, artifact_dir, "--executor", "ray", "--workers", "1")]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PPIPE_ARTIFACT"] = str(artifact_dir)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline and not list((out / "parts").glob("*/*.csv")):
        time.sleep(0.05)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray instance it started
    proc.wait(timeout=60)
    assert list((out / "parts").glob("*/*.csv"))
    # the kill may land between one setting's part files: only whole settings are skipped
    complete = [d for d in (out / "parts").iterdir()
                if all((d / f"{v}.csv").exists() for v in ("ppipe", "np-single", "ppipe-nexus"))]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, start_new_session=True)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    if killed:
        assert doc["settings"]["skipped"] == len(complete)
    for name in ("results.csv", "experiment.json"):
        assert (out / name).read_bytes() == (local_run / name).read_bytes()
    assert sorted(p.relative_to(out).as_posix() for p in (out / "parts").rglob("*.csv")) == \
        sorted(p.relative_to(local_run).as_posix() for p in (local_run / "parts").rglob("*.csv"))


def test_ctrl_c_exits_130_with_one_line(tmp_path, artifact_dir):
    out = tmp_path / "int"
    cmd = [*CLI, *_cli(out, artifact_dir, "--workers", "2")]
    proc = subprocess.Popen(cmd, env=dict(os.environ, PPIPE_ARTIFACT=str(artifact_dir)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not (out / "experiment.json").exists():
        time.sleep(0.02)
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be interrupted")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "ppipe: interrupted; re-run to resume" and "Traceback" not in err
