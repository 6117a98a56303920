"""Layer-level model data: the artifact's per-layer files and the pre-partition CSVs.

Reads the files the pre-partitioner needs (SPEC section 1), all under an
artifact-layout root:

- ``models/node-profile-no-const/{model}-{gpu}.csv`` (header ``node,latency``):
  per-layer batch-1 latency in µs, layers in execution order;
- ``models/cuts-no-const/{model}.json``: ``[{node, cut}]`` in execution order,
  first entry the input, last the output; entry ``i + 1`` lists the tensors
  crossing a cut placed right after layer ``i``, so entries ``[1:-2]`` are the
  ``n_layers - 1`` cuts between consecutive layers;
- ``models/shapes/{model}.json``: tensor name -> ``{dtype, shape}``;
- ``prepartition_mappings/{model}/contraction_mapping_ilpprepart10-{tag}.csv``
  (``layer_name,chunk_id``, no header) and ``contraction_trans-size_...csv``
  (bytes per request after chunk 0..K-2), which are also written here.

Tensor sizes follow the reference: product of |dims| (the batch dim is -1, so
it counts 1) times an item size where float32 counts 2 bytes (sent as fp16),
int64 counts 4 bytes, and anything else its numpy item size.

Consistency checks (all raise :class:`~ppipe.errors.DataError`): every GPU file
lists the same layers in the same order; the cuts file names those layers (its
entries ``[1:-1]``) in that order; every tensor a cut names is in the shapes
file. In the artifact all 31 models with layer-level files pass these checks,
and the reference mappings list exactly the node-profile layers in order.
"""

from __future__ import annotations

import csv
import glob
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ppipe.atomic import write_text_atomic
from ppipe.errors import DataError
from ppipe.jsonio import read_json

NODE_PROFILES = Path("models/node-profile-no-const")
CUTS = Path("models/cuts-no-const")
SHAPES = Path("models/shapes")
MAPPINGS = Path("prepartition_mappings")
#: The reference names every mapping ``ilpprepart10`` whatever K is; kept so
#: that written folders are read back by :mod:`ppipe.profiles.artifact`.
MAPPING_STEM = "ilpprepart10"
#: GPUs listed in this order first, others after in name order.
GPU_ORDER = ("V100", "L4", "T4", "P4")
_GPU_RE = re.compile(r"^[A-Za-z0-9]+$")


def format_tag(lb: float, ub: float) -> str:
    """The reference's tag spelling of a ladder step: ``0.5-1.5``, ``1.0-1.0``."""

    def one(x: float) -> str:
        s = f"{float(x):g}"
        return s if ("." in s or "e" in s or "n" in s) else s + ".0"

    return f"{one(lb)}-{one(ub)}"


def mapping_path(root: Path, model: str, tag: str) -> Path:
    return Path(root) / MAPPINGS / model / f"contraction_mapping_{MAPPING_STEM}-{tag}.csv"


def trans_size_path(root: Path, model: str, tag: str) -> Path:
    return Path(root) / MAPPINGS / model / f"contraction_trans-size_{MAPPING_STEM}-{tag}.csv"


# ---------------------------------------------------------------- tensor sizes

def tensor_size_bytes(dtype: str, shape: Sequence[int]) -> int:
    """Bytes per request of one tensor (float32 as fp16, int64 as 4 bytes)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DataError(f"unknown tensor dtype {dtype!r}") from None
    if dt == np.float32:
        item = 2
    elif dt == np.int64:
        item = 4
    else:
        item = dt.itemsize
    n = 1
    for d in shape:
        n *= abs(int(d))
    return n * item


# ---------------------------------------------------------------- readers

def read_node_profile(path: Path) -> tuple[list[str], np.ndarray]:
    """``node,latency`` CSV -> (layer names, latencies in µs)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataError(f"{path}: node profile not found") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if not rows or [c.strip() for c in rows[0]] != ["node", "latency"]:
        raise DataError(f"{path}: expected a 'node,latency' header")
    names: list[str] = []
    values: list[float] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise DataError(f"{path}:{lineno}: expected 2 columns, got {len(row)}")
        try:
            v = float(row[1])
        except ValueError:
            raise DataError(f"{path}:{lineno}: non-numeric latency {row[1]!r}") from None
        if not math.isfinite(v) or v < 0:
            raise DataError(f"{path}:{lineno}: latency {row[1]!r} is not a finite non-negative number")
        names.append(row[0])
        values.append(v)
    if not names:
        raise DataError(f"{path}: no layers")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{path}: layer {dup!r} is listed twice")
    return names, np.asarray(values, dtype=float)


def read_cuts(path: Path) -> list[tuple[str, list[str]]]:
    """``[{node, cut}]`` -> [(node, tensor names)], input and output entries included."""
    doc = read_json(path, "cuts")
    if not isinstance(doc, list):
        raise DataError(f"{path}: expected a list of {{node, cut}} entries")
    out: list[tuple[str, list[str]]] = []
    for i, e in enumerate(doc):
        if not isinstance(e, dict) or "node" not in e or not isinstance(e.get("cut"), list):
            raise DataError(f"{path}: entry {i} is not a {{node, cut: [...]}} object")
        out.append((str(e["node"]), [str(t) for t in e["cut"]]))
    if len(out) < 3:
        raise DataError(f"{path}: needs the input, at least one layer and the output")
    return out


def read_shapes(path: Path) -> dict[str, tuple[str, list[int]]]:
    """Tensor name -> (dtype, shape)."""
    doc = read_json(path, "shapes")
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected an object of tensor name -> {{dtype, shape}}")
    out: dict[str, tuple[str, list[int]]] = {}
    for name, info in doc.items():
        try:
            out[name] = (str(info["dtype"]), [int(d) for d in info["shape"]])
        except (TypeError, KeyError, ValueError):
            raise DataError(f"{path}: tensor {name!r} lacks a valid dtype/shape") from None
    return out


def read_mapping(path: Path) -> tuple[list[str], np.ndarray]:
    """``layer_name,chunk_id`` CSV (no header) -> (layer names, chunk ids)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataError(f"{path}: mapping file not found") from None
    names: list[str] = []
    ids: list[int] = []
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row:
            continue
        if len(row) != 2:
            raise DataError(f"{path}:{lineno}: expected 'layer_name,chunk_id'")
        try:
            ids.append(int(row[1]))
        except ValueError:
            raise DataError(f"{path}:{lineno}: non-integer chunk id {row[1]!r}") from None
        names.append(row[0])
    if not names:
        raise DataError(f"{path}: empty mapping")
    return names, np.asarray(ids, dtype=int)


def read_trans_size(path: Path) -> np.ndarray:
    from ppipe.profiles.artifact import read_cut_bytes

    return read_cut_bytes(Path(path))


# ---------------------------------------------------------------- layer graphs

@dataclass
class LayerChain:
    """A model as a chain of layers: per-GPU latencies and the cuts between them."""

    model: str
    layers: list[str]
    latency: dict[str, np.ndarray]  # gpu -> (n_layers,) µs at batch 1
    cut_bytes: np.ndarray  # (n_layers - 1,) bytes per request after layer i
    cut_tensors: list[list[str]] | None = None
    source: str = ""

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def gpus(self) -> list[str]:
        return list(self.latency)

    def chunk_layers(self, boundaries: Sequence[int]) -> list[list[str]]:
        ends = list(boundaries[1:]) + [self.n_layers]
        return [self.layers[s:e] for s, e in zip(boundaries, ends)]

    def chunk_ids(self, boundaries: Sequence[int]) -> np.ndarray:
        ids = np.zeros(self.n_layers, dtype=int)
        for b in boundaries[1:]:
            ids[b:] += 1
        return ids


def _order_gpus(gpus) -> list[str]:
    known = [g for g in GPU_ORDER if g in gpus]
    return known + sorted(g for g in gpus if g not in GPU_ORDER)


def layer_gpus(root: Path, model: str) -> list[str]:
    """GPUs that have a node profile for ``model`` under ``root``."""
    folder = Path(root) / NODE_PROFILES
    prefix = f"{model}-"
    found = []
    for p in folder.glob(f"{glob.escape(model)}-*.csv"):
        gpu = p.name[len(prefix):-4]
        if _GPU_RE.match(gpu):
            found.append(gpu)
    return _order_gpus(found)


def layer_models(root: Path) -> list[str]:
    """Models with a node profile and a cuts file under ``root``."""
    root = Path(root)
    cuts = root / CUTS
    if not cuts.is_dir():
        return []
    return sorted(p.stem for p in cuts.glob("*.json") if layer_gpus(root, p.stem))


def has_layer_data(root: Path) -> bool:
    return (Path(root) / NODE_PROFILES).is_dir() and (Path(root) / CUTS).is_dir()


def build_cut_bytes(model: str, layers: list[str], cuts: list[tuple[str, list[str]]],
                    shapes: dict[str, tuple[str, list[int]]], where: str = "") -> np.ndarray:
    """Bytes after each of ``layers[:-1]`` from a cuts list and tensor shapes."""
    where = where or f"model {model}"
    nodes = [n for n, _ in cuts[1:-1]]
    if len(nodes) != len(layers):
        raise DataError(
            f"{where}: the cuts file has {len(nodes)} layer entries but the node profiles have {len(layers)} layers")
    if nodes != layers:
        i = next(i for i, (a, b) in enumerate(zip(nodes, layers)) if a != b)
        raise DataError(
            f"{where}: the cuts file and the node profiles disagree at layer {i} ({nodes[i]!r} vs {layers[i]!r})")
    sizes: dict[str, int] = {}
    out = np.empty(len(layers) - 1, dtype=float)
    for i, (node, tensors) in enumerate(cuts[1:-2]):
        total = 0
        for t in tensors:
            if t not in sizes:
                if t not in shapes:
                    raise DataError(f"{where}: the cut after layer {node!r} names unknown tensor {t!r}")
                sizes[t] = tensor_size_bytes(*shapes[t])
            total += sizes[t]
        out[i] = float(total)
    return out


def load_layer_graph(root: Path, model: str, gpus: Sequence[str] | None = None) -> LayerChain:
    """Read a model's node profiles, cuts and shapes into a :class:`LayerChain`."""
    root = Path(root)
    available = layer_gpus(root, model)
    if not available:
        raise DataError(f"{root / NODE_PROFILES}: no node profiles for model {model}")
    if gpus is None:
        gpus = available
    else:
        missing = [g for g in gpus if g not in available]
        if missing:
            raise DataError(f"model {model}: no node profile for {', '.join(missing)} (has {', '.join(available)})")
    layers: list[str] | None = None
    latency: dict[str, np.ndarray] = {}
    first = ""
    for g in gpus:
        path = root / NODE_PROFILES / f"{model}-{g}.csv"
        names, lat = read_node_profile(path)
        if layers is None:
            layers, first = names, g
        elif names != layers:
            if len(names) != len(layers):
                detail = f"{len(layers)} layers on {first} vs {len(names)} on {g}"
            else:
                i = next(i for i, (a, b) in enumerate(zip(layers, names)) if a != b)
                detail = f"layer {i} is {layers[i]!r} on {first} but {names[i]!r} on {g}"
            raise DataError(f"model {model}: mismatched layer lists between GPU files ({detail})")
        latency[g] = lat
    assert layers is not None
    cuts = read_cuts(root / CUTS / f"{model}.json")
    shapes = read_shapes(root / SHAPES / f"{model}.json")
    cut_bytes = build_cut_bytes(model, layers, cuts, shapes, where=f"{root / CUTS / (model + '.json')}")
    return LayerChain(model=model, layers=layers, latency=latency, cut_bytes=cut_bytes,
                      cut_tensors=[t for _, t in cuts[1:-2]], source=str(root))


# ---------------------------------------------------------------- reference mappings

@dataclass
class ReferenceChunking:
    """A pre-partition mapping of the artifact (``prepartition_mappings/{model}``)."""

    model: str
    tag: str
    layers: list[str]
    chunk_ids: np.ndarray
    boundaries: list[int]
    cut_bytes: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def k(self) -> int:
        return len(self.boundaries)

    @property
    def lb(self) -> float:
        return float(self.tag.split("-")[0])

    @property
    def ub(self) -> float:
        return float(self.tag.split("-")[1])

    @property
    def total_cut_bytes(self) -> float:
        return float(np.sum(self.cut_bytes))


def boundaries_from_ids(ids: np.ndarray, where: str = "mapping") -> list[int]:
    ids = np.asarray(ids, dtype=int)
    if ids.size == 0 or ids[0] != 0 or np.any(np.diff(ids) < 0) or np.any(np.diff(ids) > 1):
        raise DataError(f"{where}: chunk ids must start at 0 and increase by 0 or 1 along the layers")
    return [0] + [int(i) + 1 for i in np.nonzero(np.diff(ids))[0]]


def read_reference_chunking(root: Path, model: str) -> ReferenceChunking | None:
    """The reference mapping of ``model`` (first tag in TAG_ORDER), or None if absent."""
    from ppipe.profiles.artifact import TAG_ORDER

    for tag in TAG_ORDER:
        mp = mapping_path(root, model, tag)
        if mp.exists():
            names, ids = read_mapping(mp)
            bounds = boundaries_from_ids(ids, str(mp))
            tp = trans_size_path(root, model, tag)
            cut = read_trans_size(tp) if tp.exists() else np.zeros(0)
            if tp.exists() and len(cut) != len(bounds) - 1:
                raise DataError(f"{tp}: {len(cut)} cut sizes but the mapping has {len(bounds)} chunks")
            return ReferenceChunking(model, tag, names, ids, bounds, cut)
    return None


# ---------------------------------------------------------------- writers

def _num(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


def mapping_csv_text(layers: Sequence[str], boundaries: Sequence[int]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    ends = list(boundaries[1:]) + [len(layers)]
    for c, (s, e) in enumerate(zip(boundaries, ends)):
        for name in layers[s:e]:
            w.writerow([name, c])
    return buf.getvalue()


def trans_size_csv_text(cut_bytes: Sequence[float]) -> str:
    return "".join(_num(b) + "\n" for b in cut_bytes)


def mapping_files(out_root: Path, model: str) -> list[Path]:
    """The files :func:`write_artifact_mapping` would replace or remove for ``model`` under ``out_root``."""
    folder = Path(out_root) / MAPPINGS / model
    if not folder.is_dir():
        return [folder] if folder.exists() else []
    return sorted(folder.glob(f"contraction_*_{MAPPING_STEM}-*.csv"))


def write_artifact_mapping(out_root: Path, model: str, layers: Sequence[str], boundaries: Sequence[int],
                           cut_bytes: Sequence[float], tag: str) -> tuple[Path, Path]:
    """Write the two reference CSVs under ``out_root/prepartition_mappings/{model}/``.

    Older ``contraction_*`` files of that model folder are removed first, so the
    folder holds one tag (readers pick the first tag that exists): callers check
    :func:`mapping_files` first and replace existing data only when told to.
    """
    from ppipe.jsonio import check_name

    check_name(model, "model name")
    folder = Path(out_root) / MAPPINGS / model
    if folder.is_dir():
        for old in folder.glob(f"contraction_*_{MAPPING_STEM}-*.csv"):
            old.unlink()
    mp = write_text_atomic(mapping_path(out_root, model, tag), mapping_csv_text(layers, boundaries))
    tp = write_text_atomic(trans_size_path(out_root, model, tag), trans_size_csv_text(cut_bytes))
    return mp, tp
