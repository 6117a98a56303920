#!/usr/bin/env python3
"""Fit the estimator's per-GPU parameters to the PPipe artifact and write data/estimator.json.

    PPIPE_ARTIFACT=../shared/ppipe-artifact .venv/bin/python scripts/calibrate_estimator.py

Uses every calibration graph in data/graphs/calibration (models the artifact
profiles, rebuilt at its input sizes). Only the fitted parameters -- a few
numbers per GPU type -- are written; none of the artifact's data. GPU types the
artifact did not profile (A10, A100, L40S, H100, ...) get parameters derived
from these at load time (ppipe.zoo.estimator.derive_params); they are recorded in
the file too, marked "calibrated": false, for reference.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ppipe import __version__  # noqa: E402
from ppipe.zoo.calibrate import evaluate, fit_all, load_calibration_set  # noqa: E402
from ppipe.zoo.estimator import ESTIMATOR_FILE, GpuSpec, _raw_catalog, derive_params, write_estimator  # noqa: E402


def main() -> int:
    art = Path(os.environ.get("PPIPE_ARTIFACT", REPO.parent / "shared" / "ppipe-artifact"))
    models = load_calibration_set(art)
    specs = {n: GpuSpec.from_entry(e) for n, e in _raw_catalog().items()}
    params = fit_all(models, specs)
    ev = evaluate(models, specs, params)
    calibrated = {g: (specs[g], p) for g, p in params.items()}
    for name, spec in specs.items():
        if name not in params:
            params[name] = derive_params(spec, calibrated)
    meta = {
        "fitted_by": f"ppipe {__version__} scripts/calibrate_estimator.py",
        "precision": "TF32 engines (fp32 tensors), as the artifact's block-timing-tf32",
        "calibration_models": [m.name for m in models],
        "in_sample": {k: round(ev[k]["median"], 4) for k in ("whole_b1", "whole_b8", "chunk_b1", "chunk_b8", "mps_chunks")},
        "notes": ("Per-GPU parameters of ppipe.zoo.estimator fitted to the PPipe artifact's block timings"
                  " (V100, T4, L4 with MPS k=1..4, P4 k=1). Entries with calibrated=false are derived"
                  " from the calibrated GPUs and recomputed at load time; see bench/bench_estimator.py"
                  " for held-out errors."),
    }
    write_estimator(ESTIMATOR_FILE, params, meta)
    print(f"wrote {ESTIMATOR_FILE}")
    for g, p in params.items():
        print(f"  {g:5s} " + " ".join(f"{k}={v:.3g}" for k, v in p.to_json().items() if isinstance(v, float)))
    print("in-sample median |err|: " + ", ".join(f"{k} {v * 100:.1f}%" for k, v in meta["in_sample"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
