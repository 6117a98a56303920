"""Fig. 14, scalability: PPipe solve time as HC1 grows and as GPU types are added.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_scalability.py \
        [--out DIR] [--groups G1,G2] [--studies size,types] [--sizes 100,1000] [--time-limit 600] [--json FILE]

Runs (or finishes: the output folder is resumable) ``ppipe experiment scalability``
through the library, one solve at a time with one HiGHS thread, and prints the
mean and max CPU seconds (and wall seconds) of the PPipe solve per point beside
the paper's Gurobi figures (nearly flat in (a); 35.3 s with 3 types and 77 s
with 4 in (b)).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ppipe.experiments import scaling as SC  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/ppipe-bench-scalability")
    ap.add_argument("--groups", default=None, help="comma-separated (default G1..G6)")
    ap.add_argument("--studies", default=None, help="size,types (default both)")
    ap.add_argument("--sizes", default=None, help="HC1 sizes in GPUs (default 100,1000,10000,100000)")
    ap.add_argument("--types", default=None, help="GPU type counts (default 2,3,4)")
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--json", default=None, help="also write the figure data here")
    args = ap.parse_args()
    split = (lambda v: v.split(",") if v else None)  # noqa: E731
    points = SC.build_points(split(args.studies), split(args.groups),
                             [int(x) for x in split(args.sizes) or []] or None,
                             [int(x) for x in split(args.types) or []] or None)
    cfg = SC.config(2, args.time_limit, "highs", None)
    t0 = time.perf_counter()

    def progress(kind, info):
        if kind == "point" and info["state"] == "done":
            r = info["row"]
            print(f"  {r['point']}: {r['status']}, {r['solve_cpu_seconds']:.2f} CPU s, {r['solve_seconds']:.2f} s "
                  f"(elapsed {time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    df = SC.run_scalability(points, cfg, args.out, on_event=progress)
    wall = time.perf_counter() - t0
    data = SC.fig14(df)
    for st, rows in data.items():
        print("(a) HC1 size, 1 L4 : 3 P4" if st == "size" else "(b) GPU types: L4+P4, +25 T4, +25 V100")
        print(f"  {'point':<14} {'CPU s':>8} {'max CPU s':>9} {'wall s':>8} {'statuses':<22} {'paper s':>8}")
        for r in rows:
            paper = "-" if r["paper"] is None else f"{r['paper']:.1f}"
            sts = ", ".join(f"{k} {v}" for k, v in r["statuses"].items())
            print(f"  {r['label']:<14} {r['mean_cpu']:8.2f} {r['max_cpu']:9.2f} {r['mean']:8.2f} {sts:<22} {paper:>8}")
    print(f"{len(points)} points, wall time {wall:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"figure14": data, "wall_seconds": wall}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
