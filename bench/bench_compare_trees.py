"""Run one bench script from two source trees, alternating, and print the ratio.

Measured in one run on a shared machine, so both trees see the same noise:

    git worktree add /tmp/before d7194fc
    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_compare_trees.py \\
        --before /tmp/before --bench bench/bench_sim_speed.py --rounds 3

The bench must print a line ``... median N ...`` (requests per second, or any
figure where larger is better); each tree's script is run with that tree first on
``sys.path`` (the bench scripts insert their own repository root).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(tree: Path, bench: str, extra: list[str]) -> float:
    out = subprocess.run([sys.executable, str(tree / bench), *extra], capture_output=True, text=True, check=True)
    m = re.search(r"median ([\d,\.]+)", out.stdout)
    if not m:
        raise SystemExit(f"{tree / bench}: no 'median N' in its output:\n{out.stdout}{out.stderr}")
    return float(m.group(1).replace(",", ""))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, type=Path, help="the old source tree (e.g. a git worktree)")
    ap.add_argument("--bench", default="bench/bench_sim_speed.py")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("extra", nargs="*", help="arguments for the bench script")
    args = ap.parse_args()
    old, new = [], []
    for r in range(args.rounds):
        old.append(run(args.before, args.bench, args.extra))
        new.append(run(ROOT, args.bench, args.extra))
        print(f"round {r + 1}: before {old[-1]:,.0f}  after {new[-1]:,.0f}", flush=True)
    mo, mn = statistics.median(old), statistics.median(new)
    print(f"median before {mo:,.0f}, after {mn:,.0f}: after/before = {mn / mo:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
