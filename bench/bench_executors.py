"""Ray's overhead: one experiment study run with ``--executor local`` and with
``--executor ray`` (a local Ray instance), same workers, fresh folders; prints each wall
time, the ratio, and whether the two results tables are byte-identical (issue 15).

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_executors.py \\
        [--study ablation] [-j 2] [--extra "--load-factors 100,90 --duration 10"]

Also prints how long starting and stopping a local Ray instance takes on its own, which
is most of the difference on one machine.
"""

from __future__ import annotations

import argparse
import filecmp
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_study(study: str, out: Path, executor: str, workers: int, extra: list[str]) -> float:
    cmd = [sys.executable, "-c", "from ppipe.cli import main; main()", "experiment", study, "--out", str(out), "-j", str(workers),
           "--executor", executor, "--json", *extra]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{executor}: exit {p.returncode}: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ''}")
    return wall


def ray_start_stop(workers: int) -> float | None:
    code = ("import time; t=time.perf_counter(); import ray; ray.init(num_cpus=%d, include_dashboard=False, "
            "log_to_driver=False); ray.shutdown(); print(time.perf_counter()-t)" % workers)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    try:
        return float(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", default="ablation")
    ap.add_argument("-j", "--workers", type=int, default=2)
    ap.add_argument("--extra", default="", help="more options for the study, as one string")
    args = ap.parse_args()
    extra = shlex.split(args.extra)
    with tempfile.TemporaryDirectory(prefix="ppipe-executors-") as tmp:
        walls = {}
        for ex in ("local", "ray"):
            walls[ex] = run_study(args.study, Path(tmp) / ex, ex, args.workers, extra)
            print(f"{ex:<6} wall {walls[ex]:7.1f} s", flush=True)
        same = filecmp.cmp(Path(tmp) / "local" / "results.csv", Path(tmp) / "ray" / "results.csv", shallow=False)
    ray_alone = ray_start_stop(args.workers)
    print(f"ray / local = {walls['ray'] / walls['local']:.2f}  (ray overhead {walls['ray'] - walls['local']:+.1f} s"
          + (f"; starting and stopping a local Ray instance alone: {ray_alone:.1f} s)" if ray_alone else ")"))
    print(f"results.csv identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
