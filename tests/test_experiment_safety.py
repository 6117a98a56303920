"""Experiment folders are safe (issue 13): nothing written into or deleted from a folder that is
not an experiment's, damaged parts never count as done, one run per folder, no orphaned
workers, one-line errors and a one-line Ctrl-C.

One single-model ablation setting with 1 s of arrivals at two load factors is the unit of work."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sigint_child import CLI

from ppipe.cli import run
from ppipe.errors import DataError
from ppipe.experiments.outdir import COLUMNS, LOCK_FILE, OutDir, lock_folder, merge_results, read_part

ARGS = ["experiment", "ablation", "--models", "googlenet", "--duration", "1", "--load-factors", "100,70"]
PART = Path("parts") / "googlenet-v3-pytorch_HC2" / "ppipe.csv"


def _cli(out: Path, artifact_dir, *extra) -> list[str]:
    return ARGS + ["--out", str(out), "--data", str(artifact_dir), *extra]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    line = err[-1]
    assert line.startswith("ppipe: error:")
    return line


def _snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def done_run(tmp_path_factory, artifact_dir):
    out = tmp_path_factory.mktemp("safety") / "ref"
    assert run(_cli(out, artifact_dir, "--json")) == 0
    return out


# ------------------------------------------------------------------ not an experiment folder

def _artifact_like(root: Path) -> Path:
    (root / "plans" / "maf19").mkdir(parents=True)
    (root / "plans" / "maf19" / "G1_HC1_v4.json").write_text('{"reference": true}')
    (root / "parts" / "x").mkdir(parents=True)
    (root / "parts" / "x" / "ppipe.csv").write_text("keep me\n")
    (root / "results.csv").write_text("mine\n")
    (root / "summary.json").write_text("{}")
    return root


@pytest.mark.parametrize("fresh", [True, False])
def test_refuses_a_folder_that_is_not_an_experiments(tmp_path, artifact_dir, capsys, fresh):
    root = _artifact_like(tmp_path / "artifact-copy")
    before = _snapshot(root)
    code = run(_cli(root, artifact_dir, *(["--fresh"] if fresh else [])))
    assert code == 2
    line = _err_line(capsys)
    assert "not an experiment folder" in line and "use a new or empty --out" in line
    assert _snapshot(root) == before and not (root / LOCK_FILE).exists()


def test_refuses_a_file_and_a_damaged_marker(tmp_path, artifact_dir, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert run(_cli(f, artifact_dir)) == 2
    assert "is not a folder" in _err_line(capsys)
    d = tmp_path / "bad-marker"
    d.mkdir()
    (d / "experiment.json").write_bytes(b"\x89PNG\x00\xff")
    assert run(_cli(d, artifact_dir, "--fresh")) == 2
    assert "experiment.json: not an experiment configuration file" in _err_line(capsys)
    assert (d / "experiment.json").read_bytes() == b"\x89PNG\x00\xff"


def test_fresh_empties_an_experiment_folder_only(done_run, tmp_path, artifact_dir, capsys):
    out = tmp_path / "exp"
    shutil.copytree(done_run, out)
    (out / PART).write_text("damaged")  # --fresh discards it with the rest
    assert run(_cli(out, artifact_dir, "--fresh", "--json")) == 0
    capsys.readouterr()
    assert (out / "results.csv").read_bytes() == (done_run / "results.csv").read_bytes()
    # an empty existing folder is fine too
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(_cli(empty, artifact_dir, "--fresh", "--json")) == 0


# ------------------------------------------------------------------ damaged parts

def _truncate_mid_row(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 7])


def _truncate_at_row(p: Path) -> None:
    lines = p.read_bytes().splitlines(keepends=True)
    p.write_bytes(b"".join(lines[:-1]))


def _binary(p: Path) -> None:
    p.write_bytes(b"\x00\x01\xffbinary\n")


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _directory(p: Path) -> None:
    p.unlink()
    p.mkdir()


def _header_only(p: Path) -> None:
    p.write_text(",".join(COLUMNS) + "\n")


def _other_table(p: Path) -> None:
    p.write_text("a,b\n1,2\n")


DAMAGE = {"truncated mid-row": (_truncate_mid_row, "truncated"), "truncated at a row": (_truncate_at_row, "1 of 2 rows"),
          "binary": (_binary, "binary"), "empty": (_empty, "empty"), "directory": (_directory, "not a regular file"),
          "header only": (_header_only, "no rows"), "another table": (_other_table, "unexpected header")}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_part_is_named_and_never_counts_as_done(done_run, tmp_path, artifact_dir, capsys, case):
    damage, words = DAMAGE[case]
    out = tmp_path / "exp"
    shutil.copytree(done_run, out)
    damage(out / PART)
    results = (out / "results.csv").read_bytes()
    assert run(_cli(out, artifact_dir)) == 2
    line = _err_line(capsys)
    assert str(out / PART) in line and words in line and "delete it and re-run" in line
    assert (out / "results.csv").read_bytes() == results  # nothing merged from it
    if case == "truncated mid-row":  # the advice works: delete, re-run, same table as the uninterrupted run
        (out / PART).unlink()
        assert run(_cli(out, artifact_dir, "--json")) == 0
        assert json.loads(capsys.readouterr().out)["settings"]["computed"] == 1
        assert (out / "results.csv").read_bytes() == (done_run / "results.csv").read_bytes()


def test_read_part_and_merge_name_the_file(done_run, tmp_path):
    out = tmp_path / "exp"
    shutil.copytree(done_run, out)
    assert len(read_part(out / PART, 2, "googlenet-v3-pytorch_HC2", "ppipe")) == 2
    with pytest.raises(DataError, match="rows of another scheduler"):
        read_part(out / PART, 2, None, "np-single")
    _binary(out / PART)
    with pytest.raises(DataError, match=r"ppipe\.csv: damaged part \(binary"):
        merge_results(OutDir(out))


def test_merge_refuses_a_damaged_shard(done_run, tmp_path, capsys):
    src = tmp_path / "shard"
    shutil.copytree(done_run, src)
    _truncate_mid_row(src / PART)
    assert run(["experiment", "merge", str(tmp_path / "merged"), str(src)]) == 2
    assert "damaged part" in _err_line(capsys)
    assert not (tmp_path / "merged").exists()
    root = _artifact_like(tmp_path / "not-ours")
    before = _snapshot(root)
    assert run(["experiment", "merge", str(root), str(done_run)]) == 2
    assert "not an experiment folder" in _err_line(capsys) and _snapshot(root) == before


def test_damaged_bookkeeping_is_recomputed(done_run, tmp_path, artifact_dir, capsys):
    out = tmp_path / "exp"
    shutil.copytree(done_run, out)
    sid = "googlenet-v3-pytorch_HC2"
    (out / "parts" / sid / "np-single.csv").unlink()
    (out / "parts" / sid / "timing.json").write_bytes(b"\xff\xfe")
    (out / "plans" / sid / "solve.json").write_text('{"trunc')
    assert run(_cli(out, artifact_dir, "--json")) == 0
    capsys.readouterr()
    assert (out / "results.csv").read_bytes() == (done_run / "results.csv").read_bytes()


# ------------------------------------------------------------------ one run per folder

def test_second_run_in_a_locked_folder_is_refused(done_run, tmp_path, artifact_dir, capsys):
    out = tmp_path / "exp"
    shutil.copytree(done_run, out)
    live_tmp = out / "parts" / "googlenet-v3-pytorch_HC2" / ".ppipe.csv.live.tmp"
    with lock_folder(out):
        live_tmp.write_text("a live run's write in progress")
        assert run(_cli(out, artifact_dir)) == 2
        line = _err_line(capsys)
        assert f"is in use by another run (pid {os.getpid()})" in line
        assert live_tmp.exists()  # the refused run cleaned nothing up
        assert run(["experiment", "merge", str(out), str(done_run)]) == 2
        assert "in use by another run" in _err_line(capsys)
    # released: a resumed run now removes the stale temp file
    assert run(_cli(out, artifact_dir, "--json")) == 0
    assert not live_tmp.exists()


def test_lock_is_released_when_its_holder_is_killed(tmp_path):
    code = ("import sys, time; from ppipe.experiments.outdir import lock_folder\n"
            "with lock_folder(sys.argv[1]):\n    print('locked', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    with pytest.raises(Exception, match=f"pid {proc.pid}"):
        with lock_folder(tmp_path):
            pass
    proc.kill()
    proc.wait(timeout=10)
    with lock_folder(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())


# ------------------------------------------------------------------ processes

def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_exit_when_the_driver_is_killed(tmp_path, artifact_dir):
    out = tmp_path / "exp"
    cmd = CLI + ["experiment", "ablation", "--models", "googlenet,centernet,colorization", "--duration", "30",
                 "--out", str(out), "--data", str(artifact_dir), "-j", "2"]
    proc = subprocess.Popen(cmd, env=dict(os.environ, PPIPE_ARTIFACT=str(artifact_dir)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            if len(workers) >= 2 and (out / "experiment.json").exists():
                break
            time.sleep(0.05)
        if proc.poll() is not None or len(workers) < 2:
            pytest.skip("the run ended before its workers could be seen")
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)  # the driver only, not its process group
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "workers outlived the driver"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_ctrl_c_on_the_process_group_is_one_line(tmp_path, artifact_dir):
    """A terminal's Ctrl-C reaches the driver and its workers: the workers stay quiet,
    the driver stops them and prints one line; a re-run resumes."""
    out = tmp_path / "int"
    cmd = CLI + ["experiment", "ablation", "--models", "googlenet,centernet,colorization", "--duration", "30",
                 "--out", str(out), "--data", str(artifact_dir), "-j", "2"]
    env = dict(os.environ, PPIPE_ARTIFACT=str(artifact_dir))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and len(_children(proc.pid)) < 2:
        time.sleep(0.05)
    time.sleep(0.5)
    if proc.poll() is not None:
        pytest.skip("the run finished before it could be interrupted")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "ppipe: interrupted; re-run to resume"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


# ------------------------------------------------------------------ figures

@pytest.mark.parametrize("content, words", [
    (b"a,b\n1,2\n", "missing columns"),
    (b"\x00\xff\xfe garbage", "not"),
    (b"", "not a readable results table"),
])
def test_figures_on_a_foreign_csv_is_one_line(tmp_path, capsys, content, words):
    f = tmp_path / "results.csv"
    f.write_bytes(content)
    for target in (f, tmp_path):
        assert run(["figures", str(target)]) == 2
        line = _err_line(capsys)
        assert words in line and str(f) in line


def test_figures_on_malformed_values_is_one_line(done_run, tmp_path, capsys):
    import pandas as pd

    df = pd.read_csv(done_run / "results.csv")
    df["load_factor"] = "lots"
    df.to_csv(tmp_path / "results.csv", index=False)
    assert run(["figures", str(tmp_path)]) == 2
    assert "column load_factor holds non-numbers" in _err_line(capsys)
