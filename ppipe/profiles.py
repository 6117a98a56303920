"""Per-chunk latency profiles of models, and the store that finds them.

A :class:`ModelProfile` holds what the planner and simulator need about one
model: chunk latencies per (GPU type, MPS split k, batch size), the bytes per
request crossing each chunk boundary, and the whole-model batch-1 runtime that
defines its SLO. Profiles come from the PPipe artifact's layout
(:mod:`ppipe.artifact`) or from the project's own one-file-per-model JSON
format (``*.profile.json``, see :func:`profile_to_json`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ppipe.atomic import write_json_atomic
from ppipe.errors import DataError, InputError
from ppipe.jsonio import read_json
from ppipe.paths import SHIPPED_PROFILES, artifact_dir, user_data_dir

PROFILE_FORMAT = "ppipe-profile"
PROFILE_VERSION = 1
PROFILE_SUFFIX = ".profile.json"
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
        L = self.num_chunks
        if L < 1:
            raise DataError(f"{self.source or self.name}: a model needs at least one chunk")
        for g, tables in self.latency.items():
            for k, t in tables.items():
                if t.ndim != 2 or t.shape[0] != L:
                    raise DataError(
                        f"{self.source or self.name}: {g} k={k} has {t.shape[0] if t.ndim else 0}"
                        f" chunk rows, expected {L}"
                    )
                if t.shape[1] < 1 or not np.all(np.isfinite(t)) or np.any(t < 0):
                    raise DataError(f"{self.source or self.name}: {g} k={k} has bad latencies")


def profile_to_json(p: ModelProfile) -> dict:
    """The project's own self-describing profile document."""
    return {
        "format": PROFILE_FORMAT,
        "version": PROFILE_VERSION,
        "model": p.name,
        "chunks": p.num_chunks,
        "slo_gpu": p.slo_gpu,
        "runtime_us": {g: float(v) for g, v in p.runtime_us.items()},
        "cut_bytes": [float(b) for b in p.cut_bytes],
        "chunk_layers": p.chunk_layers,
        "provenance": p.provenance,
        "estimated": p.estimated,
        "units": {"latency": "us per batch", "cut_bytes": "bytes per request"},
        "latency_us": {
            g: {str(k): [[float(v) for v in row] for row in t] for k, t in sorted(tables.items())}
            for g, tables in p.latency.items()
        },
    }


def profile_from_json(doc: object, source: str = "") -> ModelProfile:
    where = source or "profile"
    if not isinstance(doc, dict) or doc.get("format") != PROFILE_FORMAT:
        raise DataError(f"{where}: not a ppipe profile (missing 'format': '{PROFILE_FORMAT}')")
    if doc.get("version") != PROFILE_VERSION:
        raise DataError(f"{where}: unsupported profile version {doc.get('version')!r}")
    for key in ("model", "cut_bytes", "latency_us"):
        if key not in doc:
            raise DataError(f"{where}: missing field {key!r}")
    try:
        latency: dict[str, dict[int, np.ndarray]] = {}
        for g, tables in doc["latency_us"].items():
            latency[g] = {int(k): np.asarray(rows, dtype=float) for k, rows in tables.items()}
        prof = ModelProfile(
            name=str(doc["model"]),
            cut_bytes=np.asarray(doc["cut_bytes"], dtype=float),
            latency=latency,
            runtime_us={g: float(v) for g, v in (doc.get("runtime_us") or {}).items()},
            slo_gpu=str(doc.get("slo_gpu", SLO_REFERENCE_GPU)),
            provenance=str(doc.get("provenance", "")),
            estimated=bool(doc.get("estimated", False)),
            chunk_layers=doc.get("chunk_layers"),
            source=source,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{where}: malformed profile ({exc})") from None
    if "chunks" in doc and int(doc["chunks"]) != prof.num_chunks:
        raise DataError(f"{where}: 'chunks' is {doc['chunks']} but cut_bytes implies {prof.num_chunks}")
    prof.validate()
    return prof


def read_profile_file(path: Path) -> ModelProfile:
    return profile_from_json(read_json(path, "profile"), str(path))


def write_profile_file(p: ModelProfile, path: Path) -> Path:
    return write_json_atomic(path, profile_to_json(p), indent=1)


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


class OwnFormatSource(ProfileSource):
    kind = "ppipe"

    def model_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name[: -len(PROFILE_SUFFIX)] for p in self.root.glob(f"*{PROFILE_SUFFIX}"))

    def load(self, name: str) -> ModelProfile:
        prof = read_profile_file(self.root / f"{name}{PROFILE_SUFFIX}")
        if prof.name != name:
            raise DataError(f"{prof.source}: file names model {prof.name!r}, expected {name!r}")
        return prof


def open_source(root: Path) -> ProfileSource:
    """Detect the layout of ``root``: the artifact's, or the project's own."""
    from ppipe.artifact import ArtifactSource, looks_like_artifact

    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"{root}: data directory not found")
    if looks_like_artifact(root):
        return ArtifactSource(root)
    if root.is_dir() and (any(root.glob(f"*{PROFILE_SUFFIX}")) or (root / "profiles").is_dir()):
        return OwnFormatSource(root / "profiles" if (root / "profiles").is_dir() else root)
    raise DataError(
        f"{root}: neither the artifact layout (models/block-timing-tf32) nor *{PROFILE_SUFFIX} files"
    )


class ProfileStore:
    """Finds model profiles across sources; the first source that has a model wins.

    Without an explicit ``data`` folder the store reads ``$PPIPE_ARTIFACT`` (if
    set), then the user's imported profiles, then the profiles shipped in ``data/``.
    """

    def __init__(self, sources: list[ProfileSource]):
        self.sources = sources
        self._cache: dict[str, ModelProfile] = {}
        self._index: dict[str, ProfileSource] | None = None

    @classmethod
    def open(cls, data: str | os.PathLike | None = None) -> "ProfileStore":
        if data:
            return cls([open_source(Path(data))])
        sources: list[ProfileSource] = []
        art = artifact_dir()
        if art is not None:
            sources.append(open_source(art))
        sources.append(OwnFormatSource(user_data_dir() / "profiles"))
        sources.append(OwnFormatSource(SHIPPED_PROFILES))
        return cls(sources)

    def describe(self) -> str:
        return "; ".join(f"{s.kind}:{s.root}" for s in self.sources)

    def _build_index(self) -> dict[str, ProfileSource]:
        if self._index is None:
            index: dict[str, ProfileSource] = {}
            for s in self.sources:
                for n in s.model_names():
                    index.setdefault(n, s)
            self._index = index
        return self._index

    def model_names(self) -> list[str]:
        return sorted(self._build_index())

    def group_list(self) -> list[str]:
        """The source's own ordered model list (the artifact's model_list.txt), if any."""
        for s in self.sources:
            names = s.group_list()
            if names:
                return names
        return []

    def __contains__(self, name: str) -> bool:
        return name in self._build_index()

    def source_of(self, name: str) -> ProfileSource:
        index = self._build_index()
        if name not in index:
            known = sorted(index)
            hint = f" (known: {', '.join(known[:8])}{', ...' if len(known) > 8 else ''})" if known else (
                " (no profiles found: set PPIPE_ARTIFACT or pass --data)")
            raise InputError(f"unknown model {name!r}{hint}")
        return index[name]

    def get(self, name: str) -> ModelProfile:
        if name not in self._cache:
            self._cache[name] = self.source_of(name).load(name)
        return self._cache[name]

    def resolve(self, token: str) -> str:
        """A model name from a full name, a unique prefix, or an index into the list."""
        names = self.model_names()
        if token in names:
            return token
        if token.isdigit() and int(token) < len(names):
            return names[int(token)]
        matches = [n for n in names if n.startswith(token)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(f"model {token!r} is ambiguous: {', '.join(matches[:5])}")
        self.source_of(token)  # raises the unknown-model error
        return token
