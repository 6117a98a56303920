"""Fig. 13, sensitivity, end to end: PPipe vs single-model NP on the small HC1 testbed.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_sensitivity.py \
        [--workers 2] [--out DIR] [--duration 30] [--studies slo,mix,discount] [--models m1,m2] [--json FILE]

Runs (or finishes: the output folder is resumable) ``ppipe experiment sensitivity``
through the library: each of the 18 ablation models alone on L4 + P4 (16 GPUs,
6 Gbit/s, HC1's MPS), P = 3, sweeping (a) the SLO multiplier 2..10, (b) the
L4:P4 split 2:14..12:4, (c) the SLO discount 0..0.6 around x5, 4:12, 0.4; prints
PPipe's gain in mean lf99 over NP per point beside the paper's numbers, and the
wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ppipe.experiments.figures import SENSITIVITY_LABELS, fig13, load_results  # noqa: E402
from ppipe.experiments.runner import run_experiment  # noqa: E402
from ppipe.experiments.settings import build_settings  # noqa: E402
from ppipe.experiments.spec import ExperimentSpec  # noqa: E402
from ppipe.sim.arrivals import arrivals_spec  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="/tmp/ppipe-bench-sensitivity")
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--studies", default=None, help="slo,mix,discount (default all)")
    ap.add_argument("--models", default=None, help="comma-separated (default the 18 ablation models)")
    ap.add_argument("--accounting", default="true", choices=["true", "reference"])
    ap.add_argument("--json", default=None, help="also write the figure data here")
    args = ap.parse_args()
    spec = ExperimentSpec.for_set("sensitivity", arrivals=arrivals_spec("poisson"), duration_s=args.duration)
    settings = build_settings("sensitivity", models=args.models.split(",") if args.models else None,
                              studies=args.studies.split(",") if args.studies else None)
    t0 = time.perf_counter()

    def progress(kind, info):
        if kind == "setting":
            print(f"  {info['setting']}: {'ok' if info['ok'] else info['message']} "
                  f"({info.get('wall_seconds', 0):.1f} s, elapsed {time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)

    rep = run_experiment(settings, spec, args.out, workers=args.workers, on_event=progress)
    wall = time.perf_counter() - t0
    data = fig13(load_results(args.out), args.accounting)
    print(f"sensitivity: {len(settings)} settings ({rep.skipped} already done, {len(rep.failed)} without a plan), "
          f"P = {spec.max_parts}, {args.duration:g} s per load factor, {args.accounting} accounting")
    for study, rows in data.items():
        print(SENSITIVITY_LABELS[study])
        print(f"  {'point':<6} {'PPipe':>6} {'NP':>6} {'gain %':>7} {'mean gain %':>11} {'models':>6} "
              f"{'no plan':>7} {'paper %':>8}")
        for r in rows:
            paper = r["paper"]
            paper = "-" if paper is None else (f"{paper:+.2f}" if isinstance(paper, (int, float)) else paper)
            gain = "-" if r["gain"] is None else f"{r['gain']:+.1f}"
            mg = "-" if r["mean_gain"] is None else f"{r['mean_gain']:+.1f}"
            print(f"  {r['label']:<6} {r['ppipe'] or 0:6.1f} {r['base'] or 0:6.1f} {gain:>7} {mg:>11} "
                  f"{r['models']:6d} {r['no_plan']:7d} {paper:>8}")
    print(f"wall time {wall:.1f} s with {args.workers} worker(s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"figure13": data, "wall_seconds": wall}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
