"""Where plans and other outputs land: devices, FIFOs, ``-`` and symlinks are written
through (never replaced by a regular file); a plan that is not proven optimal never
replaces a finished one; default plan names record the settings that change a plan; a
plan records what it was made with, and ``show``/``simulate`` warn when it does not fit
the profiles at hand."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from ppipe.atomic import write_text_atomic
from ppipe.cli import run
from ppipe.planfile.naming import parse_plan_file_name, partial_path, plan_file_name, settings_items

G2 = "colorization-v2,googlenet-v3-pytorch,repvgg-b3"


def _run(capsys, args):
    code = run(args)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the atomic writer

def test_writer_writes_through_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_text_atomic(fifo, "hello through a pipe")
    reader.join(timeout=60)
    assert got == [b"hello through a pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO was replaced by a regular file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"], "a temp file was left behind"


def test_writer_writes_through_dev_null():
    before = os.stat("/dev/null")
    write_text_atomic("/dev/null", "discarded")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_writer_follows_a_symlink(tmp_path):
    real = tmp_path / "real" / "plan.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    # a dangling link: the file it names is created, the link stays
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "later.json")
    write_text_atomic(dangling, "created")
    assert dangling.is_symlink() and (tmp_path / "real" / "later.json").read_text() == "created"


def test_writer_dash_is_stdout(capfd):
    write_text_atomic("-", '{"a": 1}\n')
    out, _ = capfd.readouterr()
    assert out == '{"a": 1}\n'
    assert not Path("-").exists()


# ---------------------------------------------------------------- plan names

def test_default_names_record_the_settings_that_change_a_plan():
    base = dict(models=["a", "b"], weights=[1, 2], gpus=["L4", "T4"], counts=[25, 75], bw_gbps=10,
                slo_multiplier=5, scheduler="ppipe")
    plain = plan_file_name(**base)
    assert plain == "a-b_1-2_L4-T4_25-75_bw-gbps-10_sla-multiplier-5_v4.json"  # the artifact's convention
    assert plan_file_name(**base, settings=settings_items(max_parts=2, slo_discount=0.4, method="auto")) == plain
    names = {plan_file_name(**base, settings=settings_items(**kw)) for kw in (
        {"max_parts": 1}, {"max_parts": 3}, {"slo_discount": 0.2}, {"mps": {"L4": 2}}, {"fill": True},
        {"method": "direct"}, {"method": "loss-budget"})}
    assert len(names) == 7 and plain not in names
    full = plan_file_name(**base, settings=settings_items(max_parts=3, slo_discount=0.2, mps={"L4": 2, "T4": 1},
                                                          fill=True, method="direct"))
    info = parse_plan_file_name(full, ["a", "b"])
    assert info is not None and info.scheduler == "ppipe" and info.counts == [25, 75]
    assert info.settings == ["P3", "disc0.2", "mps-L4x2-T4x1", "fill", "direct"] and not info.partial
    part = parse_plan_file_name(partial_path(full), ["a", "b"])
    assert part is not None and part.partial and part.settings == info.settings
    assert partial_path(partial_path(full)) == partial_path(full)


def test_solve_with_other_max_parts_does_not_overwrite(capsys, artifact_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default folder saved_plans/ is relative to here
    import ppipe.paths

    monkeypatch.setattr(ppipe.paths, "DEFAULT_PLAN_DIR", tmp_path / "saved")
    args = ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:2,T4:2"]
    assert _run(capsys, args)[0] == 0
    assert _run(capsys, args + ["-P", "1"])[0] == 0
    names = sorted(p.name for p in (tmp_path / "saved").iterdir())
    assert len(names) == 2 and any("+P1" in n for n in names), names


# ---------------------------------------------------------------- unfinished plans

def _time_limited(monkeypatch):
    """Make every solve report a time limit (with its real plan and a made-up gap)."""
    import ppipe.planning.solve as solve_mod
    from ppipe.planning.status import Status

    real = solve_mod.solve

    def limited(*a, **k):
        res = real(*a, **k)
        return dataclasses.replace(res, status=Status.TIME_LIMIT, gap=0.05)

    monkeypatch.setattr(solve_mod, "solve", limited)


def test_time_limited_plan_never_replaces_a_finished_one(capsys, artifact_dir, tmp_path, monkeypatch):
    out_file = tmp_path / "plan.json"
    args = ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:2,T4:2", "-o", str(out_file)]
    code, _, err = _run(capsys, args)
    assert code == 0, err
    finished = out_file.read_bytes()
    _time_limited(monkeypatch)
    code, _, err = _run(capsys, args)
    assert out_file.read_bytes() == finished, "the finished plan was overwritten"
    partial = tmp_path / "plan.partial.json"
    assert partial.exists(), err
    assert f"{out_file} was kept" in err and "gap 5.000%" in err
    rec = json.loads(partial.read_text())[0]["ppipe_provenance"]
    assert rec["settings"]["status"] == "time_limit" and rec["settings"]["gap"] == pytest.approx(0.05)
    # a fresh name takes the time-limited plan as it is
    fresh = tmp_path / "fresh.json"
    code, _, err = _run(capsys, args[:-1] + [str(fresh)])
    assert fresh.exists() and not (tmp_path / "fresh.partial.json").exists()


# ---------------------------------------------------------------- -o to devices and stdout

def test_solve_to_dev_null_and_to_stdout(capsys, artifact_dir):
    base = ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:2,T4:2"]
    code, out, err = _run(capsys, base + ["-o", "/dev/null"])
    assert code == 0, err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    code, out, err = _run(capsys, base + ["-o", "-"])
    assert code == 0, err
    plan = json.loads(out)  # stdout is the plan alone; the summary went to stderr
    assert isinstance(plan, list) and plan and isinstance(plan[0], dict)
    assert "optimal" in err
    code, out, err = _run(capsys, base + ["-o", "-", "--json"])
    assert code == 2 and "standard output" in err and "Traceback" not in err


# ---------------------------------------------------------------- what a plan was made with

def test_cli_plans_record_what_they_were_made_with(capsys, artifact_dir, tmp_path):
    out_file = tmp_path / "p.json"
    code, _, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:2,T4:2",
                                 "-P", "3", "--fill", "-o", str(out_file)])
    assert code == 0, err
    rec = json.loads(out_file.read_text())[0]["ppipe_provenance"]
    assert rec["scheduler"] == "ppipe" and rec["cluster"]["gpus"] == ["L4", "T4"] and rec["max_parts"] == 3
    assert rec["profiles"]["repvgg-b3"].startswith("sha256:")
    assert rec["profile_origins"]["repvgg-b3"] == {"source": rec["profile_origins"]["repvgg-b3"]["source"],
                                                   "estimated": False}
    assert rec["settings"]["fill"] is True and rec["settings"]["status"] == "optimal"
    # show reads it back and finds no mismatch
    code, out, err = _run(capsys, ["show", str(out_file), "--data", str(artifact_dir), "--json"])
    doc = json.loads(out)
    assert code == 0 and doc["warnings"] == [] and doc["made_with"]["max_parts"] == 3


def test_show_and_simulate_warn_on_a_plan_made_with_other_profiles(capsys, artifact_dir, tmp_path):
    out_file = tmp_path / "p.json"
    assert _run(capsys, ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:2,T4:2",
                         "-o", str(out_file)])[0] == 0
    doc = json.loads(out_file.read_text())
    doc[0]["ppipe_provenance"]["profiles"]["repvgg-b3"] = "sha256:0000000000000000"
    out_file.write_text(json.dumps(doc))
    code, out, err = _run(capsys, ["show", str(out_file), "--data", str(artifact_dir)])
    assert code == 0 and "does not match the profiles here" in err and "repvgg-b3: the profiles differ" in err
    code, out, err = _run(capsys, ["simulate", str(out_file), "--data", str(artifact_dir), "--duration", "2", "--load-factor", "50",
                                   "--json"])
    assert code == 0, err
    assert "does not match the profiles here (requests may miss their SLO or be dropped)" in err
    json.loads(out)


def test_a_plan_mixing_measured_and_estimated_profiles_says_so(capsys, artifact_dir, tmp_path, monkeypatch):
    """With the artifact first and the shipped zoo behind it, a model only the zoo has is
    estimated: the solve says so on stderr, the plan records it per model, show repeats it."""
    from ppipe.profiles.store import ProfileStore

    monkeypatch.setenv("PPIPE_ARTIFACT", str(artifact_dir))
    store = ProfileStore.open()
    zoo_only = next((n for n in ("resnet50", "vit_b_16") if n in store and store.get(n).estimated), None)
    if zoo_only is None:
        pytest.skip("no shipped estimated model to mix with")
    out_file = tmp_path / "mixed.json"
    code, _, err = _run(capsys, ["solve", "--models", f"repvgg-b3,{zoo_only}", "--gpus", "L4:4,T4:4",
                                 "-o", str(out_file)])
    assert code == 0, err
    assert "mixing profile sources" in err and f"{zoo_only} estimated" in err
    origins = json.loads(out_file.read_text())[0]["ppipe_provenance"]["profile_origins"]
    assert origins["repvgg-b3"]["estimated"] is False and origins[zoo_only]["estimated"] is True
    code, out, err = _run(capsys, ["show", str(out_file), "--json"])
    assert code == 0 and json.loads(out)["estimated_profiles"] == [zoo_only]
    code, out, err = _run(capsys, ["show", str(out_file)])
    assert f"mixes measured and estimated profiles: {zoo_only} estimated" in err
