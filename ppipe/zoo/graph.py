"""Layer graphs of models: the input of the latency estimator and the partitioner.

A layer graph lists a model's layers in execution order with what the
estimator needs (FLOPs, parameter bytes, activation bytes read and written, all
per sample) and the dataflow between them (which tensors each layer reads and
writes). From the dataflow follows the set of tensors that crosses a cut placed
after each layer, and its size.

The on-disk format (``*.graph.json`` or ``*.graph.json.gz``) is one JSON object::

    {"format": "ppipe-graph", "version": 1, "model": "resnet50",
     "source": "torchvision 0.29.1 resnet50()", "task": "classification",
     "inputs": [[3, 224, 224]], "extracted_by": "...",
     "units": {...},
     "tensors": [[bytes, producer, last_use], ...],      # tensor id = index
     "layer_fields": ["name", "op", "kind", "flops", "param_bytes", "in_bytes",
                      "out_bytes", "inputs", "outputs", "cut", "shape", "attrs"],
     "layers": [[...], ...]}

Sizes count 2 bytes per floating-point element (as sent in fp16; the PPipe
artifact counts float32 tensors this way), 4 per int64 element, and the numpy
item size otherwise. ``producer`` is -1 for a model input; ``last_use`` is the
number of layers for a model output (it must reach the end). ``cut`` of layer
``i`` lists the tensors with ``producer <= i < last_use``; it is stored for
readers and checked against the dataflow on load.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ppipe.errors import DataError

GRAPH_FORMAT = "ppipe-graph"
GRAPH_VERSION = 1
GRAPH_SUFFIXES = (".graph.json.gz", ".graph.json")
LAYER_FIELDS = ["name", "op", "kind", "flops", "param_bytes", "in_bytes", "out_bytes",
                "inputs", "outputs", "cut", "shape", "attrs"]
#: Layer kinds the extractor writes and the estimator understands.
KINDS = ("conv", "matmul", "attention", "norm", "eltwise", "pool", "reduce", "resize",
         "copy", "view", "other")


@dataclass
class Layer:
    name: str
    op: str
    kind: str
    flops: float  # per sample
    param_bytes: float  # weights and constants read (per batch, not per sample)
    in_bytes: float  # activation bytes read, per sample
    out_bytes: float  # activation bytes written, per sample
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    shape: list[int] | None = None  # first output's shape without the batch dimension
    attrs: dict = field(default_factory=dict)


@dataclass
class ModelGraph:
    model: str
    layers: list[Layer]
    tensor_bytes: np.ndarray  # (T,) bytes per sample
    tensor_producer: np.ndarray  # (T,) int, -1 = model input
    tensor_last_use: np.ndarray  # (T,) int, L = model output
    inputs: list[list[int]] = field(default_factory=list)
    task: str = ""
    source: str = ""
    extracted_by: str = ""
    notes: str = ""
    path: str = ""

    # ---- derived views -------------------------------------------------
    def __len__(self) -> int:
        return len(self.layers)

    @property
    def names(self) -> list[str]:
        return [lyr.name for lyr in self.layers]

    def array(self, attr: str) -> np.ndarray:
        return np.asarray([getattr(lyr, attr) for lyr in self.layers], dtype=float)

    @property
    def total_flops(self) -> float:
        return float(self.array("flops").sum())

    @property
    def total_param_bytes(self) -> float:
        return float(self.array("param_bytes").sum())

    def cut_tensors(self, i: int) -> list[int]:
        """Tensor ids crossing a cut placed right after layer ``i``."""
        mask = (self.tensor_producer <= i) & (self.tensor_last_use > i)
        return [int(t) for t in np.flatnonzero(mask)]

    def cut_bytes_after(self) -> np.ndarray:
        """(L,) bytes per sample crossing a cut after each layer (the last = the outputs)."""
        L = len(self.layers)
        diff = np.zeros(L + 2)
        # tensor t is live after layers producer..last_use-1 (producer -1 means from the start)
        start = np.maximum(self.tensor_producer, 0)
        np.add.at(diff, start, self.tensor_bytes)
        np.add.at(diff, np.minimum(self.tensor_last_use, L + 1), -self.tensor_bytes)
        live = np.cumsum(diff)[:L]
        return live

    def cut_bytes(self) -> np.ndarray:
        """(L-1,) bytes per sample crossing the cut between layer i and i+1."""
        return self.cut_bytes_after()[:-1]

    def chunk_cut_bytes(self, boundaries: list[int]) -> np.ndarray:
        """Bytes crossing the cut before each chunk start in ``boundaries`` (minus the first)."""
        after = self.cut_bytes_after()
        return np.asarray([after[b - 1] for b in boundaries[1:]], dtype=float)

    def summary(self) -> dict:
        return {
            "model": self.model, "task": self.task, "layers": len(self.layers),
            "inputs": self.inputs, "gflops": self.total_flops / 1e9,
            "params_mb": self.total_param_bytes / 2 / 1e6,  # elements (millions)
            "max_cut_mb": float(self.cut_bytes().max() / 1e6) if len(self.layers) > 1 else 0.0,
            "source": self.source,
        }


def graph_to_json(g: ModelGraph) -> dict:
    rows = []
    for i, lyr in enumerate(g.layers):
        rows.append([lyr.name, lyr.op, lyr.kind, _num(lyr.flops), _num(lyr.param_bytes), _num(lyr.in_bytes),
                     _num(lyr.out_bytes), list(lyr.inputs), list(lyr.outputs), g.cut_tensors(i),
                     lyr.shape, lyr.attrs or {}])
    return {
        "format": GRAPH_FORMAT,
        "version": GRAPH_VERSION,
        "model": g.model,
        "task": g.task,
        "source": g.source,
        "inputs": g.inputs,
        "extracted_by": g.extracted_by,
        "notes": g.notes,
        "units": {"flops": "per sample (multiply-add = 2)",
                  "bytes": "2 per floating-point element (fp16), 4 per int64; activations per sample,"
                           " param_bytes per batch"},
        "totals": {"layers": len(g.layers), "flops": _num(g.total_flops),
                   "param_bytes": _num(g.total_param_bytes)},
        "tensors": [[_num(b), int(p), int(u)] for b, p, u in
                    zip(g.tensor_bytes, g.tensor_producer, g.tensor_last_use)],
        "layer_fields": LAYER_FIELDS,
        "layers": rows,
    }


def _num(x: float):
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def graph_from_json(doc: object, source: str = "") -> ModelGraph:
    where = source or "graph"
    if not isinstance(doc, dict) or doc.get("format") != GRAPH_FORMAT:
        raise DataError(f"{where}: not a ppipe layer graph (missing 'format': '{GRAPH_FORMAT}')")
    if doc.get("version") != GRAPH_VERSION:
        raise DataError(f"{where}: unsupported graph version {doc.get('version')!r}")
    for key in ("model", "layers", "tensors"):
        if key not in doc:
            raise DataError(f"{where}: missing field {key!r}")
    from ppipe.jsonio import check_name

    check_name(doc["model"], "model name", f"{where}: field 'model'")
    fields = doc.get("layer_fields", LAYER_FIELDS)
    try:
        idx = {f: fields.index(f) for f in LAYER_FIELDS[:7]}
        opt = {f: (fields.index(f) if f in fields else None) for f in LAYER_FIELDS[7:]}
        layers = []
        for row in doc["layers"]:
            def get(f, default=None):
                j = opt[f]
                return row[j] if j is not None and j < len(row) else default
            layers.append(Layer(
                name=str(row[idx["name"]]), op=str(row[idx["op"]]), kind=str(row[idx["kind"]]),
                flops=float(row[idx["flops"]]), param_bytes=float(row[idx["param_bytes"]]),
                in_bytes=float(row[idx["in_bytes"]]), out_bytes=float(row[idx["out_bytes"]]),
                inputs=[int(t) for t in get("inputs", [])], outputs=[int(t) for t in get("outputs", [])],
                shape=get("shape"), attrs=dict(get("attrs", {}) or {}),
            ))
        tens = np.asarray(doc["tensors"], dtype=float).reshape(-1, 3)
        g = ModelGraph(
            model=str(doc["model"]), layers=layers,
            tensor_bytes=tens[:, 0], tensor_producer=tens[:, 1].astype(int),
            tensor_last_use=tens[:, 2].astype(int),
            inputs=doc.get("inputs") or [], task=str(doc.get("task", "")),
            source=str(doc.get("source", "")), extracted_by=str(doc.get("extracted_by", "")),
            notes=str(doc.get("notes", "")), path=source,
        )
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
        raise DataError(f"{where}: malformed layer graph ({exc})") from None
    validate_graph(g)
    if opt["cut"] is not None:
        for i, row in enumerate(doc["layers"]):
            stored = row[opt["cut"]] if opt["cut"] < len(row) else None
            if stored is not None and sorted(int(t) for t in stored) != g.cut_tensors(i):
                raise DataError(f"{where}: layer {i} ({g.layers[i].name}): stored cut disagrees with the dataflow")
    return g


def validate_graph(g: ModelGraph) -> None:
    where = g.path or g.model
    L, T = len(g.layers), len(g.tensor_bytes)
    if L < 1:
        raise DataError(f"{where}: a layer graph needs at least one layer")
    names = set()
    for i, lyr in enumerate(g.layers):
        if lyr.name in names:
            raise DataError(f"{where}: duplicate layer name {lyr.name!r}")
        names.add(lyr.name)
        if lyr.kind not in KINDS:
            raise DataError(f"{where}: layer {lyr.name!r} has unknown kind {lyr.kind!r} (expected one of {', '.join(KINDS)})")
        vals = (lyr.flops, lyr.param_bytes, lyr.in_bytes, lyr.out_bytes)
        if not all(np.isfinite(v) and v >= 0 for v in vals):
            raise DataError(f"{where}: layer {lyr.name!r} has a negative or non-finite size")
        for t in list(lyr.inputs) + list(lyr.outputs):
            if not 0 <= t < T:
                raise DataError(f"{where}: layer {lyr.name!r} refers to unknown tensor {t}")
        for t in lyr.outputs:
            if g.tensor_producer[t] != i:
                raise DataError(f"{where}: tensor {t} is written by layer {i} but its producer is {g.tensor_producer[t]}")
        for t in lyr.inputs:
            if not g.tensor_producer[t] < i <= g.tensor_last_use[t]:
                raise DataError(f"{where}: layer {lyr.name!r} reads tensor {t} outside its lifetime")
    if np.any(g.tensor_bytes < 0) or not np.all(np.isfinite(g.tensor_bytes)):
        raise DataError(f"{where}: negative or non-finite tensor size")
    if np.any(g.tensor_producer < -1) or np.any(g.tensor_producer >= L):
        raise DataError(f"{where}: a tensor's producer is not a layer")
    if np.any(g.tensor_last_use > L) or np.any(g.tensor_last_use <= g.tensor_producer):
        raise DataError(f"{where}: a tensor is used before it is produced")


#: Largest graph file read (decompressed): the largest shipped one is a few MiB.
MAX_GRAPH_BYTES = 512 * 2**20


def read_graph(path: str | Path) -> ModelGraph:
    from ppipe.jsonio import read_bytes

    path = Path(path)
    raw = read_bytes(path, "graph", MAX_GRAPH_BYTES)
    try:
        if raw[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:  # bounded: a gzip bomb is refused
                raw = gz.read(MAX_GRAPH_BYTES + 1)
        if len(raw) > MAX_GRAPH_BYTES:
            raise DataError(f"{path}: graph larger than {MAX_GRAPH_BYTES // 2**20} MiB; not read")
        doc = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable graph file ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise DataError(f"{path}: graph nested too deeply to read") from None
    return graph_from_json(doc, str(path))


def write_graph(g: ModelGraph, path: str | Path) -> Path:
    """Write compact JSON; gzip when the name ends in ``.gz`` (deterministic: no mtime)."""
    from ppipe.atomic import write_bytes_atomic, write_text_atomic

    path = Path(path)
    text = json.dumps(graph_to_json(g), separators=(",", ":"))
    if path.suffix == ".gz":
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
            gz.write(text.encode("utf-8"))
        return write_bytes_atomic(path, buf.getvalue())
    return write_text_atomic(path, text)


def graph_name(path: Path) -> str:
    n = path.name
    for s in GRAPH_SUFFIXES:
        if n.endswith(s):
            return n[: -len(s)]
    return path.stem


def list_graphs(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = {}
    for s in GRAPH_SUFFIXES:
        for p in folder.glob(f"*{s}"):
            out.setdefault(graph_name(p), p)
    return [out[k] for k in sorted(out)]
