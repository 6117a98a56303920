"""ppipe's own profile format: one self-describing ``*.profile.json`` per model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ppipe.atomic import write_json_atomic
from ppipe.errors import DataError
from ppipe.jsonio import read_json
from ppipe.profiles.model import SLO_REFERENCE_GPU, ModelProfile, ProfileSource

PROFILE_FORMAT = "ppipe-profile"
PROFILE_VERSION = 1
PROFILE_SUFFIX = ".profile.json"



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
            name=doc["model"] if isinstance(doc["model"], str) else repr(doc["model"]),
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
        raise DataError(f"{where}: malformed profile ({str(exc)[:100]})") from None
    if "chunks" in doc and doc["chunks"] != prof.num_chunks:
        raise DataError(f"{where}: field 'chunks' is {doc['chunks']!r} but cut_bytes implies {prof.num_chunks}")
    prof.validate()
    return prof


def read_profile_file(path: Path) -> ModelProfile:
    return profile_from_json(read_json(path, "profile"), str(path))


def write_profile_file(p: ModelProfile, path: Path) -> Path:
    return write_json_atomic(path, profile_to_json(p), indent=1)


def _listable(name: str) -> bool:
    from ppipe.jsonio import check_name

    try:
        check_name(name, "model name")
    except DataError:
        return False
    return True


class OwnFormatSource(ProfileSource):
    kind = "ppipe"

    def model_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        # a hidden file (".profile.json", ".x.profile.json") is no model: glob("*") already skips
        # names starting with a dot, and a name that could not be written is not listed either
        return sorted(n for n in (p.name[: -len(PROFILE_SUFFIX)] for p in self.root.glob(f"*{PROFILE_SUFFIX}"))
                      if _listable(n))

    def load(self, name: str) -> ModelProfile:
        prof = read_profile_file(self.root / f"{name}{PROFILE_SUFFIX}")
        if prof.name != name:
            raise DataError(f"{prof.source}: file names model {prof.name!r}, expected {name!r}")
        return prof
