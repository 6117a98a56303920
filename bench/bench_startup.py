"""Start-up: whole ``ppipe`` processes, as a user runs them (median of several runs).

Targets (2-core dev machine): ``ppipe --help`` <= 0.25 s; ``ppipe simulate`` of
a ~31k-request run <= 0.6 s. The simulate case is the maf19 PPipe (v4) plan of
colorization-v2, googlenet-v3-pytorch and repvgg-b3 on L4+T4, model 0
(colorization-v2) at load factor 100 for the default 30 s: 31,616 requests.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_startup.py [--runs 9]
        [--compare DIR]   # also time another source tree (e.g. `git archive HEAD | tar -x -C DIR`),
                          # interleaved with this one so machine load hits both alike
        [--breakdown]     # where the time of a simulate goes (separate processes)
        [--no-bytecode]   # never cache bytecode (as with PYTHONDONTWRITEBYTECODE=1): every
                          # process compiles ppipe's modules from source (~40 ms more)

Every process is started fresh with ``python -c 'from ppipe.cli import main; main()' ARGS``
and ``PYTHONPATH`` set to the tree measured (the same as the ``ppipe`` console script).
One untimed run of each case comes first: it builds the compiled simulator kernel
(or numba's JIT cache) when missing, which happens once per kernel version, and
caches bytecode as an installed package has it -- in a temporary
``PYTHONPYCACHEPREFIX``, so the checkout is left alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLAN = ("colorization-v2-googlenet-v3-pytorch-repvgg-b3_0.3-0.33-0.37_L4-T4_25-75_bw-gbps-10"
        "_sla-multiplier-5_v4.json")
TARGETS = {"ppipe --help": 0.25, "ppipe simulate (31.6k requests)": 0.6}
LAUNCH = "import sys; sys.argv[0] = 'ppipe'; from ppipe.cli import main; main()"


def artifact() -> Path | None:
    value = os.environ.get("PPIPE_ARTIFACT")
    path = Path(value) if value else REPO.parent / "shared" / "ppipe-artifact"
    return path if (path / "plans" / "maf19" / PLAN).is_file() else None


BYTECODE: dict[str, str] = {}  # PYTHONPYCACHEPREFIX, or empty: no bytecode cache


def env_for(root: Path, **extra: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), **extra)
    for k in ("PPIPE_NO_JIT", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        env.pop(k, None)
    if BYTECODE:
        env.update(BYTECODE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system: what the wall time would be on an
    idle machine, near enough, as start-up is single-threaded) and stdout of one process."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd="/")
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-2000:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return dt, cpu, out.stdout


def cases(plan: Path | None) -> list[tuple[str, list[str], dict]]:
    py = sys.executable
    out = [("python -c pass (interpreter)", [py, "-c", "pass"], {}),
           ("python -c 'import ppipe.cli'", [py, "-c", "import ppipe.cli"], {}),
           ("ppipe --help", [py, "-c", LAUNCH, "--help"], {})]
    if plan is not None:
        sim = [py, "-c", LAUNCH, "simulate", str(plan), "--lf", "100", "--json"]
        out.append(("ppipe simulate (31.6k requests)", sim, {}))
        out.append(("  same, human output", sim[:-1], {}))
        out.append(("  same, numba JIT kernel (PPIPE_KERNEL=numba)", sim, {"PPIPE_KERNEL": "numba"}))
    return out


def breakdown(root: Path, runs: int, plan: Path | None) -> None:
    """Median seconds of each piece of a ``ppipe simulate``, timed inside fresh processes."""
    py = sys.executable
    kernel = "from ppipe.sim import _jit, kernel"
    call = ("z = lambda *s: numpy.zeros(s, dtype=numpy.int64); "
            "kernel._schedule(0, 5, z(2, 2), z(8), z(8), z(kernel.NG))")
    pieces = [  # (label, setup, timed code)
        ("import typer", "", "import typer"),
        ("import ppipe.cli (after typer)", "import typer", "import ppipe.cli"),
        ("import pydantic (typer's converter; not used now)", "import typer", "import pydantic"),
        ("import rich.console (human output only)", "import typer", "import rich.console"),
        ("import numpy", "", "import numpy"),
        ("import ppipe.sim.engine (after numpy)", "import numpy", "import ppipe.sim.engine"),
        ("kernel: load the compiled extension (first call)", f"import numpy; {kernel}",
         f"{call}; assert _jit.backend() == 'aot'"),
        ("numba JIT instead: import numba (after numpy)", "import numpy", "import numba"),
        ("numba JIT instead: first call (load its cache)",
         f"import os; os.environ['PPIPE_KERNEL'] = 'numba'; import numpy, numba; {kernel}",
         f"{call}; assert _jit.backend() == 'numba'"),
    ]
    if plan is not None:
        sim = ("import numpy as np; from ppipe.planfile.plan import read_plan; "
               "from ppipe.profiles.store import ProfileStore; from ppipe.sim.engine import Simulation; "
               "from ppipe.sim.lfsearch import lf_load, lf_rng; from ppipe.sim.arrivals import PoissonArrivals; "
               f"{kernel}; _jit.backend()")
        load = f"mp = read_plan({str(plan)!r}).models[0]; prof = ProfileStore.open().get(mp.name)"
        pieces += [
            ("read the plan and the model's profile", sim, load),
            ("simulate 30 s (arrivals, run, result)", f"{sim}; {load}",
             "s = Simulation(mp, prof, PoissonArrivals(lf_load(100, mp.xput)), rng=lf_rng(0, 100), seed=0); "
             "s.run(); s.result().to_json()"),
        ]
    env = env_for(root)
    print("\nbreakdown: median wall seconds of each piece, timed inside fresh processes")
    for label, setup, code in pieces:
        prog = f"{setup}\nimport time; t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
        vals = [float(timed([py, "-c", prog], env)[2].split()[-1]) for _ in range(runs)]
        print(f"  {label:<58} {statistics.median(vals):6.3f}")
    vals = [timed([py, "-c", "pass"], env)[0] for _ in range(runs)]
    print(f"  {'interpreter start and exit (python -c pass, wall)':<58} {statistics.median(vals):6.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--compare", type=Path, help="another source tree to time alongside (e.g. the last commit)")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--no-bytecode", action="store_true", help="do not cache bytecode (PYTHONDONTWRITEBYTECODE=1)")
    args = ap.parse_args()
    tmp = None
    if not args.no_bytecode:
        tmp = tempfile.TemporaryDirectory(prefix="ppipe-bench-pycache-")
        BYTECODE["PYTHONPYCACHEPREFIX"] = tmp.name
    art = artifact()
    plan = art / "plans" / "maf19" / PLAN if art else None
    if plan is None:
        print("PPIPE_ARTIFACT not set or without maf19 plans: the simulate case is skipped")
    trees = [("now", REPO)] + ([("compare", args.compare.resolve())] if args.compare else [])
    todo = cases(plan)
    times: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    requests = None
    for tree, root in trees:  # untimed warm-up: kernel build / JIT cache, file-system cache
        for label, cmd, extra in todo:
            timed(cmd, env_for(root, **extra))
    for _ in range(args.runs):
        for label, cmd, extra in todo:
            for tree, root in trees:  # interleaved: load on the machine hits every tree alike
                dt, cpu, out = timed(cmd, env_for(root, **extra))
                times.setdefault((tree, label), []).append(dt)
                cpus.setdefault((tree, label), []).append(cpu)
                if label.startswith("ppipe simulate") and tree == "now":
                    requests = json.loads(out)["arrived"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f}; "
          f"bytecode {'not cached' if args.no_bytecode else 'cached'}; {args.runs} runs each")
    if plan is not None:
        print(f"simulate: {plan.name}, model 0, --lf 100, 30 s: {requests:,} requests")
    print("seconds: median wall (min wall) / median CPU (user+system, all threads: about the wall time of an idle machine)")
    head = f"{'case':<50}" + "".join(f" {t:>22}" for t, _ in trees) + f" {'target':>8}"
    print(head)
    print("-" * len(head))
    verdicts = []
    for label, _, _ in todo:
        row = f"{label:<50}"
        for tree, _ in trees:
            v, c = times[(tree, label)], cpus[(tree, label)]
            row += f" {statistics.median(v):6.3f} ({min(v):5.3f}) / {statistics.median(c):5.3f}"
        target = TARGETS.get(label)
        if target is not None:
            wall = statistics.median(times[("now", label)])
            cpu = statistics.median(cpus[("now", label)])
            verdicts.append(wall <= target)
            row += f" {'<= ' + format(target, 'g'):>8} {'ok' if wall <= target else 'MISSED'}"
            row += "" if wall <= target else f" ({'idle: ok' if cpu <= target else 'idle: missed too'})"
        print(row)
    if args.breakdown:
        breakdown(REPO, max(3, args.runs // 2), plan)
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
