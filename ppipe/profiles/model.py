"""What the planner and simulator know about one model: :class:`ModelProfile`.

A profile holds chunk latencies per (GPU type, MPS split k, batch size), the
bytes per request crossing each chunk boundary, and the whole-model batch-1
runtime that defines its SLO. :class:`ProfileSource` is the interface every
on-disk layout implements (the artifact's, :mod:`ppipe.profiles.artifact`, or
ppipe's own, :mod:`ppipe.profiles.ownformat`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ppipe.errors import DataError, InputError

#: The GPU whose batch-1 runtime defines a model's SLO (``sla = multiplier x R``).
SLO_REFERENCE_GPU = "L4"


def transmit_time_us(cut_bytes: float, bw_gbps: float) -> float:
    """Time in µs to send ``cut_bytes`` at ``bw_gbps`` Gbit/s (the reference's formula)."""
    return cut_bytes * 8 / (bw_gbps * 1e9) * 1e6


@dataclass
class ModelProfile:
    """Chunk-level profile of one model."""

    name: str
    cut_bytes: np.ndarray  # (L-1,) bytes per request after chunk 0..L-2
    latency: dict[str, dict[int, np.ndarray]]  # gpu -> k -> (L, max_batch) µs
    runtime_us: dict[str, float] = field(default_factory=dict)  # whole model, batch 1
    slo_gpu: str = SLO_REFERENCE_GPU
    provenance: str = ""
    estimated: bool = False
    chunk_layers: list[list[str]] | None = None
    source: str = ""

    @property
    def num_chunks(self) -> int:
        return int(len(self.cut_bytes) + 1)

    @property
    def gpus(self) -> list[str]:
        return list(self.latency)

    @property
    def base_runtime_us(self) -> float:
        """Batch-1 runtime on the SLO reference GPU (falls back to chunk sums)."""
        if self.slo_gpu in self.runtime_us:
            return float(self.runtime_us[self.slo_gpu])
        if self.slo_gpu in self.latency and 1 in self.latency[self.slo_gpu]:
            return float(self.latency[self.slo_gpu][1][:, 0].sum())
        raise DataError(f"model {self.name}: no runtime on {self.slo_gpu} to define its SLO")

    def sla_us(self, multiplier: float = 5.0) -> float:
        return multiplier * self.base_runtime_us

    def mps_splits(self, gpu: str) -> list[int]:
        return sorted(self.latency.get(gpu, {}))

    def max_batch(self, gpu: str, k: int) -> int:
        return int(self.table(gpu, k).shape[1])

    def has(self, gpu: str, k: int = 1) -> bool:
        return gpu in self.latency and k in self.latency[gpu]

    def table(self, gpu: str, k: int) -> np.ndarray:
        """Chunk latency table (L, max_batch) in µs on one k-way MPS instance of ``gpu``."""
        try:
            return self.latency[gpu][k]
        except KeyError:
            raise InputError(
                f"model {self.name} has no profile for {gpu} with MPS split {k}"
                f" (has: {', '.join(f'{g}:{sorted(t)}' for g, t in self.latency.items())})"
            ) from None

    def lat_infer(self, gpu: str, k: int, start: int, end: int, batch: int) -> float:
        """Latency of chunks [start, end) at ``batch``, each value clipped below at 1 µs."""
        t = self.table(gpu, k)
        if not 1 <= batch <= t.shape[1]:
            raise InputError(f"model {self.name}: batch {batch} not profiled on {gpu} k={k}")
        return float(np.maximum(t[start:end, batch - 1], 1.0).sum())

    def transmit_times_us(self, bw_gbps: float) -> list[float]:
        return [transmit_time_us(float(b), bw_gbps) for b in self.cut_bytes]

    def validate(self) -> None:
        """Every value the planner and simulator read is sane; else a DataError naming the
        file (or model) and the field: chunk count, MPS splits k >= 1, cut sizes finite and
        >= 0, latencies finite and > 0, table shapes."""
        from ppipe.jsonio import check_name

        where = self.source or self.name
        check_name(self.name, "model name", f"{where}: field 'model'")
        L = self.num_chunks
        if L < 1:
            raise DataError(f"{where}: a model needs at least one chunk")
        cuts = np.asarray(self.cut_bytes, dtype=float)
        if cuts.ndim != 1:
            raise DataError(f"{where}: field 'cut_bytes' must be a list of numbers")
        bad = np.flatnonzero(~np.isfinite(cuts) | (cuts < 0))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{where}: field 'cut_bytes[{i}]' must be a finite number of bytes >= 0, got {cuts[i]!r}")
        if not self.latency:
            raise DataError(f"{where}: field 'latency_us' has no GPU")
        for g, tables in self.latency.items():
            if not isinstance(g, str) or not g:
                raise DataError(f"{where}: field 'latency_us' has a bad GPU name {g!r}")
            for k, t in tables.items():
                f = f"latency_us.{g}.{k}"
                if not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= 48:
                    raise DataError(f"{where}: field {f!r}: the MPS split k must be 1..48, got {k!r}")
                if t.ndim != 2 or t.shape[0] != L:
                    raise DataError(
                        f"{where}: {g} k={k} has {t.shape[0] if t.ndim else 0}"
                        f" chunk rows, expected {L}"
                    )
                if t.shape[1] < 1:
                    raise DataError(f"{where}: field {f!r} has no batch sizes")
                bad = np.argwhere(~np.isfinite(t) | (t <= 0))
                if bad.size:
                    c, b = (int(v) for v in bad[0])
                    raise DataError(f"{where}: field {f!r}: chunk {c} batch {b + 1} latency must be a finite "
                                    f"number of µs > 0, got {t[c, b]!r}")
        for g, v in self.runtime_us.items():
            if not (np.isfinite(v) and v > 0):
                raise DataError(f"{where}: field 'runtime_us.{g}' must be a finite number of µs > 0, got {v!r}")


class ProfileSource:
    """One folder of profiles (artifact layout or own format)."""

    kind = "?"

    def __init__(self, root: Path):
        self.root = Path(root)

    def model_names(self) -> list[str]:  # pragma: no cover - interface
        raise NotImplementedError

    def load(self, name: str) -> ModelProfile:  # pragma: no cover - interface
        raise NotImplementedError

    def group_list(self) -> list[str]:
        return []
