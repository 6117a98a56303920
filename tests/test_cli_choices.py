"""The CLI's choices are the registries', read when a command runs: an entry
registered later (a plugin, this test) is listed in --help and accepted with no
other edit, and an unknown name is a one-line error listing the known ones.
Also: the exit codes, and what a command may import at start-up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from ppipe.cli import run
from ppipe.cli.common import choices_text
from ppipe.errors import DataError, ExitCode, InputError, PPipeError, SolverError

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "data" / "profiles"


def solve_toy(problem, **kw):
    """A toy scheduler: NP's plan under another name."""
    from ppipe.planning.baselines import solve_np

    return replace(solve_np(problem, **kw), scheduler="toy")


@pytest.fixture
def toy_scheduler():
    from ppipe.schedulers import SCHEDULERS, Scheduler, register

    register(Scheduler(name="toy", label="Toy", tag="toy", solve=solve_toy, order=30))
    try:
        yield "toy"
    finally:
        SCHEDULERS.unregister("toy")


def _help(capsys, *args: str) -> str:
    assert run([*args, "--help"]) == 0
    text = re.sub("[\u2500-\u257f]", " ", capsys.readouterr().out)  # rich's boxes: compare words
    return " ".join(text.split())


def _one_line_error(capsys, *fragments: str) -> str:
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("ppipe: error:"), captured.err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    assert captured.out == ""
    return lines[0]


def test_registered_scheduler_is_listed_and_solves(capsys, toy_scheduler):
    from ppipe.schedulers import names

    assert names()[-1] == "toy"
    assert "Scheduler: " + choices_text(names()) in _help(capsys, "solve")
    code = run(["solve", "--scheduler", "toy", "--models", "resnet50", "--gpus", "A100:2,T4:4",
                "--data", str(BUNDLED), "--no-save", "--json"])
    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err
    doc = json.loads(captured.out)
    assert doc["scheduler"] == "toy" and doc["status"] == "optimal"


def test_unregistered_scheduler_is_gone(capsys):
    from ppipe.schedulers import SCHEDULERS, Scheduler, names, register

    register(Scheduler(name="toy", label="Toy", tag="toy", solve=solve_toy, order=30))
    SCHEDULERS.unregister("toy")
    text = _help(capsys, "solve")
    assert "toy" not in text and "Scheduler: " + choices_text(names()) in text
    code = run(["solve", "--scheduler", "toy", "--models", "resnet50", "--gpus", "T4:4", "--data", str(BUNDLED),
                "--no-save"])
    assert code == ExitCode.BAD_INPUT == 2
    _one_line_error(capsys, "unknown scheduler 'toy'", f"(use {', '.join(names())})")


def test_solver_choices_come_from_the_backends(capsys):
    from ppipe.planning.solvers import SOLVERS, SolverBackend

    assert "MILP backend: " + choices_text(SOLVERS.names(), "highs") in _help(capsys, "solve")
    SOLVERS.register(SolverBackend("toy-milp", "Toy", "ppipe.planning.highs:solve_highs",
                                   "ppipe.planning.highs:available"))
    try:
        assert SOLVERS.names()[-1] == "toy-milp"
        assert "MILP backend: " + choices_text(SOLVERS.names(), "highs") in _help(capsys, "solve")
    finally:
        SOLVERS.unregister("toy-milp")
    assert run(["solve", "--solver", "cplex", "--models", "resnet50", "--gpus", "T4:4", "--data", str(BUNDLED),
                "--no-save"]) == 2
    _one_line_error(capsys, "unknown solver 'cplex'", f"(use {', '.join(SOLVERS.names())})")


def test_balancer_and_arrival_choices_come_from_the_registries(capsys):
    from ppipe.sim.arrivals import ARRIVALS
    from ppipe.sim.balancers import BALANCERS, RESERVATION_CODE, Balancer

    def listed(text):
        return ("balancers: " + choices_text(BALANCERS.names(), "reservation") in text
                and "Arrival process: " + choices_text(ARRIVALS.names()) in text)

    assert listed(_help(capsys, "simulate"))
    BALANCERS.register(Balancer("toy-bal", "Toy", RESERVATION_CODE, False))
    ARRIVALS.register(replace(ARRIVALS.get("poisson"), name="toy-arr"))
    try:
        assert BALANCERS.names()[-1] == "toy-bal" and ARRIVALS.names()[-1] == "toy-arr"
        for cmd in ("simulate", "sweep"):
            assert listed(_help(capsys, cmd)), cmd
        # accepted by the options (the plan file is then missing: a data error, not a usage one)
        assert run(["simulate", "/nonexistent/plan.json", "--load", "10", "--balancer", "toy-bal",
                    "--arrivals", "toy-arr"]) == 2
        _one_line_error(capsys, "/nonexistent/plan.json")
    finally:
        BALANCERS.unregister("toy-bal")
        ARRIVALS.unregister("toy-arr")
    assert run(["simulate", "/nonexistent/plan.json", "--load", "10", "--balancer", "toy-bal"]) == 2
    _one_line_error(capsys, "unknown balancer 'toy-bal'", f"(use {', '.join(BALANCERS.names())})")
    assert run(["simulate", "/nonexistent/plan.json", "--load", "10", "--arrivals", "weibull"]) == 2
    _one_line_error(capsys, "unknown arrival process 'weibull'", f"(use {', '.join(ARRIVALS.names())})")


def test_arrivals_flag_agrees_with_the_shortcuts(capsys):
    assert run(["simulate", "/nonexistent/plan.json", "--load", "10", "--arrivals", "poisson", "--bursty"]) == 2
    _one_line_error(capsys, "--arrivals poisson contradicts --bursty")


def test_exit_codes_in_one_place():
    assert (ExitCode.OK, ExitCode.FAILED, ExitCode.USAGE, ExitCode.NO_SOLUTION, ExitCode.CANCELLED) == (0, 1, 2, 3, 130)
    assert ExitCode.INFEASIBLE is ExitCode.FAILED and ExitCode.BAD_INPUT is ExitCode.USAGE
    for exc in (PPipeError, DataError, InputError, SolverError):
        assert exc("x").exit_code == ExitCode.BAD_INPUT


def _modules_after(code: str) -> set[str]:
    prog = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, check=True, cwd=REPO)
    return set(out.stdout.split())


def test_start_up_imports_only_what_is_used():
    """Start-up time: heavy packages load only in the commands that use them."""
    heavy = {"numpy", "numba", "pandas", "highspy", "plotext", "pydantic", "scipy"}
    assert not heavy & _modules_after("import ppipe.cli")
    assert not (heavy | {"rich"}) & _modules_after("import ppipe.cli.common")
    loaded = _modules_after("from ppipe.cli import run\ntry:\n    run(['--help'])\nexcept SystemExit:\n    pass")
    assert not heavy & loaded
    # the simulator's metrics and its kernel constants do not load a compiler
    assert "numba" not in _modules_after("import ppipe.sim.metrics, ppipe.sim.kernel, ppipe.sim.layout")
