"""``ppipe solve / show / check / models / gpus`` from the outside: exit codes,
one-line errors, JSON on stdout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from sigint_child import RESTORE_SIGINT

from ppipe.cli import run

G2 = "colorization-v2,googlenet-v3-pytorch,repvgg-b3"


def _run(capsys, args):
    code = run(args)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str, *fragments: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("ppipe: error:"), err
    for f in fragments:
        assert f in lines[0], (f, err)
    assert "Traceback" not in err


def test_solve_json_and_saved_plan(capsys, store, artifact_dir, tmp_path):
    out_file = tmp_path / "plan.json"
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--models", G2, "--cluster", "HC3",
                                   "--weights", "maf19", "-o", str(out_file), "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "optimal" and doc["mip_gap"] is not None and doc["mip_gap"] <= 1e-4
    assert [m["name"] for m in doc["models"]] == G2.split(",")
    assert doc["objective"] == pytest.approx(min(m["throughput"] / w for m, w in zip(doc["models"], [0.3, 0.33, 0.37])))
    assert doc["plan_file"] == str(out_file) and out_file.exists()
    for g, used in doc["gpus_used"].items():
        assert used <= doc["gpu_limits"][g]
    # the saved plan passes check and shows as a tree
    code, out, err = _run(capsys, ["check", str(out_file), "--data", str(artifact_dir), "--gpus", "V100:25,P4:75", "--json"])
    assert code == 0 and json.loads(out)["ok"], out
    code, out, err = _run(capsys, ["show", str(out_file), "--json"])
    assert code == 0 and len(json.loads(out)["models"]) == 3


def test_solve_default_name_in_saved_plans(capsys, artifact_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:2,T4:4",
                                   "--scheduler", "np", "--json"])
    assert code == 0, err
    path = json.loads(out)["plan_file"]
    assert path.startswith("saved_plans/repvgg-b3_1_L4-T4_2-4_bw-gbps-10_sla-multiplier-5_bl")


def test_replay_reports_reference_objective(capsys, artifact_dir, maf19_plans):
    ref = next(p for p in maf19_plans if p.name.endswith("_v4.json") and "L4-T4" in p.name)
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--replay", str(ref), "--no-save", "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["scheduler"] == "ppipe" and doc["status"] == "optimal"
    assert doc["objective"] == pytest.approx(doc["reference_objective"], rel=1e-4)


@pytest.mark.parametrize("args, fragments", [
    (["--models", "nope,repvgg-b3", "--gpus", "L4:2"], ["unknown model 'nope'"]),
    (["--models", "repvgg-b3", "--gpus", "Q9:2"], ["unknown GPU type 'Q9'"]),
    (["--models", "repvgg-b3", "--gpus", "L4=two"], ["malformed GPU count"]),
    (["--models", "repvgg-b3", "--gpus", "L4"], ["malformed GPU count"]),
    (["--models", "repvgg-b3,googlenet-v3-pytorch", "--gpus", "L4:2", "--weights", "0.5"], ["1 weights for 2 models"]),
    (["--models", "repvgg-b3", "--gpus", "L4:0,T4:0"], ["zero GPUs"]),
    (["--models", "repvgg-b3", "--gpus", "L4:2", "--scheduler", "magic"], ["unknown scheduler"]),
    (["--models", "repvgg-b3", "--gpus", "L4:2", "--time-limit", "-1"], ["--time-limit"]),
    (["--replay", "/nonexistent/plan.json"], ["plan file not found"]),
    (["--models", "repvgg-b3", "--gpus", "L4:2", "--method", "fast"], ["unknown method 'fast'"]),
    (["--models", G2, "--gpus", "L4:2", "--method", "loss-budget"], ["one model at a time"]),
])
def test_bad_input_is_one_line(capsys, artifact_dir, args, fragments):
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--no-save", *args])
    assert code == 2
    _one_line_error(err, *fragments)
    assert out == ""


def test_single_model_three_parts_uses_the_loss_budget(capsys, artifact_dir):
    args = ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:3,T4:8", "-P", "3",
            "--slo-discount", "0.1", "--no-save", "--json"]
    code, out, err = _run(capsys, args)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "optimal" and doc["method"] == "loss-budget" and doc["mip_gap"] <= 1e-6
    code, out, err = _run(capsys, args + ["--method", "direct"])
    assert code == 0, err
    direct = json.loads(out)
    assert direct["method"] == "direct"
    assert direct["objective"] == pytest.approx(doc["objective"], rel=1e-6)


def test_infeasible_slo(capsys, artifact_dir):
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "P4:4",
                                   "--slo-multiplier", "0.5", "--no-save", "--json"])
    assert code == 1
    assert json.loads(out)["status"] == "infeasible"
    assert "infeasible" in err and "Traceback" not in err


def test_tiny_time_limit_is_clean(capsys, artifact_dir):
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--group", "G1", "--cluster", "HC4",
                                   "--time-limit", "0.01", "--no-save", "--json"])
    doc = json.loads(out)
    assert "Traceback" not in err
    if doc["status"] in ("optimal", "time_limit") and doc["objective"]:
        assert code == 0 and doc["mip_gap"] is not None
    else:
        assert code == 3 and doc["status"] == "time_limit"


def test_corrupt_plan_file(capsys, tmp_path, artifact_dir):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"config": {"dnn_name": "x"}, "pipelines": [')
    for cmd in (["show", str(bad)], ["check", str(bad), "--data", str(artifact_dir)]):
        code, out, err = _run(capsys, cmd)
        assert code == 2
        _one_line_error(err, str(bad), "not valid JSON")


def test_check_lists_violations(capsys, tmp_path, artifact_dir, maf19_plans):
    doc = json.loads(maf19_plans[2].read_text())
    part = doc[0]["pipelines"][0]["partitions"][0]
    part["lat_infer"] = part["lat_infer"] / 2
    part["xput"] = part["xput"] * 3
    bad = tmp_path / maf19_plans[2].name
    bad.write_text(json.dumps(doc, indent=2))
    code, out, err = _run(capsys, ["check", str(bad), "--data", str(artifact_dir), "--gpus", "L4:1,P4:1,T4:1,V100:1",
                                   "--json"])
    assert code == 1
    whats = " | ".join(v["what"] for v in json.loads(out)["violations"])
    assert "lat_infer" in whats and "claims" in whats and "limit" in whats


def test_models_and_gpus(capsys, artifact_dir):
    code, out, err = _run(capsys, ["models", "--data", str(artifact_dir), "--json"])
    assert code == 0 and len(json.loads(out)) == 28
    code, out, err = _run(capsys, ["gpus", "--json"])
    names = {g["name"] for g in json.loads(out)}
    assert {"V100", "T4", "L4", "P4", "A100", "H100"} <= names


def test_gurobi_request_without_gurobipy_falls_back(capsys, artifact_dir):
    pytest.importorskip("highspy")
    try:
        import gurobipy  # noqa: F401
        pytest.skip("gurobipy installed")
    except ImportError:
        pass
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:2,T4:2",
                                   "--solver", "gurobi", "--no-save", "--json"])
    assert code == 0 and json.loads(out)["solver"] == "highs"
    assert "solving with HiGHS instead" in err
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--models", "repvgg-b3", "--gpus", "L4:2,T4:2",
                                   "--solver", "gurobi", "--no-fallback", "--no-save"])
    assert code == 2
    _one_line_error(err, "gurobipy is not installed")


_SLOW_SOLVE = RESTORE_SIGINT + """
import sys, threading
import ppipe.planning.planner as planner
from ppipe.planning.configs import EnumerationStopped

def slow(problem, d, max_parts=None, prune=True, *, should_stop=None, on_progress=None):
    print("ENUMERATING", file=sys.stderr, flush=True)  # the solve is under way: the test may interrupt
    while not (should_stop and should_stop()):
        threading.Event().wait(0.01)
    raise EnumerationStopped()

planner.enumerate_configs = slow
from ppipe.cli import main
main()
"""


def test_ctrl_c_during_solve(artifact_dir, tmp_path):
    """SIGINT mid-solve: a one-line message and exit 130, never a traceback. The child's
    enumeration waits for the cancel, and the signal is sent once the solve has started,
    so the test holds however busy the machine is."""
    env = dict(os.environ, PPIPE_ARTIFACT=str(artifact_dir))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SOLVE, "solve", "--models", "repvgg-b3", "--cluster", "HC2", "--no-save"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("ENUMERATING"):
            break
    assert seen and seen[-1].startswith("ENUMERATING"), seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "cancelled" in err


def test_verbose_says_where_the_time_went(capsys, artifact_dir):
    code, out, err = _run(capsys, ["solve", "--data", str(artifact_dir), "--models", G2, "--gpus", "L4:3,T4:6",
                                   "--no-save", "-v"])
    assert code == 0, err
    assert "where the time went" in err
    line = next(ln for ln in err.splitlines() if "configurations enumerated -> kept" in ln)
    for name in G2.split(","):
        assert name in line
    assert "MILP (direct):" in err and "variables" in err and "Traceback" not in err
    assert "where the time went" not in out  # diagnostics stay off stdout


def test_time_report_names_the_seed_and_the_restart():
    from types import SimpleNamespace

    from ppipe.cli.solve_cmds import time_report

    res = SimpleNamespace(solve_seconds=12.5, scheduler="ppipe", stats={
        "configs_enumerated": [900, 800], "configs": [40, 30], "enumerate_seconds": 0.1,
        "vars": 300, "integer": 200, "rows": 250, "nodes": 7, "build_seconds": 0.2, "solver_seconds": 11.0,
        "seed": {"configs": [10, 10], "objective": 1234.5, "seconds": 1.5, "status": "optimal"},
        "restart": {"after_seconds": 2.0, "incumbent": 1240.0, "fluid_bound": 1300.0, "configs_before": [50, 40],
                    "seconds": 6.0, "cost_seconds": 2.5}})
    text = "\n".join(time_report(res, ["a", "b"]))
    assert "first plan over 10+10 configurations: 1,234.50 in 1.50 s (optimal)" in text
    assert "priced restart after 2.00 s at 1,240.00" in text and "50+40 -> 40+30" in text
    assert "pricing each model's rounding 2.50 s" in text
    res.stats["restarts"] = 2
    assert "priced restart (round 2) after" in "\n".join(time_report(res, ["a", "b"]))
    res.stats["pool"] = {"bound": 1250.0, "relaxation_seconds": 0.5, "completion": 1250.0, "proved": True}
    assert "pool relaxation (whole GPUs per pool, beside the MILP): bound 1,250.00 in 0.50 s; each model on its " \
           "pools: 1,250.00 (proves the optimum)" in "\n".join(time_report(res, ["a", "b"]))
    res.stats["pool"] = {"bound": 1260.0, "relaxation_seconds": 0.5, "completion": 1200.0, "proved": False}
    assert "1,200.00 (bounds only)" in "\n".join(time_report(res, ["a", "b"]))
    res.stats["pool"]["priced"] = {"level": 1200.0, "bound": 1230.0, "seconds": 4.0}
    assert "with each model's rounding priced at 1,200.00: bound 1,230.00 in 4.00 s" in "\n".join(
        time_report(res, ["a", "b"]))
    # stopped before any phase finished: where it stopped, not a word about the scheduler
    stopped = SimpleNamespace(solve_seconds=0.4, scheduler="ppipe", stats={},
                              message="cancelled while enumerating configurations")
    assert time_report(stopped, ["a"])[1] == "  (cancelled while enumerating configurations)"
    res.stats["pool"]["priced"].update(rounds=7, cuts=9, plan=1230.0, proved=True)
    res.stats["pool"]["proved"] = True
    text = "\n".join(time_report(res, ["a", "b"]))
    assert "bound 1,230.00 in 4.00 s; 7 rounds, 9 cuts, plan 1,230.00 (proves the optimum)" in text
    assert "1,200.00 (bounds only)" in text  # the relaxation alone proved nothing
    res.stats["pool"]["priced"] = {"error": "RuntimeError: boom"}
    assert "pricing each model's rounding failed: RuntimeError: boom" in "\n".join(time_report(res, ["a", "b"]))


def _render(tables, width: int) -> list[str]:
    from rich.console import Console

    from ppipe.cli.tables import print_fitted

    console = Console(width=width, record=True, color_system=None)
    for t in tables:
        print_fitted(console, t)
    return console.export_text().splitlines()


@pytest.mark.parametrize("limit", [45, 1000])
@pytest.mark.parametrize("types", [["V100", "L4", "T4", "P4"],
                                   ["V100", "T4", "L4", "P4", "A10", "A100", "L40S", "H100"]])
def test_result_table_keeps_figures_whole_on_80_columns(types, limit):
    """Over SSH on 80 columns the figures stay whole (the model name gives way, or the GPU
    columns move to a second table); no line is wider than the terminal."""
    from ppipe.cli.solve_cmds import _model_tables

    names = ["efficientnet-b8_3rdparty_8xb32-aa-advprop_in1k", "encnet_r101-d8_4xb2-40k_cityscapes-512x1024",
             "rtmdet_x_8xb32-300e_coco"]
    rows = [[n, f"{633.5 + i:,.1f}", "0.33", "2,111.6", "4", *[str(10 + j) for j in range(len(types))]]
            for i, n in enumerate(names)]
    total = ["GPUs used", "", "", "", "", *[f"{10 + j}/{limit + j}" for j in range(len(types))]]
    header = ["model", "req/s", "weight", "req/s/w", "pipes", *types]
    for width in (80, 120):
        lines = _render(_model_tables(header, rows, total, width, split=5), width)
        assert all(len(ln) <= width for ln in lines), lines
        text = "\n".join(lines)
        for cell in [*header, *(c for r in rows for c in r[1:]), *total[5:]]:
            assert cell in text, (cell, width, text)
        assert "…" not in "".join(c for c in text.split() if not c.startswith(("effici", "encnet", "rtmdet")))
    # eight types do not fit 80 columns with the names: the GPU columns get a table of their own
    lines = _render(_model_tables(header, rows, total, 80, split=5), 80)
    if len(types) == 8:
        assert sum(ln.split()[:1] == ["model"] for ln in lines) >= 2
    assert all(n[:12] in "\n".join(lines) for n in names)


_BLOCKED_COMMAND = RESTORE_SIGINT + """
import sys, threading
from ppipe.catalog.gpus import GpuCatalog

def blocked(*args, **kwargs):
    print("STARTED", file=sys.stderr, flush=True)  # inside the command: the test may interrupt
    threading.Event().wait()

GpuCatalog.load = blocked
from ppipe.cli import main
main()
"""


def test_ctrl_c_in_any_command_says_interrupted(tmp_path):
    """typer turns Ctrl-C into a silent exit 130; ppipe says so in one line (a command with
    no cancel handling of its own: here ``ppipe gpus``, blocked until the signal)."""
    proc = subprocess.Popen([sys.executable, "-c", _BLOCKED_COMMAND, "gpus"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().startswith("STARTED")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and out == ""
    assert err.strip() == "ppipe: interrupted", err


_BLOCKED_IMPORT = RESTORE_SIGINT + """
import importlib.abc, sys, threading
blocked, entry = sys.argv[1], sys.argv[2]

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == blocked:  # the console script is still importing the CLI or the app
            print("STARTED", file=sys.stderr, flush=True)
            threading.Event().wait()
        return None

sys.meta_path.insert(0, Blocked())
sys.argv[1:] = sys.argv[3:]
__import__(entry, fromlist=["main"]).main()
"""


@pytest.mark.parametrize("module,entry,line", [("ppipe.cli", "ppipe.console", "ppipe: interrupted"),
                                               # click: imported by run() itself, before its try
                                               ("click", "ppipe.console", "ppipe: interrupted"),
                                               ("ppipe_tui.app", "ppipe_tui.console", "ppipe-tui: interrupted")])
def test_ctrl_c_while_the_console_script_imports_is_one_line(tmp_path, module, entry, line):
    """A Ctrl-C in the first tenth of a second, while the entry point still imports typer or
    Textual, ends like one during a command: one line and exit 130, no traceback."""
    proc = subprocess.Popen([sys.executable, "-c", _BLOCKED_IMPORT, module, entry, "gpus"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().startswith("STARTED")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and out == ""
    assert err.strip() == line, err



def test_status_line_puts_the_figures_before_the_words():
    """On 80 columns the status line is cut at the edge: the incumbent, bound and gap come
    first, the stage's words after them."""
    from ppipe.cli.background import LiveStatus
    from ppipe.planning.milp import Progress

    live = LiveStatus("building model")
    assert live.read() == "building model"
    live(Progress(None, None, None, 1.0, "pricing each model's rounding, then searching for a plan at the bound"))
    assert live.read().startswith("pricing each model's rounding")
    live(Progress(1794.46, 1802.05, 0.00423, 20.0, "proving that no plan is above 1,794.46 (or finding one)"))
    assert live.read() == ("incumbent 1,794.46 | bound 1,802.05 | gap 0.423% | proving that no plan is above "
                           "1,794.46 (or finding one)")


def test_result_line_fits_80_columns():
    """The result's first line keeps its figures on one line at 80 columns (the
    "(min throughput/weight)" gloss gives way); wider terminals keep the gloss."""
    from types import SimpleNamespace

    from rich.console import Console

    from ppipe.cli.solve_cmds import _print_human

    res = SimpleNamespace(scheduler="ppipe", status="time_limit", objective=1794.46, gap=0.004218,
                          solve_seconds=25.82, plan=None)
    for width, gloss in ((80, False), (120, True)):
        console = Console(width=width, record=True, color_system=None)
        _print_human(res, None, None, None, console=console)
        lines = console.export_text().splitlines()
        assert lines[0].startswith("ppipe time_limit: objective 1,794.46") and lines[0].endswith("25.82 s"), lines
        assert ("(min throughput/weight)" in lines[0]) == gloss and len(lines[0]) <= width
