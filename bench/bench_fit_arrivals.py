"""Fit the calibrated bursty generator to a trace and write it as shipped data.

    .venv/bin/python bench/bench_fit_arrivals.py [TRACE] [--name azure-llm-code] [--out data/arrivals]

TRACE defaults to ``$PPIPE_TRACES/AzureLLMInferenceTrace_code.csv`` (or
``../shared/traces/...``). Writes ``<out>/<name>.json``: the superposed-MMPP
parameters (:mod:`ppipe.sim.burstiness`), the trace's name, the fit date, and the
target statistics (the trace's IDC and gap CV, raw and after the simulator's
folding to three load bands) beside the generator's, so tests can check the
generator without the trace. Prints both side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ppipe.sim import burstiness as B  # noqa: E402
from ppipe.sim.traces import read_trace_seconds  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def default_trace() -> Path:
    env = os.environ.get("PPIPE_TRACES")
    base = Path(env) if env else REPO.parent / "shared" / "traces"
    return base if base.is_file() else base / "AzureLLMInferenceTrace_code.csv"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("trace", nargs="?", default=None)
    ap.add_argument("--name", default="azure-llm-code")
    ap.add_argument("--out", default=str(REPO / "data" / "arrivals"))
    ap.add_argument("--date", default=None, help="fit date to record (default today, UTC)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    trace = Path(args.trace) if args.trace else default_trace()
    t0 = time.perf_counter()
    doc = B.fit_trace(read_trace_seconds(trace), trace.name, args.date or dt.datetime.now(dt.timezone.utc).date().isoformat(),
                      seed=args.seed)
    doc["source"] = ("Azure LLM inference trace 2023 (Microsoft Azure Public Dataset, CC-BY 4.0; "
                     "Patel et al., Splitwise, ISCA 2024)")
    out = Path(args.out) / f"{args.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    print(f"fit {trace.name} in {time.perf_counter() - t0:.1f} s -> {out}")
    print(f"on-share {doc['params']['on_share']:g}; mean |log(generator / trace)| over folded stats "
          f"{doc['fit']['folded_log_error']:.3f}")
    for band, want in doc["targets"]["folded"].items():
        got = doc["generator"][band]
        print(f"  load {band:>9} req/s  gap CV {want['cv']:.2f} / {got['cv']:.2f}  IDC "
              + " ".join(f"{w}s {want['idc'][w]:.1f}/{got['idc'][w]:.1f}" for w in want["idc"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
