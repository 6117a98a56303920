"""Reader for the PPipe artifact's profile layout (SPEC section 1).

Only chunk-level data is read here (block timings, cut sizes, whole-model
runtimes); layer-level files are the pre-partitioner's business.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ppipe.errors import DataError
from ppipe.jsonio import read_text
from ppipe.profiles.model import ModelProfile, ProfileSource

BLOCK_TIMING = Path("models/block-timing-tf32")
MODEL_PROFILE = Path("models/model-profile-tf32")
MAPPINGS = Path("prepartition_mappings")
#: Order in which the reference picks a pre-partition tag when several exist.
TAG_ORDER = ("1.0-1.0", "0.7-1.3", "0.5-1.5", "0.5-2.0", "0.5-2.5", "0.5-3.0",
             "0.5-3.5", "0.5-4.0", "0.4-4.0")
_BLOCK_RE = re.compile(r"^(?P<model>.+)-(?P<gpu>[A-Za-z0-9]+)-(?P<k>\d+)\.csv$")


def looks_like_artifact(root: Path) -> bool:
    return (Path(root) / BLOCK_TIMING).is_dir()


def read_block_timing(path: Path) -> np.ndarray:
    """A headerless CSV: row = chunk, column = batch size - 1, value = µs."""
    text = read_text(path, "block timing")
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    if not rows:
        raise DataError(f"{path}: empty block timing file")
    width = len(rows[0])
    try:
        table = np.array([[float(v) for v in r] for r in rows], dtype=float)
    except ValueError as exc:
        raise DataError(f"{path}: non-numeric latency ({exc})") from None
    if any(len(r) != width for r in rows):
        raise DataError(f"{path}: rows have different numbers of batch sizes")
    return table


def find_mapping_tag(root: Path, model: str) -> str:
    folder = Path(root) / MAPPINGS / model
    for tag in TAG_ORDER:
        if (folder / f"contraction_trans-size_ilpprepart10-{tag}.csv").exists():
            return tag
    raise DataError(f"{folder}: no contraction_trans-size_ilpprepart10-*.csv for model {model}")


def read_cut_bytes(path: Path) -> np.ndarray:
    text = read_text(path, "cut size")
    try:
        values = [float(line.strip().split(",")[0]) for line in text.splitlines() if line.strip()]
    except ValueError as exc:
        raise DataError(f"{path}: non-numeric cut size ({exc})") from None
    return np.asarray(values, dtype=float)


def read_engine_runtime_us(path: Path) -> float:
    """Mean ``computeMs`` of a TensorRT timing file, in µs."""
    text = read_text(path, "timing")
    try:
        runs = json.loads(text)
        values = [float(r["computeMs"]) for r in runs]
    except RecursionError:
        raise DataError(f"{path}: timing file nested too deeply to read") from None
    except (json.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: malformed timing file ({exc.__class__.__name__}: {str(exc)[:80]})") from None
    if not values:
        raise DataError(f"{path}: timing file has no runs")
    return float(np.mean(values) * 1000)


class ArtifactSource(ProfileSource):
    kind = "artifact"

    def __init__(self, root: Path):
        super().__init__(root)
        self._files: dict[str, dict[str, dict[int, Path]]] | None = None

    def _scan(self) -> dict[str, dict[str, dict[int, Path]]]:
        if self._files is None:
            files: dict[str, dict[str, dict[int, Path]]] = {}
            for p in sorted((self.root / BLOCK_TIMING).glob("*.csv")):
                m = _BLOCK_RE.match(p.name)
                if m:
                    files.setdefault(m["model"], {}).setdefault(m["gpu"], {})[int(m["k"])] = p
            self._files = files
        return self._files

    def model_names(self) -> list[str]:
        return sorted(self._scan())

    def group_list(self) -> list[str]:
        path = self.root / "model_list.txt"
        if not path.exists():
            return []
        return [line.strip() for line in read_text(path, "model list").splitlines() if line.strip()]

    def runtime_path(self, model: str, gpu: str) -> Path:
        return self.root / MODEL_PROFILE / model / f"{gpu}-1" / "1" / f"{model}-{gpu}.engine.timing.json"

    def load(self, name: str) -> ModelProfile:
        files = self._scan().get(name)
        if not files:
            raise DataError(f"{self.root / BLOCK_TIMING}: no block timings for model {name}")
        latency = {g: {k: read_block_timing(p) for k, p in sorted(ks.items())} for g, ks in files.items()}
        tag = find_mapping_tag(self.root, name)
        cut_path = self.root / MAPPINGS / name / f"contraction_trans-size_ilpprepart10-{tag}.csv"
        cut_bytes = read_cut_bytes(cut_path)
        runtime = {}
        for g in latency:
            rp = self.runtime_path(name, g)
            if rp.exists():
                runtime[g] = read_engine_runtime_us(rp)
        prof = ModelProfile(
            name=name,
            cut_bytes=cut_bytes,
            latency=latency,
            runtime_us=runtime,
            provenance=f"measured (PPipe artifact, TensorRT tf32; pre-partition tag {tag})",
            estimated=False,
            source=str(self.root),
        )
        for g, tables in latency.items():
            for k, t in tables.items():
                if k < 1:
                    raise DataError(f"{files[g][k]}: MPS split k={k} in the file name must be >= 1")
                if t.shape[0] != prof.num_chunks:
                    raise DataError(
                        f"{files[g][k]}: {t.shape[0]} chunk rows but {cut_path.name} implies {prof.num_chunks} chunks"
                    )
        prof.validate()
        return prof
