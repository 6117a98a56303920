"""A tiny, fixed set of made-up model profiles in ppipe's own format.

Used by the TUI's tests and snapshot goldens (fast solves, stable numbers) and
by ``ppipe-tui --demo`` to try the app without any data. The numbers are
synthetic: three small "models" of four chunks each, profiled on L4 and T4
with MPS splits 1..4, batch sizes 1..8 (fewer for larger splits, as in the
PPipe artifact).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ppipe.profiles.model import ModelProfile
from ppipe.profiles.ownformat import write_profile_file

#: name -> (per-chunk batch-1 latency on L4 in µs, cut bytes per request)
DEMO_MODELS: dict[str, tuple[list[float], list[float]]] = {
    "alpha-net": ([900.0, 1400.0, 1100.0, 600.0], [600_000.0, 300_000.0, 150_000.0]),
    "beta-det": ([2200.0, 1800.0, 2600.0, 1400.0], [1_200_000.0, 800_000.0, 400_000.0]),
    "gamma-seg": ([1500.0, 3000.0, 2500.0, 2000.0], [2_000_000.0, 1_000_000.0, 1_000_000.0]),
}
#: GPU type -> slowdown against L4
DEMO_GPUS = {"L4": 1.0, "T4": 2.6}
DEMO_MAX_BATCH = {1: 8, 2: 4, 3: 2, 4: 2}


def demo_profile(name: str) -> ModelProfile:
    base, cuts = DEMO_MODELS[name]
    base_arr = np.asarray(base)
    latency: dict[str, dict[int, np.ndarray]] = {}
    for g, slow in DEMO_GPUS.items():
        latency[g] = {}
        for k, mb in DEMO_MAX_BATCH.items():
            b = np.arange(1, mb + 1)
            # batching amortises a fixed share; an MPS instance runs a bit slower than 1/k of a GPU
            per = base_arr[:, None] * slow * (0.45 + 0.55 * b[None, :]) * (1.0 + 0.6 * (k - 1))
            latency[g][k] = np.round(per)
    runtime = {g: float(latency[g][1][:, 0].sum()) for g in DEMO_GPUS}
    return ModelProfile(name=name, cut_bytes=np.asarray(cuts, dtype=float), latency=latency,
                        runtime_us=runtime, slo_gpu="L4", provenance="synthetic demo profile (ppipe-tui)",
                        estimated=True)


def write_demo_profiles(folder: str | Path) -> Path:
    """Write the demo profiles as ``*.profile.json`` into ``folder``; returns it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in DEMO_MODELS:
        write_profile_file(demo_profile(name), folder / f"{name}.profile.json")
    return folder
