"""``ppipe simulate`` / ``ppipe sweep``: output contracts and one-line errors."""

from __future__ import annotations

import json

import pytest

from ppipe.cli import run


@pytest.fixture
def plans(maf19_plans):
    v4 = next(p for p in maf19_plans if "_L4-T4_" in p.name and p.name.endswith("_v4.json"))
    bl = v4.with_name(v4.name.replace("_v4.json", "_bl.json"))
    return v4, bl


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("ppipe: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_simulate_json(plans, artifact_dir, capsys, tmp_path):
    v4, bl = plans
    log = tmp_path / "master.csv"
    code = run(["simulate", str(bl), "--model", "1", "--load-factor", "60", "--base", str(v4), "--duration", "3",
                "--seed", "2", "--log", str(log), "--data", str(artifact_dir), "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("attainment", "dropped", "violated", "requests", "latency_ms", "gpu_utilization", "wall_seconds"):
        assert key in doc
    assert set(doc["latency_ms"]) >= {"p50", "p99"}
    assert doc["load_factor"] == 60 and doc["requests"] > 100
    assert set(doc["counts"]) == {"true", "reference"}
    header = log.read_text().splitlines()[0]
    assert header.startswith("requestId,arrivalTime,deadline")


def test_simulate_human_and_nexus_and_bursty(plans, artifact_dir, capsys):
    v4, _ = plans
    assert run(["simulate", str(v4), "--load", "300", "--duration", "2", "--balancer", "nexus", "--bursty",
                "--data", str(artifact_dir)]) == 0
    out = capsys.readouterr().out
    assert "attainment" in out and "GPU utilisation" in out


def test_sweep_json(plans, artifact_dir, capsys):
    v4, bl = plans
    assert run(["sweep", str(bl), "--model", "0", "--base", str(v4), "--duration", "2", "--data", str(artifact_dir),
                "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["load_factor"] for c in doc["curve"]] == list(range(5, 101, 5))
    assert set(doc["curve"][0]) >= {"load_factor", "attainment", "dropped", "violated"}
    passing = [c["load_factor"] for c in doc["curve"] if c["passed"]]
    assert doc["lf99"] == (max(passing) if passing else 0)


def test_sweep_draws_a_chart(plans, artifact_dir, capsys):
    v4, _ = plans
    assert run(["sweep", str(v4), "--duration", "1", "--data", str(artifact_dir)]) == 0
    out = capsys.readouterr().out
    assert "lf99" in out and "load factor" in out


@pytest.mark.parametrize("args", [
    ["--load", "0"],
    ["--load", "-3"],
    ["--load-factor", "0"],
    [],  # neither --load nor --load-factor
    ["--load", "10", "--load-factor", "50"],
    ["--load", "10", "--model", "no-such-model"],
    ["--load", "10", "--trace", "/nonexistent/trace.csv"],
    ["--load", "10", "--balancer", "random"],
    ["--load", "10", "--duration", "0"],
])
def test_simulate_bad_input(plans, artifact_dir, capsys, args):
    v4, _ = plans
    assert run(["simulate", str(v4), "--data", str(artifact_dir), *args]) != 0
    _err_line(capsys)


def test_plan_that_does_not_match_profiles(plans, artifact_dir, capsys, tmp_path):
    v4, _ = plans
    doc = json.loads(v4.read_text())
    doc[0]["pipelines"][0]["partitions"][-1]["layers"][1] = 42
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert run(["simulate", str(bad), "--load", "10", "--data", str(artifact_dir)]) != 0
    assert "42" in _err_line(capsys) or "chunk" in capsys.readouterr().err
    doc = json.loads(v4.read_text())
    doc[0]["pipelines"][0]["partitions"][0]["gpu"] = "H100"
    bad.write_text(json.dumps(doc))
    assert run(["sweep", str(bad), "--data", str(artifact_dir)]) != 0
    _err_line(capsys)


def test_missing_plan_file(capsys):
    assert run(["simulate", "/nonexistent/plan.json", "--load", "10"]) != 0
    _err_line(capsys)


@pytest.mark.parametrize("balancer", ["reservation", "nexus"])
def test_simulate_same_numbers_on_every_kernel_backend(plans, artifact_dir, balancer):
    """The compiled extension, numba's JIT and plain Python give bit-identical runs."""
    import os
    import subprocess
    import sys

    from ppipe.sim._jit import HAVE_NUMBA

    v4, _ = plans
    docs = {}
    for backend in ("aot", "numba", "python") if HAVE_NUMBA else ("python",):
        env = dict(os.environ, PPIPE_KERNEL=backend)
        env.pop("PPIPE_NO_JIT", None)
        out = subprocess.run([sys.executable, "-c", "from ppipe.cli import main; main()", "simulate", str(v4),
                              "--load-factor", "90", "--duration", "0.5", "--balancer", balancer, "--data",
                              str(artifact_dir), "--json"], env=env, capture_output=True, text=True, check=True)
        doc = json.loads(out.stdout)
        for key in ("wall_seconds", "requests_per_wall_second"):
            doc.pop(key)
        docs[backend] = doc
    first = next(iter(docs.values()))
    assert first["arrived"] > 100
    for backend, doc in docs.items():
        assert doc == first, backend
