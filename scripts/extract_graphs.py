#!/usr/bin/env python3
"""Extract the layer graphs of the model zoo (developer time; needs ``ppipe[extract]``).

    python3 -m venv /work/zoo-venv
    /work/zoo-venv/bin/pip install torch==2.14.1 torchvision==0.29.1
    PYTHONPATH=. /work/zoo-venv/bin/python scripts/extract_graphs.py            # all
    PYTHONPATH=. /work/zoo-venv/bin/python scripts/extract_graphs.py resnet50   # some

Writes ``data/graphs/{model}.graph.json.gz`` for the zoo and
``data/graphs/calibration/{model}.graph.json.gz`` for the models rebuilt at the
PPipe artifact's input sizes (used only to fit and evaluate the estimator).
The output is deterministic (gzip without timestamps).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ppipe.zoo.extract import CALIBRATION, ZOO, extract_spec  # noqa: E402
from ppipe.zoo.graph import write_graph  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="only these (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "data" / "graphs")
    ap.add_argument("--no-calibration", action="store_true", help="skip the calibration graphs")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    jobs = [(s, args.out) for s in ZOO]
    if not args.no_calibration:
        jobs += [(s, args.out / "calibration") for s in CALIBRATION]
    for spec, folder in jobs:
        if args.models and spec.name not in args.models:
            continue
        t0 = time.time()
        g = extract_spec(spec)
        path = write_graph(g, folder / f"{spec.name}.graph.json.gz")
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {len(g)} layers,"
              f" {g.total_flops / 1e9:.1f} GFLOP/sample, {path.stat().st_size / 1024:.0f} KiB,"
              f" {time.time() - t0:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
