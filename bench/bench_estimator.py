#!/usr/bin/env python3
"""How well the latency estimator predicts real block timings on models it was not fitted to.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python bench/bench_estimator.py [--loo] [--json]

Fits the estimator's per-GPU parameters (V100, T4, L4, P4) on the TRAIN
calibration models only, then compares its predictions with the artifact's
block timings on the HELD-OUT models: relative error of whole-model latency
(sum of the chunks, k = 1) at batch 1 and 8, of single chunks, of MPS chunks
(k = 2..4), of the one-engine batch-1 runtime, and the Spearman rank
correlation of per-chunk low/high latency ratios (T4/L4, P4/L4, T4/V100,
P4/V100: which chunks lose least on an old GPU). ``--loo`` also reports
leave-one-model-out errors over all calibration models. Also prints the
error of the shipped parameters (data/estimator.json, fitted on all models).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ppipe.zoo.calibrate import evaluate, fit_all, load_calibration_set  # noqa: E402
from ppipe.zoo.estimator import ESTIMATOR_FILE, Estimator, GpuSpec, _raw_catalog  # noqa: E402

HELD_OUT = ("wide_resnet101_2", "convnext_large", "googlenet-v3-pytorch",
            "fcn-d6_r101-d16_4xb2-40k_cityscapes-512x1024")


def fmt(ev: dict) -> str:
    lines = []
    for key, label in (("whole_b1", "whole model, batch 1"), ("whole_b8", "whole model, batch 8"),
                       ("chunk_b1", "chunks, batch 1"), ("chunk_b8", "chunks, batch 8"),
                       ("mps_chunks", "chunks, MPS k=2..4, all batches"),
                       ("engine_b1", "one-engine runtime, batch 1")):
        s = ev[key]
        lines.append(f"  {label:34s} median |err| {s['median'] * 100:5.1f}%   p90 {s['p90'] * 100:5.1f}%"
                     f"   median signed {s['bias'] * 100:+5.1f}%   (n={s['n']})")
    lines.append(f"  low/high chunk-latency ratios: Spearman pooled {ev['ratio_spearman_pooled']:.2f},"
                 f" median within a model {ev['ratio_spearman_within_median']:.2f}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description="estimator held-out errors")
    ap.add_argument("--artifact", type=Path, default=os.environ.get("PPIPE_ARTIFACT", REPO.parent / "shared" / "ppipe-artifact"))
    ap.add_argument("--loo", action="store_true", help="also leave-one-model-out over all calibration models")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    models = load_calibration_set(Path(args.artifact))
    specs = {n: GpuSpec.from_entry(e) for n, e in _raw_catalog().items()}
    train = [m for m in models if m.name not in HELD_OUT]
    test = [m for m in models if m.name in HELD_OUT]
    t0 = time.time()
    params = fit_all(train, specs)
    held = evaluate(test, specs, params)
    out = {"train": [m.name for m in train], "held_out": [m.name for m in test], "held_out_eval": held}
    shipped = Estimator.load(ESTIMATOR_FILE) if ESTIMATOR_FILE.exists() else None
    if shipped:
        out["shipped_eval_all"] = evaluate(models, specs, {g: shipped.params[g] for g in ("V100", "T4", "L4", "P4")})
    if args.loo:
        import numpy as np

        per = []
        agg = {}
        tile = next(iter(params.values())).tile  # keep the train fit's (shared) tile size: 3x faster
        for m in models:
            p = fit_all([x for x in models if x is not m], specs, tiles=(tile,))
            ev = evaluate([m], specs, p)
            per.append((m.name, ev))
        for key in ("whole_b1", "whole_b8"):
            errs = [abs(e) for _, ev in per for e in ev["per_model"][_]["" + key].values()]
            agg[key] = {"median": float(np.median(errs)), "p90": float(np.percentile(errs, 90)), "n": len(errs)}
        agg["ratio_spearman_within_median"] = float(np.nanmedian([ev["ratio_spearman_within_median"] for _, ev in per]))
        out["loo"] = agg
        out["loo_per_model"] = {n: ev["per_model"][n] for n, ev in per}
    if args.json:
        print(json.dumps(out, indent=1, default=float))
        return 0
    print(f"train ({len(train)}): {', '.join(out['train'])}")
    print(f"held out ({len(test)}): {', '.join(out['held_out'])}")
    print(f"HELD-OUT errors (parameters fitted on the train models only, {time.time() - t0:.0f}s):")
    print(fmt(held))
    print("  per model, whole-model batch-1 error by GPU:")
    for n, pm in held["per_model"].items():
        print(f"    {n[:44]:44s} " + "  ".join(f"{g} {e * 100:+5.0f}%" for g, e in pm["whole_b1"].items()))
    if shipped:
        print("SHIPPED parameters (data/estimator.json, fitted on all calibration models), in-sample:")
        print(fmt(out["shipped_eval_all"]))
    if args.loo:
        a = out["loo"]
        print("LEAVE-ONE-MODEL-OUT over all calibration models:")
        print(f"  whole model, batch 1: median |err| {a['whole_b1']['median'] * 100:.1f}%, p90 {a['whole_b1']['p90'] * 100:.1f}%")
        print(f"  whole model, batch 8: median |err| {a['whole_b8']['median'] * 100:.1f}%, p90 {a['whole_b8']['p90'] * 100:.1f}%")
        print(f"  ratio Spearman within a model (median): {a['ratio_spearman_within_median']:.2f}")
        for n, pm in out["loo_per_model"].items():
            print(f"    {n[:44]:44s} " + "  ".join(f"{g} {e * 100:+5.0f}%" for g, e in pm["whole_b1"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
