"""The paper's evaluation end to end: solve + sweep every setting, print the headline numbers.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_experiment.py \
        [--set maf19|maf21|ablation] [--workers 2] [--out DIR] [--duration 30] [--seeds 1] [--json FILE]

Runs (or finishes: the output folder is resumable) ``ppipe experiment`` through the
library and prints mean lf99 per scheduler and per cluster, low-class GPU
utilisation at lf99, PPipe's gains, solve times and the wall time, beside the
paper's headline figures (SPEC section 8) and, for maf19, the artifact's
reference plans run through this project's simulator.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ppipe.experiments.figures import load_results, summarize  # noqa: E402
from ppipe.experiments.runner import run_experiment  # noqa: E402
from ppipe.experiments.settings import build_settings  # noqa: E402
from ppipe.experiments.spec import ExperimentSpec  # noqa: E402
from ppipe.sim.arrivals import arrivals_spec  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="maf19", choices=["maf19", "maf21", "ablation"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="output folder (default /tmp/ppipe-bench-<set>)")
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--trace", default=None, help="maf21: arrival trace CSV (default: $PPIPE_TRACES, else the calibrated generator)")
    ap.add_argument("--arrivals", default="auto", help="maf21: auto, trace, calibrated or bursty")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--accounting", default="true", choices=["true", "reference"])
    ap.add_argument("--json", default=None, help="also write the summary here")
    args = ap.parse_args()
    out = Path(args.out or f"/tmp/ppipe-bench-{args.set}")
    if args.set == "maf21":
        from ppipe.experiments.spec import maf21_arrivals

        arrivals, note = maf21_arrivals(args.arrivals, args.trace)
        print(note, file=sys.stderr)
    else:
        arrivals = arrivals_spec("poisson")
    spec = ExperimentSpec.for_set(args.set, arrivals=arrivals, duration_s=args.duration,
                                  seeds=list(range(args.seeds)), time_limit=args.time_limit)
    settings = build_settings(args.set)
    t0 = time.perf_counter()

    def progress(kind, info):
        if kind == "setting":
            print(f"  {info['setting']}: {'ok' if info['ok'] else info['message']} "
                  f"({info.get('wall_seconds', 0):.1f} s, elapsed {time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)

    rep = run_experiment(settings, spec, out, workers=args.workers, on_event=progress)
    wall = time.perf_counter() - t0
    s = summarize(load_results(out), args.accounting, out=out)
    d = s["sets"][args.set]
    print(f"{args.set}: {len(settings)} settings ({rep.skipped} already done), arrivals {spec.arrivals_label()}, "
          f"{args.accounting} accounting, {args.seeds} seed(s) x {args.duration:g} s")
    paper = d.get("paper", {}).get("mean_lf99", {})
    ref = d.get("reference_plans_our_simulator", {})
    hcs = list(d["mean_lf99_by_cluster"])
    print(f"{'scheduler':<12} {'mean lf99':>9} {'paper':>6} {'ref.plans':>9}  "
          + " ".join(f"{h:>6}" for h in hcs) + f"  {'low util':>8} {'high util':>9} {'none':>5}")
    for sch, v in d["mean_lf99"].items():
        print(f"{sch:<12} {v:9.1f} {paper.get(sch, float('nan')):6.1f} {ref.get(sch, float('nan')):9.1f}  "
              + " ".join(f"{d['mean_lf99_by_cluster'][h].get(sch, float('nan')):6.1f}" for h in hcs)
              + f"  {d['low_class_utilization'].get(sch) or 0:8.1f} {d['high_class_utilization'].get(sch) or 0:9.1f}"
              + f" {d['none_passed'].get(sch, 0):5d}")
    for b, g in (d.get("ppipe_gain_percent") or {}).items():
        if g:
            print(f"PPipe vs {b}: {g['mean']:+.1f} % load (mean over {g['pairs']} models)")
    for p, v in (s.get("solve_seconds") or {}).items():
        print(f"solve {p}: {v['solves']} solves, mean {v['mean']:.2f} s, max {v['max']:.1f} s "
              f"({v['slowest_setting']}), statuses {v['statuses']}")
    print(f"wall time {wall:.1f} s with {args.workers} worker(s)")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(s, wall_seconds=wall), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
